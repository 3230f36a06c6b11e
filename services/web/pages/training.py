"""Pages: a rep's training. Assignments with due dates, taking a quiz on one page (answers kept in the browser
across a reload), the graded result with feedback and the passages to reread, the review queue, certifications.

Everything comes from the enablement API's rep routes, as the signed-in rep: those carry no answer keys, so
these pages cannot show one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from services.core.auth import Role
from services.web.accounts import Account
from services.web.api import Api, ApiError
from services.web.session import page, require

E = "/enablement/v1"
DONE = {
    "submitted": "Submitted and graded.",
    "rated": "Review recorded. The item comes back when it is due again.",
}
RATINGS = (
    ("again", "Again", "I did not remember it"),
    ("hard", "Hard", "I remembered it with effort"),
    ("good", "Good", "I remembered it"),
    ("easy", "Easy", "I knew it at once"),
)
# Assignment states in which a rep can start (or resume) an attempt.
STARTABLE = ("not_started", "in_progress", "failed")


async def _assignment(api: Api, assignment_id: str) -> dict[str, Any]:
    for assignment in await api.get(f"{E}/me/assignments"):
        if assignment["id"] == assignment_id:
            return dict(assignment)
    raise ApiError(404, "assignment_not_found", f"no assignment {assignment_id} of yours")


@get("/training", name="training.home")
async def training_home(
    user: NamedDependency[Account], api: NamedDependency[Api], done: FromQuery[str | None] = None
) -> Template:
    require(user, Role.REP)
    assignments, certifications, reviews = await asyncio.gather(
        api.get(f"{E}/me/assignments"), api.get(f"{E}/me/certifications"), api.get(f"{E}/me/reviews", {"limit": 200})
    )
    titles = {a["quiz_id"]: a["quiz_title"] for a in assignments}
    return page(
        "training/index.html",
        user,
        title="Training",
        notice=DONE.get(done or ""),
        assignments=assignments,
        startable=STARTABLE,
        certifications=certifications,
        titles=titles,
        reviews_due=len(reviews),
    )


@post("/training/assignments/{assignment_id:str}/take", status_code=303)
async def start_attempt(
    user: NamedDependency[Account], api: NamedDependency[Api], assignment_id: FromPath[str]
) -> Redirect:
    """Start (or resume) the attempt, then show it: the page itself only ever resumes an open attempt, so a
    reload or a prefetch never uses up an attempt."""
    require(user, Role.REP)
    await api.post(f"{E}/assignments/{assignment_id}/attempts")
    return Redirect(f"/training/assignments/{assignment_id}/take", status_code=303)


@get("/training/assignments/{assignment_id:str}/take", name="training.take")
async def take_page(
    user: NamedDependency[Account], api: NamedDependency[Api], assignment_id: FromPath[str]
) -> Template:
    require(user, Role.REP)
    assignment = await _assignment(api, assignment_id)
    if assignment["status"] != "in_progress":
        return page("training/start.html", user, title=assignment["quiz_title"], assignment=assignment)
    attempt = await api.post(f"{E}/assignments/{assignment_id}/attempts")  # the open attempt, as it was shown
    return page("training/take.html", user, title=assignment["quiz_title"], assignment=assignment, attempt=attempt)


def _choice(value: str) -> int | str:
    """An option's position as shown (the form's value); anything else goes to the API as text, which it
    matches against the options or refuses."""
    return int(value) if value.isdecimal() else value


def answers_from_form(form: FormMultiDict) -> list[dict[str, Any]]:
    """The API's `SubmitIn.answers`: one per question answered; an unanswered question is left out (the API
    grades it as no answer)."""
    answers: list[dict[str, Any]] = []
    for entry in form.getall("question", []):
        qid, _, qtype = str(entry).partition("|")
        field = f"q-{qid}"
        if qtype == "single_choice":
            value = str(form.get(field) or "")
            if value:
                answers.append({"question_id": qid, "choice": _choice(value)})
        elif qtype == "multi_choice":
            picks = [_choice(str(v)) for v in form.getall(field, []) if str(v)]
            if picks:
                answers.append({"question_id": qid, "choices": picks})
        else:
            text = str(form.get(field) or "").strip()
            if text:
                answers.append({"question_id": qid, "text": text})
    return answers


@post("/training/attempts/{attempt_id:str}/submit", status_code=303)
async def submit_attempt(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    attempt_id: FromPath[str],
) -> Redirect:
    require(user, Role.REP)
    answers = answers_from_form(await request.form())
    try:
        await api.post(f"{E}/attempts/{attempt_id}/submit", json={"answers": answers})
    except ApiError as exc:
        if exc.code != "attempt_already_submitted":  # a second submit (another tab, a resend): show the grade
            raise
    return Redirect(f"/training/attempts/{attempt_id}?done=submitted", status_code=303)


@get("/training/attempts/{attempt_id:str}", name="training.result")
async def result_page(
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    attempt_id: FromPath[str],
    done: FromQuery[str | None] = None,
) -> Template:
    require(user, Role.REP)
    result = await api.get(f"{E}/me/attempts/{attempt_id}")
    return page(
        "training/result.html",
        user,
        title="Your result",
        notice=DONE.get(done or ""),
        result=result,
        correct=sum(1 for r in result["results"] if r["correct"]),
    )


async def _passage(
    request: Request[Any, Any, Any], user: Account, api: Api, source: str, back: str, chunk_id: str
) -> Response[Any]:
    """A cited passage: a page of its own, or (htmx) the fragment shown under the citation, errors included."""
    require(user, Role.REP)
    inline = bool(request.headers.get("hx-request"))
    try:
        passage = await api.get(f"{E}/me/{source}/passages/{chunk_id}")
    except ApiError as exc:
        if not inline:
            raise
        return page("training/_passage.html", user, title="Passage", passage=None, error=exc.message)
    template = "training/_passage.html" if inline else "training/passage.html"
    return page(template, user, title=passage["title"] or "Passage", passage=passage, back=back)


@get("/training/attempts/{attempt_id:str}/passages/{chunk_id:str}", name="training.passage")
async def passage_page(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    attempt_id: FromPath[str],
    chunk_id: FromPath[str],
) -> Response[Any]:
    """A passage cited in the rep's graded result."""
    return await _passage(request, user, api, f"attempts/{attempt_id}", f"/training/attempts/{attempt_id}", chunk_id)


