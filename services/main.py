"""`create_app(settings)`: mounts the chosen services' routes on one Litestar app.

Embedded mode serves all three services from one process, with Celery workers on threads inside it.
Distributed mode runs one service per process (`pitchcraft serve --service ingest`) and separate workers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig

from services.core.auth import JWTAuthMiddleware
from services.core.celery_app import EmbeddedWorker, create_celery
from services.core.context import AppContext
from services.core.db import create_engine, session_factory
from services.core.errors import COMMON_ERRORS, EXCEPTION_HANDLERS, error_responses
from services.core.http import CorrelationMiddleware, JsonLimitsMiddleware
from services.core.logging import configure_logging
from services.core.migrate import upgrade_async
from services.core.runtime import close_runtimes
from services.core.settings import ConfigurationError, Mode, Settings
from services.core.vectorstore import close_stores, open_store
from services.enablement import app as enablement_app
from services.ingest import app as ingest_app
from services.pitch import app as pitch_app
from services.web import app as web_app

log = structlog.get_logger(__name__)

SERVICES = {m.NAME: m for m in (ingest_app, pitch_app, enablement_app, web_app)}


def create_app(
    settings: Settings, *, services: Sequence[str] = tuple(SERVICES), run_worker: bool | None = None
) -> Litestar:
    """`run_worker` defaults to True in embedded mode (tasks run on threads in this process)."""
    unknown = set(services) - set(SERVICES)
    if unknown:
        raise ValueError(f"unknown services {sorted(unknown)}; choose from {sorted(SERVICES)}")
    apis = {"ingest", "pitch", "enablement"}
    if "web" in services and not apis <= set(services) and not settings.web.api_url:
        raise ConfigurationError(
            "the web app calls the APIs: serve them in the same process or set PITCHCRAFT_WEB_API_URL (the router)"
        )
    configure_logging(settings.log_level, settings.log_json)
    secret = settings.jwt_secret()  # fails closed outside development
    embedded = settings.mode is Mode.EMBEDDED
    with_worker = embedded if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade_async(settings.database_url)
        engine = create_engine(settings.database_url)
        store = await asyncio.to_thread(open_store, settings)
        ctx = AppContext(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            store=store,
            celery=create_celery(settings),
        )
        ctx.extras["services"] = tuple(services)
        app.state.ctx = ctx
        worker: EmbeddedWorker | None = None
        async with contextlib.AsyncExitStack() as stack:
            if with_worker:
                worker = EmbeddedWorker(ctx.celery, concurrency=settings.worker.embedded_worker_threads)
                worker.start()
                if "ingest" in services:
                    await stack.enter_async_context(ingest_app.embedded_background(ctx))
                if "enablement" in services:
                    await stack.enter_async_context(enablement_app.embedded_background(ctx))
            log.info("app.started", mode=settings.mode.value, services=list(services), worker=with_worker)
            try:
                yield
            finally:
                stopped = worker is None or await asyncio.to_thread(worker.stop)
                await engine.dispose()
                if stopped:  # never close stores under a task that is still running
                    await asyncio.to_thread(close_runtimes)
                    close_stores()
                log.info("app.stopped")

    handlers: list[Any] = []
    for name in services:
        handlers.extend(SERVICES[name].route_handlers())
    # The largest accepted upload plus room for multipart framing and form fields.
    body_limit = max(settings.ingest.max_body_bytes, settings.ingest.max_file_bytes) + 64 * 1024
    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        middleware=[
            CorrelationMiddleware(),
            DefineMiddleware(JWTAuthMiddleware, secret=secret),
            JsonLimitsMiddleware(body_limit),  # after auth: an anonymous caller never gets its body decoded
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        debug=settings.debug,  # Settings refuses debug outside development
        request_max_body_size=body_limit,
        cors_config=None if not settings.debug else CORSConfig(allow_origins=["http://localhost"]),
        openapi_config=OpenAPIConfig(title="Pitchcraft", version="1.0.0", path="/schema"),
        template_config=web_app.template_config() if "web" in services else None,
        csrf_config=web_app.csrf_config(settings, secret) if "web" in services else None,
    )
    document_errors(app)
    return app


def document_errors(app: Litestar) -> None:
    """Every operation's OpenAPI entry lists the error statuses it can answer, with the one error body: those
    any route may answer, 403 where a role guard stands, and what a handler declares itself."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
                continue
            statuses = [*COMMON_ERRORS, *([403] if handler.guards or _guarded(handler) else [])]
            handler.responses = {**error_responses(*statuses), **(handler.responses or {})}


def _guarded(handler: HTTPRouteHandler) -> bool:
    return any(layer.guards for layer in handler.ownership_layers if hasattr(layer, "guards"))
