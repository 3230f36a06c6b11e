"""A worker killed with SIGKILL in the middle of a job: a new worker finishes it, nothing lost or duplicated."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.core.auth import Principal, Role
from services.core.celery_app import INGEST_QUEUE, create_celery
from services.core.db import create_engine, session_factory
from services.core.migrate import upgrade_async
from services.core.settings import Settings
from services.core.vectorstore import PointFilter
from services.core.vectorstore.edge import EdgeVectorStore
from services.ingest.models import DocumentVersion, IngestJob
from services.ingest.service import IngestService, to_submission

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _big_document() -> str:
    return "\n\n".join(
        f"## Region {i}\n\n"
        + " ".join(
            f"Replica set {i}-{j} keeps a synchronous copy in zone {j % 3} "
            f"and promotes a follower within {j + 2} seconds."
            for j in range(12)
        )
        for i in range(150)
    )


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    name = f"crash-{time.time_ns()}@%h"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", "--queues", INGEST_QUEUE, "--name", name],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def _job(sessions: Any, job_id: str) -> IngestJob:
    async with sessions() as session:
        job = await session.get(IngestJob, job_id)
        assert job is not None
        return job


async def test_killed_worker_job_is_finished_by_the_next(
    make_settings: Callable[..., Settings], redis_url: str
) -> None:
    env_overrides = {
        "REDIS_URL": redis_url,
        "PITCHCRAFT_VISIBILITY_TIMEOUT_SECONDS": "8",
        "PITCHCRAFT_UNACKED_RESTORE_SECONDS": "1",
        # The redelivered task may take the job over once its progress is this stale (the worker is dead).
        "PITCHCRAFT_JOB_LEASE_SECONDS": "3",
    }
    settings = make_settings(**env_overrides)
    env = {
        **os.environ,
        **env_overrides,
        "PITCHCRAFT_DATA_DIR": str(settings.data_dir),
        "PITCHCRAFT_JWT_SECRET": settings.auth.jwt_secret.get_secret_value(),  # type: ignore[union-attr]
        "PITCHCRAFT_QUEUE_PREFIX": settings.worker.queue_prefix,
    }
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    celery = create_celery(settings)
    service = IngestService(
        sessions,
        None,
        settings.ingest,
        lambda job_id: celery.send_task("ingest.process_job", args=[job_id], queue=INGEST_QUEUE),  # type: ignore[arg-type]
    )
    submission = to_submission(
        {"external_id": "replication", "kind": "feature", "title": "Replication"},
        _big_document(),
        filename=None,
        max_chars=settings.ingest.max_content_chars,
    )
    principal = Principal(sub="sam", org="acme", roles=frozenset({Role.ENGINEER}))
    job_id, _ = await service.submit(principal, [submission])
    assert job_id is not None

    first = _worker(env, settings.data_dir / "worker1.log")
    try:
        deadline = time.monotonic() + 180
        while (job := await _job(sessions, job_id)).done == 0:
            assert time.monotonic() < deadline, "the first worker never made progress"
            assert first.poll() is None, "the first worker exited on its own"
            await asyncio.sleep(0.1)
        assert job.done < job.total, "the job finished before the worker could be killed; make it bigger"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        killed_at_done, total = job.done, job.total
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    second = _worker(env, settings.data_dir / "worker2.log")
    try:
        deadline = time.monotonic() + 240
        while (job := await _job(sessions, job_id)).status != "succeeded":
            assert job.status != "failed", job.error
            assert time.monotonic() < deadline, (
                f"the second worker did not finish the job: {job.status} {job.done}/{job.total}"
            )
            await asyncio.sleep(0.2)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=60)

    assert job.attempts >= 2 and job.done == job.total == total
    # The chunks embedded before the kill were reused, not embedded again.
    assert job.reused >= killed_at_done > 0
    async with sessions() as session:
        version = (await session.execute(select(DocumentVersion))).scalar_one()
    assert version.status == "indexed" and version.chunk_count == total
    await engine.dispose()

    store = EdgeVectorStore(settings.edge_path)
    try:
        points = store.scroll(PointFilter(org_id="acme"))
    finally:
        store.close()
    assert len(points) == total
    assert sorted(p.payload["ordinal"] for p in points) == list(range(total))
    assert {p.payload["version"] for p in points} == {1}
