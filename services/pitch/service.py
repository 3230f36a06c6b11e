"""Pitch logic: personas (built-in and per-organisation) and talk tracks. No HTTP types here."""

from __future__ import annotations

import asyncio
import time
import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import transaction, utcnow
from services.core.errors import Conflict, NotFound, Unprocessable
from services.core.vectorstore import PointFilter, VectorStore
from services.pitch.deals.schemas import DealContext, ProposedNextStep
from services.pitch.deals.service import DealService
from services.pitch.models import CustomPersona, TalkTrackRequest
from services.pitch.personas import built_in, from_custom
from services.pitch.pipeline import DealInput, RetrievalOptions, TalkTrackPipeline
from services.pitch.schemas import (
    PassageOut,
    PersonaIn,
    PersonaOut,
    Segment,
    TalkTrack,
    TalkTrackIn,
    TalkTrackRequestOut,
)

# Pains and goals from a deal's notes joined to the context (newest notes first): each is a need of its own, and
# a need weighs 1/sqrt(n), so many more would flatten the deal into its average.
MAX_DEAL_PAINS = 8
# Log rows read to find a rep's last (at most 50) distinct requests: the same request asked again (as JSON, then
# as markdown, or re-run for a download) is one entry, and 500 rows hold 50 distinct ones unless a rep repeats a
# single request hundreds of times in a row.
HISTORY_SCAN = 500

log = structlog.get_logger(__name__)


class UnknownPersona(Unprocessable):
    code = "unknown_persona"


class PersonaNotFound(NotFound):
    code = "persona_not_found"


class UnknownStakeholder(Unprocessable):
    code = "unknown_stakeholder"


class PassageNotFound(NotFound):
    code = "passage_not_found"


