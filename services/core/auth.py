"""JWT auth (HS256; claims sub, org, roles), enforced on every route except health, readiness and docs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from services.core.errors import Forbidden, Unauthenticated

ALGORITHM = "HS256"
ISSUER = "pitchcraft"
# Matched with fullmatch: "$" alone would let "demo\n" through as a new tenant.
ORG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# A token we issue is a few hundred bytes; a longer header is refused before it is decoded.
MAX_AUTHORIZATION_BYTES = 8192

# The API prefixes: bearer tokens here; everything else is the web app, whose pages check a session cookie.
API_PATHS = ("/ingest/", "/pitch/", "/enablement/")
# Anchored: an unanchored "/health" would also open "/ingest/healthy-secrets".
PUBLIC_PATHS = (r"^/(ingest|pitch|enablement|web)/(health|ready)$", r"^/schema(/.*)?$")
# Route layers marked with this opt skip bearer auth: the web app's pages, which check a session cookie instead.
NO_BEARER_AUTH = "exclude_from_auth"


class Role(StrEnum):
    REP = "rep"
    ENGINEER = "engineer"
    MANAGER = "manager"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    org: str
    roles: frozenset[Role]

    def has_any(self, roles: Iterable[Role]) -> bool:
        return bool(self.roles & set(roles))


def issue_token(secret: str, *, sub: str, org: str, roles: Iterable[str], ttl_seconds: int = 12 * 3600) -> str:
    parsed = sorted({Role(r).value for r in roles})
    if not 0 < len(sub) <= 200:
        raise ValueError("a token needs a subject (--sub) of 1-200 characters")
    if not ORG_RE.fullmatch(org):
        raise ValueError("org must be 1-64 letters, digits, '.', '_' or '-'")
    now = datetime.now(UTC)
    claims = {
        "sub": sub,
        "org": org,
        "roles": parsed,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    claims["iss"] = ISSUER
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "iss"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("token expired; ask for a new one (pitchcraft token)") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from exc
    org = claims.get("org")
    roles = claims.get("roles")
    if not isinstance(org, str) or not ORG_RE.fullmatch(org):
        raise Unauthenticated("token has no valid 'org' claim")
    if not isinstance(roles, list) or not roles:
        raise Unauthenticated("token has no 'roles' claim")
    try:
        parsed = frozenset(Role(r) for r in roles)
    except ValueError as exc:
        raise Unauthenticated(f"token carries an unknown role; roles are {[r.value for r in Role]}") from exc
    sub = str(claims["sub"])
    if not 0 < len(sub) <= 200:
        raise Unauthenticated("token 'sub' must be 1-200 characters")
    return Principal(sub=sub, org=org, roles=parsed)


class JWTAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, *, secret: str, **kwargs: Any) -> None:
        super().__init__(app, exclude=list(PUBLIC_PATHS), exclude_from_auth_key=NO_BEARER_AUTH, **kwargs)
        self._secret = secret

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        if len(header) > MAX_AUTHORIZATION_BYTES:
            raise Unauthenticated(f"the Authorization header is over {MAX_AUTHORIZATION_BYTES} bytes; send one token")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send 'Authorization: Bearer <token>'; get one with 'pitchcraft token'")
        principal = decode_token(self._secret, token.strip())
        structlog.contextvars.bind_contextvars(org_id=principal.org, sub=principal.sub)
        return AuthenticationResult(user=principal, auth=token)


def requires(*roles: Role) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A route guard: the caller must hold one of `roles` (admin always passes)."""
    allowed = {*roles, Role.ADMIN}

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if "user" not in connection.scope:
            if connection.scope.get("method") == "OPTIONS":
                return  # a CORS preflight or an OPTIONS probe: no token, nothing to guard, Litestar answers it
            raise Unauthenticated("send 'Authorization: Bearer <token>'; get one with 'pitchcraft token'")
        principal: Principal = connection.user
        if not principal.has_any(allowed):
            needed = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"this action needs one of the roles: {needed}")

    return guard
