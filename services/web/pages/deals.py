"""Pages: deals. A rep's deals, each with its status and meeting notes, and the next step to book before the
meeting ends; a manager's read-only view of every deal and the pipeline.

Everything goes through the deals API (`/pitch/v1/deals...`) as the signed-in user: which deals a user sees and
may change is the API's rule (reps their own; managers all of the org's, read-only), never this module's.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from services.core.auth import Role
from services.core.db import utcnow
from services.web.accounts import Account
from services.web.api import Api, ApiError
from services.web.forms import form_list, form_text
from services.web.session import page, require

DEAL_ROLES = (Role.REP, Role.MANAGER)
CLOSED = {"closed_won": "Closed won", "closed_lost": "Closed lost"}
SEGMENTS = {"smb": "SMB", "mid_market": "Mid-market", "enterprise": "Enterprise"}
STAKEHOLDER_ROWS = 3

DEAL_DONE = {
    "created": "Deal created. Log the first meeting's notes below.",
    "note": "Note saved. A next step with a date is agreed.",
    "note_flagged": "Note saved, but it agrees no next step with a date. Book one with the customer now.",
    "updated": "Deal updated.",
}


def _commas(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


async def _stage_names(api: Api) -> dict[str, dict[str, str]]:
    """Stage id -> name per segment, from the org's sales processes (closed stages in every segment)."""
    names: dict[str, dict[str, str]] = {}
    for process in await api.get("/pitch/v1/sales-processes"):
        names[process["segment"]] = {s["id"]: s["name"] for s in process["stages"]} | CLOSED
    return names


def _api_deal(deal_id: str, tail: str = "") -> str:
    """The deal's API path; the id is quoted, so an id from the URL stays one path segment."""
    return f"/pitch/v1/deals/{quote(deal_id, safe='')}{tail}"


def _can_write(user: Account, deal: dict[str, Any]) -> bool:
    """Whether to offer the note form: the API's own rule (the owner or an admin), so no form it would refuse."""
    return deal["owner"] == user.sub or Role.ADMIN in user.roles


