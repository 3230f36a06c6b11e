"""process_job runs a job on its thread's event loop: a soft time limit that lands while the job waits on the model's
thread must end the job there, not leave it suspended on the loop to resume during a later run."""

from __future__ import annotations

import asyncio
import signal
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from services.ingest.tasks import _run_job


class Waiting:
    """A job that waits the way the pipeline waits for a model call in a thread."""

    def __init__(self) -> None:
        self.steps: list[str] = []

    async def run_job(self, job_id: str) -> list[Any]:
        try:
            await asyncio.sleep(2)
        except asyncio.CancelledError:
            self.steps.append("cancelled")
            raise
        self.steps.append("finished")  # switch, report success: must never happen after the time limit
        return []


def _raise_time_limit(signum: int, frame: object) -> None:
    raise SoftTimeLimitExceeded()


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_a_time_limit_landing_while_the_job_waits_cancels_it_for_good() -> None:
    loop = asyncio.new_event_loop()
    runtime = SimpleNamespace(loop=loop)
    job = Waiting()
    previous = signal.signal(signal.SIGALRM, _raise_time_limit)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)  # lands in the loop's select, outside the coroutine
        with pytest.raises(SoftTimeLimitExceeded):
            _run_job(runtime, job, "job-1")  # type: ignore[arg-type]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert job.steps == ["cancelled"]
    # A later run on the same loop (the failure's bookkeeping, the next job) does not bring the job back.
    loop.run_until_complete(asyncio.sleep(2.2))
    assert job.steps == ["cancelled"]
    assert not asyncio.all_tasks(loop)
    loop.close()


def test_a_job_that_finishes_returns_its_changes() -> None:
    loop = asyncio.new_event_loop()

    class Quick:
        async def run_job(self, job_id: str) -> list[str]:
            await asyncio.sleep(0)
            return [job_id]

    assert _run_job(SimpleNamespace(loop=loop), Quick(), "job-2") == ["job-2"]  # type: ignore[arg-type]
    loop.close()
