"""Manager reports: completion and scores, overdue, item analysis, readiness by persona and competitor.

Item analysis uses every submitted attempt of a quiz: facility is the mean credit of an item (1.0: everyone
gets it); discrimination is the point-biserial correlation between an item's credit and the attempt's score
on the other items (near 0 or negative: the item does not separate reps who know the material from those
who do not). Both are null below `MIN_ATTEMPTS` attempts or when nobody varies.
Readiness counts each rep's latest submitted attempt per assignment: mean credit per persona and per
competitor the items are tagged with, and whether a certification needs renewal.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import utcnow
from services.enablement.assignments import CLOSED, assignment_out
from services.enablement.lookups import assignments_with_attempts, quiz_in_org
from services.enablement.models import (
    Answer,
    Assignment,
    Attempt,
    AttemptStatus,
    Certification,
    OutboxMessage,
    Question,
)
from services.enablement.schemas import (
    AssignmentOut,
    AttemptScore,
    Cell,
    CompletionReport,
    CompletionSummary,
    ItemReport,
    ItemStats,
    ReadinessReport,
    ReminderOut,
    RepReadiness,
    RepScores,
)

MIN_ATTEMPTS = 3


def _point_biserial(item: list[float], rest: list[float]) -> float | None:
    if len(item) < MIN_ATTEMPTS or len(set(item)) < 2 or len(set(rest)) < 2:
        return None
    return round(statistics.correlation(item, rest), 3)


class ReportService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def completion(self, principal: Principal, quiz_id: str | None, overdue_only: bool) -> CompletionReport:
        now = utcnow()
        async with self._sessions() as session:
            rows, attempts = await assignments_with_attempts(session, principal.org, quiz_id=quiz_id)
        outs = [assignment_out(a, title, attempts.get(a.id, []), now) for a, title in rows]
        by_quiz: dict[str, list[AssignmentOut]] = defaultdict(list)
        for out in outs:
            by_quiz[out.quiz_id].append(out)
        summaries = []
        for qid, items in by_quiz.items():
            best = [o.best_score for o in items if o.best_score is not None]
            completed = sum(o.status in CLOSED for o in items)
            passed = sum(o.passed for o in items)
            summaries.append(
                CompletionSummary(
                    quiz_id=qid,
                    quiz_title=items[0].quiz_title,
                    assigned=len(items),
                    started=sum(o.attempts_used > 0 for o in items),
                    completed=completed,
                    passed=passed,
                    overdue=sum(o.overdue for o in items),
                    completion_rate=round(completed / len(items), 3),
                    pass_rate=round(passed / len(items), 3),
                    mean_best_score=round(statistics.fmean(best), 1) if best else None,
                    median_best_score=round(statistics.median(best), 1) if best else None,
                )
            )
        if overdue_only:
            outs = [o for o in outs if o.overdue]
        return CompletionReport(generated_at=now, quizzes=summaries, assignments=outs)

    async def scores(self, principal: Principal, quiz_id: str | None) -> list[RepScores]:
        """Every submitted attempt's score per assignment, oldest first, with the best and the pass mark."""
        async with self._sessions() as session:
            rows, attempts = await assignments_with_attempts(session, principal.org, quiz_id=quiz_id)
        out = []
        for assignment, title in rows:
            done = [a for a in attempts.get(assignment.id, []) if a.status == AttemptStatus.SUBMITTED]
            out.append(
                RepScores(
                    assignment_id=assignment.id,
                    quiz_id=assignment.quiz_id,
                    quiz_title=title,
                    assignee=assignment.assignee,
                    pass_mark=assignment.pass_mark,
                    attempts=[
                        AttemptScore(
                            number=a.number,
                            score=float(a.score or 0.0),
                            passed=bool(a.passed),
                            late=a.late,
                            submitted_at=a.submitted_at,
                        )
                        for a in done
                    ],
                    best=max((float(a.score or 0.0) for a in done), default=None),
                )
            )
        return out

    async def items(self, principal: Principal, quiz_id: str) -> ItemReport:
        async with self._sessions() as session:
            await quiz_in_org(session, principal.org, quiz_id)
            questions = list(
                (
                    await session.execute(
                        select(Question).where(Question.quiz_id == quiz_id).order_by(Question.position)
                    )
                ).scalars()
            )
            rows = (
                await session.execute(
                    select(Answer)
                    .join(Attempt, Attempt.id == Answer.attempt_id)
                    .join(Assignment, Assignment.id == Attempt.assignment_id)
                    .where(Assignment.quiz_id == quiz_id, Attempt.status == AttemptStatus.SUBMITTED)
                )
            ).scalars()
            by_attempt: dict[str, dict[str, Answer]] = defaultdict(dict)
            for answer in rows:
                by_attempt[answer.attempt_id][answer.question_id] = answer
        totals = {aid: sum(a.credit for a in answers.values()) for aid, answers in by_attempt.items()}
        stats = []
        for q in questions:
            pairs = [
                (answers[q.id].credit, totals[aid] - answers[q.id].credit)
                for aid, answers in by_attempt.items()
                if q.id in answers
            ]
            item_credits = [c for c, _ in pairs]
            stats.append(
                ItemStats(
                    question_id=q.id,
                    position=q.position,
                    prompt=q.prompt,
                    type=q.type,
                    origin=q.origin,
                    status=q.status,
                    answered=len(pairs),
                    facility=round(statistics.fmean(item_credits), 3) if item_credits else None,
                    discrimination=_point_biserial(item_credits, [r for _, r in pairs]),
                    overridden=sum(
                        1 for answers in by_attempt.values() if q.id in answers and answers[q.id].override_by
                    ),
                )
            )
        return ItemReport(quiz_id=quiz_id, attempts=len(by_attempt), items=stats)

    async def reminders(self, principal: Principal, limit: int) -> list[ReminderOut]:
        """The org's reminder outbox, newest first: what was sent to whom, and whether the webhook took it."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.org_id == principal.org)
                    .order_by(OutboxMessage.created_at.desc())
                    .limit(limit)
                )
            ).scalars()
            return [ReminderOut.model_validate(m, from_attributes=True) for m in rows]

    async def readiness(self, principal: Principal) -> ReadinessReport:
        async with self._sessions() as session:
            latest: dict[str, Attempt] = {}
            for attempt in (
                await session.execute(
                    select(Attempt)
                    .where(Attempt.org_id == principal.org, Attempt.status == AttemptStatus.SUBMITTED)
                    .order_by(Attempt.number)
                )
            ).scalars():
                latest[attempt.assignment_id] = attempt  # the last submitted attempt of each assignment
            answers: list[tuple[str, Answer, Question]] = []
            ids = [a.id for a in latest.values()]
            if ids:
                users = {a.id: a.user for a in latest.values()}
                for answer, question in (
                    await session.execute(
                        select(Answer, Question)
                        .join(Question, Question.id == Answer.question_id)
                        .where(Answer.attempt_id.in_(ids))
                    )
                ).all():
                    answers.append((users[answer.attempt_id], answer, question))
            certs = list(
                (await session.execute(select(Certification).where(Certification.org_id == principal.org))).scalars()
            )
        cells: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
            lambda: {"personas": defaultdict(list), "competitors": defaultdict(list), "all": defaultdict(list)}
        )
        for user, answer, question in answers:
            cells[user]["all"]["all"].append(answer.credit)
            if question.persona:
                cells[user]["personas"][question.persona].append(answer.credit)
            if question.competitor:
                cells[user]["competitors"][question.competitor].append(answer.credit)
        everyone = sorted(set(cells) | {c.user for c in certs})

        def cell(values: list[float]) -> Cell:
            return Cell(score=round(100 * statistics.fmean(values), 1), answered=len(values))

        reps = []
        for user in everyone:
            mine = cells.get(user) if user in cells else None
            groups: dict[str, Any] = mine or {"personas": {}, "competitors": {}, "all": {}}
            reps.append(
                RepReadiness(
                    user=user,
                    overall=cell(groups["all"]["all"]) if groups["all"].get("all") else None,
                    personas={k: cell(v) for k, v in sorted(groups["personas"].items())},
                    competitors={k: cell(v) for k, v in sorted(groups["competitors"].items())},
                    certifications=sum(c.user == user for c in certs),
                    needs_renewal=sum(c.user == user and c.needs_renewal for c in certs),
                )
            )
        return ReadinessReport(
            generated_at=utcnow(),
            personas=sorted({p for r in reps for p in r.personas}),
            competitors=sorted({c for r in reps for c in r.competitors}),
            reps=reps,
        )
