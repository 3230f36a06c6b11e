"""Tables owned by the enablement service: quizzes and their questions (with provenance), assignments,
attempts and answers, review items, certifications and the reminder outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base, UTCDateTime, new_id, utcnow


class QuizStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"  # a newer version of it was published


class QuestionType(StrEnum):
    SINGLE = "single_choice"
    MULTI = "multi_choice"
    SHORT = "short_answer"


class ItemStatus(StrEnum):
    ACTIVE = "active"
    DROPPED = "dropped"  # removed by the reviewer before publishing
    RETIRED = "retired"  # its source material changed or was deleted


class AttemptStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"


class Quiz(Base):
    __tablename__ = "quizzes"
    __table_args__ = (UniqueConstraint("lineage_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=QuizStatus.DRAFT)
    # Versions of one quiz share a lineage (the first version's id); a revision names the one it replaces.
    lineage_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    replaces_id: Mapped[str | None] = mapped_column(String(36))
    # The generation request (slice of the material) and its report: generated, rejected and why.
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    quiz_id: Mapped[str] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    # "authored", or the generator that wrote it (which_feature, cloze_fact, where_we_win, persona_lead,
    # buyer_phrasing, explain_feature).
    origin: Mapped[str] = mapped_column(String(32))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str] | None] = mapped_column(JSON)
    # Indices into `options` (one for single_choice). Never leaves the server except in manager views.
    answers: Mapped[list[int] | None] = mapped_column(JSON)
    reference_answer: Mapped[str | None] = mapped_column(Text)
    # [{"text": ..., "citation": {...} | None}]
    key_points: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    explanation: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(300))
    persona: Mapped[str | None] = mapped_column(String(64))
    competitor: Mapped[str | None] = mapped_column(String(120))
    # Whether naming its source would name its answer (a "which feature is this" item cites nothing to reps).
    source_reveals_key: Mapped[bool] = mapped_column(Boolean, default=False)
    # The generator's inputs, so a retired item can be regenerated from the current material.
    recipe: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuestionSource(Base):
    """Provenance: the document, version and chunk an item was built from (several for multi-source items)."""

    __tablename__ = "question_sources"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[str] = mapped_column(String(36), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    chunk_id: Mapped[str] = mapped_column(String(36))
    as_of: Mapped[str | None] = mapped_column(String(40))


class Assignment(Base):
    __tablename__ = "assignments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    quiz_id: Mapped[str] = mapped_column(ForeignKey("quizzes.id"), index=True)
    assignee: Mapped[str] = mapped_column(String(200), index=True)
    assigned_by: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    pass_mark: Mapped[float] = mapped_column(Float)  # percent, 0-100
    max_attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"
    # Two concurrent starts cannot both take the last allowed attempt.
    __table_args__ = (UniqueConstraint("assignment_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    assignment_id: Mapped[str] = mapped_column(ForeignKey("assignments.id"), index=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # The questions in the order shown, and each choice question's option order as shown.
    question_ids: Mapped[list[str]] = mapped_column(JSON)
    option_orders: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=AttemptStatus.OPEN)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), index=True)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    correct: Mapped[bool] = mapped_column(Boolean)
    credit: Mapped[float] = mapped_column(Float)
    feedback: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Grader internals for managers: similarity, key points covered.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    graded_credit: Mapped[float] = mapped_column(Float)  # what the grader gave, kept after an override
    override_by: Mapped[str | None] = mapped_column(String(200))
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewItem(Base):
    """A missed fact in one rep's review queue, scheduled by FSRS."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("org_id", "user", "question_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), index=True)
    # The assignment of the last attempt that graded it. An item is shown only while the rep has no open
    # assignment of that quiz (any version): the material it cites would answer the attempt.
    assignment_id: Mapped[str] = mapped_column(String(36))
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Certification(Base):
    __tablename__ = "certifications"
    __table_args__ = (UniqueConstraint("assignment_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    quiz_id: Mapped[str] = mapped_column(ForeignKey("quizzes.id"), index=True)
    assignment_id: Mapped[str] = mapped_column(ForeignKey("assignments.id"))
    attempt_id: Mapped[str] = mapped_column(String(36))
    score: Mapped[float] = mapped_column(Float)
    certified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    needs_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    renewal_reason: Mapped[str | None] = mapped_column(Text)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """Reminders to deliver. `dedupe_key` makes sending idempotent: a reminder is written once, ever."""

    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
