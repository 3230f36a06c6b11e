"""Enablement in a real browser: a manager generates a quiz from the demo material, reads the gate's report,
drops an item, publishes and assigns it; the rep takes it (answers survive a reload), reads the graded result
and a cited passage, works the review queue; the manager's reports draw the readiness chart and download CSV."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.browser.conftest import WebApp

TITLE = "Tessellate and the CIO"
Page = Any  # playwright.sync_api.Page; the sync API is imported by the fixtures


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _accept_dialogs(page: Page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def _manager_builds_and_assigns(mia: Page, base: str, shot: Callable[[object, str], Path]) -> tuple[int, str]:
    """Returns the number of items assigned and the dropped item's prompt."""
    _accept_dialogs(mia)
    mia.goto(f"{base}/manager")
    mia.get_by_role("button", name="New quiz").click()
    # A slice that names nothing is refused by the API; the form comes back with its values and the reason.
    mia.get_by_label("Title").fill(TITLE)
    with mia.expect_response(lambda r: r.request.method == "POST") as answer:
        mia.get_by_role("button", name="Generate draft").click()
    assert answer.value.status == 422
    assert "nothing to generate from this slice" in mia.locator("#form-error").inner_text()
    assert mia.get_by_label("Title").input_value() == TITLE
    mia.get_by_label("Competitor", exact=True).fill("tessellate")
    mia.get_by_label("Persona", exact=True).select_option("cio")
    mia.get_by_label("How many items").fill("8")
    mia.get_by_role("button", name="Generate draft").click()
    mia.wait_for_url(re.compile(r"/manager/quizzes/[^/?]+\?done=created"))
    assert "Quiz generated" in mia.get_by_role("status").inner_text()
    assert mia.locator("#quiz-status").inner_text() == "draft"

    # The gate's report: what was accepted matches the items shown; rejections are listed with reasons.
    summary = mia.locator("#gate-summary").inner_text()
    accepted = int(re.search(r"(\d+) passed the\s+gate", summary).group(1))  # type: ignore[union-attr]
    active = mia.locator("article.item[data-status=active]")
    assert active.count() == accepted >= 3
    rejected = int(re.search(r"(\d+) candidates? rejected", summary).group(1))  # type: ignore[union-attr]
    if rejected:
        assert mia.locator("#gate-reasons tbody tr").count() >= 1
    # Managers see keys and citations: every choice item marks its answer; every item cites its source.
    for item in active.all():
        if item.get_attribute("data-type") != "short_answer":
            assert item.locator("ol.options .badge.ok").count() >= 1
        assert "Cites:" in item.inner_text()
    assert mia.locator("article.item[data-type=short_answer][data-status=active]").count() >= 1
    assert mia.locator("article.item .badge.tag", has_text="vs tessellate").count() >= 1
    shot(mia, "manager-quiz")

    # Regenerate a choice item: a new one from the same generator and source takes its place, or, when the
    # material gives no other (generation is random), the API's refusal shows inside that item.
    item = mia.locator("article.item[data-status=active]:not([data-type=short_answer])").first
    item_id = item.get_attribute("id")
    with mia.expect_response(lambda r: r.request.method == "POST") as answer:
        item.get_by_role("button", name=re.compile(r"^Regenerate item")).click()
    if answer.value.status == 303:
        mia.wait_for_url(re.compile(r"done=regenerated"))
        assert "Item replaced" in mia.get_by_role("status").inner_text()
        assert mia.locator(f"#{item_id}").get_attribute("data-status") == "dropped"  # kept, never asked
    else:
        assert answer.value.status == 422
        assert "drop the item instead" in mia.locator(f"#{item_id} #action-error").inner_text()
    assert mia.locator("article.item[data-status=active]").count() == accepted

    # Edit an item's wording; then an edit the API refuses (a choice item left without its key) comes back
    # inside that item, open, with the API's reason.
    choice = mia.locator("article.item[data-status=active]:not([data-type=short_answer])").last
    choice_id = choice.get_attribute("id")
    choice.locator("summary", has_text="Edit").click()
    reworded = "Reworded: " + choice.locator(".prompt").inner_text()
    choice.locator("textarea[name=prompt]").fill(reworded)
    choice.get_by_role("button", name="Save item").click()
    mia.wait_for_url(re.compile(r"done=edited"))
    edited = mia.locator(f"#{choice_id}")
    assert edited.locator(".prompt").inner_text() == reworded
    assert "edited" in edited.locator("header").inner_text()
    edited.locator("summary", has_text="Edit").click()
    edited.locator("textarea[name=prompt]").fill("Where do we beat Tessellate?")
    edited.locator("input[name=key]:checked").evaluate_all("keys => keys.forEach(k => { k.checked = false; })")
    with mia.expect_response(lambda r: r.request.method == "POST") as answer:
        edited.get_by_role("button", name="Save item").click()
    assert answer.value.status == 422
    refused = mia.locator(f"#{choice_id} #action-error")
    assert "the edited question is not valid" in refused.inner_text() and "input_value" not in refused.inner_text()
    assert mia.locator(f"#{choice_id} details").get_attribute("open") is not None
    # Nothing was saved, and the form keeps what she typed to fix it.
    assert mia.locator(f"#{choice_id} .prompt").inner_text() == reworded
    assert mia.locator(f"#{choice_id} textarea[name=prompt]").input_value() == "Where do we beat Tessellate?"
    assert mia.locator(f"#{choice_id} input[name=key]:checked").count() == 0

    # Drop a choice item (the short answer stays: its passages are open to the rep as soon as it is graded).
    target = mia.locator("article.item[data-status=active]:not([data-type=short_answer])").first
    target_id = target.get_attribute("id")
    dropped_prompt = target.locator(".prompt").inner_text()
    target.get_by_role("button", name=re.compile(r"^Drop item")).click()
    mia.wait_for_url(re.compile(r"done=dropped"))
    assert mia.locator(f"#{target_id}").get_attribute("data-status") == "dropped"
    assert mia.locator("article.item[data-status=active]").count() == accepted - 1

    mia.get_by_role("button", name="Publish").click()
    mia.wait_for_url(re.compile(r"done=published"))
    assert mia.locator("#quiz-status").inner_text() == "published"
    assert mia.locator("article.item details").count() == 0  # a published quiz has no edit forms

    # Nobody ticked: the API refuses, and the form says why where it was filled in.
    due = (datetime.now(UTC) + timedelta(days=5)).date()
    mia.get_by_label("Due date").fill(due.isoformat())
    with mia.expect_response(lambda r: r.request.method == "POST") as answer:
        mia.get_by_role("button", name="Assign", exact=True).click()
    assert answer.value.status == 422
    assert "assignees" in mia.locator("#assign #action-error").inner_text()
    assert mia.get_by_label("Due date").input_value() == due.isoformat()

    # Assign to ada: one attempt, so the assignment closes when she submits (and choice items cite too).
    mia.get_by_label("Ada Rep").check()
    mia.get_by_label("Due date").fill(due.isoformat())
    mia.get_by_label("Pass mark (%)").fill("60")
    mia.get_by_label("Attempts allowed").fill("1")
    shot(mia, "manager-assign")
    mia.get_by_role("button", name="Assign", exact=True).click()
    mia.wait_for_url(re.compile(r"done=assigned"))
    row = mia.locator("#assignments tr", has_text="Ada Rep")
    assert due.isoformat() in row.inner_text() and "not started" in row.inner_text()
    assert "0 / 1" in row.inner_text()
    return accepted - 1, dropped_prompt


