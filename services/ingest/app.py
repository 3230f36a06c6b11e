"""The ingest service's part of an app: its routes and, in embedded mode, its stranded-job sweeper."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from services.core.background import every
from services.core.context import AppContext
from services.core.http import health_router
from services.ingest.routes import ROUTES
from services.ingest.tasks import requeue_stranded

NAME = "ingest"


def route_handlers() -> list[object]:
    return [health_router(NAME), *ROUTES]


@contextlib.asynccontextmanager
async def embedded_background(ctx: AppContext) -> AsyncIterator[None]:
    """At start-up every unfinished job is re-queued (in embedded mode no other process can be running it,
    and the in-memory broker lost its queue with the last process); then a periodic sweep."""
    cfg = ctx.settings.ingest
    await requeue_stranded(ctx.celery, ctx.sessions, 0)
    async with every(
        "ingest-sweeper",
        cfg.sweep_interval_seconds,
        lambda: requeue_stranded(ctx.celery, ctx.sessions, cfg.stale_job_seconds),
    ):
        yield
