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
    """At start-up every unfinished job without a waiting message is re-queued (in embedded mode no other
    process can be running it, and the in-memory broker lost its queue with the last process); then a
    periodic sweep."""
    cfg = ctx.settings.ingest
    # No worker of this process is running anything yet: every unfinished job whose message is not waiting
    # in the broker (all of them with the in-memory broker) is sent again.
    await requeue_stranded(ctx.celery, ctx.sessions, lease_seconds=0, lost_after_seconds=0)
    async with every(
        "ingest-sweeper",
        cfg.sweep_interval_seconds,
        lambda: requeue_stranded(
            ctx.celery, ctx.sessions, lease_seconds=cfg.job_lease_seconds, lost_after_seconds=cfg.stale_job_seconds
        ),
    ):
        yield