class DealPages(Controller):
    path = "/deals"

    @get("/", name="deals.list")
    async def deals(self, user: NamedDependency[Account], api: NamedDependency[Api]) -> Response[Any]:
        require(user, *DEAL_ROLES)
        deals = await api.get("/pitch/v1/deals")
        pipeline = await api.get("/pitch/v1/deals/pipeline")
        # The list's "next step" column: the pipeline knows the date the latest note agreed, and if it passed.
        status = {d["id"]: d for s in pipeline["stages"] for d in s["deals"]}
        return page(
            "deals/list.html",
            user,
            title="Deals",
            deals=deals,
            status=status,
            stage_names=await _stage_names(api),
            segments=SEGMENTS,
            closed=CLOSED,
            sees_all=user.principal.has_any({Role.MANAGER, Role.ADMIN}),
            can_create=user.principal.has_any({Role.REP, Role.ADMIN}),
        )

    @get("/pipeline", name="deals.pipeline")
    async def pipeline(
        self,
        user: NamedDependency[Account],
        api: NamedDependency[Api],
        owner: FromQuery[str] = "",
        stale_days: FromQuery[str] = "",
    ) -> Response[Any]:
        require(user, *DEAL_ROLES)
        params = {"owner": owner.strip()[:200], "stale_days": stale_days.strip()[:3]}
        report = await api.get("/pitch/v1/deals/pipeline", params)
        names = await _stage_names(api)
        stage_names = {k: v for segment in names.values() for k, v in segment.items()}
        labels = [stage_names.get(s["stage"], s["stage"]) for s in report["stages"]]
        booked = [sum(1 for d in s["deals"] if "no_next_step" not in d["flags"]) for s in report["stages"]]
        missing = [sum(1 for d in s["deals"] if "no_next_step" in d["flags"]) for s in report["stages"]]
        chart = {
            "type": "bar",
            "data": {
                "labels": labels,
                "datasets": [
                    {"label": "Next step booked", "data": booked, "backgroundColor": "#2e7d32", "maxBarThickness": 72},
                    {"label": "No next step", "data": missing, "backgroundColor": "#c62828", "maxBarThickness": 72},
                ],
            },
            "options": {
                "animation": False,
                "responsive": True,
                "maintainAspectRatio": False,
                "scales": {
                    "x": {"stacked": True},
                    "y": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0}},
                },
            },
        }
        return page(
            "deals/pipeline.html",
            user,
            title="Pipeline",
            report=report,
            stage_names=stage_names,
            segments=SEGMENTS,
            chart=chart,
            owner=params["owner"],
            sees_all=user.principal.has_any({Role.MANAGER, Role.ADMIN}),
        )

    @get("/customers-say", name="deals.customers_say")
    async def customers_say(
        self,
        user: NamedDependency[Account],
        api: NamedDependency[Api],
        segment: FromQuery[str] = "",
        persona: FromQuery[str] = "",
    ) -> Response[Any]:
        """What customers say across the notes the user may read (a manager: the org's; a rep: their own)."""
        require(user, *DEAL_ROLES)
        params = {"segment": segment.strip()[:32], "persona": persona.strip()[:64]}
        report, personas = await asyncio.gather(
            api.get("/pitch/v1/deals/what-customers-say", params), api.get("/pitch/v1/personas")
        )
        return page(
            "deals/customers_say.html",
            user,
            title="What customers say",
            report=report,
            personas={p["id"]: p["name"] for p in personas},
            segments=SEGMENTS,
            segment=params["segment"],
            persona=params["persona"],
            # A frequent objection becomes a quiz item on the manager's new-quiz form (answer_objection).
            can_quiz=user.principal.has_any({Role.MANAGER, Role.ADMIN}),
            sees_all=user.principal.has_any({Role.MANAGER, Role.ADMIN}),
        )

    @get("/new", name="deals.new")
    async def new_deal(self, user: NamedDependency[Account], api: NamedDependency[Api]) -> Response[Any]:
        require(user, Role.REP)
        return await _new_deal_page(user, api, form=_empty_deal_form())

    @post("/new", status_code=303)
    async def create_deal(
        self, request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api]
    ) -> Response[Any]:
        require(user, Role.REP)
        form = _deal_entered(await request.form())
        try:
            created = await api.post("/pitch/v1/deals", json=_deal_body(form))
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            return await _new_deal_page(
                user, api, form=form, error=exc.message, errors=exc.field_messages(), status_code=exc.status
            )
        return Redirect(f"/deals/{created['id']}?done=created", status_code=303)

    @get("/{deal_id:str}", name="deals.deal")
    async def deal(
        self,
        user: NamedDependency[Account],
        api: NamedDependency[Api],
        deal_id: FromPath[str],
        done: FromQuery[str] = "",
        persona: FromQuery[str] = "",
    ) -> Response[Any]:
        require(user, *DEAL_ROLES)
        return await _deal_page(user, api, deal_id, persona=persona, notice=DEAL_DONE.get(done))

    @get("/{deal_id:str}/next-step", name="deals.next_step")
    async def next_step(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[Account],
        api: NamedDependency[Api],
        deal_id: FromPath[str],
        persona: FromQuery[str] = "",
    ) -> Response[Any]:
        """The proposed-next-step panel alone, framed for a persona (htmx swaps it in); a full page otherwise."""
        require(user, *DEAL_ROLES)
        if not request.headers.get("hx-request"):
            query = f"?{urlencode({'persona': persona[:64]})}" if persona else ""
            return Redirect(f"/deals/{quote(deal_id, safe='')}{query}", status_code=303)
        step = await api.get(_api_deal(deal_id, "/next-step"), {"persona": persona.strip()[:64]})
        personas = await api.get("/pitch/v1/personas")
        return page(
            "deals/_next_step.html",
            user,
            title="Next step",
            deal_id=deal_id,
            step=step,
            personas=personas,
            persona=persona,
        )

    @post("/{deal_id:str}/notes", status_code=303)
    async def add_note(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[Account],
        api: NamedDependency[Api],
        deal_id: FromPath[str],
    ) -> Response[Any]:
        require(user, Role.REP)
        form = await request.form()
        entered = {
            "meeting_date": form_text(form, "meeting_date"),
            "attendees": form_text(form, "attendees"),
            "text": form_text(form, "text"),
        }
        body = {
            "meeting_date": entered["meeting_date"] or None,
            "attendees": _commas(entered["attendees"]),
            "text": entered["text"],
        }
        try:
            note = await api.post(_api_deal(deal_id, "/notes"), json=body)
        except ApiError as exc:
            if exc.status in (401, 403, 404):
                raise
            return await _deal_page(
                user,
                api,
                deal_id,
                note_form=entered,
                error=exc.message,
                errors=exc.field_messages(),
                status_code=exc.status,
            )
        done = "note_flagged" if note["next_step_missing"] else "note"
        return Redirect(f"/deals/{quote(deal_id, safe='')}?done={done}#notes", status_code=303)

    @post("/{deal_id:str}/update", status_code=303)
    async def update_deal(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[Account],
        api: NamedDependency[Api],
        deal_id: FromPath[str],
    ) -> Response[Any]:
        """Stage, amount and close date as the deal moves; the rest of the deal is sent back as it is (the API
        replaces a deal whole)."""
        require(user, Role.REP)
        form = await request.form()
        deal = (await api.get(_api_deal(deal_id)))["deal"]
        body = {
            "account_name": deal["account_name"],
            "segment": deal["segment"],
            "stage": form_text(form, "stage") or deal["stage"],
            "stakeholders": [
                {"name": s["name"], "role": s.get("role"), "persona": s.get("persona")} for s in deal["stakeholders"]
            ],
            "competitors": deal["competitors"],
            "amount": form_text(form, "amount") or None,
            "close_date": form_text(form, "close_date") or None,
        }
        try:
            await api.put(_api_deal(deal_id), json=body)
        except ApiError as exc:
            if exc.status in (401, 403, 404):
                raise
            return await _deal_page(
                user,
                api,
                deal_id,
                error=exc.message,
                errors=exc.field_messages(),
                error_for="update",
                status_code=exc.status,
            )
        return Redirect(f"/deals/{quote(deal_id, safe='')}?done=updated", status_code=303)