class PitchService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], pipeline: TalkTrackPipeline, store: VectorStore
    ) -> None:
        self._sessions = sessions
        self._pipeline = pipeline
        self._store = store
        self._deals: DealService | None = None

    @property
    def deals(self) -> DealService | None:
        return self._deals

    def use_deals(self, deals: DealService) -> None:
        """Deals read for talk tracks with a `deal_id` (the deal service reads personas from this service, so
        it is attached after both exist)."""
        self._deals = deals

    async def personas(self, org_id: str) -> list[PersonaOut]:
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(CustomPersona).where(CustomPersona.org_id == org_id).order_by(CustomPersona.persona_id)
                )
            ).scalars()
            custom = [from_custom(r.profile).model_copy(update={"updated_at": r.updated_at}) for r in rows]
        return [*built_in().values(), *custom]

    async def persona(self, org_id: str, persona_id: str) -> PersonaOut:
        if persona_id in built_in():
            return built_in()[persona_id]
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(CustomPersona).where(CustomPersona.org_id == org_id, CustomPersona.persona_id == persona_id)
                )
            ).scalar_one_or_none()
        if row is None:
            known = sorted([*built_in(), *(p.id for p in await self.personas(org_id) if not p.built_in)])
            raise UnknownPersona(
                f"unknown persona '{persona_id}'; use one of {', '.join(known)} "
                "or create it with POST /pitch/v1/personas",
                details={"known": known},
            )
        return from_custom(row.profile).model_copy(update={"updated_at": row.updated_at})

    async def create_persona(self, principal: Principal, data: PersonaIn) -> PersonaOut:
        if data.id in built_in():
            raise Conflict(f"'{data.id}' is a built-in persona; choose another id")
        try:
            async with transaction(self._sessions) as session:
                row = CustomPersona(
                    org_id=principal.org,
                    persona_id=data.id,
                    profile=data.model_dump(mode="json"),
                    created_by=principal.sub,
                )
                session.add(row)
        except IntegrityError as exc:
            raise Conflict(f"persona '{data.id}' already exists; update it with PUT") from exc
        return from_custom(row.profile).model_copy(update={"updated_at": row.updated_at})

    async def update_persona(self, principal: Principal, persona_id: str, data: PersonaIn) -> PersonaOut:
        if data.id != persona_id:
            raise Unprocessable("the persona id in the body must match the one in the path")
        async with transaction(self._sessions) as session:
            row = await self._custom(session, principal.org, persona_id)
            row.profile = data.model_dump(mode="json")
            row.updated_at = utcnow()
        return from_custom(row.profile).model_copy(update={"updated_at": row.updated_at})

    async def delete_persona(self, principal: Principal, persona_id: str) -> None:
        async with transaction(self._sessions) as session:
            await session.delete(await self._custom(session, principal.org, persona_id))

    @staticmethod
    async def _custom(session: AsyncSession, org_id: str, persona_id: str) -> CustomPersona:
        row = (
            await session.execute(
                select(CustomPersona).where(CustomPersona.org_id == org_id, CustomPersona.persona_id == persona_id)
            )
        ).scalar_one_or_none()
        if row is None:
            raise PersonaNotFound(f"no custom persona '{persona_id}' in your organisation")
        return row

    async def talk_track(
        self, principal: Principal, request: TalkTrackIn, options: RetrievalOptions | None = None
    ) -> tuple[TalkTrack, PersonaOut]:
        started = time.perf_counter()
        deal = None
        if request.deal_id is not None:
            request, deal = await self._with_deal(principal, request)
        assert request.persona is not None  # the schema requires it unless a stakeholder gave it
        persona = await self.persona(principal.org, request.persona)
        track = await self._pipeline.compose(principal.org, request, persona, options, deal)
        latency = (time.perf_counter() - started) * 1000
        async with transaction(self._sessions) as session:
            session.add(
                TalkTrackRequest(
                    org_id=principal.org,
                    sub=principal.sub,
                    persona=request.persona,
                    competitor=request.competitor,
                    segment=request.segment.value if request.segment else None,
                    context=request.context,
                    deal_id=request.deal_id,
                    features=[f.external_id for f in track.features],
                    abstained=track.abstained,
                    latency_ms=round(latency, 2),
                )
            )
        log.info(
            "pitch.talk_track",
            persona=request.persona,
            features=len(track.features),
            abstained=track.abstained,
            deal_id=request.deal_id,
            ms=round(latency, 1),
        )
        return track, persona

    async def recent_requests(self, principal: Principal, limit: int) -> list[TalkTrackRequestOut]:
        """The caller's own latest talk-track requests, newest first: one entry per distinct request (persona,
        context, competitor, segment, deal), at the time it was last asked."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(TalkTrackRequest)
                    .where(TalkTrackRequest.org_id == principal.org, TalkTrackRequest.sub == principal.sub)
                    .order_by(TalkTrackRequest.created_at.desc(), TalkTrackRequest.id.desc())
                    .limit(HISTORY_SCAN)
                )
            ).scalars()
            seen: set[tuple[str | None, ...]] = set()
            out: list[TalkTrackRequestOut] = []
            for row in rows:
                key = (row.persona, row.context, row.competitor, row.segment, row.deal_id)
                if key in seen:
                    continue
                seen.add(key)
                out.append(
                    TalkTrackRequestOut(
                        id=row.id,
                        persona=row.persona,
                        context=row.context,
                        competitor=row.competitor,
                        segment=Segment(row.segment) if row.segment else None,
                        deal_id=row.deal_id,
                        features=list(row.features or []),
                        abstained=row.abstained,
                        created_at=row.created_at,
                    )
                )
                if len(out) == limit:
                    break
        return out

    async def passage(self, principal: Principal, chunk_id: str) -> PassageOut:
        """One passage of the caller's organisation by its chunk id (a citation's `chunk_id`), with its
        document's title, section, version and as-of date. PassageNotFound for an id that is not a chunk of this
        organisation, or whose document version is no longer stored (replaced or deleted)."""
        try:
            canonical = str(uuid.UUID(chunk_id))
        except ValueError:
            raise PassageNotFound(f"'{chunk_id[:64]}' is not a passage id (citations give it as chunk_id)") from None
        where = PointFilter(org_id=principal.org, ids=[canonical])
        found = await asyncio.to_thread(self._store.scroll, where, limit=1)
        if not found:
            raise PassageNotFound(
                f"no passage {canonical} in your organisation's library: its document version may have been "
                "replaced or deleted; ask for the talk track again"
            )
        payload = found[0].payload
        as_of = payload.get("as_of")
        return PassageOut(
            chunk_id=canonical,
            document_id=str(payload.get("document_id", "")),
            external_id=str(payload.get("external_id", "")),
            version=int(payload.get("version", 0)),
            title=str(payload.get("title") or payload.get("external_id") or ""),
            section=str(payload.get("section") or ""),
            as_of=str(as_of) if as_of is not None else None,
            text=str(payload.get("text", "")),
        )

    async def _with_deal(self, principal: Principal, request: TalkTrackIn) -> tuple[TalkTrackIn, DealInput]:
        """The request with the deal's context, segment, competitor and persona filled in, and what else the
        deal gives the track. A deal the caller may not read is 404 (`deal_context` applies the rules)."""
        if self._deals is None or request.deal_id is None:
            raise RuntimeError("talk tracks for deals need the deal service")  # wiring bug, never the client's
        context, note_dates = await self._deals.deal_context(principal, request.deal_id)
        deal = context.deal
        persona = request.persona or self._stakeholder_persona(context, request.stakeholder or "")
        step = await self._deals.next_step(principal, deal.id, persona)
        pains = list({p.text: p for p in context.pains}.values())[:MAX_DEAL_PAINS]
        joined = "\n\n".join([*([request.context] if request.context else []), *(p.text for p in pains)])
        competitor = request.competitor or next(iter([*deal.competitors, *context.competitors]), None)
        filled = request.model_copy(
            update={
                "persona": persona,
                "context": joined or None,
                "segment": request.segment or deal.segment,
                "competitor": competitor,
            }
        )
        objections = list({o.text: o.citation for o in context.objections}.values())
        return filled, DealInput(
            deal_id=deal.id,
            account=deal.account_name,
            stage=deal.stage,
            context=[p.citation for p in pains],
            systems=context.systems,
            competitors=context.competitors,
            objections=objections,
            presented=await self._presented(principal.org, deal.id),
            next_step=_step_text(step) if step else None,
            next_step_agreed=step.scheduled.citation if step and step.scheduled else None,
            note_dates=note_dates,
        )

    @staticmethod
    def _stakeholder_persona(context: DealContext, name: str) -> str:
        wanted = " ".join(name.split()).casefold()
        people = context.deal.stakeholders
        match = next((s for s in people if " ".join(s.name.split()).casefold() == wanted), None)
        if match is None or match.persona is None:
            usable = [s.name for s in people if s.persona]
            problem = f"no stakeholder '{name[:80]}' on this deal" if match is None else f"{match.name} has no persona"
            raise UnknownStakeholder(
                f"{problem}; name one of {', '.join(usable) or '(none with a persona)'} or send `persona`",
                details={"stakeholders": usable},
            )
        return match.persona

    async def _presented(self, org_id: str, deal_id: str) -> frozenset[str]:
        """External ids of the features earlier talk tracks for this deal showed (the request log)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(TalkTrackRequest.features).where(
                    TalkTrackRequest.org_id == org_id, TalkTrackRequest.deal_id == deal_id
                )
            )
            return frozenset(f for (features,) in rows for f in features or [])


def _step_text(step: ProposedNextStep) -> str:
    """The proposed next step as one instruction to read: what, when, who on each side."""
    text = f"{step.action.rstrip('.')} ({step.timeframe}, by {step.by_date.isoformat()})."
    if step.customer_attendees:
        text += f" Invite {', '.join(step.customer_attendees)}."
    if step.our_attendees:
        text += f" Bring {', '.join(step.our_attendees)}."
    return text
