"""HTTP against a running `pitchcraft serve` (embedded mode), with a token from `pitchcraft token`."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import token as _token

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_ingest_over_http(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, env = server
    engineer, rep = _token(env, "engineer"), _token(env, "rep")
    with httpx.Client(base_url=base, timeout=30) as http:
        response = http.post(
            "/ingest/v1/documents",
            json={
                "external_id": "e2e-sso",
                "kind": "feature",
                "title": "SSO",
                "content": "# SSO\n\n## How it works\n\nUsers sign in through SAML 2.0 single sign-on and accounts "
                "are provisioned with SCIM from the identity provider.",
            },
            headers={**engineer, "X-Request-ID": "e2e-req-1"},
        )
        assert response.status_code == 202, response.text
        assert response.headers["x-request-id"] == "e2e-req-1"
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 120
        while (job := http.get(f"/ingest/v1/jobs/{job_id}", headers=rep).json())["status"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert job["status"] == "succeeded" and job["progress"]["done"] == job["progress"]["total"] > 0
        listed = http.get("/ingest/v1/documents", headers=rep).json()
        assert [d["external_id"] for d in listed["items"]] == ["e2e-sso"]
        assert listed["items"][0]["current_version"] == 1
        assert http.get("/ingest/v1/documents", headers=_token(env, "rep", org="other")).json()["total"] == 0
        error = http.post("/ingest/v1/documents", json={"kind": "feature"}, headers=engineer)
        assert error.status_code == 422 and set(error.json()["error"]) == {"code", "message", "details"}
        schema = http.get("/schema/openapi.json")
        assert schema.status_code == 200 and "/ingest/v1/documents" in schema.json()["paths"]
        assert "/pitch/v1/talk-tracks" in schema.json()["paths"]

        track = http.post("/pitch/v1/talk-tracks", json={"persona": "ciso", "segment": "enterprise"}, headers=rep)
        assert track.status_code == 200, track.text
        body = track.json()
        assert body["tone"] == "technical" and [f["external_id"] for f in body["features"]] == ["e2e-sso"], body[
            "warnings"
        ]
        assert body["features"][0]["points"][0]["citation"]["external_id"] == "e2e-sso"
        assert "security review" in body["next_step"]
        markdown = http.post(
            "/pitch/v1/talk-tracks", json={"persona": "ciso"}, headers={**rep, "Accept": "text/markdown"}
        )
        assert markdown.headers["content-type"].startswith("text/markdown") and "## 1. SSO" in markdown.text


def test_enablement_over_http(server: tuple[str, dict[str, str]]) -> None:
    """A manager builds and assigns a quiz; a rep takes it and is graded; over a real socket."""
    base, env = server
    manager, rep = _token(env, "manager"), _token(env, "rep")
    question = {
        "type": "single_choice",
        "prompt": "Which standard provisions accounts from the identity provider?",
        "options": ["SCIM", "FTP", "SMTP", "CSV upload"],
        "answer": 0,
        "explanation": "e2e-explanation-marker",
    }
    with httpx.Client(base_url=base, timeout=60) as http:
        created = http.post("/enablement/v1/quizzes", json={"title": "e2e", "questions": [question]}, headers=manager)
        assert created.status_code == 201, created.text
        quiz_id = created.json()["id"]
        assert http.post(f"/enablement/v1/quizzes/{quiz_id}/publish", headers=manager).status_code == 200
        assigned = http.post(
            "/enablement/v1/assignments",
            json={
                "quiz_id": quiz_id,
                "assignees": ["rep-user"],
                "due_at": "2099-01-01T00:00:00Z",
                "pass_mark": 100,
                "max_attempts": 1,
            },
            headers=manager,
        )
        assert assigned.status_code == 201, assigned.text
        mine = http.get("/enablement/v1/me/assignments", headers=rep).json()
        attempt = http.post(f"/enablement/v1/assignments/{mine[0]['id']}/attempts", headers=rep)
        assert attempt.status_code == 201 and "e2e-explanation-marker" not in attempt.text
        assert '"answer"' not in attempt.text
        (shown,) = attempt.json()["questions"]
        graded = http.post(
            f"/enablement/v1/attempts/{attempt.json()['attempt_id']}/submit",
            json={"answers": [{"question_id": shown["question_id"], "choice": shown["options"].index("SCIM")}]},
            headers=rep,
        )
        assert graded.status_code == 200 and graded.json()["passed"] and graded.json()["score"] == 100
        assert "e2e-explanation-marker" not in graded.text
        assert http.post(f"/enablement/v1/quizzes/{quiz_id}/publish", headers=rep).status_code == 403
        assert "/enablement/v1/me/reviews" in http.get("/schema/openapi.json").json()["paths"]
