from __future__ import annotations

import stat
from collections.abc import Callable
from typing import Any

import pytest

from services.core.settings import ConfigurationError, Settings
from services.core.vectorstore import PointFilter, point_id


def test_point_ids_are_deterministic_and_distinct() -> None:
    assert point_id("doc", 1, 0) == point_id("doc", 1, 0)
    ids = {point_id(d, v, o) for d in ("a", "b") for v in (1, 2) for o in range(50)}
    assert len(ids) == 2 * 2 * 50


def test_point_filter_needs_an_org() -> None:
    with pytest.raises(ValueError, match="org_id"):
        PointFilter(org_id="")


def test_production_without_a_secret_refuses_to_start(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(PITCHCRAFT_ENV="production")
    settings = settings.model_copy(update={"auth": settings.auth.model_copy(update={"jwt_secret": None})})
    with pytest.raises(ConfigurationError, match="PITCHCRAFT_JWT_SECRET"):
        settings.jwt_secret()


def test_development_secret_is_generated_once_and_shared(make_settings: Callable[..., Any]) -> None:
    settings = make_settings()
    settings = settings.model_copy(update={"auth": settings.auth.model_copy(update={"jwt_secret": None})})
    first = settings.jwt_secret()
    assert len(first) >= 48
    assert settings.jwt_secret() == first
    mode = (settings.data_dir / ".jwt-secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_distributed_mode_names_what_is_missing(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="QDRANT_URL, DATABASE_URL, REDIS_URL"):
        make_settings(PITCHCRAFT_MODE="distributed")


def test_debug_is_refused_outside_development(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="only in development"):
        make_settings(PITCHCRAFT_ENV="production", PITCHCRAFT_DEBUG="true")


def test_overlap_must_stay_below_half_the_chunk(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="CHUNK_OVERLAP"):
        make_settings(PITCHCRAFT_CHUNK_TOKENS="100", PITCHCRAFT_CHUNK_OVERLAP_TOKENS="60")


def test_sync_database_urls_get_async_drivers(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(DATABASE_URL="postgresql://u@h:5432/db")
    assert settings.database_url == "postgresql+asyncpg://u@h:5432/db"
    assert make_settings().database_url.startswith("sqlite+aiosqlite:///")


def test_a_web_process_without_the_apis_must_be_told_where_they_are(make_settings: Callable[..., Settings]) -> None:
    from services.main import create_app

    with pytest.raises(ConfigurationError, match="PITCHCRAFT_WEB_API_URL"):
        create_app(make_settings(), services=["web"], run_worker=False)
    assert create_app(make_settings(PITCHCRAFT_WEB_API_URL="http://router:8080"), services=["web"], run_worker=False)
