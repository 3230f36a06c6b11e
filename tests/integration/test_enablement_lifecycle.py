"""Enablement without a request: material changing under the items (the `document.changed` task sent by
ingest and run by a real worker) and reminders written by the worker into the outbox and to a webhook, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.core.celery_app import ENABLEMENT_QUEUE, SEND_REMINDERS
from services.core.db import create_engine, session_factory
from services.core.settings import Settings
from services.enablement.lifecycle import queue_reminders
from services.main import create_app
from tests.conftest import token
from tests.integration.conftest import ctx_of, wait_job
from tests.integration.enablement_helpers import MANAGER, due, right_answers

pytestmark = pytest.mark.integration
ENGINEER = token("acme", "engineer", sub="eve")
WAIT_S = 90

DOCS = {
    "feat-vault": (
        "Key vault",
        "## What it does\n\nThe key vault keeps customer data encrypted with keys the customer controls in its own "
        "key service. Keys rotate every 90 days and every decrypt call is written to an audit trail.\n\n"
        "## Why it matters\n\nSecurity reviews close two weeks faster because the customer can revoke access at once.",
    ),
    "feat-journeys": (
        "Journey builder",
        "## What it does\n\nThe journey builder lets marketers draw multi-step campaigns on a canvas and send each "
        "step by email, text message or in-app banner.\n\n## Why it matters\n\nCampaign launches drop from weeks "
        "to days, and every step reports its own conversion.",
    ),
    "feat-forecast": (
        "Revenue forecast",
        "## What it does\n\nThe revenue forecast predicts the quarter's bookings from pipeline history, refreshed "
        "every night.\n\n## Why it matters\n\nSales leaders commit numbers to the board with a stated error band.",
    ),
}
JOURNEY_QUESTION = {
    "type": "single_choice",
    "prompt": "Through which channels can the journey builder send each campaign step?",
    "options": ["Email, text message and in-app banner", "Fax only", "Printed mail", "Phone calls"],
    "answer": 0,
}


def doc(external_id: str, body: str | None = None) -> dict[str, Any]:
    title, content = DOCS[external_id]
    return {"external_id": external_id, "kind": "feature", "title": title, "content": body or content}


async def eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def publish(client: AsyncTestClient[Any], body: dict[str, Any]) -> dict[str, Any]:
    created = await client.post("/enablement/v1/quizzes", json=body, headers=MANAGER)
    assert created.status_code == 201, created.text
    published = await client.post(f"/enablement/v1/quizzes/{created.json()['id']}/publish", headers=MANAGER)
    assert published.status_code == 200, published.text
    result: dict[str, Any] = published.json()
    return result


async def assign(client: AsyncTestClient[Any], quiz_id: str, user: str, hours: float, max_attempts: int = 2) -> str:
    body = {
        "quiz_id": quiz_id,
        "assignees": [user],
        "due_at": due(hours),
        "pass_mark": 60,
        "max_attempts": max_attempts,
    }
    response = await client.post("/enablement/v1/assignments", json=body, headers=MANAGER)
    assert response.status_code == 201, response.text
    assignment_id: str = response.json()[0]["id"]
    return assignment_id


async def test_a_changed_or_deleted_source_retires_its_items_and_flags_certifications(
    client: AsyncTestClient[Any],
) -> None:
    posted = await client.post(
        "/ingest/v1/documents/batch", json={"documents": [doc(e) for e in DOCS]}, headers=ENGINEER
    )
    assert (await wait_job(client, posted.json()["job_id"]))["status"] == "succeeded"
    ids = {d["external_id"]: d["document_id"] for d in posted.json()["documents"]}
    quiz = await publish(
        client,
        {
            "title": "Vault and journeys",
            "questions": [JOURNEY_QUESTION],
            "generate": {"external_ids": ["feat-vault"], "kinds": ["explain_feature"], "count": 1},
        },
    )
    journeys_only = await publish(client, {"title": "Journeys", "questions": [JOURNEY_QUESTION]})
    journey, vault = quiz["questions"]
    assert journey["sources"][0]["external_id"] == "feat-journeys"
    assert {s["external_id"] for s in vault["sources"]} == {"feat-vault"} and vault["sources"][0]["version"] == 1

    # One rep has an attempt open; another passes and is certified.
    open_attempt = (
        await client.post(
            f"/enablement/v1/assignments/{await assign(client, quiz['id'], 'ann', 24)}/attempts",
            headers=token("acme", "rep", sub="ann"),
        )
    ).json()
    ben = token("acme", "rep", sub="ben")
    attempt = (
        await client.post(
            f"/enablement/v1/assignments/{await assign(client, quiz['id'], 'ben', 24)}/attempts", headers=ben
        )
    ).json()
    passed = await client.post(
        f"/enablement/v1/attempts/{attempt['attempt_id']}/submit",
        json={"answers": right_answers(attempt, quiz)},
        headers=ben,
    )
    assert passed.json()["passed"], passed.text

    # New tags alone make version 2 but change no text: nothing is retired (checked below).
    retagged = await client.post("/ingest/v1/documents", json={**doc("feat-vault"), "tags": ["keys"]}, headers=ENGINEER)
    assert (await wait_job(client, retagged.json()["job_id"]))["status"] == "succeeded"
    # A light edit (a few words of a tested sentence, and a new section) makes version 3 and keeps the item:
    # every sentence it tests is still stated; the manager sees why, and no certification is flagged.
    edited = (
        DOCS["feat-vault"][1].replace("keeps customer data", "keeps the customer's data")
        + "\n\n## Availability\n\nThe key vault is offered in every hosting region."
    )
    light = await client.post("/ingest/v1/documents", json=doc("feat-vault", edited), headers=ENGINEER)
    assert (await wait_job(client, light.json()["job_id"]))["status"] == "succeeded"

    async def kept() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/enablement/v1/quizzes/{quiz['id']}", headers=MANAGER)).json()
        return body if (body["questions"][1]["status_reason"] or "").startswith("kept") else None

    still = (await eventually(kept, "the worker to keep the vault item"))["questions"][1]
    assert still["status"] == "active" and "version 3" in still["status_reason"]
    assert {s["version"] for s in still["sources"]} == {3}
    assert {k["citation"]["version"] for k in still["key_points"] if k["citation"]} == {3}  # citations follow
    certs = (await client.get("/enablement/v1/certifications", headers=MANAGER)).json()
    assert [(c["user"], c["needs_renewal"]) for c in certs] == [("ben", False)]

    # The engineer changes the fact the item tests: ingest indexes version 4 and sends `document.changed`.
    rewritten = edited.replace("every 90 days", "every 30 days")
    again = await client.post("/ingest/v1/documents", json=doc("feat-vault", rewritten), headers=ENGINEER)
    assert (await wait_job(client, again.json()["job_id"]))["status"] == "succeeded"

    async def retired() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/enablement/v1/quizzes/{quiz['id']}", headers=MANAGER)).json()
        return body if body["questions"][1]["status"] == "retired" else None

    after = await eventually(retired, "the worker to retire the vault item")
    reason = after["questions"][1]["status_reason"]
    assert "feat-vault" in reason and "version 4" in reason and "every 90 days" in reason  # names what changed
    assert after["questions"][0]["status"] == "active"  # built from another document: untouched
    assert after["status"] == "published"
    certs = (await client.get("/enablement/v1/certifications", headers=MANAGER)).json()
    assert [(c["user"], c["needs_renewal"]) for c in certs] == [("ben", True)]
    assert "feat-vault" in certs[0]["renewal_reason"]

    # The open attempt is graded on the questions it showed, the retired one included.
    submitted = await client.post(
        f"/enablement/v1/attempts/{open_attempt['attempt_id']}/submit",
        json={"answers": right_answers(open_attempt, quiz)},
        headers=token("acme", "rep", sub="ann"),
    )
    assert submitted.status_code == 200 and len(submitted.json()["results"]) == 2
    # A new attempt only asks what is still current.
    fresh = (
        await client.post(
            f"/enablement/v1/assignments/{await assign(client, quiz['id'], 'cal', 24)}/attempts",
            headers=token("acme", "rep", sub="cal"),
        )
    ).json()
    assert [q["question_id"] for q in fresh["questions"]] == [journey["id"]]

    # Regenerated on request: a revision rebuilds the retired item from version 2.
    revision = await client.post(f"/enablement/v1/quizzes/{quiz['id']}/revise", headers=MANAGER)
    assert revision.status_code == 201, revision.text
    rebuilt = revision.json()["questions"]
    assert len(rebuilt) == 2 and rebuilt[1]["sources"][0]["version"] == 4
    assert any("30 days" in k["text"] for k in rebuilt[1]["key_points"])  # built from the new text

    # Deleting the journeys document retires the authored item built on it.
    assert (await client.delete(f"/ingest/v1/documents/{ids['feat-journeys']}", headers=ENGINEER)).status_code == 204

    async def deleted() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/enablement/v1/quizzes/{quiz['id']}", headers=MANAGER)).json()
        return body if body["questions"][0]["status"] == "retired" else None

    gone = await eventually(deleted, "the worker to retire the journeys item")
    assert "deleted" in gone["questions"][0]["status_reason"]
    refused = await client.post(
        f"/enablement/v1/assignments/{await assign(client, quiz['id'], 'dan', 24)}/attempts",
        headers=token("acme", "rep", sub="dan"),
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "nothing_to_ask"
    # A quiz with nothing left to rebuild (an authored item on a deleted document) is not revised into an
    # empty draft.
    empty = await client.post(f"/enablement/v1/quizzes/{journeys_only['id']}/revise", headers=MANAGER)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "nothing_generated"

    # The revision drops the journeys item by hand, is published, and Ben passes it: his flagged
    # certification of version 1 is renewed.
    draft = (await client.get(f"/enablement/v1/quizzes/{revision.json()['id']}", headers=MANAGER)).json()
    journeys_copy = next(q for q in draft["questions"] if q["sources"][0]["external_id"] == "feat-journeys")
    await client.delete(f"/enablement/v1/quizzes/{draft['id']}/questions/{journeys_copy['id']}", headers=MANAGER)
    v2 = await client.post(f"/enablement/v1/quizzes/{draft['id']}/publish", headers=MANAGER)
    assert v2.status_code == 200, v2.text
    attempt = (
        await client.post(
            f"/enablement/v1/assignments/{await assign(client, draft['id'], 'ben', 24)}/attempts", headers=ben
        )
    ).json()
    renewed = await client.post(
        f"/enablement/v1/attempts/{attempt['attempt_id']}/submit",
        json={"answers": right_answers(attempt, v2.json())},
        headers=ben,
    )
    assert renewed.json()["passed"], renewed.text
    certs = {
        (c["user"], c["quiz_id"]): c
        for c in (await client.get("/enablement/v1/certifications", headers=MANAGER)).json()
    }
    assert not certs[("ben", quiz["id"])]["needs_renewal"]
    assert "renewed by passing version 2" in certs[("ben", quiz["id"])]["renewal_reason"]
    assert not certs[("ben", draft["id"])]["needs_renewal"]
    assert certs[("ann", quiz["id"])]["needs_renewal"]  # Ann has not passed the new version

    # Drafts can be discarded; published quizzes cannot.
    scratch = (
        await client.post(
            "/enablement/v1/quizzes", json={"title": "Scratch", "questions": [JOURNEY_QUESTION]}, headers=MANAGER
        )
    ).json()
    assert (await client.delete(f"/enablement/v1/quizzes/{scratch['id']}", headers=MANAGER)).status_code == 204
    assert (await client.get(f"/enablement/v1/quizzes/{scratch['id']}", headers=MANAGER)).status_code == 404
    assert (await client.delete(f"/enablement/v1/quizzes/{draft['id']}", headers=MANAGER)).status_code == 409


async def test_quizzes_without_persona_items_need_no_pitch_service(
    make_settings: Callable[..., Settings], redis_url: str, embedder: Any
) -> None:
    """An enablement API deployed without pitch (and no PITCHCRAFT_PITCH_URL) still builds quizzes from the
    material; only persona items are refused, with what to set."""
    app = create_app(make_settings(REDIS_URL=redis_url), services=("ingest", "enablement"))
    async with AsyncTestClient(app=app, timeout=120) as client:
        posted = await client.post(
            "/ingest/v1/documents/batch", json={"documents": [doc(e) for e in DOCS]}, headers=ENGINEER
        )
        assert (await wait_job(client, posted.json()["job_id"]))["status"] == "succeeded"
        built = await client.post(
            "/enablement/v1/quizzes",
            json={"title": "No pitch", "generate": {"kind": "feature", "count": 2, "kinds": ["explain_feature"]}},
            headers=MANAGER,
        )
        assert built.status_code == 201, built.text
        persona = await client.post(
            "/enablement/v1/quizzes",
            json={"title": "Lead", "generate": {"persona": "cio", "count": 1}},
            headers=MANAGER,
        )
        assert persona.status_code == 422 and "PITCHCRAFT_PITCH_URL" in persona.json()["error"]["message"]


class Webhook:
    """A real HTTP endpoint that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/reminders"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


