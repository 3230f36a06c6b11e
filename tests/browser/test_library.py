"""The sales engineer's library in a real browser: the list and its filters, uploads (a file and pasted
markdown) watched until indexed, a document's text, versions and chunks, verify and delete, and who may see what."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from playwright.sync_api import expect

from tests import hostile_files as hostile
from tests.browser.conftest import OTHER_ORG_ENGINEER, ROOT, WebApp, sign_in

# Indexing runs the real model in the server's worker thread: generous, never a timed assertion.
JOB_TIMEOUT_MS = 180_000
UPLOADED = """---
tags: [security, browser-test]
---
# Vault keys

## What it does

Vault keys lets each customer hold the master key for their workspace in their own key manager.

## How it works

The platform asks the customer's key manager to unwrap data keys; revoking the key locks the workspace within
a minute.

## Business value

Security reviews finish faster because the customer keeps control of every key.
"""


def _rows(page: Any) -> list[str]:
    return [
        str(x)
        for x in page.locator("tbody tr[data-external-id]").evaluate_all("rs => rs.map(r => r.dataset.externalId)")
    ]


def _wait_for_job(page: Any, outcome: str = "succeeded") -> None:
    page.wait_for_url("**/library/jobs/**")
    expect(page.locator("[data-job-status]")).to_have_text(outcome, timeout=JOB_TIMEOUT_MS)


def test_engineer_uploads_a_file_watches_the_job_verifies_and_deletes(
    as_role: Callable[..., Any], web_app: WebApp, shot: Callable[[Any, str], Path], tmp_path: Path
) -> None:
    page = as_role("engineer")
    page.goto(f"{web_app.base}/library")
    listed = _rows(page)
    assert {"feat-byok-encryption", "comp-quarry", "feat-legacy-flatfile-connector"} <= set(listed)
    assert page.get_by_role("button", name="Upload a document").get_attribute("href") == "/library/upload"
    shot(page, "library-list")

    # Stale filter: the expired demo connector is listed with its badge and reason; every row is stale.
    page.get_by_label("Review state").select_option("true")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/library?*stale=true*")
    stale_rows = page.locator("tbody tr[data-external-id]")
    assert stale_rows.count() >= 1
    assert stale_rows.locator(".badge.stale").count() == stale_rows.count()
    legacy = page.locator('tr[data-external-id="feat-legacy-flatfile-connector"]')
    assert "expired on 2026-01-31" in legacy.inner_text()
    page.get_by_label("Review state").select_option("false")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/library?*stale=false*")
    assert "feat-legacy-flatfile-connector" not in _rows(page)
    assert page.locator("tbody .badge.stale").count() == 0
    # Pages of 25: the demo alone fills more than one.
    page.goto(f"{web_app.base}/library")
    total = int(page.locator("hgroup p").inner_text().split()[0])
    assert total > 25 and len(_rows(page)) == 25
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**/library?offset=25")
    assert f"Showing 26\N{EN DASH}{min(total, 50)} of {total}" in page.locator(".pager").inner_text()
    assert len(_rows(page)) == min(total, 50) - 25
    assert page.get_by_role("link", name="Previous").get_attribute("href") == "/library?offset=0"
    # Kind and text filters go to the API's query parameters.
    page.goto(f"{web_app.base}/library?kind=competitor&q=quarry")
    filtered = _rows(page)
    assert "comp-quarry" in filtered and not any(x.startswith("feat-") for x in filtered)

    # Upload a markdown file through the plain file input.
    source = tmp_path / "vault-keys.md"
    source.write_text(UPLOADED)
    page.goto(f"{web_app.base}/library/upload")
    page.get_by_label("External ID").fill("web-vault-keys")
    page.get_by_label("Kind").select_option("feature")
    page.get_by_label("Title").fill("Vault keys (browser upload)")
    page.get_by_label("Owner").fill("sam@demo.pitchcraft.test")
    page.set_input_files("#upload-file", str(source))
    assert page.locator("[data-drop-name]").inner_text() == "Selected: vault-keys.md"
    shot(page, "library-upload")
    page.get_by_role("button", name="Upload and index").click()
    _wait_for_job(page)
    status = page.locator("#job-status")
    # Finished: the box stops polling and links to the document.
    assert status.get_attribute("hx-trigger") is None
    assert "chunks embedded (100%)" in status.inner_text()
    shot(page, "library-job")

    page.get_by_role("link", name="Vault keys (browser upload)").click()
    page.wait_for_url("**/library/documents/**")
    document_url = page.url
    assert "revoking the key locks the workspace" in page.locator("pre.doc-text").inner_text()
    assert "version 1, current" in page.locator("#text-heading").inner_text()
    chunks = page.locator(".chunk-list li")
    assert chunks.count() >= 3
    assert not chunks.first.is_visible()
    page.locator("details.chunks summary").click()
    expect(chunks.first).to_be_visible()
    assert "Vault keys > What it does" in chunks.first.inner_text()
    assert "master key for their workspace" in chunks.first.inner_text()
    versions = page.locator("#versions-heading + .table-wrap tbody tr")
    assert versions.count() == 1
    assert "current" in versions.first.inner_text() and "vault-keys.md" in versions.first.inner_text()
    assert "Sam Engineer" in versions.first.inner_text()
    assert page.locator("[data-verified]").inner_text() == "never"
    shot(page, "library-document")

    # Verify, after the confirmation.
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**done=verified")
    assert questions and "as checked and correct" in questions[0]
    assert "Marked as verified" in page.get_by_role("status").inner_text()
    verified = page.locator("[data-verified]").inner_text()
    assert verified.startswith("by Sam Engineer (sam) on ")

    # Dismissing the delete question keeps the document; accepting deletes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete").click()
    assert page.url.endswith("done=verified")
    page.once("dialog", accept)
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/library?done=deleted")
    assert "cannot be undone" in questions[-1]
    assert "Document deleted" in page.get_by_role("status").inner_text()
    assert "web-vault-keys" not in _rows(page)
    page.goto(f"{web_app.base}/library?q=vault")
    assert _rows(page) == []
    gone = page.goto(document_url)
    assert gone is not None and gone.status == 404
    assert "no document" in page.get_by_role("alert").inner_text()


def test_pasted_markdown_upload_then_the_same_again_is_unchanged(as_role: Callable[..., Any], web_app: WebApp) -> None:
    page = as_role("engineer")
    markdown = "# Pasted notes\n\n## Objection\n\nThe price is too high for a pilot; offer the 30-day starter plan.\n"

    def paste() -> None:
        page.goto(f"{web_app.base}/library/upload")
        page.get_by_label("Or paste markdown").fill(markdown)
        page.get_by_label("External ID").fill("web-pasted-objection")
        page.get_by_label("Kind").select_option("objection")
        page.get_by_label("Title").fill("Pasted objection")
        page.get_by_label("Tags (comma separated)").fill("pricing, pilot")
        page.get_by_role("button", name="Upload and index").click()

    paste()
    _wait_for_job(page)
    page.get_by_role("link", name="Pasted objection").click()
    assert "offer the 30-day starter plan" in page.locator("pre.doc-text").inner_text()
    assert "objection" in page.locator("hgroup").inner_text()
    assert {"pilot", "pricing"} <= set(page.locator(".doc-meta .badge").all_inner_texts())

    paste()
    page.wait_for_url("**/library/documents/**done=unchanged")
    assert "Nothing changed" in page.get_by_role("status").inner_text()
    document_url = page.url.split("?")[0]

    # Changed text: version 2 becomes current; version 1's text is still there to read.
    markdown = markdown.replace("30-day starter plan", "45-day starter plan")
    paste()
    _wait_for_job(page)
    page.goto(document_url)
    assert "version 2, current" in page.locator("#text-heading").inner_text()
    assert "45-day starter plan" in page.locator("pre.doc-text").inner_text()
    rows = page.locator("#versions-heading + .table-wrap tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().startswith("v2") and "current" in rows.nth(0).inner_text()
    assert "superseded" in rows.nth(1).inner_text()
    rows.nth(1).get_by_role("link", name="v1").click()
    page.wait_for_url("**?version=1")
    assert "version 1, superseded" in page.locator("#text-heading").inner_text()
    assert "30-day starter plan" in page.locator("pre.doc-text").inner_text()
    # The chunks are always the current version's.
    assert "45-day starter plan" in (page.locator(".chunk-list").text_content() or "")


def test_a_hostile_file_is_accepted_and_its_job_shows_the_limit_it_crossed(
    as_role: Callable[..., Any], web_app: WebApp, tmp_path: Path
) -> None:
    """HTML, PDF and DOCX are parsed by the job, not the request: the upload is accepted and the job page
    shows the reason the job failed, naming the setting."""
    page = as_role("engineer")
    page.goto(f"{web_app.base}/library/upload")
    nested = tmp_path / "nested.html"
    nested.write_bytes(hostile.nested_html(5_000))
    page.get_by_label("External ID").fill("web-nested-html")
    page.get_by_label("Kind").select_option("feature")
    page.get_by_label("Title").fill("Nested page")
    page.set_input_files("#upload-file", str(nested))
    page.get_by_role("button", name="Upload and index").click()
    _wait_for_job(page, "failed")
    reason = page.locator("#job-status").get_by_role("alert").inner_text()
    assert reason.startswith("web-nested-html: ") and "PITCHCRAFT_MAX_HTML_DEPTH" in reason


def test_bad_uploads_show_the_apis_message(as_role: Callable[..., Any], web_app: WebApp, tmp_path: Path) -> None:
    page = as_role("engineer")
    page.goto(f"{web_app.base}/library/upload")
    binary = tmp_path / "slides.exe"
    binary.write_bytes(b"MZ\x90\x00not a document")
    page.get_by_label("External ID").fill("web-bad-file")
    page.get_by_label("Kind").select_option("feature")
    page.get_by_label("Title").fill("Bad file")
    page.set_input_files("#upload-file", str(binary))
    with page.expect_response(lambda r: r.url.endswith("/library/upload") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Upload and index").click()
    assert answer.value.status == 415
    assert "unsupported content type" in page.get_by_role("alert").inner_text()
    # What was typed stays in the form.
    assert page.get_by_label("External ID").input_value() == "web-bad-file"

    # Pasted markdown without a title (and no front matter to supply one): the API names the field.
    page.get_by_label("Title").fill("")
    page.get_by_label("Or paste markdown").fill("## A section\n\nText without a title.\n")
    with page.expect_response(lambda r: r.url.endswith("/library/upload") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Upload and index").click()
    assert answer.value.status == 422
    alert = page.get_by_role("alert").inner_text()
    assert "is invalid" in alert and "title: Field required" in alert
    assert page.get_by_label("Or paste markdown").input_value().startswith("## A section")

    # A file dropped on the drop zone fills the file input (library.js).
    page.goto(f"{web_app.base}/library/upload")
    page.locator("[data-drop-zone]").evaluate(
        """zone => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["# Dropped"], "dropped.md", {type: "text/markdown"}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }"""
    )
    assert page.locator("[data-drop-name]").inner_text() == "Selected: dropped.md"
    assert page.locator("#upload-file").evaluate("input => input.files[0].name") == "dropped.md"

    # Neither a file nor text: the page says what it needs before calling the API.
    page.goto(f"{web_app.base}/library/upload")
    page.get_by_role("button", name="Upload and index").click()
    assert "choose a file to upload or paste the markdown text" in page.get_by_role("alert").inner_text()


def test_who_may_see_the_library(
    as_role: Callable[..., Any], browser: Any, web_app: WebApp, shot: Callable[[Any, str], Path]
) -> None:
    rep = as_role("rep")
    response = rep.goto(f"{web_app.base}/library")
    assert response is not None and response.status == 403
    assert "this page is for" in rep.get_by_role("alert").inner_text()

    # Managers read the library but get no write buttons.
    manager = as_role("manager")
    manager.goto(f"{web_app.base}/library?q=byok")
    assert "feat-byok-encryption" in _rows(manager)
    assert manager.get_by_role("button", name="Upload a document").count() == 0
    manager.locator('tr[data-external-id="feat-byok-encryption"] a').click()
    manager.wait_for_url("**/library/documents/**")
    demo_document = manager.url
    assert manager.get_by_role("button", name="Verify").count() == 0
    assert manager.get_by_role("button", name="Delete").count() == 0
    upload = manager.goto(f"{web_app.base}/library/upload")
    assert upload is not None and upload.status == 403

    # An engineer of another org: the demo document does not exist for them.
    eve = sign_in(browser, web_app, *OTHER_ORG_ENGINEER)
    try:
        answer = eve.goto(demo_document)  # type: ignore[attr-defined]
        assert answer is not None and answer.status == 404
        assert "no document" in eve.get_by_role("alert").inner_text()  # type: ignore[attr-defined]
        eve.goto(f"{web_app.base}/library?q=byok")  # type: ignore[attr-defined]
        assert "feat-byok-encryption" not in _rows(eve)
    finally:
        eve.context.close()  # type: ignore[attr-defined]

    # Phone width: the table scrolls inside its box, never the page.
    phone = as_role("engineer", width=390)
    phone.goto(f"{web_app.base}/library")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "library-phone")
    phone.goto(demo_document)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "library-phone-document")


def test_the_job_box_polls_until_finished_and_shows_a_failure() -> None:
    """The status fragment alone (no server: a failing job cannot be made on demand through the pages)."""
    env = Environment(loader=FileSystemLoader(ROOT / "services" / "web" / "templates"), autoescape=True)
    box = env.get_template("library/_job_status.html")
    job = {
        "job_id": "j1",
        "status": "running",
        "attempts": 1,
        "progress": {"done": 2, "total": 8},
        "reused_embeddings": 0,
        "error": None,
    }
    running = box.render(job=job, finished=False, percent=25, documents=[], more=0)
    assert 'hx-get="/library/jobs/j1"' in running and 'hx-trigger="every 1s"' in running
    assert '<progress value="2" max="8"' in running and "2 of 8 chunks embedded (25%)" in running
    failed = {**job, "status": "failed", "error": "web-x: no indexable text after <chunking>"}
    html = box.render(job=failed, finished=True, percent=25, documents=[], more=0)
    assert "hx-trigger" not in html and "hx-get" not in html
    assert '<p class="error" role="alert">web-x: no indexable text after &lt;chunking&gt;</p>' in html
