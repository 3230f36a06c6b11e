"""Ingest logic: submissions become versions and jobs; listing, verification, deletion. No HTTP types here."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.auth import Principal
from services.core.db import new_id, transaction, utcnow
from services.core.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from services.core.settings import IngestSettings
from services.core.text import sha256_hex
from services.core.vectorstore import PointFilter, VectorStore
from services.ingest.extract import ParseLimits
from services.ingest.models import Document, DocumentKind, DocumentVersion, IngestJob, VersionStatus, VersionUpload
from services.ingest.parsing import (
    SANDBOXED,
    Format,
    ParsedContent,
    check_upload,
    detect_format,
    parse_content,
    parse_content_async,
)
from services.ingest.pipeline import DocumentChange
from services.ingest.schemas import (
    META_FIELDS,
    ChunkList,
    ChunkOut,
    DocumentAccepted,
    DocumentMeta,
    DocumentOut,
    JobOut,
    Progress,
    VersionDetail,
    VersionList,
    VersionOut,
)

log = structlog.get_logger(__name__)

# Sends "ingest.process_job" by name after the commit (the API never imports the worker's code).
EnqueueJob = Callable[[str], None]


class DocumentNotFound(NotFound):
    code = "document_not_found"


class JobNotFound(NotFound):
    code = "job_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


@dataclass(frozen=True, slots=True)
class RawUpload:
    """An HTML, PDF or DOCX upload kept as sent: its job parses it in the sandbox, off the request path."""

    data: bytes
    format: Format

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class Submission:
    """A validated document: its metadata and its text, parsed (markdown, text) or still to parse (RawUpload)."""

    meta: DocumentMeta
    content: ParsedContent | RawUpload
    filename: str | None = None

    @property
    def text(self) -> str | None:
        """The parsed text; None until the job parses a raw upload."""
        return self.content.text if isinstance(self.content, ParsedContent) else None

    @property
    def external_id(self) -> str:
        return self.meta.external_id

    def version_meta(self, default_interval: int, now: datetime) -> dict[str, Any]:
        """What the new version's points carry and the document takes on when the version switches in."""
        m = self.meta
        return {
            "title": m.title,
            "kind": m.kind.value,
            "product": m.product,
            "competitor": m.competitor,
            "tags": m.tags,
            "as_of": (m.as_of or now).isoformat(),
            "expires_at": m.expires_at.isoformat() if m.expires_at else None,
            "review_interval_days": m.review_interval_days or default_interval,
            # Set by the job once it has parsed a raw upload.
            "content_hash": sha256_hex(self.text) if self.text is not None else None,
        }

    def fingerprint(self) -> str:
        """Everything that shapes the indexed points; equal fingerprints mean re-indexing changes nothing."""
        m = self.meta
        # A raw upload is known by its bytes: the same file again is unchanged without parsing it.
        c = self.content
        content = c.text if isinstance(c, ParsedContent) else f"upload:{c.format.value}:{c.sha256}"
        return sha256_hex(
            content,
            m.kind.value,
            m.title,
            m.product or "",
            m.competitor or "",
            ",".join(m.tags),
            m.as_of.isoformat() if m.as_of else "",
            m.expires_at.isoformat() if m.expires_at else "",
        )


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]


def to_submission(
    fields: dict[str, Any],
    content: bytes | str,
    *,
    filename: str | None,
    max_chars: int,
    defaults: dict[str, Any] | None = None,
    limits: ParseLimits | None = None,
) -> Submission:
    """Parse the content (HTML, PDF, DOCX in the sandbox, waited for in this thread); fields given win over
    front matter, which wins over `defaults`; validate.

    Raises UnsupportedMediaType (415) or Unprocessable (422) with what to fix."""
    parsed = parse_content(
        content, content_type=fields.get("content_type"), filename=filename, max_chars=max_chars, limits=limits
    )
    return submission_from(fields, parsed, filename=filename, defaults=defaults)


