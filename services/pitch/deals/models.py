"""Tables of deals: deals, their meeting notes (with the stored analysis) and per-org sales processes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base, UTCDateTime, new_id, utcnow


class Deal(Base):
    __tablename__ = "deals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    # The rep's `sub`: who may update the deal; managers of the org read every deal.
    owner: Mapped[str] = mapped_column(String(200), index=True)
    account_name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(64))
    # [{name, role, persona}] as validated by StakeholderIn.
    stakeholders: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    competitors: Mapped[list[str]] = mapped_column(JSON, default=list)
    amount: Mapped[float | None] = mapped_column(Numeric(16, 2, asdecimal=False))
    close_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DealNote(Base):
    __tablename__ = "deal_notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    deal_id: Mapped[str] = mapped_column(String(36), ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str] = mapped_column(String(200))
    meeting_date: Mapped[date] = mapped_column(Date, index=True)
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    # The note's sentences as analysed (citations index into this list) and what was extracted from them.
    sentences: Mapped[list[str]] = mapped_column(JSON, default=list)
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_step_missing: Mapped[bool] = mapped_column(Boolean, default=True)
    next_step_date: Mapped[date | None] = mapped_column(Date)
    analyser_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SalesProcessOverride(Base):
    """An organisation's own process for one segment; without a row the built-in default applies."""

    __tablename__ = "sales_processes"
    __table_args__ = (UniqueConstraint("org_id", "segment"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    segment: Mapped[str] = mapped_column(String(32))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
