"""Talk-track latency and throughput over a library of at least 10,000 chunks, embedded mode, real server.

The library: the demo corpus ingested through the real pipeline, plus filler documents in the same org made
from the demo chunks (their vectors with small noise, their BM25 vectors, new document ids and SQL rows), so
every search scans >10,000 chunks without spending minutes embedding copies. Requests cycle through the
evaluation cases; each carries a unique context so its embedding is never cached (the cost of a real
request). Single requests measure latency; then 8 concurrent clients measure throughput.

    make bench            (or: .venv/bin/python bench/pitch_bench.py --chunks 10000)

Options: `--data-dir DIR` builds the library there once and reuses it on later runs (same library, faster
iterations); `--profile DIR` samples the server with py-spy (`py-spy record --format raw`, the dev extras
install it) and writes the collapsed stacks of each run to DIR/single.txt and DIR/concurrent.txt;
`--breakdown FILE` prints the share of busy samples per pipeline step in such a file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
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


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """`pitchcraft serve` on a free port over $PITCHCRAFT_DATA_DIR, once its pitch service answers ready."""
    import httpx

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/pitch/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    return server, base


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


# Pipeline steps, recognised in a sampled stack by the innermost frame that names one (first match wins, read
# from the leaf outwards); what matches none of them is the server itself (HTTP, routing, the event loop).
# py-spy leaves out threads it sees waiting in the kernel; these leaves are waits it cannot see as such: the
# event loop polling in C, pool threads and the SQLite connection thread waiting on their queues.
IDLE = ("Runner.run (asyncio/runners.py", "_worker (concurrent/futures/thread.py", "(aiosqlite/core.py:59)")
STEPS = [
    ("serialisation", ("render.py", "msgspec", "litestar/serialization", "encode_json", "_to_response")),
    ("embedding", ("embeddings.py", "sentence_transformers", "torch", "transformers", "tokenizers")),
    ("SQL", ("sqlalchemy", "aiosqlite", "sqlite3", "review_due (", "current_versions (")),
    ("named systems", ("_system_scores", "named_systems")),
    ("BM25", ("lexical.py",)),
    ("sentence analysis", ("_analysed (", "tone.py", "points.py")),
    ("competitor notes", ("competitor.py", "_competitor (")),
    ("vector store", ("vectorstore", "qdrant")),
    ("proof (case studies)", ("_add_proof (",)),
    ("dense scoring", ("rank_documents", "best_chunk", "ranking.py")),
    ("selection", ("_select (", "_points (", "_pick (")),
    ("snapshot", ("library.py",)),
]


def breakdown(collapsed: Path) -> dict[str, float]:
    """Share of the server's samples per step, from py-spy's raw (collapsed) output: `frame;frame;... count`,
    each frame `function (file.py:line)`."""
    totals: dict[str, float] = {}
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any(key in frames[-1] for key in IDLE) or frames[-1].startswith("thread ("):
            continue
        step = "server (HTTP, routing, event loop)"
        for frame in reversed(frames):
            found = next((s for s, keys in STEPS if any(k in frame for k in keys)), None)
            if found:
                step = found
                break
        totals[step] = totals.get(step, 0) + int(count)
    all_samples = sum(totals.values()) or 1
    return {k: round(100 * v / all_samples, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


CPU_MS: dict[str, float] = {}


def _cpu_seconds(pid: int) -> float:
    """The server's CPU time (user + system, all threads): less noisy than latency on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_profiled(
    out: Path | None,
    pid: int,
    base: str,
    token: str,
    cases: list[dict[str, Any]],
    requests: int,
    concurrency: int,
    run: str,
) -> tuple[list[float], float]:
    """One load run; with `out`, py-spy samples the server meanwhile and writes its collapsed stacks there."""
    spy = None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--format", "raw"]
        command += ["--rate", "200", "--output", str(out), "--threads", "--nonblocking"]
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # attached before the first timed request
    try:
        before = _cpu_seconds(pid)
        latencies, elapsed = asyncio.run(load(base, token, cases, requests, concurrency, run))
        CPU_MS[run] = round((_cpu_seconds(pid) - before) * 1000 / max(1, requests), 1)
        return latencies, elapsed
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            spy.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--data-dir", type=Path, help="build the library here once and reuse it on later runs")
    parser.add_argument(
        "--profile", type=Path, help="folder for py-spy stacks of the server (single.txt, concurrent.txt)"
    )
    parser.add_argument("--breakdown", type=Path, help="print the per-step share of a --profile file and exit")
    args = parser.parse_args()
    if args.breakdown:
        print(json.dumps(breakdown(args.breakdown), indent=2))
        return
    from services.core.auth import issue_token
    from services.core.settings import Settings
    from services.core.vectorstore import close_stores

    cases = [json.loads(line) for line in (ROOT / "evals" / "demo" / "cases.jsonl").read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        os.environ["PITCHCRAFT_DATA_DIR"] = str(data_dir)
        os.environ["PITCHCRAFT_JWT_SECRET"] = "bench-" + "y" * 40
        os.environ.pop("REDIS_URL", None)
        settings = Settings()
        built = data_dir / "bench-library.json"
        if built.exists() and json.loads(built.read_text())["target"] == args.chunks:
            chunks = int(json.loads(built.read_text())["chunks"])
        else:
            chunks = build_library(settings, args.chunks)
            built.write_text(json.dumps({"target": args.chunks, "chunks": chunks}))
        close_stores()
        server, base = start_server()
        try:
            token = issue_token(settings.jwt_secret(), sub="bench", org=ORG, roles=["rep"])
            asyncio.run(load(base, token, cases, 20, 1, "warm-up"))  # model load, persona caches
            single, _ = _run_profiled(
                args.profile and args.profile / "single.txt", server.pid, base, token, cases, args.requests, 1, "single"
            )
            concurrent, elapsed = _run_profiled(
                args.profile and args.profile / "concurrent.txt",
                server.pid,
                base,
                token,
                cases,
                args.requests,
                8,
                "concurrent",
            )
        finally:
            server.terminate()
            server.wait(timeout=60)

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    print(
        json.dumps(
            {
                "feature_chunks_searched": chunks,
                "single_client": {
                    "requests": len(single),
                    "p50_ms": pct(single, 0.50),
                    "p95_ms": pct(single, 0.95),
                    "p99_ms": pct(single, 0.99),
                    "mean_ms": round(statistics.mean(single), 1),
                    "server_cpu_ms_per_request": CPU_MS.get("single"),
                },
                "concurrent_8": {
                    "requests": len(concurrent),
                    "requests_per_s": round(len(concurrent) / elapsed, 1),
                    "p50_ms": pct(concurrent, 0.50),
                    "p95_ms": pct(concurrent, 0.95),
                    "server_cpu_ms_per_request": CPU_MS.get("concurrent"),
                },
                "targets": {
                    "single_p50_ms": 40,
                    "single_p95_ms": 100,
                    "concurrent_8_rps": 40,
                    "concurrent_8_p95_ms": 400,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