def _empty_deal_form() -> dict[str, Any]:
    return {
        "account_name": "",
        "segment": "mid_market",
        "stage": "discovery",
        "stakeholders": [{"name": "", "role": "", "persona": ""} for _ in range(STAKEHOLDER_ROWS)],
        "competitors": "",
        "amount": "",
        "close_date": "",
    }


def _deal_entered(form: FormMultiDict) -> dict[str, Any]:
    """The new-deal form as typed (kept for a re-render on error); stakeholder rows are repeated fields."""
    names = form_list(form, "stakeholder_name", keep_empty=True)
    roles = form_list(form, "stakeholder_role", keep_empty=True) + [""] * len(names)
    personas = form_list(form, "stakeholder_persona", keep_empty=True) + [""] * len(names)
    rows = [{"name": name, "role": roles[i], "persona": personas[i]} for i, name in enumerate(names)]
    rows += [{"name": "", "role": "", "persona": ""} for _ in range(max(0, STAKEHOLDER_ROWS - len(rows)))]
    return {
        "account_name": form_text(form, "account_name"),
        "segment": form_text(form, "segment"),
        "stage": form_text(form, "stage"),
        "stakeholders": rows,
        "competitors": form_text(form, "competitors"),
        "amount": form_text(form, "amount"),
        "close_date": form_text(form, "close_date"),
    }


def _deal_body(form: dict[str, Any]) -> dict[str, Any]:
    """The API's `DealIn`. Amount and date go as typed: the API checks them and says what is wrong."""
    return {
        "account_name": form["account_name"],
        "segment": form["segment"],
        "stage": form["stage"],
        "stakeholders": [
            {"name": row["name"], "role": row["role"] or None, "persona": row["persona"] or None}
            for row in form["stakeholders"]
            if row["name"]
        ],
        "competitors": _commas(form["competitors"]),
        "amount": form["amount"] or None,
        "close_date": form["close_date"] or None,
    }


async def _new_deal_page(
    user: Account,
    api: Api,
    *,
    form: dict[str, Any],
    error: str | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    processes = await api.get("/pitch/v1/sales-processes")
    personas = await api.get("/pitch/v1/personas")
    return page(
        "deals/new.html",
        user,
        title="New deal",
        form=form,
        processes=processes,
        personas=personas,
        segments=SEGMENTS,
        error=error,
        errors=errors or [],
        status_code=status_code,
    )


async def _deal_page(
    user: Account,
    api: Api,
    deal_id: str,
    *,
    persona: str = "",
    notice: str | None = None,
    note_form: dict[str, Any] | None = None,
    error: str | None = None,
    errors: list[str] | None = None,
    error_for: str = "note",
    status_code: int = 200,
) -> Response[Any]:
    view = await api.get(_api_deal(deal_id), {"persona": persona.strip()[:64]})
    deal = view["deal"]
    names = await _stage_names(api)
    personas = await api.get("/pitch/v1/personas")
    latest = view["notes"][0] if view["notes"] else None
    agreed = latest["analysis"]["next_step_date"] if latest and not latest["next_step_missing"] else None
    return page(
        "deals/deal.html",
        user,
        title=deal["account_name"],
        view=view,
        deal=deal,
        deal_id=deal["id"],
        stage_name=names.get(deal["segment"], CLOSED).get(deal["stage"], deal["stage"]),
        stage_options=names.get(deal["segment"], CLOSED),
        segments=SEGMENTS,
        closed=deal["stage"] in CLOSED,
        latest=latest,
        # ISO dates compare as strings; the pipeline flags the same case (a dated step that has passed).
        step_passed=bool(agreed and agreed < utcnow().date().isoformat()),
        step=view["next_step"],
        personas=personas,
        persona_names={p["id"]: p["name"] for p in personas},
        persona=persona,
        can_write=_can_write(user, deal),
        note_form=note_form or {"meeting_date": utcnow().date().isoformat(), "attendees": "", "text": ""},
        notice=notice,
        error=error,
        errors=errors or [],
        error_for=error_for,
        status_code=status_code,
    )


ROUTES: list[object] = [DealPages]
