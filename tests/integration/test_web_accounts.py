"""What the admin pages do to accounts, on a real database (SQLite and PostgreSQL): API tokens minted and recorded
(never stored), scoped to the admin's org, bad input refused with nothing stored; an admin cannot lock itself out;
users of another org cannot be changed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.core.auth import Role, decode_token
from services.core.db import create_engine, session_factory, utcnow
from services.core.errors import BadRequest, NotFound
from services.core.migrate import upgrade_async
from services.core.settings import Settings, WebSettings
from services.web.accounts import Accounts, SignInRefused
from services.web.models import ApiToken

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
SECRET = "admin-page-test-secret-" + "y" * 20


@pytest.fixture
async def accounts(database: str | None, make_settings: Callable[..., Settings]) -> AsyncIterator[Accounts]:
    settings = make_settings(DATABASE_URL=database)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    yield Accounts(session_factory(engine), WebSettings())
    await engine.dispose()


def mint_args(**overrides: Any) -> dict[str, Any]:
    return {
        "secret": SECRET,
        "org": "acme",
        "label": "CRM sync",
        "sub": "crm-sync",
        "roles": ["rep", "manager"],
        "ttl_days": 30,
        "created_by": "root@acme.test",
    } | overrides


async def test_a_minted_token_carries_the_claims_and_only_its_record_is_kept(accounts: Accounts) -> None:
    before = utcnow()
    token, record = await accounts.mint_token(**mint_args(label="  CRM sync  "))
    principal = decode_token(SECRET, token)
    assert (principal.sub, principal.org) == ("crm-sync", "acme")
    assert principal.roles == frozenset({Role.REP, Role.MANAGER})
    assert record.label == "CRM sync" and record.roles == (Role.MANAGER, Role.REP)
    assert before + timedelta(days=30) <= record.expires_at <= utcnow() + timedelta(days=30)
    listed = await accounts.list_tokens("acme")
    assert [t.id for t in listed] == [record.id] and listed[0].created_by == "root@acme.test"
    # The token itself is nowhere in the table: tokens are stateless and cannot be looked up or revoked.
    async with accounts._sessions() as session:
        rows = list(await session.scalars(select(ApiToken)))
    assert len(rows) == 1 and all(token not in str(value) for value in vars(rows[0]).values())
    # Another org's admin sees none of them.
    assert await accounts.list_tokens("globex") == []


async def test_tokens_are_listed_newest_first(accounts: Accounts) -> None:
    _, first = await accounts.mint_token(**mint_args(label="first"))
    _, second = await accounts.mint_token(**mint_args(label="second", ttl_days=365))
    assert [t.label for t in await accounts.list_tokens("acme")] == ["second", "first"]
    assert second.expires_at - first.expires_at > timedelta(days=334)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ttl_days": 0}, "1 to 365 days"),
        ({"ttl_days": 366}, "1 to 365 days"),
        ({"label": "   "}, "label"),
        ({"sub": ""}, "sub"),
        ({"roles": []}, "at least one role"),
        ({"roles": ["superuser"]}, "roles are"),
        ({"org": "bad org!"}, "org must be"),
    ],
)
async def test_bad_token_requests_are_refused_and_nothing_is_recorded(
    accounts: Accounts, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        await accounts.mint_token(**mint_args(**overrides))
    async with accounts._sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ApiToken)) == 0


async def test_an_admin_cannot_disable_itself_or_drop_its_own_admin_role(accounts: Accounts) -> None:
    root = await accounts.add_user(org="acme", email="root@acme.test", roles=["admin"], password=PASSWORD)
    with pytest.raises(BadRequest, match="ask another admin"):
        await accounts.update_user("acme", root.id, disabled=True, acting_user_id=root.id)
    with pytest.raises(BadRequest, match="ask another admin"):
        await accounts.update_user("acme", root.id, roles=["manager"], acting_user_id=root.id)
    # Adding a role to itself is fine; so is another admin disabling it.
    assert set(
        (await accounts.update_user("acme", root.id, roles=["admin", "manager"], acting_user_id=root.id)).roles
    ) == {Role.ADMIN, Role.MANAGER}
    other = await accounts.add_user(org="acme", email="second@acme.test", roles=["admin"], password=PASSWORD)
    assert (await accounts.update_user("acme", root.id, disabled=True, acting_user_id=other.id)).disabled
    with pytest.raises(SignInRefused):
        await accounts.sign_in("root@acme.test", PASSWORD, "127.0.0.1")


async def test_an_admin_cannot_reach_another_orgs_users(accounts: Accounts) -> None:
    eve = await accounts.add_user(org="globex", email="eve@globex.test", roles=["rep"], password=PASSWORD)
    with pytest.raises(NotFound):
        await accounts.get_user("acme", eve.id)
    with pytest.raises(NotFound):
        await accounts.update_user("acme", eve.id, disabled=True)
    with pytest.raises(NotFound):
        await accounts.set_password("acme", eve.id, "a new password 123")
    assert [a.email for a in await accounts.list_users("acme")] == []
    _, signed = await accounts.sign_in("eve@globex.test", PASSWORD, "127.0.0.1")
    assert not signed.disabled
