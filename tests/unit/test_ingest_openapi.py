"""The ingest POST bodies in the OpenAPI schema: what the handlers accept, with the constraints they enforce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.main import create_app
from tests.conftest import settings_for_tests


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(settings_for_tests(Path(tmp_path_factory.mktemp("openapi")) / "data"))
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def test_the_document_post_describes_its_json_and_multipart_bodies(spec: dict[str, Any]) -> None:
    op = spec["paths"]["/ingest/v1/documents"]["post"]
    body = op["requestBody"]
    assert body["required"] is True and set(body["content"]) == {"application/json", "multipart/form-data"}
    doc = body["content"]["application/json"]["schema"]
    assert doc["required"] == ["external_id", "kind", "title", "content"]
    assert doc["additionalProperties"] is False
    assert doc["properties"]["external_id"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
    assert set(doc["properties"]["kind"]["enum"]) >= {"feature", "competitor", "case_study"}
    assert doc["properties"]["tags"]["maxItems"] == 50
    form_media = body["content"]["multipart/form-data"]
    form = form_media["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert "application/pdf" in form_media["encoding"]["file"]["contentType"]
    assert form["properties"]["tags"]["type"] == "string"  # comma-separated in a form
    assert form["properties"]["kind"]["enum"] == doc["properties"]["kind"]["enum"]
    assert "content" not in form["properties"]
    # A form value is never null: optional fields are simply left out.
    assert all(b.get("type") != "null" for p in form["properties"].values() for b in p.get("anyOf", []))
    assert {"200", "202", "409", "413", "415", "422"} <= set(op["responses"])


def test_the_batch_post_describes_its_body_and_no_schema_refers_to_missing_definitions(spec: dict[str, Any]) -> None:
    op_path = "/ingest/v1/documents/batch"
    op = spec["paths"][op_path]["post"]
    batch = op["requestBody"]["content"]["application/json"]["schema"]
    documents = batch["properties"]["documents"]
    assert (documents["minItems"], documents["maxItems"]) == (1, 1000)
    assert documents["items"]["properties"]["kind"]["enum"]
    assert {"200", "202", "409", "413"} <= set(op["responses"])
    bodies = [spec["paths"][path]["post"]["requestBody"] for path in ("/ingest/v1/documents", op_path)]
    assert "$defs" not in json.dumps(bodies)  # inlined: an operation cannot add components
