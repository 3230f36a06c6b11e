from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PITCHCRAFT_LOG_JSON", "true")

from services.core.auth import issue_token
from services.core.settings import Settings
from tests import services as svc

SECRET = "test-secret-" + "x" * 40


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    svc.stop_containers()


BROWSER_TESTS = Path(__file__).parent / "browser"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last and carry the `browser` marker. Playwright's sync API keeps an event loop running
    in the main thread while its session-scoped browser is open, and pytest-asyncio cannot run a test on that
    thread afterwards; with the browser tests last, nothing async runs after it starts."""
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: BROWSER_TESTS in item.path.parents)  # stable: the order within each part stays


def _missing(reason: str) -> None:
    """CI (PITCHCRAFT_REQUIRE_SERVICES=1, set by .ci/run) fails instead of skipping, so a green run always
    includes the integration tests."""
    if os.environ.get("PITCHCRAFT_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = svc.redis_url()
    if url is None:
        _missing("no Redis: set TEST_REDIS_URL, run a Docker engine, or start redis on 127.0.0.1:6379")
    assert url is not None
    return url


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = svc.postgres_admin_url()
    if url is None:
        _missing("no PostgreSQL: set TEST_DATABASE_URL, run a Docker engine, or start it on 127.0.0.1:5432")
    assert url is not None
    return url


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    url, name = await svc.create_database(postgres_admin_url)
    yield url
    await svc.drop_database(postgres_admin_url, name)


def settings_from(values: dict[str, Any]) -> Settings:
    """Settings read from these environment variables (set for the call only)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        return Settings()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def settings_for_tests(data_dir: Path | str, **env: Any) -> Settings:
    """Test settings: this data dir, the test secret, a broker key prefix of its own; `env` on top."""
    values: dict[str, Any] = {
        "PITCHCRAFT_DATA_DIR": str(data_dir),
        "PITCHCRAFT_JWT_SECRET": SECRET,
        "PITCHCRAFT_ENV": "development",
        "PITCHCRAFT_QUEUE_PREFIX": f"test-{uuid.uuid4().hex[:8]}:",
    }
    values.update({k: v for k, v in env.items() if v is not None})
    return settings_from(values)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**env: Any) -> Settings:
        return settings_for_tests(tmp_path / "data", **env)

    return build


def token(org: str = "acme", role: str = "engineer", sub: str = "sam") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, sub=sub, org=org, roles=[role])}"}


@pytest.fixture(scope="session")
def embedder() -> Any:
    from services.core.embeddings import get_embedder

    return get_embedder()
