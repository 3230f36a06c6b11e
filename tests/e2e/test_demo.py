"""`pitchcraft demo --no-serve`: the demo material, then a published quiz assigned to the demo rep, once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _demo(data_dir: Path) -> str:
    env = {**os.environ, "PITCHCRAFT_DATA_DIR": str(data_dir), "PITCHCRAFT_LOG_LEVEL": "WARNING"}
    env.pop("PITCHCRAFT_JWT_SECRET", None)
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return out.stdout


def test_demo_loads_a_quiz_for_the_demo_rep_once(tmp_path: Path) -> None:
    first = _demo(tmp_path)
    assert "Demo quiz 'Lumora feature basics' (8 questions) published and assigned to ada (rep)." in first
    second = _demo(tmp_path)
    assert "Demo quiz 'Lumora feature basics' already loaded." in second
    assert '"unchanged": 31' in second  # the material itself is not indexed twice either
