"""Pages: enablement for managers. Generate a quiz over a slice of the material and read the quality gate's
report; edit, drop and regenerate draft items; publish; assign to reps; read a rep's answers and regrade one;
reports (the readiness matrix drawn as a chart) with CSV downloads.

Every read and write goes through the enablement API as the signed-in manager; the only local read is the web
app's own user list (which reps can be picked, and their display names).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from services.core.auth import Role
from services.web.accounts import Account
from services.web.api import Api, ApiError
from services.web.session import accounts, page, require

Q = "/enablement/v1/quizzes"
QUESTION_TYPES = (
    ("single_choice", "Single choice"),
    ("multi_choice", "Multiple choice"),
    ("short_answer", "Short answer"),
)
# GeneratorKind in services/enablement/schemas.py, with what each asks.
GENERATORS = (
    ("which_feature", "Which feature does this"),
    ("cloze_fact", "Fill in a fact"),
    ("where_we_win", "Where we win against a competitor"),
    ("persona_lead", "What to lead with for a persona"),
    ("buyer_phrasing", "How this buyer says it"),
    ("explain_feature", "Explain (short answer)"),
    ("be_ready_for", "Limitation to disclose"),
    ("answer_objection", "Answer an objection (short answer)"),
)
DOC_KINDS = ("feature", "competitor", "case_study", "objection")
DONE = {
    "created": "Quiz generated. Review its items, then publish it.",
    "edited": "Item saved and checked again.",
    "dropped": "Item dropped: it stays on record and is never asked.",
    "regenerated": "Item replaced by a new one from the same generator and source.",
    "published": "Published: the quiz no longer changes. Assign it to reps below.",
    "assigned": "Assigned. The reps see it on their Training page.",
    "discarded": "Draft discarded.",
    "revised": "A new draft version was created from the published quiz.",
    "regraded": "Regraded. The attempt's score, pass and certification follow the new credit.",
}
REPORTS = ("completion", "scores", "overdue", "items", "readiness")
# Colour-blind-safe (Okabe-Ito) bar colours for the readiness chart, one per rep.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _notice(done: str | None) -> str | None:
    return DONE.get(done or "")


async def _people(request: Request[Any, Any, Any], user: Account) -> dict[str, Account]:
    """The org's web users by API id (`sub`): assignees are shown by name."""
    return {a.sub: a for a in await accounts(request).list_users(user.org)}


def _reps(people: Mapping[str, Account]) -> list[Account]:
    return sorted((a for a in people.values() if Role.REP in a.roles and not a.disabled), key=lambda a: a.name.lower())


# --- quizzes -------------------------------------------------------------------------------------------------


@get("/manager", name="manager.home")
async def manager_home(
    user: NamedDependency[Account], api: NamedDependency[Api], done: FromQuery[str | None] = None
) -> Template:
    require(user, Role.MANAGER)
    quizzes = await api.get(Q)
    return page(
        "manager/index.html",
        user,
        title="Enablement",
        notice=_notice(done),
        drafts=[q for q in quizzes if q["status"] == "draft"],
        published=[q for q in quizzes if q["status"] != "draft"],
    )


async def _new_form(api: Api, user: Account, *, values: Mapping[str, Any], error: ApiError | None = None) -> Template:
    try:
        personas = [(p["id"], p["name"]) for p in await api.get("/pitch/v1/personas")]
    except ApiError:  # the pitch service is away: persona items cannot be generated now anyway
        personas = []
    return page(
        "manager/new.html",
        user,
        title="New quiz",
        status_code=error.status if error else 200,
        values=values,
        error=error.message if error else None,
        field_errors=error.field_messages() if error else [],
        personas=personas,
        doc_kinds=DOC_KINDS,
        question_types=QUESTION_TYPES,
        generators=GENERATORS,
    )


@get("/manager/quizzes/new", name="manager.new")
async def new_quiz_page(
    user: NamedDependency[Account], api: NamedDependency[Api], objection: FromQuery[str] = ""
) -> Template:
    """`?objection=` (from "What customers say") fills the form for one answer_objection item on it."""
    require(user, Role.MANAGER)
    values: dict[str, Any] = {"count": "10", "types": [], "kinds": [], "objections": ""}
    said = " ".join(objection.split())[:300]
    if said:
        values |= {
            "title": "Objections from the field",
            "objections": said,
            "count": "1",
            "kinds": ["answer_objection"],
        }
    return await _new_form(api, user, values=values)


