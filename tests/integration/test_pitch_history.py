"""A rep's talk-track history and the cited passages behind a track: real model, Edge store, SQLite, over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.vectorstore import PointFilter
from tests.conftest import token
from tests.integration.conftest import ctx_of, wait_job
from tests.integration.enablement_helpers import demo_app
from tests.integration.test_pitch_api import with_rival

pytestmark = pytest.mark.integration
ADA = token("acme", "rep", sub="ada")
BOB = token("acme", "rep", sub="bob")
GLOBEX = token("globex", "rep", sub="ada")  # the same sub in another organisation


@pytest.fixture(scope="module")
async def library(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    """The demo library in org acme; org globex has one document of its own."""
    async with demo_app(str(tmp_path_factory.mktemp("history")), redis_url) as client:
        yield await with_rival(client)


async def ask(client: AsyncTestClient[Any], headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post("/pitch/v1/talk-tracks", json=body, headers=headers)
    assert response.status_code == 200, response.text
    track: dict[str, Any] = response.json()
    return track


async def history(client: AsyncTestClient[Any], headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/pitch/v1/talk-tracks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def test_history_lists_the_callers_own_requests_newest_first_once_each(library: AsyncTestClient[Any]) -> None:
    context = "Board wants fewer tools and a clear security review before renewal."
    cio = await ask(library, ADA, persona="cio", context=context, segment="enterprise", competitor="Tessellate")
    cmo = await ask(library, ADA, persona="cmo", context=context)
    # The same request again (a markdown copy of the CIO track): listed once, at its latest time.
    markdown = await library.post(
        "/pitch/v1/talk-tracks",
        json={"persona": "cio", "context": context, "segment": "enterprise", "competitor": "Tessellate"},
        headers={**ADA, "Accept": "text/markdown"},
    )
    assert markdown.status_code == 200 and markdown.text.startswith("# Talk track")

    rows = await history(library, ADA)
    assert [r["persona"] for r in rows[:2]] == ["cio", "cmo"]
    assert len([r for r in rows if r["persona"] == "cio" and r["context"] == context]) == 1
    latest_cio, latest_cmo = rows[0], rows[1]
    assert latest_cio["context"] == context and latest_cio["segment"] == "enterprise"
    assert latest_cio["competitor"] == "Tessellate" and latest_cio["deal_id"] is None
    assert latest_cio["features"] == [f["external_id"] for f in cio["features"]]
    assert latest_cmo["features"] == [f["external_id"] for f in cmo["features"]] and latest_cmo["segment"] is None
    assert latest_cio["abstained"] is False and latest_cio["created_at"] >= latest_cmo["created_at"]
    assert [r["persona"] for r in await history(library, ADA, limit=1)] == ["cio"]

    # Another rep of the same org, and the same sub in another org, see none of it.
    await ask(library, BOB, persona="cfo")
    assert [r["persona"] for r in await history(library, BOB)] == ["cfo"]
    assert await history(library, GLOBEX) == []


@pytest.mark.parametrize("limit", ["0", "51", "ten"])
async def test_history_refuses_a_limit_out_of_range(library: AsyncTestClient[Any], limit: str) -> None:
    response = await library.get("/pitch/v1/talk-tracks", params={"limit": limit}, headers=ADA)
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert error["code"] in ("unprocessable", "validation_error") and "limit" in str(error).lower()


async def test_history_needs_a_token(library: AsyncTestClient[Any]) -> None:
    assert (await library.get("/pitch/v1/talk-tracks")).status_code == 401


async def test_a_cited_passage_reads_back_with_its_title_and_as_of_date(library: AsyncTestClient[Any]) -> None:
    track = await ask(library, ADA, persona="ciso")
    point = track["features"][0]["points"][0]
    citation = point["citation"]
    response = await library.get(f"/pitch/v1/passages/{citation['chunk_id']}", headers=ADA)
    assert response.status_code == 200, response.text
    passage = response.json()
    assert point["text"] in passage["text"]  # the cited sentence is in the passage
    assert passage["chunk_id"] == citation["chunk_id"] and passage["document_id"] == citation["document_id"]
    assert passage["external_id"] == citation["external_id"] and passage["version"] == citation["version"]
    assert passage["title"] == citation["title"] and passage["title"]
    assert passage["section"] == citation["section"]
    assert passage["as_of"] == citation["as_of"] and passage["as_of"]
    # The same id in upper case is the same passage.
    upper = await library.get(f"/pitch/v1/passages/{citation['chunk_id'].upper()}", headers=ADA)
    assert upper.status_code == 200 and upper.json()["chunk_id"] == citation["chunk_id"]


async def test_a_passage_of_another_org_or_no_passage_at_all_is_404(library: AsyncTestClient[Any]) -> None:
    track = await ask(library, ADA, persona="cmo")
    chunk_id = track["features"][0]["points"][0]["citation"]["chunk_id"]
    for headers, wanted in ((GLOBEX, chunk_id), (ADA, str(uuid.uuid4())), (ADA, "not-a-chunk-id")):
        response = await library.get(f"/pitch/v1/passages/{wanted}", headers=headers)
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["code"] == "passage_not_found" and error["message"]
        assert "Lumora" not in response.text  # nothing of the other org's material leaks into the message


async def test_a_passage_of_a_deleted_document_is_404(library: AsyncTestClient[Any]) -> None:
    posted = await library.post(
        "/ingest/v1/documents",
        json={
            "external_id": "short-lived",
            "kind": "feature",
            "title": "Short-lived feature",
            "content": "## What it does\n\nShort-lived exports every dashboard to a spreadsheet each night.",
        },
        headers=token("acme"),
    )
    assert (await wait_job(library, posted.json()["job_id"]))["status"] == "succeeded"
    document_id = posted.json()["document_id"]
    chunk_id = ctx_of(library).store.scroll(PointFilter(org_id="acme", document_id=document_id))[0].id
    assert (await library.get(f"/pitch/v1/passages/{chunk_id}", headers=ADA)).status_code == 200
    deleted = await library.delete(f"/ingest/v1/documents/{document_id}", headers=token("acme"))
    assert deleted.status_code in (200, 202, 204), deleted.text
    gone = await library.get(f"/pitch/v1/passages/{chunk_id}", headers=ADA)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "passage_not_found"
