"""Pitch HTTP API under /pitch/v1: HTTP only; the logic lives in service.py and pipeline.py."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.core.auth import Principal, Role, requires
from services.core.embeddings import EmbeddingCache, get_embedder
from services.core.errors import Unprocessable, error_responses
from services.core.http import app_context
from services.pitch.deals.index import NoteIndex
from services.pitch.deals.notes import NoteAnalyser, load_exemplars
from services.pitch.deals.service import DealService
from services.pitch.pipeline import TalkTrackPipeline
from services.pitch.render import render_markdown
from services.pitch.schemas import PassageOut, PersonaIn, PersonaOut, TalkTrackIn, TalkTrackRequestOut
from services.pitch.service import PitchService

CURATORS = requires(Role.MANAGER, Role.ENGINEER)


def build_service(state: State) -> PitchService:
    ctx = app_context(state)
    service: PitchService | None = ctx.extras.get("pitch_service")
    if service is None:
        pipeline = TalkTrackPipeline(ctx.store, ctx.sessions, EmbeddingCache(get_embedder))
        service = PitchService(ctx.sessions, pipeline, ctx.store)
        # The deal service reads personas from the pitch service; talk tracks read deals through it.
        embed = EmbeddingCache(get_embedder).embed
        notes = ctx.settings.notes
        exemplars = load_exemplars(exclude=notes.exemplars_exclude.split(",")) if notes.exemplars else None
        analyser = NoteAnalyser(embed, exemplars)
        service.use_deals(DealService(ctx.sessions, analyser, service, NoteIndex(ctx.store, embed)))
        ctx.extras["pitch_service"] = service
    return service


def build_deal_service(state: State) -> DealService:
    deals = build_service(state).deals
    assert deals is not None  # build_service attaches it
    return deals


class PitchController(Controller):
    path = "/pitch/v1"
    tags = ["pitch"]
    dependencies = {"service": Provide(build_service, sync_to_thread=False)}

    @post("/talk-tracks", status_code=HTTP_200_OK, responses=error_responses(404))
    async def talk_track(
        self, request: Request[Principal, Any, Any], service: NamedDependency[PitchService], data: JSONBody[TalkTrackIn]
    ) -> Response[Any]:
        """A talk track for this buyer and deal: the features that matter to them, in their tone, every point
        cited to the source; competitor handling, discovery questions and a next step. `Accept: text/markdown`
        returns the same track for reading. Abstains (200, `abstained: true`) when the library cannot support it.

        With `deal_id` (a deal you can read; 404 otherwise): the deal's notes give the context, its objections get
        cited answers from the library, features shown in its earlier tracks are marked, and the next step comes
        from its sales process (`deal` in the answer). `stakeholder` picks the persona from the deal's
        stakeholders when `persona` is absent."""
        track, persona = await service.talk_track(request.user, data)
        if "text/markdown" in request.headers.get("accept", ""):
            return Response(render_markdown(track, persona.name), media_type="text/markdown; charset=utf-8")
        return Response(track)

    @get("/talk-tracks", responses=error_responses(422))
    async def talk_track_history(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[PitchService],
        limit: FromQuery[int] = 10,
    ) -> list[TalkTrackRequestOut]:
        """The talk tracks you asked for, newest first (`limit` 1..50, default 10): what you asked (persona,
        context, competitor, segment, deal) and which features each showed. The same request asked again is
        listed once, at the time you last asked it. Only your own requests, in your organisation."""
        if not 1 <= limit <= 50:
            raise Unprocessable("limit must be between 1 and 50")
        return await service.recent_requests(request.user, limit)

    @get("/passages/{chunk_id:str}", responses=error_responses(404))
    async def passage(
        self, request: Request[Principal, Any, Any], service: NamedDependency[PitchService], chunk_id: FromPath[str]
    ) -> PassageOut:
        """A cited passage (`citation.chunk_id` of a talk track's point): its text with the document's title,
        section, version and as-of date. 404 when it is not in your organisation's library or its document
        version is no longer stored."""
        return await service.passage(request.user, chunk_id)

    @get("/personas")
    async def personas(
        self, request: Request[Principal, Any, Any], service: NamedDependency[PitchService]
    ) -> list[PersonaOut]:
        """Built-in personas and your organisation's custom ones."""
        return await service.personas(request.user.org)

    @post("/personas", guards=[CURATORS], status_code=HTTP_201_CREATED, responses=error_responses(409))
    async def create_persona(
        self, request: Request[Principal, Any, Any], service: NamedDependency[PitchService], data: JSONBody[PersonaIn]
    ) -> PersonaOut:
        """A custom persona for your organisation (managers, engineers, admins)."""
        return await service.create_persona(request.user, data)

    @put("/personas/{persona_id:str}", guards=[CURATORS])
    async def update_persona(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[PitchService],
        persona_id: FromPath[str],
        data: JSONBody[PersonaIn],
    ) -> PersonaOut:
        return await service.update_persona(request.user, persona_id, data)

    @delete("/personas/{persona_id:str}", guards=[CURATORS], status_code=HTTP_204_NO_CONTENT)
    async def delete_persona(
        self, request: Request[Principal, Any, Any], service: NamedDependency[PitchService], persona_id: FromPath[str]
    ) -> None:
        await service.delete_persona(request.user, persona_id)


ROUTES = [PitchController]
