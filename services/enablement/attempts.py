"""Assignments, attempts, server-side grading, overrides, review queues and certifications. No HTTP types here.

What a rep receives is built only from the `Rep*` and `Result` schemas: no key, reference, explanation or
provenance of an unanswered question ever leaves the server.
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import structlog
from fsrs import Card, Rating, Scheduler
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import new_id, transaction, utcnow
from services.core.embeddings import EmbeddingCache
from services.core.errors import AppError, Conflict, NotFound, Unprocessable
from services.core.vectorstore import PointFilter, VectorStore
from services.enablement.grading import POLICY, ChoiceGrade, ShortAnswerGrade, grade_choice, grade_short_answer
from services.enablement.material import normalise
from services.enablement.models import (
    Answer,
    Assignment,
    Attempt,
    AttemptStatus,
    Certification,
    ItemStatus,
    Question,
    QuestionSource,
    QuestionType,
    Quiz,
    QuizStatus,
    ReviewItem,
)
from services.enablement.schemas import (
    AnswerIn,
    AssignmentIn,
    AssignmentOut,
    AttemptDetail,
    AttemptOut,
    CertificationOut,
    Citation,
    ManagerAnswer,
    OverrideIn,
    PassageOut,
    RepQuestion,
    RepResult,
    ReviewOut,
    ReviewRating,
    SubmitIn,
    SubmitOut,
)
from services.enablement.service import key_point_label, load_sources, quiz_in_org, source_citation

log = structlog.get_logger(__name__)

RATINGS = {
    ReviewRating.AGAIN: Rating.Again,
    ReviewRating.HARD: Rating.Hard,
    ReviewRating.GOOD: Rating.Good,
    ReviewRating.EASY: Rating.Easy,
}
# FSRS with its published default parameters; a miss is an "again", a later right answer a "good".
SCHEDULER = Scheduler()


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"


class AttemptNotFound(NotFound):
    code = "attempt_not_found"


class PassageNotFound(NotFound):
    code = "passage_not_found"


class PassageGone(AppError):
    status_code = 410
    code = "passage_gone"


class AttemptAlreadySubmitted(Conflict):
    code = "attempt_already_submitted"


class AttemptLimitReached(Conflict):
    code = "attempt_limit_reached"


class AlreadyPassed(Conflict):
    code = "already_passed"


class QuizNotPublished(Conflict):
    code = "quiz_not_published"


class NothingToAsk(Conflict):
    code = "nothing_to_ask"


async def assignments_with_attempts(
    session: AsyncSession, org_id: str, *, quiz_id: str | None = None, assignee: str | None = None
) -> tuple[list[tuple[Assignment, str]], dict[str, list[Attempt]]]:
    """The org's assignments (of one quiz, of one rep) soonest due first, with each quiz's title, and their
    attempts in order. A quiz id of another organisation is 404."""
    query = (
        select(Assignment, Quiz.title)
        .join(Quiz, Quiz.id == Assignment.quiz_id)
        .where(Assignment.org_id == org_id)
        .order_by(Assignment.due_at)
    )
    if assignee is not None:
        query = query.where(Assignment.assignee == assignee)
    if quiz_id is not None:
        await quiz_in_org(session, org_id, quiz_id)
        query = query.where(Assignment.quiz_id == quiz_id)
    rows = [(a, title) for a, title in (await session.execute(query)).all()]
    return rows, await AttemptService._attempts_of(session, [a.id for a, _ in rows])


# Assignment states in which the rep can attempt no more.
CLOSED = ("passed", "out_of_attempts")


def _status(assignment: Assignment, attempts: Sequence[Attempt]) -> tuple[str, float | None, bool]:
    submitted = [a for a in attempts if a.status == AttemptStatus.SUBMITTED]
    best = max((a.score or 0.0 for a in submitted), default=None)
    passed = any(a.passed for a in submitted)
    if passed:
        return "passed", best, True
    if not attempts:
        return "not_started", best, False
    if any(a.status == AttemptStatus.OPEN for a in attempts):
        return "in_progress", best, False
    if len(attempts) >= assignment.max_attempts:
        return "out_of_attempts", best, False
    return "failed", best, False


def assignment_out(
    assignment: Assignment, quiz_title: str, attempts: Sequence[Attempt], now: datetime
) -> AssignmentOut:
    status, best, passed = _status(assignment, attempts)
    submitted = [a for a in attempts if a.status == AttemptStatus.SUBMITTED]
    return AssignmentOut(
        id=assignment.id,
        quiz_id=assignment.quiz_id,
        quiz_title=quiz_title,
        assignee=assignment.assignee,
        due_at=assignment.due_at,
        pass_mark=assignment.pass_mark,
        max_attempts=assignment.max_attempts,
        attempts_used=len(attempts),
        best_score=best,
        passed=passed,
        overdue=status not in CLOSED and assignment.due_at < now,
        status=status,
        last_attempt_id=max(submitted, key=lambda a: a.number).id if submitted else None,
    )


class AttemptService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], embeddings: EmbeddingCache, store: VectorStore | None = None
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._embed = embeddings.embed

    # --- assignments -----------------------------------------------------------------------------------------

    async def assign(self, principal: Principal, data: AssignmentIn) -> list[AssignmentOut]:
        async with transaction(self._sessions) as session:
            quiz = await quiz_in_org(session, principal.org, data.quiz_id)
            if quiz.status != QuizStatus.PUBLISHED:
                raise QuizNotPublished(f"quiz {quiz.id} is {quiz.status}; only a published quiz can be assigned")
            rows = [
                Assignment(
                    id=new_id(),
                    org_id=principal.org,
                    quiz_id=quiz.id,
                    assignee=user,
                    assigned_by=principal.sub,
                    due_at=data.due_at,
                    pass_mark=data.pass_mark,
                    max_attempts=data.max_attempts,
                )
                for user in data.assignees
            ]
            session.add_all(rows)
        log.info("enablement.assigned", quiz_id=quiz.id, assignees=len(rows), org_id=principal.org)
        now = utcnow()
        return [assignment_out(a, quiz.title, [], now) for a in rows]

    async def list_assignments(
        self, principal: Principal, *, mine: bool, quiz_id: str | None = None
    ) -> list[AssignmentOut]:
        async with self._sessions() as session:
            rows, attempts = await assignments_with_attempts(
                session, principal.org, quiz_id=quiz_id, assignee=principal.sub if mine else None
            )
        now = utcnow()
        return [assignment_out(a, title, attempts.get(a.id, []), now) for a, title in rows]

    @staticmethod
    async def _attempts_of(session: AsyncSession, assignment_ids: Sequence[str]) -> dict[str, list[Attempt]]:
        out: dict[str, list[Attempt]] = {}
        if assignment_ids:
            rows = await session.execute(
                select(Attempt).where(Attempt.assignment_id.in_(assignment_ids)).order_by(Attempt.number)
            )
            for attempt in rows.scalars():
                out.setdefault(attempt.assignment_id, []).append(attempt)
        return out

    async def _own_assignment(self, session: AsyncSession, principal: Principal, assignment_id: str) -> Assignment:
        assignment = await session.get(Assignment, assignment_id)
        # Another rep's assignment, or another org's, is not found (its existence is not confirmed).
        if assignment is None or assignment.org_id != principal.org or assignment.assignee != principal.sub:
            raise AssignmentNotFound(f"no assignment {assignment_id} of yours")
        return assignment

    # --- attempts --------------------------------------------------------------------------------------------

    async def start(self, principal: Principal, assignment_id: str) -> AttemptOut:
        """A new attempt with the quiz's active items in a fresh random order (options shuffled too). An open
        attempt is returned again instead of opening a second (also to the loser of two concurrent starts);
        once passed, or past `max_attempts`, the start is refused."""
        try:
            return await self._start(principal, assignment_id)
        except IntegrityError:  # a concurrent start took this number: its attempt is the open one now
            return await self._start(principal, assignment_id)

    async def _start(self, principal: Principal, assignment_id: str) -> AttemptOut:
        async with transaction(self._sessions) as session:
            assignment = await self._own_assignment(session, principal, assignment_id)
            attempts = (await self._attempts_of(session, [assignment_id])).get(assignment_id, [])
            open_attempt = next((a for a in attempts if a.status == AttemptStatus.OPEN), None)
            if open_attempt is None:
                if any(a.passed for a in attempts):
                    raise AlreadyPassed("you passed this assignment; there is nothing left to attempt")
                if len(attempts) >= assignment.max_attempts:
                    raise AttemptLimitReached(
                        f"all {assignment.max_attempts} attempts of this assignment are used; ask your manager "
                        "for a new assignment"
                    )
                questions = list(
                    (
                        await session.execute(
                            select(Question).where(
                                Question.quiz_id == assignment.quiz_id, Question.status == ItemStatus.ACTIVE
                            )
                        )
                    ).scalars()
                )
                if not questions:
                    raise NothingToAsk("every item of this quiz was retired; your manager must publish a revision")
                rng = random.Random(secrets.randbits(64))
                rng.shuffle(questions)
                orders: dict[str, list[int]] = {}
                for q in questions:
                    if q.options:
                        order = list(range(len(q.options)))
                        rng.shuffle(order)
                        orders[q.id] = order
                open_attempt = Attempt(
                    id=new_id(),
                    org_id=principal.org,
                    assignment_id=assignment_id,
                    user=principal.sub,
                    number=len(attempts) + 1,
                    question_ids=[q.id for q in questions],
                    option_orders=orders,
                )
                session.add(open_attempt)
                await session.flush()
            attempt = open_attempt
            by_id = await _questions(session, attempt.question_ids)
        return AttemptOut(
            attempt_id=attempt.id,
            assignment_id=assignment_id,
            number=attempt.number,
            started_at=attempt.started_at,
            due_at=assignment.due_at,
            questions=[
                RepQuestion(
                    question_id=qid,
                    type=QuestionType(by_id[qid].type),
                    prompt=by_id[qid].prompt,
                    options=[by_id[qid].options[i] for i in attempt.option_orders[qid]]  # type: ignore[index]
                    if qid in attempt.option_orders
                    else None,
                )
                for qid in attempt.question_ids
            ],
        )

    async def _own_attempt(self, session: AsyncSession, principal: Principal, attempt_id: str) -> Attempt:
        attempt = await session.get(Attempt, attempt_id)
        if attempt is None or attempt.org_id != principal.org or attempt.user != principal.sub:
            raise AttemptNotFound(f"no attempt {attempt_id} of yours")
        return attempt

    async def submit(self, principal: Principal, attempt_id: str, data: SubmitIn) -> SubmitOut:
        """Grade on the server and record the result once: a second submit of the attempt is a 409."""
        async with self._sessions() as session:
            attempt = await self._own_attempt(session, principal, attempt_id)
            if attempt.status != AttemptStatus.OPEN:
                raise AttemptAlreadySubmitted(f"attempt {attempt_id} was already submitted; start a new attempt")
            assignment = await session.get(Assignment, attempt.assignment_id)
            assert assignment is not None
            questions = await _questions(session, attempt.question_ids)
            sources = await load_sources(session, list(questions))
        responses = _responses(attempt, data.answers)
        graded = await asyncio.to_thread(
            lambda: [
                self._grade(questions[qid], attempt, responses.get(qid), sources.get(qid, []))
                for qid in attempt.question_ids
            ]
        )
        now = utcnow()
        score, passed = score_of([g["credit"] for g in graded], assignment.pass_mark)
        late = now > assignment.due_at
        async with transaction(self._sessions) as session:
            # The assignment row is the lock for its certification (submits and overrides of its attempts).
            await session.execute(select(Assignment.id).where(Assignment.id == assignment.id).with_for_update())
            # The guarded update is the lock: of two concurrent submits exactly one changes the row.
            claimed = await session.execute(
                update(Attempt)
                .where(Attempt.id == attempt_id, Attempt.status == AttemptStatus.OPEN)
                .values(status=AttemptStatus.SUBMITTED, submitted_at=now, score=score, passed=passed, late=late)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise AttemptAlreadySubmitted(f"attempt {attempt_id} was already submitted; start a new attempt")
            answers = [
                Answer(
                    attempt_id=attempt_id,
                    question_id=g["question_id"],
                    response=g["response"],
                    correct=g["correct"],
                    credit=g["credit"],
                    graded_credit=g["credit"],
                    feedback=g["feedback"],
                    citations=g["citations"],
                    detail=g["detail"],
                )
                for g in graded
            ]
            session.add_all(answers)
            await self._schedule_reviews(session, attempt, graded, questions, now)
            await self._sync_certification(session, assignment, now)
        log.info("enablement.attempt.submitted", attempt_id=attempt_id, score=score, passed=passed, late=late)
        async with self._sessions() as session:
            closed = await self._closed(session, principal, assignment.quiz_id)
        return SubmitOut(
            attempt_id=attempt_id,
            score=score,
            passed=passed,
            late=late,
            results=[_rep_result(a, questions[a.question_id], closed) for a in answers],
        )

    def _grade(
        self, q: Question, attempt: Attempt, response: AnswerIn | None, sources: Sequence[QuestionSource]
    ) -> dict[str, Any]:
        """The grade with the full feedback and citations; what a rep is shown of them is decided when the
        result is read (`_rep_result`), because it depends on whether the assignment is still open."""
        citations = [source_citation(s).model_dump() for s in sources]
        result: dict[str, Any] = {"question_id": q.id, "response": {}, "detail": None, "citations": citations}
        if response is None:
            result.update(correct=False, credit=0.0, feedback="No answer given.")
            return result
        if q.type == QuestionType.SHORT:
            if response.text is None or response.choice is not None or response.choices is not None:
                raise Unprocessable(f"question {q.id} is short_answer: answer with `text`")
            text = response.text
            key_points = q.key_points or []
            grade = grade_short_answer(text, q.reference_answer or "", [k["text"] for k in key_points], self._embed)
            missed = [k for k, ok in zip(key_points, grade.covered, strict=True) if not ok]
            cited = [k["citation"] for k in missed if k.get("citation")] or citations
            result.update(
                response={"text": text},
                correct=grade.correct,
                credit=grade.credit,
                feedback=short_feedback(grade, key_points, q.topic, closed=True),
                citations=cited if missed or grade.contradiction else citations,
                detail={
                    "similarity": grade.similarity,
                    "covered": list(grade.covered),
                    "point_credit": list(grade.point_credit),
                    "contradiction": grade.contradiction,
                    "feedback_open": short_feedback(grade, key_points, q.topic, closed=False),
                },
            )
            return result
        chosen = sorted(_chosen_indices(q, attempt, response))
        choice = grade_choice(set(chosen), q.answers or [])
        result.update(
            response={"choices": chosen},
            correct=choice.correct,
            credit=choice.credit,
            feedback=choice_feedback(choice, len(q.answers or []), QuestionType(q.type)),
            detail={"right": choice.right, "wrong": choice.wrong},
        )
        return result

    async def _schedule_reviews(
        self,
        session: AsyncSession,
        attempt: Attempt,
        graded: Sequence[dict[str, Any]],
        questions: dict[str, Question],
        now: datetime,
    ) -> None:
        """A missed item enters the rep's queue due at once (a new FSRS card; a queued one is reviewed "again"
        and brought forward); an item answered right that is already queued counts as a "good" review. After
        that, FSRS schedules each item from the rep's own review ratings."""
        statuses = dict(
            (
                await session.execute(
                    select(Question.id, Question.status).where(Question.id.in_([g["question_id"] for g in graded]))
                )
            ).all()
        )
        existing = {
            r.question_id: r
            for r in (
                await session.execute(
                    select(ReviewItem).where(
                        ReviewItem.org_id == attempt.org_id,
                        ReviewItem.user == attempt.user,
                        ReviewItem.question_id.in_([g["question_id"] for g in graded]),
                    )
                )
            ).scalars()
        }
        for g in graded:
            item = existing.get(g["question_id"])
            if g["correct"] and item is None:
                continue
            if item is None:
                # An explicit id: fsrs otherwise derives one from the clock and sleeps a millisecond per card.
                card = Card(card_id=secrets.randbits(48), due=now)
                item = ReviewItem(
                    org_id=attempt.org_id,
                    user=attempt.user,
                    question_id=g["question_id"],
                    assignment_id=attempt.assignment_id,
                    card={},
                    due_at=now,
                )
                session.add(item)
            else:
                rating = Rating.Good if g["correct"] else Rating.Again
                card, _ = SCHEDULER.review_card(Card.from_dict(cast(Any, item.card)), rating, review_datetime=now)
            item.assignment_id = attempt.assignment_id
            item.card = dict(card.to_dict())
            item.due_at = card.due if g["correct"] else now
            item.misses = (item.misses or 0) + (0 if g["correct"] else 1)
            # An item retired after this attempt opened (even while it was being graded) is never reviewed.
            item.retired = bool(item.retired) or statuses.get(g["question_id"]) == ItemStatus.RETIRED
            item.updated_at = now

    @staticmethod
    async def _sync_certification(session: AsyncSession, assignment: Assignment, now: datetime) -> None:
        """The assignment's certification follows its best passing attempt: created, updated, or removed when an
        override leaves none passing. A new one renews the rep's flagged certifications of earlier versions of
        the same quiz."""
        await session.flush()
        best = (
            await session.execute(
                select(Attempt)
                .where(Attempt.assignment_id == assignment.id, Attempt.passed.is_(True))
                .order_by(Attempt.score.desc(), Attempt.number)
                .limit(1)
            )
        ).scalar_one_or_none()
        cert = (
            await session.execute(select(Certification).where(Certification.assignment_id == assignment.id))
        ).scalar_one_or_none()
        if best is None:
            if cert is not None:
                await session.delete(cert)
            return
        if cert is not None:
            cert.score, cert.attempt_id = float(best.score or 0.0), best.id
            return
        session.add(
            Certification(
                org_id=assignment.org_id,
                user=assignment.assignee,
                quiz_id=assignment.quiz_id,
                assignment_id=assignment.id,
                attempt_id=best.id,
                score=float(best.score or 0.0),
                certified_at=now,
            )
        )
        quiz = await session.get(Quiz, assignment.quiz_id)
        assert quiz is not None
        older = select(Quiz.id).where(Quiz.lineage_id == quiz.lineage_id, Quiz.version < quiz.version)
        await session.execute(
            update(Certification)
            .where(
                Certification.org_id == assignment.org_id,
                Certification.user == assignment.assignee,
                Certification.needs_renewal.is_(True),
                Certification.quiz_id.in_(older),
            )
            .values(needs_renewal=False, renewal_reason=f"renewed by passing version {quiz.version}")
        )

    async def result(self, principal: Principal, attempt_id: str) -> SubmitOut:
        """A rep's own graded attempt (the same view the submit returned, as of now)."""
        async with self._sessions() as session:
            attempt = await self._own_attempt(session, principal, attempt_id)
            if attempt.status != AttemptStatus.SUBMITTED:
                raise Conflict(f"attempt {attempt_id} is not submitted yet")
            answers = await self._answers(session, attempt)
            assignment = await session.get(Assignment, attempt.assignment_id)
            assert assignment is not None
            closed = await self._closed(session, principal, assignment.quiz_id)
            questions = await _questions(session, attempt.question_ids)
        return SubmitOut(
            attempt_id=attempt.id,
            score=attempt.score or 0.0,
            passed=bool(attempt.passed),
            late=attempt.late,
            results=[_rep_result(a, questions[a.question_id], closed) for a in answers],
        )

    async def passage(self, principal: Principal, attempt_id: str, chunk_id: str) -> PassageOut:
        """A passage cited to the rep in one of their graded attempts, as they may see it now: short answers'
        passages at once, choice items' once the assignment is closed (the `result` rule). Anything else is a
        404, whether it exists or not."""
        result = await self.result(principal, attempt_id)
        cited = {c.chunk_id: c for r in result.results for c in r.citations}
        citation = cited.get(chunk_id)
        if citation is None:
            raise PassageNotFound(
                f"no passage {chunk_id} is cited to you in attempt {attempt_id} (choice items cite theirs once the "
                "assignment is closed)"
            )
        return await self._stored_passage(principal, citation)

    async def review_passage(self, principal: Principal, review_id: str, chunk_id: str) -> PassageOut:
        """A passage cited by one of the rep's review items (`GET /me/reviews` citations): what to check a
        recalled answer against. The `reviews` rule decides: an item whose assignment is still open in any
        version of its quiz, a retired item, or an item whose source would name its answer cites nothing.
        Anything else is a 404, whether it exists or not."""
        async with self._sessions() as session:
            item = await session.get(ReviewItem, review_id)
            question = await session.get(Question, item.question_id) if item is not None else None
            quiz = await session.get(Quiz, question.quiz_id) if question is not None else None
            if (
                item is None
                or question is None
                or quiz is None
                or item.org_id != principal.org
                or item.user != principal.sub
                or item.retired
                or quiz.lineage_id in await self._open_lineages(session, principal)
            ):
                raise NotFound(f"no review item {review_id} of yours")
            sources = await load_sources(session, [question.id])
        cited = {c.chunk_id: c for c in _review_out(item, question, sources.get(question.id, [])).citations}
        citation = cited.get(chunk_id)
        if citation is None:
            raise PassageNotFound(f"no passage {chunk_id} is cited by your review item {review_id}")
        return await self._stored_passage(principal, citation)

    async def _stored_passage(self, principal: Principal, citation: Citation) -> PassageOut:
        """The cited chunk as stored (the cited version, not the current one), or 410 once it is gone."""
        chunk_id = citation.chunk_id
        if self._store is None:
            raise PassageGone("this service has no access to the material")
        where = PointFilter(org_id=principal.org, document_id=citation.document_id, version=citation.version)
        point = next((p for p in await asyncio.to_thread(self._store.scroll, where) if p.id == chunk_id), None)
        if point is None:
            raise PassageGone(
                f"version {citation.version} of {citation.external_id} is no longer stored; the current version "
                "is in the library"
            )
        return PassageOut(
            chunk_id=chunk_id,
            document_id=citation.document_id,
            external_id=citation.external_id,
            version=citation.version,
            title=str(point.payload.get("title", "")),
            section=str(point.payload.get("section") or ""),
            as_of=citation.as_of,
            text=str(point.payload.get("text", "")),
        )

    @staticmethod
    async def _answers(session: AsyncSession, attempt: Attempt) -> list[Answer]:
        rows = list((await session.execute(select(Answer).where(Answer.attempt_id == attempt.id))).scalars())
        order = {qid: i for i, qid in enumerate(attempt.question_ids)}
        return sorted(rows, key=lambda a: order.get(a.question_id, 0))

    # --- manager views -----------------------------------------------------------------------------------------

    async def _org_attempt(self, session: AsyncSession, principal: Principal, attempt_id: str) -> Attempt:
        attempt = await session.get(Attempt, attempt_id)
        if attempt is None or attempt.org_id != principal.org:
            raise AttemptNotFound(f"no attempt {attempt_id} in your organisation")
        return attempt

    async def detail(self, principal: Principal, attempt_id: str) -> AttemptDetail:
        async with self._sessions() as session:
            attempt = await self._org_attempt(session, principal, attempt_id)
            answers = await self._answers(session, attempt)
        return _detail(attempt, answers)

    async def override(
        self, principal: Principal, attempt_id: str, question_id: str, data: OverrideIn
    ) -> AttemptDetail:
        """A manager's grade replaces the grader's for one answer; the grader's credit, who overrode it, when and
        why are kept. The attempt's score, pass and the assignment's certification follow."""
        now = utcnow()
        async with transaction(self._sessions) as session:
            # Row lock on PostgreSQL (SQLite serialises writers): two overrides of one attempt apply in turn.
            attempt = (
                await session.execute(select(Attempt).where(Attempt.id == attempt_id).with_for_update())
            ).scalar_one_or_none()
            if attempt is None or attempt.org_id != principal.org:
                raise AttemptNotFound(f"no attempt {attempt_id} in your organisation")
            if attempt.status != AttemptStatus.SUBMITTED:
                raise Conflict("only a submitted attempt can be regraded")
            await session.execute(select(Assignment.id).where(Assignment.id == attempt.assignment_id).with_for_update())
            answer = (
                await session.execute(
                    select(Answer).where(Answer.attempt_id == attempt_id, Answer.question_id == question_id)
                )
            ).scalar_one_or_none()
            if answer is None:
                raise NotFound(f"question {question_id} is not part of attempt {attempt_id}")
            answer.credit = data.credit
            answer.correct = data.credit >= POLICY.correct_at
            answer.override_by = principal.sub
            answer.override_reason = data.reason
            answer.overridden_at = now
            await session.flush()
            answers = await self._answers(session, attempt)
            assignment = await session.get(Assignment, attempt.assignment_id)
            assert assignment is not None
            attempt.score, attempt.passed = score_of([a.credit for a in answers], assignment.pass_mark)
            await self._sync_certification(session, assignment, now)
        log.info("enablement.grade.overridden", attempt_id=attempt_id, question_id=question_id, by=principal.sub)
        return _detail(attempt, answers)

    # --- reviews and certifications ----------------------------------------------------------------------------

    async def _open_lineages(self, session: AsyncSession, principal: Principal) -> set[str]:
        """Quiz lineages the rep still has an assignment to take (not passed, attempts left): their review
        items stay hidden, since the material they cite would answer the attempt, in any version of the quiz."""
        rows = (
            await session.execute(
                select(Assignment, Quiz.lineage_id)
                .join(Quiz, Quiz.id == Assignment.quiz_id)
                .where(Assignment.org_id == principal.org, Assignment.assignee == principal.sub)
            )
        ).all()
        attempts = await self._attempts_of(session, [a.id for a, _ in rows])
        return {lineage for a, lineage in rows if _status(a, attempts.get(a.id, []))[0] not in CLOSED}

    async def _closed(self, session: AsyncSession, principal: Principal, quiz_id: str) -> bool:
        """Whether the rep has no open assignment of this quiz in any version: only then may graded results
        cite the material of choice items (the same rule as for reviews)."""
        lineage = await session.scalar(select(Quiz.lineage_id).where(Quiz.id == quiz_id))
        return lineage not in await self._open_lineages(session, principal)

    async def reviews(self, principal: Principal, limit: int) -> list[ReviewOut]:
        """Due review items (FSRS), most overdue first: the question and where its answer is in the material."""
        async with self._sessions() as session:
            hidden = await self._open_lineages(session, principal)
            rows = list(
                (
                    await session.execute(
                        select(ReviewItem, Question)
                        .join(Question, Question.id == ReviewItem.question_id)
                        .join(Quiz, Quiz.id == Question.quiz_id)
                        .where(
                            ReviewItem.org_id == principal.org,
                            ReviewItem.user == principal.sub,
                            ReviewItem.retired.is_(False),
                            ReviewItem.due_at <= utcnow(),
                            Quiz.lineage_id.not_in(hidden),
                        )
                        .order_by(ReviewItem.due_at)
                        .limit(limit)
                    )
                ).all()
            )
            sources = await load_sources(session, [q.id for _, q in rows])
        return [_review_out(r, q, sources.get(q.id, [])) for r, q in rows]

    async def review(self, principal: Principal, review_id: str, rating: ReviewRating) -> ReviewOut:
        now = utcnow()
        async with transaction(self._sessions) as session:
            item = await session.get(ReviewItem, review_id)
            question = await session.get(Question, item.question_id) if item is not None else None
            quiz = await session.get(Quiz, question.quiz_id) if question is not None else None
            if (
                item is None
                or question is None
                or quiz is None
                or item.org_id != principal.org
                or item.user != principal.sub
                or quiz.lineage_id in await self._open_lineages(session, principal)
            ):
                raise NotFound(f"no review item {review_id} of yours")
            card, _ = SCHEDULER.review_card(Card.from_dict(cast(Any, item.card)), RATINGS[rating], review_datetime=now)
            item.card, item.due_at = dict(card.to_dict()), card.due
            item.reviews += 1
            item.updated_at = now
            sources = await load_sources(session, [question.id])
        return _review_out(item, question, sources.get(question.id, []))

    async def certifications(self, principal: Principal, *, mine: bool) -> list[CertificationOut]:
        async with self._sessions() as session:
            query = select(Certification).where(Certification.org_id == principal.org)
            if mine:
                query = query.where(Certification.user == principal.sub)
            rows = (await session.execute(query.order_by(Certification.certified_at))).scalars()
            return [CertificationOut.model_validate(c, from_attributes=True) for c in rows]