def _form_values(form: FormMultiDict) -> dict[str, Any]:
    return {
        "title": str(form.get("title") or ""),
        "kind": str(form.get("kind") or ""),
        "competitor": str(form.get("competitor") or ""),
        "persona": str(form.get("persona") or ""),
        "external_ids": str(form.get("external_ids") or ""),
        "objections": str(form.get("objections") or ""),
        "count": str(form.get("count") or ""),
        "types": [str(t) for t in form.getall("types", [])],
        "kinds": [str(k) for k in form.getall("kinds", [])],
    }


def generate_spec(values: Mapping[str, Any]) -> dict[str, Any]:
    """The API's `GenerateSpec` from the form: empty fields are left out; the API checks every value."""
    spec: dict[str, Any] = {k: values[k].strip() for k in ("kind", "competitor", "persona") if values[k].strip()}
    ids = [line.strip() for line in values["external_ids"].replace(",", "\n").splitlines() if line.strip()]
    if ids:
        spec["external_ids"] = ids
    objections = [line.strip() for line in values["objections"].splitlines() if line.strip()]
    if objections:
        spec["objections"] = objections
    if values["count"].strip():
        spec["count"] = values["count"].strip()
    if values["types"]:
        spec["types"] = values["types"]
    if values["kinds"]:
        spec["kinds"] = values["kinds"]
    return spec


@post("/manager/quizzes/new", name="manager.create", status_code=303)
async def create_quiz(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api]
) -> Response[Any]:
    require(user, Role.MANAGER)
    values = _form_values(await request.form())
    try:
        quiz = await api.post(Q, json={"title": values["title"], "generate": generate_spec(values)})
    except ApiError as exc:
        return await _new_form(api, user, values=values, error=exc)
    return Redirect(f"/manager/quizzes/{quiz['id']}?done=created", status_code=303)


async def _quiz_page(
    request: Request[Any, Any, Any],
    user: Account,
    api: Api,
    quiz_id: str,
    *,
    done: str | None = None,
    error: ApiError | None = None,
    item_id: str | None = None,
    item_values: Mapping[str, Any] | None = None,
    assign_values: Mapping[str, Any] | None = None,
) -> Template:
    """The quiz with keys and the gate's report; `error` (with `item_id` for one item, else the assign form or the
    quiz's own actions) is shown where it happened, with the API's status."""
    quiz = await api.get(f"{Q}/{quiz_id}")
    people = await _people(request, user)
    assignments = await api.get("/enablement/v1/assignments", {"quiz_id": quiz_id}) if quiz["status"] != "draft" else []
    active = [q for q in quiz["questions"] if q["status"] == "active"]
    edits = {q["id"]: edit_form(q) for q in active} if quiz["status"] == "draft" else {}
    if item_id in edits and item_values is not None:
        edits[item_id] = dict(item_values)
    return page(
        "manager/quiz.html",
        user,
        title=quiz["title"],
        status_code=error.status if error else 200,
        notice=_notice(done),
        quiz=quiz,
        active=len(active),
        edits=edits,
        reps=_reps(people),
        names={sub: a.name for sub, a in people.items()},
        assignments=assignments,
        error=error.message if error else None,
        field_errors=error.field_messages() if error else [],
        error_item=item_id,
        error_place="item" if item_id else ("assign" if assign_values is not None else ("quiz" if error else None)),
        assign=assign_values or {"pass_mark": "70", "max_attempts": "3", "assignees": [], "due_date": ""},
    )


MAX_OPTIONS = 8  # AuthoredQuestion.options


def edit_form(q: Mapping[str, Any]) -> dict[str, Any]:
    """An item's edit form as stored, with one empty option slot to add an option."""
    options = list(q["options"] or [])
    return {
        "prompt": q["prompt"],
        "options": options + ([""] if q["options"] is not None and len(options) < MAX_OPTIONS else []),
        "keys": list(q["answers"] or []),
        "reference_answer": q["reference_answer"] or "",
        "key_points": "\n".join(k["text"] for k in q["key_points"] or []),
        "explanation": q["explanation"] or "",
    }


