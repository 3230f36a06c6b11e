"""Talk-track latency and throughput over a library of at least 10,000 chunks, embedded mode, real server.

The library: the demo corpus ingested through the real pipeline, plus filler documents in the same org made
from the demo chunks (their vectors with small noise, their BM25 vectors, new document ids and SQL rows), so
every search scans >10,000 chunks without spending minutes embedding copies. Requests cycle through the
evaluation cases; each carries a unique context so its embedding is never cached (the cost of a real
request). Single requests measure latency; then 8 concurrent clients measure throughput.

    make bench            (or: .venv/bin/python bench/pitch_bench.py --chunks 10000)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PITCHCRAFT_LOG_LEVEL", "WARNING")
ORG = "bench"


def build_library(settings: Any, target_chunks: int) -> int:
    from services.cli import DEMO_DIR, ingest_paths
    from services.core.runtime import task_runtime
    from services.core.vectorstore import ChunkPoint, PointFilter, SparseVec, point_id
    from services.ingest.models import Document

    ingest_paths(settings, [str(DEMO_DIR)], org=ORG, sub="bench", kind=None)
    runtime = task_runtime(settings)
    store = runtime.store
    originals = store.scroll(PointFilter(org_id=ORG), with_dense=True, limit=100_000)
    features_per_copy = sum(1 for p in originals if p.payload["kind"] == "feature")
    rng = np.random.default_rng(1)
    # Talk tracks search feature chunks only, so the target counts those.
    total, copy = features_per_copy, 0
    while total < target_chunks:
        copy += 1
        docs: dict[str, str] = {}
        points = []
        for p in originals:
            doc_id = docs.setdefault(str(p.payload["document_id"]), str(uuid.uuid4()))
            vec = np.asarray(p.dense) + rng.normal(0, 0.05, len(p.dense))
            payload = {
                **p.payload,
                "document_id": doc_id,
                "external_id": f"{p.payload['external_id']}-filler{copy}",
                "version": 1,
            }
            points.append(
                ChunkPoint(
                    point_id(doc_id, 1, int(p.payload["ordinal"])),
                    (vec / np.linalg.norm(vec)).tolist(),
                    SparseVec([], []),
                    payload,
                )
            )
        # Same BM25 vector as the chunk it copies: re-encode from its text (the encoder is deterministic).
        from services.core.vectorstore.bm25 import bm25_encoder

        points = [ChunkPoint(c.id, c.dense, bm25_encoder().document(c.payload["text"]), c.payload) for c in points]
        store.upsert(points)

        async def rows(docs: dict[str, str] = docs, copy: int = copy) -> None:
            from services.core.db import transaction, utcnow

            now = utcnow()
            async with transaction(runtime.sessions) as session:
                for original, doc_id in docs.items():
                    session.add(
                        Document(
                            id=doc_id,
                            org_id=ORG,
                            external_id=f"{original}-filler{copy}",
                            kind="feature",
                            title=f"Filler {copy}",
                            tags=[],
                            review_interval_days=365,
                            review_due_at=now.replace(year=now.year + 1),
                            current_version=1,
                            latest_version=1,
                            created_by="bench",
                            as_of=now,
                        )
                    )

        runtime.run(rows())
        total += features_per_copy
    store.optimize()  # what the ingest pipeline does after each job
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def load(
    base: str, token: str, cases: list[dict[str, Any]], requests: int, concurrency: int, run: str
) -> tuple[list[float], float]:
    import httpx

    latencies: list[float] = []
    counter = iter(range(10**9))

    async def client(http: httpx.AsyncClient) -> None:
        while (n := next(counter)) < requests:
            case = cases[n % len(cases)]
            body = {
                "persona": case["persona"],
                "persona_brief": case.get("persona_brief"),
                "context": f"{case.get('context') or ''} ({run} request {n})",  # never a cached embedding
                "segment": case.get("segment"),
                "competitor": case.get("competitor"),
            }
            started = time.perf_counter()
            response = await http.post("/pitch/v1/talk-tracks", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()

    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    from services.core.auth import issue_token
    from services.core.settings import Settings
    from services.core.vectorstore import close_stores

    cases = [json.loads(line) for line in (ROOT / "evals" / "demo" / "cases.jsonl").read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PITCHCRAFT_DATA_DIR"] = tmp
        os.environ["PITCHCRAFT_JWT_SECRET"] = "bench-" + "y" * 40
        os.environ.pop("REDIS_URL", None)
        settings = Settings()
        chunks = build_library(settings, args.chunks)
        close_stores()
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            import httpx

            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/pitch/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            token = issue_token(settings.jwt_secret(), sub="bench", org=ORG, roles=["rep"])
            asyncio.run(load(base, token, cases, 20, 1, "warm-up"))  # model load, persona caches
            single, _ = asyncio.run(load(base, token, cases, args.requests, 1, "single"))
            concurrent, elapsed = asyncio.run(load(base, token, cases, args.requests, 8, "concurrent"))
        finally:
            server.terminate()
            server.wait(timeout=60)
    single.sort()
    pct = lambda q: round(single[min(len(single) - 1, int(q * len(single)))], 1)  # noqa: E731
    print(
        json.dumps(
            {
                "feature_chunks_searched": chunks,
                "single_client": {
                    "requests": len(single),
                    "p50_ms": pct(0.50),
                    "p95_ms": pct(0.95),
                    "p99_ms": pct(0.99),
                    "mean_ms": round(statistics.mean(single), 1),
                },
                "concurrent_8": {
                    "requests": len(concurrent),
                    "requests_per_s": round(len(concurrent) / elapsed, 1),
                    "p50_ms": round(statistics.median(concurrent), 1),
                },
                "targets": {"p50_ms": 50, "p95_ms": 150},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
