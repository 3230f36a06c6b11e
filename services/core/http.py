"""HTTP pieces every service shares: health and readiness routes, request correlation, dependencies."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from litestar import Router, get
from litestar.datastructures import State
from litestar.middleware import ASGIMiddleware
from litestar.response import Response
from litestar.types import ASGIApp, Receive, Scope, Send

from services.core.context import AppContext

log = structlog.get_logger(__name__)


def app_context(state: State) -> AppContext:
    ctx: AppContext = state.ctx
    return ctx


def health_router(service: str) -> Router:
    """`/<service>/health` (the process answers) and `/<service>/ready` (its stores answer)."""

    @get("/health", summary=f"{service} liveness", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @get("/ready", summary=f"{service} readiness: database, vector store and broker answer")
    async def ready(state: State) -> Response[dict[str, Any]]:
        ctx = app_context(state)
        checks: dict[str, str] = {}
        for name, check in (
            ("database", ctx.check_database),
            ("vector_store", ctx.check_store),
            ("broker", ctx.check_broker),
        ):
            try:
                await check()
                checks[name] = "ok"
            except Exception as exc:  # noqa: BLE001  (readiness reports any failure, it never raises)
                checks[name] = f"failed: {type(exc).__name__}"
                log.warning("ready.check_failed", service=service, check=name, error=str(exc))
        ok = all(v == "ok" for v in checks.values())
        return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    return Router(path=f"/{service}", route_handlers=[health, ready], include_in_schema=True)


class CorrelationMiddleware(ASGIMiddleware):
    """Binds request_id (from X-Request-ID or new) into structlog's context and echoes it back."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = raw if raw and raw.replace("-", "").isalnum() else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, path=scope.get("path"))
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await next_app(scope, receive, send_wrapper)
        except Exception as exc:
            status = int(getattr(exc, "status_code", 500))
            raise
        finally:
            log.info(
                "http.request",
                method=scope.get("method"),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()
