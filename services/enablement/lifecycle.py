"""What happens without a request: source material changing under the items, and reminders.

Both are idempotent: a replayed `document.changed` finds nothing left to retire; a reminder is written to the
outbox once per (assignment, kind), ever, whatever the number of sweeps or workers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import and_, case, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.db import new_id, transaction, utcnow
from services.core.settings import EnablementSettings
from services.enablement.models import (
    Assignment,
    Attempt,
    Certification,
    ItemStatus,
    OutboxMessage,
    Question,
    QuestionSource,
    Quiz,
    ReviewItem,
)

log = structlog.get_logger(__name__)

# Webhook deliveries per sweep: bounded so one slow endpoint cannot hold a worker for long (the rest go on
# the next sweep).
DELIVERY_BATCH = 100
MAX_DELIVERY_ATTEMPTS = 10


async def retire_for_change(
    sessions: async_sessionmaker[AsyncSession], org_id: str, document_id: str, version: int | None, change: str
) -> dict[str, int]:
    """Retire every active item built from an older version of the document (all of them when it is gone),
    take them out of review queues, and flag certifications on quizzes that used them for renewal. Attempts
    already open keep their questions and are graded as they were shown."""
    now = utcnow()
    async with transaction(sessions) as session:
        stale = (
            select(QuestionSource.question_id)
            .join(Question, Question.id == QuestionSource.question_id)
            .where(
                QuestionSource.org_id == org_id,
                QuestionSource.document_id == document_id,
                Question.status == ItemStatus.ACTIVE,
            )
        )
        if version is not None:
            stale = stale.where(QuestionSource.version < version)
        external = await session.scalar(
            select(QuestionSource.external_id).where(QuestionSource.document_id == document_id).limit(1)
        )
        label = external or document_id
        reason = f"source {label} was deleted" if version is None else f"source {label} changed (now version {version})"
        # Only items still active: a replayed message, or a quiz that had only dropped items from this
        # document, retires and flags nothing.
        question_ids = list(set((await session.execute(stale)).scalars()))
        if not question_ids:
            return {"retired": 0, "flagged": 0}
        retired = await session.execute(
            update(Question)
            .where(Question.id.in_(question_ids), Question.status == ItemStatus.ACTIVE)
            .values(status=ItemStatus.RETIRED, status_reason=reason, updated_at=now)
        )
        await session.execute(
            update(ReviewItem).where(ReviewItem.question_id.in_(question_ids)).values(retired=True, updated_at=now)
        )
        quiz_ids = select(Question.quiz_id).where(Question.id.in_(question_ids)).distinct()
        flagged = await session.execute(
            update(Certification)
            .where(Certification.quiz_id.in_(quiz_ids), Certification.needs_renewal.is_(False))
            .values(needs_renewal=True, renewal_reason=reason, flagged_at=now)
        )
    counts = {"retired": int(retired.rowcount or 0), "flagged": int(flagged.rowcount or 0)}  # type: ignore[attr-defined]
    log.info("enablement.material_changed", document_id=document_id, change=change, **counts)
    return counts


def _insert(session: AsyncSession) -> Callable[..., Any]:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def queue_reminders(
    sessions: async_sessionmaker[AsyncSession], settings: EnablementSettings, now: datetime | None = None
) -> int:
    """Write due-soon and overdue reminders for every assignment that still needs the rep (not passed, attempts
    left). ON CONFLICT DO NOTHING on the dedupe key makes a second sweep, or a second worker, a no-op."""
    now = now or utcnow()
    soon = now + timedelta(hours=settings.due_soon_hours)
    written = 0
    async with transaction(sessions) as session:
        attempts = (
            select(
                Attempt.assignment_id,
                func.count(Attempt.id).label("used"),
                func.max(case((Attempt.passed.is_(True), 1), else_=0)).label("passed"),
            )
            .group_by(Attempt.assignment_id)
            .subquery()
        )
        rows = (
            await session.execute(
                select(Assignment, Quiz.title, attempts.c.used, attempts.c.passed)
                .join(Quiz, Quiz.id == Assignment.quiz_id)
                .outerjoin(attempts, attempts.c.assignment_id == Assignment.id)
                .where(
                    Assignment.due_at <= soon,
                    func.coalesce(attempts.c.passed, 0) == 0,
                    func.coalesce(attempts.c.used, 0) < Assignment.max_attempts,
                    # Past due and already reminded: done with, not rescanned on every sweep.
                    ~exists().where(OutboxMessage.dedupe_key == literal("overdue:") + Assignment.id),
                )
                # One insert order for every sweep: two concurrent sweeps wait on each other's first row
                # instead of locking rows in opposite orders (a deadlock on PostgreSQL).
                .order_by(Assignment.id)
            )
        ).all()
        insert = _insert(session)
        for assignment, title, used, passed in rows:
            if passed or (used or 0) >= assignment.max_attempts:
                continue
            kind = "overdue" if assignment.due_at <= now else "due_soon"
            payload = {
                "kind": kind,
                "assignment_id": assignment.id,
                "quiz_id": assignment.quiz_id,
                "quiz_title": title,
                "user": assignment.assignee,
                "org_id": assignment.org_id,
                "due_at": assignment.due_at.isoformat(),
                "attempts_used": int(used or 0),
                "max_attempts": assignment.max_attempts,
            }
            result = await session.execute(
                insert(OutboxMessage)
                .values(
                    id=new_id(),
                    org_id=assignment.org_id,
                    kind=kind,
                    dedupe_key=f"{kind}:{assignment.id}",
                    recipient=assignment.assignee,
                    payload=payload,
                    created_at=now,
                    attempts=0,
                )
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
            written += int(result.rowcount or 0)  # type: ignore[attr-defined]
    if written:
        log.info("enablement.reminders.queued", count=written)
    return written


async def deliver_reminders(sessions: async_sessionmaker[AsyncSession], settings: EnablementSettings) -> int:
    """POST undelivered reminders to the webhook (when one is configured). At least once: a message is marked
    delivered after a 2xx; receivers deduplicate on `id`."""
    if not settings.reminder_webhook_url:
        return 0
    async with sessions() as session:
        pending = list(
            (
                await session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.attempts < MAX_DELIVERY_ATTEMPTS)
                    .order_by(OutboxMessage.created_at)
                    .limit(DELIVERY_BATCH)
                )
            ).scalars()
        )
    delivered = 0
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:
        for message in pending:
            error: str | None = None
            try:
                response = await client.post(
                    settings.reminder_webhook_url,
                    json={"id": message.id, **message.payload},
                    headers={"Idempotency-Key": message.id},
                )
                if response.status_code >= 300:
                    error = f"webhook answered {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            async with transaction(sessions) as session:
                values: dict[str, Any] = {"attempts": OutboxMessage.attempts + 1, "last_error": error}
                if error is None:
                    values["delivered_at"] = utcnow()
                    delivered += 1
                await session.execute(
                    update(OutboxMessage)
                    .where(and_(OutboxMessage.id == message.id, OutboxMessage.delivered_at.is_(None)))
                    .values(**values)
                )
    return delivered