@get("/training/reviews/{review_id:str}/passages/{chunk_id:str}", name="training.review_passage")
async def review_passage_page(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    review_id: FromPath[str],
    chunk_id: FromPath[str],
) -> Response[Any]:
    """A passage cited by one of the rep's review items."""
    return await _passage(request, user, api, f"reviews/{review_id}", "/training/reviews", chunk_id)


@get("/training/reviews", name="training.reviews")
async def reviews_page(
    user: NamedDependency[Account], api: NamedDependency[Api], done: FromQuery[str | None] = None
) -> Template:
    require(user, Role.REP)
    reviews = await api.get(f"{E}/me/reviews", {"limit": 50})
    return page(
        "training/reviews.html",
        user,
        title="Review queue",
        notice=DONE.get(done or ""),
        reviews=reviews,
        ratings=RATINGS,
    )


@post("/training/reviews/{review_id:str}", status_code=303)
async def rate_review(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api], review_id: FromPath[str]
) -> Redirect:
    require(user, Role.REP)
    form = await request.form()
    await api.post(f"{E}/me/reviews/{review_id}", json={"rating": str(form.get("rating") or "")})
    return Redirect("/training/reviews?done=rated", status_code=303)


ROUTES: list[object] = [
    training_home,
    start_attempt,
    take_page,
    submit_attempt,
    result_page,
    passage_page,
    review_passage_page,
    reviews_page,
    rate_review,
]
