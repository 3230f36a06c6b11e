"""The spaced review queue: each rep's missed items, scheduled by FSRS, and the passages they cite. No HTTP types.

A missed item enters the queue when its attempt is graded, but the rep sees it only once the assignment is closed
in every version of its quiz (passed, or no attempts left): before that, the material it cites would answer the
attempt.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from fsrs import Card, Rating, Scheduler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import transaction, utcnow
from services.core.errors import NotFound
from services.core.vectorstore import VectorStore
from services.enablement.assignments import open_lineages
from services.enablement.lookups import (
    PassageNotFound,
    load_sources,
    own_review_item,
    source_citation,
    stored_passage,
)
from services.enablement.models import Attempt, ItemStatus, Question, QuestionSource, QuestionType, Quiz, ReviewItem
from services.enablement.results import AnswerGrade
from services.enablement.schemas import PassageOut, ReviewOut, ReviewRating

RATINGS = {
    ReviewRating.AGAIN: Rating.Again,
    ReviewRating.HARD: Rating.Hard,
    ReviewRating.GOOD: Rating.Good,
    ReviewRating.EASY: Rating.Easy,
}
# FSRS with its published default parameters; a miss is an "again", a later right answer a "good".
SCHEDULER = Scheduler()


async def schedule_reviews(
    session: AsyncSession, attempt: Attempt, graded: Sequence[AnswerGrade], now: datetime
) -> None:
    """A missed item enters the rep's queue due at once (a new FSRS card; a queued one is reviewed "again"
    and brought forward); an item answered right that is already queued counts as a "good" review. After
    that, FSRS schedules each item from the rep's own review ratings."""
    question_ids = [g.question_id for g in graded]
    statuses = dict(
        (await session.execute(select(Question.id, Question.status).where(Question.id.in_(question_ids)))).all()
    )
    existing = {
        r.question_id: r
        for r in (
            await session.execute(
                select(ReviewItem).where(
                    ReviewItem.org_id == attempt.org_id,
                    ReviewItem.user == attempt.user,
                    ReviewItem.question_id.in_(question_ids),
                )
            )
        ).scalars()
    }
    for g in graded:
        item = existing.get(g.question_id)
        if g.correct and item is None:
            continue
        if item is None:
            # An explicit id: fsrs otherwise derives one from the clock and sleeps a millisecond per card.
            card = Card(card_id=secrets.randbits(48), due=now)
            item = ReviewItem(
                org_id=attempt.org_id,
                user=attempt.user,
                question_id=g.question_id,
                assignment_id=attempt.assignment_id,
                card={},
                due_at=now,
            )
            session.add(item)
        else:
            rating = Rating.Good if g.correct else Rating.Again
            card, _ = SCHEDULER.review_card(Card.from_dict(cast(Any, item.card)), rating, review_datetime=now)
        item.assignment_id = attempt.assignment_id
        item.card = dict(card.to_dict())
        item.due_at = card.due if g.correct else now
        item.misses = (item.misses or 0) + (0 if g.correct else 1)
        # An item retired after this attempt opened (even while it was being graded) is never reviewed.
        item.retired = bool(item.retired) or statuses.get(g.question_id) == ItemStatus.RETIRED
        item.updated_at = now


def review_out(item: ReviewItem, q: Question, sources: Sequence[QuestionSource]) -> ReviewOut:
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


async def _visible_item(
    session: AsyncSession, principal: Principal, review_id: str, *, live: bool
) -> tuple[ReviewItem, Question]:
    """The rep's own review item while its quiz is closed for the rep in every version (and, with `live`, not
    retired); anything else is a 404, whether it exists or not."""
    missing = NotFound(f"no review item {review_id} of yours")
    found = await own_review_item(session, principal, review_id)
    if found is None:
        raise missing
    item, question, quiz = found
    if (live and item.retired) or quiz.lineage_id in await open_lineages(session, principal):
        raise missing
    return item, question


class ReviewService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], store: VectorStore | None = None) -> None:
        self._sessions = sessions
        self._store = store

    async def reviews(self, principal: Principal, limit: int) -> list[ReviewOut]:
        """Due review items (FSRS), most overdue first: the question and where its answer is in the material."""
        async with self._sessions() as session:
            hidden = await open_lineages(session, principal)
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
        return [review_out(r, q, sources.get(q.id, [])) for r, q in rows]

    async def review(self, principal: Principal, review_id: str, rating: ReviewRating) -> ReviewOut:
        """Record how a review went; FSRS sets when the item is due next. 404 for an item that is not the rep's
        or not open for review yet."""
        now = utcnow()
        async with transaction(self._sessions) as session:
            item, question = await _visible_item(session, principal, review_id, live=False)
            card, _ = SCHEDULER.review_card(Card.from_dict(cast(Any, item.card)), RATINGS[rating], review_datetime=now)
            item.card, item.due_at = dict(card.to_dict()), card.due
            item.reviews += 1
            item.updated_at = now
            sources = await load_sources(session, [question.id])
        return review_out(item, question, sources.get(question.id, []))

    async def review_passage(self, principal: Principal, review_id: str, chunk_id: str) -> PassageOut:
        """A passage cited by one of the rep's review items (`GET /me/reviews` citations): what to check a
        recalled answer against. The `reviews` rule decides: an item whose assignment is still open in any
        version of its quiz, a retired item, or an item whose source would name its answer cites nothing.
        Anything else is a 404, whether it exists or not."""
        async with self._sessions() as session:
            item, question = await _visible_item(session, principal, review_id, live=True)
            sources = await load_sources(session, [question.id])
        cited = {c.chunk_id: c for c in review_out(item, question, sources.get(question.id, [])).citations}
        citation = cited.get(chunk_id)
        if citation is None:
            raise PassageNotFound(f"no passage {chunk_id} is cited by your review item {review_id}")
        return await stored_passage(self._store, principal, citation)
