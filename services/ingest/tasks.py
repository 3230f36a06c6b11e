"""Celery tasks of the ingest service. They take ids, re-fetch, and return quietly when the work is done."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from celery import Task, shared_task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.celery_app import DOCUMENT_CHANGED, ENABLEMENT_QUEUE, INGEST_QUEUE, task_app, task_settings
from services.core.db import transaction, utcnow
from services.core.embeddings import get_embedder
from services.core.errors import database_unreachable
from services.core.runtime import TaskRuntime, task_runtime
from services.core.tokens import token_counter
from services.core.vectorstore.bm25 import bm25_encoder
from services.ingest.chunking import Chunker
from services.ingest.extract import ParseLimits
from services.ingest.models import IngestJob, JobStatus
from services.ingest.pipeline import (
    DocumentChange,
    IngestPipeline,
    JobLeased,
    PermanentIngestError,
    StoreIncomplete,
    mark_failed,
)

log = structlog.get_logger(__name__)

PROCESS_JOB = "ingest.process_job"
REQUEUE_STRANDED = "ingest.requeue_stranded_jobs"

# Redis keeps one list per priority step (kombu's priority_steps 0, 3, 6, 9) and a worker reads them in that
# order, 0 first: a job re-sent by the sweep, or retried, goes ahead of the backlog of new work. Celery's in-memory
# transport (embedded mode without REDIS_URL) ignores priorities.
RECOVERY_PRIORITY = 0
NEW_WORK_PRIORITY = 3


def send_new_job(app: Any, job_id: str) -> None:
    """Send a newly committed job (the API's enqueue), behind any re-sent job."""
    app.send_task(PROCESS_JOB, args=[job_id], queue=INGEST_QUEUE, priority=NEW_WORK_PRIORITY)


# Faults worth waiting out: the database or vector store briefly away, or a store write found incomplete.
TRANSIENT = (
    OperationalError,
    InterfaceError,
    SQLAlchemyTimeoutError,
    ConnectionError,
    TimeoutError,
    ResponseHandlingException,
    StoreIncomplete,
)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    # A connection dropped mid-job (pg_terminate_backend, a failover): asyncpg's errors arrive as a bare DBAPIError.
    if isinstance(exc, DBAPIError) and database_unreachable(exc):
        return True
    # A Qdrant server restarting or shedding load answers 5xx or 429.
    status = exc.status_code if isinstance(exc, UnexpectedResponse) else None
    return status is not None and (status >= 500 or status == 429)


def retry_delay(retries: int) -> int:
    """10, 20, 40, 80, 160, 300, 300... seconds: retries span about ten minutes, enough for a database
    failover or a vector store restart."""
    return int(min(300, 10 * 2**retries))


def build_pipeline(runtime: TaskRuntime) -> IngestPipeline:
    cfg = runtime.settings.ingest
    return IngestPipeline(
        runtime.sessions,
        runtime.store,
        get_embedder,
        Chunker(token_counter(), max_tokens=cfg.chunk_tokens, overlap_tokens=cfg.chunk_overlap_tokens),
        bm25_encoder(),
        batch_size=cfg.embed_batch_size,
        lease_seconds=cfg.job_lease_seconds,
        max_attempts=cfg.max_job_attempts,
        parse_limits=ParseLimits.from_settings(cfg),
        max_chars=cfg.max_content_chars,
        parse_concurrency=cfg.parse_concurrency,
        sentence_vectors=cfg.sentence_vectors,
    )


async def _requeue(sessions: async_sessionmaker[AsyncSession], job_id: str, due: datetime, attempt: int) -> None:
    """Hand the job this delivery holds (its claim made it attempt `attempt`) back to `queued`, so the retry's
    delivery can claim it; its retry message is due at `due`. A job another delivery has claimed since (a
    higher attempt) is left running: that worker is alive and holds it."""
    now = utcnow()
    async with transaction(sessions) as session:
        await session.execute(
            update(IngestJob)
            .where(IngestJob.id == job_id, IngestJob.status == JobStatus.RUNNING, IngestJob.attempts == attempt)
            .values(status=JobStatus.QUEUED, updated_at=now, delivered_at=now, sent_at=due)
        )


async def _retry_sent(sessions: async_sessionmaker[AsyncSession], job_id: str, due: datetime) -> None:
    """This delivery is sending a retry, due at `due`. `delivered_at` is written here too: a delivery whose claim
    rolled back (a dropped connection, a lease wait) recorded nothing, and the sweep judges a lost retry only for
    jobs that were delivered (services/ingest/tasks.py::find_stranded)."""
    async with transaction(sessions) as session:
        await session.execute(
            update(IngestJob).where(IngestJob.id == job_id).values(delivered_at=utcnow(), sent_at=due)
        )


async def _unsent(sessions: async_sessionmaker[AsyncSession], job_id: str) -> None:
    """No message is on its way (the broker refused the retry): the next sweep sends one."""
    async with transaction(sessions) as session:
        await session.execute(update(IngestJob).where(IngestJob.id == job_id).values(sent_at=None))


def _retry(self: Task, runtime: TaskRuntime, job_id: str, countdown: float, **options: Any) -> BaseException:
    """Send the job again in `countdown` seconds, at recovery priority (a started job goes ahead of new work).
    The caller has recorded the message as due; if the broker refuses it (an outage), that record is cleared
    so the next sweep sends the job instead of waiting for a message that never left."""
    try:
        return self.retry(countdown=countdown, priority=RECOVERY_PRIORITY, **options)
    except Reject as refused:  # Celery's answer when publishing the retry failed
        log.warning("ingest.job.retry_unsent", job_id=job_id, error=str(refused.reason))
        with contextlib.suppress(*TRANSIENT):  # the database down too: the message counts as lost after the lease
            runtime.run(_unsent(runtime.sessions, job_id))
        return refused


def _run_job(runtime: TaskRuntime, pipeline: IngestPipeline, job_id: str) -> list[DocumentChange]:
    """runtime.run(pipeline.run_job(job_id)), except that an exception raised outside the job while it waited (the
    soft time limit's signal lands in the event loop's select while the model runs in a thread) cancels the job
    before propagating: left suspended on this thread's loop, it would resume during a later run (the failure's own
    bookkeeping, or the next job) and could finish, switch and report a job that had been failed meanwhile."""
    job = runtime.loop.create_task(pipeline.run_job(job_id))
    try:
        return runtime.loop.run_until_complete(job)
    except BaseException:
        if not job.done():
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                runtime.loop.run_until_complete(job)
        raise


# max_retries=None: the task counts its own transient failures (`failures`); waits for a lease do not count.
@shared_task(
    name=PROCESS_JOB, bind=True, queue=INGEST_QUEUE, acks_late=True, reject_on_worker_lost=True, max_retries=None
)
def process_job(self: Task, job_id: str, failures: int = 0) -> None:
    """Index the versions of one ingest job. Safe to run twice; a crash mid-way is finished by the rerun.

    Transient faults are retried with backoff (`PITCHCRAFT_TASK_MAX_RETRIES` times), then the job fails
    with a reason; input that can never be indexed fails at once; a bug fails the job and is logged.
    """
    settings = task_settings()
    runtime = task_runtime(settings)
    pipeline: IngestPipeline | None = None
    try:
        # Inside the try: opening the vector store (a Qdrant server's collection check) can hit the same
        # transient faults as the job itself, and is retried the same way.
        pipeline = build_pipeline(runtime)
        changes = _run_job(runtime, pipeline, job_id)
    except PermanentIngestError:
        return  # the job already carries the reason
    except JobLeased as leased:
        # Possibly the redelivery of a job whose worker just died: come back when its lease has lapsed.
        # Not counted against the retry budget; a live worker finishing first makes the next look a no-op.
        countdown = leased.retry_after + 1
        with contextlib.suppress(*TRANSIENT):  # the retry is a message on its way: the sweep leaves the job
            runtime.run(_retry_sent(runtime.sessions, job_id, utcnow() + timedelta(seconds=countdown)))
        raise _retry(self, runtime, job_id, countdown) from leased
    except SoftTimeLimitExceeded:
        runtime.run(
            mark_failed(
                runtime.sessions,
                job_id,
                "the job ran past its time limit (set by PITCHCRAFT_VISIBILITY_TIMEOUT_SECONDS); "
                "split it into smaller batches",
                store=runtime.store,
            )
        )
        return
    except Exception as exc:
        if not _transient(exc):
            log.exception("ingest.job.crashed", job_id=job_id)
            runtime.run(
                mark_failed(
                    runtime.sessions, job_id, "internal error while indexing; see the worker logs", store=runtime.store
                )
            )
            return
        log.warning("ingest.job.transient_error", job_id=job_id, error=str(exc), failures=failures + 1)
        if failures >= settings.worker.task_max_retries:
            with contextlib.suppress(*TRANSIENT):
                runtime.run(
                    mark_failed(
                        runtime.sessions,
                        job_id,
                        f"gave up after {failures + 1} attempts: the database or vector store did not answer "
                        f"({type(exc).__name__}); check them, then post the documents again",
                        store=runtime.store,
                    )
                )
            return
        countdown = retry_delay(failures)
        due = utcnow() + timedelta(seconds=countdown)
        held = pipeline.claimed_attempt if pipeline is not None else None
        with contextlib.suppress(*TRANSIENT):  # if the database is down, the lease lapses instead
            # Only a job this delivery claimed goes back to `queued`; one whose claim failed (the job queued, or
            # running under another worker's live lease) keeps its status and only records the retry as due.
            runtime.run(
                _requeue(runtime.sessions, job_id, due, held)
                if held is not None
                else _retry_sent(runtime.sessions, job_id, due)
            )
        raise _retry(
            self, runtime, job_id, countdown, kwargs={"job_id": job_id, "failures": failures + 1}, exc=exc
        ) from exc
    for change in changes:
        announce(task_app(), change)


def announce(app: Any, change: DocumentChange) -> None:
    """Send `document.changed` to the enablement queue, by name (ingest never imports enablement). Sent after
    the switch committed; a lost message leaves items unretired until the next change, so it is logged."""
    try:
        app.send_task(DOCUMENT_CHANGED, args=change.as_args(), queue=ENABLEMENT_QUEUE)
    except Exception:
        log.exception("ingest.document_changed.send_failed", document_id=change.document_id)


@dataclass(frozen=True)
class Waiting:
    """What the broker holds for the ingest queue."""

    messages: int  # every waiting message, all priorities
    recovery_jobs: int  # `ingest.process_job` messages at recovery priority: retries and re-sends


async def find_stranded(
    sessions: async_sessionmaker[AsyncSession],
    *,
    lease_seconds: float,
    lost_after_seconds: float,
    waiting: Waiting | None,
) -> list[str]:
    """Jobs to send again, marked sent (`sent_at`; never `updated_at`, the running job's lease).

    A job is stranded when its lease has lapsed (queued, or running with no progress for `lease_seconds`: its
    worker is gone) and no message for it is on its way:
    - none was sent since its last delivery (its worker died, or its enqueue or retry failed: `sent_at` cleared);
    - a retry or re-send (a message sent after the job's first delivery, at recovery priority) was due more than
      `lease_seconds` ago and never delivered while no recovery message waits in the broker: a worker held it
      and lost its broker connection or died (kombu's Redis transport then leaves it in its `unacked` hash until
      the visibility timeout, an hour), so nothing would deliver it sooner;
    - the first message, sent more than `lost_after_seconds` ago, never arrived while the broker holds no
      waiting ingest message at all (a Redis that lost its data).
    A job merely waiting in a long queue is never re-sent. `waiting` None: the broker did not answer, so no
    message is presumed lost."""
    now = utcnow()
    lease = timedelta(seconds=lease_seconds)
    lease_lapsed = or_(IngestJob.status == JobStatus.QUEUED, IngestJob.updated_at < now - lease)
    no_message = or_(
        IngestJob.sent_at.is_(None),
        and_(IngestJob.delivered_at.is_not(None), IngestJob.delivered_at >= IngestJob.sent_at),
    )
    if waiting is not None and waiting.recovery_jobs == 0:
        no_message = or_(no_message, and_(IngestJob.delivered_at.is_not(None), IngestJob.sent_at < now - lease))
    if waiting is not None and waiting.messages == 0:
        no_message = or_(no_message, IngestJob.sent_at < now - timedelta(seconds=lost_after_seconds))
    async with transaction(sessions) as session:
        ids = list(
            (
                await session.execute(
                    select(IngestJob.id)
                    .where(
                        IngestJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                        lease_lapsed,
                        no_message,
                    )
                    .order_by(IngestJob.created_at)
                )
            ).scalars()
        )
        if ids:
            await session.execute(update(IngestJob).where(IngestJob.id.in_(ids)).values(sent_at=now))
    return ids


def _recovery_jobs(channel: Any) -> int:
    """`ingest.process_job` messages in Redis's priority-0 list (the queue's own name), where re-sent and retried
    jobs wait; the list also holds the periodic sweep's own messages, which do not count."""
    key = (getattr(channel, "global_keyprefix", "") or "") + INGEST_QUEUE
    count = 0
    for raw in channel.client.lrange(key, 0, -1):  # short: recovery work only, new work waits at priority 3
        with contextlib.suppress(ValueError, KeyError, TypeError):
            count += json.loads(raw)["headers"]["task"] == PROCESS_JOB
    return count


def waiting_messages(app: Any) -> Waiting | None:
    """The broker's waiting ingest messages, or None when the broker does not answer."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)  # a broker that is down answers None in seconds
            channel = conn.default_channel
            # Not passive: kombu's Redis transport reports a queue under a key prefix as missing; declaring a
            # Redis or in-memory queue creates nothing and answers its size.
            total = int(channel.queue_declare(queue=INGEST_QUEUE).message_count)
            # Without priorities (the in-memory transport) every waiting message may be a recovery job.
            recovery = _recovery_jobs(channel) if conn.transport.driver_type == "redis" else total
            return Waiting(messages=total, recovery_jobs=recovery)
    except Exception:  # any broker fault: without the count, no message is presumed lost
        log.warning("ingest.sweep.broker_unanswered", exc_info=True)
        return None


async def requeue_stranded(
    app: Any,
    sessions: async_sessionmaker[AsyncSession],
    *,
    lease_seconds: float,
    lost_after_seconds: float,
    waiting: Callable[[], Waiting | None] | None = None,
) -> list[str]:
    """Send `ingest.process_job` again, ahead of new work, for every stranded job (the task is idempotent).
    `waiting` reads what the broker holds (default: ask the broker)."""
    held = await asyncio.to_thread(waiting or (lambda: waiting_messages(app)))
    ids = await find_stranded(
        sessions, lease_seconds=lease_seconds, lost_after_seconds=lost_after_seconds, waiting=held
    )

    def send() -> list[str]:
        sent: list[str] = []
        try:
            for job_id in ids:
                app.send_task(PROCESS_JOB, args=[job_id], queue=INGEST_QUEUE, priority=RECOVERY_PRIORITY)
                sent.append(job_id)
        except Exception:  # the broker went away mid-sweep: what was not sent is marked so
            log.warning("ingest.sweep.send_failed", sent=len(sent), unsent=len(ids) - len(sent), exc_info=True)
        return sent

    sent = await asyncio.to_thread(send)
    for job_id in ids[len(sent) :]:  # the next sweep sends them
        await _unsent(sessions, job_id)
    if sent:
        log.warning(
            "ingest.jobs.requeued",
            count=len(sent),
            job_ids=sent,
            broker_waiting=held.messages if held else None,
            broker_recovery_waiting=held.recovery_jobs if held else None,
        )
    return sent


@shared_task(name=REQUEUE_STRANDED, bind=True, queue=INGEST_QUEUE)
def requeue_stranded_jobs(self: Task) -> int:
    """Periodic (beat) sweep: a job whose worker died is never stranded for longer than the deadline."""
    settings = task_settings()
    runtime = task_runtime(settings)
    cfg = settings.ingest
    sent = requeue_stranded(
        task_app(), runtime.sessions, lease_seconds=cfg.job_lease_seconds, lost_after_seconds=cfg.stale_job_seconds
    )
    return len(runtime.run(sent))
