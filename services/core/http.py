"""HTTP pieces every service shares: health and readiness routes, request correlation, dependencies."""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgspec
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


# JSON request bodies: deeper nesting than this is refused before any handler or validator sees it (no request
# of ours nests past 5 levels; Python's recursion limit sits near 1,000).
MAX_JSON_DEPTH = 32
_JSON_METHODS = {"POST", "PUT", "PATCH"}
_FORM_MEDIA = {b"multipart/form-data", b"application/x-www-form-urlencoded"}
# Integers a request may carry: what a 64-bit column holds (msgspec itself decodes up to 4,300 digits).
_INT_LIMIT = 2**63


def json_problem(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a JSON body is refused, or None: not JSON, nested deeper than `max_depth`, or an integer outside 64
    bits (a column would overflow; Python's own parser spends seconds on 5,000 digits)."""
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        return f"the JSON body is nested too deeply (the limit is {max_depth} levels)"
    except msgspec.DecodeError as exc:
        return f"the body is not valid JSON: {exc}"
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= _INT_LIMIT:
            return "the JSON body holds an integer outside 64 bits"
        if isinstance(item, dict | list):
            if depth > max_depth:
                return f"the JSON body is nested deeper than {max_depth} levels"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | int))
    return None


class JsonLimitsMiddleware(ASGIMiddleware):
    """Reads every POST/PUT/PATCH body that is not a form (up to `max_body` bytes; 413 past it), refuses a
    JSON-shaped one with 400 and the error shape when `json_problem` finds a problem, and hands the same bytes on
    to the route (which decodes them again, now safely)."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http" or scope.get("method") not in _JSON_METHODS:
            await next_app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        media = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if media in _FORM_MEDIA:
            await next_app(scope, receive, send)
            return
        # Any other body may reach a JSON decoder (a route reads `data` whatever the content type, or parses the
        # body itself), so every one is read here; one that is not JSON-shaped is passed on untouched.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _refuse(send, 413, "payload_too_large", f"the request body is over {self.max_body} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = json_problem(body) if body.lstrip()[:1] in (b"{", b"[") else None
        if problem is not None:
            await _refuse(send, 400, "bad_request", problem)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await next_app(scope, replay, send)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    payload = msgspec.json.encode({"error": {"code": code, "message": message, "details": None}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload, "more_body": False})
