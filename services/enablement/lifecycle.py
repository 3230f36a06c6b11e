"""What happens without a request: source material changing under the items, and reminders.

Both are idempotent: a replayed `document.changed` finds nothing left to retire; a reminder is written to the
outbox once per (assignment, kind), ever, whatever the number of sweeps or workers.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Callable, Sequence
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
from services.core.text import split_sentences
from services.core.vectorstore import PointFilter, VectorStore
from services.enablement.grading import quantities
from services.enablement.material import content_words, normalise
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


# A sentence of the new version states an item's fact when it is the same text but for small edits (a typo, a
# comma): this close by difflib's ratio on normalised text, with the same figures and the same negations.
SAME_FACT_RATIO = 0.93
_NEGATION = re.compile(r"\b(?:not|no|never|none|cannot|without)\b|n't\b", re.I)


def still_stated(fact: str, sentences: Sequence[str]) -> str | None:
    """The sentence of `sentences` that states `fact` unchanged in substance, or None."""
    wanted = normalise(fact)
    figures = sorted((q.dim, round(q.value, 6)) for q in quantities(fact))
    negations = len(_NEGATION.findall(fact))
    for sentence in sentences:
        text = normalise(sentence)
        if wanted in text:
            return sentence
        matcher = difflib.SequenceMatcher(None, wanted, text, autojunk=False)
        if matcher.real_quick_ratio() < SAME_FACT_RATIO or matcher.quick_ratio() < SAME_FACT_RATIO:
            continue
        if (
            matcher.ratio() >= SAME_FACT_RATIO
            and sorted((q.dim, round(q.value, 6)) for q in quantities(sentence)) == figures
            and len(_NEGATION.findall(sentence)) == negations
        ):
            return sentence
    return None


async def retire_for_change(
    sessions: async_sessionmaker[AsyncSession],
    org_id: str,
    document_id: str,
    version: int | None,
    change: str,
    store: VectorStore | None = None,
) -> dict[str, int]:
    """Decide, item by item, what a change of a document means for the active items built from an older version.

    An item that records the sentences it tests (`recipe.facts`) is kept, moved onto the new version, when the
    new version still states every one of them (`still_stated`: a typo fix, an edit in another section); the
    manager sees why in its status reason. Any other item is retired (all of them when the document is gone),
    taken out of review queues, and certifications on quizzes that used it are flagged for renewal, with the
    fact that changed named in the reason. Attempts already open keep their questions and are graded as they
    were shown. Idempotent: a replayed message finds nothing left to decide."""
    now = utcnow()
    new_chunks: list[tuple[str, list[str]]] = []
    if version is not None and store is not None:
        # The newest version stored, not necessarily the message's: a message handled late (two edits in quick
        # succession, a retry) finds the older version's points already removed by the switch to the newer one.
        points = await asyncio.to_thread(store.scroll, PointFilter(org_id=org_id, document_id=document_id))
        newest = max((int(p.payload.get("version", 0)) for p in points), default=None)
        if newest is None or newest < version:
            # No text to compare with (being re-indexed): decide nothing now rather than retire on missing text.
            log.warning("enablement.material_changed.no_text", document_id=document_id, version=version)
            return {"retired": 0, "flagged": 0, "kept": 0}
        version = newest
        new_chunks = [
            (p.id, split_sentences(str(p.payload.get("text", ""))))
            for p in points
            if int(p.payload.get("version", 0)) == newest
        ]
    async with transaction(sessions) as session:
        stale = (
            select(Question)
            .join(QuestionSource, Question.id == QuestionSource.question_id)
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
        questions = {q.id: q for q in (await session.execute(stale)).scalars()}
        if not questions:
            return {"retired": 0, "flagged": 0, "kept": 0}
        retire: dict[str, str] = {}
        kept = 0
        for q in questions.values():
            if version is None:
                retire[q.id] = f"source {label} was deleted"
                continue
            facts = [str(f) for f in (q.recipe or {}).get("facts") or []]
            found = {f: _find(f, new_chunks) for f in facts}
            gone = [f for f, where in found.items() if where is None]
            if not facts or gone:
                what = f': "{_clip(gone[0])}" is no longer stated' if gone else ""
                retire[q.id] = f"source {label} changed (now version {version}){what}"
                continue
            chunk_ids = {where[0] for where in found.values() if where is not None}
            await session.execute(
                update(QuestionSource)
                .where(QuestionSource.question_id == q.id, QuestionSource.document_id == document_id)
                .values(version=version, chunk_id=sorted(chunk_ids)[0])
            )
            if q.key_points:  # their citations follow too, to the chunk now holding the closest fact
                q.key_points = [_recite(k, document_id, version, found) for k in q.key_points]
            q.status_reason = (
                f"kept: source {label} changed (now version {version}); the sentences this item tests are unchanged"
            )
            q.updated_at = now
            kept += 1
        if not retire:
            log.info("enablement.material_changed", document_id=document_id, change=change, retired=0, kept=kept)
            return {"retired": 0, "flagged": 0, "kept": kept}
        retired = 0
        for qid, reason in retire.items():
            result = await session.execute(
                update(Question)
                .where(Question.id == qid, Question.status == ItemStatus.ACTIVE)
                .values(status=ItemStatus.RETIRED, status_reason=reason, updated_at=now)
            )
            retired += int(result.rowcount or 0)  # type: ignore[attr-defined]
        await session.execute(
            update(ReviewItem).where(ReviewItem.question_id.in_(list(retire))).values(retired=True, updated_at=now)
        )
        quiz_ids = select(Question.quiz_id).where(Question.id.in_(list(retire))).distinct()
        first_reason = next(iter(retire.values()))
        flagged = await session.execute(
            update(Certification)
            .where(Certification.quiz_id.in_(quiz_ids), Certification.needs_renewal.is_(False))
            .values(needs_renewal=True, renewal_reason=first_reason, flagged_at=now)
        )
    counts = {"retired": retired, "flagged": int(flagged.rowcount or 0), "kept": kept}  # type: ignore[attr-defined]
    log.info("enablement.material_changed", document_id=document_id, change=change, **counts)
    return counts


def _find(fact: str, chunks: Sequence[tuple[str, list[str]]]) -> tuple[str, str] | None:
    for chunk_id, sentences in chunks:
        sentence = still_stated(fact, sentences)
        if sentence is not None:
            return chunk_id, sentence
    return None


def _recite(
    point: dict[str, Any], document_id: str, version: int, found: dict[str, tuple[str, str] | None]
) -> dict[str, Any]:
    citation = point.get("citation")
    if not citation or citation.get("document_id") != document_id:
        return point
    wanted = content_words(point["text"])
    places = [where for where in found.values() if where is not None]
    chunk_id, _ = max(places, key=lambda where: len(wanted & content_words(where[1])))
    return {**point, "citation": {**citation, "version": version, "chunk_id": chunk_id}}


def _clip(text: str, words: int = 12) -> str:
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]) + " ..."


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