def submission_from(
    fields: dict[str, Any],
    content: ParsedContent | RawUpload,
    *,
    filename: str | None,
    defaults: dict[str, Any] | None = None,
) -> Submission:
    """Validate the metadata of parsed content or of a raw upload (which has no front matter). Raises
    Unprocessable (422) naming the fields to fix."""
    given = {k: v for k, v in fields.items() if k in META_FIELDS and v not in (None, "")}
    matter = content.front_matter if isinstance(content, ParsedContent) else {}
    front = {k: v for k, v in matter.items() if k in META_FIELDS and v is not None}
    try:
        meta = DocumentMeta.model_validate((defaults or {}) | front | given)
    except ValidationError as exc:
        raise Unprocessable(
            "the document's fields are invalid: see details (kind must be one of "
            + ", ".join(k.value for k in DocumentKind)
            + ")",
            details=validation_details(exc),
        ) from exc
    return Submission(meta=meta, content=content, filename=filename)


# A version's job is created in the same transaction as the version, after every document of its batch (at most
# PITCHCRAFT_MAX_BATCH_DOCUMENTS) is written: well within this window of the version's own created_at.
JOB_WINDOW = timedelta(minutes=10)

# Unique constraints whose violation means "a concurrent request won the race" (409), not a bug (500).
_RACE_CONSTRAINTS = ("uq_documents_org_id_external_id", "uq_document_versions_document_id_version", "UNIQUE")


def stale_reasons(doc: Document, now: datetime) -> list[str]:
    reasons = []
    if doc.expires_at is not None and doc.expires_at <= now:
        reasons.append(f"expired on {doc.expires_at.date().isoformat()}")
    if doc.review_due_at <= now:
        reasons.append(f"review was due on {doc.review_due_at.date().isoformat()}")
    return reasons


def document_out(doc: Document, now: datetime, chunk_count: int | None = None) -> DocumentOut:
    reasons = stale_reasons(doc, now)
    return DocumentOut(
        document_id=doc.id,
        external_id=doc.external_id,
        kind=doc.kind,
        title=doc.title,
        product=doc.product,
        competitor=doc.competitor,
        tags=list(doc.tags or []),
        owner=doc.owner,
        as_of=doc.as_of,
        expires_at=doc.expires_at,
        review_interval_days=doc.review_interval_days,
        verified_at=doc.verified_at,
        verified_by=doc.verified_by,
        review_due_at=doc.review_due_at,
        stale=bool(reasons),
        stale_reasons=reasons,
        current_version=doc.current_version,
        latest_version=doc.latest_version,
        chunk_count=chunk_count,
        created_at=doc.created_at,
        updated_at=doc.updated_at,
    )


