"""Attempts: starting one, server-side grading on submit, the rep's result and cited passages, and the manager's
view and regrade. No HTTP types here.

A submit records the grades once (`results.AnswerGrade`), queues the missed items for review (`reviews.py`) and
brings the assignment's certification in line (`certifications.py`). What a rep receives is built only from the
`Rep*` and `Result` schemas (`results.rep_result`): no key, reference, explanation or provenance of an unanswered
question ever leaves the server.
"""

from __future__ import annotations

import asyncio
import random
import secrets

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import new_id, transaction, utcnow
from services.core.embeddings import EmbeddingCache
from services.core.errors import Conflict, NotFound
from services.core.vectorstore import VectorStore
from services.enablement.assignments import closed_for
from services.enablement.certifications import sync_certification
from services.enablement.grading import POLICY
from services.enablement.lookups import (
    AttemptNotFound,
    PassageNotFound,
    answers_of,
    attempts_of,
    load_sources,
    org_attempt,
    own_assignment,
    own_attempt,
    questions_by_id,
    stored_passage,
)
from services.enablement.models import Answer, Assignment, Attempt, AttemptStatus, ItemStatus, Question, QuestionType
from services.enablement.results import attempt_detail, check_responses, grade_answer, rep_result, score_of
from services.enablement.reviews import schedule_reviews
from services.enablement.schemas import (
    AttemptDetail,
    AttemptOut,
    OverrideIn,
    PassageOut,
    RepQuestion,
    SubmitIn,
    SubmitOut,
)

log = structlog.get_logger(__name__)


class AttemptAlreadySubmitted(Conflict):
    code = "attempt_already_submitted"


class AttemptLimitReached(Conflict):
    code = "attempt_limit_reached"


class AlreadyPassed(Conflict):
    code = "already_passed"


class NothingToAsk(Conflict):
    code = "nothing_to_ask"


class AttemptService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], embeddings: EmbeddingCache, store: VectorStore | None = None
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._embed = embeddings.embed

    # --- taking an attempt -----------------------------------------------------------------------------------

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
            assignment = await own_assignment(session, principal, assignment_id)
            attempts = (await attempts_of(session, [assignment_id])).get(assignment_id, [])
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
            by_id = await questions_by_id(session, attempt.question_ids)
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

    async def submit(self, principal: Principal, attempt_id: str, data: SubmitIn) -> SubmitOut:
        """Grade on the server and record the result once: a second submit of the attempt is a 409."""
        async with self._sessions() as session:
            attempt = await own_attempt(session, principal, attempt_id)
            if attempt.status != AttemptStatus.OPEN:
                raise AttemptAlreadySubmitted(f"attempt {attempt_id} was already submitted; start a new attempt")
            assignment = await session.get(Assignment, attempt.assignment_id)
            assert assignment is not None
            questions = await questions_by_id(session, attempt.question_ids)
            sources = await load_sources(session, list(questions))
        responses = check_responses(attempt, data.answers)
        graded = await asyncio.to_thread(
            lambda: [
                grade_answer(questions[qid], attempt, responses.get(qid), sources.get(qid, []), self._embed)
                for qid in attempt.question_ids
            ]
        )
        now = utcnow()
        score, passed = score_of([g.credit for g in graded], assignment.pass_mark)
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
                    question_id=g.question_id,
                    response=g.response,
                    correct=g.correct,
                    credit=g.credit,
                    graded_credit=g.credit,
                    feedback=g.feedback,
                    citations=list(g.citations),
                    detail=g.detail,
                )
                for g in graded
            ]
            session.add_all(answers)
            await schedule_reviews(session, attempt, graded, now)
            await sync_certification(session, assignment, now)
        log.info("enablement.attempt.submitted", attempt_id=attempt_id, score=score, passed=passed, late=late)
        async with self._sessions() as session:
            closed = await closed_for(session, principal, assignment.quiz_id)
        return SubmitOut(
            attempt_id=attempt_id,
            score=score,
            passed=passed,
            late=late,
            results=[rep_result(a, questions[a.question_id], closed) for a in answers],
        )

    # --- the rep's result ------------------------------------------------------------------------------------

    async def result(self, principal: Principal, attempt_id: str) -> SubmitOut:
        """A rep's own graded attempt (the same view the submit returned, as of now)."""
        async with self._sessions() as session:
            attempt = await own_attempt(session, principal, attempt_id)
            if attempt.status != AttemptStatus.SUBMITTED:
                raise Conflict(f"attempt {attempt_id} is not submitted yet")
            answers = await answers_of(session, attempt)
            assignment = await session.get(Assignment, attempt.assignment_id)
            assert assignment is not None
            closed = await closed_for(session, principal, assignment.quiz_id)
            questions = await questions_by_id(session, attempt.question_ids)
        return SubmitOut(
            attempt_id=attempt.id,
            score=attempt.score or 0.0,
            passed=bool(attempt.passed),
            late=attempt.late,
            results=[rep_result(a, questions[a.question_id], closed) for a in answers],
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
        return await stored_passage(self._store, principal, citation)

    # --- manager views ---------------------------------------------------------------------------------------

    async def detail(self, principal: Principal, attempt_id: str) -> AttemptDetail:
        async with self._sessions() as session:
            attempt = await org_attempt(session, principal, attempt_id)
            answers = await answers_of(session, attempt)
        return attempt_detail(attempt, answers)

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
            answers = await answers_of(session, attempt)
            assignment = await session.get(Assignment, attempt.assignment_id)
            assert assignment is not None
            attempt.score, attempt.passed = score_of([a.credit for a in answers], assignment.pass_mark)
            await sync_certification(session, assignment, now)
        log.info("enablement.grade.overridden", attempt_id=attempt_id, question_id=question_id, by=principal.sub)
        return attempt_detail(attempt, answers)
