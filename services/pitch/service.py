"""Pitch logic: personas (built-in and per-organisation) and talk tracks. No HTTP types here."""

from __future__ import annotations

import time

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import transaction, utcnow
from services.core.errors import Conflict, NotFound, Unprocessable
from services.pitch.models import CustomPersona, TalkTrackRequest
from services.pitch.personas import built_in, from_custom
from services.pitch.pipeline import RetrievalOptions, TalkTrackPipeline
from services.pitch.schemas import PersonaIn, PersonaOut, TalkTrack, TalkTrackIn

log = structlog.get_logger(__name__)


class UnknownPersona(Unprocessable):
    code = "unknown_persona"


class PersonaNotFound(NotFound):
    code = "persona_not_found"


class PitchService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], pipeline: TalkTrackPipeline) -> None:
        self._sessions = sessions
        self._pipeline = pipeline

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
        persona = await self.persona(principal.org, request.persona)
        track = await self._pipeline.compose(principal.org, request, persona, options)
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
            ms=round(latency, 1),
        )
        return track, persona
