"""Service boundaries: a service never imports another service's internals, and API processes never load torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "services"
SERVICES = ("core", "ingest", "pitch", "enablement")
# Composition roots may import every service; nothing else may.
COMPOSERS = {ROOT / "main.py", ROOT / "cli.py", ROOT / "migrations" / "env.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_services_import_only_core_and_themselves(service: str) -> None:
    allowed = {"services.core", f"services.{service}"}
    offenders = []
    for path in (ROOT / service).rglob("*.py"):
        for module in _imports(path):
            if module.startswith("services.") and not any(module == a or module.startswith(a + ".") for a in allowed):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_composition_roots_exist() -> None:
    assert all(path.exists() for path in COMPOSERS)


def test_the_api_app_does_not_import_torch() -> None:
    code = "import sys, services.main; print(sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
