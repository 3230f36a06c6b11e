"""Talk tracks for a deal, over HTTP (issue 12): the notes give the context, objections get cited answers from
the library, features shown in earlier tracks are marked, the next step is the deal's, and deal access rules
hold (another rep's or org's deal is 404; another deal's notes never appear)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.main import create_app
from tests.conftest import settings_for_tests, token
from tests.demo_corpus import demo_documents
from tests.integration.conftest import wait_job
from tests.integration.test_deals_api import deal_body

pytestmark = pytest.mark.integration
ADA = token("acme", "rep", sub="ada")
BEN = token("acme", "rep", sub="ben")
MAYA = token("acme", "manager", sub="maya")
GLOBEX = token("globex", "manager", sub="gus")
TODAY = datetime.now(UTC).date().isoformat()

# Calder Freight, enterprise, discovery, Halyard; Jo Brennan (cfo), Sam Ortiz (cio) and Lee Park (no persona).
DEAL = deal_body(close_date=None, amount=None)
DEAL["stakeholders"] = [*DEAL["stakeholders"], {"name": "Lee Park", "role": "Analyst"}]
NOTE = """Met Jo Brennan (CFO) and Sam Ortiz.
Pains:
- Security questionnaires for every new vendor take their team months and block projects.
- Jo wants proof that customer data stays encrypted with keys they control.
Objections:
- Security reviews at their bank take six months and could stall the deal.
- The CMO worries the rollout clashes with their spring rebrand."""
OTHER_NOTE = """Pains:
- Their field marketers cannot see which trade shows produce pipeline.
Objections:
- Marguerite thinks the onboarding fee is unfair for a nonprofit."""


@pytest.fixture(scope="module")
async def demo(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = settings_for_tests(tmp_path_factory.mktemp("dealtracks"), REDIS_URL=redis_url)
    async with AsyncTestClient(app=create_app(settings), timeout=120) as client:
        batch = await client.post(
            "/ingest/v1/documents/batch", json={"documents": demo_documents()}, headers=token("acme")
        )
        assert batch.status_code == 202, batch.text
        assert (await wait_job(client, batch.json()["job_id"]))["status"] == "succeeded"
        yield client


async def _deal(client: AsyncTestClient[Any], headers: dict[str, str], note: str, **over: Any) -> dict[str, Any]:
    created = await client.post("/pitch/v1/deals", json={**DEAL, **over}, headers=headers)
    assert created.status_code == 201, created.text
    deal: dict[str, Any] = created.json()
    body = {"meeting_date": TODAY, "attendees": ["Jo Brennan", "Sam Ortiz"], "text": note}
    posted = await client.post(f"/pitch/v1/deals/{deal['id']}/notes", json=body, headers=headers)
    assert posted.status_code == 201, posted.text
    deal["note"] = posted.json()
    return deal


async def _track(client: AsyncTestClient[Any], headers: dict[str, str] = ADA, **body: Any) -> dict[str, Any]:
    response = await client.post("/pitch/v1/talk-tracks", json=body, headers=headers)
    assert response.status_code == 200, response.text
    track: dict[str, Any] = response.json()
    return track


async def test_objections_in_the_notes_get_cited_answers_or_are_listed_unanswered(
    demo: AsyncTestClient[Any],
) -> None:
    deal = await _deal(demo, ADA, NOTE)
    note = deal["note"]
    track = await _track(demo, deal_id=deal["id"], stakeholder="jo brennan")  # persona from the stakeholder
    assert track["persona"] == "cfo"
    section = track["deal"]
    assert section["deal_id"] == deal["id"] and section["account"] == "Calder Freight"
    assert section["stage"] == "discovery"
    by_text = {o["objection"]["text"]: o for o in section["objections"]}
    security = by_text["Security reviews at their bank take six months and could stall the deal."]
    citation = security["objection"]
    assert citation["note_id"] == note["id"] and note["sentences"][citation["sentence"]] == citation["text"]
    answer = security["response"]
    assert answer is not None and answer["citation"]["external_id"] == "obj-security-review-too-long"
    assert "How to respond" in answer["citation"]["section"] and security["similarity"] >= 0.34
    chunks = {p["chunk_id"]: p for p in await _chunk_texts(demo)}
    assert answer["text"] in chunks[answer["citation"]["chunk_id"]]["text"]  # extractive, cited
    rebrand = by_text["The CMO worries the rollout clashes with their spring rebrand."]
    assert rebrand["response"] is None and rebrand["similarity"] < 0.34
    assert any("close enough to answer" in w and "rebrand" in w for w in track["warnings"])
    # The pains joined the context, cited to the note.
    assert {c["note_id"] for c in section["context"]} == {note["id"]}
    assert any("keys they control" in c["text"] for c in section["context"])
    assert section["competitors"][0] == "Halyard" and track["competitor"]["name"] == "Halyard"


async def _chunk_texts(client: AsyncTestClient[Any]) -> list[dict[str, Any]]:
    from services.core.vectorstore import PointFilter
    from tests.integration.conftest import ctx_of

    points = ctx_of(client).store.scroll(PointFilter(org_id="acme"), limit=100_000)
    return [{"chunk_id": p.id, "text": p.payload["text"]} for p in points]


async def test_the_deals_pains_lead_and_the_next_step_is_the_deals(demo: AsyncTestClient[Any]) -> None:
    deal = await _deal(demo, ADA, NOTE)
    plain = await _track(demo, persona="cfo")
    for_deal = await _track(demo, persona="cfo", deal_id=deal["id"])
    assert plain.get("deal") is None
    leads = [f["external_id"] for f in for_deal["features"]]
    assert leads[0] != plain["features"][0]["external_id"]
    assert leads[0] in {"feat-byok-encryption", "feat-data-residency-compliance", "feat-rbac-audit-log"}, leads
    step = (await demo.get(f"/pitch/v1/deals/{deal['id']}/next-step?persona=cfo", headers=ADA)).json()
    assert for_deal["next_step"].startswith(step["action"].rstrip("."))
    assert step["by_date"] in for_deal["next_step"] and for_deal["deal"]["next_step"] == for_deal["next_step"]
    assert for_deal["next_step"] != plain["next_step"]


async def test_a_second_track_marks_features_already_presented(demo: AsyncTestClient[Any]) -> None:
    deal = await _deal(demo, ADA, NOTE)
    first = await _track(demo, persona="ciso", deal_id=deal["id"])
    assert first["deal"]["already_presented"] == []
    assert not any(f["already_presented"] for f in first["features"])
    shown = {f["external_id"] for f in first["features"]}
    second = await _track(demo, persona="cfo", deal_id=deal["id"], max_features=6)
    assert set(second["deal"]["already_presented"]) == shown
    marked = {f["external_id"] for f in second["features"] if f["already_presented"]}
    assert marked and marked == shown & {f["external_id"] for f in second["features"]}
    # The manager's track for the rep's deal sees the same history.
    third = await _track(demo, MAYA, persona="cfo", deal_id=deal["id"])
    assert shown | {f["external_id"] for f in second["features"]} == set(third["deal"]["already_presented"])
    # Without the deal nothing is marked.
    assert not any(f["already_presented"] for f in (await _track(demo, persona="cfo"))["features"])


async def test_another_reps_or_orgs_deal_is_404_and_other_deals_notes_never_appear(
    demo: AsyncTestClient[Any],
) -> None:
    mine = await _deal(demo, ADA, NOTE)
    theirs = await _deal(demo, BEN, OTHER_NOTE, account_name="Marguerite Foundation")
    for headers, deal_id in ((BEN, mine["id"]), (ADA, theirs["id"]), (GLOBEX, mine["id"]), (ADA, "no-such-deal")):
        response = await demo.post(
            "/pitch/v1/talk-tracks", json={"persona": "cfo", "deal_id": deal_id}, headers=headers
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "deal_not_found"
        assert "Calder" not in response.text and "Marguerite" not in response.text
    track = await _track(demo, persona="cfo", deal_id=mine["id"], max_features=8)
    text = json.dumps(track)
    for sentence in theirs["note"]["sentences"]:
        assert sentence not in text
    assert "Marguerite" not in text and "trade shows" not in text and theirs["id"] not in text
    markdown = await demo.post(
        "/pitch/v1/talk-tracks",
        json={"persona": "cfo", "deal_id": mine["id"]},
        headers={**ADA, "Accept": "text/markdown"},
    )
    assert "Marguerite" not in markdown.text and "trade shows" not in markdown.text


async def test_who_the_track_is_for_must_be_clear(demo: AsyncTestClient[Any]) -> None:
    deal = await _deal(demo, ADA, NOTE)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"deal_id": deal["id"]}, "validation_error"),  # neither persona nor stakeholder
        ({"context": "x"}, "validation_error"),
        ({"persona": "cfo", "stakeholder": "Jo Brennan"}, "validation_error"),  # a stakeholder needs its deal
        ({"deal_id": deal["id"], "stakeholder": "Nobody Here"}, "unknown_stakeholder"),
        ({"deal_id": deal["id"], "stakeholder": "Lee Park"}, "unknown_stakeholder"),  # no persona
    ]
    for body, code in cases:
        response = await demo.post("/pitch/v1/talk-tracks", json=body, headers=ADA)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == code and error["message"], error
    unknown = (await demo.post("/pitch/v1/talk-tracks", json=cases[3][0], headers=ADA)).json()["error"]
    assert unknown["details"]["stakeholders"] == ["Jo Brennan", "Sam Ortiz"]
    assert "persona" in json.dumps((await demo.post("/pitch/v1/talk-tracks", json=cases[0][0], headers=ADA)).json())
    # A persona sent with a stakeholder wins.
    assert (await _track(demo, persona="ciso", deal_id=deal["id"], stakeholder="Jo Brennan"))["persona"] == "ciso"


async def test_markdown_shows_the_deal_with_note_footnotes(demo: AsyncTestClient[Any]) -> None:
    deal = await _deal(demo, ADA, NOTE)
    await _track(demo, persona="cfo", deal_id=deal["id"])
    response = await demo.post(
        "/pitch/v1/talk-tracks",
        json={"persona": "cfo", "deal_id": deal["id"]},
        headers={**ADA, "Accept": "text/markdown"},
    )
    assert response.status_code == 200
    text = response.text
    assert "## This deal: Calder Freight (discovery)" in text
    assert '**They raised:** "Security reviews at their bank take six months and could stall the deal."[^' in text
    assert f"*Meeting note of {TODAY}*, sentence" in text
    assert "Nothing in the library answers this closely enough yet." in text
    assert "(already presented)" in text
    assert deal["id"] not in text  # no ids in the text


async def test_notes_are_indexed_within_their_deal_and_features_quote_what_the_customer_said(
    demo: AsyncTestClient[Any],
) -> None:
    """A note's sentences are indexed under the deal's own scope: a feature of the deal's track quotes the
    sentences that speak to it, cited to the note; no other scope (the org's library, another deal) sees them,
    and deleting the deal drops them."""
    from services.core.vectorstore import PointFilter
    from services.pitch.deals.index import deal_scope
    from tests.integration.conftest import ctx_of

    mine = await _deal(demo, ADA, NOTE, account_name="Quoting Freight")
    theirs = await _deal(demo, BEN, OTHER_NOTE, account_name="Quoting Foundation")
    store = ctx_of(demo).store
    scoped = store.scroll(PointFilter(org_id=deal_scope("acme", mine["id"])))
    assert sorted(p.payload["text"] for p in scoped) == sorted(mine["note"]["sentences"])
    assert {p.payload["kind"] for p in scoped} == {"call_note"}
    # The org's own queries never reach a deal's notes.
    org_texts = {str(p.payload.get("text")) for p in store.scroll(PointFilter(org_id="acme"), limit=100_000)}
    assert not org_texts & set(mine["note"]["sentences"])
    track = await _track(demo, deal_id=mine["id"], persona="cfo")
    quoted = [(f["external_id"], q) for f in track["features"] for q in f["customer_said"]]
    assert quoted, [f["external_id"] for f in track["features"]]
    for _, quote in quoted:
        assert quote["note_id"] == mine["note"]["id"]
        assert mine["note"]["sentences"][quote["sentence"]] == quote["text"]
    encryption = next((f for f in track["features"] if f["external_id"] == "feat-byok-encryption"), None)
    if encryption is not None:
        assert any("keys they control" in q["text"] for q in encryption["customer_said"])
    other = await _track(demo, BEN, deal_id=theirs["id"], persona="cmo")
    other_quotes = {q["text"] for f in other["features"] for q in f["customer_said"]}
    assert not other_quotes & set(mine["note"]["sentences"])
    assert (await demo.delete(f"/pitch/v1/deals/{mine['id']}", headers=ADA)).status_code == 204
    assert store.scroll(PointFilter(org_id=deal_scope("acme", mine["id"]))) == []