async def test_the_worker_sends_each_reminder_once_to_the_outbox_and_the_webhook(
    make_settings: Callable[..., Settings], redis_url: str, database: str | None, webhook: Webhook, embedder: Any
) -> None:
    settings = make_settings(REDIS_URL=redis_url, DATABASE_URL=database, PITCHCRAFT_REMINDER_WEBHOOK_URL=webhook.url)
    async with AsyncTestClient(app=create_app(settings), timeout=120) as client:
        quiz = await publish(client, {"title": "Reminders", "questions": [JOURNEY_QUESTION]})
        soon = await assign(client, quiz["id"], "sam", 2)
        late = await assign(client, quiz["id"], "lou", -1)
        await assign(client, quiz["id"], "far", 24 * 10)  # not due for days: no reminder yet
        done = await assign(client, quiz["id"], "dot", -1)  # overdue but passed: no reminder
        dot = token("acme", "rep", sub="dot")
        attempt = (await client.post(f"/enablement/v1/assignments/{done}/attempts", headers=dot)).json()
        graded = await client.post(
            f"/enablement/v1/attempts/{attempt['attempt_id']}/submit",
            json={"answers": right_answers(attempt, quiz)},
            headers=dot,
        )
        assert graded.json()["passed"] and graded.json()["late"]
        # A second submit is refused on this database too.
        assert (
            await client.post(
                f"/enablement/v1/attempts/{attempt['attempt_id']}/submit", json={"answers": []}, headers=dot
            )
        ).status_code == 409

        # Two sweeps at the same moment, from two sessions (as two workers would run them): written once each.
        engine = create_engine(settings.database_url)  # this test's loop: the app's engine lives on another
        try:
            sessions = session_factory(engine)
            written = await asyncio.gather(*(queue_reminders(sessions, settings.enablement) for _ in range(2)))
        finally:
            await engine.dispose()
        assert sorted(written) == [0, 2]
        celery = ctx_of(client).celery
        for _ in range(2):  # then two sweeps through the worker (as beat sends them): nothing new, and delivery
            celery.send_task(SEND_REMINDERS, queue=ENABLEMENT_QUEUE)

        async def delivered() -> list[dict[str, Any]] | None:
            rows: list[dict[str, Any]] = (await client.get("/enablement/v1/reminders", headers=MANAGER)).json()
            return (
                rows if len(rows) == 2 and all(r["delivered_at"] for r in rows) and len(webhook.received) == 2 else None
            )

        rows = await eventually(delivered, "the worker to write and deliver two reminders")
        await asyncio.sleep(2)  # let the second sweep finish: it must add nothing
        rows = (await client.get("/enablement/v1/reminders", headers=MANAGER)).json()
        assert sorted((r["kind"], r["recipient"], r["payload"]["assignment_id"]) for r in rows) == [
            ("due_soon", "sam", soon),
            ("overdue", "lou", late),
        ]
        assert len(webhook.received) == 2
        assert {m["id"] for m in webhook.received} == {r["id"] for r in rows}
        assert all(m["quiz_title"] == "Reminders" for m in webhook.received)
        assert (await client.get("/enablement/v1/reminders", headers=token("acme", "rep"))).status_code == 403
        assert (await client.get("/enablement/v1/reminders", headers=token("globex", "manager"))).json() == []
