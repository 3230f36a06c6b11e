"""A product whose name is written in capitals ("VARNO", fictional) and a competitor note that is a technical
migration guide, over HTTP: the product's and the rival's names are names, not jargon, so a business buyer still
hears sentences that name them and gets a competitor section cited to the guide; a real acronym stays out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.tone import ToneProfile
from services.pitch.personas import built_in
from tests.conftest import token
from tests.integration.conftest import app_with_library

pytestmark = pytest.mark.integration
ORG = "varno"
REP = token(ORG, "rep", sub="kim")


def _doc(external_id: str, kind: str, title: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "kind": kind, "title": title, "content": content, "product": "varno", **extra}


LIBRARY = [
    _doc(
        "varno-invoices",
        "feature",
        "Automatic invoice matching",
        "## What it does\n\nVARNO matches every supplier invoice to its purchase order and delivery note, so the "
        "finance team stops checking paper by hand. Month-end close finishes two days sooner for most customers. "
        "VARNO flags only the invoices that disagree, with the reason beside each one.",
    ),
    _doc(
        "varno-approvals",
        "feature",
        "Spend approvals",
        "## What it does\n\nVARNO routes each purchase request to the budget owner who can approve it, so nothing "
        "is bought without sign-off. Approvers answer from email or their phone in one tap. Every approval is kept "
        "with who approved it and when, ready for the auditors.\n\n## How it works\n\nRules are read from the JWT "
        "claims of the signed-in user.",
    ),
    _doc(
        "varno-from-oldgate",
        "competitor",
        "Migrate from OLDGATE to VARNO",
        "## Introduction\n\nThis guide moves your suppliers, open purchase orders and approval history from OLDGATE "
        "to VARNO. VARNO keeps each supplier's bank details and payment terms, so nobody has to be asked for them "
        "again. OLDGATE cannot take approvals on a phone, so managers wait until they are back at a desk. Most "
        "teams finish the move in a single weekend.\n\n## Steps\n\nExport the OLDGATE ledger as CSV "
        "through its REST API. Load the file with the VARNO import CLI and check the JSON report.",
        competitor="OLDGATE",
    ),
]


@pytest.fixture(scope="module")
async def app(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with app_with_library(tmp_path_factory.mktemp("capitals"), redis_url, ORG, LIBRARY) as client:
        yield client


async def test_a_business_buyer_hears_the_products_own_name_in_capitals_and_gets_the_competitor_section(
    app: AsyncTestClient[Any],
) -> None:
    body = {
        "persona": "cfo",
        "competitor": "oldgate",
        "context": "Finance checks supplier invoices against orders by hand and month-end close runs late. "
        "They run OLDGATE today and fear the move will lose supplier details.",
    }
    response = await app.post("/pitch/v1/talk-tracks", json=body, headers=REP)
    assert response.status_code == 200, response.text
    track = response.json()
    said = [p["text"] for f in track["features"] for p in f["points"]]
    assert any("VARNO" in t for t in said), said  # before: every sentence naming the product read as jargon
    section = track["competitor"]
    assert section["name"] == "OLDGATE"  # as the notes write it
    wins = [p["text"] for p in section["where_we_win"]]
    assert any(t.startswith("OLDGATE cannot take approvals") for t in wins), wins  # its name is no acronym
    cited = [p["citation"]["external_id"] for p in section["where_we_win"]]
    cited += [o["response"]["citation"]["external_id"] for o in section["objections"]]
    assert "varno-from-oldgate" in cited, section
    # Real acronyms still stay out of what a CFO hears: the CSV, REST API, CLI and JSON sentences, the JWT one.
    cfo = built_in()["cfo"]
    tone = ToneProfile(cfo.tone, tuple(cfo.prefer), tuple(cfo.avoid), ("OLDGATE", "VARNO"))
    texts = said + [p["text"] for p in section["where_we_win"]] + [o["response"]["text"] for o in section["objections"]]
    assert all(tone.jargon(t) is None for t in texts), texts
    assert not any(term in t for t in texts for term in ("CSV", "API", "CLI", "JSON", "JWT"))
