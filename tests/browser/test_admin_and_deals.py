"""Admin pages (users and roles, personas, API tokens) and deal pages (list, new deal, meeting notes and the
no-next-step flag, the pipeline), in a real browser against the demo server."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.browser.conftest import WebApp, sign_in

NEW_REP = ("quinn@demo.pitchcraft.test", "quinn-first-password")


def _sign_in_answer(browser: object, web_app: WebApp, email: str, password: str) -> tuple[object, int]:
    """Signs in through the form; the page and the sign-in POST's status."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{web_app.base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    return page, answer.value.status


def test_admin_adds_a_user_changes_roles_and_disables_them(
    as_role: Callable[..., object], browser: object, web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    admin = as_role("admin")
    admin.goto(f"{web_app.base}/admin")
    users = admin.locator("#users")
    assert "ada@demo.pitchcraft.test" in users.inner_text()
    assert "root@demo.pitchcraft.test" in users.inner_text()
    assert "eve@acme.test" not in users.inner_text()  # another org's user is never listed

    email, password = NEW_REP
    admin.get_by_label("Email").fill(email)
    admin.get_by_label("Name").fill("Quinn Rep")
    admin.get_by_label("User id for the API (sub)").fill("quinn")
    admin.get_by_label("Initial password").fill(password)
    admin.get_by_role("button", name="Add user").click()
    admin.wait_for_load_state("networkidle")
    assert "User added" in admin.get_by_role("status").inner_text()
    assert admin.locator("#person-roles").inner_text() == "rep"

    # The new user signs in with that password and lands on a rep's page.
    rep_page, status = _sign_in_answer(browser, web_app, email, password)
    assert status == 303 and rep_page.url.endswith("/tracks")  # type: ignore[attr-defined]
    assert email in rep_page.locator("footer").inner_text()  # type: ignore[attr-defined]

    # A manager now: the role applies from the user's next page (Enablement appears in their nav).
    admin.get_by_label("manager", exact=True).check()
    admin.get_by_label("rep", exact=True).uncheck()
    admin.get_by_role("button", name="Save roles").click()
    assert "Roles changed" in admin.get_by_role("status").inner_text()
    assert admin.locator("#person-roles").inner_text() == "manager"
    rep_page.goto(f"{web_app.base}/deals")  # type: ignore[attr-defined]
    assert rep_page.locator("footer").inner_text().endswith("manager")  # type: ignore[attr-defined]

    # Disabled: the open session ends at once and the password no longer signs in.
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="Disable user").click()
    admin.wait_for_load_state("networkidle")
    assert "User disabled" in admin.get_by_role("status").inner_text()
    assert admin.locator("#person-status").inner_text() == "disabled"
    rep_page.goto(f"{web_app.base}/tracks")  # type: ignore[attr-defined]
    assert "/login?next=" in rep_page.url  # type: ignore[attr-defined]
    refused, status = _sign_in_answer(browser, web_app, email, password)
    assert status == 401 and refused.get_by_role("alert").inner_text() == "wrong email or password"  # type: ignore[attr-defined]
    admin.goto(f"{web_app.base}/admin")
    row = admin.locator("tr", has_text=email)
    assert "disabled" in row.inner_text() and "manager" in row.inner_text()
    shot(admin, "admin-users")
    for page in (rep_page, refused):
        page.context.close()  # type: ignore[attr-defined]


def test_admin_form_errors_keep_what_was_typed(as_role: Callable[..., object], web_app: WebApp) -> None:
    admin = as_role("admin")
    admin.goto(f"{web_app.base}/admin")
    admin.get_by_label("Email").fill("ada@demo.pitchcraft.test")
    admin.get_by_label("Name").fill("Second Ada")
    admin.get_by_label("Initial password").fill("long enough password")
    with admin.expect_response(lambda r: r.url.endswith("/admin/users")) as answer:
        admin.get_by_role("button", name="Add user").click()
    assert answer.value.status == 409
    assert "already" in admin.locator("#form-error").inner_text()
    assert admin.get_by_label("Name").input_value() == "Second Ada"


