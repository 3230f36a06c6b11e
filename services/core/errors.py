"""One error base for the whole system and the one handler that renders it.

Services raise only `AppError` subclasses for conditions a client can act on. Anything else is a bug:
logged with context, answered with a bare 500 that says nothing internal.
"""

from __future__ import annotations

from typing import Any

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.exceptions import ValidationException as LitestarValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from pydantic import BaseModel, Field

log = structlog.get_logger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable reason, e.g. validation_error, not_found, unavailable")
    message: str = Field(description="what went wrong and what to change")
    details: Any = Field(default=None, description="per-field problems for validation errors, else null")


class ErrorBody(BaseModel):
    """The body of every error answer of every service."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for these error statuses, all with the one error body."""
    return {status: ResponseSpec(data_container=ErrorBody, description=ERROR_MEANING[status]) for status in statuses}


ERROR_MEANING = {
    400: "the body is not valid JSON, is nested too deeply, or has an integer outside 64 bits",
    401: "no token, or an invalid or expired one",
    403: "the token's role may not do this",
    404: "no such resource in your organisation",
    409: "the resource is not in a state that allows this (see the message)",
    410: "what was cited is no longer stored",
    413: "the body or file is over the size limit",
    415: "the content type is not accepted here",
    422: "a field is invalid: details names each",
    503: "a store (database, broker) is unreachable; nothing was changed; retry after Retry-After seconds",
}
# What any route may answer.
COMMON_ERRORS = (400, 401, 404, 422, 503)


class AppError(Exception):
    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class Unauthenticated(AppError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"


class Unprocessable(AppError):
    status_code = 422
    code = "unprocessable"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "unavailable"


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def app_error_handler(_: Request[Any, Any, Any], exc: AppError) -> Response[dict[str, Any]]:
    return Response(_body(exc.code, exc.message, exc.details), status_code=exc.status_code)


def http_exception_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Litestar's own errors (validation, 404 route, 405, body too large) in our error shape."""
    status = exc.status_code
    if isinstance(exc, LitestarValidationException):
        # Request validation failures are 422: the request was understood but a field is wrong.
        return Response(
            _body("validation_error", "request validation failed: see details for each field", exc.extra),
            status_code=422,
        )
    code = {
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        415: "unsupported_media_type",
        429: "rate_limited",
    }.get(status, "bad_request" if status < 500 else "internal_error")
    if isinstance(exc, NotAuthorizedException | PermissionDeniedException):
        return Response(_body(code, exc.detail), status_code=status)
    detail = exc.detail if status < 500 else "internal error"
    return Response(_body(code, detail, exc.extra if status < 500 else None), status_code=status, headers=exc.headers)


# Seconds a client is told to wait when a store is away; the readiness route says which one.
RETRY_AFTER_SECONDS = 5
# A store that cannot be reached: the request may succeed later. Driver errors (OperationalError, InterfaceError and
# the bare DBAPIError asyncpg raises) go through `database_unreachable` first: a missing table is a bug, not an
# outage. Redis and kombu raise their own ConnectionError / OperationalError.
UNAVAILABLE = (
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
    ConnectionError,
)


def unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    store = "the broker" if isinstance(exc, redis.exceptions.RedisError | kombu.exceptions.KombuError) else "a store"
    if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        store = "the database"
    log.warning("http.store_unavailable", path=request.url.path, error_type=type(exc).__name__, error=str(exc)[:300])
    return Response(
        _body("unavailable", f"{store} is unreachable; nothing was changed, try again shortly"),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def database_unreachable(exc: sqlalchemy.exc.DBAPIError) -> bool:
    """A driver error that means the database cannot be reached (rather than a bad statement): a dropped
    connection, a refused or timed-out connect, a server shutting down or not accepting connections."""
    if exc.connection_invalidated or isinstance(exc, sqlalchemy.exc.InterfaceError):
        return True
    seen: list[BaseException] = []
    error: BaseException | None = exc.orig
    while error is not None and len(seen) < 6:
        seen.append(error)
        error = error.__cause__ or error.__context__
    for error in seen:
        state = str(getattr(error, "sqlstate", "") or "")
        if isinstance(error, OSError | TimeoutError) or state.startswith(("08", "57P", "53")):
            return True
        text = str(error)
        if "not currently accepting connections" in text or "database is locked" in text:
            return True
    return False


def dbapi_error_handler(request: Request[Any, Any, Any], exc: sqlalchemy.exc.DBAPIError) -> Response[dict[str, Any]]:
    if database_unreachable(exc):
        return unavailable_handler(request, exc)
    return internal_error_handler(request, exc)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("http.unhandled_error", path=request.url.path, method=request.method, error_type=type(exc).__name__)
    return Response(
        _body("internal_error", "internal error; the request id in the logs identifies it"),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    AppError: app_error_handler,
    HTTPException: http_exception_handler,
    **dict.fromkeys(UNAVAILABLE, unavailable_handler),
    sqlalchemy.exc.DBAPIError: dbapi_error_handler,
    Exception: internal_error_handler,
}