def _rep_takes_it(ada: Page, base: str, items: int, dropped: str, shot: Callable[[object, str], Path]) -> str:
    """Returns the result page's address."""
    ada.goto(f"{base}/training")
    row = ada.locator("#assignments tr", has_text=TITLE)
    assert "not started" in row.inner_text() and "1 of 1" in row.inner_text() and "60%" in row.inner_text()
    assert ada.locator("#assignments tr", has_text="Lumora feature basics").count() == 1  # the demo's quiz
    shot(ada, "training-list")
    row.get_by_role("button", name=f"Start {TITLE}").click()
    ada.wait_for_url(re.compile(r"/training/assignments/[^/]+/take$"))
    form = ada.locator("#take-form")
    assert form.get_attribute("data-keep", timeout=5_000).startswith("attempt-")
    assert ada.locator("article.question").count() == items
    assert dropped not in form.inner_text()  # a dropped item is never asked
    assert "answer" not in {b.inner_text() for b in form.locator(".badge").all()}  # no key marks for reps

    # Answer every choice item with its first option shown, and the short answer in words; then reload.
    picked = []
    for box in ada.locator("article.question").all():
        first = box.locator("input[type=radio], input[type=checkbox]").first
        if first.count():
            first.check()
            picked.append(first.get_attribute("id"))
    essay = "Tessellate is cheaper and has a free tier."
    ada.locator("#take-form textarea").first.fill(essay)
    ada.reload()
    for field in picked:
        assert ada.locator(f"#{field}").is_checked()
    assert ada.locator("#take-form textarea").first.input_value() == essay
    shot(ada, "training-take")

    ada.get_by_role("button", name="Submit answers").click()
    ada.wait_for_url(re.compile(r"/training/attempts/[^/?]+\?done=submitted"))
    assert "Submitted and graded" in ada.get_by_role("status").inner_text()
    score = ada.locator("#score").inner_text()
    assert re.search(r"\d+\.\d%", score) and ("passed" in score)
    feedback = ada.locator("article.feedback")
    assert feedback.count() == items
    for box in feedback.all():
        assert box.locator(".prompt").inner_text().strip() and box.locator(".feedback-text").inner_text().strip()
    # Answered in words unrelated to the material: not correct, with where to reread.
    short = feedback.filter(has_text="Give the main points")
    assert short.count() >= 1 and "key points" in short.first.locator(".feedback-text").inner_text()
    link = ada.locator("a.passage-link").first
    source = link.inner_text().split(",")[0]
    link.click()
    passage = ada.locator(".passage-box .passage").first
    passage.wait_for()
    assert source in passage.inner_text() and len(passage.locator(".passage-text").inner_text()) > 40
    shot(ada, "training-result")

    # The same passage as a page of its own (no htmx): title and text.
    href = link.get_attribute("href")
    page_view = ada.context.new_page()
    response = page_view.goto(f"{base}{href}")
    assert response.status == 200 and len(page_view.locator(".passage-text").inner_text()) > 40
    page_view.close()

    # The assignment is closed (one attempt) and its result is one click away from the list.
    result_url = ada.url.split("?")[0]
    ada.goto(f"{base}/training")
    row = ada.locator("#assignments tr", has_text=TITLE)
    assert re.search(r"passed|out of attempts", row.inner_text()) and "0 of 1" in row.inner_text()
    row.get_by_role("link", name=re.compile("^Last result")).click()
    ada.wait_for_url(result_url)
    # What she missed is due for review now.
    ada.goto(f"{base}/training/reviews")
    reviews = ada.locator("article.review")
    due_now = reviews.count()
    assert due_now >= 1 and "Give the main points" in ada.locator("main").inner_text()
    # A choice item is asked as it was, with its options (and no mark on the right ones).
    listed = reviews.filter(has=ada.locator("ol.review-options")).first
    assert listed.locator("ol.review-options li").count() >= 2 and listed.locator(".badge.ok").count() == 0
    # Check what she recalled against the material the item cites.
    cited = reviews.filter(has=ada.locator("a.passage-link")).first
    cited.locator("summary").click()
    cited.locator("a.passage-link").first.click()
    cited.locator(".passage-box .passage").wait_for()
    assert len(cited.locator(".passage-box .passage-text").inner_text()) > 40
    shot(ada, "training-reviews")
    reviews.first.get_by_label("Your answer").fill("SCIM and a warehouse-native sync")
    reviews.first.get_by_role("button", name="Good").click()
    ada.wait_for_url(re.compile(r"done=rated"))
    assert ada.locator("article.review").count() == due_now - 1  # not due again today
    return str(result_url)


