"""Talk tracks that fit the deal, over HTTP, on a small library written for these tests (a fictional field-service
product, Tidewell, and a rival, Fieldnest) whose shape differs from the demo's: prose comparison page, no
battlecard headings, systems named by name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.tone import ToneProfile
from services.pitch.personas import built_in
from tests.conftest import token
from tests.integration.conftest import app_with_library

pytestmark = pytest.mark.integration
ORG = "tidewell"
REP = token(ORG, "rep", sub="ada")


def _doc(external_id: str, kind: str, title: str, content: str, **extra: Any) -> dict[str, Any]:
    fields = {"external_id": external_id, "kind": kind, "title": title, "content": content, "product": "Tidewell"}
    return {**fields, **extra}


LIBRARY = [
    _doc(
        "tw-directory-sync",
        "feature",
        "Directory sync",
        "## What it does\n\nTidewell takes its users and teams from Okta or Microsoft Entra ID, so office staff and "
        "technicians get access on their first day and lose it the hour they leave. Group membership in the "
        "directory decides who can dispatch and who can only view schedules.\n\n## How it works\n\nTidewell reads "
        "the directory every fifteen minutes and removes access for disabled accounts at once.",
    ),
    _doc(
        "tw-warehouse-export",
        "feature",
        "Warehouse export",
        "## What it does\n\nTidewell streams every booking, visit and invoice line to Snowflake or BigQuery, so "
        "analysts report on field operations next to finance data. Tables arrive within five minutes of a change "
        "and keep their history.\n\n## Why it matters\n\nOperations leaders see utilisation and revenue per "
        "technician in the reports they already use.",
    ),
    _doc(
        "tw-offline-mobile",
        "feature",
        "Offline mobile app",
        "## What it does\n\nTechnicians open job sheets, capture photos and collect signatures with no signal in "
        "basements, tunnels and rural sites. Everything captured offline syncs the moment the phone reconnects, "
        "so the office sees finished jobs without calls.\n\n## Limits\n\nOffline editing is not supported on the "
        "Starter plan. Photos taken offline are kept for up to seven days on the device.",
    ),
    _doc(
        "tw-route-optimisation",
        "feature",
        "Route optimisation",
        "## What it does\n\nTidewell plans each technician's day in the order that wastes the least time on the "
        "road, and replans when a job runs late. Crews drive 18 percent fewer miles on average, which means more "
        "visits a day with the same team.",
    ),
    _doc(
        "tw-customer-portal",
        "feature",
        "Customer self-booking portal",
        "## What it does\n\nCustomers book, move and cancel visits themselves from a branded web page, at any "
        "hour. Office teams answer 40 percent fewer phone calls about appointments, and customers get a reminder "
        "the day before with the technician's arrival window.",
    ),
    _doc(
        "tw-usage-billing",
        "feature",
        "Usage-based billing",
        "## What it does\n\nTidewell charges per completed visit rather than per seat, so seasonal teams pay for "
        "the work they do. Finance sees next month's bill forecast from the schedule already booked.",
    ),
    _doc(
        "tw-uptime-sla",
        "feature",
        "Uptime SLA",
        "## Commitments\n\nTidewell's service level agreement (SLA) commits to 99.9 percent monthly uptime, so "
        "dispatchers and customers can book visits around the clock. A missed month earns a service credit on the "
        "next invoice, paid automatically.",
    ),
    _doc(
        "tw-branded-email",
        "feature",
        "Reminder emails over custom SMTP",
        "## Your brand in every inbox\n\nAppointment reminders and invoices leave from your own company address "
        "and carry your logo, so customers recognise them and open them. Businesses that switch see fewer "
        "missed appointments, because reminders stop landing in spam.",
    ),
    _doc(
        "cs-harbor-plumbing",
        "case_study",
        "Harbor Plumbing plans better routes",
        "## Results\n\nHarbor Plumbing cut drive time by 21 percent in the first quarter with route optimisation "
        "and added two visits per technician per week.",
    ),
    _doc(
        "tw-vs-fieldnest",
        "competitor",
        "Tidewell vs Fieldnest",
        "Fieldnest and Tidewell both schedule field teams, but they differ in how much is included.\n\n"
        "## Scheduling and dispatch\n\nFieldnest requires a separate add-on for route planning, priced per "
        "vehicle. Tidewell includes route optimisation in every plan and replans the day when a job runs late. "
        "Tidewell technicians also see the updated route on their phone at once.\n\n"
        "## Offline work\n\nFieldnest's mobile app is easy to learn and well regarded by technicians. Tidewell "
        "keeps job sheets, photos and signatures available with no signal and syncs them on reconnect. Tidewell "
        "does this on every paid plan.\n\n"
        "## Pricing\n\nFieldnest charges per seat, including office users who only view schedules. Tidewell "
        "charges per completed visit, so seasonal teams pay for the work they do.",
        competitor="Fieldnest",
    ),
]


@pytest.fixture(scope="module")
async def app(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with app_with_library(tmp_path_factory.mktemp("dealfit"), redis_url, ORG, LIBRARY) as client:
        yield client


async def _track(client: AsyncTestClient[Any], **body: Any) -> dict[str, Any]:
    response = await client.post("/pitch/v1/talk-tracks", json=body, headers=REP)
    assert response.status_code == 200, response.text
    track: dict[str, Any] = response.json()
    return track


def _sentences(text: str) -> int:
    return len(re.findall(r"[.!?](?:\s|$)", text))


async def test_one_persona_two_deals_get_different_leads(app: AsyncTestClient[Any]) -> None:
    driving = await _track(
        app, persona="cfo", context="Their technicians lose hours every day driving back and forth across the city."
    )
    phones = await _track(
        app,
        persona="cfo",
        context="The office is swamped by customers phoning to book and move appointments, and wants to hire less.",
    )
    assert driving["features"][0]["external_id"] == "tw-route-optimisation"
    assert phones["features"][0]["external_id"] == "tw-customer-portal"
    assert driving["features"][0]["why"].startswith("Fits what the deal says")


async def test_a_named_system_leads_to_the_feature_that_integrates_with_it(app: AsyncTestClient[Any]) -> None:
    okta = await _track(
        app, persona="cio", context="Every tool the company buys must take its users from Okta; no exceptions."
    )
    assert okta["features"][0]["external_id"] == "tw-directory-sync"
    snowflake = await _track(app, persona="cio", context="All reporting runs in Snowflake today.")
    assert snowflake["features"][0]["external_id"] == "tw-warehouse-export"


async def test_a_limitation_is_something_to_be_ready_for_never_a_point(app: AsyncTestClient[Any]) -> None:
    track = await _track(
        app, persona="vp_engineering", context="Technicians work in basements and rural sites with no phone signal."
    )
    offline = next(f for f in track["features"] if f["external_id"] == "tw-offline-mobile")
    limit = "Offline editing is not supported on the Starter plan."
    assert limit in [p["text"] for p in offline["be_ready_for"]]
    every_point = [p["text"] for f in track["features"] for p in f["points"]]
    assert all("not supported" not in t and "up to seven days" not in t for t in every_point)
    assert all(p["citation"]["external_id"] == "tw-offline-mobile" for p in offline["be_ready_for"])


async def test_a_case_study_backs_the_feature_it_is_about(app: AsyncTestClient[Any]) -> None:
    track = await _track(app, persona="cfo", context="Crews waste too much of the day on the road between visits.")
    route = next(f for f in track["features"] if f["external_id"] == "tw-route-optimisation")
    assert route["proof"]["citation"]["external_id"] == "cs-harbor-plumbing"
    assert "21 percent" in route["proof"]["text"]


async def test_a_prose_comparison_page_yields_a_full_competitor_section(app: AsyncTestClient[Any]) -> None:
    track = await _track(
        app, persona="cfo", competitor="fieldnest", context="They pay Fieldnest per seat for office staff."
    )
    section = track["competitor"]
    assert section["name"] == "Fieldnest"  # as the notes write it, not as the rep typed it
    assert section["where_we_win"] and section["objections"]
    cited = [p["citation"]["external_id"] for p in section["where_we_win"]]
    cited += [o["response"]["citation"]["external_id"] for o in section["objections"]]
    assert set(cited) == {"tw-vs-fieldnest"}
    assert all(_sentences(o["response"]["text"]) >= 2 for o in section["objections"]), section["objections"]
    assert any("Fieldnest" in o["objection"] for o in section["objections"])
    stronger = [p["text"] for p in section["where_they_are_stronger"]]
    assert any("easy to learn" in t for t in stronger)
    assert all("easy to learn" not in p["text"] for p in section["where_we_win"])


async def test_next_step_follows_persona_and_segment(app: AsyncTestClient[Any]) -> None:
    cmo = await _track(app, persona="cmo", segment="enterprise")
    ciso = await _track(app, persona="ciso", segment="enterprise")
    assert "security review" not in cmo["next_step"].lower()
    assert "security review" in ciso["next_step"].lower()
    assert "procurement" in cmo["next_step"] and "procurement" in ciso["next_step"]
    smb = await _track(app, persona="ciso", segment="smb")
    assert smb["next_step"] != ciso["next_step"] and "two weeks" in smb["next_step"]


async def test_no_context_still_gets_a_persona_generic_track(app: AsyncTestClient[Any]) -> None:
    track = await _track(app, persona="cfo")
    assert not track["abstained"] and track["features"]
    assert track["features"][0]["why"] == "Fits what this buyer is measured on."


async def test_markdown_has_footnotes_with_titles_and_no_ids(app: AsyncTestClient[Any]) -> None:
    body = {"persona": "cfo", "competitor": "fieldnest", "context": "Crews waste the day driving between visits."}
    track = await _track(app, **body)
    md = await app.post("/pitch/v1/talk-tracks", json=body, headers={**REP, "Accept": "text/markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "## Against Fieldnest" in md.text
    assert re.search(r"\[\^1\]: \*Route optimisation\*", md.text)
    assert "[^1]" in md.text.split("---")[0]
    ids = {p["citation"]["chunk_id"] for f in track["features"] for p in f["points"]}
    ids |= {p["citation"]["document_id"] for f in track["features"] for p in f["points"]}
    ids |= {f["external_id"] for f in track["features"]}
    assert ids and not any(i in md.text for i in ids)


async def test_a_business_buyer_hears_feature_names_with_the_librarys_own_spelt_out_acronyms(
    app: AsyncTestClient[Any],
) -> None:
    body = {
        "persona": "cfo",
        "context": "The owner will not sign unless availability is guaranteed in writing, with credits if missed.",
    }
    track = await _track(app, **body)
    by_id = {f["external_id"]: f for f in track["features"]}
    assert "tw-uptime-sla" in by_id, list(by_id)
    # "SLA" is spelt out the way the library itself defines it; the title stays as written for the API.
    assert by_id["tw-uptime-sla"]["title"] == "Uptime SLA"
    assert by_id["tw-uptime-sla"]["heading"] == "Uptime service level agreement"
    md = await app.post("/pitch/v1/talk-tracks", json=body, headers={**REP, "Accept": "text/markdown"})
    assert re.search(r"^## \d\. Uptime service level agreement$", md.text, re.M), md.text
    # A technical buyer sees every title as written.
    technical = await _track(app, **{**body, "persona": "cio"})
    assert technical["features"] and all(f["heading"] == f["title"] for f in technical["features"])


async def test_a_feature_whose_name_is_jargon_is_still_pitched_when_it_answers_the_deal(
    app: AsyncTestClient[Any],
) -> None:
    context = (
        "Customers ignore appointment reminders because they come from an unknown sender and land in spam. "
        "Marketing wants every reminder to look like it comes from the brand."
    )
    track = await _track(app, persona="cmo", context=context)
    ids = [f["external_id"] for f in track["features"]]
    assert ids[0] == "tw-branded-email", ids
    lead = track["features"][0]
    # The library never spells out SMTP: the name is shown as written, and everything said stays plain.
    assert lead["heading"] == lead["title"] == "Reminder emails over custom SMTP"
    cmo = built_in()["cmo"]
    tone = ToneProfile(cmo.tone, tuple(cmo.prefer), tuple(cmo.avoid))
    assert lead["points"] and all(tone.jargon(p["text"]) is None for p in lead["points"])
