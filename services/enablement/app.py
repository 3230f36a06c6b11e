"""The enablement service's part of an app: its routes and, in embedded mode, its reminder sweep."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

from services.core.background import every
from services.core.celery_app import ENABLEMENT_QUEUE, SEND_REMINDERS
from services.core.context import AppContext
from services.core.http import health_router
from services.enablement.routes import ROUTES

NAME = "enablement"


def route_handlers() -> list[object]:
    return [health_router(NAME), *ROUTES]


def embedded_background(ctx: AppContext) -> AbstractAsyncContextManager[None]:
    """Embedded mode has no beat process: this loop sends the reminder task on the same schedule."""
    return every(
        "enablement-reminders",
        ctx.settings.enablement.reminder_interval_seconds,
        lambda: asyncio.to_thread(ctx.send_task, SEND_REMINDERS, [], ENABLEMENT_QUEUE),
    )
