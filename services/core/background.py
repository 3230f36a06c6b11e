"""Periodic work inside the embedded app, where no beat process runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


@contextlib.asynccontextmanager
async def every(name: str, seconds: float, step: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
    """Run `step` every `seconds` while the context is open; a failing step is logged and tried again next
    time, never ending the loop."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()
            except Exception:
                log.exception("background.step_failed", loop=name)

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
