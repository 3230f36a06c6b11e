"""A rep's graded result carries each question as it was asked (`results[].prompt`), and the assignment names
its latest graded attempt (`last_attempt_id`), so a result page can be found again and needs no other call;
nothing more of the quiz comes with them, and nobody else can read them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import token
from tests.integration.enablement_helpers import AUTHORED, MANAGER, demo_app, due, leaks, wrong_answers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def library(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with demo_app(str(tmp_path_factory.mktemp("rep-results")), redis_url) as client:
        yield client


async def test_the_result_names_each_question_as_asked_and_only_to_its_rep(library: AsyncTestClient[Any]) -> None:
    created = await library.post(
        "/enablement/v1/quizzes", json={"title": "Prompts in results", "questions": AUTHORED}, headers=MANAGER
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    single = next(q for q in draft["questions"] if q["type"] == "single_choice")
    edit_path = f"/enablement/v1/quizzes/{draft['id']}/questions/{single['id']}"
    # An edit that leaves a single-choice item without its key is refused in plain words (what the edit form
    # shows the manager), and another organisation's manager cannot edit the item at all.
    unkeyed = await library.patch(edit_path, json={"answer": None}, headers=MANAGER)
    assert unkeyed.status_code == 422
    message = unkeyed.json()["error"]["message"]
    assert message.startswith("the edited question is not valid: single_choice takes `answer`")
    assert "input_value" not in message and "pydantic" not in message
    foreign = await library.patch(edit_path, json={"prompt": "Taken over?"}, headers=token("globex", "manager"))
    assert foreign.status_code == 404
    quiz = (await library.post(f"/enablement/v1/quizzes/{created.json()['id']}/publish", headers=MANAGER)).json()
    assigned = await library.post(
        "/enablement/v1/assignments",
        json={"quiz_id": quiz["id"], "assignees": ["ada"], "due_at": due(24), "pass_mark": 60, "max_attempts": 2},
        headers=MANAGER,
    )
    assert assigned.status_code == 201, assigned.text
    ada = token("acme", "rep", sub="ada")
    mine = (await library.get("/enablement/v1/me/assignments", headers=ada)).json()
    assert [a["last_attempt_id"] for a in mine if a["quiz_id"] == quiz["id"]] == [None]
    started = await library.post(f"/enablement/v1/assignments/{assigned.json()[0]['id']}/attempts", headers=ada)
    attempt = started.json()
    asked = {q["question_id"]: q["prompt"] for q in attempt["questions"]}
    path = f"/enablement/v1/attempts/{attempt['attempt_id']}/submit"

    # Bad input is refused before anything is graded: a question id that is not in the attempt.
    stray = [*wrong_answers(attempt, quiz), {"question_id": "not-in-this-attempt", "text": "x"}]
    refused = await library.post(path, json={"answers": stray}, headers=ada)
    assert refused.status_code == 422 and "not-in-this-attempt" in refused.json()["error"]["message"]

    graded = await library.post(path, json={"answers": wrong_answers(attempt, quiz)}, headers=ada)
    assert graded.status_code == 200, graded.text
    results = graded.json()["results"]
    assert [(r["question_id"], r["prompt"]) for r in results] == list(asked.items())
    assert leaks(graded.json(), quiz, graded=True) == []

    mine = (await library.get("/enablement/v1/me/assignments", headers=ada)).json()
    assert [a["last_attempt_id"] for a in mine if a["quiz_id"] == quiz["id"]] == [attempt["attempt_id"]]
    # A second attempt that is open, not graded, leaves the latest graded one in place.
    again = await library.post(f"/enablement/v1/assignments/{assigned.json()[0]['id']}/attempts", headers=ada)
    assert again.status_code == 201 and again.json()["attempt_id"] != attempt["attempt_id"]
    mine = (await library.get("/enablement/v1/me/assignments", headers=ada)).json()
    assert [a["last_attempt_id"] for a in mine if a["quiz_id"] == quiz["id"]] == [attempt["attempt_id"]]

    read_back = await library.get(f"/enablement/v1/me/attempts/{attempt['attempt_id']}", headers=ada)
    assert [r["prompt"] for r in read_back.json()["results"]] == list(asked.values())
    # Another rep of the org, and the same id in another org, are told it does not exist.
    for other in (token("acme", "rep", sub="bob"), token("globex", "rep", sub="ada")):
        hidden = await library.get(f"/enablement/v1/me/attempts/{attempt['attempt_id']}", headers=other)
        assert hidden.status_code == 404
    # The manager's view of the attempt is unchanged: answers with the grader's working, no prompt field.
    detail = await library.get(f"/enablement/v1/attempts/{attempt['attempt_id']}", headers=MANAGER)
    assert detail.status_code == 200 and all("prompt" not in a for a in detail.json()["answers"])


async def test_a_review_item_opens_the_passages_it_cites_and_nothing_else(library: AsyncTestClient[Any]) -> None:
    body = {
        "title": "Review passages",
        "generate": {"kind": "feature", "kinds": ["cloze_fact", "explain_feature"], "count": 3},
    }
    created = await library.post("/enablement/v1/quizzes", json=body, headers=MANAGER)
    assert created.status_code == 201, created.text
    quiz = (await library.post(f"/enablement/v1/quizzes/{created.json()['id']}/publish", headers=MANAGER)).json()

    async def assign() -> str:
        response = await library.post(
            "/enablement/v1/assignments",
            json={"quiz_id": quiz["id"], "assignees": ["cleo"], "due_at": due(24), "pass_mark": 80, "max_attempts": 1},
            headers=MANAGER,
        )
        assert response.status_code == 201, response.text
        return str(response.json()[0]["id"])

    cleo = token("acme", "rep", sub="cleo")
    attempt = (await library.post(f"/enablement/v1/assignments/{await assign()}/attempts", headers=cleo)).json()
    submitted = await library.post(
        f"/enablement/v1/attempts/{attempt['attempt_id']}/submit",
        json={"answers": wrong_answers(attempt, quiz)},
        headers=cleo,
    )
    assert submitted.status_code == 200, submitted.text
    # One attempt, all wrong: the assignment is closed and every item is due for review, with where to reread.
    reviews = (await library.get("/enablement/v1/me/reviews", headers=cleo)).json()
    cited = [r for r in reviews if r["citations"]]
    assert len(reviews) == len(quiz["questions"]) and cited
    # Each item as it was asked: its type, and a choice item's options (not which is right).
    by_id = {q["id"]: q for q in quiz["questions"]}
    for review in reviews:
        asked = by_id[review["question_id"]]
        assert review["type"] == asked["type"] and review["prompt"] == asked["prompt"]
        assert sorted(review["options"] or []) == sorted(asked["options"] or [])
    assert leaks(reviews, quiz, graded=True) == []
    item, citation = cited[0], cited[0]["citations"][0]
    path = f"/enablement/v1/me/reviews/{item['review_id']}/passages"

    opened = await library.get(f"{path}/{citation['chunk_id']}", headers=cleo)
    assert opened.status_code == 200, opened.text
    passage = opened.json()
    assert (passage["external_id"], passage["version"]) == (citation["external_id"], citation["version"])
    assert len(passage["text"]) > 40 and passage["title"]
    assert leaks(passage, quiz, graded=True) == []

    # A chunk this item does not cite, another rep, another organisation, an unknown item: not found.
    other_chunks = {c["chunk_id"] for r in reviews for c in r["citations"]} - {c["chunk_id"] for c in item["citations"]}
    for chunk in [*sorted(other_chunks)[:1], "no-such-chunk"]:
        stray = await library.get(f"{path}/{chunk}", headers=cleo)
        assert stray.status_code == 404 and stray.json()["error"]["code"] == "passage_not_found"
    for other in (token("acme", "rep", sub="bob"), token("globex", "rep", sub="cleo")):
        assert (await library.get(f"{path}/{citation['chunk_id']}", headers=other)).status_code == 404
    unknown = f"/enablement/v1/me/reviews/no-such-review/passages/{citation['chunk_id']}"
    assert (await library.get(unknown, headers=cleo)).status_code == 404

    # Assigned the quiz again, she has an open assignment of it: its review items and passages hide until then.
    await assign()
    assert (await library.get("/enablement/v1/me/reviews", headers=cleo)).json() == []
    assert (await library.get(f"{path}/{citation['chunk_id']}", headers=cleo)).status_code == 404
