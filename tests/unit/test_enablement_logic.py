"""Unit tests of the enablement logic that needs no services: the quality gate, choice grading, the numeric
rules of short-answer grading, wrong-figure generation, and cross-item giveaways. The embedder is a fake
(sha256-seeded unit vectors: equal texts equal vectors, different texts nearly orthogonal)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from services.enablement.generate import Generation, _plausible, cloze_fact, reveals
from services.enablement.lifecycle import still_stated
from services.enablement.material import MaterialChunk, MaterialDoc
from services.enablement.models import QuestionType
from services.enablement.quality import ItemDraft, Source, check
from services.enablement.results import score_of
from services.enablement.schemas import AuthoredQuestion
from tests.unit.hashed import hash_embed

fake_embed = hash_embed


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
        (item(["keys rotate", "certificates expire", "tokens renew", "logs purge"], [0]), "wording_giveaway"),
        (
            item(["every 90 days", "every month", "each year", "on demand"], [0]),
            "form_giveaway",
        ),  # only the key has a figure
        (
            item(["90 days", "30 days", "45 days", "180 days"], [0], evidence=["Keys rotate every 60 days."]),
            "unsupported_key",
        ),
    ],
)
def test_the_gate_rejects_each_flaw_with_its_reason(draft: ItemDraft, reason: str) -> None:
    assert check(draft, fake_embed) == reason


SOURCES = {
    "feat-keys": Source("feat-keys", "Customer-managed keys", "feature", ["Keys rotate every 90 days."]),
    "feat-sync": Source(
        "feat-sync",
        "Warehouse sync",
        "feature",
        ["Incremental syncs run every 15 minutes on Business.", "Enterprise syncs run every 5 minutes."],
    ),
    "cs-acme": Source(
        "cs-acme",
        "Corvane Logistics grows pipeline 22%",
        "case_study",
        ["Corvane Logistics went live in 34 days.", "Pipeline grew 22% in a year."],
    ),
}


def sourced(options: list[str], answers: list[int], prompt: str, source: str) -> ItemDraft:
    return item(options, answers, prompt=prompt, evidence=[], sources=[{"external_id": source}])


def test_the_gate_with_the_material_rejects_trivia_and_second_right_answers() -> None:
    anecdote = sourced(["34 days", "21 days", "45 days", "60 days"], [0], "How fast did they go live?", "cs-acme")
    assert check(anecdote, fake_embed, SOURCES) == "trivia"  # a case study's incidental figure
    headline = sourced(["22%", "10%", "35%", "50%"], [0], "How much did pipeline grow?", "cs-acme")
    assert check(headline, fake_embed, SOURCES) is None  # the figure its title states
    customers = sourced(["Corvane Logistics", "Sableridge Hotels", "Tidewell Insurance", "Kittering Bank"], [0],
                        "Which customer went live fastest?", "feat-keys")  # fmt: skip
    assert check(customers, fake_embed, SOURCES) == "trivia"

    def close(texts: Sequence[str]) -> np.ndarray:  # the prompt and both sync sentences are on one subject
        return fake_embed(["syncs" if "sync" in t else t for t in texts])

    syncs = sourced(["Every 15 minutes", "Every 5 minutes", "Every hour", "Once a day"], [0], "How often do syncs run?",
                    "feat-sync")  # fmt: skip
    assert check(syncs, close, SOURCES) == "two_defensible_answers"  # 5 minutes is right too, on Enterprise
    assert check(syncs, fake_embed, SOURCES) is None  # unrelated sentences: no second answer


def test_a_short_answer_whose_prompt_states_its_key_points_is_a_giveaway() -> None:
    short = ItemDraft(
        type=QuestionType.SHORT,
        origin="test",
        prompt="Keys rotate every 90 days and every decrypt call is logged: why does that matter?",
        sources=[CHUNK],
        reference_answer="Keys rotate every 90 days and every decrypt call is logged.",
        key_points=[{"text": "keys rotate every 90 days"}, {"text": "decrypt calls logged"}],
    )
    assert check(short, fake_embed) == "prompt_gives_away"


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


def test_a_fact_survives_a_typo_fix_but_not_a_new_figure_or_a_negation() -> None:
    fact = "Keys rotate every 90 days and every decrypt call is writen to an audit trail."
    assert still_stated(
        fact, ["Intro.", "Keys rotate every 90 days and every decrypt call is written to an audit trail."]
    )
    assert still_stated(fact, ["Keys rotate every 90 days and every decrypt call is writen to an audit trail. More."])
    assert still_stated(fact, ["Keys rotate every 30 days and every decrypt call is writen to an audit trail."]) is None
    assert still_stated(fact, ["Keys rotate every 90 days and no decrypt call is writen to an audit trail."]) is None
    assert still_stated(fact, ["Exports run nightly."]) is None
