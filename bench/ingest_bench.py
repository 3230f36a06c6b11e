"""Ingest beside the script a user would write instead, and beside the raw model, on the same documents.

Pipeline: HTTP batch POST (in-process ASGI) -> parse -> SQL versions and job -> Celery (Redis when reachable,
else the in-memory broker) -> worker thread -> chunk -> embed -> BM25 -> Edge upsert -> version switch.
Naive script: each document split into 180-word windows, `SentenceTransformer.encode` of all windows (batch 32,
normalised), one upsert into a Qdrant Edge shard (dense only; the engine a server would run).
Raw: the pipeline's encoder (PITCHCRAFT_ENCODER) on exactly the texts the pipeline embeds, one call: the chunk
texts and, with sentence vectors on (PITCHCRAFT_SENTENCE_VECTORS, the default), each group's distinct sentences
(groups of EMBED_GROUP chunks, longest first, as the pipeline cuts them).
Run order raw, naive, pipeline, naive, raw; each figure uses the mean of its two runs. Then a one-section edit of
a 20-section document (re-embedded chunks and time against a full embed of that document), and the padding
the pipeline's length-sorted passes leave against passes in document order.

    make bench            (or: .venv/bin/python bench/ingest_bench.py --copies 11)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PITCHCRAFT_LOG_LEVEL", "WARNING")

from services.core.embeddings import create_embedder, get_embedder
from services.core.settings import Settings
from services.core.tokens import SPECIAL_TOKENS, token_counter
from services.ingest.chunking import Chunker
from services.ingest.parsing import parse_content
from services.ingest.pipeline import EMBED_GROUP, model_texts

DEMO = Path(__file__).resolve().parents[1] / "demo"


def corpus(copies: int) -> list[dict[str, Any]]:
    """The demo documents, `copies` times; each copy's title differs, so every embedded text is unique."""
    docs = []
    for path in sorted(DEMO.rglob("*.md")):
        if path.name == "README.md":
            continue
        parsed = parse_content(path.read_text(), content_type="markdown", filename=path.name, max_chars=10**6)
        meta = parsed.front_matter
        for k in range(copies):
            docs.append(
                {
                    "external_id": f"{meta['external_id']}-copy{k}",
                    "kind": meta["kind"],
                    "title": f"{meta['title']} (copy {k})",
                    "content": parsed.text,
                }
            )
    return docs


WINDOW_WORDS = 180


def raw_encode(texts: list[str], batch_size: int) -> float:
    """The pipeline's encoder alone: sentence-transformers' own encode for fp32, the int8 session for int8."""
    embedder = get_embedder()
    model = getattr(embedder, "_model", None)
    started = time.perf_counter()
    if model is not None:
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    else:
        embedder.embed(texts, batch_size=batch_size)
    return time.perf_counter() - started


