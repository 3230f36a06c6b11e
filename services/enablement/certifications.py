"""Certifications: a rep is certified on a quiz by the assignment's best passing attempt. No HTTP types here.

A certification follows its assignment's attempts (submits and a manager's overrides); a material change that
retires an item the rep was certified on flags it for renewal (`lifecycle.py`), and passing a later version of
the same quiz renews it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.enablement.models import Assignment, Attempt, Certification, Quiz
from services.enablement.schemas import CertificationOut


async def sync_certification(session: AsyncSession, assignment: Assignment, now: datetime) -> None:
    """The assignment's certification follows its best passing attempt: created, updated, or removed when an
    override leaves none passing. A new one renews the rep's flagged certifications of earlier versions of
    the same quiz. The caller holds the assignment's row lock."""
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


class CertificationService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def certifications(self, principal: Principal, *, mine: bool) -> list[CertificationOut]:
        """The organisation's certifications (the caller's own with `mine`), oldest first."""
        async with self._sessions() as session:
            query = select(Certification).where(Certification.org_id == principal.org)
            if mine:
                query = query.where(Certification.user == principal.sub)
            rows = (await session.execute(query.order_by(Certification.certified_at))).scalars()
            return [CertificationOut.model_validate(c, from_attributes=True) for c in rows]
