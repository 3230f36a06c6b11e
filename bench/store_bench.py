"""Vector store speed at size: Qdrant Edge (embedded default) against qdrant-client's local mode.

Synthetic points (unit-normal 384-d vectors, BM25 vectors of demo sentences), spread over 10 orgs;
queries are hybrid (dense + BM25, RRF) and filtered to one org, as the pitch service issues them.

    make bench            (or: .venv/bin/python bench/store_bench.py --sizes 10000 100000)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.core.vectorstore import ChunkPoint, PointFilter, SearchRequest, point_id
from services.core.vectorstore.bm25 import bm25_encoder
from services.core.vectorstore.edge import EdgeVectorStore
from services.core.vectorstore.server import QdrantServerStore

DEMO = Path(__file__).resolve().parents[1] / "demo"
ORGS = 10
BATCH = 500


def sentences() -> list[str]:
    text = " ".join(p.read_text() for p in DEMO.rglob("*.md"))
    return [s.strip() for s in text.replace("\n", " ").split(". ") if len(s.split()) > 6]


def points(n: int, rng: np.random.Generator, texts: list[str]) -> list[ChunkPoint]:
    bm25 = bm25_encoder()
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out = []
    for i in range(n):
        text = texts[i % len(texts)]
        out.append(
            ChunkPoint(
                id=point_id(f"doc{i // 5}", 1, i % 5),
                dense=vectors[i].tolist(),
                sparse=bm25.document(text),
                payload={
                    "org_id": f"org{i % ORGS}",
                    "document_id": f"doc{i // 5}",
                    "version": 1,
                    "kind": "feature",
                    "text": text,
                },
            )
        )
    return out


def measure(store, pts: list[ChunkPoint], rng: np.random.Generator, texts: list[str], queries: int) -> dict[str, float]:
    started = time.perf_counter()
    for i in range(0, len(pts), BATCH):
        store.upsert(pts[i : i + BATCH])
    upsert_s = time.perf_counter() - started
    bm25 = bm25_encoder()
    latencies = []
    for q in range(queries):
        vec = rng.standard_normal(384)
        request = SearchRequest(
            filter=PointFilter(org_id=f"org{q % ORGS}"),
            dense=(vec / np.linalg.norm(vec)).tolist(),
            sparse=bm25.query(texts[q % len(texts)]),
            limit=20,
        )
        t = time.perf_counter()
        store.search(request)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    return {
        "upsert_points_per_s": round(len(pts) / upsert_s),
        "hybrid_filtered_search_p50_ms": round(statistics.median(latencies), 2),
        "hybrid_filtered_search_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--local-max", type=int, default=10_000, help="largest size tried on qdrant-client local mode")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    texts = sentences()
    results = []
    for size in args.sizes:
        rng = np.random.default_rng(size)
        pts = points(size, rng, texts)
        with tempfile.TemporaryDirectory() as tmp:
            store = EdgeVectorStore(Path(tmp) / "edge")
            row = {"store": "edge", "points": size, **measure(store, pts, rng, texts, args.queries)}
            store.close()
            started = time.perf_counter()
            EdgeVectorStore(Path(tmp) / "edge").close()
            row["reopen_s"] = round(time.perf_counter() - started, 2)
        row["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        results.append(row)
        print(json.dumps(row), flush=True)
        if size <= args.local_max:
            with tempfile.TemporaryDirectory() as tmp:
                local = QdrantServerStore(path=str(Path(tmp) / "local"))
                row = {
                    "store": "qdrant-client-local",
                    "points": size,
                    **measure(local, pts, rng, texts, min(args.queries, 50)),
                }
                local.close()
            results.append(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
