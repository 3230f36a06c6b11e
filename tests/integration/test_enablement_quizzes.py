"""Quizzes over the demo library through HTTP: generation with provenance and a quality gate, authored items,
review (edit, drop, regenerate), publish and revise; roles and tenants."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.text import is_limitation
from services.core.vectorstore import PointFilter
from tests.conftest import token
from tests.demo_corpus import demo_documents
from tests.integration.conftest import ctx_of, wait_job
from tests.integration.enablement_helpers import AUTHORED, MANAGER, demo_app

pytestmark = pytest.mark.integration
REP = token("acme", "rep", sub="ada")


@pytest.fixture(scope="module")
async def library(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with demo_app(str(tmp_path_factory.mktemp("quizzes")), redis_url) as client:
        yield client


def chunks(client: AsyncTestClient[Any]) -> dict[str, dict[str, Any]]:
    return {p.id: p.payload for p in ctx_of(client).store.scroll(PointFilter(org_id="acme"), limit=100_000)}


async def create(client: AsyncTestClient[Any], body: dict[str, Any], headers: dict[str, str] = MANAGER) -> Any:
    return await client.post("/enablement/v1/quizzes", json=body, headers=headers)


async def test_generated_items_carry_provenance_and_pass_the_gate(library: AsyncTestClient[Any]) -> None:
    response = await create(library, {"title": "Features basics", "generate": {"kind": "feature", "count": 12}})
    assert response.status_code == 201, response.text
    quiz = response.json()
    assert quiz["status"] == "draft" and quiz["version"] == 1
    questions = quiz["questions"]
    assert len(questions) == 12
    assert {q["origin"] for q in questions} == {"which_feature", "cloze_fact", "explain_feature", "be_ready_for"}
    report = quiz["generation"]
    assert report["accepted"] == 12 and report["rejected"] == sum(report["rejected_by_reason"].values())
    stored = chunks(library)
    for q in questions:
        assert q["sources"], q
        for source in q["sources"]:
            payload = stored[source["chunk_id"]]
            assert payload["document_id"] == source["document_id"] and payload["version"] == source["version"]
        text = " ".join(" ".join(stored[s["chunk_id"]]["text"].split()) for s in q["sources"])
        if q["type"] == "single_choice":
            assert len(q["answers"]) == 1 and len(q["options"]) == 4
            assert len({o.lower() for o in q["options"]}) == 4
        key = q["options"][q["answers"][0]] if q["options"] else None
        if q["origin"] == "which_feature":
            assert key == stored[q["sources"][0]["chunk_id"]]["title"]
            quoted = re.search(r'"(.+)"', q["prompt"])
            assert quoted and quoted.group(1) in text
        elif q["origin"] == "cloze_fact":
            stem = re.search(r'"(.+)"', q["prompt"])
            assert stem and stem.group(1).replace("____", key) in text  # the key completes the source sentence
        elif q["origin"] == "be_ready_for":
            assert key is not None and " ".join(key.split()) in text  # the limitation stands in its own chunk
        else:
            assert q["type"] == "short_answer" and len(q["key_points"]) >= 2
            assert all(k["text"] in text and k["citation"]["chunk_id"] for k in q["key_points"])
    # Expired material is never quizzed.
    assert "feat-legacy-flatfile-connector" not in {s["external_id"] for q in questions for s in q["sources"]}


async def test_persona_items_are_keyed_from_the_pitch_selection(library: AsyncTestClient[Any]) -> None:
    response = await create(
        library,
        {"title": "Lead with", "generate": {"persona": "cmo", "count": 2, "kinds": ["persona_lead", "buyer_phrasing"]}},
    )
    assert response.status_code == 201, response.text
    items = {q["origin"]: q for q in response.json()["questions"]}
    lead = items["persona_lead"]
    track = (
        await library.post("/pitch/v1/talk-tracks", json={"persona": "cmo", "max_features": 8}, headers=MANAGER)
    ).json()
    assert lead["type"] == "multi_choice" and lead["persona"] == "cmo"
    assert {lead["options"][i] for i in lead["answers"]} == {f["title"] for f in track["features"][:3]}
    assert not {lead["options"][i] for i in range(6) if i not in lead["answers"]} & {
        f["title"] for f in track["features"]
    }  # no wrong option is anywhere in pitch's selection for this buyer
    phrasing = items["buyer_phrasing"]
    key = phrasing["options"][phrasing["answers"][0]]
    assert not re.search(r"\b[A-Z]{2,}s?\b", key)  # the business line carries no acronym
    personas = (await library.get("/pitch/v1/personas", headers=MANAGER)).json()
    avoid = [a.lower() for a in next(p for p in personas if p["id"] == "cmo")["avoid"]]
    for wrong in (o for o in phrasing["options"] if o != key):  # each wrong line has a term this buyer avoids
        assert re.search(r"\b[A-Z]{2,}s?\b", wrong) or any(
            re.search(rf"\b{re.escape(a)}\b", wrong.lower()) for a in avoid
        )
    assert phrasing["sources"][0]["chunk_id"] in chunks(library)


async def test_where_we_win_items_quote_that_competitors_battlecard(library: AsyncTestClient[Any]) -> None:
    response = await create(
        library,
        {"title": "Tessellate", "generate": {"competitor": "tessellate", "count": 1, "kinds": ["where_we_win"]}},
    )
    assert response.status_code == 201, response.text
    (item,) = response.json()["questions"]
    stored = chunks(library)
    source = stored[item["sources"][0]["chunk_id"]]
    assert source["external_id"] == "comp-tessellate" and "win" in source["section"].lower()
    key = item["options"][item["answers"][0]]
    assert key in " ".join(source["text"].split())
    assert item["competitor"] == "tessellate"
    assert not any("tessellate" in o.lower() for o in item["options"])  # names masked: no giveaway


async def test_a_slice_with_nothing_usable_is_refused_with_the_report(library: AsyncTestClient[Any]) -> None:
    tiny = {"external_id": "feat-tiny", "kind": "feature", "title": "Tiny", "content": "## What it does\n\nIt helps."}
    posted = await library.post("/ingest/v1/documents", json=tiny, headers=token("acme", "engineer"))
    assert (await wait_job(library, posted.json()["job_id"]))["status"] == "succeeded"
    response = await create(
        library,
        {
            "title": "Nothing",
            "generate": {"external_ids": ["feat-tiny", "no-such-doc"], "count": 3, "kinds": ["explain_feature"]},
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "nothing_generated"
    assert error["details"]["rejected_by_reason"] == {"no_usable_sentence": 1}
    assert error["details"]["rejections"] == [
        {"generator": "explain_feature", "reason": "no_usable_sentence", "source": "feat-tiny"}
    ]
    assert any("no-such-doc" in n for n in error["details"]["notes"])


async def test_authored_questions_are_validated_and_nothing_is_stored_on_error(library: AsyncTestClient[Any]) -> None:
    before = (await library.get("/enablement/v1/quizzes", headers=MANAGER)).json()
    bad = [
        {**AUTHORED[0], "options": ["Within 60 seconds", "within 60  seconds", "Never"]},  # duplicate options
        {**AUTHORED[0], "answer": 7},  # not an option
        {**AUTHORED[1], "answers": [0, 1, 2, 3]},  # every option keyed
        {k: v for k, v in AUTHORED[2].items() if k != "key_points"},  # short answer without key points
        {**AUTHORED[2], "options": ["a", "b"]},  # short answer with options
    ]
    for question in bad:
        response = await create(library, {"title": "Bad", "questions": [AUTHORED[1], question]})
        assert response.status_code == 422, question
        assert response.json()["error"]["details"], response.text
    assert (await create(library, {"title": "Empty"})).status_code == 422
    assert (await library.get("/enablement/v1/quizzes", headers=MANAGER)).json() == before


async def test_authored_items_are_linked_to_the_material_they_rest_on(library: AsyncTestClient[Any]) -> None:
    response = await create(library, {"title": "Security", "questions": AUTHORED})
    assert response.status_code == 201, response.text
    single, multi, short = response.json()["questions"]
    assert single["sources"][0]["external_id"] == "feat-sso-scim"
    assert multi["sources"][0]["external_id"] == "comp-tessellate"
    assert {k["citation"]["external_id"] for k in short["key_points"] if k["citation"]} == {"feat-sso-scim"}
    assert single["persona"] == "ciso" and multi["competitor"] == "tessellate"


async def test_review_edit_drop_regenerate_then_publish_freezes_it(library: AsyncTestClient[Any]) -> None:
    quiz = (
        await create(
            library, {"title": "Review me", "questions": AUTHORED[:1], "generate": {"kind": "feature", "count": 3}}
        )
    ).json()
    quiz_id = quiz["id"]
    authored, generated = quiz["questions"][0], quiz["questions"][1]
    base = f"/enablement/v1/quizzes/{quiz_id}/questions"

    edited = await library.patch(
        f"{base}/{authored['id']}", json={"prompt": "How fast are sessions revoked?"}, headers=MANAGER
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["questions"][0]["prompt"] == "How fast are sessions revoked?"
    broken = await library.patch(f"{base}/{authored['id']}", json={"answer": 9}, headers=MANAGER)
    assert broken.status_code == 422
    kept = (await library.get(f"/enablement/v1/quizzes/{quiz_id}", headers=MANAGER)).json()["questions"][0]
    assert kept["answers"] == [0] and kept["prompt"] == "How fast are sessions revoked?"

    regenerated = await library.post(f"{base}/{generated['id']}/regenerate", headers=MANAGER)
    assert regenerated.status_code == 200, regenerated.text
    after = regenerated.json()["questions"]
    old = next(q for q in after if q["id"] == generated["id"])
    new = [q for q in after if q["position"] == generated["position"] and q["id"] != generated["id"]]
    assert old["status"] == "dropped" and len(new) == 1 and new[0]["status"] == "active"
    assert new[0]["origin"] == generated["origin"]

    third = quiz["questions"][2]["id"]
    dropped = await library.delete(f"{base}/{third}", headers=MANAGER)
    assert dropped.status_code == 200
    assert next(q for q in dropped.json()["questions"] if q["id"] == third)["status"] == "dropped"

    published = await library.post(f"/enablement/v1/quizzes/{quiz_id}/publish", headers=MANAGER)
    assert published.status_code == 200 and published.json()["status"] == "published"
    frozen = await library.patch(f"{base}/{authored['id']}", json={"prompt": "changed"}, headers=MANAGER)
    assert frozen.status_code == 409 and frozen.json()["error"]["code"] == "quiz_immutable"
    assert (await library.post(f"/enablement/v1/quizzes/{quiz_id}/publish", headers=MANAGER)).status_code == 409

    revision = await library.post(f"/enablement/v1/quizzes/{quiz_id}/revise", headers=MANAGER)
    assert revision.status_code == 201, revision.text
    draft = revision.json()
    assert draft["version"] == 2 and draft["replaces_id"] == quiz_id and draft["status"] == "draft"
    assert len(draft["questions"]) == len([q for q in published.json()["questions"] if q["status"] == "active"])
    assert (await library.post(f"/enablement/v1/quizzes/{draft['id']}/publish", headers=MANAGER)).status_code == 200
    old_quiz = (await library.get(f"/enablement/v1/quizzes/{quiz_id}", headers=MANAGER)).json()
    assert old_quiz["status"] == "superseded"
    assert (await library.post(f"/enablement/v1/quizzes/{quiz_id}/revise", headers=MANAGER)).status_code == 409
    third = await library.post(f"/enablement/v1/quizzes/{draft['id']}/revise", headers=MANAGER)
    assert third.status_code == 201 and third.json()["version"] == 3
    twice = await library.post(f"/enablement/v1/quizzes/{draft['id']}/revise", headers=MANAGER)
    assert twice.status_code == 409 and third.json()["id"] in twice.json()["error"]["message"]
    assert old_quiz["questions"][0]["prompt"] == "How fast are sessions revoked?"  # the old version is unchanged


async def test_reps_cannot_author_assign_publish_or_read_keys(library: AsyncTestClient[Any]) -> None:
    quiz = (await create(library, {"title": "Keys", "questions": AUTHORED})).json()
    for method, path, body in [
        ("post", "/enablement/v1/quizzes", {"title": "x", "questions": AUTHORED}),
        ("get", f"/enablement/v1/quizzes/{quiz['id']}", None),
        ("get", "/enablement/v1/quizzes", None),
        ("post", f"/enablement/v1/quizzes/{quiz['id']}/publish", None),
        (
            "post",
            "/enablement/v1/assignments",
            {"quiz_id": quiz["id"], "assignees": ["ada"], "due_at": "2030-01-01T00:00:00Z", "pass_mark": 50},
        ),
        ("get", "/enablement/v1/reports/readiness", None),
        ("get", f"/enablement/v1/reports/items?quiz_id={quiz['id']}", None),
    ]:
        kwargs = {"headers": REP, **({"json": body} if body is not None else {})}
        response = await getattr(library, method)(path, **kwargs)
        assert response.status_code == 403, (method, path, response.text)
    engineer = token("acme", "engineer", sub="eli")
    assert (await library.get(f"/enablement/v1/quizzes/{quiz['id']}", headers=engineer)).status_code == 403
    # Another organisation's manager does not find it.
    other = token("globex", "manager", sub="gus")
    assert (await library.get(f"/enablement/v1/quizzes/{quiz['id']}", headers=other)).status_code == 404
    assert (await library.post(f"/enablement/v1/quizzes/{quiz['id']}/publish", headers=other)).status_code == 404
    assert (await library.get("/enablement/v1/quizzes", headers=other)).json() == []
    for report in ("completion", "overdue", "scores", "items"):
        response = await library.get(f"/enablement/v1/reports/{report}?quiz_id={quiz['id']}", headers=other)
        assert response.status_code == 404, report
    assert (await library.get(f"/enablement/v1/assignments?quiz_id={quiz['id']}", headers=other)).status_code == 404
    assert (await library.get("/enablement/v1/quizzes", headers=token("acme", "rep"))).status_code == 403
    assert (await library.get(f"/enablement/v1/quizzes/{quiz['id']}")).status_code == 401


async def test_customer_stories_yield_no_trivia(library: AsyncTestClient[Any]) -> None:
    """Fill-in-the-figure items from case studies: an incidental figure (hours reclaimed, days to go live) is
    rejected as trivia with the reason in the report; only a figure the story's title states as its headline may
    be asked."""
    stories = ["cs-brambleway-outfitters", "cs-corvane-logistics", "cs-keystride-payments"]
    response = await create(
        library,
        {"title": "Stories", "generate": {"external_ids": stories, "kinds": ["cloze_fact"], "count": 3}},
    )
    body = response.json()
    report = body["report"] if response.status_code == 201 else body["error"]["details"]
    assert report["rejected_by_reason"].get("trivia", 0) >= 1, report
    titles = {d["external_id"]: d["title"] for d in demo_documents()}
    for q in body.get("questions", []) if response.status_code == 201 else []:
        key = q["options"][q["answers"][0]]
        figure = re.search(r"\d[\d,.]*", key)
        assert figure and figure.group(0) in titles[q["sources"][0]["external_id"]], (key, q["sources"])


async def test_limitation_items_ask_what_a_rep_must_disclose(library: AsyncTestClient[Any]) -> None:
    """`be_ready_for`: the key is a limitation the feature's own material states (the talk tracks' rule), the
    wrong options are other features' limitations, and none of them stands in this feature's material."""
    response = await create(
        library, {"title": "Be ready for", "generate": {"kind": "feature", "kinds": ["be_ready_for"], "count": 4}}
    )
    body = response.json()
    assert response.status_code == 201, response.text
    items = [q for q in body["questions"] if q["origin"] == "be_ready_for"]
    assert items, body["generation"]
    texts = {d["external_id"]: d["content"] for d in demo_documents()}
    for q in items:
        key = q["options"][q["answers"][0]]
        source = q["sources"][0]["external_id"]
        text = texts[source]
        heading = ["", *re.findall(r"^#+ (.+)$", text[: text.find(key[:40])], re.M)][-1]
        assert is_limitation(key, heading), (key, heading)  # by its words or its section's heading
        assert " ".join(key.split()) in " ".join(texts[source].split())  # quoted from its own feature
        for wrong in (o for i, o in enumerate(q["options"]) if i != q["answers"][0]):
            assert " ".join(wrong.split()) not in " ".join(texts[source].split())
            assert any(" ".join(wrong.split()) in " ".join(t.split()) for t in texts.values())  # real material


async def test_an_objection_from_the_field_becomes_an_item_keyed_from_the_material_that_answers_it(
    library: AsyncTestClient[Any],
) -> None:
    """`objections` (e.g. the frequent ones of GET /pitch/v1/deals/what-customers-say): one short-answer item
    each, keyed from the document that answers it, cited; an objection nothing answers is rejected, not guessed."""
    spec = {
        "count": 3,
        "objections": [
            "Our customer data is not allowed to leave the EU",
            "Your tool costs more than we budgeted for",
            "The colour of your logo clashes with our office carpet",
        ],
    }
    response = await create(library, {"title": "Objections from the field", "generate": spec})
    assert response.status_code == 201, response.text
    body = response.json()
    items = [q for q in body["questions"] if q["origin"] == "answer_objection"]
    by_prompt = {q["prompt"]: q for q in items}
    residency = next(q for p, q in by_prompt.items() if "leave the EU" in p)
    price = next(q for p, q in by_prompt.items() if "budgeted" in p)
    assert residency["type"] == "short_answer" and residency["key_points"]
    assert residency["sources"][0]["external_id"] in {"feat-data-residency-compliance", "feat-byok-encryption"}
    assert price["sources"][0]["external_id"] in {"obj-price-too-high", "feat-usage-pricing-tco"}
    texts = {d["external_id"]: " ".join(d["content"].split()) for d in demo_documents()}
    for q in (residency, price):
        source = q["sources"][0]["external_id"]
        assert all(kp["citation"]["external_id"] == source for kp in q["key_points"])
        words = set(re.findall(r"\w+", texts[source].lower()))
        assert set(re.findall(r"\w+", q["reference_answer"].lower())) <= words, (q["reference_answer"], source)
    assert not any("carpet" in p for p in by_prompt)
    reasons = {(r["generator"], r["reason"]) for r in body["generation"]["rejections"]}
    assert ("answer_objection", "no_material_answers_it") in reasons
