"""The rep's talk-track page in a real browser: ask for tracks, open citations, copy and download the markdown,
ask again from the recent list; phone width; bad input shows the API's message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import OTHER_ORG_ENGINEER, WebApp, sign_in

Shot = Callable[[object, str], Path]
CONTEXT = (
    "Regional retailer with 40 stores. The board wants fewer tools, a security review before renewal, and proof "
    "that campaigns drive revenue."
)


def ask(page: Any, persona: str, *, context: str = "", competitor: str = "", segment: str = "") -> None:
    """Fill the form and send it; returns once the track (or the form's error) is on the page."""
    page.get_by_label("Buyer persona").select_option(persona)
    page.get_by_label("Deal context").fill(context)
    page.get_by_label("Competitor").fill(competitor)
    page.get_by_label("Segment", exact=True).select_option(segment)
    with page.expect_response(lambda r: r.url.endswith("/tracks") and r.request.method == "POST"):
        page.get_by_role("button", name="Write the talk track").click()
    page.locator("#track-heading, #track-error").first.wait_for()


def features(page: Any) -> list[str]:
    return [t.split(". ", 1)[1].strip() for t in page.locator("#track article.feature h3").all_inner_texts()]


def said(page: Any) -> list[str]:
    """The track's points as the rep reads them, without their citation marks."""
    return [t.rsplit("[", 1)[0].strip() for t in page.locator("#track ul.points.say li").all_inner_texts()]


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_rep_asks_for_cio_and_cmo_tracks_opens_a_citation_copies_and_downloads(
    as_role: Callable[..., Any], web_app: WebApp, shot: Shot
) -> None:
    page = as_role("rep")
    page.goto(f"{web_app.base}/tracks")
    options = page.locator("#persona option").all_inner_texts()
    assert "Chief Information Officer" in options and "Chief Marketing Officer" in options
    # The competitor field suggests the competitors the library has battlecards for.
    assert "tessellate" in page.locator("#competitor-names option").evaluate_all("os => os.map(o => o.value)")
    shot(page, "tracks-form")

    ask(page, "cio", context=CONTEXT, competitor="Tessellate", segment="enterprise")
    assert page.locator("#track-heading").inner_text() == "Talk track for Chief Information Officer"
    assert page.locator("#track-tone").inner_text() == "technical tone"
    cio_features = features(page)
    cio_points = said(page)
    assert 1 <= len(cio_features) <= 4
    # Every point says something and cites its source.
    points = page.locator("#track ul.points.say li")
    assert points.count() >= len(cio_features)
    for i in range(points.count()):
        item = points.nth(i)
        assert item.locator("a.cite").count() == 1 and len(item.inner_text()) > 20
    assert page.get_by_role("heading", name="Against Tessellate").is_visible()
    assert page.locator("#discovery-questions li").count() >= 1 and page.locator("#next-step").inner_text()
    # The form keeps what was asked.
    assert page.get_by_label("Deal context").input_value() == CONTEXT
    shot(page, "tracks-cio")

    # A citation opens its passage: document title, section, as-of date and text.
    first = page.locator("#track ul.points.say li").first
    cited_text = first.inner_text().rsplit("[", 1)[0].strip()
    label = first.locator("a.cite").get_attribute("aria-label") or ""
    first.locator("a.cite").click()
    dialog = page.locator("#passage-dialog")
    dialog.locator("#passage-title").wait_for()
    assert dialog.is_visible()
    title = dialog.locator("#passage-title").inner_text()
    as_of = dialog.locator("#passage-as-of").inner_text()
    assert title and title in label and as_of in label and len(as_of) == 10 and as_of[4] == "-"
    assert cited_text[:60] in " ".join(dialog.locator("#passage-text").inner_text().split())
    # The sentence the track quoted is marked in the passage.
    assert dialog.locator("#passage-quote").inner_text() == cited_text
    assert "Version" in dialog.locator(".passage-meta").inner_text()
    shot(page, "tracks-citation")
    dialog.get_by_role("button", name="Close").click()
    assert not dialog.is_visible()

    # The same passage as a page of its own (no script needed).
    href = first.locator("a.cite").get_attribute("href")
    own = page.context.new_page()
    own.goto(f"{web_app.base}{href}")
    assert own.locator("h2#passage-title").inner_text() == title
    assert own.locator("#passage-as-of").inner_text() == as_of
    own.close()

    # Copy as markdown: the textarea holds the track as markdown; the button copies it.
    markdown = page.locator("#track-markdown").input_value()
    assert markdown.startswith("# Talk track for a Chief Information Officer")
    assert all(f in markdown for f in cio_features) and "[^1]:" in markdown
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_app.base)
    page.get_by_role("button", name="Copy as markdown").click()
    page.locator("button[data-copy][data-copied]").wait_for()
    assert page.locator("button[data-copy]").get_attribute("data-copied") == "yes"
    assert page.locator("button[data-copy]").inner_text() == "Copied"
    assert page.evaluate("navigator.clipboard.readText()") == markdown

    # Download: a markdown file named for the persona, with the same track.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download (.md)").click()
    assert download.value.suggested_filename == "talk-track-cio.md"
    downloaded = Path(download.value.path()).read_text()
    assert downloaded.startswith("# Talk track for a Chief Information Officer (technical tone)")
    assert all(f"## {n}. {f}" in downloaded for n, f in enumerate(cio_features, start=1))
    assert "## Against Tessellate" in downloaded

    # The same deal for a CMO: another tone, and what the CMO hears is not the CIO's track.
    ask(page, "cmo", context=CONTEXT)
    assert page.locator("#track-heading").inner_text() == "Talk track for Chief Marketing Officer"
    assert page.locator("#track-tone").inner_text() == "business tone"
    cmo_features = features(page)
    cmo_points = said(page)
    # Same deal, another buyer: the CMO hears business outcomes, not the CIO's technical points.
    assert cmo_features and (cmo_features != cio_features or not set(cmo_points) & set(cio_points))
    assert page.locator("#track ul.points.say li a.cite").count() >= len(cmo_features)
    assert page.locator("#track-markdown").input_value().startswith("# Talk track for a Chief Marketing Officer")
    shot(page, "tracks-cmo")

    # Both requests are listed, newest first, once each (the copy and the download asked again); a link refills.
    recent = page.locator("#recent-tracks li")
    texts = recent.all_inner_texts()
    assert texts[0].startswith("Chief Marketing Officer") and texts[1].startswith("Chief Information Officer")
    assert "vs Tessellate" in texts[1] and "Enterprise" in texts[1]
    assert len([t for t in texts if t.startswith("Chief Information Officer") and "Tessellate" in t]) == 1
    recent.nth(1).get_by_role("link").click()
    page.wait_for_url("**/tracks?*")
    assert page.get_by_label("Buyer persona").input_value() == "cio"
    assert page.get_by_label("Deal context").input_value() == CONTEXT
    assert page.get_by_label("Competitor").input_value() == "Tessellate"
    assert page.get_by_label("Segment", exact=True).input_value() == "enterprise"


