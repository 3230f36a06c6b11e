"""Assignments: who takes which published quiz by when, with what pass mark and attempt limit, and the state each
is in. No HTTP types here.

The state also decides what a rep may see: while the rep still has an assignment open in any version of a quiz,
the material its choice items and review items cite would answer the attempt, so it stays hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import new_id, transaction, utcnow
from services.core.errors import Conflict
from services.enablement.lookups import assignments_with_attempts, attempts_of, quiz_in_org
from services.enablement.models import Assignment, Attempt, AttemptStatus, Quiz, QuizStatus
from services.enablement.schemas import AssignmentIn, AssignmentOut

log = structlog.get_logger(__name__)

# Assignment states in which the rep can attempt no more.
CLOSED = ("passed", "out_of_attempts")


class QuizNotPublished(Conflict):
    code = "quiz_not_published"


def assignment_state(assignment: Assignment, attempts: Sequence[Attempt]) -> tuple[str, float | None, bool]:
    """(status, best submitted score, passed) of an assignment given its attempts."""
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
    status, best, passed = assignment_state(assignment, attempts)
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


async def open_lineages(session: AsyncSession, principal: Principal) -> set[str]:
    """Quiz lineages the rep still has an assignment to take (not passed, attempts left): their review items stay
    hidden, since the material they cite would answer the attempt, in any version of the quiz."""
    rows = (
        await session.execute(
            select(Assignment, Quiz.lineage_id)
            .join(Quiz, Quiz.id == Assignment.quiz_id)
            .where(Assignment.org_id == principal.org, Assignment.assignee == principal.sub)
        )
    ).all()
    attempts = await attempts_of(session, [a.id for a, _ in rows])
    return {lineage for a, lineage in rows if assignment_state(a, attempts.get(a.id, []))[0] not in CLOSED}


async def closed_for(session: AsyncSession, principal: Principal, quiz_id: str) -> bool:
    """Whether the rep has no open assignment of this quiz in any version: only then may graded results cite the
    material of choice items (the same rule as for reviews)."""
    lineage = await session.scalar(select(Quiz.lineage_id).where(Quiz.id == quiz_id))
    return lineage not in await open_lineages(session, principal)


class AssignmentService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def assign(self, principal: Principal, data: AssignmentIn) -> list[AssignmentOut]:
        """One assignment per rep named; only a published quiz of the caller's organisation can be assigned."""
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
