"""Vector store: one protocol, two implementations, chosen by configuration."""

from __future__ import annotations

import threading

from services.core.settings import Settings
from services.core.vectorstore.protocol import (
    ChunkPoint,
    PointFilter,
    SearchHit,
    SearchMode,
    SearchRequest,
    SparseVec,
    StoredPoint,
    VectorStore,
    point_id,
)

__all__ = [
    "ChunkPoint",
    "PointFilter",
    "SearchHit",
    "SearchMode",
    "SearchRequest",
    "SparseVec",
    "StoredPoint",
    "VectorStore",
    "close_stores",
    "open_store",
    "point_id",
]

_stores: dict[str, VectorStore] = {}
_lock = threading.Lock()


def open_store(settings: Settings) -> VectorStore:
    """The process's store for these settings, opened once and shared (an Edge shard admits one opener)."""
    if settings.stores.qdrant_url:
        key = f"server:{settings.stores.qdrant_url}/{settings.stores.collection}"
    else:
        key = f"edge:{settings.edge_path.resolve()}"
    with _lock:
        store = _stores.get(key)
        if store is None:
            if settings.stores.qdrant_url:
                from services.core.vectorstore.server import QdrantServerStore

                api_key = settings.stores.qdrant_api_key
                store = QdrantServerStore(
                    url=settings.stores.qdrant_url,
                    api_key=api_key.get_secret_value() if api_key else None,
                    collection=settings.stores.collection,
                )
            else:
                from services.core.vectorstore.edge import EdgeVectorStore

                store = EdgeVectorStore(settings.edge_path)
            _stores[key] = store
        return store


def close_stores() -> None:
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