class IngestService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: VectorStore,
        settings: IngestSettings,
        enqueue: EnqueueJob,
        announce: Callable[[DocumentChange], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._settings = settings
        self._enqueue = enqueue
        self._announce = announce
        self._limits = ParseLimits.from_settings(settings)

    async def prepare(self, fields: dict[str, Any], content: bytes | str, *, filename: str | None) -> Submission:
        """Validate one upload without blocking the event loop. Markdown and text are read here (in a thread:
        their front matter may supply the fields); HTML, PDF and DOCX are kept as sent for the job to parse in
        the sandbox, after the cheap checks (empty, not a PDF or zip). Raises UnsupportedMediaType (415) or
        Unprocessable (422)."""
        fmt = detect_format(fields.get("content_type"), filename)
        if fmt in SANDBOXED:
            data = content.encode() if isinstance(content, str) else content
            check_upload(data, fmt)
            return submission_from(fields, RawUpload(data, fmt), filename=filename)
        parsed = await parse_content_async(
            content,
            content_type=fields.get("content_type"),
            filename=filename,
            max_chars=self._settings.max_content_chars,
            limits=self._limits,
        )
        return submission_from(fields, parsed, filename=filename)

    async def submit(
        self, principal: Principal, submissions: Sequence[Submission]
    ) -> tuple[str | None, list[DocumentAccepted]]:
        """Store new versions and one job for them, commit, then enqueue the job.

        The same external_id with an unchanged fingerprint is a no-op (status "unchanged"). A failure to
        enqueue after the commit is logged, not raised: the stranded-job sweep sends the job later.
        """
        if len(submissions) > self._settings.max_batch_documents:
            raise PayloadTooLarge(f"a batch holds at most {self._settings.max_batch_documents} documents; split it")
        if len({s.external_id for s in submissions}) != len(submissions):
            raise Conflict("the batch names the same external_id twice; send each document once")
        now = utcnow()
        results: dict[str, DocumentAccepted] = {}
        items: list[dict[str, Any]] = []
        job_id: str | None = None
        try:
            async with transaction(self._sessions) as session:
                # Rows are locked in one order (by external_id) so two overlapping batches cannot deadlock.
                for sub in sorted(submissions, key=lambda x: x.external_id):
                    accepted, item = await self._submit_one(session, principal, sub, now)
                    results[sub.external_id] = accepted
                    if item is not None:
                        items.append(item)
                if items:
                    # sent_at now: the message follows the commit; a sweep in between must not send a second.
                    job = IngestJob(
                        org_id=principal.org, created_by=principal.sub, items=items, updated_at=now, sent_at=now
                    )
                    session.add(job)
                    await session.flush()
                    job_id = job.id
        except IntegrityError as exc:
            if not any(name in str(exc.orig) for name in _RACE_CONSTRAINTS):
                raise
            # Two concurrent first posts of one external_id: the loser retries and becomes an update.
            raise Conflict("another request changed this document at the same moment; send it again") from exc
        if job_id is not None:
            try:
                await asyncio.to_thread(self._enqueue, job_id)
            except Exception:  # the job is committed; the sweep re-sends it
                log.exception("ingest.job.enqueue_failed", job_id=job_id)
                await self._unsent(job_id)
            log.info("ingest.job.queued", job_id=job_id, org_id=principal.org, versions=len(items))
        ordered = [results[s.external_id] for s in submissions]
        return job_id, [r.model_copy(update={"job_id": job_id}) if r.status == "queued" else r for r in ordered]

    async def _unsent(self, job_id: str) -> None:
        """No message went out: say so, so the next sweep sends one (if the database is down too, the sweep
        still finds the job once its message counts as lost)."""
        try:
            async with transaction(self._sessions) as session:
                await session.execute(update(IngestJob).where(IngestJob.id == job_id).values(sent_at=None))
        except SQLAlchemyError:
            log.warning("ingest.job.unsent_not_recorded", job_id=job_id)

    async def _submit_one(
        self, session: AsyncSession, principal: Principal, sub: Submission, now: datetime
    ) -> tuple[DocumentAccepted, dict[str, Any] | None]:
        doc = (
            await session.execute(
                select(Document)
                .where(Document.org_id == principal.org, Document.external_id == sub.external_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        fingerprint = sub.fingerprint()
        meta = sub.version_meta(self._settings.default_review_interval_days, now)
        if doc is not None:
            latest = (
                await session.execute(
                    select(DocumentVersion).where(
                        DocumentVersion.document_id == doc.id, DocumentVersion.version == doc.latest_version
                    )
                )
            ).scalar_one_or_none()
            if (
                latest is not None
                and latest.fingerprint == fingerprint
                and latest.status in (VersionStatus.PENDING, VersionStatus.INDEXED)
            ):
                # Nothing that shapes the index changed; bookkeeping fields still apply.
                interval = sub.meta.review_interval_days
                if sub.meta.owner:
                    doc.owner = sub.meta.owner
                if interval and interval != doc.review_interval_days:
                    doc.review_interval_days = interval
                    doc.review_due_at = (doc.verified_at or doc.as_of or now) + timedelta(days=interval)
                return (
                    DocumentAccepted(
                        document_id=doc.id,
                        external_id=doc.external_id,
                        job_id=None,
                        version=latest.version,
                        status="unchanged",
                    ),
                    None,
                )
        else:
            # A new document shows its posted metadata until its first version is indexed; after that the
            # document row always describes its current (searchable) version.
            doc = Document(
                org_id=principal.org,
                external_id=sub.external_id,
                created_by=principal.sub,
                latest_version=0,
                created_at=now,
            )
            doc.apply_meta(meta)
            session.add(doc)
        doc.owner = sub.meta.owner or doc.owner or principal.sub
        doc.latest_version = (doc.latest_version or 0) + 1
        doc.updated_at = now
        await session.flush()
        version = DocumentVersion(
            id=new_id(),
            document_id=doc.id,
            version=doc.latest_version,
            content=sub.text or "",  # a raw upload's text is written by its job
            content_type=sub.content.format.value,
            filename=sub.filename,
            fingerprint=fingerprint,
            meta=meta,
            status=VersionStatus.PENDING,
            created_at=now,
        )
        session.add(version)
        if isinstance(sub.content, RawUpload):
            await session.flush()  # the version row first: the upload's foreign key names it
            raw = sub.content
            session.add(VersionUpload(version_id=version.id, data=raw.data, size=len(raw.data), sha256=raw.sha256))
        return (
            DocumentAccepted(
                document_id=doc.id, external_id=doc.external_id, job_id=None, version=version.version, status="queued"
            ),
            {"document_id": doc.id, "version": version.version},
        )

    async def get_job(self, principal: Principal, job_id: str) -> JobOut:
        async with self._sessions() as session:
            job = await session.get(IngestJob, job_id)
            if job is None or job.org_id != principal.org:
                raise JobNotFound(f"no ingest job {job_id} in your organisation")
            return JobOut(
                job_id=job.id,
                status=job.status,  # type: ignore[arg-type]
                progress=Progress(done=job.done, total=job.total),
                reused_embeddings=job.reused,
                error=job.error,
                documents=job.items,
                attempts=job.attempts,
                created_at=job.created_at,
                finished_at=job.finished_at,
            )

    async def _document(self, session: AsyncSession, principal: Principal, document_id: str) -> Document:
        doc = await session.get(Document, document_id)
        if doc is None or doc.org_id != principal.org:
            raise DocumentNotFound(f"no document {document_id} in your organisation")
        return doc

    async def get_document(self, principal: Principal, document_id: str) -> DocumentOut:
        async with self._sessions() as session:
            doc = await self._document(session, principal, document_id)
            chunk_count = None
            if doc.current_version is not None:
                chunk_count = (
                    await session.execute(
                        select(DocumentVersion.chunk_count).where(
                            DocumentVersion.document_id == doc.id,
                            DocumentVersion.version == doc.current_version,
                        )
                    )
                ).scalar_one_or_none()
            return document_out(doc, utcnow(), chunk_count)

    async def list_versions(self, principal: Principal, document_id: str) -> VersionList:
        """Every version of the document, newest first, with who posted it and through which job."""
        async with self._sessions() as session:
            doc = await self._document(session, principal, document_id)
            versions = list(
                (
                    await session.execute(
                        select(DocumentVersion)
                        .where(DocumentVersion.document_id == doc.id)
                        .order_by(DocumentVersion.version.desc())
                    )
                ).scalars()
            )
            jobs = await self._jobs_of(session, principal.org, doc.id, versions)
            items = [_version_out(v, doc.current_version, jobs.get(v.version)) for v in versions]
            return VersionList(document_id=doc.id, current_version=doc.current_version, items=items)

    async def get_version(self, principal: Principal, document_id: str, version: int) -> VersionDetail:
        """One version with its stored text. Raises DocumentNotFound or VersionNotFound (404)."""
        async with self._sessions() as session:
            doc = await self._document(session, principal, document_id)
            row = (
                await session.execute(
                    select(DocumentVersion).where(
                        DocumentVersion.document_id == doc.id, DocumentVersion.version == version
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                raise VersionNotFound(
                    f"document {document_id} has no version {version}; its latest is {doc.latest_version}"
                )
            job = (await self._jobs_of(session, principal.org, doc.id, [row])).get(row.version)
            out = _version_out(row, doc.current_version, job)
            return VersionDetail(**out.model_dump(), content=row.content)

    async def _jobs_of(
        self, session: AsyncSession, org_id: str, document_id: str, versions: Sequence[DocumentVersion]
    ) -> dict[int, IngestJob]:
        """The job that carries each version (versions hold no job id; the job's items name them)."""
        if not versions:
            return {}
        windows = [
            and_(IngestJob.created_at >= v.created_at, IngestJob.created_at <= v.created_at + JOB_WINDOW)
            for v in versions
        ]
        jobs = (
            await session.execute(
                select(IngestJob).where(IngestJob.org_id == org_id, or_(*windows)).order_by(IngestJob.created_at)
            )
        ).scalars()
        wanted = {v.version for v in versions}
        found: dict[int, IngestJob] = {}
        for job in jobs:
            for item in job.items or []:
                number = item.get("version")
                if item.get("document_id") == document_id and number in wanted:
                    found.setdefault(number, job)
        return found

    async def list_chunks(self, principal: Principal, document_id: str) -> ChunkList:
        """The current version's chunks as the vector store holds them, in document order."""
        async with self._sessions() as session:
            doc = await self._document(session, principal, document_id)
            current = doc.current_version
        if current is None:
            return ChunkList(document_id=document_id, version=None, items=[])
        points = await asyncio.to_thread(
            self._store.scroll, PointFilter(org_id=principal.org, document_id=document_id, version=current)
        )
        items = sorted(
            (
                ChunkOut(
                    point_id=p.id,
                    ordinal=int(p.payload.get("ordinal", 0)),
                    section=p.payload.get("section"),
                    text=str(p.payload.get("text", "")),
                    verified=p.payload.get("verified"),
                )
                for p in points
            ),
            key=lambda c: c.ordinal,
        )
        return ChunkList(document_id=document_id, version=current, items=items)

    async def list_documents(
        self,
        principal: Principal,
        *,
        kind: str | None,
        competitor: str | None,
        stale: bool | None,
        q: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[DocumentOut], int]:
        now = utcnow()
        query: Select[Document] = select(Document).where(Document.org_id == principal.org)
        if kind:
            query = query.where(Document.kind == kind)
        if competitor:
            query = query.where(Document.competitor == competitor.lower())
        if q:
            pattern = f"%{q.lower()}%"
            query = query.where(
                or_(func.lower(Document.title).like(pattern), func.lower(Document.external_id).like(pattern))
            )
        stale_clause = or_(
            Document.review_due_at <= now, and_(Document.expires_at.is_not(None), Document.expires_at <= now)
        )
        if stale is True:
            query = query.where(stale_clause)
        elif stale is False:
            query = query.where(~stale_clause)
        async with self._sessions() as session:
            total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
            rows = (await session.execute(query.order_by(Document.external_id).limit(limit).offset(offset))).scalars()
            return [document_out(d, now) for d in rows], int(total)

    async def verify(self, principal: Principal, document_id: str, review_interval_days: int | None) -> DocumentOut:
        now = utcnow()
        async with transaction(self._sessions) as session:
            doc = await self._document(session, principal, document_id)
            if review_interval_days:
                doc.review_interval_days = review_interval_days
            doc.verified_at = now
            doc.verified_by = principal.sub
            doc.review_due_at = now + timedelta(days=doc.review_interval_days)
            doc.updated_at = now
            out = document_out(doc, now)
        await asyncio.to_thread(
            self._store.set_payload,
            PointFilter(org_id=principal.org, document_id=document_id),
            {"verified": True},
        )
        log.info("ingest.document.verified", document_id=document_id, org_id=principal.org)
        return out

    async def delete(self, principal: Principal, document_id: str) -> None:
        """SQL first (it decides what searches may return), then every point of every version."""
        async with transaction(self._sessions) as session:
            doc = await self._document(session, principal, document_id)
            await session.delete(doc)
        await asyncio.to_thread(self._store.delete, PointFilter(org_id=principal.org, document_id=document_id))
        log.info("ingest.document.deleted", document_id=document_id, org_id=principal.org)
        if self._announce is not None:
            await asyncio.to_thread(self._announce, DocumentChange(principal.org, document_id, None, "deleted"))


def _version_out(version: DocumentVersion, current: int | None, job: IngestJob | None) -> VersionOut:
    meta = version.meta or {}
    return VersionOut(
        version=version.version,
        status=version.status,  # type: ignore[arg-type]
        current=version.version == current,
        title=meta.get("title"),
        content_hash=meta.get("content_hash"),
        content_type=version.content_type,
        filename=version.filename,
        chunk_count=version.chunk_count,
        reused_embeddings=version.reused_embeddings,
        error=version.error,
        created_at=version.created_at,
        created_by=job.created_by if job else None,
        job_id=job.id if job else None,
        indexed_at=version.indexed_at,
    )
