"""Resident memory of the server after the demo load and after a 10,000-chunk library, and of an ingest process.

Server: a real `pitchcraft serve` (embedded mode) on a data dir holding the demo corpus (ingested through the
pipeline), then on the talk-track bench's library (bench/pitch_bench.py: 10,044 feature chunks, about 15,000 in
all), each after talk-track requests (model loaded, snapshots and caches filled: 100 from one client, then 200
from 8 clients). VmRSS and VmHWM (peak) from /proc/<pid>/status.
Ingest: `pitchcraft ingest` of the demo corpus into a fresh data dir, the pipeline a worker runs (parse, chunk,
embed, BM25, upsert) in one process; its peak RSS (ru_maxrss of the finished child).
The encoder is the configured one (PITCHCRAFT_ENCODER).

    .venv/bin/python bench/memory_bench.py --data-dir /tmp/pbench   # reuses pitch_bench's library there
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PITCHCRAFT_LOG_LEVEL", "WARNING")

from pitch_bench import ORG, build_library, load, start_server  # noqa: E402 - bench/ is put on the path above


def _status_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def serve_and_measure(data_dir: Path, cases: list[dict[str, Any]]) -> dict[str, float]:
    from services.core.auth import issue_token
    from services.core.settings import Settings

    os.environ["PITCHCRAFT_DATA_DIR"] = str(data_dir)
    settings = Settings()
    server, base = start_server()
    try:
        ready = _status_mb(server.pid)
        token = issue_token(settings.jwt_secret(), sub="bench", org=ORG, roles=["rep"])
        asyncio.run(load(base, token, cases, 100, 1, "single"))
        asyncio.run(load(base, token, cases, 200, 8, "concurrent"))
        after = _status_mb(server.pid)
        return {"ready_rss_mb": ready["VmRSS"], "rss_mb": after["VmRSS"], "peak_rss_mb": after["VmHWM"]}
    finally:
        server.terminate()
        server.wait(timeout=60)


def ingest_peak(data_dir: Path) -> dict[str, float]:
    env = {**os.environ, "PITCHCRAFT_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", str(ROOT / "demo"), "--org", "memory"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # ru_maxrss of the largest child waited for so far (kB on Linux): run this before any other child.
    return {
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, help="the 10,000-chunk library (built there when missing)")
    parser.add_argument("--chunks", type=int, default=10_000)
    args = parser.parse_args()
    from services.cli import ingest_paths
    from services.core.embeddings import encoder_setting
    from services.core.settings import Settings
    from services.core.vectorstore import close_stores

    os.environ["PITCHCRAFT_JWT_SECRET"] = "bench-" + "y" * 40
    os.environ.pop("REDIS_URL", None)
    cases = [json.loads(line) for line in (ROOT / "evals" / "demo" / "cases.jsonl").read_text().splitlines() if line]
    report: dict[str, Any] = {"encoder": encoder_setting()}
    with tempfile.TemporaryDirectory() as tmp:
        report["ingest_process_demo"] = ingest_peak(Path(tmp) / "ingest")
        demo_dir = Path(tmp) / "demo"
        os.environ["PITCHCRAFT_DATA_DIR"] = str(demo_dir)
        ingest_paths(Settings(), [str(ROOT / "demo")], org=ORG, sub="bench", kind=None)
        close_stores()
        report["server_demo"] = serve_and_measure(demo_dir, cases)
        library = args.data_dir or Path(tmp) / "library"
        library.mkdir(parents=True, exist_ok=True)
        os.environ["PITCHCRAFT_DATA_DIR"] = str(library)
        built = library / "bench-library.json"
        if built.exists() and json.loads(built.read_text())["target"] == args.chunks:
            chunks = int(json.loads(built.read_text())["chunks"])
        else:
            chunks = build_library(Settings(), args.chunks)
            built.write_text(json.dumps({"target": args.chunks, "chunks": chunks}))
        close_stores()
        report["server_library"] = {"feature_chunks": chunks, **serve_and_measure(library, cases)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
