"""Hostile uploads through the HTTP API (real parsers in the real sandbox, real Redis, worker thread, model):
each is stored and answered 202 at once, its job fails with a reason that names the limit, the org's other
documents stay as they were, and the server process grows by less than RSS_BOUND_MB.
tests/e2e/test_hostile_serve.py does the same against `pitchcraft serve`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.settings import Settings
from services.core.vectorstore import PointFilter
from services.main import create_app
from tests import hostile_files as hostile
from tests.conftest import token
from tests.integration.conftest import ctx_of, feature_doc, wait_job

pytestmark = pytest.mark.integration
ENGINEER = token("acme", "engineer")
# The server process (here: this test process, which serves the app in process) may grow by at most this
# much over the whole corpus. Parsing in the process grew it by 0.5-2 GB per file (issue 9).
RSS_BOUND_MB = 64
LIMITS = {
    "PITCHCRAFT_MAX_DOCX_PARAGRAPHS": "1000",
    "PITCHCRAFT_MAX_DOCX_UNPACKED_BYTES": str(1024 * 1024),
    "PITCHCRAFT_MAX_PDF_PAGES": "20",
    "PITCHCRAFT_MAX_HTML_DEPTH": "64",
    "PITCHCRAFT_MAX_HTML_ELEMENTS": "2000",
    "PITCHCRAFT_PARSE_TIMEOUT_SECONDS": "10",
}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture
async def hostile_client(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(make_settings(REDIS_URL=redis_url, **LIMITS))
    async with AsyncTestClient(app=app, timeout=60) as c:
        yield c


def _upload(name: str, data: bytes, media: str, external_id: str) -> dict[str, Any]:
    return {
        "files": {"file": (name, data, media)},
        "data": {"external_id": external_id, "kind": "feature", "title": "Hostile"},
    }


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CORPUS: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("wide.docx", lambda: hostile.wide_docx(1_001), DOCX, "PITCHCRAFT_MAX_DOCX_PARAGRAPHS"),
    ("deep.docx", lambda: hostile.deep_docx(5_000), DOCX, "more than 256 deep"),
    ("liar.docx", lambda: hostile.lying_zip_docx(20_000_000), DOCX, "CRC"),
    ("big.docx", lambda: hostile.lying_zip_docx(2_000_000, declared=2_000_000), DOCX, "MAX_DOCX_UNPACKED"),
    ("bomb.docx", lambda: hostile.entity_bomb_docx(), DOCX, "declares a DTD or entities"),
    ("styles-bomb.docx", lambda: hostile.entity_bomb_docx(part="styles"), DOCX, "declares a DTD or entities"),
    ("nested.html", lambda: hostile.nested_html(100_000), "text/html", "PITCHCRAFT_MAX_HTML_DEPTH"),
    ("wide.html", lambda: hostile.wide_html(2_001), "text/html", "PITCHCRAFT_MAX_HTML_ELEMENTS"),
    ("pages.pdf", lambda: hostile.many_page_pdf(21), "application/pdf", "PITCHCRAFT_MAX_PDF_PAGES"),
    ("bomb.pdf", lambda: hostile.deflate_bomb_pdf(), "application/pdf", "inflates past the reader's safety limit"),
]


async def test_hostile_corpus_fails_its_jobs_clearly_and_leaves_the_org_and_the_server_intact(
    hostile_client: AsyncTestClient[Any],
) -> None:
    client = hostile_client
    good = await client.post("/ingest/v1/documents", json=feature_doc("keep-me"), headers=ENGINEER)
    assert (await wait_job(client, good.json()["job_id"]))["status"] == "succeeded"
    doc_id = good.json()["document_id"]
    points_before = sorted(p.id for p in ctx_of(client).store.scroll(PointFilter(org_id="acme")))
    corpus = [(name, make(), media, fragment) for name, make, media, fragment in CORPUS]
    # Warm the path once so the first request's one-off allocations are not counted against the bound.
    warm = await client.post("/ingest/v1/documents", headers=ENGINEER, **_upload("w.html", b"<p>", "text/html", "w"))
    await wait_job(client, warm.json()["job_id"])
    gc.collect()
    rss_before = _rss_mb()

    for name, data, media, fragment in corpus:
        # Both as a new document and as a new version of the one already indexed. The upload is stored and
        # answered at once; its job parses it in the sandbox and fails with the reason.
        for external_id in ("hostile", "keep-me"):
            response = await client.post(
                "/ingest/v1/documents", headers=ENGINEER, **_upload(name, data, media, external_id)
            )
            assert response.status_code == 202, (name, response.text)
            job = await wait_job(client, response.json()["job_id"])
            assert job["status"] == "failed", (name, job)
            assert job["error"].startswith(f"{external_id}: ") and fragment in job["error"], (name, job["error"])

    # The same HTML inside JSON, alone and as a member of a batch: the same reason; the batch's job fails as a
    # whole (no member is indexed without the others), naming the member at fault.
    nested = hostile.nested_html(100_000).decode()
    alone = await client.post(
        "/ingest/v1/documents", json=feature_doc("json-html", body=nested, content_type="text/html"), headers=ENGINEER
    )
    assert alone.status_code == 202
    assert "PITCHCRAFT_MAX_HTML_DEPTH" in (await wait_job(client, alone.json()["job_id"]))["error"]
    batch = {"documents": [feature_doc("fine-member"), feature_doc("bad", body=nested, content_type="text/html")]}
    accepted = await client.post("/ingest/v1/documents/batch", json=batch, headers=ENGINEER)
    assert accepted.status_code == 202
    batch_job = await wait_job(client, accepted.json()["job_id"])
    assert batch_job["status"] == "failed" and batch_job["error"].startswith("bad: ")
    assert "PITCHCRAFT_MAX_HTML_DEPTH" in batch_job["error"]

    gc.collect()
    grown = _rss_mb() - rss_before
    print(f"hostile corpus in process: RSS +{grown:.1f} MB")  # quoted in the README (pytest -s)
    assert grown < RSS_BOUND_MB, f"the server grew by {grown:.0f} MB over the corpus"

    # Nothing of it is searchable; the indexed document keeps its version and its exact points.
    listed = (await client.get("/ingest/v1/documents", headers=ENGINEER)).json()
    assert {d["external_id"]: d["current_version"] for d in listed["items"]} == {
        "bad": None,
        "fine-member": None,
        "hostile": None,
        "json-html": None,
        "keep-me": 1,
        "w": None,
    }
    detail = (await client.get(f"/ingest/v1/documents/{doc_id}", headers=ENGINEER)).json()
    assert detail["current_version"] == 1 and detail["latest_version"] == 1 + len(CORPUS)
    assert sorted(p.id for p in ctx_of(client).store.scroll(PointFilter(org_id="acme"))) == points_before
