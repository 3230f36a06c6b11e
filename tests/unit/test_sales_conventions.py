"""The conventions pitch and enablement share live in one place (services/core/sales.py), so the tone a quiz
expects and the tone a talk track uses cannot drift apart."""

import pytest

from services.core import sales
from services.core.tone import ToneProfile
from services.enablement import generate
from services.enablement import schemas as enablement_schemas
from services.pitch import competitor
from services.pitch import schemas as pitch_schemas
from services.pitch.schemas import Tone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Meet GDPR and SOC 2 obligations without a project", None),  # regulations business buyers name
        ("Sign in through SAML from your identity provider", "SAML"),
        ("Cut the KPIs review from a week to a day", None),
        ("Use the API to sync contacts", "API"),
        ("Our dashboard shows the pipeline", "dashboard"),  # the buyer's own avoid list
        ("Export to SQL tools", None),  # an acronym the buyer's prefer list names
    ],
)
def test_jargon_is_one_rule(text: str, expected: str | None) -> None:
    avoid, prefer = ("dashboard",), ("sql",)
    assert sales.jargon(text, avoid, prefer) == expected
    # The talk track's tone profile answers exactly as the shared rule does.
    assert ToneProfile(Tone.BUSINESS, prefer, avoid).jargon(text) == expected


def test_a_products_own_name_in_capitals_is_a_name_not_jargon() -> None:
    names = sales.capitalised_names(["ZITRO", "SAP", "API Hub", "Lumora", ""])
    assert names == ("SAP", "ZITRO")  # "API" of "API Hub" stays an acronym
    assert sales.jargon("ZITRO closes the books two days sooner", names=names) is None
    assert sales.jargon("ZITRO closes the books two days sooner") == "ZITRO"  # no names given: an acronym
    assert sales.jargon("ZITRO exposes an API", names=names) == "API"  # other acronyms still count
    assert ToneProfile(Tone.BUSINESS, (), (), names).jargon("Moving off SAP takes a weekend") is None
    assert ToneProfile(Tone.BUSINESS, (), (), names).jargon("API Hub exposes an API") == "API"


def test_both_services_use_the_shared_rule_and_citation() -> None:
    # The quiz generator's "which line suits a business buyer" keys and wrong options use the same rule as the
    # talk track (it once treated every acronym as jargon, GDPR included, so a line a CMO's track used could be
    # a quiz's wrong answer).
    assert generate.jargon is sales.jargon
    assert pitch_schemas.Citation is sales.Citation
    assert enablement_schemas.Citation is sales.Citation
    assert generate.heading_side is competitor.heading_side is sales.heading_side


@pytest.mark.parametrize(
    ("heading", "side"),
    [
        ("Where we win", "win"),
        ("Why choose us", "win"),
        ("Our edge", "win"),
        ("Benefits over Firebase", "win"),
        ("Where we are stronger", "win"),
        ("Strengths of Acme", "win"),
        ("Where they are strong", "theirs"),
        ("Where they win", "theirs"),
        ("Their strengths", "theirs"),
        ("Their advantages", "theirs"),
        ("Competitor advantage", "theirs"),
        ("Strengths of Quarry", "theirs"),
        ("Why Quarry wins deals", "theirs"),
        ("Pricing", None),
    ],
)
def test_competitor_headings(heading: str, side: str | None) -> None:
    assert sales.heading_side(heading, ["Acme"], ["Quarry"]) == side


def test_citation_display_fields_are_optional() -> None:
    # Enablement stored citations before title and section existed: they still read.
    cited = sales.Citation(document_id="d", external_id="x", version=1, chunk_id="c")
    assert (cited.as_of, cited.title, cited.section) == (None, "", "")


def test_acronyms_are_spelt_out_the_way_the_library_defines_them() -> None:
    found = sales.acronym_expansions(
        [
            "Our service level agreement (SLA) covers every plan. Staff sign in with single sign-on (SSO).",
            "The California Consumer Privacy Act (CCPA) applies. Logs go to a bucket (S3) nightly.",
            "A second definition, the Standard Level Assurance (SLA), does not replace the first.",
        ]
    )
    assert found == {
        "SLA": "service level agreement",
        "SSO": "single sign-on",
        "CCPA": "California Consumer Privacy Act",
    }  # "(S3)" is no definition: "a bucket" does not spell it
    assert sales.expand_acronyms("Uptime SLA and SSO", found) == "Uptime service level agreement and single sign-on"
    assert sales.expand_acronyms("SLAs for SMTP", found) == "service level agreements for SMTP"  # unknown: as written
