"""The job lifecycle around the pipeline: claims and leases, the attempts cap, the stranded-job sweep,
and the task's retry and give-up rules."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Reject, Retry
from litestar.testing import AsyncTestClient
from qdrant_client.http.exceptions import ResponseHandlingException
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from services.core.auth import Principal, Role
from services.core.celery_app import create_celery
from services.core.db import transaction, utcnow
from services.core.migrate import upgrade_async
from services.core.runtime import TaskRuntime, task_runtime
from services.core.settings import Settings
from services.core.vectorstore import close_stores
from services.ingest import tasks
from services.ingest.models import IngestJob, JobStatus
from services.ingest.pipeline import IngestPipeline, JobLeased
from services.ingest.service import IngestService, to_submission
from services.main import create_app
from tests.integration.conftest import ctx_of, wait_job

pytestmark = pytest.mark.integration
ENGINEER = Principal(sub="sam", org="acme", roles=frozenset({Role.ENGINEER}))


@pytest.fixture
async def env(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[Settings, TaskRuntime, IngestService, str]]:
    settings = make_settings(PITCHCRAFT_JOB_LEASE_SECONDS="60", PITCHCRAFT_MAX_JOB_ATTEMPTS="3")
    await upgrade_async(settings.database_url)
    runtime = TaskRuntime(settings)
    jobs: list[str] = []
    service = IngestService(runtime.sessions, runtime.store, settings.ingest, jobs.append)
    sub = to_submission(
        {"external_id": "doc", "kind": "feature", "title": "Doc"}, "## A\n\nText.", filename=None, max_chars=10_000
    )
    job_id, _ = await service.submit(ENGINEER, [sub])
    assert job_id is not None
    yield settings, runtime, service, job_id
    await runtime.engine.dispose()
    runtime.loop.close()
    close_stores()


async def _set(runtime: TaskRuntime, job_id: str, **values: Any) -> None:
    async with transaction(runtime.sessions) as session:
        await session.execute(update(IngestJob).where(IngestJob.id == job_id).values(**values))


async def test_a_running_job_with_a_live_lease_is_not_taken_twice(env: Any) -> None:
    _, runtime, service, job_id = env
    await _set(runtime, job_id, status=JobStatus.RUNNING, updated_at=utcnow())
    with pytest.raises(JobLeased) as leased:
        await tasks.build_pipeline(runtime).run_job(job_id)
    assert leased.value.retry_after == 60
    assert (await service.get_job(ENGINEER, job_id)).attempts == 0


async def test_a_job_that_keeps_killing_its_worker_is_failed(env: Any) -> None:
    _, runtime, service, job_id = env
    stale = utcnow() - timedelta(minutes=5)
    await _set(runtime, job_id, status=JobStatus.RUNNING, attempts=3, updated_at=stale)
    await tasks.build_pipeline(runtime).run_job(job_id)
    job = await service.get_job(ENGINEER, job_id)
    assert job.status == "failed" and job.attempts == 4
    assert "never finished" in (job.error or "") and "smaller batches" in (job.error or "")


class FakeBroker:
    """Records sends; `waiting` is what the broker holds (the sweep asks before presuming a message lost)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None]] = []
        self.waiting = 0
        self.recovery = 0  # of `waiting`: retried or re-sent jobs (Redis priority 0)

    def send_task(self, name: str, args: list[str], queue: str, priority: int | None = None) -> None:
        assert name == tasks.PROCESS_JOB and queue == "ingest"
        self.sent.append((args[0], priority))

    async def sweep(self, runtime: TaskRuntime) -> list[str]:
        return await tasks.requeue_stranded(
            self,
            runtime.sessions,
            lease_seconds=60,
            lost_after_seconds=600,
            waiting=lambda: tasks.Waiting(messages=self.waiting, recovery_jobs=self.recovery),
        )


async def _job_row(runtime: TaskRuntime, job_id: str) -> IngestJob:
    async with runtime.sessions() as session:
        job = await session.get(IngestJob, job_id)
        assert job is not None
        return job


