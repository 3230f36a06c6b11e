"""Unit tests of the enablement logic that needs no services: the quality gate, choice grading, the numeric
rules of short-answer grading, wrong-figure generation, and cross-item giveaways. The embedder is a fake
(sha256-seeded unit vectors: equal texts equal vectors, different texts nearly orthogonal)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from services.enablement.attempts import score_of
from services.enablement.generate import Generation, _plausible, cloze_fact, reveals
from services.enablement.grading import ShortAnswerPolicy, grade_choice, grade_short_answer
from services.enablement.material import MaterialChunk, MaterialDoc
from services.enablement.models import QuestionType
from services.enablement.quality import ItemDraft, check
from services.enablement.schemas import AuthoredQuestion


def fake_embed(texts: Sequence[str]) -> np.ndarray:
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        vec = np.random.default_rng(seed).standard_normal(384)
        rows.append(vec / np.linalg.norm(vec))
    return np.asarray(rows, dtype=np.float32)


CHUNK = MaterialChunk(
    id="c1",
    document_id="d1",
    external_id="feat-vault",
    version=3,
    ordinal=0,
    kind="feature",
    title="Key vault",
    section="What it does",
    text="Keys rotate every 90 days. Every decrypt call is logged.",
    competitor=None,
    as_of=None,
    vector=fake_embed(["x"])[0],
)


def item(options: list[str], answers: list[int], prompt: str = "How often do keys rotate?", **kw: object) -> ItemDraft:
    defaults: dict[str, object] = {"evidence": ["Keys rotate every 90 days."], "sources": [CHUNK]}
    defaults.update(kw)
    return ItemDraft(
        type=QuestionType.SINGLE if len(answers) == 1 else QuestionType.MULTI,
        origin="test",
        prompt=prompt,
        options=options,
        answers=answers,
        **defaults,  # type: ignore[arg-type]
    )


def test_a_sound_item_passes_the_gate() -> None:
    assert check(item(["90 days", "30 days", "45 days", "180 days"], [0]), fake_embed) is None


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (item(["90 days", "90  Days", "45 days", "180 days"], [0]), "duplicate_options"),
        (item(["every 90 days, on a schedule the customer sets", "30", "45", "180"], [0]), "length_giveaway"),
        (item(["keys rotate", "30 days", "45 days", "180 days"], [0]), "wording_giveaway"),
        (
            item(["90 days", "30 days", "45 days", "180 days"], [0], evidence=["Keys rotate every 60 days."]),
            "unsupported_key",
        ),
    ],
)
def test_the_gate_rejects_each_flaw_with_its_reason(draft: ItemDraft, reason: str) -> None:
    assert check(draft, fake_embed) == reason


def test_near_identical_options_are_duplicates_by_embedding() -> None:
    def same(texts: Sequence[str]) -> np.ndarray:  # every option means the same
        return np.tile(fake_embed(["one meaning"]), (len(texts), 1))

    assert check(item(["90 days", "30 days", "45 days", "180 days"], [0]), same) == "duplicate_options"


def test_an_item_naming_another_items_answer_is_a_giveaway() -> None:
    which = item(["Key vault", "Journey builder", "Forecast", "Pipeline"], [0], prompt='Which feature is "..."?')
    fact = item(["90", "30", "45", "180"], [0], prompt="Fill in the blank (Key vault): keys rotate every ____ days")
    other = item(["90", "30", "45", "180"], [0], prompt="Fill in the blank: keys rotate every ____ days")
    assert reveals(fact, [which]) and reveals(which, [fact])
    assert not reveals(other, [which])


def test_choice_grading_is_exact() -> None:
    assert grade_choice({1}, [1])
    assert not grade_choice({1, 2}, [1])  # a superset is wrong
    assert not grade_choice({1}, [1, 3])  # a subset is wrong
    assert grade_choice({3, 1}, [1, 3])


def test_a_different_figure_never_covers_a_key_point() -> None:
    policy = ShortAnswerPolicy(point_cosine=2.0, point_words=0.5)  # words alone would cover it
    wrong = grade_short_answer(
        "Keys rotate every 30 days.", "Keys rotate every 90 days.", ["rotate every 90 days"], fake_embed, policy
    )
    right = grade_short_answer(
        "They rotate every 90 days.", "Keys rotate every 90 days.", ["rotate every 90 days"], fake_embed, policy
    )
    unstated = grade_short_answer(
        "Keys rotate on a schedule.", "Keys rotate every 90 days.", ["rotate every 90 days"], fake_embed, policy
    )
    assert wrong.covered == [False] and right.covered == [True]
    assert unstated.covered == [False]  # "rotate" alone is half its words
    assert right.credit > wrong.credit


def test_an_empty_answer_earns_nothing() -> None:
    grade = grade_short_answer("   ", "Keys rotate every 90 days.", ["90 days", "decrypts logged"], fake_embed)
    assert grade.credit == 0 and grade.covered == [False, False] and not grade.correct


def test_wrong_figures_are_real_but_not_near_misses() -> None:
    found = _plausible("90", {"30", "85", "120", "365", "0"})
    assert "85" not in found and "0" not in found  # 85 is within 15%; 0 is no figure
    assert found[:3] == ["120", "30", "365"]  # nearest in size first
    assert _plausible("99.95", set())[:2] == ["199.90", "49.98"]  # multiples keep the precision


def test_authored_questions_must_be_answerable() -> None:
    with pytest.raises(ValueError, match="same thing"):
        AuthoredQuestion(type=QuestionType.SINGLE, prompt="p", options=["A", "a"], answer=0)
    with pytest.raises(ValueError, match="not an option index"):
        AuthoredQuestion(type=QuestionType.SINGLE, prompt="p", options=["A", "B"], answer=2)
    with pytest.raises(ValueError, match="every option is an answer"):
        AuthoredQuestion(type=QuestionType.MULTI, prompt="p", options=["A", "B"], answers=[0, 1])
    with pytest.raises(ValueError, match="reference_answer"):
        AuthoredQuestion(type=QuestionType.SHORT, prompt="p", key_points=["k"])
    ok = AuthoredQuestion(type=QuestionType.SHORT, prompt="p", reference_answer="r", key_points=["k"])
    assert ok.key_points == ["k"]


async def test_a_fact_with_zero_is_skipped_not_a_crash() -> None:
    text = "Failover loses 0 minutes of data in any region. Setup of a new region takes 30 minutes with the wizard."
    other = "A full backfill of historic events takes 90 minutes, and a rebuild of every index takes 120 minutes."
    doc = MaterialDoc("d1", "feat-failover", "Failover", "feature", None, [replace(CHUNK, text=text)])
    pool = MaterialDoc("d2", "feat-backfill", "Backfill", "feature", None, [replace(CHUNK, id="c2", text=other)])
    gen = Generation(org_docs={"d1": doc, "d2": pool}, slice_docs=[doc], embed=fake_embed, rng=random.Random(7))
    item = await cloze_fact(gen, doc)
    key = item.options[item.answers[0]]  # type: ignore[index]
    assert key == "30" and "0" not in item.options  # type: ignore[operator]
    assert "____ minutes with the wizard" in item.prompt


def test_the_pass_mark_is_met_exactly_and_not_by_rounding() -> None:
    assert score_of([0.01, 0.57], 29) == (29.0, True)  # 28.999999999999996 in floats: meets the mark
    assert score_of([0.5996], 60) == (60.0, False)  # shown as 60.0, but 59.96 is below the mark
    assert score_of([], 0) == (0.0, True)
