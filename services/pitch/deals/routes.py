"""Deals HTTP API under /pitch/v1: deals, their notes, the pipeline, sales processes. HTTP only."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.core.auth import Principal, Role, requires
from services.core.errors import error_responses
from services.pitch.deals.schemas import (
    CustomersSay,
    DealIn,
    DealOut,
    DealView,
    NoteIn,
    NoteOut,
    Pipeline,
    ProposedNextStep,
    SalesProcessIn,
    SalesProcessOut,
)
from services.pitch.deals.service import DealService, parse_segment
from services.pitch.routes import build_deal_service

MANAGERS = requires(Role.MANAGER)
# Reps asking for another rep's deals, managers writing a rep's deal.
FORBIDDEN = error_responses(403)
PersonaQuery = Annotated[
    str | None, QueryParameter(max_length=64, description="frame the step for this persona (default: from the deal)")
]


class DealController(Controller):
    path = "/pitch/v1"
    tags = ["deals"]
    dependencies = {"deals": Provide(build_deal_service, sync_to_thread=False)}

    @post("/deals", status_code=HTTP_201_CREATED, responses=FORBIDDEN)
    async def create_deal(
        self, request: Request[Principal, Any, Any], deals: NamedDependency[DealService], data: JSONBody[DealIn]
    ) -> DealOut:
        """A deal owned by you (managers and admins may name another `owner`). `stage` must be a stage of the
        segment's sales process; stakeholders' personas must exist."""
        return await deals.create_deal(request.user, data)

    @get("/deals", responses=FORBIDDEN)
    async def list_deals(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        owner: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> list[DealOut]:
        """Your deals; a manager's or admin's: every deal of the organisation (or one `owner`'s)."""
        return await deals.list_deals(request.user, owner)

    @get("/deals/pipeline", responses=FORBIDDEN)
    async def pipeline(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        owner: Annotated[str | None, QueryParameter(max_length=200)] = None,
        stale_days: Annotated[int, QueryParameter(ge=1, le=365, description="no meeting in this many days")] = 14,
    ) -> Pipeline:
        """Deals by stage with their last meeting and whether a dated next step is agreed; deals with no next
        step or no meeting in `stale_days`. Managers and admins: any rep (`owner`) or all; reps: their own."""
        return await deals.pipeline(request.user, owner, stale_days)

    @get("/deals/what-customers-say", responses=FORBIDDEN)
    async def what_customers_say(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        segment: Annotated[str | None, QueryParameter(description="smb, mid_market or enterprise")] = None,
        persona: Annotated[str | None, QueryParameter(max_length=64, description="notes of meetings with it")] = None,
        owner: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> CustomersSay:
        """The most frequent pains, objections, competitors and systems across the meeting notes you may read (a
        manager or admin: the organisation's; a rep: their own deals), grouped by meaning (pains, objections) or
        name, by segment and persona, each with the notes behind it."""
        return await deals.what_customers_say(request.user, parse_segment(segment) if segment else None, persona, owner)

    @get("/deals/{deal_id:str}")
    async def deal(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        deal_id: FromPath[str],
        persona: PersonaQuery = None,
    ) -> DealView:
        """The deal, its notes with what they say (cited), the notes without a dated next step, and the
        proposed next step."""
        return await deals.deal_view(request.user, deal_id, persona)

    @put("/deals/{deal_id:str}", responses=FORBIDDEN)
    async def update_deal(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        deal_id: FromPath[str],
        data: JSONBody[DealIn],
    ) -> DealOut:
        """Replace the deal (owner or admin)."""
        return await deals.update_deal(request.user, deal_id, data)

    @delete("/deals/{deal_id:str}", status_code=HTTP_204_NO_CONTENT, responses=FORBIDDEN)
    async def delete_deal(
        self, request: Request[Principal, Any, Any], deals: NamedDependency[DealService], deal_id: FromPath[str]
    ) -> None:
        """Delete the deal and its notes (owner or admin)."""
        await deals.delete_deal(request.user, deal_id)

    @get("/deals/{deal_id:str}/next-step")
    async def next_step(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        deal_id: FromPath[str],
        persona: PersonaQuery = None,
    ) -> ProposedNextStep | None:
        """The proposed next step (null for a closed deal)."""
        return await deals.next_step(request.user, deal_id, persona)

    @post("/deals/{deal_id:str}/notes", status_code=HTTP_201_CREATED, responses=FORBIDDEN)
    async def add_note(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        deal_id: FromPath[str],
        data: JSONBody[NoteIn],
    ) -> NoteOut:
        """Log a meeting's notes (owner or admin); analysed on save. `next_step_missing` is true when no next
        step with a date was agreed."""
        return await deals.add_note(request.user, deal_id, data)

    @get("/deals/{deal_id:str}/notes")
    async def notes(
        self, request: Request[Principal, Any, Any], deals: NamedDependency[DealService], deal_id: FromPath[str]
    ) -> list[NoteOut]:
        """The deal's notes, newest meeting first."""
        return await deals.notes(request.user, deal_id)

    @get("/deals/{deal_id:str}/notes/{note_id:str}")
    async def note(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        deal_id: FromPath[str],
        note_id: FromPath[str],
    ) -> NoteOut:
        return await deals.note(request.user, deal_id, note_id)

    @get("/sales-processes")
    async def processes(
        self, request: Request[Principal, Any, Any], deals: NamedDependency[DealService]
    ) -> list[SalesProcessOut]:
        """The sales process of each segment: your organisation's where a manager set one, else the default."""
        return await deals.processes(request.user.org)

    @get("/sales-processes/{segment:str}")
    async def process(
        self, request: Request[Principal, Any, Any], deals: NamedDependency[DealService], segment: FromPath[str]
    ) -> SalesProcessOut:
        return await deals.process(request.user.org, parse_segment(segment))

    @put("/sales-processes/{segment:str}", guards=[MANAGERS], responses=error_responses(409))
    async def put_process(
        self,
        request: Request[Principal, Any, Any],
        deals: NamedDependency[DealService],
        segment: FromPath[str],
        data: JSONBody[SalesProcessIn],
    ) -> SalesProcessOut:
        """Replace the segment's process for your organisation (managers and admins)."""
        return await deals.put_process(request.user, parse_segment(segment), data)

    @delete("/sales-processes/{segment:str}", guards=[MANAGERS], status_code=HTTP_204_NO_CONTENT)
    async def reset_process(
        self, request: Request[Principal, Any, Any], deals: NamedDependency[DealService], segment: FromPath[str]
    ) -> None:
        """Back to the built-in default for this segment."""
        await deals.reset_process(request.user, parse_segment(segment))


ROUTES = [DealController]
