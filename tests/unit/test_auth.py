from __future__ import annotations

import time

import jwt
import pytest

from services.core.auth import Role, decode_token, issue_token
from services.core.errors import Unauthenticated

SECRET = "s" * 40


def test_token_round_trip() -> None:
    principal = decode_token(SECRET, issue_token(SECRET, sub="alice", org="acme", roles=["rep", "manager"]))
    assert principal.sub == "alice" and principal.org == "acme"
    assert principal.roles == {Role.REP, Role.MANAGER}


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        ({"sub": "a", "org": "acme", "roles": ["rep"], "iss": "pitchcraft", "exp": 1}, "expired"),
        (
            {"sub": "a", "org": "acme", "roles": ["pope"], "iss": "pitchcraft", "exp": 4102444800},
            "unknown role",
        ),
        ({"sub": "a", "roles": ["rep"], "iss": "pitchcraft", "exp": 4102444800}, "org"),
        ({"sub": "a", "org": "acme", "roles": [], "iss": "pitchcraft", "exp": 4102444800}, "roles"),
        ({"sub": "a", "org": "acme", "roles": ["rep"], "iss": "other", "exp": 4102444800}, "invalid token"),
    ],
)
def test_bad_tokens_are_refused(claims: dict[str, object], fragment: str) -> None:
    with pytest.raises(Unauthenticated, match=fragment):
        decode_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="invalid token"):
        decode_token(SECRET, issue_token("t" * 40, sub="a", org="acme", roles=["admin"]))


def test_alg_none_is_refused() -> None:
    forged = jwt.encode(
        {"sub": "a", "org": "acme", "roles": ["admin"], "iss": "pitchcraft", "exp": int(time.time()) + 60},
        key=None,
        algorithm="none",
    )
    with pytest.raises(Unauthenticated):
        decode_token(SECRET, forged)


def test_issue_refuses_bad_org_and_role() -> None:
    with pytest.raises(ValueError, match="org"):
        issue_token(SECRET, sub="a", org="bad org!", roles=["rep"])
    with pytest.raises(ValueError):
        issue_token(SECRET, sub="a", org="acme", roles=["superuser"])
