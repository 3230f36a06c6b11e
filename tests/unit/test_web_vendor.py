"""The vendored front-end files are the ones VENDOR.md names, unmodified, and the templates load nothing remote."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "services" / "web" / "static" / "vendor"
TEMPLATES = VENDOR.parents[1] / "templates"


def test_vendored_files_match_the_recorded_sums() -> None:
    recorded = dict(
        (name, digest)
        for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", (VENDOR / "VENDOR.md").read_text(), re.M)
    )
    on_disk = {p.name for p in VENDOR.iterdir() if p.suffix in {".js", ".css"}}
    assert set(recorded) == on_disk
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_templates_load_scripts_and_styles_from_this_site_only() -> None:
    sources = [
        ref
        for template in TEMPLATES.rglob("*.html")
        for ref in re.findall(r'(?:src|href)="([^"]+)"', template.read_text())
        if ref.startswith(("http:", "https:", "//"))
    ]
    assert sources == []
    # No inline script: the Content-Security-Policy allows scripts from 'self' only.
    inline = [
        str(t)
        for t in TEMPLATES.rglob("*.html")
        for tag in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", t.read_text())
        if "application/json" not in tag
    ]
    assert inline == []
