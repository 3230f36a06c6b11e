"""OpenAPI request bodies of the ingest POSTs.

The handlers read their bodies themselves (JSON is checked for depth and number size before it is decoded; a
multipart form carries a file), so Litestar cannot infer the bodies from a `data` parameter. These operations
describe them from the same pydantic models the handlers validate with, so the published constraints are the
enforced ones, for generated clients and for schemathesis (`tests/e2e/test_schema_fuzz.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from litestar.openapi.spec import Encoding, OpenAPIMediaType, Operation, RequestBody, Schema
from pydantic import BaseModel

from services.ingest.parsing import SUPPORTED
from services.ingest.schemas import BatchIn, DocumentIn

# What a multipart `file` part may declare; anything else is a 415 (or the file's extension decides).
FILE_TYPES = (
    "text/markdown, text/plain, text/html, application/pdf, "
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document, application/octet-stream"
)


class JsonSchema(Schema):
    """A JSON schema given as a dict (OpenAPI 3.1 schemas are JSON Schema), serialised as it is."""

    def __init__(self, raw: dict[str, Any]) -> None:
        super().__init__()
        self.raw = raw

    def to_schema(self) -> dict[str, Any]:
        return self.raw


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's validation schema with its `$defs` written in place (an operation cannot add components)."""
    schema = model.model_json_schema(mode="validation")
    defs: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return resolve({**defs[ref.removeprefix("#/$defs/")], **rest})
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A form field is absent or a value, never null: keep the non-null branch of an optional field."""
    branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    return {**branches[0], **rest}


@cache
def form_schema() -> dict[str, Any]:
    """The multipart form: a `file` and the document's fields, each a form value (tags comma-separated)."""
    fields = inline_schema(DocumentIn)["properties"]
    props: dict[str, Any] = {
        "file": {
            "type": "string",
            "format": "binary",
            "contentMediaType": "application/octet-stream",
            "description": f"the document: {SUPPORTED}; at most PITCHCRAFT_MAX_FILE_BYTES (default 10 MiB), else 413",
        }
    }
    for name, prop in fields.items():
        if name == "content":
            continue
        props[name] = _not_null(prop)
    props["tags"] = {
        "type": "string",
        "maxLength": 50 * 61,
        "description": "comma-separated tags (at most 50, each 1-60 characters)",
    }
    for name in ("as_of", "expires_at"):
        props[name] = {
            "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
            "description": f"{props[name].get('description', '')}; a date or a date-time without a zone is read "
            "as UTC; 1970-01-01 to 2199-12-31",
        }
    props["content_type"]["description"] = (
        "overrides the file part's own type: markdown, text, html, pdf, docx or a MIME type"
    )
    return {
        "title": "DocumentUpload",
        "type": "object",
        "description": "external_id, kind and title are required unless the file is markdown whose front matter "
        "supplies them; fields given here win over front matter",
        "properties": props,
        "required": ["file"],
    }


@cache
def document_body() -> RequestBody:
    return RequestBody(
        required=True,
        description="JSON (the document's text in `content`) or a multipart form with a `file`. Markdown and "
        "text are read at once; HTML, PDF and DOCX are stored and parsed by the job. JSON bodies are at most "
        "PITCHCRAFT_MAX_BODY_BYTES (default 5 MiB), nested at most 32 deep.",
        content={
            "application/json": OpenAPIMediaType(schema=JsonSchema(inline_schema(DocumentIn))),
            "multipart/form-data": OpenAPIMediaType(
                schema=JsonSchema(form_schema()), encoding={"file": Encoding(content_type=FILE_TYPES)}
            ),
        },
    )


@cache
def batch_body() -> RequestBody:
    return RequestBody(
        required=True,
        description="Documents as in POST /documents (JSON); at most PITCHCRAFT_MAX_BATCH_DOCUMENTS (default 200), "
        "else 413; each external_id once, else 409.",
        content={"application/json": OpenAPIMediaType(schema=JsonSchema(inline_schema(BatchIn)))},
    )


@dataclass
class DocumentOperation(Operation):
    """POST /ingest/v1/documents, with its request body."""

    def __post_init__(self) -> None:
        self.request_body = document_body()


@dataclass
class BatchOperation(Operation):
    """POST /ingest/v1/documents/batch, with its request body."""

    def __post_init__(self) -> None:
        self.request_body = batch_body()