def test_an_empty_context_gives_a_track_for_the_persona_in_general(
    as_role: Callable[..., Any], web_app: WebApp
) -> None:
    page = as_role("rep")
    page.goto(f"{web_app.base}/tracks")
    ask(page, "cfo")
    assert page.locator("#track-heading").inner_text() == "Talk track for Chief Financial Officer"
    assert "for this persona in general" in page.locator("#track .track-head").inner_text()
    assert features(page) and page.locator("#track ul.points.say li a.cite").count() >= 1
    assert page.get_by_role("status").count() == 0 or "does not support" not in page.locator("#track").inner_text()


@pytest.mark.parametrize("role", ["engineer", "manager", "admin"])
def test_every_role_may_ask_for_a_track(as_role: Callable[..., Any], web_app: WebApp, role: str) -> None:
    page = as_role(role)
    page.goto(f"{web_app.base}/tracks")
    assert page.get_by_role("link", name="Talk track").is_visible()
    ask(page, "vp_engineering")
    assert page.locator("#track-heading").inner_text() == "Talk track for VP of Engineering"
    assert features(page)


def test_the_page_fits_a_phone(as_role: Callable[..., Any], web_app: WebApp, shot: Shot) -> None:
    page = as_role("rep", width=390)
    page.goto(f"{web_app.base}/tracks")
    assert no_sideways_scroll(page)
    ask(page, "ciso", context=CONTEXT, competitor="Tessellate")
    assert page.locator("#track-heading").is_visible() and features(page)
    assert no_sideways_scroll(page)
    shot(page, "tracks-phone")
    page.locator("#track a.cite").first.click()
    page.locator("#passage-dialog #passage-title").wait_for()
    assert no_sideways_scroll(page)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_features", "0", "Features, at most: Input should be greater than or equal to 1"),
        ("competitor", "!!!", "Competitor: "),
        ("persona_brief", "x" * 5000, "Buyer description: String should have at most 1000 characters"),
    ],
)
def test_bad_input_shows_the_apis_message_not_an_error_page(
    as_role: Callable[..., Any], web_app: WebApp, shot: Shot, field: str, value: str, message: str
) -> None:
    page = as_role("rep")
    page.goto(f"{web_app.base}/tracks")
    # The browser's own checks (min, maxlength) are what a user meets first; here the server's are tested.
    page.evaluate(
        """() => { const f = document.getElementById('track-form'); f.noValidate = true;
        f.querySelectorAll('[min],[max],[maxlength]').forEach(e => {
          e.removeAttribute('min'); e.removeAttribute('max'); e.removeAttribute('maxlength'); }); }"""
    )
    page.get_by_label("Buyer persona").select_option("cio")
    page.get_by_label("Deal context").fill(CONTEXT)
    if field == "persona_brief":
        page.get_by_text("Describe this buyer further").click()  # the field sits in a closed <details>
    page.locator(f"#{field}").fill(value)
    with page.expect_response(lambda r: r.url.endswith("/tracks") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Write the talk track").click()
    assert answer.value.status == 422
    alert = page.locator("#track-error")
    alert.wait_for()
    assert "request validation failed" in alert.inner_text() and message in alert.inner_text()
    assert page.locator("#track-heading").count() == 0
    assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
    if field == "max_features":
        shot(page, "tracks-bad-input")
    # What was typed is still in the form, to correct it.
    assert page.get_by_label("Deal context").input_value() == CONTEXT


def test_without_script_the_form_still_posts_and_shows_the_track(browser: Any, web_app: WebApp) -> None:
    email, password = web_app.logins["rep"]
    page: Any = sign_in(browser, web_app, email, password)
    context = page.context
    no_js = browser.new_context(java_script_enabled=False, storage_state=context.storage_state())
    plain = no_js.new_page()
    plain.goto(f"{web_app.base}/tracks")
    plain.get_by_label("Buyer persona").select_option("vp_sales")
    plain.get_by_role("button", name="Write the talk track").click()
    plain.wait_for_load_state()
    assert plain.locator("#track-heading").inner_text() == "Talk track for VP of Sales"
    href = plain.locator("#track a.cite").first.get_attribute("href")
    plain.goto(f"{web_app.base}{href}")
    assert plain.locator("#passage-as-of").inner_text()
    no_js.close()
    context.close()


def test_another_orgs_passage_and_unknown_ids_are_not_found(
    as_role: Callable[..., Any], web_app: WebApp, browser: Any
) -> None:
    page = as_role("rep")
    page.goto(f"{web_app.base}/tracks")
    ask(page, "cio")
    href = page.locator("#track a.cite").first.get_attribute("href")
    other: Any = sign_in(browser, web_app, *OTHER_ORG_ENGINEER)
    response = other.goto(f"{web_app.base}{href}")
    assert response.status == 404
    assert other.get_by_role("alert").inner_text()
    assert other.goto(f"{web_app.base}/tracks/passages/not..an-id").status == 404
    other.context.close()
    # Signed out, the page sends you to sign in.
    answer = httpx.get(f"{web_app.base}/tracks", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def _api_token(web_app: WebApp, org: str, role: str) -> dict[str, str]:
    jwt = web_app.cli("token", "--sub", "tracks-test", "--org", org, "--role", role).strip().splitlines()[-1]
    return {"Authorization": f"Bearer {jwt}"}


def test_the_orgs_own_persona_is_offered_and_another_orgs_is_not(as_role: Callable[..., Any], web_app: WebApp) -> None:
    persona = {
        "id": "tracks_ops_buyer",
        "name": "Head of Retail Operations",
        "tone": "business",
        "priorities": ["which campaigns drive revenue", "fewer tools for store teams"],
    }
    for org, name in (("demo", persona["name"]), ("acme", "Acme-only Buyer")):
        created = httpx.post(
            f"{web_app.base}/pitch/v1/personas",
            json={**persona, "name": name},
            headers=_api_token(web_app, org, "manager"),
        )
        assert created.status_code == 201, created.text
    page = as_role("rep")
    page.goto(f"{web_app.base}/tracks")
    ours = page.locator("#persona optgroup[label='Your organisation'] option").all_inner_texts()
    assert "Head of Retail Operations" in ours
    assert "Acme-only Buyer" not in page.locator("#persona").inner_text()
    ask(page, "tracks_ops_buyer", context=CONTEXT)
    assert page.locator("#track-heading").inner_text() == "Talk track for Head of Retail Operations"
    assert page.locator("#track-tone").inner_text() == "business tone"
    assert features(page) and page.locator("#track ul.points.say li a.cite").count() >= 1


def test_an_org_without_material_gets_an_abstained_track_that_says_so(browser: Any, web_app: WebApp) -> None:
    email, password = "rep@tracks-empty.test", "tracks-empty-rep-password"
    web_app.cli("user", "add", email, "--org", "tracks-empty", "--role", "rep", "--password-stdin", stdin=password)
    page: Any = sign_in(browser, web_app, email, password)
    ask(page, "cio", context=CONTEXT)
    track = page.locator("#track")
    assert "does not support a talk track for this buyer yet" in track.inner_text()
    assert track.locator("article.feature").count() == 0
    assert "add material on" in page.locator("#track-warnings").inner_text()
    assert "Abstained" in page.locator("#track-markdown").input_value()
    assert "abstained" in page.locator("#recent-tracks li").first.inner_text()
    page.context.close()


def test_a_failed_request_says_so_and_keeps_the_form(as_role: Callable[..., Any], web_app: WebApp) -> None:
    page = as_role("rep")
    page.goto(f"{web_app.base}/tracks")
    ask(page, "cio", context=CONTEXT)
    error_page = '<main><p class="error" role="alert">the service did not answer (ConnectError); try again</p></main>'

    def unavailable(route: Any) -> None:
        if route.request.method == "POST" or "/tracks/passages/" in route.request.url:
            route.fulfill(status=503, content_type="text/html", body=error_page)
        else:
            route.continue_()

    page.route("**/tracks**", unavailable)
    page.get_by_label("Buyer persona").select_option("cmo")
    page.get_by_role("button", name="Write the talk track").click()
    line = page.locator("#track-send-error")
    line.wait_for()
    assert line.inner_text() == "the service did not answer (ConnectError); try again"
    # The page is as it was: the earlier track and what was typed.
    assert page.locator("#track-heading").inner_text() == "Talk track for Chief Information Officer"
    assert page.get_by_label("Deal context").input_value() == CONTEXT
    page.locator("#track a.cite").first.click()
    page.locator("#passage-body [role=alert]").wait_for()
    assert "did not answer" in page.locator("#passage-body").inner_text()


def test_a_deal_pages_track_link_asks_for_the_deals_track(
    as_role: Callable[..., Any], web_app: WebApp, shot: Callable[[object, str], Path]
) -> None:
    """From a deal's page: the form names the deal and its stakeholders; the track shows what the notes said
    and the objections raised, answered from the library or listed unanswered."""
    ada = web_app.bearer("ada", "rep")
    body = {
        "account_name": "Trackwell Shipping",
        "segment": "enterprise",
        "stage": "discovery",
        "stakeholders": [{"name": "Jo Brennan", "role": "CFO", "persona": "cfo"}],
    }
    deal = httpx.post(f"{web_app.base}/pitch/v1/deals", json=body, headers=ada).json()
    note = {
        "meeting_date": datetime.now(UTC).date().isoformat(),
        "attendees": ["Jo Brennan"],
        "text": "Pains:\n- Finance rebuilds the revenue forecast by hand every month.\n"
        "Objections:\n- Security reviews at their bank take six months and could stall the deal.",
    }
    assert httpx.post(f"{web_app.base}/pitch/v1/deals/{deal['id']}/notes", json=note, headers=ada).status_code == 201
    rep = as_role("rep")
    rep.goto(f"{web_app.base}/deals/{deal['id']}")
    rep.get_by_role("button", name="Talk track for this deal").click()
    rep.wait_for_load_state("networkidle")
    assert "Trackwell Shipping" in rep.locator("#track-deal").inner_text()
    rep.get_by_label("Who is the track for?").select_option("Jo Brennan")
    rep.get_by_role("button", name="Write the talk track").click()
    section = rep.locator("#track-deal-section")
    section.wait_for()
    assert "Trackwell Shipping" in section.inner_text()
    assert "Security reviews at their bank take six months" in section.inner_text()
    assert "rebuilds the revenue forecast by hand" in section.inner_text()
    assert "for Trackwell Shipping" in rep.locator(".track-head").inner_text()
    shot(rep, "tracks-deal")
    # Another rep's deal is the 404 page, not a track.
    other = web_app.bearer("zed", "rep")
    theirs = httpx.post(f"{web_app.base}/pitch/v1/deals", json={**body, "account_name": "Zed Co"}, headers=other)
    assert rep.goto(f"{web_app.base}/tracks?deal_id={theirs.json()['id']}").status == 404
