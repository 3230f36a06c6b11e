"""Assignments and attempts through HTTP, on SQLite and PostgreSQL: no key ever reaches a rep, server grading by
meaning, partial credit, one submit per attempt, attempt limits, lateness, short-answer feedback, cited
passages, overrides, FSRS reviews, certifications and reports."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.auth import Principal, Role
from services.core.db import create_engine, session_factory
from services.core.embeddings import EmbeddingCache, get_embedder
from services.enablement import attempts as attempts_module
from services.enablement.attempts import AttemptService
from tests import services as svc
from tests.conftest import token
from tests.integration.conftest import ctx_of
from tests.integration.enablement_helpers import (
    AUTHORED,
    MANAGER,
    demo_app,
    due,
    leaks,
    right_answers,
    wrong_answers,
)

pytestmark = pytest.mark.integration
REP_IVY = Principal(sub="ivy", org="acme", roles=frozenset({Role.REP}))


def rep(sub: str, org: str = "acme") -> dict[str, str]:
    return token(org, "rep", sub=sub)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def library(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str, embedder: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    """The demo app on SQLite, then on PostgreSQL: every guarantee here (one submit, certification row locks,
    concurrent starts) holds on both."""
    if request.param == "sqlite":
        async with demo_app(str(tmp_path_factory.mktemp("attempts")), redis_url) as client:
            yield client
        return
    admin = request.getfixturevalue("postgres_admin_url")
    url, name = await svc.create_database(admin)
    try:
        async with demo_app(str(tmp_path_factory.mktemp("attempts-pg")), redis_url, DATABASE_URL=url) as client:
            yield client
    finally:
        await svc.drop_database(admin, name)


@pytest.fixture(scope="module")
async def quiz(library: AsyncTestClient[Any]) -> dict[str, Any]:
    """Published: the three authored items and four generated ones (keys visible in this manager view)."""
    body = {"title": "Security and Tessellate", "questions": AUTHORED, "generate": {"kind": "feature", "count": 4}}
    created = await library.post("/enablement/v1/quizzes", json=body, headers=MANAGER)
    assert created.status_code == 201, created.text
    published = await library.post(f"/enablement/v1/quizzes/{created.json()['id']}/publish", headers=MANAGER)
    assert published.status_code == 200
    result: dict[str, Any] = published.json()
    return result


async def assign(
    client: AsyncTestClient[Any], quiz: dict[str, Any], users: list[str], **overrides: Any
) -> dict[str, str]:
    body = {"quiz_id": quiz["id"], "assignees": users, "due_at": due(48), "pass_mark": 60, "max_attempts": 2}
    response = await client.post("/enablement/v1/assignments", json={**body, **overrides}, headers=MANAGER)
    assert response.status_code == 201, response.text
    return {a["assignee"]: a["id"] for a in response.json()}


async def start(client: AsyncTestClient[Any], assignment_id: str, user: str) -> Any:
    return await client.post(f"/enablement/v1/assignments/{assignment_id}/attempts", headers=rep(user))


async def test_a_rep_takes_a_quiz_without_ever_seeing_a_key(
    library: AsyncTestClient[Any], quiz: dict[str, Any]
) -> None:
    ids = await assign(library, quiz, ["ada", "bob"])
    mine = await library.get("/enablement/v1/me/assignments", headers=rep("ada"))
    assert mine.status_code == 200 and [a["id"] for a in mine.json()] == [ids["ada"]]
    assert mine.json()[0]["status"] == "not_started" and leaks(mine.json(), quiz) == []

    started = await start(library, ids["ada"], "ada")
    assert started.status_code == 201, started.text
    attempt = started.json()
    assert leaks(attempt, quiz) == []
    assert sorted(q["question_id"] for q in attempt["questions"]) == sorted(q["id"] for q in quiz["questions"])
    assert set(attempt["questions"][0]) <= {"question_id", "type", "prompt", "options"}
    by_id = {q["id"]: q for q in quiz["questions"]}
    for shown in attempt["questions"]:
        assert sorted(shown["options"] or []) == sorted(by_id[shown["question_id"]]["options"] or [])
    again = await start(library, ids["ada"], "ada")  # resuming returns the open attempt, not a second one
    assert again.json()["attempt_id"] == attempt["attempt_id"] and again.json()["questions"] == attempt["questions"]

    # Other reps and other organisations cannot touch it.
    assert (await start(library, ids["ada"], "bob")).status_code == 404
    assert ids["ada"] not in {
        a["id"] for a in (await library.get("/enablement/v1/me/assignments", headers=rep("bob"))).json()
    }
    foreign = token("globex", "rep", sub="ada")
    assert (await library.post(f"/enablement/v1/assignments/{ids['ada']}/attempts", headers=foreign)).status_code == 404
    submit_path = f"/enablement/v1/attempts/{attempt['attempt_id']}/submit"
    answers = right_answers(attempt, quiz)
    assert (await library.post(submit_path, json={"answers": answers}, headers=rep("bob"))).status_code == 404

    graded = await library.post(submit_path, json={"answers": answers}, headers=rep("ada"))
    assert graded.status_code == 200, graded.text
    result = graded.json()
    assert result["passed"] and result["score"] >= 90 and not result["late"]
    assert all(r["correct"] for r in result["results"] if by_id[r["question_id"]]["type"] != "short_answer")
    assert leaks(result, quiz, graded=True) == []
    second = await library.post(submit_path, json={"answers": answers}, headers=rep("ada"))
    assert second.status_code == 409 and second.json()["error"]["code"] == "attempt_already_submitted"

    read_back = await library.get(f"/enablement/v1/me/attempts/{attempt['attempt_id']}", headers=rep("ada"))
    assert read_back.json()["score"] == result["score"] and leaks(read_back.json(), quiz, graded=True) == []
    status = (await library.get("/enablement/v1/me/assignments", headers=rep("ada"))).json()[0]
    assert status["status"] == "passed" and status["attempts_used"] == 1 and leaks(status, quiz) == []
    certs = (await library.get("/enablement/v1/me/certifications", headers=rep("ada"))).json()
    assert [c["quiz_id"] for c in certs] == [quiz["id"]] and not certs[0]["needs_renewal"]
    # She missed nothing, so nothing is queued for review; and a passed assignment takes no more attempts.
    assert (await library.get("/enablement/v1/me/reviews", headers=rep("ada"))).json() == []
    after_pass = await start(library, ids["ada"], "ada")
    assert after_pass.status_code == 409 and after_pass.json()["error"]["code"] == "already_passed"
    # Another rep's attempt is not found, whatever the route.
    assert (
        await library.get(f"/enablement/v1/me/attempts/{attempt['attempt_id']}", headers=rep("bob"))
    ).status_code == 404


async def test_concurrent_starts_share_one_attempt_and_concurrent_submits_grade_once(
    library: AsyncTestClient[Any], quiz: dict[str, Any]
) -> None:
    ids = await assign(library, quiz, ["zed"])
    first, second = await asyncio.gather(start(library, ids["zed"], "zed"), start(library, ids["zed"], "zed"))
    assert first.status_code == second.status_code == 201
    assert first.json()["attempt_id"] == second.json()["attempt_id"]
    attempt = first.json()
    path = f"/enablement/v1/attempts/{attempt['attempt_id']}/submit"
    body = {"answers": right_answers(attempt, quiz)}
    results = await asyncio.gather(*(library.post(path, json=body, headers=rep("zed")) for _ in range(3)))
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    detail = (await library.get(f"/enablement/v1/attempts/{attempt['attempt_id']}", headers=MANAGER)).json()
    assert len(detail["answers"]) == len(quiz["questions"])  # graded once: one answer row per question


async def test_attempt_limit_reviews_and_late_marking(library: AsyncTestClient[Any], quiz: dict[str, Any]) -> None:
    ids = await assign(library, quiz, ["cy"], max_attempts=2, due_at=due(-1))
    first = (await start(library, ids["cy"], "cy")).json()
    failed = await library.post(
        f"/enablement/v1/attempts/{first['attempt_id']}/submit",
        json={"answers": wrong_answers(first, quiz)},
        headers=rep("cy"),
    )
    assert failed.status_code == 200
    assert failed.json()["late"] and not failed.json()["passed"] and failed.json()["score"] < 20
    assert leaks(failed.json(), quiz, graded=True) == []
    by_id = {q["id"]: q for q in quiz["questions"]}
    # A retake is still possible: choice items cite nothing yet (the material would answer the retake), short
    # answers count the key points missed and cite where they are, and the review queue holds back.
    for r in failed.json()["results"]:
        if by_id[r["question_id"]]["type"] == "short_answer":
            assert r["citations"] and re.search(r"Covered 0 of \d key points; missed \d", r["feedback"]), r
            assert not any(k["text"] in r["feedback"] for k in by_id[r["question_id"]]["key_points"])
        else:
            assert r["citations"] == [] and "review queue" in r["feedback"]
    assert (await library.get("/enablement/v1/me/reviews", headers=rep("cy"))).json() == []

    second = (await start(library, ids["cy"], "cy")).json()
    assert second["attempt_id"] != first["attempt_id"]
    await library.post(
        f"/enablement/v1/attempts/{second['attempt_id']}/submit",
        json={"answers": wrong_answers(second, quiz)},
        headers=rep("cy"),
    )
    refused = await start(library, ids["cy"], "cy")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "attempt_limit_reached"
    # Closed now: choice items cite their material, except those whose source names the answer.
    closed = (await library.get(f"/enablement/v1/me/attempts/{second['attempt_id']}", headers=rep("cy"))).json()
    assert leaks(closed, quiz, graded=True) == []
    for r in closed["results"]:
        revealing = by_id[r["question_id"]]["origin"] in ("which_feature", "persona_lead", "buyer_phrasing")
        assert bool(r["citations"]) == (not revealing and bool(by_id[r["question_id"]]["sources"]))

    reviews = await library.get("/enablement/v1/me/reviews", headers=rep("cy"))
    assert reviews.status_code == 200
    due_now = reviews.json()
    assert {r["question_id"] for r in due_now} == {q["id"] for q in quiz["questions"]}
    assert all(r["misses"] == 2 for r in due_now)
    assert leaks(due_now, quiz) == []
    cited = [r for r in due_now if r["citations"]]
    assert cited and all(c["chunk_id"] and c["version"] >= 1 for r in cited for c in r["citations"])
    reviewed = await library.post(
        f"/enablement/v1/me/reviews/{due_now[0]['review_id']}", json={"rating": "good"}, headers=rep("cy")
    )
    assert reviewed.status_code == 200 and reviewed.json()["reviews"] == 1
    later = {r["review_id"] for r in (await library.get("/enablement/v1/me/reviews", headers=rep("cy"))).json()}
    assert due_now[0]["review_id"] not in later and len(later) == len(due_now) - 1
    bad = await library.post(
        f"/enablement/v1/me/reviews/{due_now[1]['review_id']}", json={"rating": "meh"}, headers=rep("cy")
    )
    assert bad.status_code == 422
    assert (
        await library.post(
            f"/enablement/v1/me/reviews/{due_now[1]['review_id']}", json={"rating": "good"}, headers=rep("ada")
        )
    ).status_code == 404
    # Assigned the quiz again: its reviews hide until that assignment is closed too.
    await assign(library, quiz, ["cy"])
    assert (await library.get("/enablement/v1/me/reviews", headers=rep("cy"))).json() == []
    assert (
        await library.post(
            f"/enablement/v1/me/reviews/{due_now[1]['review_id']}", json={"rating": "good"}, headers=rep("cy")
        )
    ).status_code == 404

    overdue = (await library.get("/enablement/v1/reports/overdue", headers=MANAGER)).json()
    assert ids["cy"] not in {a["id"] for a in overdue["assignments"]}  # out of attempts: no longer chased
    late_and_untouched = await assign(library, quiz, ["dee"], due_at=due(-2))
    overdue = (await library.get("/enablement/v1/reports/overdue", headers=MANAGER)).json()
    assert late_and_untouched["dee"] in {a["id"] for a in overdue["assignments"]}


async def test_every_attempt_gets_its_own_order(library: AsyncTestClient[Any], quiz: dict[str, Any]) -> None:
    ids = await assign(library, quiz, ["e1", "e2", "e3"])
    orders = []
    for user, assignment_id in ids.items():
        attempt = (await start(library, assignment_id, user)).json()
        orders.append(
            tuple(q["question_id"] for q in attempt["questions"])
            + tuple(o for q in attempt["questions"] for o in q["options"] or [])
        )
    assert len(set(orders)) > 1  # 7! question orders times the option orders: equal only by a freak chance


async def test_bad_answers_are_refused_and_the_attempt_stays_open(
    library: AsyncTestClient[Any], quiz: dict[str, Any]
) -> None:
    ids = await assign(library, quiz, ["fay"])
    attempt = (await start(library, ids["fay"], "fay")).json()
    path = f"/enablement/v1/attempts/{attempt['attempt_id']}/submit"
    by_type = {q["type"]: q for q in attempt["questions"]}
    single, short = by_type["single_choice"], by_type["short_answer"]
    for answers in (
        [{"question_id": "not-a-question", "choice": 0}],
        [{"question_id": single["question_id"], "choice": 9}],
        [{"question_id": single["question_id"], "choice": "not an option"}],
        [{"question_id": single["question_id"], "text": "an essay"}],
        [{"question_id": short["question_id"], "choice": 1}],
        [{"question_id": single["question_id"], "choice": 0}, {"question_id": single["question_id"], "choice": 1}],
    ):
        response = await library.post(path, json={"answers": answers}, headers=rep("fay"))
        assert response.status_code == 422, answers
        assert response.json()["error"]["message"]
    assert (await library.post(path, json={"answer": []}, headers=rep("fay"))).status_code == 422
    # Nothing was recorded: the attempt is still open and takes a good submission.
    ok = await library.post(path, json={"answers": right_answers(attempt, quiz)}, headers=rep("fay"))
    assert ok.status_code == 200 and ok.json()["passed"]


async def test_short_answers_get_feedback_on_missed_key_points_and_managers_can_override(
    library: AsyncTestClient[Any], quiz: dict[str, Any]
) -> None:
    ids = await assign(library, quiz, ["gil"], pass_mark=99)
    attempt = (await start(library, ids["gil"], "gil")).json()
    short = next(q for q in quiz["questions"] if q["prompt"] == AUTHORED[2]["prompt"])
    answers = [a for a in right_answers(attempt, quiz) if a["question_id"] != short["id"]]
    answers.append({"question_id": short["id"], "text": "It uses SCIM 2.0 provisioning from the identity provider."})
    result = (
        await library.post(
            f"/enablement/v1/attempts/{attempt['attempt_id']}/submit", json={"answers": answers}, headers=rep("gil")
        )
    ).json()
    graded = next(r for r in result["results"] if r["question_id"] == short["id"])
    assert 0 < graded["credit"] < 1 and not graded["correct"]
    # While the assignment is open the missed points are counted, never quoted (that would answer the retake).
    assert "Covered 1 of 3 key points; missed 2" in graded["feedback"], graded["feedback"]
    assert "groups map to roles" not in graded["feedback"] and "created and removed" not in graded["feedback"]
    assert {c["external_id"] for c in graded["citations"]} == {"feat-sso-scim"}
    # The manager sees which were credited and which missed, by their words.
    full = (await library.get(f"/enablement/v1/attempts/{attempt['attempt_id']}", headers=MANAGER)).json()
    kept = next(a for a in full["answers"] if a["question_id"] == short["id"])
    assert 'Credited: "SCIM 2.0 provisioning"' in kept["feedback"] and "groups map to roles" in kept["feedback"]
    assert not result["passed"]

    path = f"/enablement/v1/attempts/{attempt['attempt_id']}/answers/{short['id']}/override"
    assert (
        await library.post(path, json={"credit": 1, "reason": "Named groups verbally"}, headers=rep("gil"))
    ).status_code == 403
    assert (await library.post(path, json={"credit": 2, "reason": "too much"}, headers=MANAGER)).status_code == 422
    overridden = await library.post(
        path, json={"credit": 1, "reason": "Covered group mapping on the call"}, headers=MANAGER
    )
    assert overridden.status_code == 200, overridden.text
    detail = overridden.json()
    answer = next(a for a in detail["answers"] if a["question_id"] == short["id"])
    assert answer["credit"] == 1 and answer["graded_credit"] == graded["credit"]
    assert answer["override_by"] == "maya" and answer["override_reason"] == "Covered group mapping on the call"
    assert detail["score"] == 100 and detail["passed"]
    mine = (await library.get(f"/enablement/v1/me/attempts/{attempt['attempt_id']}", headers=rep("gil"))).json()
    assert mine["score"] == 100 and mine["passed"]
    assert [c["user"] for c in (await library.get("/enablement/v1/certifications", headers=MANAGER)).json()].count(
        "gil"
    ) == 1
    assert (
        await library.get(f"/enablement/v1/attempts/{attempt['attempt_id']}", headers=token("globex", "manager"))
    ).status_code == 404
    regraded = next(r for r in mine["results"] if r["question_id"] == short["id"])
    assert "Regraded by a manager: Covered group mapping on the call" in regraded["feedback"]

    # Overridden down to a fail, the certification goes with it.
    down = await library.post(path, json={"credit": 0, "reason": "Read from the datasheet"}, headers=MANAGER)
    assert down.status_code == 200 and not down.json()["passed"]
    assert "gil" not in [
        c["user"] for c in (await library.get("/enablement/v1/certifications", headers=MANAGER)).json()
    ]


async def test_reports_show_completion_item_statistics_and_readiness(
    library: AsyncTestClient[Any], quiz: dict[str, Any]
) -> None:
    created = await library.post(
        "/enablement/v1/quizzes", json={"title": "Report me", "questions": AUTHORED}, headers=MANAGER
    )
    small = (await library.post(f"/enablement/v1/quizzes/{created.json()['id']}/publish", headers=MANAGER)).json()
    ids = await assign(library, small, ["r1", "r2", "r3", "r4", "r5"], max_attempts=1)
    single, multi, short = small["questions"]
    # r1, r2 know everything; r3 misses the multi; r4 misses all; r5 never starts.
    plans = {"r1": (0, [0, 2], True), "r2": (0, [0, 2], True), "r3": (0, [1], True), "r4": (1, [1], False)}
    for user, (choice, choices, knows) in plans.items():
        attempt = (await start(library, ids[user], user)).json()
        text = short["reference_answer"] if knows else "We email a spreadsheet of users every week."
        answers = [
            {"question_id": single["id"], "choice": single["options"][choice]},
            {"question_id": multi["id"], "choices": [multi["options"][i] for i in choices]},
            {"question_id": short["id"], "text": text},
        ]
        assert (
            await library.post(
                f"/enablement/v1/attempts/{attempt['attempt_id']}/submit", json={"answers": answers}, headers=rep(user)
            )
        ).status_code == 200

    completion = (await library.get(f"/enablement/v1/reports/completion?quiz_id={small['id']}", headers=MANAGER)).json()
    (summary,) = completion["quizzes"]
    assert summary["assigned"] == 5 and summary["started"] == 4 and summary["passed"] == 3
    assert summary["completed"] == 4 and summary["overdue"] == 0
    statuses = {a["assignee"]: a["status"] for a in completion["assignments"]}
    assert statuses == {"r1": "passed", "r2": "passed", "r3": "passed", "r4": "out_of_attempts", "r5": "not_started"}

    items = (await library.get(f"/enablement/v1/reports/items?quiz_id={small['id']}", headers=MANAGER)).json()
    stats = {i["question_id"]: i for i in items["items"]}
    assert items["attempts"] == 4
    assert stats[single["id"]]["facility"] == 0.75 and stats[multi["id"]]["facility"] == 0.5
    assert stats[single["id"]]["discrimination"] > 0.5  # only the weakest rep missed it
    assert stats[multi["id"]]["discrimination"] > 0
    assert (await library.get("/enablement/v1/reports/items?quiz_id=nope", headers=MANAGER)).status_code == 404

    readiness = (await library.get("/enablement/v1/reports/readiness", headers=MANAGER)).json()
    reps = {r["user"]: r for r in readiness["reps"]}
    assert {"ciso", "cio"} <= set(readiness["personas"]) and "tessellate" in readiness["competitors"]
    assert reps["r1"]["personas"]["ciso"]["score"] == 100 and reps["r4"]["personas"]["ciso"]["score"] == 0
    assert (
        reps["r3"]["competitors"]["tessellate"]["score"] == 0
        and reps["r1"]["competitors"]["tessellate"]["score"] == 100
    )
    assert "r5" not in reps
    assert (await library.get("/enablement/v1/reports/readiness", headers=token("globex", "manager"))).json()[
        "reps"
    ] == []


async def test_reviews_and_citations_hide_while_any_version_of_the_quiz_is_open(library: AsyncTestClient[Any]) -> None:
    created = await library.post(
        "/enablement/v1/quizzes", json={"title": "Versions", "questions": AUTHORED[:2]}, headers=MANAGER
    )
    v1 = (await library.post(f"/enablement/v1/quizzes/{created.json()['id']}/publish", headers=MANAGER)).json()
    ids = await assign(library, v1, ["hal"], max_attempts=1)
    attempt = (await start(library, ids["hal"], "hal")).json()
    await library.post(
        f"/enablement/v1/attempts/{attempt['attempt_id']}/submit",
        json={"answers": wrong_answers(attempt, v1)},
        headers=rep("hal"),
    )
    # Out of attempts: reviews and the material of choice items are shown.
    assert len((await library.get("/enablement/v1/me/reviews", headers=rep("hal"))).json()) == 2
    result_path = f"/enablement/v1/me/attempts/{attempt['attempt_id']}"
    assert all(r["citations"] for r in (await library.get(result_path, headers=rep("hal"))).json()["results"])

    # A new version of the quiz is assigned: the old version's material would answer it, so it hides again.
    draft = (await library.post(f"/enablement/v1/quizzes/{v1['id']}/revise", headers=MANAGER)).json()
    v2 = (await library.post(f"/enablement/v1/quizzes/{draft['id']}/publish", headers=MANAGER)).json()
    assert v2["status"] == "published" and v2["lineage_id"] == v1["lineage_id"]
    await assign(library, v2, ["hal"])
    assert (await library.get("/enablement/v1/me/reviews", headers=rep("hal"))).json() == []
    hidden = (await library.get(result_path, headers=rep("hal"))).json()
    assert all(r["citations"] == [] for r in hidden["results"]) and leaks(hidden, v1, graded=True) == []


async def test_the_loser_of_a_start_race_gets_the_winners_attempt(
    library: AsyncTestClient[Any], quiz: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic: a competing start commits between this start's read and its insert."""
    ids = await assign(library, quiz, ["ivy"])
    engine = create_engine(ctx_of(library).settings.database_url)  # this test's loop: its own engine
    service = AttemptService(session_factory(engine), EmbeddingCache(get_embedder))
    real = attempts_module.attempts_of
    reads: list[int] = []
    winner: list[str] = []

    async def read_then_lose_the_race(session: Any, assignment_ids: Any) -> dict[str, list[Any]]:
        reads.append(1)
        if len(reads) == 1:  # the first start has read "no attempt yet"; now a competitor starts and commits
            winner.append((await service.start(REP_IVY, ids["ivy"])).attempt_id)
            return {}
        return await real(session, assignment_ids)

    monkeypatch.setattr(attempts_module, "attempts_of", read_then_lose_the_race)
    try:
        loser = await service.start(REP_IVY, ids["ivy"])
    finally:
        await engine.dispose()
    assert loser.attempt_id == winner[0] and loser.number == 1


