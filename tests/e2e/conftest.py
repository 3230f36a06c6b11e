"""A running `pitchcraft serve` (embedded mode, its own data dir and port) and tokens from `pitchcraft token`."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(data: Path) -> dict[str, str]:
    """This environment without Pitchcraft's settings, on its own embedded data dir. No secret given: development
    mode keeps one in the data dir, and `token` reads the same one."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PITCHCRAFT_", "REDIS_URL", "DATABASE_URL", "QDRANT_URL"))
    }
    return env | {"PITCHCRAFT_DATA_DIR": str(data), "PITCHCRAFT_MODE": "embedded", "PITCHCRAFT_ENV": "development"}


@contextlib.contextmanager
def serving(data: Path, env: dict[str, str]) -> Iterator[str]:
    """`pitchcraft serve` on a free port until the block ends; yields its base URL once it is ready."""
    port = _free_port()
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (data / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/ingest/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("e2e")
    env = clean_env(data)
    with serving(data, env) as base:
        env["PYTHONWARNINGS"] = "ignore"
        yield base, env


def token(env: dict[str, str], role: str, org: str = "acme") -> dict[str, str]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "token",
            "--sub",
            f"{role}-user",
            "--org",
            org,
            "--role",
            role,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}
