"""Built-in personas stay generic: their priorities say what the buyer is measured on, never a feature's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.core.lexical import tokens
from services.pitch.personas import built_in

DEMO_FEATURES = Path(__file__).resolve().parents[2] / "demo" / "features"


def _titles() -> list[str]:
    titles = []
    for path in sorted(DEMO_FEATURES.glob("*.md")):
        match = re.search(r"^title:\s*(.+)$", path.read_text(encoding="utf-8"), re.M)
        assert match, path
        titles.append(match.group(1).strip())
    return titles


@pytest.mark.parametrize("persona_id", sorted(built_in()))
def test_no_priority_paraphrases_a_demo_feature_title(persona_id: str) -> None:
    titles = _titles()
    assert len(titles) >= 20
    for priority in built_in()[persona_id].priorities:
        for title in titles:
            shared = set(tokens(priority)) & set(tokens(title))
            # One shared everyday word ("cost", "data") is language; two is a feature's name said again.
            assert len(shared) <= 1, (priority, title, shared)


def test_every_built_in_persona_has_its_own_next_step() -> None:
    steps = {p.id: p.next_step for p in built_in().values()}
    assert all(steps.values()) and len(set(steps.values())) == len(steps)
    assert "security review" in (steps["ciso"] or "")
    assert all("security review" not in (steps[p] or "") for p in ("cmo", "vp_sales", "cfo", "head_of_product"))
