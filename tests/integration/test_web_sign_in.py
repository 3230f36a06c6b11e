"""Web sign-in on a real database (SQLite and PostgreSQL): argon2id hashes, hashed session keys, the failed
sign-in limit, disabling, expiry; and the session cookie's flags through the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from services.core.db import create_engine, session_factory, utcnow
from services.core.errors import BadRequest, Conflict
from services.core.migrate import upgrade_async
from services.core.settings import Settings, WebSettings
from services.main import create_app
from services.web.accounts import Accounts, SignInRefused, TooManyAttempts
from services.web.models import User, WebSession

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


@pytest.fixture
async def accounts(database: str | None, make_settings: Callable[..., Settings]) -> AsyncIterator[Accounts]:
    settings = make_settings(DATABASE_URL=database)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    yield Accounts(session_factory(engine), WebSettings(max_failed_logins=5, failed_login_window_seconds=600))
    await engine.dispose()


async def test_sign_in_gives_a_session_that_signs_out(accounts: Accounts) -> None:
    added = await accounts.add_user(org="acme", email="Ada@Acme.test", roles=["rep"], password=PASSWORD, sub="ada")
    assert added.email == "ada@acme.test" and added.principal.org == "acme" and added.sub == "ada"
    token, account = await accounts.sign_in("ada@acme.test", PASSWORD, "127.0.0.1")
    assert account.id == added.id
    found = await accounts.session_account(token)
    assert found is not None and found.principal.roles == added.principal.roles
    await accounts.sign_out(token)
    assert await accounts.session_account(token) is None


async def test_passwords_and_session_keys_are_stored_hashed(accounts: Accounts) -> None:
    await accounts.add_user(org="acme", email="sam@acme.test", roles=["engineer"], password=PASSWORD)
    token, _ = await accounts.sign_in("sam@acme.test", PASSWORD, "127.0.0.1")
    async with accounts._sessions() as session:
        user = await session.scalar(select(User).where(User.email == "sam@acme.test"))
        keys = list(await session.scalars(select(WebSession.id)))
    assert user is not None and user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert token not in keys and len(keys) == 1 and len(keys[0]) == 64


async def test_bad_input_is_refused_with_what_to_fix_and_nothing_is_stored(accounts: Accounts) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"email": "not-an-email"}, "email address"),
        ({"password": "short"}, "10 to 256 characters"),
        ({"roles": ["boss"]}, "roles are"),
        ({"roles": []}, "at least one role"),
        ({"org": "acme\n"}, "org must be"),
    ]
    for change, message in cases:
        fields: dict[str, Any] = {"org": "acme", "email": "x@acme.test", "roles": ["rep"], "password": PASSWORD}
        with pytest.raises(BadRequest, match=message):
            await accounts.add_user(**(fields | change))
    assert await accounts.list_users("acme") == []
    await accounts.add_user(org="acme", email="x@acme.test", roles=["rep"], password=PASSWORD)
    with pytest.raises(Conflict, match="already exists"):
        await accounts.add_user(org="other", email="X@acme.test", roles=["rep"], password=PASSWORD)


async def test_wrong_passwords_lock_the_email_out_then_not_even_the_right_one_works(accounts: Accounts) -> None:
    await accounts.add_user(org="acme", email="mia@acme.test", roles=["manager"], password=PASSWORD)
    await accounts.add_user(org="acme", email="ida@acme.test", roles=["rep"], password=PASSWORD)
    for attempt in range(5):
        with pytest.raises(SignInRefused, match="wrong email or password"):
            await accounts.sign_in("mia@acme.test", f"wrong password {attempt}", "10.0.0.1")
    with pytest.raises(TooManyAttempts) as locked:
        await accounts.sign_in("mia@acme.test", PASSWORD, "10.0.0.1")
    assert 0 < locked.value.retry_after <= 600
    # Another email is not affected; an unknown email gets the same refusal as a wrong password.
    await accounts.sign_in("ida@acme.test", PASSWORD, "10.0.0.1")
    with pytest.raises(SignInRefused, match="wrong email or password"):
        await accounts.sign_in("nobody@acme.test", PASSWORD, "10.0.0.1")


async def test_disabling_a_user_ends_their_sessions_and_refuses_sign_in(accounts: Accounts) -> None:
    added = await accounts.add_user(org="acme", email="rex@acme.test", roles=["rep"], password=PASSWORD)
    token, _ = await accounts.sign_in("rex@acme.test", PASSWORD, "127.0.0.1")
    with pytest.raises(Exception, match="no user"):
        await accounts.update_user("other-org", added.id, disabled=True)  # another org's admin cannot
    await accounts.update_user("acme", added.id, disabled=True)
    assert await accounts.session_account(token) is None
    with pytest.raises(SignInRefused):
        await accounts.sign_in("rex@acme.test", PASSWORD, "127.0.0.1")


async def test_an_expired_session_signs_nobody_in(accounts: Accounts) -> None:
    await accounts.add_user(org="acme", email="old@acme.test", roles=["rep"], password=PASSWORD)
    token, _ = await accounts.sign_in("old@acme.test", PASSWORD, "127.0.0.1")
    async with accounts._sessions() as session, session.begin():
        await session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert await accounts.session_account(token) is None


async def test_outside_development_the_session_cookie_is_secure(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(PITCHCRAFT_ENV="production", PITCHCRAFT_JWT_SECRET="s" * 40)
    app = create_app(settings, run_worker=False)
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as client:
        accounts = Accounts(app.state.ctx.sessions, settings.web)
        await accounts.add_user(org="acme", email="sec@acme.test", roles=["rep"], password=PASSWORD)
        form = await client.get("/login")
        assert "secure" in form.headers["set-cookie"].lower()  # the CSRF cookie too
        answer = await client.post(
            "/login",
            data={"email": "sec@acme.test", "password": PASSWORD, "_csrf_token": client.cookies["pitchcraft_csrf"]},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("pitchcraft_session="))
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags
