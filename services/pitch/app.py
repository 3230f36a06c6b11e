"""The pitch service's part of an app.

Its API arrives with its own issue; for now it answers health and readiness."""

from __future__ import annotations

from services.core.http import health_router

NAME = "pitch"


def route_handlers() -> list[object]:
    return [health_router(NAME)]