def test_admin_mints_a_token_that_works_against_the_api(
    as_role: Callable[..., object], web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    admin = as_role("admin")
    admin.goto(f"{web_app.base}/admin/tokens")
    assert "cannot be revoked" in admin.locator("#no-revoke").inner_text()
    admin.get_by_label("Label").fill("CRM sync")
    admin.get_by_label("Acts as user id (sub)").fill("crm-sync")
    admin.get_by_label("Lifetime in days (1 to 365)").fill("30")
    admin.get_by_role("button", name="Mint token").click()
    admin.wait_for_load_state("networkidle")
    token = admin.locator("#new-token").input_value().strip()
    assert token.count(".") == 2
    admin.get_by_role("button", name="Copy token").click()
    admin.get_by_role("button", name="Copied").wait_for()  # the copy button says it copied
    expiry = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    row = admin.locator("#tokens tr", has_text="CRM sync")
    assert "crm-sync" in row.inner_text() and "rep" in row.inner_text() and expiry in row.inner_text()
    shot(admin, "admin-tokens")

    answer = httpx.get(f"{web_app.base}/pitch/v1/personas", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and any(p["id"] == "cfo" for p in answer.json())
    # A rep token: the API's own role checks apply to it.
    denied = httpx.post(f"{web_app.base}/pitch/v1/personas", json={}, headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403
    # Shown once: the page does not show it again.
    admin.goto(f"{web_app.base}/admin/tokens")
    assert admin.locator("#new-token").count() == 0
    assert token not in admin.content()

    # Out of range: refused with the reason, nothing minted.
    admin.get_by_label("Label").fill("Too long")
    admin.get_by_label("Acts as user id (sub)").fill("x")
    admin.get_by_label("Lifetime in days (1 to 365)").evaluate("el => el.removeAttribute('max')")
    admin.get_by_label("Lifetime in days (1 to 365)").fill("400")
    with admin.expect_response(lambda r: r.url.endswith("/admin/tokens")) as answer_page:
        admin.get_by_role("button", name="Mint token").click()
    assert answer_page.value.status == 400
    assert "1 to 365 days" in admin.locator("#form-error").inner_text()
    assert admin.locator("#tokens tr", has_text="Too long").count() == 0


def test_admin_creates_edits_and_deletes_a_custom_persona(
    as_role: Callable[..., object], web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    admin = as_role("admin")
    admin.goto(f"{web_app.base}/admin/personas")
    assert admin.locator("#built-in-personas tr[data-persona=cfo]").count() == 1
    admin.get_by_label("Id", exact=True).fill("head_of_finance_ops")
    admin.get_by_label("Name", exact=True).fill("Head of Finance Operations")
    admin.get_by_label("Tone").select_option("business")
    admin.get_by_label("Priorities (one a line, at least one)").fill(
        "closes the books faster\nfewer manual reconciliations"
    )
    admin.get_by_label("Prefer words (comma separated)").fill("close, reconcil, forecast")
    admin.get_by_role("button", name="Create persona").click()
    admin.wait_for_load_state("networkidle")
    assert "Persona created" in admin.get_by_role("status").inner_text()
    row = admin.locator("#custom-personas tr[data-persona=head_of_finance_ops]")
    assert "Head of Finance Operations" in row.inner_text() and "closes the books faster" in row.inner_text()
    shot(admin, "admin-personas")
    # The API lists it for the org.
    bearer = web_app.cli("token", "--sub", "ada", "--org", "demo", "--role", "rep").strip().splitlines()[-1]
    listed = httpx.get(f"{web_app.base}/pitch/v1/personas", headers={"Authorization": f"Bearer {bearer}"}).json()
    found = next(p for p in listed if p["id"] == "head_of_finance_ops")
    assert found["priorities"] == ["closes the books faster", "fewer manual reconciliations"]
    assert found["prefer"] == ["close", "reconcil", "forecast"] and found["built_in"] is False

    # The API's own checks come back on the form: a built-in id is taken.
    admin.get_by_label("Id", exact=True).fill("cfo")
    admin.get_by_label("Name", exact=True).fill("Another CFO")
    admin.get_by_label("Priorities (one a line, at least one)").fill("cash")
    with admin.expect_response(lambda r: r.url.endswith("/admin/personas")) as answer:
        admin.get_by_role("button", name="Create persona").click()
    assert answer.value.status == 409
    assert "built-in" in admin.locator("#form-error").inner_text()
    assert admin.get_by_label("Name", exact=True).input_value() == "Another CFO"

    row = admin.locator("#custom-personas tr[data-persona=head_of_finance_ops]")
    row.get_by_role("button", name=re.compile("^Edit")).click()
    admin.get_by_label("Name", exact=True).fill("Head of Finance Ops")
    admin.get_by_role("button", name="Save persona").click()
    assert "Persona saved" in admin.get_by_role("status").inner_text()
    row = admin.locator("#custom-personas tr[data-persona=head_of_finance_ops]")
    assert "Head of Finance Ops" in row.inner_text()
    admin.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("Delete")).click()
    admin.wait_for_load_state("networkidle")
    assert "Persona deleted" in admin.get_by_role("status").inner_text()
    assert admin.locator("#custom-personas tr[data-persona=head_of_finance_ops]").count() == 0


def test_a_rep_gets_the_403_page_on_admin(as_role: Callable[..., object], web_app: WebApp) -> None:
    rep = as_role("rep")
    answer = rep.goto(f"{web_app.base}/admin")
    assert answer.status == 403
    assert "this page is for: admin" in rep.get_by_role("alert").inner_text()
    assert rep.get_by_role("link", name="Admin").count() == 0
    for path in ("/admin/tokens", "/admin/personas"):
        assert rep.goto(f"{web_app.base}{path}").status == 403
    # A rep's form post to the admin pages is refused too (with a valid CSRF token).
    token = next(c["value"] for c in rep.context.cookies() if c["name"] == "pitchcraft_csrf")
    posted = rep.request.post(
        f"{web_app.base}/admin/tokens",
        form={"label": "x", "sub": "x", "roles": "admin", "days": "1", "_csrf_token": token},
    )
    assert posted.status == 403 and "eyJ" not in posted.text()


def test_admin_pages_fit_a_phone(browser: object, web_app: WebApp, shot: Callable[[object, str], Path]) -> None:
    email, password = web_app.logins["admin"]
    page = sign_in(browser, web_app, email, password, width=390)
    for path in ("/admin", "/admin/tokens", "/admin/personas"):
        page.goto(f"{web_app.base}{path}")  # type: ignore[attr-defined]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path  # type: ignore[attr-defined]
    shot(page, "admin-phone-personas")
    page.context.close()  # type: ignore[attr-defined]


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_a_rep_creates_a_deal_and_the_no_next_step_flag_follows_the_notes(
    as_role: Callable[..., object], web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    rep = as_role("rep")
    rep.goto(f"{web_app.base}/deals")
    rep.get_by_role("button", name="New deal").click()
    rep.get_by_label("Account name").fill("Northwind Freight")
    rep.get_by_label("Segment").select_option("enterprise")
    rep.get_by_label("Stage").select_option(label="Technical validation")
    rep.get_by_label("Amount").fill("120000")
    rep.get_by_label("Close date").fill("2027-03-31")
    rep.get_by_label("Competitors (comma separated)").fill("Halyard")
    rep.get_by_label("Stakeholder 1 name").fill("Jo Brennan")
    rep.get_by_label("Stakeholder 1 title").fill("CFO")
    rep.get_by_label("Stakeholder 1 persona").select_option("cfo")
    rep.get_by_role("button", name="Create deal").click()
    rep.wait_for_load_state("networkidle")
    assert "Deal created" in rep.get_by_role("status").inner_text()
    assert rep.locator("#deal-name").inner_text() == "Northwind Freight"
    status = rep.locator("#deal-status").inner_text()
    assert "Technical validation" in status and "Enterprise" in status and "No meeting logged yet" in status
    assert "Chief Financial Officer" in rep.locator("#stakeholders").inner_text()
    deal_id = rep.url.split("/deals/")[1].split("?")[0]
    assert rep.get_by_role("button", name="Talk track for this deal").get_attribute("href") == (
        f"/tracks?deal_id={deal_id}"
    )
    assert rep.locator("#step-action").inner_text()  # the proposed step, from the stage's exit criteria

    # A meeting that ends without a dated next step: flagged on the deal and in the list.
    rep.get_by_label("Attendees (comma separated)").fill("Jo Brennan")
    rep.get_by_label("Notes", exact=True).fill("Good call with Jo. She will get back to us about a follow-up.")
    rep.get_by_role("button", name="Save note").click()
    rep.wait_for_load_state("networkidle")
    assert "agrees no next step with a date" in rep.get_by_role("status").inner_text()
    assert rep.locator("#no-next-step").inner_text() == "no next step"
    assert rep.locator(".note .note-flag").first.inner_text() == "no dated next step"
    rep.goto(f"{web_app.base}/deals")
    assert "no next step" in rep.locator(f"tr[data-deal='{deal_id}'] .next-step").inner_text()

    # A meeting that books one, with a date: the flag clears for the deal.
    when = (datetime.now(UTC).date() + timedelta(days=9)).isoformat()
    rep.goto(f"{web_app.base}/deals/{deal_id}")
    rep.get_by_label("Attendees (comma separated)").fill("Jo Brennan, Sam Ortiz")
    rep.get_by_label("Notes", exact=True).fill(
        "Finance closes the quarter with 40 tabs of spreadsheets.\n"
        "Jo is worried the price is too high next to Halyard's quote.\n"
        f"Next step: architecture session with Sam and our solution engineer on {when}."
    )
    rep.get_by_role("button", name="Save note").click()
    rep.wait_for_load_state("networkidle")
    assert "A next step with a date is agreed" in rep.get_by_role("status").inner_text()
    assert rep.locator("#no-next-step").count() == 0
    assert when in rep.locator("#next-step-booked").locator("..").inner_text()
    newest = rep.locator(".note").first
    assert newest.locator(".note-flag").inner_text() == f"next step {when}"
    newest.locator("summary").click()
    # Each extracted item with the sentence it came from.
    items = newest.locator("details li").all_inner_texts()
    assert any(
        i.startswith("Halyard") and "Jo is worried the price is too high next to Halyard's quote." in i for i in items
    )
    assert any(f"architecture session with Sam and our solution engineer on {when}." in i for i in items)
    assert "price is too high" in rep.locator("#said-heading").locator("..").inner_text()
    shot(rep, "deals-deal")

    # The proposed step, framed for a persona (the panel swaps in place).
    page_url = rep.url
    rep.get_by_label("Frame it for").select_option("ciso")
    with rep.expect_response(lambda r: "/next-step" in r.url) as answer:
        rep.get_by_role("button", name="Show", exact=True).click()
    assert answer.value.status == 200
    rep.locator("#step-ask", has_text="Chief Information Security Officer").wait_for()
    assert rep.url == page_url  # swapped in place, not a new page

    # The deal moves on: a later stage of its segment's process, and the proposed step follows the stage.
    rep.locator("#update-deal summary").click()
    rep.get_by_label("Stage", exact=True).select_option(label="Security and compliance review")
    rep.get_by_role("button", name="Update deal").click()
    rep.wait_for_load_state("networkidle")
    assert "Deal updated" in rep.get_by_role("status").inner_text()
    assert "Security and compliance review" in rep.locator("#deal-status").inner_text()
    assert "Security and compliance review" in rep.locator("#next-step").inner_text()
    assert "Chief Financial Officer" in rep.locator("#stakeholders").inner_text()  # the rest of the deal kept
    rep.locator("#update-deal summary").click()
    rep.get_by_label("Amount").evaluate("el => el.removeAttribute('min')")
    rep.get_by_label("Amount").fill("-1")
    with rep.expect_response(lambda r: r.url.endswith("/update")) as refused:
        rep.get_by_role("button", name="Update deal").click()
    assert refused.value.status == 422
    assert "amount" in rep.locator("#update-deal #form-error").inner_text()
    rep.goto(f"{web_app.base}/deals/{deal_id}")
    assert rep.locator("#update-deal").get_by_label("Amount").input_value() == "120000"

    rep.goto(f"{web_app.base}/deals")
    cell = rep.locator(f"tr[data-deal='{deal_id}'] .next-step").inner_text()
    assert "no next step" not in cell and when in cell and "booked" in cell
    shot(rep, "deals-list")


def test_the_new_deal_form_keeps_what_was_typed_on_an_api_error(
    as_role: Callable[..., object], web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    rep = as_role("rep")
    rep.goto(f"{web_app.base}/deals/new")
    rep.get_by_label("Account name").fill("Bad Amount Ltd")
    rep.get_by_label("Amount").evaluate("el => el.removeAttribute('min')")
    rep.get_by_label("Amount").fill("-5")
    rep.get_by_label("Stakeholder 2 name").fill("Kim Lee")
    with rep.expect_response(lambda r: r.url.endswith("/deals/new") and r.request.method == "POST") as answer:
        rep.get_by_role("button", name="Create deal").click()
    assert answer.value.status == 422
    assert "amount" in rep.locator("#form-error").inner_text()
    assert rep.get_by_label("Account name").input_value() == "Bad Amount Ltd"
    assert rep.get_by_label("Stakeholder 2 name").input_value() == "Kim Lee"
    shot(rep, "deals-new")
    names = [
        d["account_name"]
        for d in httpx.get(f"{web_app.base}/pitch/v1/deals", headers=web_app.bearer("ada", "rep")).json()
    ]
    assert "Bad Amount Ltd" not in names


def test_a_manager_sees_a_reps_deal_in_the_pipeline_read_only(
    as_role: Callable[..., object], web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    ada = web_app.bearer("ada", "rep")
    body = {"account_name": "Contoso Retail", "segment": "mid_market", "stage": "discovery", "amount": 48000}
    deal = httpx.post(f"{web_app.base}/pitch/v1/deals", json=body, headers=ada).json()
    note = {"meeting_date": _today(), "text": "Intro call. They will think about it."}
    assert httpx.post(f"{web_app.base}/pitch/v1/deals/{deal['id']}/notes", json=note, headers=ada).status_code == 201

    manager = as_role("manager")
    manager.goto(f"{web_app.base}/deals")
    row = manager.locator(f"tr[data-deal='{deal['id']}']")
    assert "ada" in row.inner_text() and "no next step" in row.inner_text()
    assert manager.get_by_role("button", name="New deal").count() == 0
    manager.get_by_role("button", name="Pipeline").click()
    manager.wait_for_load_state("networkidle")
    stage = manager.locator("section[data-stage=discovery]")
    line = stage.locator(f"tr[data-deal='{deal['id']}']")
    assert "Contoso Retail" in line.inner_text() and "ada" in line.inner_text()
    assert "no next step" in line.inner_text() and "48,000" in line.inner_text()
    assert int(manager.locator("#no-next-step-count").inner_text()) >= 1
    assert manager.locator("canvas[data-chart]").get_attribute("data-drawn") == "yes"
    shot(manager, "deals-pipeline")
    # One rep's deals only.
    manager.get_by_label("Rep (user id; empty: all)").fill("nobody")
    manager.get_by_role("button", name="Show").click()
    assert manager.locator("#total").inner_text() == "0"

    # Read-only: no note form, and a note posted anyway is refused.
    manager.goto(f"{web_app.base}/deals/{deal['id']}")
    assert manager.locator("#deal-name").inner_text() == "Contoso Retail"
    assert manager.get_by_role("button", name="Save note").count() == 0
    # Without htmx the persona panel's form falls back to the whole page, framed for that persona.
    manager.goto(f"{web_app.base}/deals/{deal['id']}/next-step?persona=cfo")
    assert manager.url.endswith(f"/deals/{deal['id']}?persona=cfo")
    assert manager.get_by_label("Frame it for").input_value() == "cfo"
    token = next(c["value"] for c in manager.context.cookies() if c["name"] == "pitchcraft_csrf")
    posted = manager.request.post(
        f"{web_app.base}/deals/{deal['id']}/notes",
        form={"meeting_date": _today(), "text": "Sneaky note", "_csrf_token": token},
    )
    assert posted.status == 403
    assert manager.goto(f"{web_app.base}/deals/new").status == 403


def test_deal_pages_refuse_other_roles_and_fit_a_phone(
    browser: object, as_role: Callable[..., object], web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    ada = web_app.bearer("ada", "rep")
    body = {"account_name": "Phone Width Inc", "segment": "smb", "stage": "discovery"}
    deal = httpx.post(f"{web_app.base}/pitch/v1/deals", json=body, headers=ada).json()
    # A next step was agreed, but its date has passed: still a deal to act on.
    today = datetime.now(UTC).date()
    note = {
        "meeting_date": (today - timedelta(days=30)).isoformat(),
        "text": f"Demo booked for {(today - timedelta(days=20)).isoformat()}.",
    }
    assert httpx.post(f"{web_app.base}/pitch/v1/deals/{deal['id']}/notes", json=note, headers=ada).status_code == 201
    # Sam (an engineer) has no deal pages; another rep of the org cannot open ada's deal (the API says 404).
    engineer = as_role("engineer")
    assert engineer.goto(f"{web_app.base}/deals").status == 403
    other_rep = ("bo@demo.pitchcraft.test", "bo-rep-password")
    add = ["user", "add", other_rep[0], "--org", "demo", "--role", "rep", "--sub", "bo", "--password-stdin"]
    web_app.cli(*add, stdin=other_rep[1] + "\n")
    bo = sign_in(browser, web_app, *other_rep)
    assert bo.goto(f"{web_app.base}/deals/{deal['id']}").status == 404  # type: ignore[attr-defined]
    bo.goto(f"{web_app.base}/deals")  # type: ignore[attr-defined]
    assert bo.locator("#no-deals").count() == 1  # type: ignore[attr-defined]
    bo.context.close()  # type: ignore[attr-defined]
    email, password = web_app.logins["rep"]
    page = sign_in(browser, web_app, email, password, width=390)
    page.goto(f"{web_app.base}/deals")  # type: ignore[attr-defined]
    cell = page.locator(f"tr[data-deal='{deal['id']}'] .next-step").inner_text()  # type: ignore[attr-defined]
    assert "overdue" in cell and (today - timedelta(days=20)).isoformat() in cell
    page.goto(f"{web_app.base}/deals/{deal['id']}")  # type: ignore[attr-defined]
    assert page.locator("#next-step-passed").inner_text() == "next step passed"  # type: ignore[attr-defined]
    for path in ("/deals", "/deals/new", f"/deals/{deal['id']}", "/deals/pipeline"):
        page.goto(f"{web_app.base}{path}")  # type: ignore[attr-defined]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path  # type: ignore[attr-defined]
    shot(page, "deals-phone-pipeline")
    assert page.goto(f"{web_app.base}/deals/no-such-deal").status == 404  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
