"""One contract, every implementation: Qdrant Edge (embedded default), qdrant-client local mode (the
server API's stand-in here) and a real Qdrant server through testcontainers where Docker runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.core.vectorstore import (
    ChunkPoint,
    PointFilter,
    SearchMode,
    SearchRequest,
    VectorStore,
    point_id,
)
from services.core.vectorstore.bm25 import bm25_encoder
from services.core.vectorstore.edge import EdgeVectorStore
from services.core.vectorstore.server import QdrantServerStore
from tests.services import docker_available

pytestmark = pytest.mark.integration

TEXTS = [
    ("sso", "feature", None, "Single sign-on with SAML 2.0 and SCIM provisioning for every user."),
    ("audit", "feature", None, "The audit log records every admin action and exports to your SIEM."),
    ("roi", "feature", None, "Multi-touch attribution shows which campaigns drive revenue and ROI."),
    ("forecast", "feature", None, "Pipeline forecasting predicts the quarter from deal activity."),
    ("tess", "competitor", "tessellate", "Tessellate lacks customer-managed encryption keys."),
]


@pytest.fixture(params=["edge", "client-local", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    impl: Any
    if request.param == "edge":
        impl = EdgeVectorStore(tmp_path / "edge")
    elif request.param == "client-local":
        impl = QdrantServerStore(location=":memory:")
    else:
        ok, reason = docker_available()
        if not ok:
            pytest.skip(reason)
        from testcontainers.qdrant import QdrantContainer

        container = QdrantContainer("qdrant/qdrant:v1.15.4")
        container.start()
        try:
            impl = QdrantServerStore(url=f"http://{container.rest_host_address}")
            yield impl
            impl.close()
        finally:
            container.stop()
        return
    yield impl
    impl.close()


def _points(embedder: Any, org: str, version: int = 1, expires: dict[str, str] | None = None) -> list[ChunkPoint]:
    vectors = embedder.embed([t for *_, t in TEXTS])
    bm25 = bm25_encoder()
    out = []
    for i, ((doc, kind, competitor, text), vec) in enumerate(zip(TEXTS, vectors, strict=True)):
        out.append(
            ChunkPoint(
                id=point_id(f"{org}-{doc}", version, 0),
                dense=vec.tolist(),
                sparse=bm25.document(text),
                payload={
                    "org_id": org,
                    "document_id": f"{org}-{doc}",
                    "version": version,
                    "ordinal": i,
                    "kind": kind,
                    "competitor": competitor,
                    "text": text,
                    "text_hash": str(i),
                    "expires_at": (expires or {}).get(doc),
                    "verified": False,
                },
            )
        )
    return out


def _query(embedder: Any, org: str, text: str, mode: SearchMode = SearchMode.HYBRID, **flt: Any) -> SearchRequest:
    return SearchRequest(
        filter=PointFilter(org_id=org, **flt),
        dense=embedder.embed([text])[0].tolist(),
        sparse=bm25_encoder().query(text),
        limit=3,
        mode=mode,
    )


@pytest.mark.parametrize("mode", list(SearchMode))
def test_search_finds_the_relevant_point_in_every_mode(store: VectorStore, embedder: Any, mode: SearchMode) -> None:
    store.upsert(_points(embedder, "acme"))
    hits = store.search(_query(embedder, "acme", "SAML single sign-on SCIM", mode))
    assert hits and hits[0].payload["document_id"] == "acme-sso"
    assert hits[0].score >= hits[-1].score


def test_no_query_crosses_tenants(store: VectorStore, embedder: Any) -> None:
    store.upsert(_points(embedder, "acme"))
    store.upsert(_points(embedder, "globex"))
    hits = store.search(_query(embedder, "globex", "audit log SIEM"))
    assert hits and {h.payload["org_id"] for h in hits} == {"globex"}
    assert store.count(PointFilter(org_id="acme")) == len(TEXTS)
    assert store.count(PointFilter(org_id="nobody")) == 0
    store.delete(PointFilter(org_id="acme"))
    assert store.count(PointFilter(org_id="globex")) == len(TEXTS)


def test_replayed_upsert_overwrites_instead_of_duplicating(store: VectorStore, embedder: Any) -> None:
    points = _points(embedder, "acme")
    store.upsert(points)
    store.upsert(points)
    assert store.count(PointFilter(org_id="acme")) == len(TEXTS)


def test_filters_by_kind_competitor_document_and_version(store: VectorStore, embedder: Any) -> None:
    store.upsert(_points(embedder, "acme", version=1))
    store.upsert(_points(embedder, "acme", version=2))
    assert store.count(PointFilter(org_id="acme", kinds=["competitor"])) == 2
    assert store.count(PointFilter(org_id="acme", competitor="tessellate", version=2)) == 1
    assert store.count(PointFilter(org_id="acme", document_id="acme-sso")) == 2
    assert store.count(PointFilter(org_id="acme", document_ids=["acme-sso", "acme-roi"], version=1)) == 2
    store.delete(PointFilter(org_id="acme", version_below=2))
    remaining = store.scroll(PointFilter(org_id="acme"))
    assert len(remaining) == len(TEXTS) and {p.payload["version"] for p in remaining} == {2}


def test_expired_points_are_filtered_out(store: VectorStore, embedder: Any) -> None:
    now = datetime.now(UTC)
    expires = {"sso": (now - timedelta(days=1)).isoformat(), "audit": (now + timedelta(days=30)).isoformat()}
    store.upsert(_points(embedder, "acme", expires=expires))
    live = {p.payload["document_id"] for p in store.scroll(PointFilter(org_id="acme", live_at=now))}
    assert "acme-sso" not in live and "acme-audit" in live and "acme-roi" in live
    hits = store.search(_query(embedder, "acme", "SAML single sign-on", live_at=now))
    assert all(h.payload["document_id"] != "acme-sso" for h in hits)


def test_scroll_returns_dense_vectors_for_reuse(store: VectorStore, embedder: Any) -> None:
    points = _points(embedder, "acme")
    store.upsert(points)
    stored = {p.id: p for p in store.scroll(PointFilter(org_id="acme"), with_dense=True)}
    for point in points:
        assert np.allclose(stored[point.id].dense, point.dense, atol=1e-5)


def test_set_payload_merges_into_matching_points(store: VectorStore, embedder: Any) -> None:
    store.upsert(_points(embedder, "acme"))
    store.set_payload(PointFilter(org_id="acme", document_id="acme-sso"), {"verified": True})
    flags = {p.payload["document_id"]: p.payload["verified"] for p in store.scroll(PointFilter(org_id="acme"))}
    assert flags["acme-sso"] is True and flags["acme-audit"] is False
    assert all(p.payload["text"] for p in store.scroll(PointFilter(org_id="acme")))


def test_points_are_read_back_by_id_within_their_org_only(store: VectorStore, embedder: Any) -> None:
    store.upsert(_points(embedder, "acme"))
    store.upsert(_points(embedder, "globex"))
    sso, audit = point_id("acme-sso", 1, 0), point_id("acme-audit", 1, 0)
    found = store.scroll(PointFilter(org_id="acme", ids=[sso]))
    assert [(p.id, p.payload["document_id"]) for p in found] == [(sso, "acme-sso")]
    assert {p.id for p in store.scroll(PointFilter(org_id="acme", ids=[sso, audit]))} == {sso, audit}
    assert store.scroll(PointFilter(org_id="globex", ids=[sso])) == []  # another org's id: nothing
    assert store.scroll(PointFilter(org_id="acme", ids=[point_id("acme-sso", 9, 0)])) == []  # never stored
    assert store.count(PointFilter(org_id="acme", ids=[sso], version=2)) == 0  # ANDed with the other conditions


def test_a_stop_word_query_in_sparse_mode_returns_nothing(store: VectorStore, embedder: Any) -> None:
    store.upsert(_points(embedder, "acme"))
    request = SearchRequest(
        filter=PointFilter(org_id="acme"), sparse=bm25_encoder().query("the and of"), mode=SearchMode.SPARSE
    )
    assert store.search(request) == []


def test_edge_survives_reopen(tmp_path: Path, embedder: Any) -> None:
    first = EdgeVectorStore(tmp_path / "edge")
    first.upsert(_points(embedder, "acme"))
    first.close()
    again = EdgeVectorStore(tmp_path / "edge")
    try:
        assert again.count(PointFilter(org_id="acme")) == len(TEXTS)
    finally:
        again.close()


def test_edge_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path / "edge")
    rng = np.random.default_rng(7)
    bm25 = bm25_encoder()

    def write(worker: int) -> None:
        for batch in range(10):
            store.upsert(
                [
                    ChunkPoint(
                        id=point_id(f"d{worker}", batch, i),
                        dense=(v / np.linalg.norm(v)).tolist(),
                        sparse=bm25.document(f"worker {worker} batch {batch}"),
                        payload={"org_id": "acme", "document_id": f"d{worker}", "version": batch},
                    )
                    for i, v in enumerate(rng.standard_normal((20, 384)))
                ]
            )

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert store.count(PointFilter(org_id="acme")) == 4 * 10 * 20
    finally:
        store.close()


def test_search_can_return_dense_vectors_and_batches_keep_order(store: VectorStore, embedder: Any) -> None:
    points = {p.id: p for p in _points(embedder, "acme")}
    store.upsert(list(points.values()))
    first = _query(embedder, "acme", "audit log SIEM")
    second = _query(embedder, "acme", "campaign revenue attribution")
    stop_words = SearchRequest(
        filter=PointFilter(org_id="acme"), sparse=bm25_encoder().query("the"), mode=SearchMode.SPARSE
    )
    with_vectors = SearchRequest(**{**{f: getattr(first, f) for f in first.__dataclass_fields__}, "with_dense": True})
    a, b, empty, c = store.search_batch([first, second, stop_words, with_vectors])
    assert a[0].payload["document_id"] == "acme-audit" and b[0].payload["document_id"] == "acme-roi"
    assert empty == [] and a[0].dense is None
    assert c[0].dense is not None and np.allclose(c[0].dense, points[c[0].id].dense, atol=1e-5)