async def test_the_sweep_leaves_a_job_whose_message_waits_in_a_long_queue(env: Any) -> None:
    _, runtime, _, job_id = env
    broker = FakeBroker()
    broker.waiting = 1_000  # a backlog: the job's message is somewhere in it
    assert await broker.sweep(runtime) == []
    # Twenty minutes later it still waits its turn: sent, never delivered, the broker not idle. Not re-sent.
    await _set(runtime, job_id, sent_at=utcnow() - timedelta(minutes=20), updated_at=utcnow() - timedelta(minutes=20))
    for _ in range(3):
        assert await broker.sweep(runtime) == []
    # The broker holds nothing, yet the message never arrived: lost (a Redis that lost its data). Sent again once.
    broker.waiting = 0
    assert await broker.sweep(runtime) == [job_id]
    assert await broker.sweep(runtime) == []
    assert broker.sent == [(job_id, tasks.RECOVERY_PRIORITY)]


async def test_the_sweep_resends_a_dead_workers_job_once_and_never_touches_a_live_lease(env: Any) -> None:
    _, runtime, _, job_id = env
    broker = FakeBroker()
    now = utcnow()
    # Delivered and running under a live lease (progress a moment ago): the worker is alive. Left alone.
    await _set(runtime, job_id, status=JobStatus.RUNNING, delivered_at=now, updated_at=now)
    assert await broker.sweep(runtime) == []
    job = await _job_row(runtime, job_id)
    assert job.updated_at == now and job.sent_at is not None and job.sent_at <= now

    # No progress for longer than the lease and no message since its delivery: its worker died. Re-sent once,
    # ahead of new work, and its lease is not refreshed, so the redelivery can take the job at once.
    lapsed = now - timedelta(minutes=5)
    sent = lapsed - timedelta(seconds=1)
    await _set(runtime, job_id, sent_at=sent, delivered_at=lapsed, updated_at=lapsed)
    assert await broker.sweep(runtime) == [job_id]
    assert await broker.sweep(runtime) == []  # its message is on its way now
    job = await _job_row(runtime, job_id)
    assert job.updated_at == lapsed and job.sent_at is not None and job.sent_at > lapsed
    assert broker.sent == [(job_id, tasks.RECOVERY_PRIORITY)]
    claim = await tasks.build_pipeline(runtime)._claim(job_id)
    assert claim is not None  # taken over, no JobLeased wait
    job = await _job_row(runtime, job_id)
    assert job.delivered_at is not None and job.delivered_at >= job.sent_at  # type: ignore[operator]


