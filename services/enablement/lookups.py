"""Org-scoped reads shared by the enablement services. No HTTP types here.

Every read is within the caller's organisation, and a rep's own rows (assignments, attempts, review items) within
the rep's: a row of another organisation or another rep is "not found", whether it exists or not, so its existence
is never confirmed. The cited passages a rep opens are read from the vector store under the same rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.auth import Principal
from services.core.errors import AppError, NotFound
from services.core.sales import Citation
from services.core.vectorstore import PointFilter, VectorStore
from services.enablement.models import Answer, Assignment, Attempt, Question, QuestionSource, Quiz, ReviewItem
from services.enablement.schemas import PassageOut


class QuizNotFound(NotFound):
    code = "quiz_not_found"


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"


class AttemptNotFound(NotFound):
    code = "attempt_not_found"


class PassageNotFound(NotFound):
    code = "passage_not_found"


class PassageGone(AppError):
    status_code = 410
    code = "passage_gone"


async def quiz_in_org(session: AsyncSession, org_id: str, quiz_id: str) -> Quiz:
    """The quiz, or 404 when it does not exist or belongs to another organisation (no existence leaks)."""
    quiz = await session.get(Quiz, quiz_id)
    if quiz is None or quiz.org_id != org_id:
        raise QuizNotFound(f"no quiz {quiz_id} in your organisation")
    return quiz


async def own_assignment(session: AsyncSession, principal: Principal, assignment_id: str) -> Assignment:
    assignment = await session.get(Assignment, assignment_id)
    # Another rep's assignment, or another org's, is not found (its existence is not confirmed).
    if assignment is None or assignment.org_id != principal.org or assignment.assignee != principal.sub:
        raise AssignmentNotFound(f"no assignment {assignment_id} of yours")
    return assignment


async def own_attempt(session: AsyncSession, principal: Principal, attempt_id: str) -> Attempt:
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None or attempt.org_id != principal.org or attempt.user != principal.sub:
        raise AttemptNotFound(f"no attempt {attempt_id} of yours")
    return attempt


async def org_attempt(session: AsyncSession, principal: Principal, attempt_id: str) -> Attempt:
    """Any attempt of the caller's organisation (the manager views)."""
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None or attempt.org_id != principal.org:
        raise AttemptNotFound(f"no attempt {attempt_id} in your organisation")
    return attempt


async def own_review_item(
    session: AsyncSession, principal: Principal, review_id: str
) -> tuple[ReviewItem, Question, Quiz] | None:
    """The rep's own review item with its question and quiz; None for anyone else's, or when any is gone."""
    item = await session.get(ReviewItem, review_id)
    question = await session.get(Question, item.question_id) if item is not None else None
    quiz = await session.get(Quiz, question.quiz_id) if question is not None else None
    if item is None or question is None or quiz is None:
        return None
    if item.org_id != principal.org or item.user != principal.sub:
        return None
    return item, question, quiz


async def questions_by_id(session: AsyncSession, question_ids: Sequence[str]) -> dict[str, Question]:
    rows = await session.execute(select(Question).where(Question.id.in_(question_ids)))
    return {q.id: q for q in rows.scalars()}


async def load_sources(session: AsyncSession, question_ids: Sequence[str]) -> dict[str, list[QuestionSource]]:
    """question id -> its provenance rows."""
    out: dict[str, list[QuestionSource]] = {}
    if question_ids:
        rows = await session.execute(select(QuestionSource).where(QuestionSource.question_id.in_(question_ids)))
        for s in rows.scalars():
            out.setdefault(s.question_id, []).append(s)
    return out


def source_citation(s: QuestionSource) -> Citation:
    """A provenance row as the citation the API shows."""
    return Citation(
        document_id=s.document_id, external_id=s.external_id, version=s.version, chunk_id=s.chunk_id, as_of=s.as_of
    )


async def attempts_of(session: AsyncSession, assignment_ids: Sequence[str]) -> dict[str, list[Attempt]]:
    """assignment id -> its attempts in order (assignments without any are left out)."""
    out: dict[str, list[Attempt]] = {}
    if assignment_ids:
        rows = await session.execute(
            select(Attempt).where(Attempt.assignment_id.in_(assignment_ids)).order_by(Attempt.number)
        )
        for attempt in rows.scalars():
            out.setdefault(attempt.assignment_id, []).append(attempt)
    return out


async def answers_of(session: AsyncSession, attempt: Attempt) -> list[Answer]:
    """The attempt's answers in the order its questions were asked."""
    rows = list((await session.execute(select(Answer).where(Answer.attempt_id == attempt.id))).scalars())
    order = {qid: i for i, qid in enumerate(attempt.question_ids)}
    return sorted(rows, key=lambda a: order.get(a.question_id, 0))


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
    return rows, await attempts_of(session, [a.id for a, _ in rows])


async def stored_passage(store: VectorStore | None, principal: Principal, citation: Citation) -> PassageOut:
    """The cited chunk as stored in the caller's organisation (the cited version, not the current one), or 410
    once it is gone. Callers decide first whether the caller may see this citation at all."""
    chunk_id = citation.chunk_id
    if store is None:
        raise PassageGone("this service has no access to the material")
    where = PointFilter(org_id=principal.org, document_id=citation.document_id, version=citation.version)
    point = next((p for p in await asyncio.to_thread(store.scroll, where) if p.id == chunk_id), None)
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
