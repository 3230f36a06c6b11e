"""What a Celery task needs, built once per worker thread: an event loop, a database engine bound to that
loop, and the process's shared vector store and embedder."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.core.db import create_engine, session_factory
from services.core.settings import Settings
from services.core.vectorstore import VectorStore, open_store

T = TypeVar("T")
_local = threading.local()
_all: list[TaskRuntime] = []
_all_lock = threading.Lock()


class TaskRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.engine: AsyncEngine = create_engine(settings.database_url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)

    @property
    def store(self) -> VectorStore:
        return open_store(self.settings)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.engine.dispose())
            self.loop.close()


def task_runtime(settings: Settings) -> TaskRuntime:
    runtime: TaskRuntime | None = getattr(_local, "runtime", None)
    if runtime is None or runtime.settings is not settings:
        runtime = TaskRuntime(settings)
        _local.runtime = runtime
        with _all_lock:
            _all.append(runtime)
    return runtime


def close_runtimes() -> None:
    """Dispose every thread's engine (their threads have stopped)."""
    with _all_lock:
        for runtime in _all:
            try:
                runtime.close()
            except RuntimeError:  # loop still running in a live thread: leave it to process exit
                continue
        _all.clear()
