"""Which source sentences may say what a feature does for a customer (the key of an `explain_feature` item), and
how bold markup reaches reps."""

import dataclasses

import numpy as np
import pytest

from services.enablement.generate import _claims, _display_name, _mask, _says_what_it_does
from services.enablement.material import MaterialChunk, MaterialDoc


def _chunk(text: str, section: str = "Feature > Overview", title: str = "Feature") -> MaterialChunk:
    return MaterialChunk(
        id="c1",
        document_id="d1",
        external_id="feat",
        version=1,
        ordinal=0,
        kind="feature",
        title=title,
        section=section,
        text=text,
        competitor=None,
        as_of=None,
        vector=np.zeros(384, dtype=np.float32),
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "Error tracking allows you to track, investigate, and resolve exceptions your customers face.",
        "Buying through the marketplace can mean simpler billing and centralised purchasing across your accounts.",
    ],
)
def test_what_a_feature_does_is_kept(sentence: str) -> None:
    assert _says_what_it_does(_chunk(sentence), sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Follow the Custom Domains steps in the General Settings page in the Dashboard.",  # a step
        "Use Auth Hooks to add custom claims for managing role-based access control.",
        "On hosted projects, edit your email templates on the Email Templates page of the dashboard.",
        "To find all books where the description contains the word big, use the search operator.",
        "For example, you can create a funnel to see how many companies signed up this month.",  # an example
        "Note: for billing purposes, we count the request that fetches the flag definitions.",  # an aside
        "If you want fewer permissions, you can also simply click Read on the Core and Billing headers.",  # UI
        "It also keeps a copy of every change in the audit trail for the team.",  # needs the sentence before it
        "Call the createSignedUploadUrl method on the SDK and include the returned token in the header.",  # code
        "The @@ symbol is the match operator for full text search queries in Postgres.",
        "You can only attach a single custom domain to any given project at a time.",  # a limitation
    ],
)
def test_steps_examples_code_and_limits_are_not_what_it_does(sentence: str) -> None:
    assert not _says_what_it_does(_chunk(sentence), sentence)


def test_bold_markers_are_dropped_from_sentences() -> None:
    chunk = _chunk("**Request OCSF.** You can receive events in the __open__ schema instead of our own format.")
    said = "You can receive events in the open schema instead of our own format."
    assert chunk.sentences() == ["Request OCSF.", said]


def test_a_prose_comparison_page_keys_only_what_it_says_about_us_alone() -> None:
    """A comparison page with no "where we win" heading is read sentence by sentence for a short answer's key; a
    sentence about both sides or about them is left out, and no choice item is keyed from such a page."""
    text = (
        "Acme captures every event automatically, so nobody has to instrument events by hand. "
        "Both Acme and Quarry have funnels, cohorts and retention charts for product teams. "
        "Quarry is missing session recording, so teams pay for a separate replay tool."
    )
    chunk = dataclasses.replace(_chunk(text, "Acme vs Quarry > How is Acme different from Quarry?"), kind="competitor")
    doc = MaterialDoc("d1", "acme-vs-quarry", "Acme vs Quarry", "competitor", "quarry", [chunk], product="Acme")
    assert _claims(doc, "win", prose=True) == [(chunk, chunk.sentences()[0])]
    assert _claims(doc, "win") == []


def test_a_feature_named_with_a_verb_is_not_an_instruction() -> None:
    """ "Read replicas serve ..." opens with "Read" and "Log drains send ..." with "Log": about the feature when its
    title holds that word, a step when it does not."""
    replicas = "Read replicas serve only read requests, so reporting never slows the primary database."
    assert _says_what_it_does(_chunk(replicas, title="Read Replicas"), replicas)
    assert not _says_what_it_does(_chunk(replicas, title="Compute and Disk"), replicas)


def test_the_competitor_is_named_as_the_material_writes_it() -> None:
    chunk = dataclasses.replace(_chunk("Unlike LaunchDarkly, flags and analytics share one bill."), kind="competitor")
    doc = MaterialDoc("d1", "vs-ld", "PostHog vs LaunchDarkly", "competitor", "launchdarkly", [chunk])
    assert _display_name(doc) == "LaunchDarkly"
    unnamed = MaterialDoc("d2", "vs-q", "Battlecard", "competitor", "quarry-cloud", [])
    assert _display_name(unnamed) == "Quarry Cloud"


def test_masking_keeps_the_possessive() -> None:
    masked = _mask("Tessellate requires customers to copy data into Tessellate's own storage.", {"tessellate"})
    assert masked == "The competitor requires customers to copy data into the competitor's own storage."
