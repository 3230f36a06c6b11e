"""The demo folder as ingest API documents (front matter supplies the optional fields)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEMO = Path(__file__).resolve().parents[1] / "demo"


def demo_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(DEMO.rglob("*.md")):
        if path.name == "README.md":
            continue
        text = path.read_text()
        meta = yaml.safe_load(text.split("---", 2)[1])
        docs.append({"external_id": meta["external_id"], "kind": meta["kind"], "title": meta["title"], "content": text})
    return docs
