"""Hostile and odd requests against the running app: each is a 4xx with the error shape (never a 500), and nothing
stored changes. Hostile files are tested with the parsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from services.core.auth import ISSUER, MAX_AUTHORIZATION_BYTES
from services.core.http import MAX_JSON_DEPTH
from tests.conftest import SECRET, token
from tests.integration.conftest import feature_doc, wait_job

pytestmark = pytest.mark.integration
ENGINEER = token("acme", "engineer")
MANAGER = token("acme", "manager")
JSON_ROUTES = [
    ("/ingest/v1/documents", ENGINEER),
    ("/ingest/v1/documents/batch", ENGINEER),
    ("/pitch/v1/talk-tracks", ENGINEER),
    ("/enablement/v1/quizzes", MANAGER),
    ("/enablement/v1/assignments", MANAGER),
]


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


async def documents(client: AsyncTestClient[Any]) -> list[dict[str, Any]]:
    listed = await client.get("/ingest/v1/documents", headers=ENGINEER)
    assert listed.status_code == 200
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_bodies_nested_too_deep_or_with_huge_numbers_are_400_on_every_json_route(
    client: AsyncTestClient[Any],
) -> None:
    stored = await client.post("/ingest/v1/documents", json=feature_doc("feat-keep"), headers=ENGINEER)
    assert (await wait_job(client, stored.json()["job_id"]))["status"] == "succeeded"
    before = await documents(client)
    too_deep = "[" * 1000 + "]" * 1000
    just_over = '{"a": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"
    huge = '{"title": ' + "9" * 5000 + "}"
    for path, headers in JSON_ROUTES:
        for body, said in ((too_deep, "nested"), (just_over, "nested"), (huge, "not valid JSON"), ("{", "JSON")):
            response = await client.post(path, content=body, headers={**headers, "content-type": "application/json"})
            assert response.status_code == 400, (path, body[:20], response.text)
            assert said in error_of(response)["message"]
    for path, headers in JSON_ROUTES[:3]:  # any content type: routes decode a JSON-shaped body whatever it says
        for media in ("text/plain", "application/octet-stream"):
            response = await client.post(path, content=too_deep, headers={**headers, "content-type": media})
            assert response.status_code == 400, (path, media, response.text)
        just_big = '{"title": ' + "9" * 25 + "}"  # within msgspec's range, outside 64 bits
        response = await client.post(path, content=just_big, headers={**headers, "content-type": "application/json"})
        assert response.status_code == 400 and "64 bits" in error_of(response)["message"], response.text
    assert await documents(client) == before  # nothing stored changed


async def test_dates_and_pages_out_of_range_are_422(client: AsyncTestClient[Any]) -> None:
    for field, value in (("as_of", "9999-12-31"), ("expires_at", "9999-12-31T23:59:59Z"), ("as_of", "0001-01-01")):
        response = await client.post(
            "/ingest/v1/documents", json=feature_doc("feat-date", **{field: value}), headers=ENGINEER
        )
        assert response.status_code == 422, response.text
        assert "1970-01-01 and 2199-12-31" in str(error_of(response)["details"])
    for query in (f"offset={2**70}", "offset=-1", f"limit={2**70}"):
        response = await client.get(f"/ingest/v1/documents?{query}", headers=ENGINEER)
        assert response.status_code == 422, (query, response.text)
        error_of(response)
    assert await documents(client) == []


async def test_a_date_in_a_multipart_form_field_is_read_as_utc(client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/ingest/v1/documents",
        files={"file": ("notes.md", b"# Key vault\n\nKeys rotate every 90 days.", "text/markdown")},
        data={"external_id": "feat-form", "kind": "feature", "title": "Key vault", "as_of": "2026-09-01"},
        headers=ENGINEER,
    )
    assert response.status_code == 202, response.text
    assert (await wait_job(client, response.json()["job_id"]))["status"] == "succeeded"
    [doc] = await documents(client)
    assert doc["as_of"].startswith("2026-09-01T00:00:00")


async def test_tokens_are_checked_whole_and_oversized_headers_are_refused_unread(client: AsyncTestClient[Any]) -> None:
    now = datetime.now(UTC)
    claims = {"sub": "eve", "roles": ["admin"], "iat": now, "exp": now + timedelta(hours=1), "iss": ISSUER}
    for org in ("acme\n", "acme ", "", "a" * 65):
        forged = jwt.encode({**claims, "org": org}, SECRET, algorithm="HS256")
        response = await client.get("/ingest/v1/documents", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401 and "org" in error_of(response)["message"], (org, response.text)
    huge = {"Authorization": "Bearer " + "a" * (MAX_AUTHORIZATION_BYTES * 100)}
    response = await client.get("/ingest/v1/documents", headers=huge)
    assert response.status_code == 401 and "over 8192 bytes" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/enablement/v1/quizzes"),
        ("GET", "/enablement/v1/quizzes/some-id"),
        ("GET", "/ingest/v1/documents"),
        ("POST", "/pitch/v1/talk-tracks"),
    ],
)
async def test_options_without_a_token_is_answered_not_a_500(
    client: AsyncTestClient[Any], method: str, path: str
) -> None:
    response = await client.options(path)
    assert response.status_code < 500, response.text
    # ... and it opens nothing: the route's own method still needs a token.
    assert (await client.request(method, path, json={})).status_code == 401
