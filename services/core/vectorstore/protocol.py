"""The vector store contract. Two implementations (Qdrant Edge in process, qdrant-client against a
server) are held to one contract test suite (`tests/integration/test_vectorstore_contract.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

DENSE = "dense"
SPARSE = "bm25"
DENSE_SIZE = 384

# Payload fields with an index: (name, type). org_id is the tenant key.
KEYWORD_FIELDS = (
    "org_id",
    "document_id",
    "external_id",
    "kind",
    "product",
    "competitor",
    "tags",
    "text_hash",
)
INTEGER_FIELDS = ("version", "ordinal")
DATETIME_FIELDS = ("expires_at", "as_of")
BOOL_FIELDS = ("verified",)

_POINT_NAMESPACE = uuid.UUID("6f3c5d1e-8a0b-4c7e-9f12-3b4a5c6d7e8f")


def point_id(document_id: str, version: int, ordinal: int) -> str:
    """Deterministic, so a replayed upsert overwrites instead of duplicating."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{document_id}:{version}:{ordinal}"))


@dataclass(frozen=True, slots=True)
class SparseVec:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True, slots=True)
class ChunkPoint:
    id: str
    dense: list[float]
    sparse: SparseVec
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredPoint:
    id: str
    payload: dict[str, Any]
    dense: list[float] | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: str
    score: float
    payload: dict[str, Any]
    dense: list[float] | None = None


@dataclass(frozen=True, slots=True)
class PointFilter:
    """Conditions ANDed together; `org_id` is mandatory so no query can cross tenants."""

    org_id: str
    # Point ids (deterministic uuids, see `point_id`): a cited chunk read back by its id, still within the org.
    ids: Sequence[str] | None = None
    document_id: str | None = None
    document_ids: Sequence[str] | None = None
    version: int | None = None
    version_below: int | None = None
    ordinal_from: int | None = None
    kinds: Sequence[str] | None = None
    competitor: str | None = None
    # Drop points whose expires_at is at or before this instant (points without one are kept).
    live_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.org_id:
            raise ValueError("PointFilter needs an org_id")


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    DENSE = "dense"
    SPARSE = "sparse"


@dataclass(frozen=True, slots=True)
class SearchRequest:
    filter: PointFilter
    dense: Sequence[float] | None = None
    sparse: SparseVec | None = None
    limit: int = 20
    mode: SearchMode = SearchMode.HYBRID
    # Candidates each branch contributes before fusion.
    prefetch_limit: int = 50
    rrf_k: int = 60
    with_payload: bool = True
    with_dense: bool = False


class VectorStore(Protocol):
    """Points of the `chunks` collection. Every call is synchronous and thread-safe; writes are durable
    when they return (Edge: written to its WAL; server: `wait=True`)."""

    def ensure_collection(self) -> None:
        """Create the collection and its payload indexes if missing; idempotent."""

    def upsert(self, points: Sequence[ChunkPoint]) -> None: ...

    def delete(self, flt: PointFilter) -> None: ...

    def set_payload(self, flt: PointFilter, payload: dict[str, Any]) -> None:
        """Merge `payload` into every matching point."""

    def scroll(self, flt: PointFilter, *, with_dense: bool = False, limit: int = 10_000) -> list[StoredPoint]:
        """Every matching point (up to `limit`), in id order."""

    def count(self, flt: PointFilter) -> int: ...

    def search(self, request: SearchRequest) -> list[SearchHit]: ...

    def search_batch(self, requests: Sequence[SearchRequest]) -> list[list[SearchHit]]: ...

    def optimize(self) -> None:
        """Build search indexes now (Edge only builds them when asked; a server does it by itself)."""

    def ping(self) -> None:
        """Raise if the store cannot serve."""

    def close(self) -> None: ...
