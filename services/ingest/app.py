"""The ingest service's part of an app: its routes and, in embedded mode, its stranded-job sweeper."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from services.core.context import AppContext
from services.core.http import health_router
from services.ingest.routes import ROUTES
from services.ingest.tasks import requeue_stranded

log = structlog.get_logger(__name__)
NAME = "ingest"


def route_handlers() -> list[object]:
    return [health_router(NAME), *ROUTES]


async def _sweep_forever(ctx: AppContext) -> None:
    cfg = ctx.settings.ingest
    while True:
        await asyncio.sleep(cfg.sweep_interval_seconds)
        try:
            await requeue_stranded(ctx.celery, ctx.sessions, cfg.stale_job_seconds)
        except Exception:
            log.exception("ingest.sweep.failed")


@contextlib.asynccontextmanager
async def embedded_background(ctx: AppContext) -> AsyncIterator[None]:
    """At start-up every unfinished job is re-queued (in embedded mode no other process can be running it,
    and the in-memory broker lost its queue with the last process); then a periodic sweep."""
    await requeue_stranded(ctx.celery, ctx.sessions, 0)
    task = asyncio.create_task(_sweep_forever(ctx), name="ingest-sweeper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
