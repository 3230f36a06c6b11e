"""The ingest API end to end in process: real Redis broker and Celery worker thread, real model, Edge store,
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from services.core import sentences
from services.core.settings import Settings
from services.core.vectorstore import PointFilter
from services.ingest.models import VersionUpload
from services.main import create_app
from tests.conftest import token
from tests.integration.conftest import ctx_of, feature_doc, wait_job

pytestmark = pytest.mark.integration
ENGINEER = token("acme", "engineer")


def points_of(client: AsyncTestClient[Any], document_id: str, org: str = "acme") -> list[Any]:
    return ctx_of(client).store.scroll(PointFilter(org_id=org, document_id=document_id))


async def test_ingest_update_noop_and_delete(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any, database: str | None
) -> None:
    app = create_app(make_settings(REDIS_URL=redis_url, DATABASE_URL=database))
    async with AsyncTestClient(app=app, timeout=60) as client:
        first = await client.post("/ingest/v1/documents", json=feature_doc("byok"), headers=ENGINEER)
        assert first.status_code == 202, first.text
        accepted = first.json()
        assert accepted["version"] == 1 and accepted["status"] == "queued" and accepted["job_id"]
        job = await wait_job(client, accepted["job_id"])
        assert job["status"] == "succeeded", job
        assert job["progress"]["done"] == job["progress"]["total"] >= 3
        doc_id = accepted["document_id"]
        points = points_of(client, doc_id)
        assert len(points) == job["progress"]["total"]
        assert {p.payload["version"] for p in points} == {1}
        assert len({p.id for p in points}) == len(points)
        # Every sentence of a chunk is embedded on its own too, in its payload (sentence-level evidence).
        v1_sentences = {p.payload["text_hash"]: p.payload[sentences.PAYLOAD_KEY] for p in points}
        for p in points:
            rows = sentences.unpack(p.payload[sentences.PAYLOAD_KEY], 384)
            assert len(rows) == len(sentences.evidence_sentences(p.payload["text"])) >= 1
            assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=0.01)

        again = await client.post("/ingest/v1/documents", json=feature_doc("byok"), headers=ENGINEER)
        assert again.status_code == 200
        assert again.json() == {**accepted, "job_id": None, "status": "unchanged"}

        changed_body = feature_doc("byok")["content"].replace("two weeks faster", "three weeks faster")
        update = await client.post(
            "/ingest/v1/documents", json=feature_doc("byok", body=changed_body), headers=ENGINEER
        )
        assert update.status_code == 202 and update.json()["version"] == 2
        job2 = await wait_job(client, update.json()["job_id"])
        assert job2["status"] == "succeeded"
        # Only the changed section is re-embedded; the others reuse version 1's vectors.
        assert 0 < job2["reused_embeddings"] < job2["progress"]["total"]
        points = points_of(client, doc_id)
        assert {p.payload["version"] for p in points} == {2}
        # Reused chunks keep their sentence vectors; the changed one has its own.
        kept = [p for p in points if p.payload["text_hash"] in v1_sentences]
        assert len(kept) == job2["reused_embeddings"]
        assert all(p.payload[sentences.PAYLOAD_KEY] == v1_sentences[p.payload["text_hash"]] for p in kept)
        assert all(isinstance(p.payload[sentences.PAYLOAD_KEY], str) for p in points)
        assert len(points) == job2["progress"]["total"]
        assert any("three weeks faster" in p.payload["text"] for p in points)
        detail = (await client.get(f"/ingest/v1/documents/{doc_id}", headers=token("acme", "rep"))).json()
        assert detail["current_version"] == 2 and detail["chunk_count"] == len(points)

        deleted = await client.delete(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)
        assert deleted.status_code == 204
        assert points_of(client, doc_id) == []
        assert (await client.get(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)).status_code == 404


async def test_batch_is_one_job_and_unchanged_members_are_reported(client: AsyncTestClient[Any]) -> None:
    docs = [feature_doc(f"batch-{i}") for i in range(3)]
    response = await client.post("/ingest/v1/documents/batch", json={"documents": docs}, headers=ENGINEER)
    assert response.status_code == 202, response.text
    body = response.json()
    assert [d["status"] for d in body["documents"]] == ["queued"] * 3
    assert {d["job_id"] for d in body["documents"]} == {body["job_id"]}
    job = await wait_job(client, body["job_id"])
    assert job["status"] == "succeeded" and len(job["documents"]) == 3

    docs[1]["tags"] = ["security"]
    again = await client.post("/ingest/v1/documents/batch", json={"documents": docs}, headers=ENGINEER)
    assert again.status_code == 202
    statuses = [d["status"] for d in again.json()["documents"]]
    assert statuses == ["unchanged", "queued", "unchanged"]
    job = await wait_job(client, again.json()["job_id"])
    # A tag change re-indexes the payload but every embedding is reused.
    assert job["reused_embeddings"] == job["progress"]["total"] > 0

    unchanged = await client.post("/ingest/v1/documents/batch", json={"documents": docs}, headers=ENGINEER)
    assert unchanged.status_code == 200 and unchanged.json()["job_id"] is None


async def test_stale_listing_and_verification(client: AsyncTestClient[Any]) -> None:
    expired = feature_doc("old-connector", expires_at="2020-01-31")
    overdue = feature_doc("overdue", as_of="2020-01-01", review_interval_days=30)
    fresh = feature_doc("fresh")
    response = await client.post(
        "/ingest/v1/documents/batch", json={"documents": [expired, overdue, fresh]}, headers=ENGINEER
    )
    await wait_job(client, response.json()["job_id"])

    stale = (await client.get("/ingest/v1/documents?stale=true", headers=ENGINEER)).json()
    reasons = {d["external_id"]: d["stale_reasons"] for d in stale["items"]}
    assert set(reasons) == {"old-connector", "overdue"}
    assert reasons["old-connector"][0].startswith("expired on 2020-01-31")
    assert reasons["overdue"] == ["review was due on 2020-01-31"]
    not_stale = (await client.get("/ingest/v1/documents?stale=false", headers=ENGINEER)).json()
    assert [d["external_id"] for d in not_stale["items"]] == ["fresh"]

    overdue_id = next(d["document_id"] for d in stale["items"] if d["external_id"] == "overdue")
    verified = await client.post(
        f"/ingest/v1/documents/{overdue_id}/verify", json={"review_interval_days": 90}, headers=ENGINEER
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified_by"] == "sam" and verified.json()["stale"] is False
    assert all(p.payload["verified"] is True for p in points_of(client, overdue_id))
    stale = (await client.get("/ingest/v1/documents?stale=true", headers=ENGINEER)).json()
    assert [d["external_id"] for d in stale["items"]] == ["old-connector"]
    listed = (await client.get("/ingest/v1/documents?q=fresh&kind=feature", headers=token("acme", "rep"))).json()
    assert listed["total"] == 1 and listed["items"][0]["external_id"] == "fresh"


async def test_bad_input_gets_a_clear_error_and_loses_nothing(client: AsyncTestClient[Any]) -> None:
    good = await client.post("/ingest/v1/documents", json=feature_doc("keep-me"), headers=ENGINEER)
    job = await wait_job(client, good.json()["job_id"])
    doc_id = good.json()["document_id"]
    before = sorted(p.id for p in points_of(client, doc_id))

    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"json": feature_doc("keep-me", body="x" * 70_000)}, 413, "payload_too_large"),
        (
            {
                "files": {"file": ("big.txt", b"y" * 70_000, "text/plain")},
                "data": {"external_id": "keep-me", "kind": "feature", "title": "t"},
            },
            413,
            "payload_too_large",
        ),
        (
            {
                "files": {"file": ("deck.pptx", b"PK..", "application/vnd.ms-powerpoint")},
                "data": {"external_id": "keep-me", "kind": "feature", "title": "t"},
            },
            415,
            "unsupported_media_type",
        ),
        ({"content": b"just text", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"json": feature_doc("keep-me", body="   \n  ")}, 422, "unprocessable"),
        ({"json": {**feature_doc("keep-me"), "kind": "brochure"}}, 422, "unprocessable"),
        ({"json": {k: v for k, v in feature_doc("keep-me").items() if k != "title"}}, 422, "unprocessable"),
        (
            {
                "files": {"file": ("empty.pdf", b" \n", "application/pdf")},
                "data": {"external_id": "keep-me", "kind": "feature", "title": "t"},
            },
            422,
            "unprocessable",
        ),
        (
            {
                "files": {"file": ("deck.pdf", b"PK\x03\x04 a zip", "application/pdf")},
                "data": {"external_id": "keep-me", "kind": "feature", "title": "t"},
            },
            422,
            "unprocessable",
        ),
        (
            {
                "files": {"file": ("notes.docx", b"plain words", "application/octet-stream")},
                "data": {"external_id": "keep-me", "kind": "feature", "title": "t"},
            },
            422,
            "unprocessable",
        ),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "bad_request"),
    ]
    for kwargs, status, code in cases:
        headers = {**ENGINEER, **kwargs.pop("headers", {})}
        response = await client.post("/ingest/v1/documents", headers=headers, **kwargs)
        assert response.status_code == status, (kwargs, response.text)
        error = response.json()["error"]
        assert error["code"] == code and error["message"]

    rep = await client.post("/ingest/v1/documents", json=feature_doc("new"), headers=token("acme", "rep"))
    assert rep.status_code == 403 and "engineer" in rep.json()["error"]["message"]
    for method, path in (
        ("post", f"/ingest/v1/documents/{doc_id}/verify"),
        ("delete", f"/ingest/v1/documents/{doc_id}"),
    ):
        assert (await getattr(client, method)(path, headers=token("acme", "rep"))).status_code == 403
    assert (await client.get("/ingest/v1/documents")).status_code == 401
    assert (await client.get("/ingest/v1/documents", headers={"Authorization": "Bearer nope"})).status_code == 401

    # Nothing stored was touched by any of it.
    after = (await client.get(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)).json()
    assert after["current_version"] == 1 and after["latest_version"] == 1
    assert sorted(p.id for p in points_of(client, doc_id)) == before
    assert len(before) == job["progress"]["total"]

    # HTML and PDF pass the request's cheap checks and are parsed by the job: a file with no text, or one that
    # is not a readable PDF, is a failed job with the reason; the indexed version stays current.
    for kwargs, reason in (
        ({"json": feature_doc("keep-me", content_type="text/html", body="<script>x()</script>")}, "empty"),
        (
            {
                "files": {"file": ("broken.pdf", b"%PDF-1.4 garbage", "application/pdf")},
                "data": {"external_id": "keep-me", "kind": "feature", "title": "t"},
            },
            "PDF cannot be read",
        ),
    ):
        accepted = await client.post("/ingest/v1/documents", headers=ENGINEER, **kwargs)
        assert accepted.status_code == 202, accepted.text
        failed = await wait_job(client, accepted.json()["job_id"])
        assert failed["status"] == "failed" and failed["error"].startswith("keep-me: ") and reason in failed["error"]
    after = (await client.get(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)).json()
    assert after["current_version"] == 1 and after["latest_version"] == 3
    assert sorted(p.id for p in points_of(client, doc_id)) == before
    versions = (await client.get(f"/ingest/v1/documents/{doc_id}/versions", headers=ENGINEER)).json()["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(3, "failed"), (2, "failed"), (1, "indexed")]
    assert ctx_of(client).store.count(PointFilter(org_id="acme", document_id=doc_id)) == len(before)


async def test_two_orgs_cannot_see_each_other(client: AsyncTestClient[Any]) -> None:
    mine = await client.post("/ingest/v1/documents", json=feature_doc("secret-roadmap"), headers=ENGINEER)
    job_id, doc_id = mine.json()["job_id"], mine.json()["document_id"]
    await wait_job(client, job_id)
    other = token("globex", "admin")
    assert (await client.get("/ingest/v1/documents", headers=other)).json()["total"] == 0
    assert (await client.get(f"/ingest/v1/documents/{doc_id}", headers=other)).status_code == 404
    assert (await client.get(f"/ingest/v1/jobs/{job_id}", headers=other)).status_code == 404
    assert (await client.post(f"/ingest/v1/documents/{doc_id}/verify", headers=other)).status_code == 404
    assert (await client.delete(f"/ingest/v1/documents/{doc_id}", headers=other)).status_code == 404
    # Same external_id in another org is another document.
    theirs = await client.post(
        "/ingest/v1/documents", json=feature_doc("secret-roadmap"), headers=token("globex", "engineer")
    )
    assert theirs.status_code == 202 and theirs.json()["document_id"] != doc_id
    await wait_job(client, theirs.json()["job_id"], org="globex")
    assert len(points_of(client, doc_id)) > 0
    assert ctx_of(client).store.count(PointFilter(org_id="globex")) == len(points_of(client, doc_id))
    assert (await client.get(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)).json()["verified_at"] is None


async def test_multipart_markdown_front_matter_fills_fields(client: AsyncTestClient[Any]) -> None:
    md = (
        b"---\nexternal_id: from-file\nkind: objection\ntitle: Too expensive\ntags: [Pricing]\n---\n"
        b"# Too expensive\n\nWe pay back in five months.\n"
    )
    response = await client.post(
        "/ingest/v1/documents",
        files={"file": ("obj.md", md, "text/markdown")},
        data={"owner": "priya@acme.example"},
        headers=ENGINEER,
    )
    assert response.status_code == 202, response.text
    await wait_job(client, response.json()["job_id"])
    doc = (await client.get(f"/ingest/v1/documents/{response.json()['document_id']}", headers=ENGINEER)).json()
    assert (doc["external_id"], doc["kind"], doc["title"], doc["tags"], doc["owner"]) == (
        "from-file",
        "objection",
        "Too expensive",
        ["pricing"],
        "priya@acme.example",
    )


async def test_health_and_readiness_need_no_token(client: AsyncTestClient[Any]) -> None:
    for service in ("ingest", "pitch", "enablement"):
        assert (await client.get(f"/{service}/health")).json()["status"] == "ok"
        ready = await client.get(f"/{service}/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {
            "database": "ok",
            "vector_store": "ok",
            "broker": "ok",
        }
    # Anchored exclusions: a path that merely contains "health" still needs a token.
    assert (await client.get("/ingest/v1/documents/health")).status_code == 401


async def test_new_text_drops_the_old_verification_and_metadata_follows_the_indexed_version(
    client: AsyncTestClient[Any],
) -> None:
    first = await client.post("/ingest/v1/documents", json=feature_doc("kms", tags=["security"]), headers=ENGINEER)
    await wait_job(client, first.json()["job_id"])
    doc_id = first.json()["document_id"]
    assert (await client.post(f"/ingest/v1/documents/{doc_id}/verify", headers=ENGINEER)).json()["verified_at"]

    # Only tags change: the verified text is the same, so the verification stands.
    retag = await client.post(
        "/ingest/v1/documents", json=feature_doc("kms", tags=["security", "kms"]), headers=ENGINEER
    )
    await wait_job(client, retag.json()["job_id"])
    doc = (await client.get(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)).json()
    assert doc["verified_by"] == "sam" and doc["tags"] == ["kms", "security"] and doc["current_version"] == 2
    assert all(
        p.payload["verified"] is True and p.payload["tags"] == ["kms", "security"] for p in points_of(client, doc_id)
    )

    # New text and a new title: nobody has checked it yet.
    body = feature_doc("kms")["content"].replace("90 days", "30 days")
    update = await client.post(
        "/ingest/v1/documents", json=feature_doc("kms", body=body, title="Key management"), headers=ENGINEER
    )
    await wait_job(client, update.json()["job_id"])
    doc = (await client.get(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)).json()
    assert doc["verified_at"] is None and doc["title"] == "Key management" and doc["current_version"] == 3
    # A JSON post without tags keeps none (fields left out are not taken from an older version).
    assert doc["tags"] == []
    assert all(
        p.payload["verified"] is False and p.payload["title"] == "Key management" for p in points_of(client, doc_id)
    )


async def test_json_post_takes_fields_it_leaves_out_from_front_matter(client: AsyncTestClient[Any]) -> None:
    content = (
        "---\ntags: [Pricing, ROI]\nowner: lee@acme.example\n---\n# Payback\n\n## Value\n\nPayback in five months."
    )
    body = {"external_id": "payback", "kind": "objection", "title": "Payback", "content": content}
    response = await client.post("/ingest/v1/documents", json=body, headers=ENGINEER)
    assert response.status_code == 202, response.text
    await wait_job(client, response.json()["job_id"])
    doc = (await client.get(f"/ingest/v1/documents/{response.json()['document_id']}", headers=ENGINEER)).json()
    assert (doc["tags"], doc["owner"]) == (["pricing", "roi"], "lee@acme.example")


async def _uploads_left(client: AsyncTestClient[Any]) -> int:
    """Raw uploads still stored, counted on the app's own loop (the engine's connections belong to it)."""

    async def count() -> int:
        async with ctx_of(client).sessions() as session:
            return int((await session.execute(select(func.count()).select_from(VersionUpload))).scalar_one())

    return client.blocking_portal.call(count)


async def test_an_html_upload_is_stored_at_once_and_parsed_by_its_job(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any, database: str | None
) -> None:
    app = create_app(make_settings(REDIS_URL=redis_url, DATABASE_URL=database))
    page = (
        b"<html><body><nav>menu</nav><h1>Audit log</h1><p>Every admin action is recorded with who did it.</p>"
        b"<h2>Export</h2><p>Logs stream to the customer's own bucket every minute.</p></body></html>"
    )
    form = {"external_id": "audit", "kind": "feature", "title": "Audit log"}
    async with AsyncTestClient(app=app, timeout=60) as client:
        first = await client.post(
            "/ingest/v1/documents", files={"file": ("audit.html", page, "text/html")}, data=form, headers=ENGINEER
        )
        assert first.status_code == 202 and first.json()["status"] == "queued", first.text
        doc_id = first.json()["document_id"]
        assert (await wait_job(client, first.json()["job_id"]))["status"] == "succeeded"
        version = (await client.get(f"/ingest/v1/documents/{doc_id}/versions/1", headers=ENGINEER)).json()
        assert version["content_type"] == "html" and version["filename"] == "audit.html"
        assert "# Audit log" in version["content"] and "menu" not in version["content"]
        assert version["content_hash"] and version["status"] == "indexed"
        assert any("customer's own bucket" in p.payload["text"] for p in points_of(client, doc_id))
        assert await _uploads_left(client) == 0  # the parsed text is kept; the raw bytes are not

        # The same file again is a no-op, decided on its bytes without parsing it.
        again = await client.post(
            "/ingest/v1/documents", files={"file": ("audit.html", page, "text/html")}, data=form, headers=ENGINEER
        )
        assert again.status_code == 200 and again.json()["status"] == "unchanged"

        # Past a parse limit: accepted, then the job fails naming the setting; version 1 and its points stay.
        before = sorted(p.id for p in points_of(client, doc_id))
        deep = await client.post(
            "/ingest/v1/documents",
            files={"file": ("deep.html", b"<div>" * 5_000 + b"x", "text/html")},
            data=form,
            headers=ENGINEER,
        )
        assert deep.status_code == 202 and deep.json()["version"] == 2
        failed = await wait_job(client, deep.json()["job_id"])
        assert failed["status"] == "failed" and "PITCHCRAFT_MAX_HTML_DEPTH" in failed["error"], failed
        assert failed["error"].startswith("audit: ")
        detail = (await client.get(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)).json()
        assert detail["current_version"] == 1 and detail["latest_version"] == 2
        assert sorted(p.id for p in points_of(client, doc_id)) == before
        assert await _uploads_left(client) == 0
