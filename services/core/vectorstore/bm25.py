"""One BM25 encoder for both store implementations, so sparse vectors are identical in both modes.

Qdrant Edge's own `Bm25` (English stop words and stemming) encodes term frequencies; the collection's
IDF modifier supplies inverse document frequency at query time, in Edge and in the server alike.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from qdrant_edge import Bm25, Bm25Config

from services.core.vectorstore.protocol import SparseVec

# Our chunks average ~120 words; BM25's length normalisation should centre on that, not the default 256.
AVG_CHUNK_WORDS = 120.0


class Bm25Encoder:
    def __init__(self) -> None:
        self._model = Bm25(Bm25Config(language="english", avg_len=AVG_CHUNK_WORDS))
        self._lock = threading.Lock()

    def document(self, text: str) -> SparseVec:
        with self._lock:
            vec = self._model.embed_document(text)
        return SparseVec(list(vec.indices), list(vec.values))

    def query(self, text: str) -> SparseVec:
        with self._lock:
            vec = self._model.embed_query(text)
        return SparseVec(list(vec.indices), list(vec.values))


@lru_cache(maxsize=1)
def bm25_encoder() -> Bm25Encoder:
    return Bm25Encoder()
