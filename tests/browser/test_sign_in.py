"""Sign-in, sign-out, CSRF and the failed-sign-in limit, in a real browser and over plain HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import LOCKOUT_USER, WebApp, sign_in

HOMES = {"rep": "/tracks", "engineer": "/library", "manager": "/manager", "admin": "/admin"}


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_signs_in_lands_on_its_page_and_signs_out(
    as_role: Callable[..., object], web_app: WebApp, shot: Callable[[object, str], Path], role: str
) -> None:
    page = as_role(role)
    assert page.url == f"{web_app.base}{HOMES[role]}"
    email = web_app.logins[role][0]
    assert email in page.locator("footer").inner_text()
    shot(page, f"home-{role}")
    # The session cookie cannot be read by scripts on the page.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["pitchcraft_session"]["httpOnly"] is True
    assert cookies["pitchcraft_session"]["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("pitchcraft_session") == -1
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto(f"{web_app.base}{HOMES[role]}")
    assert "/login?next=" in page.url


def test_wrong_password_is_refused_and_the_sixth_try_is_rate_limited(
    browser: object, web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    email, password = LOCKOUT_USER
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    for attempt in range(5):
        page.goto(f"{web_app.base}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(f"not-the-password-{attempt}")
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text() == "wrong email or password"
    # Locked now: even the right password is refused until the window passes.
    page.goto(f"{web_app.base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    assert "too many wrong passwords" in page.get_by_role("alert").inner_text()
    shot(page, "sign-in-rate-limited")
    context.close()  # type: ignore[attr-defined]


def test_form_posts_without_the_csrf_token_are_refused(web_app: WebApp) -> None:
    email, password = web_app.logins["rep"]
    with httpx.Client(base_url=web_app.base) as client:
        client.get("/login")  # sets the CSRF cookie, but this post leaves the form field out
        refused = client.post("/login", data={"email": email, "password": password})
        assert refused.status_code == 403
        assert "did not come from this site" in refused.text
        assert "pitchcraft_session" not in client.cookies
        # The same post with the token from the form signs in.
        token = client.cookies["pitchcraft_csrf"]
        accepted = client.post("/login", data={"email": email, "password": password, "_csrf_token": token})
        assert accepted.status_code == 303
        assert "pitchcraft_session" in client.cookies
        # Signed in, a cross-site style post (cookie but no token) to sign out is still refused.
        assert client.post("/logout").status_code == 403


def test_the_api_still_takes_bearer_tokens_and_ignores_the_session_cookie(web_app: WebApp) -> None:
    email, password = web_app.logins["rep"]
    with httpx.Client(base_url=web_app.base) as client:
        client.get("/login")
        token = client.cookies["pitchcraft_csrf"]
        client.post("/login", data={"email": email, "password": password, "_csrf_token": token})
        # A signed-in browser's cookie gives no access to the API: it needs a bearer token.
        assert client.get("/pitch/v1/personas").status_code == 401
    bearer = web_app.cli("token", "--sub", "ada", "--org", "demo", "--role", "rep").strip().splitlines()[-1]
    answer = httpx.get(f"{web_app.base}/pitch/v1/personas", headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code == 200


def test_a_phone_width_sign_in_works(browser: object, web_app: WebApp, shot: Callable[[object, str], Path]) -> None:
    email, password = web_app.logins["rep"]
    page = sign_in(browser, web_app, email, password, width=390)
    assert page.url.endswith("/tracks")
    # Nothing wider than the screen: no sideways scrolling at phone width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-tracks")
    page.context.close()  # type: ignore[attr-defined]


def test_sign_in_and_the_talk_track_work_from_the_keyboard(browser: object, web_app: WebApp) -> None:
    """No mouse: the email field has focus, Tab moves through the form, Enter submits; every control of the
    talk-track form is reachable with Tab and labelled."""
    email, password = web_app.logins["rep"]
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{web_app.base}/login")
    # The email field takes the focus by itself (autofocus); the browser applies it once the page has rendered, so
    # wait for it rather than type into a page that has none yet (under load, the first keys went nowhere).
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'email'")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/tracks")
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; const label = e.labels && e.labels[0]; "
            "return [e.tagName, e.id, label ? label.innerText : (e.innerText || '')].join('|'); }"
        )
        reached.append(focused)
    fields = [r for r in reached if r.split("|")[0] in {"INPUT", "SELECT", "TEXTAREA"}]
    assert fields and all(r.split("|")[2].strip() for r in fields), fields  # every field reached has a label
    assert any(r.startswith("BUTTON|") for r in reached)  # the submit button is reachable
    context.close()  # type: ignore[attr-defined]
