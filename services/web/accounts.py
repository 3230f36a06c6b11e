"""Users, password sign-in, sessions and the failed-sign-in limit. The logic; no HTTP types.

Passwords are hashed with argon2id by argon2-cffi. A session is a random 256-bit value in an HTTP-only cookie;
the table keeps its SHA-256, so a copy of the database signs nobody in. Sign-in is refused (429) once an email
has `max_failed_logins` wrong passwords inside the window, whatever the password of the next try.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import ORG_RE, Principal, Role, issue_token
from services.core.db import transaction, utcnow
from services.core.errors import AppError, BadRequest, Conflict, NotFound
from services.core.settings import WebSettings
from services.web.models import ApiToken, LoginFailure, User, WebSession

MIN_PASSWORD_CHARS = 10
MAX_TOKEN_DAYS = 365
MAX_PASSWORD_CHARS = 256
_EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,60}")
_HASHER = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("pitchcraft-no-such-user")


class SignInRefused(AppError):
    status_code = 401
    code = "sign_in_refused"


class TooManyAttempts(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    org: str
    email: str
    sub: str
    name: str
    roles: tuple[Role, ...]
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def principal(self) -> Principal:
        return Principal(sub=self.sub, org=self.org, roles=frozenset(self.roles))

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(
            id=user.id,
            org=user.org_id,
            email=user.email,
            sub=user.sub,
            name=user.name,
            roles=tuple(Role(r) for r in user.roles),
            disabled=user.disabled,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


@dataclass(frozen=True, slots=True)
class MintedToken:
    """A token minted on the admin page, as recorded: who it speaks for and until when (never the token)."""

    id: str
    org: str
    label: str
    sub: str
    roles: tuple[Role, ...]
    created_by: str
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, row: ApiToken) -> MintedToken:
        return cls(
            id=row.id,
            org=row.org_id,
            label=row.label,
            sub=row.sub,
            roles=tuple(Role(r) for r in row.roles),
            created_by=row.created_by,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if not _EMAIL_RE.fullmatch(value):
        raise BadRequest("enter an email address such as name@company.com")
    return value


def check_password(password: str) -> None:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise BadRequest(f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")


def parse_roles(roles: list[str]) -> tuple[Role, ...]:
    try:
        parsed = tuple(sorted({Role(r.strip().lower()) for r in roles if r.strip()}))
    except ValueError as exc:
        raise BadRequest(f"roles are {', '.join(r.value for r in Role)}") from exc
    if not parsed:
        raise BadRequest(f"give at least one role: {', '.join(r.value for r in Role)}")
    return parsed


def _session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: WebSettings) -> None:
        self._sessions = sessions
        self._settings = settings

    # --- users -------------------------------------------------------------------------------------------------

    async def add_user(
        self, *, org: str, email: str, roles: list[str], password: str, name: str | None = None, sub: str | None = None
    ) -> Account:
        if not ORG_RE.fullmatch(org):
            raise BadRequest("org must be 1-64 letters, digits, '.', '_' or '-'")
        address = normalise_email(email)
        check_password(password)
        parsed = parse_roles(roles)
        identity = (sub or address).strip()
        if not 0 < len(identity) <= 200:
            raise BadRequest("a user id (sub) needs 1-200 characters")
        user = User(
            org_id=org,
            email=address,
            sub=identity,
            name=(name or address.split("@")[0]).strip()[:200],
            roles=[r.value for r in parsed],
            password_hash=await asyncio.to_thread(_HASHER.hash, password),
            disabled=False,
        )
        try:
            async with transaction(self._sessions) as session:
                taken = await session.scalar(select(User.id).where(User.org_id == org, User.sub == identity))
                if taken:
                    raise Conflict(f"org {org} already has a user with the id {identity}")
                session.add(user)
        except IntegrityError as exc:
            raise Conflict(f"a user with the email {address} already exists") from exc
        return Account.of(user)

    async def list_users(self, org: str) -> list[Account]:
        async with self._sessions() as session:
            rows = await session.scalars(select(User).where(User.org_id == org).order_by(User.email))
            return [Account.of(u) for u in rows]

    async def get_user(self, org: str, user_id: str) -> Account:
        async with self._sessions() as session:
            return Account.of(await self._user(session, org, user_id))

    async def update_user(
        self,
        org: str,
        user_id: str,
        *,
        roles: list[str] | None = None,
        disabled: bool | None = None,
        acting_user_id: str | None = None,
    ) -> Account:
        """New roles and/or the disabled flag. `acting_user_id` (the admin making the change) may not disable
        itself or drop its own admin role: an organisation must not lock out its last way in by a slip."""
        if acting_user_id == user_id and (disabled or (roles is not None and Role.ADMIN not in parse_roles(roles))):
            raise BadRequest("you cannot disable yourself or remove your own admin role; ask another admin")
        async with transaction(self._sessions) as session:
            user = await self._user(session, org, user_id)
            if roles is not None:
                user.roles = [r.value for r in parse_roles(roles)]
            if disabled is not None:
                user.disabled = disabled
            if disabled:  # signed out everywhere at once
                await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
            return Account.of(user)

    async def set_password(self, org: str, user_id: str, password: str) -> None:
        check_password(password)
        async with transaction(self._sessions) as session:
            user = await self._user(session, org, user_id)
            user.password_hash = await asyncio.to_thread(_HASHER.hash, password)
            await session.execute(delete(WebSession).where(WebSession.user_id == user.id))

    # --- API tokens minted by an admin ------------------------------------------------------------------------

    async def mint_token(
        self, *, secret: str, org: str, label: str, sub: str, roles: list[str], ttl_days: int, created_by: str
    ) -> tuple[str, MintedToken]:
        """A signed API token with these claims, and its record. The token itself is returned once and never
        stored: tokens are stateless JWTs, so they cannot be revoked, only left to expire (or the secret rotated).
        `BadRequest` for an empty label or sub, unknown roles, or a lifetime outside 1..MAX_TOKEN_DAYS days."""
        name = label.strip()
        identity = sub.strip()
        if not 0 < len(name) <= 200:
            raise BadRequest("a label needs 1-200 characters, e.g. 'CRM sync'")
        if not 0 < len(identity) <= 200:
            raise BadRequest("a user id (sub) needs 1-200 characters")
        if not 1 <= ttl_days <= MAX_TOKEN_DAYS:
            raise BadRequest(f"a token lives 1 to {MAX_TOKEN_DAYS} days")
        if not ORG_RE.fullmatch(org):
            raise BadRequest("org must be 1-64 letters, digits, '.', '_' or '-'")
        parsed = parse_roles(roles)
        now = utcnow()
        ttl = timedelta(days=ttl_days)
        token = issue_token(
            secret, sub=identity, org=org, roles=[r.value for r in parsed], ttl_seconds=int(ttl.total_seconds())
        )
        row = ApiToken(
            org_id=org,
            label=name,
            sub=identity,
            roles=[r.value for r in parsed],
            created_by=created_by[:200],
            created_at=now,
            # Taken before the token was signed: the record never claims a later expiry than the token has.
            expires_at=now + ttl,
        )
        async with transaction(self._sessions) as session:
            session.add(row)
        return token, MintedToken.of(row)

    async def list_tokens(self, org: str) -> list[MintedToken]:
        """The organisation's minted tokens, newest first (expired ones too: the page marks them)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ApiToken).where(ApiToken.org_id == org).order_by(ApiToken.created_at.desc())
            )
            return [MintedToken.of(r) for r in rows]

    @staticmethod
    async def _user(session: AsyncSession, org: str, user_id: str) -> User:
        user = await session.get(User, user_id)
        if user is None or user.org_id != org:
            raise NotFound(f"no user {user_id} in your organisation")
        return user

    # --- sign-in and sessions ------------------------------------------------------------------------------------

    async def sign_in(self, email: str, password: str, client: str) -> tuple[str, Account]:
        """A new session token for the right email and password; `SignInRefused` with one message for a wrong
        email, a wrong password or a disabled user; `TooManyAttempts` while the email is locked out."""
        address = email.strip().lower()[:254]
        now = utcnow()
        window_start = now - timedelta(seconds=self._settings.failed_login_window_seconds)
        async with transaction(self._sessions) as session:
            failures = list(
                await session.scalars(
                    select(LoginFailure.at)
                    .where(LoginFailure.email == address, LoginFailure.at >= window_start)
                    .order_by(LoginFailure.at)
                )
            )
            if len(failures) >= self._settings.max_failed_logins:
                oldest = failures[-self._settings.max_failed_logins]
                wait = int((oldest - window_start).total_seconds()) + 1
                raise TooManyAttempts(
                    f"too many wrong passwords for {address}; try again in {max(1, wait // 60)} minute(s) "
                    "or ask an admin to reset the password",
                    retry_after=max(1, wait),
                )
            user = await session.scalar(select(User).where(User.email == address))
            # argon2 takes tens of milliseconds of CPU on purpose: off the event loop.
            ok = await asyncio.to_thread(self._verify, user.password_hash if user else _DUMMY_HASH, password)
            if user is None or not ok or user.disabled:
                session.add(LoginFailure(email=address, client=client[:64], at=now))
                user = None  # the failure commits with the transaction; the refusal is raised after it
            account: Account | None = None
            token = ""
            if user is not None:
                if _HASHER.check_needs_rehash(user.password_hash):
                    user.password_hash = _HASHER.hash(password)
                user.last_login_at = now
                token = secrets.token_urlsafe(32)
                session.add(
                    WebSession(
                        id=_session_key(token),
                        user_id=user.id,
                        expires_at=now + timedelta(hours=self._settings.session_hours),
                    )
                )
                # Old rows go as new ones come: expired sessions and failures outside the window.
                await session.execute(delete(WebSession).where(WebSession.expires_at < now))
                await session.execute(delete(LoginFailure).where(LoginFailure.at < window_start))
                account = Account.of(user)
        if account is None:
            raise SignInRefused("wrong email or password")
        return token, account

    @staticmethod
    def _verify(stored: str, password: str) -> bool:
        try:
            return _HASHER.verify(stored, password[:MAX_PASSWORD_CHARS])
        except (VerificationError, InvalidHashError):
            return False

    async def session_account(self, token: str) -> Account | None:
        if not token or len(token) > 128:
            return None
        async with self._sessions() as session:
            row = await session.get(WebSession, _session_key(token))
            if row is None or row.expires_at <= utcnow():
                return None
            user = await session.get(User, row.user_id)
            if user is None or user.disabled:
                return None
            return Account.of(user)

    async def sign_out(self, token: str) -> None:
        async with transaction(self._sessions) as session:
            await session.execute(delete(WebSession).where(WebSession.id == _session_key(token)))

    async def count_users(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(User)) or 0)
