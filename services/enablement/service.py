"""Quizzes: authored and generated items, review (edit, drop, regenerate), publish, revise. No HTTP types here.

A published quiz never changes (its items may only be retired when their source material changes); a revision
is a new draft version in the same lineage that replaces it when published.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import new_id, transaction, utcnow
from services.core.embeddings import EmbeddingCache
from services.core.errors import Conflict, NotFound, Unprocessable
from services.core.retrieval import live_search
from services.core.settings import EnablementSettings
from services.core.text import split_sentences
from services.core.vectorstore import PointFilter, SearchMode, SearchRequest, VectorStore
from services.enablement.generate import (
    ANSWERING_KINDS,
    PERSONA_GENERATORS,
    Generation,
    Outcome,
    default_kinds,
    generate,
)
from services.enablement.lookups import load_sources, quiz_in_org, source_citation
from services.enablement.material import MaterialDoc, content_words, load_material
from services.enablement.models import ItemStatus, Question, QuestionSource, QuestionType, Quiz, QuizStatus
from services.enablement.pitch_client import PitchClient
from services.enablement.quality import ItemDraft
from services.enablement.schemas import (
    AuthoredQuestion,
    GenerateSpec,
    GenerationReport,
    GeneratorKind,
    KeyPointOut,
    QuestionOut,
    QuestionPatch,
    QuizIn,
    QuizOut,
    QuizSummary,
    Rejection,
)

log = structlog.get_logger(__name__)

# An authored item is linked to the chunk that best matches it when the match is at least this close.
LOCATE_COSINE = 0.5

PitchFactory = Callable[[], AbstractAsyncContextManager[PitchClient]]


class QuestionNotFound(NotFound):
    code = "question_not_found"


class QuizImmutable(Conflict):
    code = "quiz_immutable"


class NothingGenerated(Unprocessable):
    code = "nothing_generated"


def question_out(q: Question, sources: Sequence[QuestionSource]) -> QuestionOut:
    return QuestionOut(
        id=q.id,
        position=q.position,
        type=QuestionType(q.type),
        origin=q.origin,
        status=q.status,
        status_reason=q.status_reason,
        prompt=q.prompt,
        options=q.options,
        answers=q.answers,
        reference_answer=q.reference_answer,
        key_points=[KeyPointOut.model_validate(k) for k in q.key_points] if q.key_points is not None else None,
        explanation=q.explanation,
        topic=q.topic,
        persona=q.persona,
        competitor=q.competitor,
        sources=[source_citation(s) for s in sources],
    )


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


class QuizService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: VectorStore,
        embeddings: EmbeddingCache,
        settings: EnablementSettings,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._embed = embeddings.embed
        self._settings = settings

    # --- reading ---------------------------------------------------------------------------------------------

    async def get(self, principal: Principal, quiz_id: str) -> QuizOut:
        async with self._sessions() as session:
            quiz = await quiz_in_org(session, principal.org, quiz_id)
            return await self._out(session, quiz)

    async def _out(self, session: AsyncSession, quiz: Quiz) -> QuizOut:
        questions = list(
            (await session.execute(select(Question).where(Question.quiz_id == quiz.id).order_by(Question.position)))
            .scalars()
            .all()
        )
        sources = await load_sources(session, [q.id for q in questions])
        return QuizOut(
            id=quiz.id,
            title=quiz.title,
            status=quiz.status,
            version=quiz.version,
            lineage_id=quiz.lineage_id,
            replaces_id=quiz.replaces_id,
            created_at=quiz.created_at,
            published_at=quiz.published_at,
            questions=[question_out(q, sources.get(q.id, [])) for q in questions],
            generation=GenerationReport.model_validate(quiz.report) if quiz.report else None,
        )

    async def list_quizzes(self, principal: Principal, status: str | None) -> list[QuizSummary]:
        async with self._sessions() as session:
            query = select(Quiz).where(Quiz.org_id == principal.org).order_by(Quiz.created_at.desc())
            if status:
                query = query.where(Quiz.status == status)
            quizzes = list((await session.execute(query)).scalars())
            counts: dict[tuple[str, str], int] = {}
            if quizzes:
                rows = await session.execute(
                    select(Question.quiz_id, Question.status, func.count())
                    .where(Question.quiz_id.in_([q.id for q in quizzes]))
                    .group_by(Question.quiz_id, Question.status)
                )
                counts = {(qid, st): int(n) for qid, st, n in rows}
        return [
            QuizSummary(
                id=q.id,
                title=q.title,
                status=q.status,
                version=q.version,
                questions=counts.get((q.id, ItemStatus.ACTIVE), 0),
                retired=counts.get((q.id, ItemStatus.RETIRED), 0),
                created_at=q.created_at,
            )
            for q in quizzes
        ]

    # --- creating --------------------------------------------------------------------------------------------

    async def create(self, principal: Principal, data: QuizIn, pitch: PitchFactory) -> QuizOut:
        """A draft from authored items and/or items generated over a slice of the material. Generated items
        that fail the quality gate are left out and counted in `generation`; none at all is a 422."""
        requested = len(data.questions) + (data.generate.count if data.generate else 0)
        if requested > self._settings.max_questions:
            raise Unprocessable(
                f"a quiz holds at most {self._settings.max_questions} questions; this asks for {requested}"
            )
        authored = [await self._authored(principal.org, q) for q in data.questions]
        drafts: list[ItemDraft] = list(authored)
        report: GenerationReport | None = None
        if data.generate is not None:
            outcome = await self._generate(principal, data.generate, data.title, pitch, existing=authored)
            report = _report(data.generate.count, outcome)
            if not outcome.accepted and not authored:
                raise NothingGenerated(
                    "no item of this slice passed the quality gate; widen the slice or add authored questions",
                    details=report.model_dump(),
                )
            drafts += outcome.accepted
        quiz_id = new_id()
        async with transaction(self._sessions) as session:
            quiz = Quiz(
                id=quiz_id,
                org_id=principal.org,
                title=data.title,
                lineage_id=quiz_id,
                spec=data.generate.model_dump(mode="json") if data.generate else None,
                report=report.model_dump(mode="json") if report else None,
                created_by=principal.sub,
            )
            session.add(quiz)
            await session.flush()
            for position, draft in enumerate(drafts):
                self._add_question(session, quiz, position, draft)
        log.info("enablement.quiz.created", quiz_id=quiz_id, questions=len(drafts), org_id=principal.org)
        return await self.get(principal, quiz_id)

    def _add_question(self, session: AsyncSession, quiz: Quiz, position: int, draft: ItemDraft) -> Question:
        question = Question(
            id=new_id(),
            quiz_id=quiz.id,
            org_id=quiz.org_id,
            position=position,
            type=draft.type,
            origin=str(draft.origin),
            prompt=draft.prompt,
            options=draft.options,
            answers=draft.answers,
            reference_answer=draft.reference_answer,
            key_points=draft.key_points,
            explanation=draft.explanation,
            topic=draft.topic,
            persona=draft.persona,
            competitor=draft.competitor,
            source_reveals_key=draft.source_reveals_key,
            # The sentences the item tests: a later version of the source that still states them (a typo fix,
            # an edit elsewhere) keeps the item (lifecycle.retire_for_change).
            recipe={**draft.recipe, "facts": draft.evidence} if draft.evidence else (draft.recipe or None),
        )
        session.add(question)
        seen: set[str] = set()
        for c in draft.citations():
            if c["chunk_id"] in seen:
                continue
            seen.add(c["chunk_id"])
            session.add(
                QuestionSource(
                    question_id=question.id,
                    org_id=quiz.org_id,
                    document_id=c["document_id"],
                    external_id=c["external_id"],
                    version=int(c["version"]),
                    chunk_id=c["chunk_id"],
                    as_of=c.get("as_of"),
                )
            )
        return question

    async def _locate(self, org_id: str, texts: Sequence[str]) -> list[tuple[dict[str, Any], str] | None]:
        """The chunk of the current material each text rests on, when one is close enough, with the sentence
        of that chunk that shares most words with the text (the fact the item tests)."""
        vectors = await asyncio.to_thread(self._embed, list(texts))
        requests = [
            SearchRequest(
                filter=PointFilter(org_id=org_id, live_at=utcnow()), dense=v.tolist(), limit=1, mode=SearchMode.DENSE
            )
            for v in vectors
        ]
        found: list[tuple[dict[str, Any], str] | None] = []
        for text, hits in zip(texts, await live_search(self._store, self._sessions, requests), strict=True):
            if hits and hits[0].score >= LOCATE_COSINE:
                p = hits[0].payload
                citation = {
                    "document_id": str(p["document_id"]),
                    "external_id": str(p.get("external_id", "")),
                    "version": int(p["version"]),
                    "chunk_id": hits[0].id,
                    "as_of": p.get("as_of"),
                }
                wanted = content_words(text)
                sentences = split_sentences(str(p.get("text", ""))) or [""]
                fact = max(sentences, key=lambda x: len(content_words(x) & wanted))
                # No sentence sharing two words with the item is no fact: then any change retires the item.
                found.append((citation, fact if len(content_words(fact) & wanted) >= 2 else ""))
            else:
                found.append(None)
        return found

    async def _authored(self, org_id: str, q: AuthoredQuestion) -> ItemDraft:
        """An authored item, linked to the material it rests on (so a change of that material retires it)."""
        if q.type is QuestionType.SHORT:
            points = list(q.key_points or [])
            located = await self._locate(org_id, [str(q.reference_answer), *points])
            key_points = [
                {"text": t, "citation": c[0] if c else None} for t, c in zip(points, located[1:], strict=True)
            ]
        else:
            keyed = [q.answer] if q.type is QuestionType.SINGLE and q.answer is not None else list(q.answers or [])
            options = q.options or []
            located = await self._locate(org_id, [f"{q.prompt} {' '.join(options[i] for i in keyed)}"])
            key_points = None
        sources = [c[0] for c in located if c is not None]
        facts = list(dict.fromkeys(c[1] for c in located if c is not None and c[1]))
        return ItemDraft(
            type=q.type,
            origin="authored",
            prompt=q.prompt,
            sources=list(sources),
            options=q.options,
            answers=[q.answer] if q.type is QuestionType.SINGLE and q.answer is not None else q.answers,
            reference_answer=q.reference_answer,
            key_points=key_points,
            explanation=q.explanation,
            persona=q.persona,
            competitor=q.competitor,
            evidence=facts,
            recipe={"kind": "authored"},
        )

    async def _generate(
        self,
        principal: Principal,
        spec: GenerateSpec,
        title: str,
        pitch: PitchFactory,
        existing: Sequence[ItemDraft] = (),
    ) -> Outcome:
        org_docs = await load_material(self._store, self._sessions, principal.org)
        slice_docs = _slice(org_docs, spec)
        notes: list[str] = []
        if spec.external_ids:
            missing = sorted(set(spec.external_ids) - {d.external_id for d in slice_docs})
            if missing:
                notes.append(f"not found or not live: {', '.join(missing)}")
        # One model batch, off the event loop, for what the generators will embed: the slice's sentences and
        # the battlecards' (wrong options of where-we-win items come from every battlecard).
        wanted = {d.document_id: d for d in slice_docs}
        if slice_docs:
            wanted.update({d.document_id: d for d in org_docs.values() if d.kind == "competitor"})
        if spec.objections:  # any feature, handler or battlecard may answer an objection
            wanted.update({d.document_id: d for d in org_docs.values() if d.kind in ANSWERING_KINDS})
        await asyncio.to_thread(self._embed, [s for d in wanted.values() for c in d.chunks for s in c.sentences()])
        gen = Generation(
            org_docs=org_docs,
            slice_docs=slice_docs,
            embed=self._embed,
            # The same request gives the same quiz; `objections` (added later) is left out when absent, so a
            # request without it keeps the seed it had before.
            rng=random.Random(
                _seed(
                    principal.org, title, spec.model_dump_json(exclude={"objections"} if not spec.objections else None)
                )
            ),
            persona=spec.persona,
            objections=list(spec.objections or []),
        )
        kinds = list(spec.kinds) if spec.kinds else default_kinds(gen, spec.types)
        if not kinds:
            raise Unprocessable(
                "nothing to generate from this slice: name documents (external_ids), a kind, a competitor, a persona "
                "or objections"
            )
        if not (gen.persona and any(k in PERSONA_GENERATORS for k in kinds)):
            outcome = await generate(gen, kinds, spec.count, existing)
        else:  # only persona items need the pitch service
            async with pitch() as client:
                gen.pitch = client
                outcome = await generate(gen, kinds, spec.count, existing)
        outcome.notes = notes
        return outcome

    # --- review ----------------------------------------------------------------------------------------------

    async def _draft_question(self, session: AsyncSession, principal: Principal, quiz_id: str, qid: str) -> Question:
        quiz = await quiz_in_org(session, principal.org, quiz_id)
        if quiz.status != QuizStatus.DRAFT:
            raise QuizImmutable(
                f"quiz {quiz_id} is {quiz.status}; published quizzes never change. "
                f"POST /enablement/v1/quizzes/{quiz_id}/revise makes a new draft version"
            )
        question = await session.get(Question, qid)
        if question is None or question.quiz_id != quiz_id:
            raise QuestionNotFound(f"no question {qid} in quiz {quiz_id}")
        return question

    async def edit(self, principal: Principal, quiz_id: str, qid: str, patch: QuestionPatch) -> QuizOut:
        async with transaction(self._sessions) as session:
            q = await self._draft_question(session, principal, quiz_id, qid)
            merged: dict[str, Any] = {
                "type": q.type,
                "prompt": q.prompt,
                "options": q.options,
                "answer": q.answers[0] if q.type == QuestionType.SINGLE and q.answers else None,
                "answers": q.answers if q.type == QuestionType.MULTI else None,
                "reference_answer": q.reference_answer,
                "key_points": [k["text"] for k in q.key_points] if q.key_points else None,
                "explanation": q.explanation,
            }
            merged.update(patch.model_dump(exclude_unset=True))
            try:
                checked = AuthoredQuestion.model_validate(merged)
            except ValidationError as exc:  # each problem in words, without pydantic's echo of the whole input
                problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
                raise Unprocessable(f"the edited question is not valid: {problems}") from exc
            q.prompt = checked.prompt
            q.options = checked.options
            q.answers = [checked.answer] if checked.answer is not None else checked.answers
            q.reference_answer = checked.reference_answer
            if checked.key_points is not None:
                old = {k["text"]: k.get("citation") for k in q.key_points or []}
                q.key_points = [{"text": t, "citation": old.get(t)} for t in checked.key_points]
            q.explanation = checked.explanation
            q.origin = q.origin if q.origin == "authored" else f"{q.origin}+edited"
            q.updated_at = utcnow()
        return await self.get(principal, quiz_id)

    async def drop(self, principal: Principal, quiz_id: str, qid: str) -> QuizOut:
        async with transaction(self._sessions) as session:
            q = await self._draft_question(session, principal, quiz_id, qid)
            q.status = ItemStatus.DROPPED
            q.status_reason = f"dropped by {principal.sub}"
            q.updated_at = utcnow()
        return await self.get(principal, quiz_id)

    async def regenerate(self, principal: Principal, quiz_id: str, qid: str, pitch: PitchFactory) -> QuizOut:
        """Replace a draft item with a new one from the same generator and source, built from the current
        material (a retired item's source has changed; another item's generator picks anew)."""
        async with self._sessions() as session:
            q = await self._draft_question(session, principal, quiz_id, qid)
            recipe = dict(q.recipe or {})
            others = [
                _copy(o, [])
                for o in (
                    await session.execute(
                        select(Question).where(
                            Question.quiz_id == quiz_id, Question.status == ItemStatus.ACTIVE, Question.id != qid
                        )
                    )
                ).scalars()
            ]
        kind = recipe.get("kind")
        if kind not in {k.value for k in GeneratorKind}:
            raise Unprocessable("only generated items can be regenerated; edit an authored item instead")
        source = recipe.get("source")
        spec = GenerateSpec(
            count=1,
            kinds=[GeneratorKind(kind)],
            persona=recipe.get("persona"),
            external_ids=[source] if source and not recipe.get("persona") else None,
        )
        outcome = await self._generate(principal, spec, f"{quiz_id}:{qid}:{utcnow().isoformat()}", pitch, others)
        if not outcome.accepted:
            raise NothingGenerated(
                "the current material does not support a new item of this kind here; drop the item instead",
                details=_report(1, outcome).model_dump(),
            )
        async with transaction(self._sessions) as session:
            old = await self._draft_question(session, principal, quiz_id, qid)
            quiz = await quiz_in_org(session, principal.org, quiz_id)
            old.status = ItemStatus.DROPPED
            old.status_reason = "regenerated"
            old.updated_at = utcnow()
            self._add_question(session, quiz, old.position, outcome.accepted[0])
        return await self.get(principal, quiz_id)

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def publish(self, principal: Principal, quiz_id: str) -> QuizOut:
        async with transaction(self._sessions) as session:
            quiz = await quiz_in_org(session, principal.org, quiz_id)
            if quiz.status != QuizStatus.DRAFT:
                raise QuizImmutable(f"quiz {quiz_id} is already {quiz.status}")
            active = await session.scalar(
                select(func.count()).where(Question.quiz_id == quiz_id, Question.status == ItemStatus.ACTIVE)
            )
            if not active:
                raise Unprocessable("the quiz has no active question; add or regenerate one before publishing")
            quiz.status = QuizStatus.PUBLISHED
            quiz.published_at = quiz.updated_at = utcnow()
            # One published version per lineage: this one supersedes whichever was published before.
            await session.execute(
                update(Quiz)
                .where(Quiz.lineage_id == quiz.lineage_id, Quiz.id != quiz.id, Quiz.status == QuizStatus.PUBLISHED)
                .values(status=QuizStatus.SUPERSEDED, updated_at=utcnow())
            )
        log.info("enablement.quiz.published", quiz_id=quiz_id, org_id=principal.org)
        return await self.get(principal, quiz_id)

    async def discard(self, principal: Principal, quiz_id: str) -> None:
        """Delete a draft with its items (a draft has no assignments). Published quizzes stay for their history."""
        async with transaction(self._sessions) as session:
            quiz = await quiz_in_org(session, principal.org, quiz_id)
            if quiz.status != QuizStatus.DRAFT:
                raise QuizImmutable(f"quiz {quiz_id} is {quiz.status}; only a draft can be discarded")
            await session.delete(quiz)
        log.info("enablement.quiz.discarded", quiz_id=quiz_id, org_id=principal.org)

    async def revise(self, principal: Principal, quiz_id: str, pitch: PitchFactory) -> QuizOut:
        """A new draft version of a published quiz: its active items copied, its retired items regenerated
        from the current material where possible (the rest are listed in the report)."""
        async with self._sessions() as session:
            old = await quiz_in_org(session, principal.org, quiz_id)
            if old.status != QuizStatus.PUBLISHED:
                raise Conflict(f"quiz {quiz_id} is {old.status}; revise the published version of it")
            pending = await session.scalar(
                select(Quiz.id).where(Quiz.lineage_id == old.lineage_id, Quiz.status == QuizStatus.DRAFT).limit(1)
            )
            if pending:
                raise Conflict(
                    f"a draft revision of this quiz already exists: {pending}; edit and publish it, or discard it "
                    f"with DELETE /enablement/v1/quizzes/{pending}"
                )
            items = list(
                (
                    await session.execute(
                        select(Question)
                        .where(Question.quiz_id == quiz_id, Question.status != ItemStatus.DROPPED)
                        .order_by(Question.position)
                    )
                ).scalars()
            )
            sources = await load_sources(session, [q.id for q in items])
            latest = await session.scalar(select(func.max(Quiz.version)).where(Quiz.lineage_id == old.lineage_id))
        drafts: list[ItemDraft] = []
        regenerated, lost = 0, []
        for q in items:
            if q.status == ItemStatus.ACTIVE:
                drafts.append(_copy(q, sources.get(q.id, [])))
                continue
            recipe = q.recipe or {}
            kind = recipe.get("kind")
            outcome = None
            if kind in {k.value for k in GeneratorKind}:
                spec = GenerateSpec(
                    count=1,
                    kinds=[GeneratorKind(kind)],
                    persona=recipe.get("persona"),
                    external_ids=[recipe["source"]] if recipe.get("source") and not recipe.get("persona") else None,
                )
                outcome = await self._generate(principal, spec, f"{quiz_id}:{q.id}:revise", pitch, drafts)
            if outcome is not None and outcome.accepted:
                drafts.append(outcome.accepted[0])
                regenerated += 1
            else:
                lost.append(q.prompt[:120])
        if not drafts:
            raise NothingGenerated(
                "every item of this quiz was retired and none could be rebuilt from the current material; "
                "create a new quiz instead",
                details={"lost": lost},
            )
        new_quiz_id = new_id()
        report = GenerationReport(
            requested=len(items),
            generated=regenerated,
            accepted=len(drafts),
            rejected=len(lost),
            rejected_by_reason={"retired_and_not_regenerated": len(lost)} if lost else {},
            rejections=[Rejection(generator="revise", reason="retired_and_not_regenerated", source=p) for p in lost],
            notes=[f"{regenerated} retired item(s) regenerated from the current material"],
        )
        try:
            await self._save_revision(principal, old, new_quiz_id, int(latest or old.version) + 1, report, drafts)
        except IntegrityError as exc:  # a concurrent revision took this version number
            raise Conflict("another revision of this quiz was made at the same moment; reload it") from exc
        return await self.get(principal, new_quiz_id)

    async def _save_revision(
        self,
        principal: Principal,
        old: Quiz,
        new_quiz_id: str,
        version: int,
        report: GenerationReport,
        drafts: Sequence[ItemDraft],
    ) -> None:
        async with transaction(self._sessions) as session:
            quiz = Quiz(
                id=new_quiz_id,
                org_id=principal.org,
                title=old.title,
                lineage_id=old.lineage_id,
                version=version,
                replaces_id=old.id,
                spec=old.spec,
                report=report.model_dump(mode="json"),
                created_by=principal.sub,
            )
            session.add(quiz)
            await session.flush()
            for position, draft in enumerate(drafts):
                self._add_question(session, quiz, position, draft)


def _copy(q: Question, sources: Sequence[QuestionSource]) -> ItemDraft:
    return ItemDraft(
        type=QuestionType(q.type),
        origin=q.origin,
        prompt=q.prompt,
        sources=[source_citation(s).model_dump() for s in sources],
        options=q.options,
        answers=q.answers,
        reference_answer=q.reference_answer,
        key_points=q.key_points,
        explanation=q.explanation,
        topic=q.topic,
        persona=q.persona,
        competitor=q.competitor,
        source_reveals_key=q.source_reveals_key,
        recipe=dict(q.recipe or {}),
    )


def _slice(docs: dict[str, MaterialDoc], spec: GenerateSpec) -> list[MaterialDoc]:
    """The documents named by external_ids, kind and competitor; none when the slice is only a persona."""
    if not (spec.external_ids or spec.kind or spec.competitor):
        return []
    chosen = list(docs.values())
    if spec.external_ids:
        wanted = set(spec.external_ids)
        chosen = [d for d in chosen if d.external_id in wanted]
    if spec.kind:
        chosen = [d for d in chosen if d.kind == spec.kind]
    if spec.competitor:
        chosen = [d for d in chosen if (d.competitor or "").lower() == spec.competitor.lower()]
    return sorted(chosen, key=lambda d: d.external_id)


def _report(requested: int, outcome: Outcome) -> GenerationReport:
    return GenerationReport(
        requested=requested,
        generated=outcome.generated,
        accepted=len(outcome.accepted),
        rejected=len(outcome.rejections),
        rejected_by_reason=outcome.by_reason(),
        rejections=[Rejection(generator=g, reason=r, source=s) for g, r, s in outcome.rejections],
        notes=outcome.notes,
    )