async def test_a_job_whose_enqueue_failed_is_sent_by_the_next_sweep(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    await upgrade_async(settings.database_url)
    runtime = TaskRuntime(settings)

    def broker_down(job_id: str) -> None:
        raise ConnectionError("broker unreachable")

    try:
        service = IngestService(runtime.sessions, runtime.store, settings.ingest, broker_down)
        sub = to_submission({"external_id": "d", "kind": "other", "title": "D"}, "x y", filename=None, max_chars=100)
        job_id, _ = await service.submit(ENGINEER, [sub])
        assert job_id is not None and (await _job_row(runtime, job_id)).sent_at is None
        broker = FakeBroker()
        broker.waiting = 50  # whatever else waits: this job has no message at all
        assert await broker.sweep(runtime) == [job_id]
        assert await broker.sweep(runtime) == []
    finally:
        await runtime.engine.dispose()
        runtime.loop.close()
        close_stores()


async def test_a_retry_lost_with_its_worker_is_resent_after_the_lease_whatever_the_backlog(env: Any) -> None:
    """A worker holds a retry's message (a countdown) until it is due. If the worker dies or loses its broker
    connection meanwhile, kombu's Redis transport keeps the message in its `unacked` hash until the visibility
    timeout (an hour): nothing delivers it sooner. The sweep re-sends it once it is overdue by a lease while no
    retried or re-sent job waits in the broker, however long the backlog of new work."""
    _, runtime, _, job_id = env
    broker = FakeBroker()
    broker.waiting = 1_000  # new work waiting: not this job's message, which was sent at recovery priority
    now = utcnow()
    delivered = now - timedelta(minutes=10)
    await _set(runtime, job_id, status=JobStatus.QUEUED, delivered_at=delivered, sent_at=now + timedelta(seconds=40))
    assert await broker.sweep(runtime) == []  # due in 40 s
    await _set(runtime, job_id, sent_at=now - timedelta(seconds=30))
    assert await broker.sweep(runtime) == []  # due 30 s ago: a worker busy with another task may still run it
    await _set(runtime, job_id, sent_at=now - timedelta(seconds=61))
    broker.recovery = 1
    assert await broker.sweep(runtime) == []  # a retried or re-sent job still waits its turn: it may be this one
    broker.recovery = 0
    assert await broker.sweep(runtime) == [job_id]  # overdue by more than the lease, nothing on its way
    assert await broker.sweep(runtime) == []
    assert broker.sent == [(job_id, tasks.RECOVERY_PRIORITY)]


async def test_a_resend_the_broker_refused_is_sent_by_the_next_sweep(env: Any) -> None:
    _, runtime, _, job_id = env
    lapsed = utcnow() - timedelta(minutes=5)
    await _set(runtime, job_id, status=JobStatus.RUNNING, sent_at=lapsed, delivered_at=lapsed, updated_at=lapsed)

    class Down(FakeBroker):
        def send_task(self, name: str, args: list[str], queue: str, priority: int | None = None) -> None:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    assert await Down().sweep(runtime) == []  # nothing sent
    assert (await _job_row(runtime, job_id)).sent_at is None  # and nothing presumed on its way
    broker = FakeBroker()
    assert await broker.sweep(runtime) == [job_id]
    assert broker.sent == [(job_id, tasks.RECOVERY_PRIORITY)]


@contextlib.contextmanager
def _worker_job(settings: Settings) -> Iterator[tuple[TaskRuntime, IngestService, str]]:
    """What process_job sees in a worker process (the process's Celery app and task runtime) and one queued job."""
    create_celery(settings)
    runtime = task_runtime(settings)
    try:
        runtime.run(upgrade_async(settings.database_url))
        service = IngestService(runtime.sessions, runtime.store, settings.ingest, lambda _: None)
        sub = to_submission({"external_id": "d", "kind": "other", "title": "D"}, "x y", filename=None, max_chars=100)
        job_id, _ = runtime.run(service.submit(ENGINEER, [sub]))
        assert job_id is not None
        yield runtime, service, job_id
    finally:
        runtime.close()
        close_stores()


def test_a_retry_the_broker_refused_is_left_to_the_next_sweep(make_settings: Callable[..., Settings]) -> None:
    """Publishing a retry during a broker outage fails (Celery turns it into Reject): the job must not look as
    if a message were on its way. Celery's retry is the dependency replaced here; `_retry` is the caller."""
    settings = make_settings()
    with _worker_job(settings) as (runtime, _service, job_id):

        class BrokerDown:
            def retry(self, **options: Any) -> None:
                assert options["priority"] == tasks.RECOVERY_PRIORITY
                raise Reject(ConnectionError("Error 111 connecting to 127.0.0.1:6379"), requeue=False)

        runtime.run(tasks._retry_sent(runtime.sessions, job_id, utcnow() + timedelta(seconds=10)))
        assert runtime.run(_job_row(runtime, job_id)).sent_at is not None
        refused = tasks._retry(BrokerDown(), runtime, job_id, 10)  # type: ignore[arg-type]
        assert isinstance(refused, Reject)
        assert runtime.run(_job_row(runtime, job_id)).sent_at is None  # the next sweep sends it


def _drain(celery: Any) -> list[str]:
    """The job ids of the waiting ingest messages, in the order a worker would receive them."""
    ids = []
    with celery.connection_for_read() as conn:
        while (message := conn.default_channel.basic_get("ingest", no_ack=True)) is not None:
            args, _kwargs, _embed = message.decode()
            ids.append(args[0])
    return ids


async def test_a_resent_job_goes_ahead_of_new_work_on_the_real_broker(
    make_settings: Callable[..., Settings], redis_url: str
) -> None:
    settings = make_settings(REDIS_URL=redis_url, PITCHCRAFT_JOB_LEASE_SECONDS="60")
    await upgrade_async(settings.database_url)
    runtime = TaskRuntime(settings)
    celery = create_celery(settings)
    try:
        service = IngestService(
            runtime.sessions, runtime.store, settings.ingest, lambda job_id: tasks.send_new_job(celery, job_id)
        )

        async def submit(name: str) -> str:
            sub = to_submission(
                {"external_id": name, "kind": "other", "title": name}, "x y", filename=None, max_chars=100
            )
            job_id, _ = await service.submit(ENGINEER, [sub])
            assert job_id is not None
            return job_id

        killed = await submit("killed")
        assert _drain(celery) == [killed]  # a worker took its message, then died mid-job
        lapsed = utcnow() - timedelta(minutes=5)
        await _set(
            runtime,
            killed,
            status=JobStatus.RUNNING,
            sent_at=lapsed - timedelta(seconds=1),
            delivered_at=lapsed,
            updated_at=lapsed,
        )
        backlog = [await submit(f"new-{n}") for n in range(3)]

        sweep = tasks.requeue_stranded(celery, runtime.sessions, lease_seconds=60, lost_after_seconds=600)
        assert await sweep == [killed]  # the backlog's jobs have their messages waiting: not re-sent
        assert tasks.waiting_messages(celery) == tasks.Waiting(messages=4, recovery_jobs=1)
        assert _drain(celery) == [killed, *backlog]  # the re-sent job first, then new work in order
        assert tasks.waiting_messages(celery) == tasks.Waiting(messages=0, recovery_jobs=0)

        # Those messages are gone now (drained, as a Redis that lost its data): the idle broker lets the sweep
        # presume them lost once they are older than the deadline.
        await _set(runtime, backlog[0], sent_at=utcnow() - timedelta(minutes=20))
        sweep = tasks.requeue_stranded(celery, runtime.sessions, lease_seconds=60, lost_after_seconds=600)
        assert await sweep == [backlog[0]]
        assert _drain(celery) == [backlog[0]]
    finally:
        await runtime.engine.dispose()
        runtime.loop.close()
        close_stores()


def test_transient_errors_retry_with_backoff_then_fail_the_job(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """process_job is the caller here; its pipeline is replaced by one that always hits a database outage."""
    settings = make_settings(PITCHCRAFT_TASK_MAX_RETRIES="2")
    with _worker_job(settings) as (runtime, service, job_id):

        class Down:
            claimed_attempt = None  # the fault comes before any claim

            async def run_job(self, job_id: str) -> None:
                raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database is down"))

        monkeypatch.setattr(tasks, "build_pipeline", lambda _: Down())
        for failures in range(2):
            before = utcnow()
            with pytest.raises(Retry) as retry:
                tasks.process_job.apply(args=[job_id], kwargs={"failures": failures}, throw=True)
            assert retry.value.when == tasks.retry_delay(failures)
            # The retry is recorded as due when its countdown ends: the sweep leaves the job until then.
            sent_at = runtime.run(_job_row(runtime, job_id)).sent_at
            assert sent_at is not None and sent_at >= before + timedelta(seconds=tasks.retry_delay(failures))
        assert runtime.run(service.get_job(ENGINEER, job_id)).status == "queued"
        tasks.process_job.apply(args=[job_id], kwargs={"failures": 2}, throw=True)
        job = runtime.run(service.get_job(ENGINEER, job_id))
        assert job.status == "failed" and "gave up after 3 attempts" in (job.error or "")
        assert "SELECT" not in (job.error or "")  # no SQL or internals in what every role can read


def test_a_vector_store_that_does_not_answer_when_the_pipeline_opens_is_retried(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening the pipeline opens the vector store (a Qdrant server checks its collection): a store that does not
    answer then is a transient fault like any other, retried with backoff and recorded as due, not an exception
    that escapes the task and leaves the job queued with no message on its way."""
    settings = make_settings()
    with _worker_job(settings) as (runtime, _service, job_id):

        def store_down(_: TaskRuntime) -> IngestPipeline:
            raise ResponseHandlingException(ConnectionRefusedError("Connection refused"))

        monkeypatch.setattr(tasks, "build_pipeline", store_down)
        before = utcnow()
        with pytest.raises(Retry) as retry:
            tasks.process_job.apply(args=[job_id], throw=True)
        assert retry.value.when == tasks.retry_delay(0)
        job = runtime.run(_job_row(runtime, job_id))
        assert job.status == JobStatus.QUEUED and job.attempts == 0
        assert job.sent_at is not None and job.sent_at >= before + timedelta(seconds=tasks.retry_delay(0))


_BUILD_PIPELINE = tasks.build_pipeline


def _failing_after_its_claim(step: Callable[..., Awaitable[None]]) -> Callable[[TaskRuntime], IngestPipeline]:
    """build_pipeline, with the pipeline's step right after its claim (parsing the uploads) replaced by `step`."""

    def build(runtime: TaskRuntime) -> IngestPipeline:
        pipeline = _BUILD_PIPELINE(runtime)
        pipeline._parse_uploads = step  # type: ignore[method-assign,assignment]
        return pipeline

    return build


def test_a_failed_delivery_hands_back_only_the_job_it_claimed(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery whose claim fails on a database fault (the job running under another worker's live lease) must
    not flip that job to `queued`, where the retry could claim it beside the live worker; a delivery that claimed
    the job and then lost its connection hands it back. process_job is the caller; the pipeline's step after the
    claim is replaced by a database fault."""
    settings = make_settings(PITCHCRAFT_JOB_LEASE_SECONDS="60")
    with _worker_job(settings) as (runtime, _service, job_id):
        dropped = OperationalError("UPDATE ingest_jobs", {}, ConnectionResetError("connection was closed"))

        class ClaimFails:
            claimed_attempt = None

            async def run_job(self, job_id: str) -> None:
                raise dropped

        async def step_fails(*_: Any) -> None:
            raise dropped

        # Worker A holds the job: running, first attempt, lease fresh.
        runtime.run(_set(runtime, job_id, status=JobStatus.RUNNING, attempts=1, updated_at=utcnow()))
        monkeypatch.setattr(tasks, "build_pipeline", lambda _: ClaimFails())
        with pytest.raises(Retry):
            tasks.process_job.apply(args=[job_id], throw=True)
        job = runtime.run(_job_row(runtime, job_id))
        assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)  # still A's
        assert job.sent_at is not None and job.delivered_at is not None  # the retry is recorded as on its way

        # A delivery that claims the job (A's lease lapsed) and then loses its connection hands it back.
        runtime.run(_set(runtime, job_id, updated_at=utcnow() - timedelta(seconds=120)))

        monkeypatch.setattr(tasks, "build_pipeline", _failing_after_its_claim(step_fails))
        with pytest.raises(Retry):
            tasks.process_job.apply(args=[job_id], throw=True)
        job = runtime.run(_job_row(runtime, job_id))
        assert (job.status, job.attempts) == (JobStatus.QUEUED, 2)  # its own claim, handed back for the retry


def test_a_failed_delivery_leaves_a_job_another_delivery_claimed_since(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery that claimed the job, stalled past its lease (another delivery claimed the job: attempt 2) and
    then hit a database fault must not hand back the job the live delivery holds: the hand-back is for its own
    attempt only. process_job is the caller; the pipeline's step after the claim is replaced."""
    settings = make_settings(PITCHCRAFT_JOB_LEASE_SECONDS="60")
    with _worker_job(settings) as (runtime, _service, job_id):

        async def overtaken_then_fails(*_: Any) -> None:
            # Meanwhile another delivery took the job over (this one's lease lapsed) and is working on it.
            await _set(runtime, job_id, status=JobStatus.RUNNING, attempts=2, updated_at=utcnow())
            raise OperationalError("UPDATE ingest_jobs", {}, ConnectionResetError("connection was closed"))

        monkeypatch.setattr(tasks, "build_pipeline", _failing_after_its_claim(overtaken_then_fails))
        with pytest.raises(Retry):
            tasks.process_job.apply(args=[job_id], throw=True)
        job = runtime.run(_job_row(runtime, job_id))
        assert (job.status, job.attempts) == (JobStatus.RUNNING, 2)  # still the live delivery's


def test_retry_delays_grow_to_five_minutes() -> None:
    assert [tasks.retry_delay(n) for n in range(7)] == [10, 20, 40, 80, 160, 300, 300]


async def test_the_beat_sweep_run_by_a_worker_resends_a_lost_job_to_the_real_broker(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any
) -> None:
    """Regression: the sweep task once sent through a task's `self.app`, which for a shared task is Celery's
    default app (amqp://localhost), so re-sent jobs never reached the worker's broker."""
    settings = make_settings(
        REDIS_URL=redis_url, PITCHCRAFT_STALE_JOB_SECONDS="5", PITCHCRAFT_SWEEP_INTERVAL_SECONDS="3600"
    )
    async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
        ctx = ctx_of(client)
        lost = IngestService(ctx.sessions, ctx.store, settings.ingest, lambda job_id: None)  # the message is lost
        sub = to_submission(
            {"external_id": "lost", "kind": "feature", "title": "Lost"},
            "## A\n\nText.",
            filename=None,
            max_chars=10_000,
        )
        job_id, _ = await lost.submit(ENGINEER, [sub])
        assert job_id is not None
        await asyncio.sleep(6)  # past PITCHCRAFT_STALE_JOB_SECONDS
        assert (await lost.get_job(ENGINEER, job_id)).status == "queued"
        ctx.celery.send_task(tasks.REQUEUE_STRANDED, queue="ingest")
        assert (await wait_job(client, job_id))["status"] == "succeeded"