async def _questions(session: AsyncSession, question_ids: Sequence[str]) -> dict[str, Question]:
    rows = await session.execute(select(Question).where(Question.id.in_(question_ids)))
    return {q.id: q for q in rows.scalars()}


def _review_out(item: ReviewItem, q: Question, sources: Sequence[QuestionSource]) -> ReviewOut:
    """The question as asked (prompt and any options) and where the material covers it, except for items whose
    source or topic would name the answer (a "which feature" or "lead with" item): those show the question
    alone."""
    return ReviewOut(
        review_id=item.id,
        question_id=q.id,
        type=QuestionType(q.type),
        prompt=q.prompt,
        options=list(q.options) if q.options else None,
        topic=None if q.source_reveals_key else q.topic,
        citations=[] if q.source_reveals_key else [source_citation(s) for s in sources],
        due_at=item.due_at,
        misses=item.misses,
        reviews=item.reviews,
    )


# Float arithmetic can land a hair below the mark it meets (credits 0.01 and 0.57 -> 28.999999999999996%).
PASS_TOLERANCE = 1e-9


def score_of(credit: Sequence[float], pass_mark: float) -> tuple[float, bool]:
    """Percent score (shown to one decimal) and pass, decided on the exact score: 59.96 does not pass 60."""
    raw = 100 * math.fsum(credit) / max(len(credit), 1)
    return round(raw, 1), raw >= pass_mark - PASS_TOLERANCE