async def test_grading_by_meaning_partial_credit_and_the_passages_a_rep_may_open(
    library: AsyncTestClient[Any], quiz: dict[str, Any]
) -> None:
    """A paraphrase earns the credit and a same-topic answer with a wrong fact does not, whether the fact is a
    figure or a mechanism said the other way round (the accuracy of both over hundreds of labelled answers is what
    `make eval` prints); one of two keys on a multiple-answer item earns half, and a wrong option takes a right
    one back; a rep opens the passages cited to them, and nothing else."""
    ids = await assign(library, quiz, ["hal", "ivo", "jan"], pass_mark=99)
    short = next(q for q in quiz["questions"] if q["prompt"] == AUTHORED[2]["prompt"])
    multi = next(q for q in quiz["questions"] if q["prompt"] == AUTHORED[1]["prompt"])

    async def submit(user: str, text: str, choices: list[str]) -> dict[str, Any]:
        attempt = (await start(library, ids[user], user)).json()
        answers = [a for a in right_answers(attempt, quiz) if a["question_id"] not in (short["id"], multi["id"])]
        answers += [{"question_id": short["id"], "text": text}, {"question_id": multi["id"], "choices": choices}]
        response = await library.post(
            f"/enablement/v1/attempts/{attempt['attempt_id']}/submit", json={"answers": answers}, headers=rep(user)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return {"attempt_id": attempt["attempt_id"], **{r["question_id"]: r for r in body["results"]}}

    keys = [multi["options"][i] for i in multi["answers"]]
    wrongs = [o for i, o in enumerate(multi["options"]) if i not in multi["answers"]]
    paraphrase = (
        "SCIM 2.0: joiners and leavers are added and removed automatically from the identity provider, and its "
        "groups become Lumora roles."
    )
    hal = await submit("hal", paraphrase, keys[:1])
    assert hal[short["id"]]["correct"] and hal[short["id"]]["credit"] >= 0.6, hal[short["id"]]
    assert hal[multi["id"]]["credit"] == 0.5 and not hal[multi["id"]]["correct"]  # one of two keys, no wrong one
    assert hal[multi["id"]]["feedback"].startswith("Partly right (credit 0.50)")  # no counts while retakes remain
    assert "right options chosen" not in hal[multi["id"]]["feedback"]

    wrong_version = "It uses SCIM 1.1 provisioning, users are created and removed automatically, groups map to roles."
    ivo = await submit("ivo", wrong_version, [keys[0], wrongs[0]])
    assert ivo[short["id"]]["credit"] == 0 and not ivo[short["id"]]["correct"]  # the words match, the fact does not
    assert "figure" in ivo[short["id"]]["feedback"]
    assert ivo[multi["id"]]["credit"] == 0  # right minus wrong, floored at 0

    # The reference's own words with the mechanism turned round: no figure to catch, the clauses contradict.
    turned = (
        "Lumora takes SCIM 2.0 provisioning from the identity provider, but admins create and remove users by hand, "
        "and identity provider groups are not mapped to Lumora roles."
    )
    jan = await submit("jan", turned, keys)
    assert jan[short["id"]]["credit"] == 0 and not jan[short["id"]]["correct"], jan[short["id"]]
    assert "opposite" in jan[short["id"]]["feedback"]
    assert jan[multi["id"]]["credit"] == 1 and jan[multi["id"]]["correct"]

    # The short answer's passage opens at once, with its document's title; a choice item's does not while the
    # assignment is open, nor does any chunk for another rep or another org.
    cited = hal[short["id"]]["citations"][0]
    path = f"/enablement/v1/me/attempts/{hal['attempt_id']}/passages/{cited['chunk_id']}"
    passage = await library.get(path, headers=rep("hal"))
    assert passage.status_code == 200, passage.text
    body = passage.json()
    assert body["external_id"] == "feat-sso-scim" and body["title"] == "Single sign-on and SCIM provisioning"
    assert "identity provider" in body["text"]
    assert body["version"] == cited["version"] and body["as_of"] == cited["as_of"]
    choice_chunk = multi["sources"][0]["chunk_id"]  # the Tessellate battlecard: cited to no short answer
    assert choice_chunk not in {c["chunk_id"] for c in hal[short["id"]]["citations"]}
    hidden = await library.get(
        f"/enablement/v1/me/attempts/{hal['attempt_id']}/passages/{choice_chunk}", headers=rep("hal")
    )
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "passage_not_found"
    assert (await library.get(path, headers=rep("ivo"))).status_code == 404  # not Ivo's attempt
    assert (await library.get(path, headers=token("globex", "rep", sub="hal"))).status_code == 404