def submitted_edit(form: FormMultiDict) -> dict[str, Any]:
    """The edit form as the manager sent it: shown again, unchanged, when the API refuses it."""
    return {
        "prompt": str(form.get("prompt") or ""),
        "options": [str(o) for o in form.getall("option", [])],
        "keys": [int(k) for k in form.getall("key", []) if str(k).isdecimal()],
        "reference_answer": str(form.get("reference_answer") or ""),
        "key_points": str(form.get("key_points") or ""),
        "explanation": str(form.get("explanation") or ""),
    }


@get("/manager/quizzes/{quiz_id:str}", name="manager.quiz")
async def quiz_page(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    quiz_id: FromPath[str],
    done: FromQuery[str | None] = None,
) -> Template:
    require(user, Role.MANAGER)
    return await _quiz_page(request, user, api, quiz_id, done=done)


def question_patch(form: FormMultiDict, qtype: str) -> dict[str, Any]:
    """The API's `QuestionPatch` from the edit form: options one field each, keys as option positions."""
    patch: dict[str, Any] = {"prompt": str(form.get("prompt") or "")}
    explanation = str(form.get("explanation") or "").strip()
    if explanation:
        patch["explanation"] = explanation
    if qtype == "short_answer":
        patch["reference_answer"] = str(form.get("reference_answer") or "")
        patch["key_points"] = [p.strip() for p in str(form.get("key_points") or "").splitlines() if p.strip()]
        return patch
    # Options left empty are removed; keys follow their option to its new position.
    raw = [str(o).strip() for o in form.getall("option", [])]
    keyed = {str(k) for k in form.getall("key", [])}
    options: list[str] = []
    keys: list[int] = []
    for i, text in enumerate(raw):
        if text:
            if str(i) in keyed:
                keys.append(len(options))
            options.append(text)
    patch["options"] = options
    if qtype == "single_choice":
        patch["answer"] = keys[0] if len(keys) == 1 else None
    else:
        patch["answers"] = keys or None
    return patch


@post("/manager/quizzes/{quiz_id:str}/questions/{question_id:str}/edit", status_code=303)
async def edit_question(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    quiz_id: FromPath[str],
    question_id: FromPath[str],
) -> Response[Any]:
    require(user, Role.MANAGER)
    form = await request.form()
    try:
        await api.patch(
            f"{Q}/{quiz_id}/questions/{question_id}", json=question_patch(form, str(form.get("type") or ""))
        )
    except ApiError as exc:
        return await _quiz_page(
            request, user, api, quiz_id, error=exc, item_id=question_id, item_values=submitted_edit(form)
        )
    return Redirect(f"/manager/quizzes/{quiz_id}?done=edited#q-{question_id}", status_code=303)


PAGE = "/manager/quizzes"


async def _quiz_action(
    request: Request[Any, Any, Any],
    user: Account,
    api: Api,
    quiz_id: str,
    call: Awaitable[Any],
    then: Callable[[Any], str],
    item_id: str | None = None,
) -> Response[Any]:
    """One API call of a quiz page's button: on success, to `then(answer)`; refused, the quiz page again with
    the API's reason (beside the item `item_id` when it names one)."""
    try:
        answer = await call
    except ApiError as exc:
        return await _quiz_page(request, user, api, quiz_id, error=exc, item_id=item_id)
    return Redirect(then(answer), status_code=303)


@post("/manager/quizzes/{quiz_id:str}/questions/{question_id:str}/drop", status_code=303)
async def drop_question(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    quiz_id: FromPath[str],
    question_id: FromPath[str],
) -> Response[Any]:
    require(user, Role.MANAGER)
    call = api.delete(f"{Q}/{quiz_id}/questions/{question_id}")
    return await _quiz_action(
        request, user, api, quiz_id, call, lambda _: f"{PAGE}/{quiz_id}?done=dropped", question_id
    )


@post("/manager/quizzes/{quiz_id:str}/questions/{question_id:str}/regenerate", status_code=303)
async def regenerate_question(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    quiz_id: FromPath[str],
    question_id: FromPath[str],
) -> Response[Any]:
    require(user, Role.MANAGER)
    call = api.post(f"{Q}/{quiz_id}/questions/{question_id}/regenerate")
    done = f"{PAGE}/{quiz_id}?done=regenerated"
    return await _quiz_action(request, user, api, quiz_id, call, lambda _: done, question_id)