def short_feedback(
    grade: ShortAnswerGrade, key_points: Sequence[dict[str, Any]], topic: str | None, *, closed: bool
) -> str:
    """What a short answer earned and why. While attempts remain, missed points are counted and placed (by the
    item's topic and the cited passages), never quoted: their words would answer the retake. Once the
    assignment is closed, the points credited and missed are named."""
    total = len(grade.covered)
    got = sum(grade.covered)
    if grade.contradiction:
        why = CONTRADICTION_FEEDBACK[grade.contradiction]
        return f"No credit: {why} Reread the cited material."
    if got == total:
        return f"Covered all {total} key points."
    where = f" on {topic}" if topic else ""
    if not closed:
        return f"Covered {got} of {total} key points; missed {total - got}{where}. Reread the cited passages."
    named = [key_point_label(k["text"]) for k in key_points]
    credited = "; ".join(f'"{n}"' for n, ok in zip(named, grade.covered, strict=True) if ok) or "none"
    missed = "; ".join(f'"{n}"' for n, ok in zip(named, grade.covered, strict=True) if not ok)
    return f"Covered {got} of {total} key points. Credited: {credited}. Missed: {missed}. See the cited material."


CONTRADICTION_FEEDBACK = {
    "figure": "the answer states a figure the material does not give for this.",
    "polarity": "the answer says yes where the material says no, or the other way round.",
    "opposite": "the answer states the opposite of what the material says.",
}


