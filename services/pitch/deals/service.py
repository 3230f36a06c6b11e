"""Deals logic: access rules, notes analysed on save, processes, next steps, the pipeline. No HTTP types here.

Access: every row carries `org_id` and is read only within its org. A deal is read by its owner and by the
org's managers and admins; anyone else gets 404 (its existence is not revealed). It is changed (and notes are
added) by its owner or an admin; a manager who can read it gets 403.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import structlog
from sqlalchemy import column, select, table
from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal, Role
from services.core.db import transaction, utcnow
from services.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.pitch.deals.index import NoteIndex
from services.pitch.deals.insights import Mention, Theme, group_by_meaning, group_names
from services.pitch.deals.models import Deal, DealNote, SalesProcessOverride
from services.pitch.deals.notes import ANALYSER_VERSION, NoteAnalyser, NoteFacts
from services.pitch.deals.process import (
    CLOSED,
    NoteEvidence,
    default_processes,
    propose_next_step,
    stage_ids,
)
from services.pitch.deals.schemas import (
    Citation,
    CustomersSay,
    DealContext,
    DealIn,
    DealOut,
    DealView,
    Extracted,
    NoteIn,
    NoteOut,
    Pipeline,
    PipelineDeal,
    PipelineStage,
    ProposedNextStep,
    SaidTheme,
    SaidWhere,
    SalesProcessIn,
    SalesProcessOut,
    Stakeholder,
    StakeholderIn,
)
from services.pitch.schemas import Segment

log = structlog.get_logger(__name__)
READ_ALL = frozenset({Role.MANAGER, Role.ADMIN})
# What customers say: the analysis lists it reads, with the theme kind each becomes; themes kept per kind.
SAID_KINDS = {"pains": "pain", "objections": "objection", "competitors": "competitor", "systems": "system"}
MAX_THEMES = 20
# The ingest service's documents table, read for the org's competitor names and product names (SQL is the shared
# store; the pitch service never imports ingest's models).
_documents = table(
    "documents", column("org_id"), column("kind"), column("competitor"), column("title"), column("product")
)


class DealNotFound(NotFound):
    code = "deal_not_found"


class NoteNotFound(NotFound):
    code = "note_not_found"


class NotDealOwner(Forbidden):
    code = "not_deal_owner"


class UnknownStage(Unprocessable):
    code = "unknown_stage"


class UnknownPersonaRef(Unprocessable):
    code = "unknown_persona"


def parse_segment(value: str) -> Segment:
    """A segment as a path names it ("mid-market" or "mid_market")."""
    try:
        return Segment(value.strip().lower().replace("-", "_"))
    except ValueError as exc:
        raise Unprocessable(
            f"unknown segment '{value[:40]}'; use one of {', '.join(s.value for s in Segment)}",
            details={"segments": [s.value for s in Segment]},
        ) from exc


def today() -> date:
    return datetime.now(UTC).date()


class DealService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        analyser: NoteAnalyser,
        personas: Any,
        note_index: NoteIndex | None = None,
    ) -> None:
        """`personas`: an object with `async personas(org_id) -> list[PersonaOut]` (the pitch service).
        `note_index`: where notes are indexed for retrieval within their deal (None: not indexed)."""
        self._sessions = sessions
        self._analyser = analyser
        self._personas = personas
        self._index = note_index

    # Processes -----------------------------------------------------------------------------------------------
    async def process(self, org_id: str, segment: Segment) -> SalesProcessOut:
        async with self._sessions() as session:
            row = await self._override(session, org_id, segment)
        return _process_out(segment, row)

    async def processes(self, org_id: str) -> list[SalesProcessOut]:
        async with self._sessions() as session:
            rows = (
                (await session.execute(select(SalesProcessOverride).where(SalesProcessOverride.org_id == org_id)))
                .scalars()
                .all()
            )
        by_segment = {r.segment: r for r in rows}
        return [_process_out(s, by_segment.get(s.value)) for s in Segment]

    async def put_process(self, principal: Principal, segment: Segment, data: SalesProcessIn) -> SalesProcessOut:
        await self._check_personas(principal.org, [p for s in data.stages for p in s.customer_personas])
        definition = data.model_dump(mode="json")
        try:
            async with transaction(self._sessions) as session:
                row = await self._override(session, principal.org, segment)
                if row is None:
                    row = SalesProcessOverride(org_id=principal.org, segment=segment.value, definition=definition,
                                               updated_by=principal.sub)  # fmt: skip
                    session.add(row)
                else:
                    row.definition, row.updated_by, row.updated_at = definition, principal.sub, utcnow()
        except IntegrityError as exc:  # two managers' first PUTs raced
            raise Conflict("the process was changed at the same moment; send it again") from exc
        log.info("deals.process.updated", segment=segment.value, stages=len(data.stages))
        return _process_out(segment, row)

    async def reset_process(self, principal: Principal, segment: Segment) -> SalesProcessOut:
        async with transaction(self._sessions) as session:
            row = await self._override(session, principal.org, segment)
            if row is not None:
                await session.delete(row)
        return _process_out(segment, None)

    @staticmethod
    async def _override(session: AsyncSession, org_id: str, segment: Segment) -> SalesProcessOverride | None:
        return (
            await session.execute(
                select(SalesProcessOverride).where(
                    SalesProcessOverride.org_id == org_id, SalesProcessOverride.segment == segment.value
                )
            )
        ).scalar_one_or_none()

    # Deals ---------------------------------------------------------------------------------------------------
    async def create_deal(self, principal: Principal, data: DealIn) -> DealOut:
        owner = await self._validate(principal, data, current_owner=None)
        async with transaction(self._sessions) as session:
            row = Deal(org_id=principal.org, owner=owner, created_by=principal.sub, **_deal_fields(data))
            session.add(row)
        log.info("deals.created", deal_id=row.id, segment=row.segment, stage=row.stage)
        return _deal_out(row, [])

    async def update_deal(self, principal: Principal, deal_id: str, data: DealIn) -> DealOut:
        async with transaction(self._sessions) as session:
            row = await self._writable(session, principal, deal_id)
            owner = await self._validate(principal, data, current_owner=row.owner)
            for key, value in _deal_fields(data).items():
                setattr(row, key, value)
            row.owner, row.updated_at = owner, utcnow()
            notes = await self._notes(session, row.id)
        return _deal_out(row, notes)

    async def delete_deal(self, principal: Principal, deal_id: str) -> None:
        async with transaction(self._sessions) as session:
            row = await self._writable(session, principal, deal_id)
            # One statement for the notes (the ORM would count rows the foreign key's cascade already took).
            await session.execute(sa_delete(DealNote).where(DealNote.deal_id == row.id))
            await session.delete(row)
        if self._index is not None:
            try:
                await self._index.drop_deal(principal.org, deal_id)
            except Exception as exc:  # noqa: BLE001  (the deal is gone; its scope is never queried again)
                log.warning("deals.notes_unindex_failed", deal_id=deal_id, error=str(exc)[:200])

    async def list_deals(self, principal: Principal, owner: str | None = None) -> list[DealOut]:
        async with self._sessions() as session:
            deals = await self._visible_deals(session, principal, owner)
            notes = await self._notes_of(session, [d.id for d in deals])
        return [_deal_out(d, notes.get(d.id, [])) for d in deals]

    async def deal_view(self, principal: Principal, deal_id: str, persona: str | None = None) -> DealView:
        async with self._sessions() as session:
            deal = await self._readable(session, principal, deal_id)
            notes = await self._notes(session, deal.id)
        context = _context(deal, notes)
        step = await self._next_step(principal.org, deal, notes, persona)
        return DealView(
            **context.model_dump(),
            notes=[_note_out(n) for n in notes],
            notes_missing_next_step=[n.id for n in notes if n.next_step_missing],
            next_step=step,
        )

    async def deal_context(self, principal: Principal, deal_id: str) -> tuple[DealContext, dict[str, date]]:
        """What a talk track for this deal reads: the deal and what its notes say (pains, objections,
        competitors, systems, commitments), each item cited to its note; and its notes (id -> meeting date),
        each indexed for retrieval within the deal (a note saved while the index was away, or before notes were
        indexed, is indexed now). Same access rules as the deal."""
        async with self._sessions() as session:
            deal = await self._readable(session, principal, deal_id)
            notes = await self._notes(session, deal.id)
        if self._index is not None and notes:
            done = await self._index.indexed_notes(principal.org, deal.id)
            for note in (n for n in notes if n.id not in done):
                await self._index_note(deal, note)
        return _context(deal, notes), {n.id: n.meeting_date for n in notes}

    async def _index_note(self, deal: Deal, note: DealNote) -> None:
        assert self._index is not None
        title = f"{deal.account_name}, meeting of {note.meeting_date.isoformat()}"
        await self._index.index(deal.org_id, deal.id, note.id, note.sentences, note.meeting_date.isoformat(), title)

    async def next_step(
        self, principal: Principal, deal_id: str, persona: str | None = None
    ) -> ProposedNextStep | None:
        async with self._sessions() as session:
            deal = await self._readable(session, principal, deal_id)
            notes = await self._notes(session, deal.id)
        return await self._next_step(principal.org, deal, notes, persona)

    async def _next_step(
        self, org_id: str, deal: Deal, notes: Sequence[DealNote], persona: str | None
    ) -> ProposedNextStep | None:
        process = await self.process(org_id, Segment(deal.segment))
        profiles = {p.id: p for p in await self._personas.personas(org_id)}
        if persona is not None and persona not in profiles:
            raise UnknownPersonaRef(f"unknown persona '{persona}'", details={"known": sorted(profiles)})
        return propose_next_step(
            stage_id=deal.stage,
            process=process,
            stakeholders=[StakeholderIn.model_validate(s) for s in deal.stakeholders],
            competitors=deal.competitors,
            notes=[
                NoteEvidence(n.meeting_date, n.attendees, n.text, n.analysis, n.next_step_missing, n.id) for n in notes
            ],
            personas=profiles,
            today=today(),
            persona=persona,
        )

    # Notes ---------------------------------------------------------------------------------------------------
    async def add_note(self, principal: Principal, deal_id: str, data: NoteIn) -> NoteOut:
        async with self._sessions() as session:
            deal = await self._writable(session, principal, deal_id)
            facts = await self._facts(session, deal, data)
        # The model and the rules run off the event loop (about 20-60 ms for a note of a dozen sentences).
        sentences, analysis = await asyncio.to_thread(self._analyser.analyse, data.text, facts)
        async with transaction(self._sessions) as session:
            current = await self._writable(session, principal, deal_id)  # still there, still theirs
            row = DealNote(
                deal_id=deal_id,
                org_id=principal.org,
                author=principal.sub,
                meeting_date=data.meeting_date,
                attendees=list(data.attendees),
                text=data.text,
                sentences=sentences,
                analysis=analysis,
                next_step_missing=analysis["next_step_missing"],
                next_step_date=date.fromisoformat(analysis["next_step_date"]) if analysis["next_step_date"] else None,
                analyser_version=ANALYSER_VERSION,
            )
            session.add(row)
            current.updated_at = utcnow()  # the row of this session: `deal` was read in one now closed
        if self._index is not None:
            try:
                await self._index_note(deal, row)
            except Exception as exc:  # noqa: BLE001  (the note is saved; `indexed_notes` indexes it later)
                log.warning("deals.note_index_failed", note_id=row.id, error=str(exc)[:200])
        log.info(
            "deals.note.analysed",
            deal_id=deal_id,
            sentences=len(sentences),
            pains=len(analysis["pains"]),
            objections=len(analysis["objections"]),
            next_step_missing=analysis["next_step_missing"],
        )
        return _note_out(row)

    async def notes(self, principal: Principal, deal_id: str) -> list[NoteOut]:
        async with self._sessions() as session:
            deal = await self._readable(session, principal, deal_id)
            return [_note_out(n) for n in await self._notes(session, deal.id)]

    async def note(self, principal: Principal, deal_id: str, note_id: str) -> NoteOut:
        async with self._sessions() as session:
            deal = await self._readable(session, principal, deal_id)
            row = (
                await session.execute(select(DealNote).where(DealNote.id == note_id, DealNote.deal_id == deal.id))
            ).scalar_one_or_none()
        if row is None:
            raise NoteNotFound(f"no note {note_id} on this deal")
        return _note_out(row)

    async def _facts(self, session: AsyncSession, deal: Deal, data: NoteIn) -> NoteFacts:
        competitors: dict[str, str] = {}
        rows = (
            await session.execute(
                select(_documents.c.competitor, _documents.c.title).where(
                    _documents.c.org_id == deal.org_id, _documents.c.kind == "competitor"
                )
            )
        ).all()
        for slug, title in rows:
            if slug:
                name = _name_in_title(slug, title or "")
                competitors[slug.lower()] = name
                competitors[name.lower()] = name
        for name in deal.competitors:
            competitors.setdefault(name.lower(), name)
        products = (
            await session.execute(
                select(_documents.c.product).where(_documents.c.org_id == deal.org_id).distinct().limit(50)
            )
        ).scalars()
        people = {w.lower() for n in [*data.attendees, *(s["name"] for s in deal.stakeholders)] for w in n.split()}
        own = {p.lower() for p in products if p} | {w.lower() for w in deal.account_name.split() if len(w) > 2}
        return NoteFacts(meeting_date=data.meeting_date, competitors=competitors, people=people, own_names=own)

    # Pipeline ------------------------------------------------------------------------------------------------
    async def pipeline(self, principal: Principal, owner: str | None, stale_days: int) -> Pipeline:
        as_of = today()
        async with self._sessions() as session:
            deals = await self._visible_deals(session, principal, owner)
            notes = await self._notes_of(session, [d.id for d in deals])
        by_stage: dict[str, list[PipelineDeal]] = {}
        no_next, stale = [], []
        for deal in deals:
            deal_notes = notes.get(deal.id, [])
            latest = deal_notes[0] if deal_notes else None
            last = latest.meeting_date if latest else None
            scheduled = latest is not None and not latest.next_step_missing
            flags: list[Any] = []
            if deal.stage not in CLOSED:
                if not scheduled or (latest and latest.next_step_date and latest.next_step_date < as_of):
                    flags.append("no_next_step")
                    no_next.append(deal.id)
                if last is None:
                    flags.append("no_meeting")
                    stale.append(deal.id)
                elif (as_of - last).days > stale_days:
                    flags.append("no_recent_meeting")
                    stale.append(deal.id)
            by_stage.setdefault(deal.stage, []).append(
                PipelineDeal(
                    id=deal.id,
                    account_name=deal.account_name,
                    owner=deal.owner,
                    segment=Segment(deal.segment),
                    stage=deal.stage,
                    amount=deal.amount,
                    close_date=deal.close_date,
                    last_meeting_date=last,
                    days_since_meeting=(as_of - last).days if last else None,
                    next_step_scheduled=scheduled,
                    next_step_date=latest.next_step_date if latest else None,
                    flags=flags,
                )
            )
        order = {s: i for i, s in enumerate(_stage_order())}
        stages = [
            PipelineStage(stage=s, deals=ds, amount=round(sum(d.amount or 0 for d in ds), 2))
            for s, ds in sorted(by_stage.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
        ]
        return Pipeline(
            owner=owner, stale_days=stale_days, as_of=as_of, stages=stages, no_next_step=no_next,
            no_recent_meeting=stale, total=len(deals),
        )  # fmt: skip

    # What customers say ---------------------------------------------------------------------------------------
    async def what_customers_say(
        self, principal: Principal, segment: Segment | None, persona: str | None, owner: str | None
    ) -> CustomersSay:
        """The themes of the notes of the deals the caller may read (a manager: the org's; a rep: their own)."""
        async with self._sessions() as session:
            deals = [
                d for d in await self._visible_deals(session, principal, owner)
                if segment is None or d.segment == segment.value
            ]  # fmt: skip
            notes = await self._notes_of(session, [d.id for d in deals])
        by_id = {d.id: d for d in deals}
        mentions: dict[str, list[Mention]] = {key: [] for key in SAID_KINDS}
        note_count = 0
        for deal_id, deal_notes in notes.items():
            deal = by_id[deal_id]
            for note in deal_notes:
                personas = _note_personas(deal, note)
                if persona is not None and persona not in personas:
                    continue
                note_count += 1
                for key, kind in SAID_KINDS.items():
                    for item in note.analysis.get(key, []):
                        where = SaidWhere(
                            deal_id=deal.id,
                            account_name=deal.account_name,
                            note_id=note.id,
                            meeting_date=note.meeting_date,
                            text=str(item["text"]),
                            citation=_cited(note, item).citation,
                        )
                        mentions[key].append(
                            Mention(kind, str(item["text"]), deal.id, note.id, deal.segment, personas, {"where": where})
                        )
        meaning = [m for key in ("pains", "objections") for m in mentions[key]]
        vectors = await asyncio.to_thread(self._analyser.embed, [m.text for m in meaning])
        split = len(mentions["pains"])
        themes = {
            "pains": group_by_meaning(mentions["pains"], vectors[:split]),
            "objections": group_by_meaning(mentions["objections"], vectors[split:]),
            "competitors": group_names(mentions["competitors"]),
            "systems": group_names(mentions["systems"]),
        }
        return CustomersSay(
            segment=segment,
            persona=persona,
            deals=len({d for d, ns in notes.items() if ns}),
            notes=note_count,
            **{key: [_theme_out(t) for t in found[:MAX_THEMES]] for key, found in themes.items()},
        )

    # Access --------------------------------------------------------------------------------------------------
    async def _visible_deals(self, session: AsyncSession, principal: Principal, owner: str | None) -> list[Deal]:
        query = select(Deal).where(Deal.org_id == principal.org)
        if principal.has_any(READ_ALL):
            if owner is not None:
                query = query.where(Deal.owner == owner)
        else:
            if owner is not None and owner != principal.sub:
                raise Forbidden("only managers and admins see other reps' deals")
            query = query.where(Deal.owner == principal.sub)
        return list((await session.execute(query.order_by(Deal.updated_at.desc(), Deal.id))).scalars())

    async def _readable(self, session: AsyncSession, principal: Principal, deal_id: str) -> Deal:
        row = (
            await session.execute(select(Deal).where(Deal.id == deal_id, Deal.org_id == principal.org))
        ).scalar_one_or_none()
        if row is None or (row.owner != principal.sub and not principal.has_any(READ_ALL)):
            raise DealNotFound(f"no deal {deal_id} that you can see")
        return row

    async def _writable(self, session: AsyncSession, principal: Principal, deal_id: str) -> Deal:
        row = await self._readable(session, principal, deal_id)
        if row.owner != principal.sub and Role.ADMIN not in principal.roles:
            raise NotDealOwner("only the deal's owner (or an admin) may change it or log notes on it")
        return row

    async def _validate(self, principal: Principal, data: DealIn, current_owner: str | None) -> str:
        owner = data.owner or current_owner or principal.sub
        if owner != (current_owner or principal.sub) and not principal.has_any(READ_ALL):
            raise Forbidden("only managers and admins may give a deal to another owner")
        process = await self.process(principal.org, data.segment)
        allowed = stage_ids(process)
        if data.stage not in allowed:
            raise UnknownStage(
                f"stage '{data.stage}' is not a stage of the {data.segment.value} process; use one of "
                + ", ".join(allowed),
                details={"stages": allowed},
            )
        await self._check_personas(principal.org, [s.persona for s in data.stakeholders if s.persona])
        return owner

    async def _check_personas(self, org_id: str, wanted: Sequence[str]) -> None:
        if not wanted:
            return
        known = {p.id for p in await self._personas.personas(org_id)}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise UnknownPersonaRef(
                f"unknown persona(s) {', '.join(unknown)}; see GET /pitch/v1/personas", details={"known": sorted(known)}
            )

    @staticmethod
    async def _notes(session: AsyncSession, deal_id: str) -> list[DealNote]:
        query = select(DealNote).where(DealNote.deal_id == deal_id)
        return list(
            (await session.execute(query.order_by(DealNote.meeting_date.desc(), DealNote.created_at.desc()))).scalars()
        )

    @staticmethod
    async def _notes_of(session: AsyncSession, deal_ids: Sequence[str]) -> dict[str, list[DealNote]]:
        out: dict[str, list[DealNote]] = {}
        for start in range(0, len(deal_ids), 500):  # bounded IN lists
            query = select(DealNote).where(DealNote.deal_id.in_(deal_ids[start : start + 500]))
            for note in (
                await session.execute(query.order_by(DealNote.meeting_date.desc(), DealNote.created_at.desc()))
            ).scalars():
                out.setdefault(note.deal_id, []).append(note)
        return out


def _stage_order() -> list[str]:
    seen: dict[str, None] = {}
    for process in default_processes().values():
        for stage in process.stages:
            seen.setdefault(stage.id, None)
    return [*seen, *CLOSED]


def _name_in_title(slug: str, title: str) -> str:
    """The competitor as its battlecard's title writes it: "Battlecard - Quarry CDP" -> "Quarry CDP"."""
    match = re.search(r"(?i)\b" + re.escape(slug) + r"\w*(?:\s+[A-Z][\w&.-]*)*", title)
    return match.group(0) if match else slug[:1].upper() + slug[1:]


def _deal_fields(data: DealIn) -> dict[str, Any]:
    return {
        "account_name": data.account_name,
        "segment": data.segment.value,
        "stage": data.stage,
        "stakeholders": [s.model_dump(mode="json") for s in data.stakeholders],
        "competitors": list(dict.fromkeys(data.competitors)),
        "amount": data.amount,
        "close_date": data.close_date,
    }


def _process_out(segment: Segment, row: SalesProcessOverride | None) -> SalesProcessOut:
    if row is None:
        base = default_processes()[segment]
        return SalesProcessOut(**base.model_dump(), segment=segment, source="default")
    return SalesProcessOut(
        **SalesProcessIn.model_validate(row.definition).model_dump(),
        segment=segment,
        source="organisation",
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _deal_out(row: Deal, notes: Sequence[DealNote]) -> DealOut:
    return DealOut(
        id=row.id,
        account_name=row.account_name,
        segment=Segment(row.segment),
        stage=row.stage,
        stakeholders=[Stakeholder.model_validate(s) for s in row.stakeholders],
        competitors=row.competitors,
        owner=row.owner,
        amount=row.amount,
        close_date=row.close_date,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_meeting_date=notes[0].meeting_date if notes else None,
        notes_count=len(notes),
        next_step_missing=notes[0].next_step_missing if notes else True,
    )


def _note_personas(deal: Deal, note: DealNote) -> tuple[str, ...]:
    """The personas of the stakeholders at the meeting (attendees matched by name), else of every stakeholder."""
    attendees = [a.casefold() for a in note.attendees]
    every = [s for s in deal.stakeholders if s.get("persona")]
    present = [
        s for s in every
        if any(str(s.get("name", "")).casefold() in a or a in str(s.get("name", "")).casefold() for a in attendees)
    ]  # fmt: skip
    return tuple(sorted({str(s["persona"]) for s in (present or every)}))


def _theme_out(theme: Theme) -> SaidTheme:
    newest = sorted(theme.mentions, key=lambda m: m.payload["where"].meeting_date, reverse=True)  # type: ignore[attr-defined]
    return SaidTheme(
        kind=theme.kind,  # type: ignore[arg-type]
        text=theme.text,
        mentions=len(theme.mentions),
        deals=theme.deals,
        by_segment=theme.counts(lambda m: [m.segment]),
        by_persona=theme.counts(lambda m: m.personas),
        notes=[m.payload["where"] for m in newest[:10]],  # type: ignore[misc]
    )


def _cited(note: DealNote, item: dict[str, Any]) -> Extracted:
    citation = Citation(**item["citation"], note_id=note.id, meeting_date=note.meeting_date)
    return Extracted(kind=item["kind"], text=item["text"], citation=citation, date=item.get("date"))


def _note_out(row: DealNote) -> NoteOut:
    analysis = dict(row.analysis)
    for key in ("pains", "objections", "competitors", "systems", "commitments", "next_steps"):
        analysis[key] = [_cited(row, item) for item in row.analysis.get(key, [])]
    return NoteOut(
        id=row.id,
        deal_id=row.deal_id,
        author=row.author,
        meeting_date=row.meeting_date,
        attendees=row.attendees,
        text=row.text,
        sentences=row.sentences,
        analysis=analysis,  # type: ignore[arg-type]
        next_step_missing=row.next_step_missing,
        created_at=row.created_at,
    )


def _context(deal: Deal, notes: Sequence[DealNote]) -> DealContext:
    pains: list[Extracted] = []
    objections: list[Extracted] = []
    commitments: list[Extracted] = []
    evidence: list[Extracted] = []
    competitors: dict[str, str] = {c.lower(): c for c in deal.competitors}
    systems: dict[str, str] = {}
    for note in notes:  # newest first
        a = note.analysis
        pains += [_cited(note, i) for i in a.get("pains", [])]
        objections += [_cited(note, i) for i in a.get("objections", [])]
        commitments += [_cited(note, i) for i in a.get("commitments", [])]
        for item in a.get("competitors", []):
            competitors.setdefault(item["text"].lower(), item["text"])
            evidence.append(_cited(note, item))
        for item in a.get("systems", []):
            systems.setdefault(item["text"].lower(), item["text"])
            evidence.append(_cited(note, item))
    return DealContext(
        deal=_deal_out(deal, notes),
        pains=pains,
        objections=objections,
        competitors=list(competitors.values()),
        systems=list(systems.values()),
        commitments=commitments,
        evidence=evidence,
    )
