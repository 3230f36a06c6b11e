"""The pitch API over the demo library: real model, Edge store, SQLite, HTTP through the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.tone import ToneProfile
from services.core.vectorstore import PointFilter
from services.pitch.personas import built_in
from tests.conftest import token
from tests.demo_corpus import demo_documents
from tests.integration.conftest import ctx_of, wait_job
from tests.integration.enablement_helpers import demo_app

pytestmark = pytest.mark.integration
REP = token("acme", "rep", sub="ada")


async def with_rival(client: AsyncTestClient[Any]) -> AsyncTestClient[Any]:
    """Org globex gets one document of its own beside the demo library of org acme."""
    rival = {
        "external_id": "globex-attribution",
        "kind": "feature",
        "title": "Globex attribution",
        "content": "## What it does\n\nGlobex shows which campaigns drive pipeline and revenue for marketers.",
    }
    posted = await client.post("/ingest/v1/documents", json=rival, headers=token("globex"))
    assert (await wait_job(client, posted.json()["job_id"], org="globex"))["status"] == "succeeded"
    return client


@pytest.fixture(scope="module")
async def library(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    """One app with the demo library in org acme and one rival document in org globex."""
    async with demo_app(str(tmp_path_factory.mktemp("pitch")), redis_url) as client:
        yield await with_rival(client)


def chunk_texts(client: AsyncTestClient[Any], org: str) -> dict[str, str]:
    return {p.id: p.payload["text"] for p in ctx_of(client).store.scroll(PointFilter(org_id=org), limit=100_000)}


def all_points(track: dict[str, Any]) -> list[dict[str, Any]]:
    points = [p for f in track["features"] for p in f["points"]]
    if track.get("competitor"):
        points += track["competitor"]["where_we_win"] + [o["response"] for o in track["competitor"]["objections"]]
    return points


@pytest.mark.parametrize("persona", sorted(built_in()))
async def test_every_persona_gets_a_grounded_track_in_its_tone(library: AsyncTestClient[Any], persona: str) -> None:
    response = await library.post("/pitch/v1/talk-tracks", json={"persona": persona}, headers=REP)
    assert response.status_code == 200, response.text
    track = response.json()
    profile = built_in()[persona]
    assert track["persona"] == persona and track["tone"] == profile.tone.value
    assert not track["abstained"] and 1 <= len(track["features"]) <= 4
    assert len({f["document_id"] for f in track["features"]}) == len(track["features"])
    assert all(1 <= len(f["points"]) <= 3 and f["why"] for f in track["features"])
    texts = chunk_texts(library, "acme")
    for point in all_points(track):
        assert point["text"] in texts[point["citation"]["chunk_id"]], point  # extractive: the chunk holds it
    if profile.tone.value == "business":
        tone = ToneProfile(profile.tone, tuple(profile.prefer), tuple(profile.avoid))
        said = [p["text"] for p in all_points(track)] + track["discovery_questions"]
        assert [t for t in said if tone.jargon(t)] == []
        # A feature goes by its title, or by its title with acronyms spelt out where that title is jargon.
        for f in track["features"]:
            assert f["heading"] == f["title"] or (tone.jargon(f["title"]) and f["heading"] != f["title"]), f
    assert track["discovery_questions"] and track["next_step"]
    assert "feat-legacy-flatfile-connector" not in {f["external_id"] for f in track["features"]}  # expired


async def test_security_buyer_leads_with_security_and_marketing_buyer_with_revenue(
    library: AsyncTestClient[Any],
) -> None:
    ciso = (await library.post("/pitch/v1/talk-tracks", json={"persona": "ciso"}, headers=REP)).json()
    cmo = (await library.post("/pitch/v1/talk-tracks", json={"persona": "cmo"}, headers=REP)).json()
    security = {
        "feat-sso-scim",
        "feat-rbac-audit-log",
        "feat-byok-encryption",
        "feat-data-residency-compliance",
        "feat-pii-redaction",
    }
    assert {f["external_id"] for f in ciso["features"]} <= security
    assert cmo["features"][0]["external_id"] == "feat-multi-touch-attribution"


async def test_competitor_section_comes_from_that_competitors_notes(library: AsyncTestClient[Any]) -> None:
    body = {"persona": "cmo", "competitor": "BrightFunnel", "segment": "enterprise", "context": "renewal in Q3"}
    track = (await library.post("/pitch/v1/talk-tracks", json=body, headers=REP)).json()
    section = track["competitor"]
    assert section["name"] == "BrightFunnel"
    assert section["where_we_win"] and section["objections"]
    cited = {
        p["citation"]["external_id"] for p in section["where_we_win"] + [o["response"] for o in section["objections"]]
    }
    assert cited == {"comp-brightfunnel"}
    assert all(o["objection"] and not o["objection"].startswith('"') for o in section["objections"])
    assert any("refresh" in q.lower() or "campaign" in q.lower() for q in track["discovery_questions"][3:])
    # A marketing buyer is never sent to a security review; the enterprise segment brings in procurement.
    assert "security review" not in track["next_step"] and "procurement" in track["next_step"]

    business = (
        await library.post("/pitch/v1/talk-tracks", json={"persona": "cfo", "competitor": "quarry"}, headers=REP)
    ).json()
    profile = built_in()["cfo"]
    tone = ToneProfile(profile.tone, tuple(profile.prefer), tuple(profile.avoid))
    assert business["competitor"] and all(
        tone.jargon(o["objection"]) is None for o in business["competitor"]["objections"]
    )
    # Battlecards past their review date are used with a warning, like features.
    assert any("Battlecard" in w and "past its review date" in w for w in track["warnings"])
    blank = await library.post("/pitch/v1/talk-tracks", json={"persona": "cio", "competitor": "--"}, headers=REP)
    assert blank.status_code == 422

    unknown = (
        await library.post("/pitch/v1/talk-tracks", json={"persona": "cio", "competitor": "Nobody Inc"}, headers=REP)
    ).json()
    assert unknown["competitor"] is None
    assert any("No competitor notes for 'Nobody Inc'" in w for w in unknown["warnings"])


async def test_segment_sets_the_next_step(library: AsyncTestClient[Any]) -> None:
    smb = (await library.post("/pitch/v1/talk-tracks", json={"persona": "cfo", "segment": "smb"}, headers=REP)).json()
    assert "finance" in smb["next_step"] and "two weeks" in smb["next_step"] and "owner" in smb["next_step"]


async def test_unknown_persona_and_bad_input_are_422(library: AsyncTestClient[Any]) -> None:
    unknown = await library.post("/pitch/v1/talk-tracks", json={"persona": "astronaut"}, headers=REP)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_persona" and "cio" in unknown.json()["error"]["message"]
    for body in ({"persona": "cio", "max_features": 9}, {"persona": "cio", "segment": "galactic"}, {}):
        assert (await library.post("/pitch/v1/talk-tracks", json=body, headers=REP)).status_code == 422
    assert (await library.post("/pitch/v1/talk-tracks", json={"persona": "cio"})).status_code == 401


async def test_empty_library_abstains(library: AsyncTestClient[Any]) -> None:
    response = await library.post("/pitch/v1/talk-tracks", json={"persona": "cio"}, headers=token("empty-org", "rep"))
    assert response.status_code == 200
    track = response.json()
    assert track["abstained"] is True and track["features"] == []
    assert any("add material on" in w for w in track["warnings"])


async def test_another_orgs_material_is_never_cited(library: AsyncTestClient[Any]) -> None:
    body = {"persona": "cmo", "context": "which campaigns drive pipeline and revenue", "max_features": 8}
    acme = (await library.post("/pitch/v1/talk-tracks", json=body, headers=REP)).json()
    globex = (await library.post("/pitch/v1/talk-tracks", json=body, headers=token("globex", "rep"))).json()
    assert "globex-attribution" not in {p["citation"]["external_id"] for p in all_points(acme)}
    assert {p["citation"]["external_id"] for p in all_points(globex)} == {"globex-attribution"}


async def test_markdown_rendering(library: AsyncTestClient[Any]) -> None:
    body = {"persona": "cio", "competitor": "halyard"}
    track = (await library.post("/pitch/v1/talk-tracks", json=body, headers=REP)).json()
    md = await library.post("/pitch/v1/talk-tracks", json=body, headers={**REP, "Accept": "text/markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Talk track for a Chief Information Officer (technical tone)")
    assert track["features"][0]["points"][0]["text"] in md.text and "## Against Halyard" in md.text
    assert track["next_step"] in md.text


async def test_custom_persona_crud_and_roles(library: AsyncTestClient[Any]) -> None:
    persona = {
        "id": "head_of_marketing_ops",
        "name": "Head of Marketing Operations",
        "tone": "business",
        "priorities": ["connecting ad platforms and the CRM", "audiences marketers can build themselves"],
        "avoid": ["api", "sdk"],
        "discovery_questions": ["Which tools does your team switch between every day?"],
    }
    assert (await library.post("/pitch/v1/personas", json=persona, headers=REP)).status_code == 403
    created = await library.post("/pitch/v1/personas", json=persona, headers=token("acme", "manager"))
    assert created.status_code == 201 and created.json()["built_in"] is False
    assert (
        await library.post("/pitch/v1/personas", json=persona, headers=token("acme", "engineer"))
    ).status_code == 409
    clash = await library.post("/pitch/v1/personas", json={**persona, "id": "cio"}, headers=token("acme", "manager"))
    assert clash.status_code == 409

    listed = (await library.get("/pitch/v1/personas", headers=REP)).json()
    assert {"cio", "head_of_marketing_ops"} <= {p["id"] for p in listed}
    assert "head_of_marketing_ops" not in {
        p["id"] for p in (await library.get("/pitch/v1/personas", headers=token("globex", "rep"))).json()
    }

    track = (await library.post("/pitch/v1/talk-tracks", json={"persona": "head_of_marketing_ops"}, headers=REP)).json()
    assert track["tone"] == "business" and track["features"]
    assert track["discovery_questions"][0] == "Which tools does your team switch between every day?"
    other_org = await library.post(
        "/pitch/v1/talk-tracks", json={"persona": "head_of_marketing_ops"}, headers=token("globex", "rep")
    )
    assert other_org.status_code == 422

    updated = await library.put(
        "/pitch/v1/personas/head_of_marketing_ops",
        json={**persona, "tone": "technical"},
        headers=token("acme", "engineer"),
    )
    assert updated.status_code == 200 and updated.json()["tone"] == "technical"
    assert (await library.put("/pitch/v1/personas/head_of_marketing_ops", json=persona, headers=REP)).status_code == 403
    assert (await library.delete("/pitch/v1/personas/head_of_marketing_ops", headers=REP)).status_code == 403
    assert (
        await library.delete("/pitch/v1/personas/head_of_marketing_ops", headers=token("acme", "admin"))
    ).status_code == 204
    assert (
        await library.delete("/pitch/v1/personas/head_of_marketing_ops", headers=token("acme", "admin"))
    ).status_code == 404


async def test_near_identical_documents_never_take_two_slots(library: AsyncTestClient[Any]) -> None:
    docs = {d["external_id"]: d for d in demo_documents()}
    picked = [
        "feat-multi-touch-attribution",
        "feat-segment-builder",
        "feat-experimentation",
        "feat-executive-dashboards",
    ]
    batch = [docs[e] for e in picked]
    twin = {**docs["feat-multi-touch-attribution"], "external_id": "attribution-copy", "title": "Attribution (copy)"}
    response = await library.post(
        "/ingest/v1/documents/batch", json={"documents": [*batch, twin]}, headers=token("dupes", "engineer")
    )
    assert (await wait_job(library, response.json()["job_id"], org="dupes"))["status"] == "succeeded"
    track = (await library.post("/pitch/v1/talk-tracks", json={"persona": "cmo"}, headers=token("dupes", "rep"))).json()
    chosen = {f["external_id"] for f in track["features"]}
    assert len(chosen & {"feat-multi-touch-attribution", "attribution-copy"}) == 1
    assert len(track["features"]) >= 3
