"""The embedded store admits one process: a second opener (a CLI ingest while the server runs) is told so in one
line, with what to do, instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.core.vectorstore.edge import EdgeVectorStore, StoreInUse
from tests.conftest import SECRET

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HOLD = (
    "import pathlib, sys, time\n"
    "from services.core.vectorstore.edge import EdgeVectorStore\n"
    "store = EdgeVectorStore(pathlib.Path(sys.argv[1]))\n"
    "print('open', flush=True)\n"
    "time.sleep(120)\n"
)


@pytest.fixture
def held(tmp_path: Path) -> object:
    data = tmp_path / "data"
    path = data / "qdrant-edge"
    create = "import pathlib, sys\nfrom services.core.vectorstore.edge import EdgeVectorStore\n"
    create += "EdgeVectorStore(pathlib.Path(sys.argv[1])).close()\n"
    subprocess.run([sys.executable, "-c", create, str(path)], cwd=ROOT, check=True)  # an existing store
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    yield data, path
    holder.kill()
    holder.wait()


def test_a_second_process_gets_a_clear_refusal(held: tuple[Path, Path]) -> None:
    _, path = held
    with pytest.raises(StoreInUse, match="open in another process"):
        EdgeVectorStore(path)


def test_the_cli_says_the_server_holds_the_data_dir(held: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = held
    doc = tmp_path / "feat.md"
    doc.write_text("---\nexternal_id: feat-x\nkind: feature\ntitle: X\n---\n# X\n\nIt does a thing for people.\n")
    env = {**os.environ, "PITCHCRAFT_DATA_DIR": str(data), "PITCHCRAFT_JWT_SECRET": SECRET, "HF_HUB_OFFLINE": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", str(doc)], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode != 0
    assert "open in another process" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    print(f"refused after {time.monotonic() - started:.1f} s")
