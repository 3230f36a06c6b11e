"""How a page reads an API refusal: the error body's code, message and details; any other body, its text."""

from __future__ import annotations

import httpx

from services.web.api import api_error


def test_the_error_shape_is_read_field_by_field() -> None:
    body = {"error": {"code": "validation_error", "message": "check the fields", "details": [{"key": "title"}]}}
    error = api_error(httpx.Response(422, json=body))
    assert (error.status, error.code, error.message, error.details) == (
        422,
        "validation_error",
        "check the fields",
        [{"key": "title"}],
    )


def test_a_body_of_another_shape_gives_its_text() -> None:
    listed = api_error(httpx.Response(502, json=["upstream", "down"]))
    assert (listed.status, listed.code) == (502, "error") and "upstream" in listed.message
    plain = api_error(httpx.Response(503, text="Service Unavailable"))
    assert plain.message == "Service Unavailable"
    empty = api_error(httpx.Response(500))
    assert empty.message == "Internal Server Error"
