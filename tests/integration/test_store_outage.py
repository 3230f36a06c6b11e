"""The database goes away under a running app (PostgreSQL refuses connections and drops the open ones): requests
answer 503 with Retry-After and the error shape, not a bare 500, and the app recovers by itself when the
database is back."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlparse

import asyncpg
import pytest
from celery.worker import state as celery_state
from litestar.testing import AsyncTestClient

from services.core.celery_app import EmbeddedWorker, create_celery
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


# A port nothing listens on: Redis refuses every connection (the broker is down for the whole test).
DEAD_REDIS = "redis://127.0.0.1:1/0"


async def test_a_broker_outage_keeps_uploads_and_reads_working_and_readiness_says_so(
    make_settings: Callable[..., Settings],
) -> None:
    """Redis down: an upload is still stored and answered 202 with its job queued (its message is recorded as
    unsent, so the stranded-job sweep sends it once Redis is back: tests/integration/test_job_lifecycle.py); reads
    answer as usual; readiness answers 503 naming the broker; the app stops without waiting out its shutdown bound."""
    app = create_app(make_settings(REDIS_URL=DEAD_REDIS))
    async with AsyncTestClient(app=app, timeout=60) as client:
        body = {"external_id": "a", "kind": "feature", "title": "A", "content": "## A\n\nSome text for the test."}
        created = await client.post("/ingest/v1/documents", headers=ENGINEER, json=body)
        assert created.status_code == 202, created.text
        job = await client.get(f"/ingest/v1/jobs/{created.json()['job_id']}", headers=ENGINEER)
        assert job.json()["status"] == "queued"
        listed = await client.get("/ingest/v1/documents", headers=ENGINEER)
        assert listed.status_code == 200 and [d["external_id"] for d in listed.json()["items"]] == ["a"]
        ready = await client.get("/ingest/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["broker"].startswith("failed")


def test_the_embedded_worker_stops_while_the_broker_is_unreachable(make_settings: Callable[..., Settings]) -> None:
    """The consumer retries an unreachable broker in a loop that only Celery's process-wide shutdown flag ends:
    the stop sets it (no task runs there) and clears it after, so the warm stop does not time out and a later
    worker in this process can start."""
    worker = EmbeddedWorker(create_celery(make_settings(REDIS_URL=DEAD_REDIS)))
    worker.start()
    try:
        time.sleep(1.5)  # let the consumer reach its reconnect loop (not a timing assertion)
        assert worker.stop(timeout=30) is True
    finally:
        assert celery_state.should_stop is None


def test_a_second_embedded_worker_in_one_process_is_refused_until_the_first_stops(
    make_settings: Callable[..., Settings],
) -> None:
    """Two would share kombu's process-wide event loop and one could miss its broker replies (a job message
    taken off Redis and never run: a test that started a second app beside a module's app lost jobs so)."""
    first = EmbeddedWorker(create_celery(make_settings(REDIS_URL=DEAD_REDIS)))
    second = EmbeddedWorker(create_celery(make_settings(REDIS_URL=DEAD_REDIS)))
    first.start()
    try:
        with pytest.raises(RuntimeError, match="another embedded worker is running in this process"):
            second.start()
    finally:
        assert first.stop(timeout=30) is True
    second.start()
    assert second.stop(timeout=30) is True