def choice_feedback(choice: ChoiceGrade, keys: int, qtype: QuestionType) -> str:
    if choice.correct:
        return "Correct."
    if qtype != QuestionType.MULTI:
        return "Not correct. Review the cited material."
    return (
        f"Partly right: {choice.right} of {keys} right options chosen, {choice.wrong} wrong option(s) chosen; "
        f"credit {choice.credit:.2f} (right minus wrong choices over the right options, never below 0)."
    )


def _rep_result(answer: Answer, q: Question, closed: bool) -> RepResult:
    """What a rep is shown of one graded answer. Short answers: how many key points were missed and where
    the material covers them; the points' own words only once the assignment is closed. Choice items: where
    the material covers them only once the assignment is closed (before, it would answer the retake), and
    never for an item whose source names its answer."""
    feedback, citations = answer.feedback, answer.citations
    if q.type == QuestionType.SHORT and not closed and answer.detail and answer.detail.get("feedback_open"):
        feedback = answer.detail["feedback_open"]
    if q.type != QuestionType.SHORT and (q.source_reveals_key or not closed):
        citations = []
        if not answer.correct:
            queue = "It joins your review queue" + ("." if closed else " when this assignment is closed.")
            if answer.credit <= 0:
                feedback = f"Not correct. {queue}"
            elif not closed:  # how many picks were right would give the key away over a few retakes
                feedback = f"Partly right (credit {answer.credit:.2f}). {queue}"
            else:
                feedback = f"{feedback} {queue}"
    if answer.override_by:
        feedback = f"{feedback} Regraded by a manager: {answer.override_reason}"
    return RepResult(
        question_id=answer.question_id,
        prompt=q.prompt,
        correct=answer.correct,
        credit=answer.credit,
        feedback=feedback,
        citations=[Citation.model_validate(c) for c in citations],
    )


