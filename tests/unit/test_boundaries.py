"""Service boundaries: a service never imports another service's internals, and API processes never load torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "services"
SERVICES = ("core", "ingest", "pitch", "enablement")
# services/main.py, cli.py and migrations/env.py compose the services and may import them all.


def _imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved and `from pkg import mod` counted as pkg.mod."""
    tree = ast.parse(path.read_text())
    package = ".".join(("services", *path.relative_to(ROOT).parent.parts))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_services_import_only_core_and_themselves(service: str) -> None:
    allowed = {"services.core", f"services.{service}"}
    offenders = []
    for path in (ROOT / service).rglob("*.py"):
        for module in _imports(path):
            if (
                module.startswith("services.")
                and module.split(".")[1] in SERVICES
                and not any(module == a or module.startswith(a + ".") for a in allowed)
            ):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_the_checker_sees_indirect_and_relative_imports(tmp_path: Path) -> None:
    sample = ROOT / "ingest" / "_boundary_probe.py"
    sample.write_text("from services import pitch\nfrom ..enablement import app\n")
    try:
        found = _imports(sample)
    finally:
        sample.unlink()
    assert {"services.pitch", "services.enablement.app"} <= found


def test_the_api_app_does_not_import_torch() -> None:
    code = "import sys, services.main; print(sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
