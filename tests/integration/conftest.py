from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.context import AppContext
from services.core.settings import Settings
from services.main import create_app
from tests.conftest import settings_for_tests, token

JOB_TIMEOUT_S = 180


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str | None:
    """None: SQLite under the data dir; else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    """The whole app on SQLite, with a real Celery worker thread consuming a real Redis broker."""
    app = create_app(
        make_settings(REDIS_URL=redis_url, PITCHCRAFT_MAX_BODY_BYTES="65536", PITCHCRAFT_MAX_FILE_BYTES="65536")
    )
    async with AsyncTestClient(app=app, timeout=60) as c:
        yield c


def ctx_of(client: AsyncTestClient[Any]) -> AppContext:
    ctx: AppContext = client.app.state.ctx
    return ctx


async def wait_job(client: AsyncTestClient[Any], job_id: str, org: str = "acme") -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        response = await client.get(f"/ingest/v1/jobs/{job_id}", headers=token(org, "rep"))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {JOB_TIMEOUT_S}s")


def feature_doc(external_id: str, *, body: str | None = None, **extra: Any) -> dict[str, Any]:
    content = body or (
        f"# {external_id}\n\n## What it does\n\nThe {external_id} capability keeps customer data encrypted with keys "
        "the customer controls.\n\n## How it works\n\nKeys live in the customer's own key service and rotate every "
        "90 days. Every decrypt call is logged.\n\n## Business value\n\nSecurity reviews close two weeks faster."
    )
    return {
        "external_id": external_id,
        "kind": "feature",
        "title": f"Feature {external_id}",
        "content": content,
        **extra,
    }


@asynccontextmanager
async def app_with_library(
    data_dir: Path, redis_url: str, org: str, documents: list[dict[str, Any]]
) -> AsyncIterator[AsyncTestClient[Any]]:
    """A running app (embedded mode) whose organisation `org` has `documents` ingested through the real pipeline."""
    async with AsyncTestClient(
        app=create_app(settings_for_tests(data_dir, REDIS_URL=redis_url)), timeout=120
    ) as client:
        batch = await client.post("/ingest/v1/documents/batch", json={"documents": documents}, headers=token(org))
        assert batch.status_code == 202, batch.text
        assert (await wait_job(client, batch.json()["job_id"], org=org))["status"] == "succeeded"
        yield client
