"""The analyser's exemplars with the real model: the packaged vectors are the model's, and a sentence the cue rules
miss is found by its labelled neighbours (README "Deals")."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from services.pitch.deals.notes import EXEMPLARS, NAME_EXEMPLARS, NoteAnalyser, NoteFacts, load_exemplars

FACTS = NoteFacts(meeting_date=date(2026, 3, 10))


def test_the_packaged_vectors_are_the_models(embedder: Any) -> None:
    with np.load(EXEMPLARS) as data:
        texts, vectors = data["texts"][::75], data["vectors"][::75].astype(np.float32)
    fresh = embedder.embed([str(t) for t in texts])
    cosines = np.sum(fresh * vectors, axis=1)
    assert len(texts) >= 20 and cosines.min() >= 0.99, cosines.min()


def test_a_sentence_the_rules_miss_is_an_objection_by_its_neighbours(embedder: Any) -> None:
    text = "The budget for this year is already spent."
    assert NoteAnalyser(embedder.embed).analyse(text, FACTS)[1]["objections"] == []
    analyser = NoteAnalyser(embedder.embed, load_exemplars())
    found = analyser.analyse(text, FACTS)[1]["objections"]
    assert [(o["text"], o["citation"]["sentence"]) for o in found] == [(text, 0)]
    # A plain fact stays a fact.
    plain = "They have 40 stores and a warehouse in Leeds."
    assert analyser.analyse(plain, FACTS)[1]["objections"] == []


def test_a_pain_the_rules_miss_is_found_by_its_neighbours_and_a_fact_is_not(embedder: Any) -> None:
    text = "Stock counts are done with a clipboard twice a year."  # "on paper" is a pain cue of the rules since v8
    assert NoteAnalyser(embedder.embed).analyse(text, FACTS)[1]["pains"] == []
    analyser = NoteAnalyser(embedder.embed, load_exemplars())
    assert [(p["kind"], p["text"]) for p in analyser.analyse(text, FACTS)[1]["pains"]] == [("pain", text)]
    assert analyser.analyse("They have 40 stores and a warehouse in Leeds.", FACTS)[1]["pains"] == []


def test_a_product_named_in_a_rivals_frame_is_a_competitor_and_one_in_use_stays_a_system(embedder: Any) -> None:
    text = (
        "He saw a Ferrovane demo in September and said it looked fine for an office.\n"
        "Their AP team keys invoices into Ledgerline by hand."
    )
    names = lambda analysis, key: {item["text"] for item in analysis[key]}  # noqa: E731
    rules = NoteAnalyser(embedder.embed).analyse(text, FACTS)[1]
    assert names(rules, "systems") == {"Ferrovane", "Ledgerline"} and names(rules, "competitors") == set()
    framed = NoteAnalyser(embedder.embed, load_exemplars()).analyse(text, FACTS)[1]
    assert names(framed, "competitors") == {"Ferrovane"}
    assert names(framed, "systems") == {"Ledgerline"}


def test_the_packaged_name_frames_are_the_models_vectors(embedder: Any) -> None:
    with np.load(NAME_EXEMPLARS) as data:
        texts, vectors = data["texts"][::60], data["vectors"][::60].astype(np.float32)
    cosines = np.sum(embedder.embed([str(t) for t in texts]) * vectors, axis=1)
    assert len(texts) >= 20 and cosines.min() >= 0.99, cosines.min()


def test_a_frame_moves_only_rivals_and_their_complaints_are_no_objections(embedder: Any) -> None:
    analyser = NoteAnalyser(embedder.embed, load_exemplars())

    def kinds(text: str) -> tuple[set[str], set[str], int]:
        analysis = analyser.analyse(text, FACTS)[1]
        names = ({i["text"] for i in analysis["systems"]}, {i["text"] for i in analysis["competitors"]})
        return (*names, len(analysis["objections"]))

    # A product in use, in a frame with no "uses"/"runs in" before it: its neighbours keep it a system.
    assert kinds("Marketing sends campaigns with Mailchimp and likes it.") == ({"Mailchimp"}, set(), 0)
    # A demo they saw: a competitor, and a complaint about it is no objection to us.
    assert kinds("Saw a Tradeshift demo, way too pricey for them.") == (set(), {"Tradeshift"}, 0)
    # The frame is read where the name stands, not at a word that contains it ("ramp-up").
    assert kinds("The pitch on the ramp-up was weak; card spend runs through Ramp today.") == ({"Ramp"}, set(), 0)
