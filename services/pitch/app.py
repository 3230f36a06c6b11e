"""The pitch service's part of an app: its routes."""

from __future__ import annotations

from services.core.http import health_router
from services.pitch.deals.routes import ROUTES as DEAL_ROUTES
from services.pitch.routes import ROUTES

NAME = "pitch"


def route_handlers() -> list[object]:
    return [health_router(NAME), *ROUTES, *DEAL_ROUTES]
