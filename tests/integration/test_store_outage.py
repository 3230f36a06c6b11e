"""The database goes away under a running app (PostgreSQL refuses connections and drops the open ones): requests
answer 503 with Retry-After and the error shape, not a bare 500, and the app recovers by itself when the
database is back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlparse

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from services.core.errors import RETRY_AFTER_SECONDS
from services.core.settings import Settings
from services.main import create_app
from tests.conftest import token

pytestmark = pytest.mark.integration
ENGINEER = token("acme", "engineer")


@pytest.fixture
async def pg_client(
    make_settings: Callable[..., Settings], redis_url: str, postgres_url: str, embedder: Any
) -> AsyncIterator[tuple[AsyncTestClient[Any], str]]:
    app = create_app(make_settings(REDIS_URL=redis_url, DATABASE_URL=postgres_url))
    async with AsyncTestClient(app=app, timeout=60) as client:
        yield client, postgres_url


async def _admin(url: str) -> asyncpg.Connection:
    parsed = urlparse(url.replace("postgresql+asyncpg://", "postgresql://"))
    return await asyncpg.connect(parsed._replace(path="/test").geturl())


async def test_a_database_outage_is_a_503_with_retry_after_and_the_app_recovers(
    pg_client: tuple[AsyncTestClient[Any], str],
) -> None:
    client, url = pg_client
    name = urlparse(url).path.lstrip("/")
    assert (await client.get("/ingest/v1/documents", headers=ENGINEER)).status_code == 200
    admin = await _admin(url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        for _ in range(2):  # the dropped pooled connection, then a refused new one
            response = await client.get("/ingest/v1/documents", headers=ENGINEER)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            error = response.json()["error"]
            assert error["code"] == "unavailable" and "database is unreachable" in error["message"]
        ready = await client.get("/ingest/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("failed")
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
    assert (await client.get("/ingest/v1/documents", headers=ENGINEER)).status_code == 200
