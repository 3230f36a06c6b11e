"""Celery tasks of the ingest service. They take ids, re-fetch, and return quietly when the work is done."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from celery import Task, shared_task
from qdrant_client.http.exceptions import ResponseHandlingException
from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.celery_app import INGEST_QUEUE, task_settings
from services.core.db import transaction, utcnow
from services.core.embeddings import get_embedder
from services.core.runtime import TaskRuntime, task_runtime
from services.core.tokens import token_counter
from services.core.vectorstore.bm25 import bm25_encoder
from services.ingest.chunking import Chunker
from services.ingest.models import IngestJob, JobStatus
from services.ingest.pipeline import IngestPipeline, PermanentIngestError, StoreIncomplete, mark_failed

log = structlog.get_logger(__name__)

PROCESS_JOB = "ingest.process_job"
REQUEUE_STRANDED = "ingest.requeue_stranded_jobs"

# Faults worth waiting out: the database or vector store briefly away, or a store write found incomplete.
TRANSIENT = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    ResponseHandlingException,
    StoreIncomplete,
)


def build_pipeline(runtime: TaskRuntime) -> IngestPipeline:
    cfg = runtime.settings.ingest
    return IngestPipeline(
        runtime.sessions,
        runtime.store,
        get_embedder,
        Chunker(token_counter(), max_tokens=cfg.chunk_tokens, overlap_tokens=cfg.chunk_overlap_tokens),
        bm25_encoder(),
        batch_size=cfg.embed_batch_size,
    )


@shared_task(
    name=PROCESS_JOB,
    bind=True,
    queue=INGEST_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def process_job(self: Task, job_id: str) -> None:
    """Index the versions of one ingest job. Safe to run twice; a crash mid-way is finished by the rerun."""
    runtime = task_runtime(task_settings())
    try:
        runtime.run(build_pipeline(runtime).run_job(job_id))
    except PermanentIngestError:
        return  # the job already carries the reason
    except TRANSIENT as exc:
        if self.request.retries >= (self.max_retries or 0):
            runtime.run(
                mark_failed(
                    runtime.sessions,
                    job_id,
                    f"gave up after {self.request.retries + 1} attempts: {type(exc).__name__}: {exc}; "
                    "check that the database and vector store are reachable, then post the documents again",
                )
            )
            return
        log.warning("ingest.job.retrying", job_id=job_id, error=str(exc), retries=self.request.retries)
        raise
    except Exception as exc:
        log.exception("ingest.job.crashed", job_id=job_id)
        runtime.run(mark_failed(runtime.sessions, job_id, f"internal error ({type(exc).__name__}); see worker logs"))


async def find_stranded(sessions: async_sessionmaker[AsyncSession], older_than_seconds: float) -> list[str]:
    """Jobs left queued or running past the deadline; their clock is reset so one sweep re-queues them once."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    async with transaction(sessions) as session:
        ids = list(
            (
                await session.execute(
                    select(IngestJob.id).where(
                        IngestJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                        IngestJob.updated_at < cutoff,
                    )
                )
            ).scalars()
        )
        if ids:
            await session.execute(update(IngestJob).where(IngestJob.id.in_(ids)).values(updated_at=utcnow()))
    return ids


async def requeue_stranded(
    app: Any, sessions: async_sessionmaker[AsyncSession], older_than_seconds: float
) -> list[str]:
    """Send `ingest.process_job` again for every stranded job (the task is idempotent)."""
    ids = await find_stranded(sessions, older_than_seconds)
    for job_id in ids:
        app.send_task(PROCESS_JOB, args=[job_id], queue=INGEST_QUEUE)
    if ids:
        log.warning("ingest.jobs.requeued", count=len(ids), job_ids=ids)
    return ids


@shared_task(name=REQUEUE_STRANDED, bind=True, queue=INGEST_QUEUE)
def requeue_stranded_jobs(self: Task) -> int:
    """Periodic (beat) sweep: a job whose worker died is never stranded for longer than the deadline."""
    settings = task_settings()
    runtime = task_runtime(settings)
    return len(runtime.run(requeue_stranded(self.app, runtime.sessions, settings.ingest.stale_job_seconds)))
