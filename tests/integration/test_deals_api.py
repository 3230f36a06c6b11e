"""Deals over HTTP: access rules (SQLite and PostgreSQL), notes analysed on save with citations, the next-step
flag, next steps by stage and segment, processes as data, the pipeline, and bad input refused with nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.settings import Settings
from services.main import create_app
from tests.conftest import token

pytestmark = pytest.mark.integration

ADA = token("acme", "rep", sub="ada")
BEN = token("acme", "rep", sub="ben")
MAYA = token("acme", "manager", sub="maya")
ADMIN = token("acme", "admin", sub="root")
GLOBEX_MGR = token("globex", "manager", sub="gus")
TODAY = datetime.now(UTC).date()


@pytest.fixture
async def deals(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any, database: str | None
) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(make_settings(REDIS_URL=redis_url, DATABASE_URL=database))
    async with AsyncTestClient(app=app, timeout=60) as client:
        yield client


@pytest.fixture
async def sqlite_deals(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(make_settings(REDIS_URL=redis_url))
    async with AsyncTestClient(app=app, timeout=60) as client:
        yield client


def deal_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account_name": "Calder Freight",
        "segment": "enterprise",
        "stage": "discovery",
        "stakeholders": [
            {"name": "Jo Brennan", "role": "CFO", "persona": "cfo"},
            {"name": "Sam Ortiz", "role": "IT director", "persona": "cio"},
        ],
        "competitors": ["Halyard"],
        "amount": 120000,
        "close_date": (TODAY + timedelta(days=90)).isoformat(),
    }
    body.update(over)
    return body


async def create(client: AsyncTestClient[Any], headers: dict[str, str], **over: Any) -> dict[str, Any]:
    response = await client.post("/pitch/v1/deals", json=deal_body(**over), headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    if code:
        assert error["code"] == code


async def test_reps_see_only_their_deals_managers_all_of_their_org(deals: AsyncTestClient[Any]) -> None:
    mine = await create(deals, ADA)
    assert mine["owner"] == "ada" and mine["segment"] == "enterprise"
    theirs = await create(deals, BEN, account_name="Other account")
    url = f"/pitch/v1/deals/{mine['id']}"

    assert (await deals.get(url, headers=ADA)).status_code == 200
    assert_error(await deals.get(url, headers=BEN), 404, "deal_not_found")  # another rep: as if it did not exist
    assert_error(await deals.get(url, headers=GLOBEX_MGR), 404)  # another org, even a manager
    assert_error(await deals.put(url, json=deal_body(), headers=BEN), 404)
    assert_error(await deals.get(url + "/next-step", headers=BEN), 404)
    note = {"meeting_date": TODAY.isoformat(), "text": "They want faster reports."}
    assert_error(await deals.post(url + "/notes", json=note, headers=BEN), 404)
    manager_view = await deals.get(url, headers=MAYA)
    assert manager_view.status_code == 200 and manager_view.json()["deal"]["id"] == mine["id"]
    assert_error(await deals.put(url, json=deal_body(), headers=MAYA), 403, "not_deal_owner")  # reads, never writes
    assert_error(await deals.post(url + "/notes", json=note, headers=MAYA), 403)

    assert [d["id"] for d in (await deals.get("/pitch/v1/deals", headers=ADA)).json()] == [mine["id"]]
    assert {d["id"] for d in (await deals.get("/pitch/v1/deals", headers=MAYA)).json()} == {mine["id"], theirs["id"]}
    assert (await deals.get("/pitch/v1/deals", headers=GLOBEX_MGR)).json() == []
    owned = await deals.get("/pitch/v1/deals/pipeline", params={"owner": "ben"}, headers=MAYA)
    assert owned.status_code == 200 and owned.json()["total"] == 1
    assert_error(await deals.get("/pitch/v1/deals/pipeline", params={"owner": "ada"}, headers=BEN), 403)
    assert_error(await deals.post("/pitch/v1/deals", json=deal_body(owner="ben"), headers=ADA), 403)
    assert (await deals.post("/pitch/v1/deals", json=deal_body(owner="ben"), headers=MAYA)).json()["owner"] == "ben"

    updated = await deals.put(url, json=deal_body(stage="technical_validation"), headers=ADA)
    assert updated.status_code == 200 and updated.json()["stage"] == "technical_validation"
    assert (await deals.delete(url, headers=ADMIN)).status_code == 204
    assert_error(await deals.get(url, headers=ADA), 404)


NOTE = """Met Jo Brennan (CFO) and Sam Ortiz from IT.
- Finance closes the quarter with 40 tabs of spreadsheets and the forecast misses by 15%.
- Jo wants one pipeline number the board trusts.
- Sam: SSO through Okta is a must, and they need our SOC 2 report.
- Jo is worried the price is too high next to Halyard's quote.
- They are also evaluating Quarry.
- We will send the security pack by Friday.
- Next step: architecture session with Sam and our solution engineer on {date}."""


async def test_a_note_is_analysed_on_save_with_every_item_cited(sqlite_deals: AsyncTestClient[Any]) -> None:
    client = sqlite_deals
    deal = await create(client, ADA)
    when = (TODAY + timedelta(days=9)).isoformat()
    body = {"meeting_date": TODAY.isoformat(), "attendees": ["Jo Brennan", "Sam Ortiz"], "text": NOTE.format(date=when)}
    response = await client.post(f"/pitch/v1/deals/{deal['id']}/notes", json=body, headers=ADA)
    assert response.status_code == 201, response.text
    note = response.json()
    a = note["analysis"]
    items = [i for k in ("pains", "objections", "competitors", "systems", "commitments", "next_steps") for i in a[k]]
    for item in items:  # extractive: every item cites a sentence of this note, as written
        c = item["citation"]
        assert c["note_id"] == note["id"] and note["sentences"][c["sentence"]] == c["text"]
        assert c["text"] in body["text"]
    assert any("40 tabs of spreadsheets" in p["text"] for p in a["pains"])
    assert any(p["kind"] == "goal" and "board trusts" in p["text"] for p in a["pains"])
    assert [o["text"] for o in a["objections"]] == ["Jo is worried the price is too high next to Halyard's quote."]
    assert {c["text"] for c in a["competitors"]} == {"Halyard", "Quarry"}
    assert {"Okta", "SOC 2"} <= {s["text"] for s in a["systems"]}
    assert not {"Jo", "Jo Brennan", "Sam", "Sam Ortiz", "CFO", "SSO"} & {s["text"] for s in a["systems"]}
    assert any("security pack" in c["text"] for c in a["commitments"])
    assert note["next_step_missing"] is False and a["next_step_date"] == when
    viewed = await client.get(f"/pitch/v1/deals/{deal['id']}", headers=ADA)
    assert viewed.status_code == 200, viewed.text
    logged = viewed.json()
    assert logged["deal"]["updated_at"] > deal["updated_at"]  # a new note moves the deal's clock

    undated = {"meeting_date": TODAY.isoformat(), "text": "Good call. Jo will get back to us about a follow-up."}
    flagged = (await client.post(f"/pitch/v1/deals/{deal['id']}/notes", json=undated, headers=ADA)).json()
    assert flagged["next_step_missing"] is True
    view = (await client.get(f"/pitch/v1/deals/{deal['id']}", headers=MAYA)).json()
    assert view["notes_missing_next_step"] == [flagged["id"]]
    assert {"Halyard", "Quarry"} <= set(view["competitors"]) and "Okta" in view["systems"]
    assert view["objections"][0]["citation"]["note_id"] == note["id"]
    pipeline = (await client.get("/pitch/v1/deals/pipeline", headers=MAYA)).json()
    assert pipeline["no_next_step"] == [deal["id"]] and pipeline["no_recent_meeting"] == []
    (row,) = [d for s in pipeline["stages"] for d in s["deals"]]
    assert row["last_meeting_date"] == TODAY.isoformat() and row["flags"] == ["no_next_step"]

    # A deal with no meeting in N days shows as such.
    old = await create(client, ADA, account_name="Quiet account")
    stale = {"meeting_date": (TODAY - timedelta(days=30)).isoformat(), "text": "Demo booked for 2199-01-05."}
    assert (await client.post(f"/pitch/v1/deals/{old['id']}/notes", json=stale, headers=ADA)).status_code == 201
    report = (await client.get("/pitch/v1/deals/pipeline?stale_days=14", headers=MAYA)).json()
    assert old["id"] in report["no_recent_meeting"] and old["id"] not in report["no_next_step"]


@pytest.mark.parametrize(
    ("when", "dated"),
    [("next Tuesday", True), ("on 3 March", True), ("in two weeks", True), ("by EOW", True), ("next week", False)],
)
async def test_next_step_dates_in_many_forms(sqlite_deals: AsyncTestClient[Any], when: str, dated: bool) -> None:
    deal = await create(sqlite_deals, ADA, segment="smb")
    body = {"meeting_date": TODAY.isoformat(), "text": f"They liked it. Follow-up demo with the owner {when}."}
    note = (await sqlite_deals.post(f"/pitch/v1/deals/{deal['id']}/notes", json=body, headers=ADA)).json()
    assert note["next_step_missing"] is (not dated), note["analysis"]["next_steps"]


async def test_next_step_differs_by_stage_segment_and_what_the_notes_say(sqlite_deals: AsyncTestClient[Any]) -> None:
    client = sqlite_deals
    steps = {}
    for segment, stage in (("smb", "discovery"), ("enterprise", "discovery"), ("enterprise", "security_review")):
        deal = await create(client, ADA, segment=segment, stage=stage)
        step = (await client.get(f"/pitch/v1/deals/{deal['id']}/next-step", headers=ADA)).json()
        assert step["action"] and step["timeframe"] and step["by_date"] >= TODAY.isoformat()
        steps[(segment, stage)] = step
    assert len({s["action"] for s in steps.values()}) == 3
    security = steps[("enterprise", "security_review")]
    assert "security review" in security["our_attendees"]
    assert security["customer_attendees"]  # no CISO stakeholder: the roles to bring
    assert steps[("smb", "discovery")]["by_date"] < steps[("enterprise", "discovery")]["by_date"]

    # What the notes say moves the step: pains stated, the sponsor attended -> the next missing criterion.
    deal = await create(client, ADA, segment="enterprise", stage="discovery")
    before = (await client.get(f"/pitch/v1/deals/{deal['id']}/next-step", headers=ADA)).json()
    assert before["criteria_missing"][0] == "pains_stated"
    note = {
        "meeting_date": TODAY.isoformat(),
        "attendees": ["Jo Brennan"],
        "text": "Jo said forecasting takes them two weeks by hand every quarter.",
    }
    assert (await client.post(f"/pitch/v1/deals/{deal['id']}/notes", json=note, headers=ADA)).status_code == 201
    after = (await client.get(f"/pitch/v1/deals/{deal['id']}/next-step", headers=ADA)).json()
    assert {"pains_stated", "sponsor_identified", "alternatives_known"} <= set(after["criteria_done"])
    assert after["criteria_missing"] == ["next_meeting_booked"] and after["action"] != before["action"]
    assert after["persona"] == "cfo" and after["persona_ask"]
    framed = await client.get(f"/pitch/v1/deals/{deal['id']}/next-step?persona=ciso", headers=ADA)
    assert framed.json()["persona"] == "ciso"


async def test_managers_override_a_segment_process(sqlite_deals: AsyncTestClient[Any]) -> None:
    client = sqlite_deals
    default = (await client.get("/pitch/v1/sales-processes/mid-market", headers=ADA)).json()
    assert default["source"] == "default" and default["segment"] == "mid_market"
    custom = {
        "stages": [
            {
                "id": "qualify",
                "name": "Qualify",
                "customer_personas": ["cfo"],
                "activate": ["legal"],
                "exit_criteria": [
                    {
                        "id": "budget",
                        "text": "budget confirmed",
                        "action": "Confirm budget with finance",
                        "within_days": 4,
                    }
                ],
            }
        ]
    }
    assert_error(await client.put("/pitch/v1/sales-processes/mid_market", json=custom, headers=ADA), 403)
    put = await client.put("/pitch/v1/sales-processes/mid_market", json=custom, headers=MAYA)
    assert put.status_code == 200 and put.json()["source"] == "organisation"
    deal = await create(client, ADA, segment="mid_market", stage="qualify")
    step = (await client.get(f"/pitch/v1/deals/{deal['id']}/next-step", headers=ADA)).json()
    assert step["action"] == "Confirm budget with finance" and step["our_attendees"] == ["legal"]
    assert step["customer_attendees"] == ["Jo Brennan (CFO)"]
    assert_error(await client.post("/pitch/v1/deals", json=deal_body(segment="mid_market"), headers=ADA), 422)
    other_org = (await client.get("/pitch/v1/sales-processes/mid_market", headers=GLOBEX_MGR)).json()
    assert other_org["source"] == "default"
    assert (await client.delete("/pitch/v1/sales-processes/mid_market", headers=MAYA)).status_code == 204


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/pitch/v1/deals", deal_body(stage="not_a_stage"), "unknown_stage"),
        ("/pitch/v1/deals", deal_body(segment="galactic"), "validation_error"),
        ("/pitch/v1/deals", deal_body(account_name=""), "validation_error"),
        ("/pitch/v1/deals", deal_body(amount=-5), "validation_error"),
        ("/pitch/v1/deals", deal_body(close_date="1066-10-14"), "validation_error"),
        ("/pitch/v1/deals", deal_body(stakeholders=[{"name": "X", "persona": "wizard"}]), "unknown_persona"),
        ("/pitch/v1/deals", {**deal_body(), "surprise": 1}, "validation_error"),
        ("/pitch/v1/sales-processes/smb", {"stages": []}, "validation_error"),
    ],
)
async def test_bad_input_is_a_4xx_with_the_error_shape_and_nothing_stored(
    sqlite_deals: AsyncTestClient[Any], path: str, body: dict[str, Any], code: str
) -> None:
    send = sqlite_deals.put if "sales-processes" in path else sqlite_deals.post
    assert_error(await send(path, json=body, headers=MAYA), 422, code)
    assert (await sqlite_deals.get("/pitch/v1/deals", headers=MAYA)).json() == []
    assert (await sqlite_deals.get("/pitch/v1/sales-processes/smb", headers=MAYA)).json()["source"] == "default"


async def test_bad_notes_are_refused_and_not_stored(sqlite_deals: AsyncTestClient[Any]) -> None:
    deal = await create(sqlite_deals, ADA)
    url = f"/pitch/v1/deals/{deal['id']}/notes"
    for body in (
        {"meeting_date": TODAY.isoformat(), "text": "   "},
        {"meeting_date": "yesterday", "text": "Call went well."},
        {"text": "No date at all."},
        {"meeting_date": TODAY.isoformat(), "text": "x" * 20_001},
    ):
        assert_error(await sqlite_deals.post(url, json=body, headers=ADA), 422)
    missing = {"meeting_date": TODAY.isoformat(), "text": "Hi"}
    assert_error(await sqlite_deals.post("/pitch/v1/deals/nope/notes", json=missing, headers=ADA), 404)
    assert (await sqlite_deals.get(url, headers=ADA)).json() == []
