"""Shared helpers of the enablement tests: the demo library app, quiz building, and the rep-body scan."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from services.main import create_app
from tests.conftest import settings_for_tests, token
from tests.demo_corpus import demo_documents
from tests.integration.conftest import wait_job

MANAGER = token("acme", "manager", sub="maya")


@asynccontextmanager
async def demo_app(data_dir: str, redis_url: str, **extra: str) -> AsyncIterator[AsyncTestClient[Any]]:
    """The whole app (real worker on Redis, real model, Edge, SQLite) with the demo library in org acme."""
    async with AsyncTestClient(
        app=create_app(settings_for_tests(data_dir, REDIS_URL=redis_url, **extra)), timeout=180
    ) as client:
        batch = await client.post(
            "/ingest/v1/documents/batch", json={"documents": demo_documents()}, headers=token("acme")
        )
        assert batch.status_code == 202, batch.text
        assert (await wait_job(client, batch.json()["job_id"]))["status"] == "succeeded"
        yield client


def due(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


AUTHORED = [
    {
        "type": "single_choice",
        "prompt": "How long does Lumora take to revoke a deactivated user's sessions and API tokens?",
        "options": ["Within 60 seconds", "Within 24 hours", "At the next nightly sync", "Within 7 days"],
        "answer": 0,
        "explanation": "SCIM deactivation revokes every session and token within a minute.",
        "persona": "ciso",
    },
    {
        "type": "multi_choice",
        "prompt": "Which two does Lumora offer where Tessellate stops short, according to the battlecard?",
        "options": [
            "Account health scores and pipeline forecasting",
            "Session replay and heatmaps",
            "Customer-managed encryption keys",
            "A generous free tier for bottom-up adoption",
        ],
        "answers": [0, 2],
        "explanation": "Replay and the free tier are where Tessellate is strong.",
        "competitor": "tessellate",
    },
    {
        "type": "short_answer",
        "prompt": "How does Lumora keep user accounts in sync with a customer's identity provider?",
        "reference_answer": "Lumora takes SCIM 2.0 provisioning from the identity provider, so users are created, "
        "updated and removed automatically, and identity provider groups map to Lumora roles.",
        "key_points": ["SCIM 2.0 provisioning", "users created and removed automatically", "groups map to roles"],
        "explanation": "The identity provider stays the source of truth for who has access.",
        "persona": "cio",
    },
]


def right_answers(attempt: dict[str, Any], quiz: dict[str, Any]) -> list[dict[str, Any]]:
    """The keyed answers of an attempt, by option text (as a rep who knows the material would answer)."""
    by_id = {q["id"]: q for q in quiz["questions"]}
    answers = []
    for q in attempt["questions"]:
        full = by_id[q["question_id"]]
        if full["type"] == "single_choice":
            answers.append({"question_id": q["question_id"], "choice": full["options"][full["answers"][0]]})
        elif full["type"] == "multi_choice":
            answers.append({"question_id": q["question_id"], "choices": [full["options"][i] for i in full["answers"]]})
        else:
            answers.append({"question_id": q["question_id"], "text": full["reference_answer"]})
    return answers


def wrong_answers(attempt: dict[str, Any], quiz: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {q["id"]: q for q in quiz["questions"]}
    answers = []
    for q in attempt["questions"]:
        full = by_id[q["question_id"]]
        wrong = [i for i in range(len(full["options"] or [])) if i not in (full["answers"] or [])]
        if full["type"] == "single_choice":
            answers.append({"question_id": q["question_id"], "choice": full["options"][wrong[0]]})
        elif full["type"] == "multi_choice":
            answers.append({"question_id": q["question_id"], "choices": [full["options"][wrong[0]]]})
        else:
            answers.append({"question_id": q["question_id"], "text": "We email a spreadsheet of users every week."})
    return answers


KEY_FIELDS = {"answer", "answers", "reference_answer", "key_points", "explanation", "sources", "recipe", "origin"}
# Items whose source names their answer (the feature asked for, the features to lead with, the right line).
REVEALING = {"which_feature", "persona_lead", "buyer_phrasing"}


def _texts(body: Any) -> tuple[list[str], list[str], set[str]]:
    """The texts a rep reads in the body, except option lists (options are shown; the key is one of them) and
    ids and timestamps (a UUID or a date can hold any short number); every id; and every field name."""
    names: set[str] = set()
    texts: list[str] = []
    ids: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            names.update(node)
            for k, v in node.items():
                if k != "options":
                    walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str):
            (ids if key.endswith(("id", "_at")) else texts).append(node)

    walk(body)
    return texts, ids, names


def leaks(body: Any, quiz: dict[str, Any], *, graded: bool = False) -> list[str]:
    """What of the quiz's keys a rep-facing body gives away: a key field; a keyed option outside the option
    lists; a reference answer or an explanation; before grading, a key point too (after grading, feedback
    names the key points missed, by design); and for items whose source names the answer, that source's
    document or external id anywhere, ids included."""
    texts, ids, names = _texts(body)
    text = "\n".join(texts)
    found = [f"field {n}" for n in sorted(names & KEY_FIELDS)]
    for q in quiz["questions"]:
        secrets = [q["reference_answer"], q["explanation"]]
        if q["options"] and q["answers"] is not None:
            secrets += [q["options"][i] for i in q["answers"]]
        if not graded:
            secrets += [k["text"] for k in q["key_points"] or []]
        found += [s for s in secrets if s and re.search(rf"(?<![\w.]){re.escape(s)}(?![\w])", text)]
        if q["origin"] in REVEALING:
            found += [
                f"source of {q['origin']}: {v}"
                for s in q["sources"]
                for v in (s["external_id"], s["document_id"])
                if v in ids or v in text
            ]
    return found