def _detail(attempt: Attempt, answers: Sequence[Answer]) -> AttemptDetail:
    return AttemptDetail(
        attempt_id=attempt.id,
        assignment_id=attempt.assignment_id,
        user=attempt.user,
        number=attempt.number,
        status=attempt.status,
        started_at=attempt.started_at,
        submitted_at=attempt.submitted_at,
        score=attempt.score,
        passed=attempt.passed,
        late=attempt.late,
        answers=[
            ManagerAnswer(
                question_id=a.question_id,
                correct=a.correct,
                credit=a.credit,
                feedback=a.feedback,
                citations=[Citation.model_validate(c) for c in a.citations],
                response=a.response,
                detail=a.detail,
                graded_credit=a.graded_credit,
                override_by=a.override_by,
                override_reason=a.override_reason,
                overridden_at=a.overridden_at,
            )
            for a in answers
        ],
    )


def _responses(attempt: Attempt, answers: Sequence[AnswerIn]) -> dict[str, AnswerIn]:
    """Answers by question, after checking they belong to this attempt and each question is answered once."""
    known = set(attempt.question_ids)
    unknown = sorted({a.question_id for a in answers} - known)
    if unknown:
        raise Unprocessable(
            f"these question ids are not in attempt {attempt.id}: {', '.join(unknown)}", details={"unknown": unknown}
        )
    ids = [a.question_id for a in answers]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise Unprocessable(f"answer each question once; answered twice: {', '.join(twice)}")
    return {a.question_id: a for a in answers}


def _chosen_indices(q: Question, attempt: Attempt, response: AnswerIn) -> set[int]:
    """Option indices in the stored order from what the rep chose (position as shown, or the option's text)."""
    options = q.options or []
    shown = attempt.option_orders.get(q.id, list(range(len(options))))
    if q.type == QuestionType.SINGLE:
        if response.choice is None or response.choices is not None or response.text is not None:
            raise Unprocessable(f"question {q.id} is single_choice: answer with `choice` (one option)")
        picks: list[int | str] = [response.choice]
    else:
        if response.choices is None or response.choice is not None or response.text is not None:
            raise Unprocessable(f"question {q.id} is multi_choice: answer with `choices` (a list of options)")
        picks = list(response.choices)
    chosen: set[int] = set()
    for pick in picks:
        if isinstance(pick, int):
            if not 0 <= pick < len(shown):
                raise Unprocessable(f"question {q.id} shows options 0..{len(shown) - 1}; {pick} is not one of them")
            chosen.add(shown[pick])
        else:
            matches = [i for i, o in enumerate(options) if normalise(o) == normalise(pick)]
            if not matches:
                raise Unprocessable(f"'{pick[:80]}' is not an option of question {q.id}")
            chosen.add(matches[0])
    return chosen
