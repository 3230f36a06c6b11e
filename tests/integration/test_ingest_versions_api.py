"""Versions, one version's stored text, and the current version's chunks: what the library pages read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.settings import Settings
from services.core.vectorstore import PointFilter
from services.main import create_app
from tests.conftest import token
from tests.integration.conftest import ctx_of, feature_doc, wait_job

pytestmark = pytest.mark.integration
SAM = token("acme", "engineer", sub="sam")
KIM = token("acme", "engineer", sub="kim")
REP = token("acme", "rep", sub="ada")


async def test_versions_text_and_chunks(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any, database: str | None
) -> None:
    app = create_app(make_settings(REDIS_URL=redis_url, DATABASE_URL=database))
    async with AsyncTestClient(app=app, timeout=60) as client:
        first = (await client.post("/ingest/v1/documents", json=feature_doc("byok"), headers=SAM)).json()
        assert (await wait_job(client, first["job_id"]))["status"] == "succeeded"
        doc_id = first["document_id"]
        changed = feature_doc("byok")["content"].replace("two weeks faster", "three weeks faster")
        second = await client.post("/ingest/v1/documents", json=feature_doc("byok", body=changed), headers=KIM)
        assert second.status_code == 202, second.text
        assert (await wait_job(client, second.json()["job_id"]))["status"] == "succeeded"

        # Every role of the org reads them.
        listed = await client.get(f"/ingest/v1/documents/{doc_id}/versions", headers=REP)
        assert listed.status_code == 200, listed.text
        body = listed.json()
        assert body["document_id"] == doc_id and body["current_version"] == 2
        v2, v1 = body["items"]
        assert (v2["version"], v2["status"], v2["current"]) == (2, "indexed", True)
        assert (v1["version"], v1["status"], v1["current"]) == (1, "superseded", False)
        assert (v2["created_by"], v1["created_by"]) == ("kim", "sam")
        assert (v2["job_id"], v1["job_id"]) == (second.json()["job_id"], first["job_id"])
        assert v1["content_hash"] and v2["content_hash"] and v1["content_hash"] != v2["content_hash"]
        assert v2["content_type"] == "markdown" and v2["title"] == "Feature byok"
        assert v2["indexed_at"] is not None and v2["error"] is None

        old = (await client.get(f"/ingest/v1/documents/{doc_id}/versions/1", headers=REP)).json()
        assert "two weeks faster" in old["content"] and old["version"] == 1 and old["current"] is False
        new = (await client.get(f"/ingest/v1/documents/{doc_id}/versions/2", headers=REP)).json()
        assert new["content"] == changed and new["created_by"] == "kim"

        chunks = await client.get(f"/ingest/v1/documents/{doc_id}/chunks", headers=REP)
        assert chunks.status_code == 200, chunks.text
        body = chunks.json()
        assert body["version"] == 2
        items = body["items"]
        assert [c["ordinal"] for c in items] == list(range(len(items))) and len(items) == v2["chunk_count"] >= 3
        points = ctx_of(client).store.scroll(PointFilter(org_id="acme", document_id=doc_id))
        assert {c["point_id"] for c in items} == {p.id for p in points}
        assert any("three weeks faster" in c["text"] for c in items)
        assert not any("two weeks faster" in c["text"] for c in items)
        sections = [c["section"] for c in items]
        assert sections.index("byok > What it does") < sections.index("byok > Business value")


async def test_other_orgs_unknown_ids_and_bad_versions(client: AsyncTestClient[Any]) -> None:
    accepted = (await client.post("/ingest/v1/documents", json=feature_doc("sso"), headers=SAM)).json()
    await wait_job(client, accepted["job_id"])
    doc_id = accepted["document_id"]
    other = token("globex", "engineer")
    for path in ("versions", "versions/1", "chunks"):
        response = await client.get(f"/ingest/v1/documents/{doc_id}/{path}", headers=other)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "document_not_found"
        missing = await client.get(f"/ingest/v1/documents/no-such-document/{path}", headers=SAM)
        assert missing.status_code == 404
    absent = await client.get(f"/ingest/v1/documents/{doc_id}/versions/7", headers=SAM)
    assert absent.status_code == 404 and absent.json()["error"]["code"] == "version_not_found"
    assert "latest is 1" in absent.json()["error"]["message"]
    for bad in ("0", "-1", "x", "99999999999"):
        response = await client.get(f"/ingest/v1/documents/{doc_id}/versions/{bad}", headers=SAM)
        assert response.status_code in (404, 422), (bad, response.status_code)
        assert response.status_code != 500
    assert (await client.get(f"/ingest/v1/documents/{doc_id}/versions")).status_code == 401
