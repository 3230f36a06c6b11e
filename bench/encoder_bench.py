"""The encoders (fp32 on torch, fp32 on onnxruntime, int8 on onnxruntime) on real chunks and real queries.

For each evaluation set: its corpus chunked as the pipeline chunks it; speed of each encoder on those chunks
(alternating runs, median); cosine of each chunk vector to its fp32 (torch) vector; top-10 neighbour overlap,
exact search over the set's chunks, each side with its own encoder for index and queries (the cases'
contexts, as the talk tracks embed them). Retrieval quality end to end is `pitchcraft eval` run once with each
encoder (PITCHCRAFT_ENCODER); see the README, "Ingest speed".

    .venv/bin/python bench/encoder_bench.py evals/demo ../shared/evalsets/supabase --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PITCHCRAFT_LOG_LEVEL", "WARNING")

import numpy as np

from services.core.embeddings import Embedder, create_embedder
from services.core.settings import Settings
from services.core.tokens import token_counter
from services.ingest.chunking import Chunker
from services.ingest.parsing import parse_content

K = 10


def chunk_texts(corpus: Path) -> list[str]:
    settings = Settings()
    chunker = Chunker(
        token_counter(), max_tokens=settings.ingest.chunk_tokens, overlap_tokens=settings.ingest.chunk_overlap_tokens
    )
    texts = []
    for path in sorted(corpus.rglob("*.md")):
        if path.name == "README.md":
            continue
        parsed = parse_content(path.read_text(), content_type="markdown", filename=path.name, max_chars=10**6)
        texts.extend(c.embed_text for c in chunker.chunk(parsed.text, str(parsed.front_matter.get("title", path.stem))))
    return texts


def queries(cases: Path) -> list[str]:
    rows = [json.loads(line) for line in cases.read_text().splitlines() if line.strip()]
    return [r["context"] for r in rows if r.get("context")]


def timed(embedder: Embedder, texts: list[str], batch: int) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    vectors = embedder.embed(texts, batch_size=batch)
    return time.perf_counter() - started, vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", type=Path, help="evaluation sets (a corpus/ folder and cases.jsonl)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per encoder and set (median shown)")
    parser.add_argument("--encoders", default="fp32,onnx-fp32,int8", help="fp32 first: the reference")
    args = parser.parse_args()
    batch = Settings().ingest.embed_batch_size
    encoders = {name: create_embedder(name) for name in args.encoders.split(",")}
    for embedder in encoders.values():
        embedder.embed(["warm up"] * 8)  # sessions and thread pools outside the timings
    report: dict[str, Any] = {"load_1min": os.getloadavg()[0], "sets": {}}
    for eval_set in args.sets:
        texts, asked = chunk_texts(eval_set / "corpus"), queries(eval_set / "cases.jsonl")
        times: dict[str, list[float]] = {name: [] for name in encoders}
        vectors: dict[str, np.ndarray] = {}
        for _ in range(args.runs):
            for name, embedder in encoders.items():
                seconds, vectors[name] = timed(embedder, texts, batch)
                times[name].append(seconds)
        tokens = sum(token_counter().count_many(texts))
        median = {name: statistics.median(t) for name, t in times.items()}
        queried = {name: embedder.embed(asked) for name, embedder in encoders.items()}
        result: dict[str, Any] = {"chunks": len(texts), "mean_tokens": round(tokens / len(texts), 1)}
        result["queries"] = len(asked)
        for name in encoders:
            result[name] = {
                "chunks_per_s": round(len(texts) / median[name], 1),
                "speedup_vs_fp32": round(median["fp32"] / median[name], 2),
                "runs_s": [round(t, 2) for t in times[name]],
            }
            if name == "fp32":
                continue
            cosine = (vectors["fp32"] * vectors[name]).sum(axis=1)
            overlap = []
            for qa, qb in zip(queried["fp32"], queried[name], strict=True):
                top_a = set(np.argsort(-(vectors["fp32"] @ qa))[:K].tolist())
                top_b = set(np.argsort(-(vectors[name] @ qb))[:K].tolist())
                overlap.append(len(top_a & top_b) / K)
            result[name] |= {
                "chunk_cosine_min_p5_mean": [
                    round(float(cosine.min()), 4),
                    round(float(np.percentile(cosine, 5)), 4),
                    round(float(cosine.mean()), 4),
                ],
                "query_cosine_mean": round(float((queried["fp32"] * queried[name]).sum(axis=1).mean()), 4),
                f"top{K}_overlap_mean_min": [round(float(np.mean(overlap)), 3), round(float(np.min(overlap)), 2)],
            }
        report["sets"][str(eval_set)] = result
    report["load_1min_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
