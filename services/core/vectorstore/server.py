"""qdrant-client against a Qdrant server (distributed mode, `QDRANT_URL`).

The same class runs on qdrant-client's local mode (`location=":memory:"` or a path) in the contract
tests, as the stand-in for the server's API where no server runs. Local mode is not for real use: it
evaluates filters in Python, ignores payload indexes and loses points under concurrent writers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import QdrantClient, models

from services.core.vectorstore.protocol import (
    BOOL_FIELDS,
    DATETIME_FIELDS,
    DENSE,
    DENSE_SIZE,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    SPARSE,
    ChunkPoint,
    PointFilter,
    SearchHit,
    SearchMode,
    SearchRequest,
    StoredPoint,
)


def to_client_filter(flt: PointFilter) -> models.Filter:
    must: list[Any] = [models.FieldCondition(key="org_id", match=models.MatchValue(value=flt.org_id))]
    if flt.ids is not None:
        must.append(models.HasIdCondition(has_id=list(flt.ids)))
    if flt.document_id is not None:
        must.append(models.FieldCondition(key="document_id", match=models.MatchValue(value=flt.document_id)))
    if flt.document_ids is not None:
        must.append(models.FieldCondition(key="document_id", match=models.MatchAny(any=list(flt.document_ids))))
    if flt.version is not None:
        must.append(models.FieldCondition(key="version", match=models.MatchValue(value=flt.version)))
    if flt.version_below is not None:
        must.append(models.FieldCondition(key="version", range=models.Range(lt=flt.version_below)))
    if flt.ordinal_from is not None:
        must.append(models.FieldCondition(key="ordinal", range=models.Range(gte=flt.ordinal_from)))
    if flt.kinds:
        must.append(models.FieldCondition(key="kind", match=models.MatchAny(any=list(flt.kinds))))
    if flt.competitor is not None:
        must.append(models.FieldCondition(key="competitor", match=models.MatchValue(value=flt.competitor)))
    if flt.live_at is not None:
        must.append(
            models.Filter(
                should=[
                    models.IsEmptyCondition(is_empty=models.PayloadField(key="expires_at")),
                    models.FieldCondition(key="expires_at", range=models.DatetimeRange(gt=flt.live_at)),
                ]
            )
        )
    return models.Filter(must=must)


class QdrantServerStore:
    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        location: str | None = None,
        path: str | None = None,
        collection: str = "chunks",
    ) -> None:
        if url is not None:
            # REST, not gRPC: gRPC channels do not survive Celery's prefork.
            self._client = QdrantClient(url=url, api_key=api_key, prefer_grpc=False, timeout=30)
        elif path is not None:
            self._client = QdrantClient(path=path)
        else:
            self._client = QdrantClient(location=location or ":memory:")
        self._local = url is None
        self.collection = collection
        self.ensure_collection()

    def ensure_collection(self) -> None:
        if not self._client.collection_exists(self.collection):
            self._client.create_collection(
                self.collection,
                vectors_config={DENSE: models.VectorParams(size=DENSE_SIZE, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
        indexes: list[tuple[str, Any]] = [
            ("org_id", models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True))
        ]
        indexes += [(n, models.PayloadSchemaType.KEYWORD) for n in KEYWORD_FIELDS if n != "org_id"]
        indexes += [(n, models.PayloadSchemaType.INTEGER) for n in INTEGER_FIELDS]
        indexes += [(n, models.PayloadSchemaType.DATETIME) for n in DATETIME_FIELDS]
        indexes += [(n, models.PayloadSchemaType.BOOL) for n in BOOL_FIELDS]
        if self._local:
            return  # local mode ignores payload indexes (and warns on each); the server builds them
        existing = self._client.get_collection(self.collection).payload_schema or {}
        for name, schema in indexes:
            if name not in existing:
                self._client.create_payload_index(self.collection, name, field_schema=schema, wait=True)

    def upsert(self, points: Sequence[ChunkPoint]) -> None:
        if not points:
            return
        self._client.upsert(
            self.collection,
            points=[
                models.PointStruct(
                    id=p.id,
                    vector={
                        DENSE: list(p.dense),
                        SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                    },
                    payload=p.payload,
                )
                for p in points
            ],
            wait=True,
        )

    def delete(self, flt: PointFilter) -> None:
        self._client.delete(
            self.collection, points_selector=models.FilterSelector(filter=to_client_filter(flt)), wait=True
        )

    def set_payload(self, flt: PointFilter, payload: dict[str, Any]) -> None:
        self._client.set_payload(
            self.collection,
            payload=payload,
            points=models.FilterSelector(filter=to_client_filter(flt)),
            wait=True,
        )

    def scroll(self, flt: PointFilter, *, with_dense: bool = False, limit: int = 10_000) -> list[StoredPoint]:
        out: list[StoredPoint] = []
        offset: Any = None
        while len(out) < limit:
            records, offset = self._client.scroll(
                self.collection,
                scroll_filter=to_client_filter(flt),
                limit=min(1000, limit - len(out)),
                offset=offset,
                with_payload=True,
                with_vectors=[DENSE] if with_dense else False,
            )
            for r in records:
                dense = None
                if with_dense and isinstance(r.vector, dict):
                    dense = [float(x) for x in r.vector[DENSE]]  # type: ignore[union-attr,arg-type]
                out.append(StoredPoint(id=str(r.id), payload=dict(r.payload or {}), dense=dense))
            if offset is None:
                break
        return out

    def count(self, flt: PointFilter) -> int:
        return int(self._client.count(self.collection, count_filter=to_client_filter(flt), exact=True).count)

    def _query_args(self, req: SearchRequest) -> dict[str, Any] | None:
        flt = to_client_filter(req.filter)
        dense = list(req.dense) if req.dense is not None and req.mode is not SearchMode.SPARSE else None
        sparse = (
            models.SparseVector(indices=req.sparse.indices, values=req.sparse.values)
            if req.sparse is not None and req.sparse.indices and req.mode is not SearchMode.DENSE
            else None
        )
        if dense is not None and sparse is not None:
            return {
                "prefetch": [
                    models.Prefetch(query=dense, using=DENSE, limit=req.prefetch_limit, filter=flt),
                    models.Prefetch(query=sparse, using=SPARSE, limit=req.prefetch_limit, filter=flt),
                ],
                "query": models.RrfQuery(rrf=models.Rrf(k=req.rrf_k)),
                "limit": req.limit,
                "with_payload": req.with_payload,
                "with_vectors": [DENSE] if req.with_dense else False,
            }
        if dense is None and sparse is None:
            return None
        return {
            "query": dense if dense is not None else sparse,
            "using": DENSE if dense is not None else SPARSE,
            "query_filter": flt,
            "limit": req.limit,
            "with_payload": req.with_payload,
            "with_vectors": [DENSE] if req.with_dense else False,
        }

    def search(self, request: SearchRequest) -> list[SearchHit]:
        args = self._query_args(request)
        if args is None:
            return []
        result = self._client.query_points(self.collection, **args)
        hits = []
        for p in result.points:
            dense = None
            if isinstance(p.vector, dict) and DENSE in p.vector:
                dense = [float(x) for x in p.vector[DENSE]]  # type: ignore[union-attr,arg-type]
            hits.append(SearchHit(str(p.id), float(p.score), dict(p.payload or {}), dense))
        return hits

    def search_batch(self, requests: Sequence[SearchRequest]) -> list[list[SearchHit]]:
        return [self.search(r) for r in requests]

    def optimize(self) -> None:
        return None  # the server's optimizer runs on its own

    def ping(self) -> None:
        self._client.get_collection(self.collection)

    def close(self) -> None:
        self._client.close()
