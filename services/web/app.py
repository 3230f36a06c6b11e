"""The web app's part of an app: its pages, static files, templates and CSRF protection.

Served at `/` by the same process in embedded mode; in distributed mode `pitchcraft serve --service web` serves it
behind the router and reaches the APIs at `PITCHCRAFT_WEB_API_URL`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from litestar.config.csrf import CSRFConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from services.core.auth import API_PATHS, NO_BEARER_AUTH
from services.core.http import health_router
from services.core.settings import Environment, Settings
from services.web.routes import web_router

NAME = "web"
HERE = Path(__file__).parent
STATIC = HERE / "static"


def route_handlers() -> list[object]:
    return [
        health_router(NAME),
        create_static_files_router(
            path="/static", directories=[STATIC], include_in_schema=False, opt={NO_BEARER_AUTH: True}
        ),
        web_router(),
    ]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine)


def csrf_config(settings: Settings, secret: str) -> CSRFConfig:
    """Double-submit token on every unsafe request to a page: a hidden `_csrf_token` field in each form, the
    `x-csrftoken` header on htmx requests. The APIs take bearer tokens, never cookies, so they are left out."""
    return CSRFConfig(
        secret=hashlib.sha256(f"pitchcraft-csrf:{secret}".encode()).hexdigest(),
        cookie_name="pitchcraft_csrf",
        cookie_secure=settings.environment is not Environment.DEVELOPMENT,
        cookie_samesite="lax",
        exclude=[rf"^{p}" for p in API_PATHS] + [r"^/schema"],
    )
