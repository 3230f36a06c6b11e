"""Tables owned by the ingest service: documents, their versions, and ingest jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.core.db import Base, UTCDateTime, new_id, utcnow


class DocumentKind(StrEnum):
    FEATURE = "feature"
    COMPETITOR = "competitor"
    CASE_STUDY = "case_study"
    OBJECTION = "objection"
    CALL_NOTE = "call_note"
    OTHER = "other"


class VersionStatus(StrEnum):
    PENDING = "pending"
    INDEXED = "indexed"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("org_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    product: Mapped[str | None] = mapped_column(String(120))
    competitor: Mapped[str | None] = mapped_column(String(120))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner: Mapped[str | None] = mapped_column(String(200))
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_interval_days: Mapped[int] = mapped_column(Integer)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(200))
    # verified_at (else as_of, else creation) + review_interval_days: past it, the document is stale.
    review_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The version searches may return; switched only after its points are all in the vector store.
    current_version: Mapped[int | None] = mapped_column(Integer)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )

    def apply_meta(self, meta: dict[str, Any]) -> None:
        """Make the document describe the version whose metadata this is (DocumentVersion.meta)."""
        self.title = meta["title"]
        self.kind = meta["kind"]
        self.product = meta["product"]
        self.competitor = meta["competitor"]
        self.tags = list(meta["tags"])
        self.as_of = datetime.fromisoformat(meta["as_of"])
        self.expires_at = datetime.fromisoformat(meta["expires_at"]) if meta["expires_at"] else None
        self.review_interval_days = int(meta["review_interval_days"])
        self.review_due_at = (self.verified_at or self.as_of) + timedelta(days=self.review_interval_days)


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # Raw text is kept so the whole index can be rebuilt after a model or chunking change.
    content: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(300))
    # Hash of everything that shapes the indexed points (text and the payload fields).
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The metadata this version was posted with (title, kind, product, competitor, tags, as_of, expires_at,
    # review_interval_days): its points carry it, and it becomes the document's when the version switches in.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.PENDING)
    chunk_count: Mapped[int | None] = mapped_column(Integer)
    reused_embeddings: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    indexed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    document: Mapped[Document] = relationship(back_populates="versions", lazy="raise")


class VersionUpload(Base):
    """An HTML, PDF or DOCX upload as it was sent, kept until the version's job has parsed it in the sandbox.

    The request stores it and answers 202; the worker (in another process or on another machine in distributed
    mode) reads it from here. Deleted once parsed (the version keeps the parsed text, which is what a rebuild
    needs), when the version fails, and when a newer version supersedes it unparsed."""

    __tablename__ = "version_uploads"

    version_id: Mapped[str] = mapped_column(ForeignKey("document_versions.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestJob(Base):
    __tablename__ = "ingest_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED, index=True)
    # Versions this job indexes, in order: [{"document_id": ..., "version": ...}].
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    reused: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a message for the job was last published (the API's enqueue, a retry, the sweep's re-send) and when a
    # worker last received one. Sent after the last delivery: a message is on its way (in a queue, or a retry a
    # worker holds), so the sweep leaves the job alone. `updated_at` is the running job's lease; the sweep never
    # touches it.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
