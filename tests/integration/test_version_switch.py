"""While a new version is indexed, a search sees exactly one version of the document: never both, never none."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.retrieval import live_search
from services.core.vectorstore import PointFilter, SearchRequest
from services.core.vectorstore.bm25 import bm25_encoder
from tests.conftest import token
from tests.integration.conftest import ctx_of, wait_job

pytestmark = pytest.mark.integration
QUERY = "ledger reconciliation engine"


def _doc(version_word: str, sections: int) -> dict[str, Any]:
    body = "\n\n".join(
        f"## Part {i}\n\nThe ledger reconciliation engine ({version_word}) matches invoice {i} against payment {i}. "
        f"It flags a mismatch on line {i} within {i % 9 + 1} seconds and writes the result to the audit trail."
        for i in range(sections)
    )
    return {"external_id": "ledger", "kind": "feature", "title": "Ledger reconciliation", "content": body}


async def test_search_never_sees_both_versions_or_neither(client: AsyncTestClient[Any], embedder: Any) -> None:
    headers = token("acme", "engineer")
    first = await client.post("/ingest/v1/documents", json=_doc("classic", 6), headers=headers)
    await wait_job(client, first.json()["job_id"])
    doc_id = first.json()["document_id"]
    ctx = ctx_of(client)
    request = SearchRequest(
        filter=PointFilter(org_id="acme", document_id=doc_id),
        dense=embedder.embed([QUERY])[0].tolist(),
        sparse=bm25_encoder().query(QUERY),
        limit=100,
        prefetch_limit=200,
    )
    # Every chunk of v2 differs from v1, so all of it is embedded: a window of a few seconds.
    second = await client.post("/ingest/v1/documents", json=_doc("streaming", 60), headers=headers)
    job_id = second.json()["job_id"]
    seen: list[frozenset[int]] = []
    while True:
        hits = (await live_search(ctx.store, ctx.sessions, [request]))[0]
        seen.append(frozenset(h.payload["version"] for h in hits))
        status = (await client.get(f"/ingest/v1/jobs/{job_id}", headers=headers)).json()["status"]
        if status in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.02)
    assert status == "succeeded"
    final = (await live_search(ctx.store, ctx.sessions, [request]))[0]
    seen.append(frozenset(h.payload["version"] for h in final))
    assert all(len(versions) == 1 for versions in seen), [sorted(v) for v in seen if len(v) != 1][:3]
    assert seen[0] == {1} and seen[-1] == {2}
    assert len(seen) > 3  # the loop really observed the switch in progress