def _manager_reports(mia: Page, base: str, shot: Callable[[object, str], Path], tmp: Path) -> None:
    mia.goto(f"{base}/manager/reports")
    canvas = mia.locator("canvas#readiness-chart")
    assert canvas.count() == 1
    mia.wait_for_function("() => window.Chart && !!window.Chart.getChart(document.getElementById('readiness-chart'))")
    drawn = mia.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('readiness-chart'));"
        " return {labels: c.data.labels, reps: c.data.datasets.map(d => d.label), animation: c.options.animation}; }"
    )
    assert "Ada Rep" in drawn["reps"] and "vs Tessellate" in drawn["labels"] and drawn["animation"] is False
    assert "Chief Information Officer" in drawn["labels"]
    table = mia.locator("#readiness-table")
    assert "Ada Rep" in table.inner_text() and "vs Tessellate" in table.inner_text()
    assert TITLE in mia.locator("#completion-table").inner_text()
    assert "Ada Rep" in mia.locator("#scores-table").inner_text()
    shot(mia, "manager-reports")

    with mia.expect_download() as download:
        mia.locator("#csv-completion").click()
    assert download.value.suggested_filename == "completion.csv"
    path = tmp / "completion.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert list(rows[0]) == [
        "quiz_id",
        "quiz_title",
        "assignee",
        "name",
        "due_at",
        "status",
        "attempts_used",
        "max_attempts",
        "best_score",
        "pass_mark",
        "passed",
        "overdue",
    ]
    ours = [r for r in rows if r["quiz_title"] == TITLE]
    assert len(ours) == 1 and ours[0]["assignee"] == "ada" and ours[0]["name"] == "Ada Rep"
    assert ours[0]["attempts_used"] == "1" and ours[0]["max_attempts"] == "1" and float(ours[0]["best_score"]) >= 0

    with mia.expect_download() as download:
        mia.locator("#csv-readiness").click()
    path = tmp / "readiness.csv"
    download.value.save_as(path)
    readiness = list(csv.reader(path.open(encoding="utf-8")))
    assert readiness[0][:3] == ["user", "name", "overall"] and "competitor:tessellate" in readiness[0]
    assert any(r[0] == "ada" and r[1] == "Ada Rep" and r[2] for r in readiness[1:])


