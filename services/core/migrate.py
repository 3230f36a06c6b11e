"""Schema migrations (Alembic), run by `serve`, `worker` and tests before first use."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

_SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"
_lock = threading.Lock()


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.set_main_option("sqlalchemy.url", database_url)
    return cfg


def upgrade(database_url: str) -> None:
    """Bring the database to the newest schema. Idempotent; Alembic's version table records progress."""
    with _lock:
        command.upgrade(alembic_config(database_url), "head")


async def upgrade_async(database_url: str) -> None:
    # env.py runs its own event loop, so it must not run on the caller's.
    await asyncio.to_thread(upgrade, database_url)
