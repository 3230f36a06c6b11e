"""Alembic environment: every service's tables in one migration history, run with the async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.core.db import Base, create_engine
from services.enablement import models as _enablement_models  # noqa: F401  (registers tables)
from services.ingest import models as _ingest_models  # noqa: F401
from services.pitch import models as _pitch_models  # noqa: F401
from services.pitch.deals import models as _deal_models  # noqa: F401
from services.web import models as _web_models  # noqa: F401

target_metadata = Base.metadata


# Every API replica and worker migrates at start: on PostgreSQL they queue on one advisory lock.
_MIGRATION_LOCK = 7_243_100


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic needs sqlalchemy.url (services.core.migrate sets it)")
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


asyncio.run(_main())
