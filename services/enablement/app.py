"""The enablement service's part of an app: its routes and, in embedded mode, its reminder sweep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from services.core.celery_app import ENABLEMENT_QUEUE, SEND_REMINDERS
from services.core.context import AppContext
from services.core.http import health_router
from services.enablement.routes import ROUTES

log = structlog.get_logger(__name__)
NAME = "enablement"


def route_handlers() -> list[object]:
    return [health_router(NAME), *ROUTES]


async def _remind_forever(ctx: AppContext) -> None:
    while True:
        await asyncio.sleep(ctx.settings.enablement.reminder_interval_seconds)
        try:
            await asyncio.to_thread(ctx.send_task, SEND_REMINDERS, [], ENABLEMENT_QUEUE)
        except Exception:
            log.exception("enablement.reminders.send_failed")


@contextlib.asynccontextmanager
async def embedded_background(ctx: AppContext) -> AsyncIterator[None]:
    """Embedded mode has no beat process: this loop sends the reminder task on the same schedule."""
    task = asyncio.create_task(_remind_forever(ctx), name="enablement-reminders")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
