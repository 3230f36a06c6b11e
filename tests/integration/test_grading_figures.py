"""The figure checks of short-answer grading with the real model: a near copy of the reference that changes one
figure to one the material never gives earns nothing, and the same figures in a rep's own words earn full credit."""

from __future__ import annotations

from typing import Any

import pytest

from services.enablement.grading import grade_short_answer

pytestmark = pytest.mark.integration
REFERENCE = "Snapshots are taken every 6 hours and each snapshot is retained for 14 days."


@pytest.mark.parametrize(
    "answer",
    [
        "Snapshots are taken every 6 hours and each snapshot is kept for 48 hours.",  # "kept" shares no word
        "Snapshots are taken every 6 hours and each snapshot is retained for 30 days.",
    ],
)
def test_a_figure_the_material_never_gives_earns_nothing(embedder: Any, answer: str) -> None:
    grade = grade_short_answer(answer, REFERENCE, [], embedder.embed)
    assert grade.credit == 0.0 and grade.contradiction == "figure" and not grade.correct


@pytest.mark.parametrize(
    "answer",
    [
        "A snapshot is taken every six hours and is held for two weeks.",
        "Every six hours, and you can restore any of them for a fortnight.",
    ],
)
def test_the_same_figures_in_other_words_are_right(embedder: Any, answer: str) -> None:
    grade = grade_short_answer(answer, REFERENCE, [], embedder.embed)
    assert grade.correct and grade.contradiction is None, grade
