"""The per-process resources an app serves from, created once in the lifespan and closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.core.settings import Settings
from services.core.vectorstore import VectorStore


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: VectorStore
    celery: Celery
    extras: dict[str, Any] = field(default_factory=dict)

    def send_task(self, name: str, args: list[Any], queue: str) -> None:
        self.celery.send_task(name, args=args, queue=queue)

    async def check_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def check_store(self) -> None:
        await asyncio.to_thread(self.store.ping)

    async def check_broker(self) -> None:
        def ping() -> None:
            with self.celery.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)

        await asyncio.to_thread(ping)
