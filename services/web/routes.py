"""Sign-in, sign-out, the home redirect, and how any page error is shown. HTTP only."""

from __future__ import annotations

from typing import Annotated, Any, cast
from urllib.parse import quote

import structlog
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from pydantic import BaseModel

from services.core.auth import NO_BEARER_AUTH
from services.core.errors import AppError
from services.web.accounts import Account, SignInRefused, TooManyAttempts
from services.web.api import ApiError
from services.web.pages import ROUTES as PAGE_ROUTES
from services.web.session import COOKIE, LoginRequired, accounts, home_for, page, page_api, session_cookie, signed_in

log = structlog.get_logger(__name__)

STATUS_TITLES = {
    400: "That did not work",
    401: "Sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported file",
    422: "Check the form",
    429: "Too many attempts",
    503: "Unavailable",
}


class SignInForm(BaseModel):
    email: str = ""
    password: str = ""
    next: str = ""


def _safe_next(target: str) -> str:
    """Only a path on this site: never `//evil.example` or `https://...`."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 500:
        return target
    return ""


@get("/login", name="login", sync_to_thread=False)
def login_page(next: FromQuery[str] = "") -> Template:  # noqa: A002  (the query parameter's name)
    return page("login.html", None, title="Sign in", next=_safe_next(next), email="", error=None)


@post("/login", status_code=303)
async def login(
    request: Request[Any, Any, Any], data: Annotated[SignInForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Response[Any]:
    client = request.client.host if request.client else "unknown"
    try:
        token, account = await accounts(request).sign_in(data.email, data.password, client)
    except TooManyAttempts as exc:
        log.warning("web.sign_in_rate_limited", email=data.email[:254], client=client)
        response = page(
            "login.html", None, title="Sign in", next=data.next, email=data.email, error=exc.message, status_code=429
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except SignInRefused as exc:
        log.info("web.sign_in_refused", email=data.email[:254], client=client)
        return page(
            "login.html", None, title="Sign in", next=data.next, email=data.email, error=exc.message, status_code=401
        )
    log.info("web.signed_in", user_id=account.id, org=account.org)
    ctx = request.app.state.ctx
    redirect = Redirect(_safe_next(data.next) or home_for(account.principal), status_code=303)
    redirect.cookies.append(session_cookie(request, token, ctx.settings.web.session_hours * 3600))
    return redirect


@post("/logout", status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    token = request.cookies.get(COOKIE, "")
    if token:
        await accounts(request).sign_out(token)
    redirect = Redirect("/login", status_code=303)
    redirect.cookies.append(session_cookie(request, "", 0))
    return redirect


@get("/", name="home")
async def home(user: NamedDependency[Account]) -> Redirect:
    return Redirect(home_for(user.principal), status_code=303)


def _error_page(request: Request[Any, Any, Any], status: int, message: str) -> Response[Any]:
    if status == 401:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/?=&")
        if request.headers.get("hx-request"):
            return Response(content=b"", status_code=204, headers={"HX-Redirect": f"/login?next={target}"})
        return Redirect(f"/login?next={target}", status_code=303)
    title = STATUS_TITLES.get(status, "Something went wrong")
    return page("error.html", None, title=title, status_code=status, status=status, message=message)


def _on_app_error(request: Request[Any, Any, Any], exc: AppError) -> Response[Any]:
    return _error_page(request, 401 if isinstance(exc, LoginRequired) else exc.status_code, exc.message)


def _on_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return _error_page(request, exc.status, exc.message)


def _on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    message = exc.detail if exc.status_code < 500 else "internal error"
    if exc.status_code == 403 and "csrf" in str(exc.detail).lower():
        message = "this form expired or did not come from this site; reload the page and send it again"
    return _error_page(request, exc.status_code, message)


def _on_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("web.unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return _error_page(request, 500, "internal error; the request id in the logs identifies it")


SECURITY_HEADERS = {
    # Scripts and styles only from this site (vendored files): no inline script anywhere in the templates.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


async def _security_headers(response: Response[Any]) -> Response[Any]:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def web_router() -> Router:
    return Router(
        path="/",
        route_handlers=[login_page, login, logout, home, *cast(list[Any], PAGE_ROUTES)],
        dependencies={"user": Provide(signed_in), "api": Provide(page_api)},
        exception_handlers={
            AppError: _on_app_error,
            ApiError: _on_api_error,
            HTTPException: _on_http_error,
            Exception: _on_error,
        },
        after_request=_security_headers,
        include_in_schema=False,
        opt={NO_BEARER_AUTH: True},  # pages check the session cookie (`user` dependency), not a bearer token
    )
