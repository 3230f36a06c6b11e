"""What customers say, over HTTP: themes across notes grouped by meaning and name, by segment and persona, each
linking to the notes behind it; reps see their own deals only, other orgs nothing; bad filters refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.settings import Settings
from services.main import create_app
from tests.integration.test_deals_api import ADA, BEN, GLOBEX_MGR, MAYA, TODAY, assert_error, create

pytestmark = pytest.mark.integration
URL = "/pitch/v1/deals/what-customers-say"


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(make_settings(REDIS_URL=redis_url))
    async with AsyncTestClient(app=app, timeout=60) as c:
        yield c


async def note(client: AsyncTestClient[Any], headers: dict[str, str], deal_id: str, text: str, **over: Any) -> None:
    body = {"meeting_date": (TODAY - timedelta(days=1)).isoformat(), "attendees": [], "text": text, **over}
    response = await client.post(f"/pitch/v1/deals/{deal_id}/notes", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def test_the_same_objection_in_other_words_is_one_theme_across_deals(client: AsyncTestClient[Any]) -> None:
    first = await create(client, ADA, account_name="Calder Freight")
    second = await create(client, BEN, account_name="Orbit Retail", segment="mid_market", stage="discovery")
    await note(
        client, ADA, first["id"],
        "Jo said the price is too expensive for our budget this year. They currently use Snowflake. "
        "They are also evaluating Halyard.",
        attendees=["Jo Brennan"],
    )  # fmt: skip
    await note(
        client, BEN, second["id"],
        "Their CFO worried the price is above what they can spend this year. Data sits in Snowflake.",
    )  # fmt: skip
    said = (await client.get(URL, headers=MAYA)).json()
    assert said["deals"] == 2 and said["notes"] == 2
    price = [t for t in said["objections"] + said["pains"] if "price" in t["text"].lower()]
    assert price and price[0]["deals"] == 2, said
    assert price[0]["by_segment"] == {"enterprise": 1, "mid_market": 1}
    # Every mention links to its note and the sentence it came from.
    linked = {(n["deal_id"], n["account_name"]) for n in price[0]["notes"]}
    assert linked == {(first["id"], "Calder Freight"), (second["id"], "Orbit Retail")}
    assert all("price" in n["text"].lower() and n["note_id"] for n in price[0]["notes"])
    snowflake = next(t for t in said["systems"] if t["text"].lower() == "snowflake")
    assert snowflake["mentions"] == 2 and snowflake["deals"] == 2
    assert [t["text"] for t in said["competitors"]] == ["Halyard"]
    # The persona of the stakeholder at the meeting (Jo Brennan: cfo) filters; a segment filters.
    cfo = (await client.get(URL, params={"persona": "cfo"}, headers=MAYA)).json()
    assert cfo["notes"] == 2  # the second deal's note names nobody: every stakeholder's persona counts
    cio_only = (await client.get(URL, params={"persona": "vp_sales"}, headers=MAYA)).json()
    assert cio_only["notes"] == 0 and cio_only["objections"] == []
    mid = (await client.get(URL, params={"segment": "mid_market"}, headers=MAYA)).json()
    assert mid["deals"] == 1 and all(t["by_segment"] == {"mid_market": t["mentions"]} for t in mid["systems"])


async def test_reps_see_their_own_deals_and_other_orgs_see_nothing(client: AsyncTestClient[Any]) -> None:
    mine = await create(client, ADA)
    theirs = await create(client, BEN, account_name="Orbit Retail")
    await note(client, ADA, mine["id"], "They worry the rollout will take too long.")
    await note(client, BEN, theirs["id"], "They said security review is their biggest blocker.")
    own = (await client.get(URL, headers=ADA)).json()
    assert own["deals"] == 1
    assert all(n["deal_id"] == mine["id"] for t in own["pains"] + own["objections"] for n in t["notes"])
    assert_error(await client.get(URL, params={"owner": "ben"}, headers=ADA), 403, "forbidden")
    other = (await client.get(URL, headers=GLOBEX_MGR)).json()
    assert other["deals"] == 0 and other["objections"] == [] and other["pains"] == []
    assert_error(await client.get(URL, params={"segment": "galaxy"}, headers=MAYA), 422)
    assert_error(await client.get(URL, params={"persona": "x" * 65}, headers=MAYA), 422)