def test_manager_builds_a_quiz_the_rep_takes_it_and_the_reports_show_it(
    as_role: Callable[..., Any], web_app: WebApp, shot: Callable[[object, str], Path], tmp_path: Path
) -> None:
    mia = as_role("manager")
    items, dropped = _manager_builds_and_assigns(mia, web_app.base, shot)
    ada = as_role("rep")
    result_url = _rep_takes_it(ada, web_app.base, items, dropped, shot)
    _manager_reports(mia, web_app.base, shot, tmp_path)
    _manager_regrades(mia, ada, result_url, shot)


def _manager_regrades(mia: Page, ada: Page, result_url: str, shot: Callable[[object, str], Path]) -> None:
    """From the completion report to ada's answers; a regrade of her short answer reaches her result."""
    mia.locator("#completion summary").click()
    mia.locator("#completion-assignments tr", has_text=TITLE).get_by_role("link", name="Answers of Ada Rep").click()
    mia.wait_for_url(re.compile(r"/manager/attempts/[^/?]+$"))
    before = float(re.search(r"([\d.]+)%", mia.locator("#attempt-score").inner_text()).group(1))  # type: ignore[union-attr]
    essay = mia.locator("article.answer", has_text="Tessellate is cheaper and has a free tier.")
    assert "Reference answer:" in essay.inner_text()  # managers see the key beside the answer
    essay.locator("summary", has_text="Regrade").click()
    essay.get_by_label("Credit (0 to 1)").fill("1")
    essay.get_by_label("Reason (the rep sees it)").fill("The free tier point is the battlecard's own caveat")
    essay.get_by_role("button", name=re.compile("^Save the grade")).click()
    mia.wait_for_url(re.compile(r"done=regraded"))
    regraded = mia.locator("article.answer", has_text="Tessellate is cheaper and has a free tier.")
    assert "credit 1.00" in regraded.inner_text() and "regraded by mia" in regraded.inner_text()
    after = float(re.search(r"([\d.]+)%", mia.locator("#attempt-score").inner_text()).group(1))  # type: ignore[union-attr]
    assert after > before
    shot(mia, "manager-attempt")
    ada.goto(result_url)
    assert (
        "Regraded by a manager: The free tier point is the battlecard's own caveat" in ada.locator("main").inner_text()
    )


def test_pages_fit_a_phone(as_role: Callable[..., Any], web_app: WebApp) -> None:
    mia = as_role("manager", width=390)
    for path in ("/manager", "/manager/quizzes/new", "/manager/reports"):
        mia.goto(f"{web_app.base}{path}")
        _no_sideways_scroll(mia)
    mia.goto(f"{web_app.base}/manager")
    mia.get_by_role("link", name="Lumora feature basics").click()  # the demo's published quiz, keys and all
    assert mia.locator("article.item").count() >= 1
    _no_sideways_scroll(mia)
    ada = as_role("rep", width=390)
    for path in ("/training", "/training/reviews"):
        ada.goto(f"{web_app.base}{path}")
        _no_sideways_scroll(ada)


def test_a_rep_gets_the_403_page_on_manager_pages_and_a_manager_no_csv_of_an_unknown_report(
    as_role: Callable[..., Any], web_app: WebApp
) -> None:
    ada = as_role("rep")
    for path in ("/manager", "/manager/reports", "/manager/reports/completion.csv"):
        response = ada.goto(f"{web_app.base}{path}")
        assert response.status == 403, path
        assert "this page is for" in ada.get_by_role("alert").inner_text()
    mia = as_role("manager")
    response = mia.goto(f"{web_app.base}/manager/reports/salaries.csv")
    assert response.status == 404 and "no report salaries.csv" in mia.get_by_role("alert").inner_text()
    # Managers are not reps: the training pages refuse them the same way.
    assert mia.goto(f"{web_app.base}/training").status == 403