@post("/manager/quizzes/{quiz_id:str}/publish", status_code=303)
async def publish_quiz(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api], quiz_id: FromPath[str]
) -> Response[Any]:
    require(user, Role.MANAGER)
    call = api.post(f"{Q}/{quiz_id}/publish")
    return await _quiz_action(request, user, api, quiz_id, call, lambda _: f"{PAGE}/{quiz_id}?done=published#assign")


@post("/manager/quizzes/{quiz_id:str}/discard", status_code=303)
async def discard_quiz(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api], quiz_id: FromPath[str]
) -> Response[Any]:
    require(user, Role.MANAGER)
    return await _quiz_action(
        request, user, api, quiz_id, api.delete(f"{Q}/{quiz_id}"), lambda _: "/manager?done=discarded"
    )


@post("/manager/quizzes/{quiz_id:str}/revise", status_code=303)
async def revise_quiz(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api], quiz_id: FromPath[str]
) -> Response[Any]:
    require(user, Role.MANAGER)
    call = api.post(f"{Q}/{quiz_id}/revise")
    return await _quiz_action(request, user, api, quiz_id, call, lambda draft: f"{PAGE}/{draft['id']}?done=revised")


def assignment_body(quiz_id: FromPath[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """The API's `AssignmentIn`: a due date is due at the end of that day, UTC. The API checks every value."""
    date = values["due_date"].strip()
    return {
        "quiz_id": quiz_id,
        "assignees": values["assignees"],
        "due_at": f"{date}T23:59:59Z" if date else None,
        "pass_mark": values["pass_mark"].strip() or None,
        "max_attempts": values["max_attempts"].strip() or None,
    }


@post("/manager/quizzes/{quiz_id:str}/assign", status_code=303)
async def assign_quiz(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api], quiz_id: FromPath[str]
) -> Response[Any]:
    require(user, Role.MANAGER)
    form = await request.form()
    values = {
        "assignees": [str(a) for a in form.getall("assignees", [])],
        "due_date": str(form.get("due_date") or ""),
        "pass_mark": str(form.get("pass_mark") or ""),
        "max_attempts": str(form.get("max_attempts") or ""),
    }
    try:
        await api.post("/enablement/v1/assignments", json=assignment_body(quiz_id, values))
    except ApiError as exc:
        return await _quiz_page(request, user, api, quiz_id, error=exc, assign_values=values)
    return Redirect(f"/manager/quizzes/{quiz_id}?done=assigned#assignments", status_code=303)


# --- one attempt: answers, the grader's working, regrade --------------------------------------------------------


def answer_views(detail: Mapping[str, Any], quiz: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each answer beside its question: what the rep chose or wrote, in words, and the key."""
    questions = {q["id"]: q for q in quiz["questions"]}
    views = []
    for answer in detail["answers"]:
        q = questions.get(answer["question_id"], {})
        options = q.get("options") or []
        chosen = answer["response"].get("choices")
        views.append(
            {
                **answer,
                "question": q,
                "chosen": [options[i] for i in chosen if 0 <= i < len(options)] if chosen is not None else None,
                "text": answer["response"].get("text"),
                "keys": [options[i] for i in q.get("answers") or [] if 0 <= i < len(options)],
            }
        )
    return views


async def _attempt_page(
    request: Request[Any, Any, Any],
    user: Account,
    api: Api,
    attempt_id: str,
    *,
    done: str | None = None,
    error: ApiError | None = None,
    item_id: str | None = None,
) -> Template:
    detail = await api.get(f"/enablement/v1/attempts/{attempt_id}")
    assignment = next(
        (a for a in await api.get("/enablement/v1/assignments") if a["id"] == detail["assignment_id"]), None
    )
    if assignment is None:  # the attempt was found, so its assignment is in this org
        raise ApiError(404, "assignment_not_found", f"no assignment {detail['assignment_id']} in your organisation")
    quiz = await api.get(f"{Q}/{assignment['quiz_id']}")
    people = await _people(request, user)
    return page(
        "manager/attempt.html",
        user,
        title=f"Attempt {detail['number']}: {quiz['title']}",
        status_code=error.status if error else 200,
        notice=_notice(done),
        detail=detail,
        assignment=assignment,
        quiz=quiz,
        answers=answer_views(detail, quiz),
        rep=people[assignment["assignee"]].name if assignment["assignee"] in people else assignment["assignee"],
        error=error.message if error else None,
        field_errors=error.field_messages() if error else [],
        error_item=item_id,
    )


@get("/manager/attempts/{attempt_id:str}", name="manager.attempt")
async def attempt_page(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    attempt_id: FromPath[str],
    done: FromQuery[str | None] = None,
) -> Template:
    require(user, Role.MANAGER)
    return await _attempt_page(request, user, api, attempt_id, done=done)


@post("/manager/attempts/{attempt_id:str}/answers/{question_id:str}/regrade", status_code=303)
async def regrade_answer(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    attempt_id: FromPath[str],
    question_id: FromPath[str],
) -> Response[Any]:
    require(user, Role.MANAGER)
    form = await request.form()
    body = {"credit": str(form.get("credit") or "").strip() or None, "reason": str(form.get("reason") or "")}
    try:
        await api.post(f"/enablement/v1/attempts/{attempt_id}/answers/{question_id}/override", json=body)
    except ApiError as exc:
        return await _attempt_page(request, user, api, attempt_id, error=exc, item_id=question_id)
    return Redirect(f"/manager/attempts/{attempt_id}?done=regraded#a-{question_id}", status_code=303)


# --- reports -------------------------------------------------------------------------------------------------


def _cell(cell: Mapping[str, Any] | None) -> float | None:
    return cell["score"] if cell else None


def readiness_columns(report: Mapping[str, Any], persona_names: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(group, key, label) for each readiness column: overall, then each persona, then each competitor."""
    return [
        ("overall", "overall", "Overall"),
        *(("personas", p, persona_names.get(p, p)) for p in report["personas"]),
        *(("competitors", c, f"vs {c.title()}") for c in report["competitors"]),
    ]


def readiness_rows(report: Mapping[str, Any], columns: Iterable[tuple[str, str, str]]) -> list[list[float | None]]:
    cols = list(columns)
    return [
        [_cell(rep["overall"]) if group == "overall" else _cell(rep[group].get(key)) for group, key, _ in cols]
        for rep in report["reps"]
    ]


def readiness_chart(
    report: Mapping[str, Any], columns: list[tuple[str, str, str]], names: Mapping[str, str]
) -> dict[str, Any]:
    """A grouped bar chart: one group per persona and competitor, one bar per rep (score in percent)."""
    rows = readiness_rows(report, columns)
    return {
        "type": "bar",
        "data": {
            "labels": [label for _, _, label in columns],
            "datasets": [
                {
                    "label": names.get(rep["user"], rep["user"]),
                    "data": row,
                    "backgroundColor": PALETTE[i % len(PALETTE)],
                }
                for i, (rep, row) in enumerate(zip(report["reps"], rows, strict=True))
            ],
        },
        "options": {
            "animation": False,
            "responsive": True,
            "maintainAspectRatio": False,
            "scales": {"y": {"min": 0, "max": 100, "title": {"display": True, "text": "Score (%)"}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


async def _persona_names(api: Api) -> dict[str, str]:
    try:
        return {p["id"]: p["name"] for p in await api.get("/pitch/v1/personas")}
    except ApiError:  # labels fall back to the persona ids
        return {}


@get("/manager/reports", name="manager.reports")
async def reports_page(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    quiz_id: FromQuery[str | None] = None,
) -> Template:
    require(user, Role.MANAGER)
    # The reports do not depend on each other: asked at once.
    people, all_quizzes, completion, scores, overdue, readiness, persona_names = await asyncio.gather(
        _people(request, user),
        api.get(Q),
        api.get("/enablement/v1/reports/completion"),
        api.get("/enablement/v1/reports/scores"),
        api.get("/enablement/v1/reports/overdue"),
        api.get("/enablement/v1/reports/readiness"),
        _persona_names(api),
    )
    names = {sub: a.name for sub, a in people.items()}
    quizzes = [q for q in all_quizzes if q["status"] != "draft"]
    chosen = quiz_id or (quizzes[0]["id"] if quizzes else None)
    items = await api.get("/enablement/v1/reports/items", {"quiz_id": chosen}) if chosen else None
    columns = readiness_columns(readiness, persona_names)
    return page(
        "manager/reports.html",
        user,
        title="Enablement reports",
        names=names,
        quizzes=quizzes,
        chosen=chosen,
        completion=completion,
        scores=scores,
        overdue=overdue,
        items=items,
        readiness=readiness,
        columns=columns,
        readiness_rows=list(zip(readiness["reps"], readiness_rows(readiness, columns), strict=True)),
        chart=readiness_chart(readiness, columns, names) if readiness["reps"] else None,
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading quote (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def to_csv(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_safe(v) for v in row] for row in rows)
    return out.getvalue()


ASSIGNMENT_HEADER = [
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


def _assignment_rows(assignments: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> list[list[Any]]:
    return [
        [
            a["quiz_id"],
            a["quiz_title"],
            a["assignee"],
            names.get(a["assignee"], ""),
            a["due_at"],
            a["status"],
            a["attempts_used"],
            a["max_attempts"],
            a["best_score"],
            a["pass_mark"],
            a["passed"],
            a["overdue"],
        ]
        for a in assignments
    ]


async def report_csv(api: Api, name: str, names: Mapping[str, str], quiz_id: str | None) -> str:
    """One report as CSV, from the same API route the page reads."""
    if name in ("completion", "overdue"):
        report = await api.get(f"/enablement/v1/reports/{name}")
        return to_csv(ASSIGNMENT_HEADER, _assignment_rows(report["assignments"], names))
    if name == "scores":
        rows: list[list[Any]] = []
        for s in await api.get("/enablement/v1/reports/scores"):
            who = [s["quiz_id"], s["quiz_title"], s["assignee"], names.get(s["assignee"], ""), s["pass_mark"]]
            attempts = s["attempts"] or [None]
            for a in attempts:
                detail = [a["number"], a["score"], a["passed"], a["late"], a["submitted_at"]] if a else [None] * 5
                rows.append([*who, *detail, s["best"]])
        header = ["quiz_id", "quiz_title", "assignee", "name", "pass_mark", "attempt", "score", "passed", "late"]
        return to_csv([*header, "submitted_at", "best"], rows)
    if name == "items":
        report = await api.get("/enablement/v1/reports/items", {"quiz_id": quiz_id})
        fields = ["position", "question_id", "type", "origin", "status", "answered", "facility", "discrimination"]
        return to_csv(
            ["quiz_id", *fields, "overridden", "prompt"],
            ([report["quiz_id"], *(i[f] for f in fields), i["overridden"], i["prompt"]] for i in report["items"]),
        )
    report = await api.get("/enablement/v1/reports/readiness")
    columns = readiness_columns(report, {})
    header = ["user", "name", *(key if g == "overall" else f"{g[:-1]}:{key}" for g, key, _ in columns)]
    return to_csv(
        [*header, "answered", "certifications", "needs_renewal"],
        (
            [
                rep["user"],
                names.get(rep["user"], ""),
                *row,
                rep["overall"]["answered"] if rep["overall"] else 0,
                rep["certifications"],
                rep["needs_renewal"],
            ]
            for rep, row in zip(report["reps"], readiness_rows(report, columns), strict=True)
        ),
    )


@get("/manager/reports/{filename:str}", name="manager.report_csv")
async def report_download(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    filename: FromPath[str],
    quiz_id: FromQuery[str | None] = None,
) -> Response[str]:
    require(user, Role.MANAGER)
    name, _, ext = filename.partition(".")
    if ext != "csv" or name not in REPORTS:
        raise ApiError(404, "not_found", f"no report {filename}; the reports are {', '.join(REPORTS)} (.csv)")
    if name == "items" and not quiz_id:
        raise ApiError(400, "bad_request", "the item analysis is per quiz: add ?quiz_id=...")
    people = await _people(request, user)
    body = await report_csv(api, name, {sub: a.name for sub, a in people.items()}, quiz_id)
    return Response(
        content=body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


ROUTES: list[object] = [
    manager_home,
    new_quiz_page,
    create_quiz,
    quiz_page,
    edit_question,
    drop_question,
    regenerate_question,
    publish_quiz,
    discard_quiz,
    revise_quiz,
    assign_quiz,
    attempt_page,
    regrade_answer,
    reports_page,
    report_download,
]
