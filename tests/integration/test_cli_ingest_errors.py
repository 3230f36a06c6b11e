"""`pitchcraft ingest` (and `pitchcraft eval`, which ingests the same way) over a folder with a file it cannot read:
every such file is named with what is wrong, nothing of the folder is stored, and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SECRET

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _ingest(data: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PITCHCRAFT_DATA_DIR": str(data), "PITCHCRAFT_JWT_SECRET": SECRET, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", *map(str, paths)], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


def test_every_unreadable_file_is_named_and_nothing_is_stored(tmp_path: Path) -> None:
    folder, data = tmp_path / "docs", tmp_path / "data"
    folder.mkdir()
    good = folder / "good.md"
    good.write_text("---\nexternal_id: feat-good\nkind: feature\ntitle: Good\n---\n# Good\n\nIt helps people a lot.\n")
    # An unquoted colon inside a YAML value: a common slip in hand-written front matter.
    (folder / "colon.md").write_text("---\nkind: feature\ntitle: Rules: pinning and promotions\n---\n# R\n\nText.\n")
    (folder / "kind.md").write_text("---\nkind: brochure\ntitle: K\n---\n# K\n\nText here.\n")

    refused = _ingest(data, folder)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert "nothing was ingested" in refused.stderr
    assert f"{folder / 'colon.md'}: the YAML front matter does not parse" in refused.stderr
    assert str(folder / "kind.md") in refused.stderr and str(good) not in refused.stderr
    assert "(kind: " in refused.stderr  # the field at fault, from the validation details

    # The good file was not stored by the refused run: ingesting it alone queues it as new.
    accepted = _ingest(data, good)
    assert accepted.returncode == 0, accepted.stderr[-2000:]
    summary = json.loads(accepted.stdout[accepted.stdout.index("{") :])
    assert summary["queued"] == 1 and summary["unchanged"] == 0
