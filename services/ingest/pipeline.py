"""parse -> chunk -> embed -> upsert -> switch version -> clean up, for the versions of one ingest job.

Every step is idempotent: point ids are deterministic, embeddings already stored (for an unchanged chunk of
the previous version, or from an interrupted run of this one) are reused, and the version switch happens
once in SQL, so a retried job changes nothing twice.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import structlog
from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import defer

from services.core import sentences
from services.core.db import transaction, utcnow
from services.core.embeddings import Embedder
from services.core.errors import Unprocessable
from services.core.retrieval import current_versions
from services.core.text import sha256_hex
from services.core.vectorstore import ChunkPoint, PointFilter, StoredPoint, VectorStore, point_id
from services.core.vectorstore.bm25 import Bm25Encoder
from services.ingest.chunking import Chunk, Chunker
from services.ingest.extract import ParseLimits
from services.ingest.models import Document, DocumentVersion, IngestJob, JobStatus, VersionStatus, VersionUpload
from services.ingest.parsing import Format, default_limits, parse_content_async

log = structlog.get_logger(__name__)

# Chunks embedded per model call: large enough for the encoder's own length-sorting to cut padding,
# small enough that progress moves every few seconds (~8 s at ~35 chunks/s on 2 cores).
EMBED_GROUP = 256


class PermanentIngestError(Exception):
    """The input can never be indexed as it is; the job fails with this message, with no retry."""


class JobLeased(Exception):
    """The job is running under a live lease; this delivery should come back after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"job is running elsewhere; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


class StoreIncomplete(Exception):
    """Fewer points were stored than written (a store fault): retry, never switch to a partial version."""


# Parse children running at once in this process (PITCHCRAFT_PARSE_CONCURRENCY): embedded mode runs several jobs
# on worker threads, each with its own event loop, so the bound is a thread semaphore, taken without blocking.
_parse_slots: dict[int, threading.BoundedSemaphore] = {}
_parse_slots_lock = threading.Lock()


def _parse_slot(concurrency: int) -> threading.BoundedSemaphore:
    with _parse_slots_lock:
        return _parse_slots.setdefault(concurrency, threading.BoundedSemaphore(concurrency))


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """A document whose searchable content changed: the payload of the `document.changed` event."""

    org_id: str
    document_id: str
    version: int | None  # None when deleted
    change: str  # "replaced" | "deleted"

    def as_args(self) -> list[object]:
        return [self.org_id, self.document_id, self.version, self.change]


@dataclass(frozen=True, slots=True)
class VersionPlan:
    document: Document
    version: DocumentVersion
    chunks: list[Chunk]
    # The engineer's verification carries over only while the text is the one they verified.
    verified: bool
    # Text or title differ from the current version's (metadata-only updates keep quiz items valid).
    text_changed: bool = True


def model_texts(chunks: Sequence[Chunk], sentence_vectors: bool) -> list[str]:
    """Every text the model reads for a job's new chunks, as `run_job` cuts them: longest first, in groups of
    EMBED_GROUP, each group's chunk texts and (with sentence vectors on) its distinct sentences. For the benches,
    which time the encoder alone on exactly this."""
    ordered = sorted(chunks, key=lambda c: c.tokens, reverse=True)
    texts: list[str] = []
    for start in range(0, len(ordered), EMBED_GROUP):
        group = ordered[start : start + EMBED_GROUP]
        texts += [c.embed_text for c in group]
        if sentence_vectors:
            texts += sentences.group_sentences([c.text for c in group])[1]
    return texts


def _text_hash(chunk: Chunk) -> str:
    # What the model read, so a reused vector is exactly the vector re-embedding would give.
    return sha256_hex(chunk.embed_text)


def _payload(doc: Document, version: DocumentVersion, chunk: Chunk, verified: bool) -> dict[str, object]:
    meta = version.meta
    return {
        "org_id": doc.org_id,
        "document_id": doc.id,
        "external_id": doc.external_id,
        "version": version.version,
        "ordinal": chunk.ordinal,
        "kind": meta["kind"],
        "title": meta["title"],
        "section": chunk.section,
        "text": chunk.text,
        "text_hash": _text_hash(chunk),
        "product": meta["product"],
        "competitor": meta["competitor"],
        "tags": list(meta["tags"]),
        "as_of": meta["as_of"],
        "expires_at": meta["expires_at"],
        "verified": verified,
    }


