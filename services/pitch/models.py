"""Tables owned by the pitch service: custom personas and a log of talk-track requests (per deal, what each
track showed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base, UTCDateTime, new_id, utcnow


class CustomPersona(Base):
    __tablename__ = "personas"
    __table_args__ = (UniqueConstraint("org_id", "persona_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    persona_id: Mapped[str] = mapped_column(String(64))
    # The whole profile as validated by PersonaIn.
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TalkTrackRequest(Base):
    __tablename__ = "talk_track_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    sub: Mapped[str] = mapped_column(String(200))
    persona: Mapped[str] = mapped_column(String(64))
    competitor: Mapped[str | None] = mapped_column(String(120))
    segment: Mapped[str | None] = mapped_column(String(32))
    context: Mapped[str | None] = mapped_column(Text)
    # The deal the track was for: its features are marked "already presented" in the deal's later tracks.
    deal_id: Mapped[str | None] = mapped_column(String(36), index=True)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    abstained: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
