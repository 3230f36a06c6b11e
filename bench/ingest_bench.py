"""Ingest throughput: chunks/s through the full ingest path beside the raw model's encode of the same chunks.

Full path: HTTP batch POST (in-process ASGI) -> parse -> SQL versions and job -> Celery (Redis when reachable,
else the in-memory broker) -> worker thread -> chunk -> embed -> BM25 -> Edge upsert -> version switch.
Raw: `SentenceTransformer.encode` of exactly the chunk texts the pipeline embeds, same batch size.
Run order raw, pipeline, raw; the ratio uses the mean of the two raw runs.

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

from services.core.embeddings import get_embedder
from services.core.settings import Settings
from services.core.tokens import token_counter
from services.ingest.chunking import Chunker
from services.ingest.parsing import parse_content

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


def raw_encode(texts: list[str], batch_size: int) -> float:
    model = get_embedder()._model  # type: ignore[attr-defined]
    started = time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return time.perf_counter() - started


def _redis_url() -> str | None:
    if url := os.environ.get("REDIS_URL"):
        return url
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return None
    return "redis://127.0.0.1:6379/0"


async def pipeline(docs: list[dict[str, Any]], data_dir: Path) -> tuple[float, dict[str, Any]]:
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
        started = time.perf_counter()
        response = await client.post("/ingest/v1/documents/batch", json={"documents": docs}, headers=headers)
        response.raise_for_status()
        job_id = response.json()["job_id"]
        while True:
            job = (await client.get(f"/ingest/v1/jobs/{job_id}", headers=headers)).json()
            if job["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.5)  # a client checking twice a second; adds at most 0.5 s
        elapsed = time.perf_counter() - started
    if job["status"] != "succeeded":
        raise SystemExit(f"ingest job failed: {job['error']}")
    return elapsed, {"broker": "redis" if redis else "memory", **job}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=11, help="copies of the demo corpus (11 -> ~2,000 chunks)")
    args = parser.parse_args()
    settings = Settings()
    docs = corpus(args.copies)
    chunker = Chunker(
        token_counter(), max_tokens=settings.ingest.chunk_tokens, overlap_tokens=settings.ingest.chunk_overlap_tokens
    )
    texts = [c.embed_text for d in docs for c in chunker.chunk(d["content"], d["title"])]
    tokens = sum(c.tokens for d in docs for c in chunker.chunk(d["content"], d["title"]))
    batch = settings.ingest.embed_batch_size
    get_embedder().embed(["warm up"])  # load the model outside the timings
    raw_first = raw_encode(texts, batch)
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, job = asyncio.run(pipeline(docs, Path(tmp)))
    raw_second = raw_encode(texts, batch)
    raw = (raw_first + raw_second) / 2
    n = job["progress"]["total"]
    assert n == len(texts), (n, len(texts))
    result = {
        "documents": len(docs),
        "chunks": n,
        "mean_tokens_per_chunk": round(tokens / n, 1),
        "raw_encode_chunks_per_s": round(len(texts) / raw, 1),
        "raw_runs_s": [round(raw_first, 2), round(raw_second, 2)],
        "pipeline_chunks_per_s": round(n / elapsed, 1),
        "pipeline_s": round(elapsed, 2),
        "ratio": round((n / elapsed) / (len(texts) / raw), 3),
        "target_ratio": 0.9,
        "broker": job["broker"],
        "threads": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