class IngestPipeline:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: VectorStore,
        embedder_factory: Callable[[], Embedder],
        chunker: Chunker,
        bm25: Bm25Encoder,
        *,
        batch_size: int = 32,
        lease_seconds: int = 120,
        max_attempts: int = 5,
        parse_limits: ParseLimits | None = None,
        max_chars: int = 1_000_000,
        parse_concurrency: int = 2,
        sentence_vectors: bool = True,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._embedder_factory = embedder_factory
        self._chunker = chunker
        self._bm25 = bm25
        self._batch_size = batch_size
        self._lease = timedelta(seconds=lease_seconds)
        self._max_attempts = max_attempts
        # The job's attempt number once this pipeline's claim has committed (None before): a delivery that
        # fails afterwards hands back only the job it holds (services/ingest/tasks.py::process_job).
        self.claimed_attempt: int | None = None
        self._parse_limits = parse_limits or default_limits()
        self._max_chars = max_chars
        self._parse_slot = _parse_slot(parse_concurrency)
        self._sentence_vectors = sentence_vectors

    async def _claim(self, job_id: str) -> tuple[list[dict[str, Any]], str, int] | None:
        """Take the job atomically: queued, or running with a lapsed lease (its worker is gone). Another
        delivery of a job whose worker is alive, or of a finished job, returns None and does nothing."""
        now = utcnow()
        async with transaction(self._sessions) as session:
            # Every delivery counts, claimed or not: the sweep re-sends only jobs with no message on its way.
            await session.execute(
                update(IngestJob)
                .where(IngestJob.id == job_id, IngestJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
                .values(delivered_at=now)
            )
            claimed = await session.execute(
                update(IngestJob)
                .where(
                    IngestJob.id == job_id,
                    or_(
                        IngestJob.status == JobStatus.QUEUED,
                        and_(IngestJob.status == JobStatus.RUNNING, IngestJob.updated_at < now - self._lease),
                    ),
                )
                .values(
                    status=JobStatus.RUNNING,
                    attempts=IngestJob.attempts + 1,
                    started_at=func.coalesce(IngestJob.started_at, now),
                    updated_at=now,
                )
                .returning(IngestJob.items, IngestJob.org_id, IngestJob.attempts)
            )
            row = claimed.one_or_none()
            if row is None:
                job = await session.get(IngestJob, job_id)
                if job is not None and job.status == JobStatus.RUNNING:
                    # Another worker holds it, or one that died moments ago: look again when the lease lapses.
                    raise JobLeased(self._lease.total_seconds())
        if row is None:
            log.info("ingest.job.skipped", job_id=job_id, reason="missing or finished")
            return None
        return list(row[0]), str(row[1]), int(row[2])

    async def run_job(self, job_id: str) -> list[DocumentChange]:
        """Index every pending version of the job. Returns the documents whose current version it replaced
        (for the `document.changed` event); nothing when the job is gone or already finished.

        Raises PermanentIngestError (after marking the job failed) for input that cannot be indexed; any
        other exception leaves the job `running` for the caller's retry policy.
        """
        claim = await self._claim(job_id)
        if claim is None:
            return []
        items, org_id, attempts = claim
        self.claimed_attempt = attempts
        if attempts > self._max_attempts:
            await mark_failed(
                self._sessions,
                job_id,
                f"the job was started {attempts - 1} times and never finished (its worker died each time); "
                "split the documents into smaller batches and post them again",
                store=self._store,
            )
            return []
        try:
            await self._parse_uploads(job_id, items)
            plans = await self._plan(items)
        except PermanentIngestError as exc:
            await mark_failed(self._sessions, job_id, str(exc), store=self._store)
            raise
        await self._drop_unplanned(org_id, items, plans)
        total = sum(len(p.chunks) for p in plans)
        await self._progress(job_id, done=0, total=total, reused=0)

        # 1. Reuse: stored vectors of unchanged chunks (previous version, or an interrupted run of this one).
        fresh: list[tuple[VersionPlan, Chunk]] = []
        reused: dict[str, int] = {}
        for plan in plans:
            doc = plan.document
            known = self._stored_vectors(doc, [v for v in (doc.current_version, plan.version.version) if v is not None])
            again = [c for c in plan.chunks if _text_hash(c) in known]
            if again:
                kept = [known[_text_hash(c)] for c in again]
                self._store.upsert(self._points(plan, again, [v for v, _ in kept], [p for _, p in kept]))
            reused[plan.version.id] = len(again)
            fresh.extend((plan, c) for c in plan.chunks if _text_hash(c) not in known)
        done = sum(reused.values())
        await self._progress(job_id, done=done, total=total, reused=done)

        # 2. Embed what is new across all documents of the job together, longest first, so every model call
        #    gets full batches of similar lengths (per-document calls of a few chunks ran at half the speed).
        if fresh:
            fresh.sort(key=lambda pc: pc[1].tokens, reverse=True)
            groups = [fresh[start : start + EMBED_GROUP] for start in range(0, len(fresh), EMBED_GROUP)]
            await self._embed_and_store(job_id, groups, reused=done, total=total)

        # 3. Switch every document to its new version once all of its points are stored.
        for plan in plans:
            doc, version = plan.document, plan.version
            # Points past the last ordinal come from an interrupted run chunked with other settings.
            self._store.delete(
                PointFilter(
                    org_id=doc.org_id, document_id=doc.id, version=version.version, ordinal_from=len(plan.chunks)
                )
            )
            stored = self._store.count(PointFilter(org_id=doc.org_id, document_id=doc.id, version=version.version))
            if stored != len(plan.chunks):
                # Never switch to a version that is not whole (a store fault: the retry redoes the missing part).
                raise StoreIncomplete(
                    f"{doc.external_id} v{version.version}: {stored} points stored, {len(plan.chunks)} expected"
                )
        changes = await self._switch(plans, reused)
        for plan in plans:
            log.info(
                "ingest.document.indexed",
                document_id=plan.document.id,
                version=plan.version.version,
                chunks=len(plan.chunks),
                reused=reused[plan.version.id],
            )
        async with transaction(self._sessions) as session:
            await session.execute(
                update(IngestJob)
                .where(IngestJob.id == job_id)
                .values(status=JobStatus.SUCCEEDED, finished_at=utcnow(), updated_at=utcnow(), error=None)
            )
        log.info("ingest.job.succeeded", job_id=job_id, chunks=total, reused=total - len(fresh))
        if fresh:
            self._store.optimize()  # after the job is reported done: searches are faster with the index built
        return changes

    async def _embed_and_store(
        self, job_id: str, groups: Sequence[Sequence[tuple[VersionPlan, Chunk]]], *, reused: int, total: int
    ) -> None:
        """Embed the groups in order and store their points; the job's progress counts each group once its points
        are stored.

        The model runs in a thread, one group ahead: while it embeds group k+1, this thread builds and upserts
        group k's points (BM25, payloads, the store call) and writes the progress. onnxruntime and torch release the
        GIL while they compute, so those writes no longer sit between two model calls. At most one model call is
        in flight, so at most two groups' vectors are held (2 x EMBED_GROUP chunks' vectors, and with sentence vectors
        on about four times as many rows again, each of 384 floats). On an error the call
        in flight is abandoned (its vectors are never stored); the next attempt embeds that group again."""
        embedder = self._embedder_factory()
        loop = asyncio.get_running_loop()

        def embed(group: Sequence[tuple[VersionPlan, Chunk]]) -> asyncio.Future[tuple[np.ndarray, list[str | None]]]:
            # Submitted to the thread at once (asyncio.to_thread would start only at this coroutine's next await).
            return loop.run_in_executor(None, contextvars.copy_context().run, self._embed_group, embedder, group)

        done = reused
        running = embed(groups[0])
        try:
            for k, group in enumerate(groups):
                vectors, packs = await running
                if k + 1 < len(groups):
                    running = embed(groups[k + 1])
                self._store_group(group, vectors, packs)
                done += len(group)
                await self._progress(job_id, done=done, total=total, reused=reused)
        finally:
            running.cancel()  # a no-op once it is done; else its vectors are not wanted

    def _embed_group(
        self, embedder: Embedder, group: Sequence[tuple[VersionPlan, Chunk]]
    ) -> tuple[np.ndarray, list[str | None]]:
        """The chunks' vectors and, with sentence vectors on, each chunk's sentences embedded on their own (packed
        for its payload), in one model call: a sentence the chunk overlap repeats is embedded once."""
        texts = [c.embed_text for _, c in group]
        if not self._sentence_vectors:
            return embedder.embed(texts, batch_size=self._batch_size), [None] * len(group)
        per_chunk, distinct = sentences.group_sentences([c.text for _, c in group])
        vectors = embedder.embed(texts + distinct, batch_size=self._batch_size)
        row = {s: len(texts) + i for i, s in enumerate(distinct)}
        dimension = vectors.shape[1]
        packs: list[str | None] = [
            sentences.pack(vectors[[row[s] for s in chunk]] if chunk else np.zeros((0, dimension)))
            for chunk in per_chunk
        ]
        return vectors[: len(texts)], packs

    def _store_group(
        self, group: Sequence[tuple[VersionPlan, Chunk]], vectors: np.ndarray, packs: Sequence[str | None]
    ) -> None:
        by_plan: dict[str, tuple[VersionPlan, list[Chunk], list[list[float]], list[str | None]]] = {}
        for (plan, chunk), vector, pack in zip(group, vectors.tolist(), packs, strict=True):
            entry = by_plan.setdefault(plan.version.id, (plan, [], [], []))
            entry[1].append(chunk)
            entry[2].append(vector)
            entry[3].append(pack)
        self._store.upsert(
            [p for plan, chunks, vecs, pks in by_plan.values() for p in self._points(plan, chunks, vecs, pks)]
        )

    async def _parse_uploads(self, job_id: str, items: Sequence[dict[str, object]]) -> None:
        """Parse the job's stored uploads (HTML, PDF, DOCX) in the sandbox, one at a time, under the parse limits;
        each parsed text is written to its version and the upload dropped in one transaction, so a rerun after a
        crash parses only what is left. A file past a limit raises PermanentIngestError naming the document and
        the setting (the job fails; the document's current version is untouched). A parser bug (ParserFailed)
        propagates: the task logs it and fails the job."""
        wanted = [(str(i["document_id"]), int(str(i["version"]))) for i in items]
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(
                        DocumentVersion.id,
                        DocumentVersion.document_id,
                        DocumentVersion.version,
                        DocumentVersion.content_type,
                        Document.external_id,
                    )
                    .join(VersionUpload, VersionUpload.version_id == DocumentVersion.id)
                    .join(Document, Document.id == DocumentVersion.document_id)
                    .where(
                        DocumentVersion.document_id.in_({d for d, _ in wanted}),
                        DocumentVersion.status == VersionStatus.PENDING,
                    )
                )
            ).all()
        pending = {(doc_id, number): (version_id, fmt, ext) for version_id, doc_id, number, fmt, ext in rows}
        for key in wanted:  # job order
            if key not in pending:
                continue
            version_id, fmt, external_id = pending[key]
            async with self._sessions() as session:  # one file in memory at a time
                data = (
                    await session.execute(select(VersionUpload.data).where(VersionUpload.version_id == version_id))
                ).scalar_one_or_none()
            if data is None:
                continue  # parsed by a run that raced this one
            try:
                # Polled, not awaited in a thread: a cancelled job can never leave a slot taken.
                while not self._parse_slot.acquire(blocking=False):  # noqa: ASYNC110 - a cross-loop thread semaphore
                    await asyncio.sleep(0.05)
                try:
                    parsed = await parse_content_async(
                        data,
                        content_type=Format(fmt).value,
                        filename=None,
                        max_chars=self._max_chars,
                        limits=self._parse_limits,
                    )
                finally:
                    self._parse_slot.release()
            except Unprocessable as exc:
                raise PermanentIngestError(f"{external_id}: {exc.message}") from exc
            del data
            async with transaction(self._sessions) as session:
                version = await session.get(DocumentVersion, version_id)
                if version is not None and version.status == VersionStatus.PENDING:
                    version.content = parsed.text
                    version.meta = {**version.meta, "content_hash": sha256_hex(parsed.text)}
                await session.execute(delete(VersionUpload).where(VersionUpload.version_id == version_id))
                # Parsing takes seconds per file: the job's lease must not lapse under it.
                await session.execute(update(IngestJob).where(IngestJob.id == job_id).values(updated_at=utcnow()))
            log.info("ingest.upload.parsed", job_id=job_id, document_id=key[0], version=key[1], chars=len(parsed.text))

    async def _plan(self, items: Sequence[dict[str, object]]) -> list[VersionPlan]:
        wanted = {(str(i["document_id"]), int(str(i["version"]))) for i in items}
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Document, DocumentVersion)
                    .join(DocumentVersion, DocumentVersion.document_id == Document.id)
                    .where(
                        Document.id.in_({d for d, _ in wanted}),
                        # indexed or superseded by an earlier run: nothing to do
                        DocumentVersion.status == VersionStatus.PENDING,
                    )
                )
            ).all()
            indexed = (
                await session.execute(
                    select(DocumentVersion.document_id, DocumentVersion.version, DocumentVersion.meta).where(
                        DocumentVersion.document_id.in_({d for d, _ in wanted}),
                        DocumentVersion.status == VersionStatus.INDEXED,
                    )
                )
            ).all()
        current_meta = {d: m for d, v, m in indexed}
        found = {(doc.id, version.version): (doc, version) for doc, version in rows}
        plans: list[VersionPlan] = []
        for item in items:  # job order; items deleted since they were queued are absent
            key = (str(item["document_id"]), int(str(item["version"])))
            if key not in found:
                continue
            doc, version = found[key]
            chunks = self._chunker.chunk(version.content, version.meta["title"])
            if not chunks:
                raise PermanentIngestError(f"{doc.external_id}: no indexable text after chunking")
            previous = current_meta.get(doc.id) or {}
            same_text = previous.get("content_hash") == version.meta["content_hash"]
            verified = doc.verified_at is not None and same_text
            # What quiz items rest on: the text, and what the document is (title, kind, competitor, product,
            # expiry). Tags, owner and dates of review alone change nothing they say.
            text_changed = not same_text or any(
                previous.get(k) != version.meta.get(k) for k in ("title", "kind", "competitor", "product", "expires_at")
            )
            plans.append(VersionPlan(doc, version, chunks, verified, text_changed))
        return plans

    async def _drop_unplanned(
        self, org_id: str, items: Sequence[dict[str, object]], plans: Sequence[VersionPlan]
    ) -> None:
        """Versions of this job that are no longer pending (superseded by a newer version that switched first,
        or deleted) may still have points from a run that raced the switch: remove them unless current."""
        planned = {(p.document.id, p.version.version) for p in plans}
        skipped = [(str(i["document_id"]), int(str(i["version"]))) for i in items]
        skipped = [key for key in skipped if key not in planned]
        if not skipped:
            return
        current = await current_versions(self._sessions, org_id, [doc_id for doc_id, _ in skipped])
        for doc_id, version in skipped:
            if current.get(doc_id) != version:
                self._store.delete(PointFilter(org_id=org_id, document_id=doc_id, version=version))

    async def _progress(self, job_id: str, *, done: int, total: int, reused: int) -> None:
        async with transaction(self._sessions) as session:
            await session.execute(
                update(IngestJob)
                .where(IngestJob.id == job_id)
                .values(done=done, total=total, reused=reused, updated_at=utcnow())
            )

    def _stored_vectors(self, doc: Document, versions: Sequence[int]) -> dict[str, tuple[list[float], str | None]]:
        """text_hash -> (dense vector, packed sentence vectors), from the points of the given versions of this
        document. With sentence vectors on, a point stored without them is not reused: its chunk is embedded
        again, so a library ingested before they existed gains them as its documents change."""
        known: dict[str, tuple[list[float], str | None]] = {}
        for version in versions:
            points: list[StoredPoint] = self._store.scroll(
                PointFilter(org_id=doc.org_id, document_id=doc.id, version=version), with_dense=True
            )
            for p in points:
                pack = p.payload.get(sentences.PAYLOAD_KEY)
                if self._sentence_vectors and not isinstance(pack, str):
                    continue
                if p.dense is not None and isinstance(p.payload.get("text_hash"), str):
                    known.setdefault(p.payload["text_hash"], (p.dense, pack if self._sentence_vectors else None))
        return known

    def _points(
        self,
        plan: VersionPlan,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
        packs: Sequence[str | None],
    ) -> list[ChunkPoint]:
        doc, number = plan.document, plan.version.version
        return [
            ChunkPoint(
                id=point_id(doc.id, number, c.ordinal),
                dense=[float(x) for x in vec],
                sparse=self._bm25.document(c.embed_text),
                payload=_payload(doc, plan.version, c, plan.verified)
                | ({sentences.PAYLOAD_KEY: pack} if pack is not None else {}),
            )
            for c, vec, pack in zip(chunks, vectors, packs, strict=True)
        ]

    async def _switch(self, plans: Sequence[VersionPlan], reused: dict[str, int]) -> list[DocumentChange]:
        """Make each version the one searches return, in one SQL transaction, then drop the older points.

        The switch is a guarded UPDATE (only to a higher version), so it is safe without row locks (SQLite
        has none): of two jobs racing on one document the newer version always wins. A version overtaken
        that way is marked superseded and its points go; a document deleted meanwhile loses its points.
        Statements cover up to SWITCH_BATCH documents each (one statement per document and step took 1.7 s for
        341 documents on a busy 2-core machine)."""
        drops: list[PointFilter] = []
        changes: list[DocumentChange] = []
        now = utcnow()
        async with transaction(self._sessions) as session:
            for part in _distinct_documents(plans, SWITCH_BATCH):
                switched = await self._switch_part(session, part, reused, now, changes)
                for plan in part:
                    org, doc_id, number = plan.document.org_id, plan.document.id, plan.version.version
                    if doc_id in switched:
                        drops.append(PointFilter(org_id=org, document_id=doc_id, version_below=number))
                    else:
                        drops.append(PointFilter(org_id=org, document_id=doc_id, version=number))
        for flt in drops:
            self._store.delete(flt)
        return changes

    async def _switch_part(
        self,
        session: AsyncSession,
        part: Sequence[VersionPlan],
        reused: dict[str, int],
        now: datetime,
        changes: list[DocumentChange],
    ) -> set[str]:
        """The switch for plans of distinct documents; returns the ids of the documents switched."""
        numbers = {p.document.id: p.version.version for p in part}
        # PostgreSQL: the rows are locked in the order a batch post locks them (by external_id), so a switch and a
        # post sharing documents cannot deadlock (one statement per document used to take them in that order).
        # SQLite ignores FOR UPDATE.
        await session.execute(
            select(Document.id)
            .where(Document.id.in_(list(numbers)))
            .order_by(Document.org_id, Document.external_id)
            .with_for_update()
        )
        target = case(numbers, value=Document.id)
        # Guarded: only to a higher version. RETURNING names the documents it moved.
        switched = set(
            (
                await session.execute(
                    update(Document)
                    .where(
                        Document.id.in_(list(numbers)),
                        or_(Document.current_version.is_(None), Document.current_version < target),
                    )
                    .values(current_version=target, updated_at=now)
                    .returning(Document.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        # Read after the guarded UPDATE (which holds the switched rows in PostgreSQL), as of this transaction.
        versions = {
            v.id: v
            for v in (
                await session.execute(
                    select(DocumentVersion)
                    .where(DocumentVersion.id.in_([p.version.id for p in part]))
                    .options(defer(DocumentVersion.content))
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        }
        docs = {
            d.id: d
            for d in (
                await session.execute(
                    select(Document).where(Document.id.in_(list(switched))).execution_options(populate_existing=True)
                )
            ).scalars()
        }
        moved: dict[str, int] = {}
        for plan in part:
            doc_id, number = plan.document.id, plan.version.version
            version = versions.get(plan.version.id)
            if doc_id not in switched or version is None:
                if version is not None:
                    version.status = VersionStatus.SUPERSEDED
                switched.discard(doc_id)
                continue
            # Only new text changes what quiz items say; new tags or dates alone retire nothing.
            if plan.document.current_version is not None and plan.text_changed:
                changes.append(DocumentChange(plan.document.org_id, doc_id, number, "replaced"))
            doc = docs[doc_id]  # the guarded UPDATE just matched it
            if not plan.verified:
                doc.verified_at = None  # new text: the old verification does not vouch for it
                doc.verified_by = None
            doc.apply_meta(version.meta)
            version.status = VersionStatus.INDEXED
            version.chunk_count = len(plan.chunks)
            version.reused_embeddings = reused[version.id]
            version.indexed_at = now
            version.error = None
            moved[doc_id] = number
        if moved:
            older = and_(
                DocumentVersion.document_id.in_(list(moved)),
                DocumentVersion.version < case(moved, value=DocumentVersion.document_id),
            )
            await session.execute(
                update(DocumentVersion)
                .where(older, DocumentVersion.status.in_([VersionStatus.PENDING, VersionStatus.INDEXED]))
                .values(status=VersionStatus.SUPERSEDED)
                .execution_options(synchronize_session=False)
            )
            # Older versions never parsed (superseded while queued) will not be: their uploads go.
            await session.execute(
                delete(VersionUpload)
                .where(VersionUpload.version_id.in_(select(DocumentVersion.id).where(older)))
                .execution_options(synchronize_session=False)
            )
        return switched


# Documents per switch statement: 3 bound values each (the CASE's pair and the IN list), far under SQLite's and
# PostgreSQL's 32,766 / 32,767.
SWITCH_BATCH = 500


def _distinct_documents(plans: Sequence[VersionPlan], size: int) -> list[list[VersionPlan]]:
    """Consecutive runs of at most `size` plans with no document twice (a run's statements treat its documents as
    independent; a later version of a document goes to a later run, as if switched after the earlier one)."""
    parts: list[list[VersionPlan]] = [[]]
    seen: set[str] = set()
    for plan in plans:
        if len(parts[-1]) >= size or plan.document.id in seen:
            parts.append([])
            seen = set()
        parts[-1].append(plan)
        seen.add(plan.document.id)
    return [part for part in parts if part]


async def mark_failed(
    sessions: async_sessionmaker[AsyncSession], job_id: str, reason: str, *, store: VectorStore | None = None
) -> None:
    """Fail the job with a reason a person can act on; its pending versions fail with it, and the points
    they had written are removed (they would only take search slots from live points)."""
    failed: list[tuple[str, str, int]] = []
    async with transaction(sessions) as session:
        job = await session.get(IngestJob, job_id)
        if job is None or job.status == JobStatus.SUCCEEDED:
            return
        job.status = JobStatus.FAILED
        job.error = reason
        job.finished_at = utcnow()
        job.updated_at = utcnow()
        for item in job.items:
            result = await session.execute(
                update(DocumentVersion)
                .where(
                    DocumentVersion.document_id == item["document_id"],
                    DocumentVersion.version == item["version"],
                    DocumentVersion.status == VersionStatus.PENDING,
                )
                .values(status=VersionStatus.FAILED, error=reason)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                failed.append((job.org_id, item["document_id"], item["version"]))
        if failed:
            # A failed version is never parsed again (the client posts the document anew): its upload goes.
            await session.execute(
                delete(VersionUpload).where(
                    VersionUpload.version_id.in_(
                        select(DocumentVersion.id).where(
                            or_(
                                *(
                                    and_(DocumentVersion.document_id == d, DocumentVersion.version == v)
                                    for _, d, v in failed
                                )
                            )
                        )
                    )
                )
            )
    if store is not None:
        for org, doc_id, version in failed:
            store.delete(PointFilter(org_id=org, document_id=doc_id, version=version))
    log.warning("ingest.job.failed", job_id=job_id, reason=reason)
