"""Who is signed in: the session cookie, the page dependencies, role checks, and how pages render."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.response import Template

from services.core.auth import Principal, Role
from services.core.context import AppContext
from services.core.errors import AppError, Forbidden
from services.core.settings import Environment
from services.web.accounts import Account, Accounts
from services.web.api import Api, api_for

COOKIE = "pitchcraft_session"


class LoginRequired(AppError):
    status_code = 401
    code = "login_required"


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str
    roles: frozenset[Role]


# Admin sees everything. Each entry names the roles its pages accept: the same roles as the APIs they call.
NAV = (
    NavItem("/tracks", "Talk track", frozenset(Role)),
    NavItem("/deals", "Deals", frozenset({Role.REP, Role.MANAGER})),
    NavItem("/training", "Training", frozenset({Role.REP})),
    NavItem("/library", "Library", frozenset({Role.ENGINEER, Role.MANAGER})),
    NavItem("/manager", "Enablement", frozenset({Role.MANAGER})),
    NavItem("/admin", "Admin", frozenset({Role.ADMIN})),
)
HOME_BY_ROLE = ((Role.REP, "/tracks"), (Role.ENGINEER, "/library"), (Role.MANAGER, "/manager"), (Role.ADMIN, "/admin"))


def accounts(request: Request[Any, Any, Any]) -> Accounts:
    ctx: AppContext = request.app.state.ctx
    found = ctx.extras.get("web.accounts")
    if found is None:
        found = ctx.extras["web.accounts"] = Accounts(ctx.sessions, ctx.settings.web)
    return found


def session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    ctx: AppContext = request.app.state.ctx
    return Cookie(
        key=COOKIE,
        value=token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.environment is not Environment.DEVELOPMENT,
    )


async def signed_in(request: Request[Any, Any, Any]) -> Account:
    """The page dependency `user`: the signed-in account, or a redirect to the sign-in page."""
    account = await accounts(request).session_account(request.cookies.get(COOKIE, ""))
    if account is None:
        raise LoginRequired("sign in to continue")
    return account


async def page_api(request: Request[Any, Any, Any], user: NamedDependency[Account]) -> AsyncIterator[Api]:
    """The page dependency `api`: the APIs, called as the signed-in user."""
    api = api_for(request, user.principal)
    try:
        yield api
    finally:
        await api.aclose()


def require(user: Account, *roles: Role) -> None:
    """A page's role check (admin always passes), the same rule as the API's `requires`."""
    if not user.principal.has_any({*roles, Role.ADMIN}):
        raise Forbidden(f"this page is for: {', '.join(sorted(r.value for r in {*roles, Role.ADMIN}))}")


def nav_for(principal: Principal) -> list[NavItem]:
    if Role.ADMIN in principal.roles:
        return list(NAV)
    return [item for item in NAV if principal.has_any(item.roles)]


def home_for(principal: Principal) -> str:
    return next((path for role, path in HOME_BY_ROLE if role in principal.roles), "/tracks")


def page(template: str, user: Account | None, *, title: str, status_code: int = 200, **context: Any) -> Template:
    """A full page or, for an htmx request that targets part of it, the same template (templates check
    `partial`)."""
    nav: Iterable[NavItem] = nav_for(user.principal) if user else ()
    return Template(
        template_name=template,
        context={"user": user, "nav": list(nav), "title": title, **context},
        status_code=status_code,
    )