def naive_script(docs: list[dict[str, Any]], model: Any, path: Path) -> tuple[float, int]:
    """What a user writes instead: fixed 180-word windows, one encode of them all, one upsert."""
    import qdrant_edge as qe

    started = time.perf_counter()
    windows, owners = [], []
    for doc in docs:
        words = doc["content"].split()
        for start in range(0, len(words), WINDOW_WORDS):
            windows.append(" ".join(words[start : start + WINDOW_WORDS]))
            owners.append(doc["external_id"])
    vectors = model.encode(windows, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    shard = qe.EdgeShard.create(
        str(path), qe.EdgeConfig(vectors={"dense": qe.EdgeVectorParams(size=384, distance=qe.Distance.Cosine)})
    )
    points = [
        qe.Point(i, {"dense": vec.tolist()}, {"document": owner, "text": text})
        for i, (vec, owner, text) in enumerate(zip(vectors, owners, windows, strict=True))
    ]
    shard.update(qe.UpdateOperation.upsert_points(points))
    elapsed = time.perf_counter() - started
    shard.close()
    return elapsed, len(windows)


def padding_share(tokens: list[int], batch: int) -> float:
    """Padded positions over all positions when `tokens` (word pieces per text, in pass order) run in passes of
    `batch`, each padded to its longest text."""
    padded = sum(max(tokens[i : i + batch]) * len(tokens[i : i + batch]) for i in range(0, len(tokens), batch))
    return 1 - sum(tokens) / padded


def pipeline_order(tokens: list[int]) -> list[int]:
    """The passes the pipeline runs: the job's chunks longest first in groups of EMBED_GROUP (pipeline.py);
    the encoder sorts each group by length again."""
    ordered = sorted(tokens, reverse=True)
    return [
        t
        for start in range(0, len(ordered), EMBED_GROUP)
        for t in sorted(ordered[start : start + EMBED_GROUP], reverse=True)
    ]


def twenty_sections(edited: bool) -> dict[str, Any]:
    """A 20-section document built from the demo material; `edited` rewrites one section's text."""
    paragraphs = []
    for path in sorted(DEMO.rglob("*.md")):
        if path.name == "README.md":
            continue
        text = parse_content(path.read_text(), content_type="markdown", filename=path.name, max_chars=10**6).text
        for block in text.split("\n\n"):
            prose = " ".join(line for line in block.splitlines() if not line.lstrip().startswith("#"))
            if len(prose.split()) > 40:
                paragraphs.append(prose)
    sections = []
    for k in range(20):
        body = "\n\n".join(paragraphs[3 * k : 3 * k + 3])
        if edited and k == 7:
            body = "Changed this quarter: the limit was raised and the admin screen moved. " + body
        sections.append(f"## Section {k + 1}\n\n{body}")
    return {
        "external_id": "bench-twenty-sections",
        "kind": "feature",
        "title": "Twenty sections",
        "content": "\n\n".join(sections),
    }


def _redis_url() -> str | None:
    if url := os.environ.get("REDIS_URL"):
        return url
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return None
    return "redis://127.0.0.1:6379/0"


async def pipeline(docs: list[dict[str, Any]], data_dir: Path) -> dict[str, Any]:
    from litestar.testing import AsyncTestClient

    from services.core.auth import issue_token
    from services.main import create_app

    os.environ.update(
        {
            "PITCHCRAFT_DATA_DIR": str(data_dir),
            "PITCHCRAFT_JWT_SECRET": "bench-" + "x" * 40,
            "PITCHCRAFT_MAX_BATCH_DOCUMENTS": "1000",
            "PITCHCRAFT_MAX_BODY_BYTES": str(50 * 1024 * 1024),
            "PITCHCRAFT_QUEUE_PREFIX": f"bench-{os.getpid()}:",
        }
    )
    redis = _redis_url()
    if redis:
        os.environ["REDIS_URL"] = redis
    settings = Settings()
    headers = {
        "Authorization": "Bearer " + issue_token(settings.jwt_secret(), sub="bench", org="bench", roles=["engineer"])
    }
    async with AsyncTestClient(app=create_app(settings), timeout=600) as client:

        async def ingest(batch: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
            started = time.perf_counter()
            response = await client.post("/ingest/v1/documents/batch", json={"documents": batch}, headers=headers)
            response.raise_for_status()
            job_id = response.json()["job_id"]
            while True:
                job = (await client.get(f"/ingest/v1/jobs/{job_id}", headers=headers)).json()
                if job["status"] in ("succeeded", "failed"):
                    break
                await asyncio.sleep(0.1)  # a client checking ten times a second; adds at most 0.1 s
            if job["status"] != "succeeded":
                raise SystemExit(f"ingest job failed: {job['error']}")
            return time.perf_counter() - started, job

        elapsed, job = await ingest(docs)
        full_s, full = await ingest([twenty_sections(edited=False)])
        edit_s, edit = await ingest([twenty_sections(edited=True)])
    return {
        "elapsed": elapsed,
        "job": job,
        "broker": "redis" if redis else "memory",
        "edit": {
            "chunks": edit["progress"]["total"],
            "re_embedded": edit["progress"]["total"] - edit["reused_embeddings"],
            "chunk_ratio": round(
                (edit["progress"]["total"] - edit["reused_embeddings"]) / full["progress"]["total"], 3
            ),
            "full_s": round(full_s, 2),
            "edit_s": round(edit_s, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=11, help="copies of the demo corpus (11 -> 341 documents)")
    args = parser.parse_args()
    settings = Settings()
    docs = corpus(args.copies)
    chunker = Chunker(
        token_counter(), max_tokens=settings.ingest.chunk_tokens, overlap_tokens=settings.ingest.chunk_overlap_tokens
    )
    chunks = [c for d in docs for c in chunker.chunk(d["content"], d["title"])]
    texts = [c.embed_text for c in chunks]
    # What the model reads: the chunk's word pieces plus [CLS] and [SEP].
    tokens = [n + SPECIAL_TOKENS for n in token_counter().count_many(texts)]
    read = model_texts(chunks, settings.ingest.sentence_vectors)
    batch = settings.ingest.embed_batch_size
    embedder = get_embedder()
    embedder.embed(["warm up"] * 8)  # load the model outside the timings
    encoder = getattr(embedder, "encoder", "fp32")
    # The naive script always uses sentence-transformers (fp32): it is what a user would write.
    naive_model = embedder._model if encoder == "fp32" else create_embedder("fp32")._model  # type: ignore[attr-defined]
    load = os.getloadavg()[0]
    raw_runs, naive_runs = [raw_encode(read, batch)], []
    with tempfile.TemporaryDirectory() as tmp:
        naive_runs.append(naive_script(docs, naive_model, Path(tmp) / "naive1"))
        run = asyncio.run(pipeline(docs, Path(tmp) / "data"))
        naive_runs.append(naive_script(docs, naive_model, Path(tmp) / "naive2"))
    raw_runs.append(raw_encode(read, batch))
    raw = sum(raw_runs) / 2
    naive = sum(t for t, _ in naive_runs) / 2
    elapsed, job = run["elapsed"], run["job"]
    n = job["progress"]["total"]
    assert n == len(texts), (n, len(texts))
    pipeline_docs, naive_docs = len(docs) / elapsed, len(docs) / naive
    result = {
        "encoder": encoder,
        "documents": len(docs),
        "pipeline_chunks": n,
        "pipeline_mean_tokens": round(sum(tokens) / n, 1),
        "naive_windows": naive_runs[0][1],
        "pipeline_documents_per_s": round(pipeline_docs, 2),
        "pipeline_s": round(elapsed, 2),
        "naive_documents_per_s": round(naive_docs, 2),
        "naive_runs_s": [round(t, 2) for t, _ in naive_runs],
        "pipeline_vs_naive": round(pipeline_docs / naive_docs, 3),
        "target_pipeline_vs_naive": 1.3,
        "sentence_vectors": settings.ingest.sentence_vectors,
        "model_texts": len(read),
        "raw_encode_chunks_per_s": round(len(texts) / raw, 1),
        "raw_runs_s": [round(t, 2) for t in raw_runs],
        "pipeline_chunks_per_s": round(n / elapsed, 1),
        "pipeline_vs_raw_encode": round((n / elapsed) / (len(texts) / raw), 3),
        "target_pipeline_vs_raw_encode": 0.95,
        "padding_share_pipeline_order": round(padding_share(pipeline_order(tokens), batch), 3),
        "padding_share_document_order": round(padding_share(tokens, batch), 3),
        "one_section_edit": run["edit"],
        "broker": run["broker"],
        "threads": os.cpu_count(),
        "load_1min_start_end": [round(load, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
