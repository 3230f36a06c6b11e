"""Sentence rules of talk-track points and competitor notes (pure functions; no model)."""

from __future__ import annotations

import numpy as np
import pytest

from services.pitch.competitor import NoteChunk, display_name, handle
from services.pitch.points import is_dangling, is_limitation, sentence_spans, with_antecedent
from services.pitch.ranking import deal_needs, named_systems, rrf


@pytest.mark.parametrize(
    "sentence",
    [
        "SAML SSO is available for Team and Enterprise Plan customers.",
        "Offline editing is not supported on the Starter plan.",
        "You must enable the audit log before you can export it.",
        "Exports are limited to 10,000 rows per request.",
        "Requires upgrading to the Identity Platform.",
        "Branching is in beta.",
    ],
)
def test_limitations_are_recognised(sentence: str) -> None:
    assert is_limitation(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Customers book, move and cancel visits themselves at any hour.",
        "Users cannot see another customer's records.",
        "Crews drive 18 percent fewer miles on average.",
        "The Pro Plan includes daily backups.",
    ],
)
def test_claims_of_value_are_not_limitations(sentence: str) -> None:
    assert not is_limitation(sentence)


def test_a_section_about_limits_makes_every_sentence_a_limitation() -> None:
    assert is_limitation("Photos are kept for seven days on the device.", "Offline mobile app > Limits")


def test_a_sentence_that_refers_back_comes_with_its_antecedent_or_not_at_all() -> None:
    text = "Tidewell plans each route. It also replans when a job runs late.\n\nThis saves fuel."
    spans = sentence_spans(text)
    assert [s.text for s in spans] == [
        "Tidewell plans each route.",
        "It also replans when a job runs late.",
        "This saves fuel.",
    ]
    assert is_dangling(spans[1].text) and not is_dangling(spans[0].text)
    joined = with_antecedent(text, spans, 1)
    assert joined is not None and joined.text == "Tidewell plans each route. It also replans when a job runs late."
    assert joined.text in text
    assert with_antecedent(text, spans, 2) is None  # its antecedent is in another paragraph


def test_named_systems_skip_roles_and_sentence_openers() -> None:
    text = "A retailer standardised on Okta. The CIO wants reports in BigQuery and SOC 2 evidence from Auth0."
    assert named_systems(text) == ["Okta", "BigQuery", "SOC", "Auth0"]


def test_the_department_in_a_job_title_is_not_a_system() -> None:
    text = (
        "The agency's VP Sales needs SFDC data. Our Head of Product Marketing uses Marketo. The VP of Engineering "
        "Operations runs Datadog, and the Chief Information Security Officer wants SOC 2 from Okta."
    )
    assert named_systems(text) == ["SFDC", "Marketo", "Datadog", "SOC", "Okta"]


def test_needs_lead_with_the_deal_and_keep_priorities_as_a_weak_prior() -> None:
    needs = deal_needs(None, "They run Okta. Contractors kept admin rights.", None, ["lower risk", "pass audits"])
    kinds = [n.kind for n in needs]
    assert kinds == ["deal", "sentence", "sentence", "prior", "prior", "system"]
    assert sum(n.weight for n in needs if n.kind == "prior") < needs[0].weight
    generic = deal_needs(None, None, None, ["lower risk", "pass audits"])
    assert [n.kind for n in generic] == ["prior", "prior"] and all(n.weight == 1.0 for n in generic)


def test_rrf_fuses_rankings() -> None:
    assert rrf([1, 2, 3], [3, 1, 2])[0] == 1


def test_display_name_follows_the_notes() -> None:
    assert display_name("heroku postgres", ["Unlike Heroku Postgres, we ...", "heroku postgres"]) == "Heroku Postgres"
    assert display_name("nobody", ["text"]) == "nobody"


def test_prose_comparison_sorts_sentences_by_side() -> None:
    chunk = NoteChunk(
        "c1",
        "Pricing",
        "Fieldnest charges per seat, so costs are hard to predict. Tidewell charges per completed visit, so "
        "seasonal teams pay for the work they do. Fieldnest's mobile app is easy to learn.",
    )
    handling = handle([chunk], "Fieldnest", ["Tidewell"], {"c1": 0.5}, lambda _t: True)
    wins = [q.text for q in handling.where_we_win]
    assert "Tidewell charges per completed visit, so seasonal teams pay for the work they do." in wins
    assert "Fieldnest charges per seat, so costs are hard to predict." in wins
    assert [q.text for q in handling.where_they_are_stronger] == ["Fieldnest's mobile app is easy to learn."]
    question, response = handling.objections[0]
    assert question == "How do you compare with Fieldnest on pricing?"
    assert response.text.count(".") >= 2 and response.text in chunk.text
    assert np.isfinite(response.score)


def test_strength_headings_are_read_by_whose_name_they_carry() -> None:
    """Real comparison pages title their sections "Strengths of <product>" and "Strengths of <competitor>": the
    name decides the side; the page's reply about us under their strengths is no strength of theirs."""
    ours_section = NoteChunk("c1", "Acme vs Quarry > Strengths of Acme", "Acme ships session replay in every plan.")
    theirs_section = NoteChunk(
        "c2",
        "Acme vs Quarry > Strengths of Quarry",
        "Quarry offers a personalization engine powered by machine learning. "
        "Acme is free up to one million events, including features not available on Quarry's free tier.",
    )
    topic = NoteChunk(
        "c3",
        "Acme vs Quarry > How is Acme different from Quarry?",
        "Acme captures events without instrumenting them by hand. Quarry needs every event instrumented.",
    )
    handling = handle([ours_section, theirs_section, topic], "Quarry", ["Acme"], {}, lambda _t: True)
    wins = [q.text for q in handling.where_we_win]
    assert "Acme ships session replay in every plan." in wins
    stronger = [q.text for q in handling.where_they_are_stronger]
    assert stronger == ["Quarry offers a personalization engine powered by machine learning."]
    # A question heading is the buyer's question as written, not "How do you compare with Quarry on how is ...?".
    assert [question for question, _ in handling.objections] == ["How is Acme different from Quarry?"]


def test_a_subsection_speaks_for_the_side_its_parent_heading_announces() -> None:
    """Comparison pages group our strengths under "Why Acme" or "Acme highlights for ..." with a subsection per
    topic whose sentences do not repeat our name; they are ours all the same."""
    chunk = NoteChunk(
        "c1",
        "Acme vs Quarry > Acme highlights for retail teams > Reaching people outside the tool",
        "Dashboard subscriptions deliver results by email every morning.",
    )
    neutral = NoteChunk("c2", "Acme vs Quarry > What is Quarry?", "Quarry is a reporting tool for finance teams.")
    # Their highlights pass nothing down: a subsection of them holds their gaps as often.
    gaps = NoteChunk("c3", "Acme vs Quarry > Quarry highlights > Known gaps", "Quarry still has no native SSO support.")
    handling = handle([chunk, neutral, gaps], "Quarry", ["Acme"], {}, lambda _t: True)
    assert [q.text for q in handling.where_we_win] == [chunk.text, gaps.text]
    assert handling.where_they_are_stronger == []
