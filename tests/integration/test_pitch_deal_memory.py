"""Migration 0005 (talk-track requests remember their deal) on SQLite and PostgreSQL, over HTTP.

In a module of its own: each test starts its own app, and so its own embedded Celery worker, which must not run
beside another app's worker in the same process (`test_pitch_deal_tracks.py` keeps one app for its module)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.settings import Settings
from services.main import create_app
from tests.conftest import token
from tests.integration.conftest import wait_job
from tests.integration.test_pitch_deal_fit import LIBRARY as TIDEWELL
from tests.integration.test_pitch_deal_tracks import ADA, _deal, _track

pytestmark = pytest.mark.integration


async def test_presented_features_are_remembered_on_sqlite_and_postgresql(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any, database: str | None
) -> None:
    """Migration 0005 (talk-track requests remember their deal) on both databases."""
    app = create_app(make_settings(REDIS_URL=redis_url, DATABASE_URL=database))
    async with AsyncTestClient(app=app, timeout=120) as client:
        batch = await client.post("/ingest/v1/documents/batch", json={"documents": TIDEWELL}, headers=token("acme"))
        assert (await wait_job(client, batch.json()["job_id"]))["status"] == "succeeded"
        note = (
            "Their technicians lose hours every day driving back and forth across the city.\n"
            "Objection - Fieldnest charges less per seat and the office staff only view schedules."
        )
        deal = await _deal(client, ADA, note, competitors=["Fieldnest"], segment="smb", stage="discovery")
        first = await _track(client, persona="cfo", deal_id=deal["id"])
        assert first["features"][0]["external_id"] == "tw-route-optimisation"
        (objection,) = first["deal"]["objections"]
        assert objection["response"] is not None
        assert objection["response"]["citation"]["external_id"] == "tw-vs-fieldnest"
        second = await _track(client, persona="cfo", deal_id=deal["id"])
        assert second["features"][0]["already_presented"] is True
        assert set(second["deal"]["already_presented"]) == {f["external_id"] for f in first["features"]}
