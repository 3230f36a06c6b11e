"""A per-organisation snapshot of one kind of material (features, case studies) for document-level ranking.

Ranking a document as a document needs all of it at once: every chunk's vector (best passage per need), its
centroid (what the page is about overall), its whole text (document-level BM25) and how generic it is
(hubness: a page that is close to everything, such as an overview, is discounted so it does not lead every
track). The snapshot holds the current version of each document, read from the vector store and checked
against SQL's `current_version`; it is rebuilt, reusing unchanged documents, whenever that set changes. One SQL
query per request checks it: a one-row fingerprint of the set (count, sum of versions, latest `updated_at`), and
only when that moved, the set itself. Memory: about 1.6 KB per chunk (vector plus text), 16 MB at 10,000 chunks,
plus the named-system counts cached per snapshot (8 bytes per document per name, at most MENTION_CACHE names).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Generic, TypeVar

import numpy as np
from sqlalchemy import column, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core import sentences
from services.core.lexical import DocumentBm25
from services.core.sales import acronym_expansions, display_name
from services.core.vectorstore import PointFilter, VectorStore

_documents = table(
    "documents", column("id"), column("org_id"), column("kind"), column("current_version"), column("updated_at")
)

# Hubness: a document's mean similarity to the HUB_K chunks of other documents closest to it, measured against
# at most HUB_SAMPLE chunks (an unbiased sample above that, so the cost stays bounded on large libraries).
HUB_K = 20
HUB_SAMPLE = 4000
# Named systems whose per-document mention counts a snapshot keeps (a deal names a handful; 256 names at 10,000
# chunks, about 1,700 documents, is 3.5 MB).
MENTION_CACHE = 256
# Standing needs (persona priorities) whose scores a snapshot keeps: 7 built-in personas have about 40; each
# costs 4 bytes per chunk and 20 bytes per document (60 KB at 10,000 chunks), so 256 is at most 16 MB.
STANDING_CACHE = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = np.iinfo(np.int64).max


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (datetime comparison, as integers)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def expiry_micros(value: Any) -> int:
    """A payload's `expires_at` as `micros`; none (missing, null, empty) never expires."""
    parsed = _parse_dt(value)
    return _NEVER if parsed is None else micros(parsed)


@dataclass(frozen=True, slots=True)
class LibraryDoc:
    document_id: str
    version: int
    external_id: str
    title: str
    kind: str
    payload: dict[str, Any]  # the first chunk's payload: document-level fields (product, competitor, as_of, ...)
    expires_at: datetime | None
    start: int  # its chunks are rows start..end-1 of the snapshot's arrays, in ordinal order
    end: int


@dataclass(frozen=True, slots=True)
class _DocPoints:
    ids: list[str]
    payloads: list[dict[str, Any]]
    vectors: np.ndarray
    sentences: np.ndarray | None = None  # its chunks' sentence vectors, in order; None: ingested without them


def _doc_points(rows: list[tuple[int, str, dict[str, Any], list[float]]]) -> _DocPoints:
    """One document's points in chunk order, its sentence vectors taken out of the payloads (kept once, as an
    array, not as text in every payload the snapshot holds)."""
    vectors = np.asarray([r[3] for r in rows], dtype=np.float32)
    packed = [r[2].pop(sentences.PAYLOAD_KEY, None) for r in rows]
    blocks = [sentences.unpack(p, vectors.shape[1]) for p in packed if isinstance(p, str)]
    found = np.vstack(blocks) if len(blocks) == len(rows) and blocks else None
    return _DocPoints([r[1] for r in rows], [r[2] for r in rows], vectors, found)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """A bounded, thread-safe map of computed values, least recently used out first. The lock is not held while
    a value is computed: two threads that miss one key both compute it, and the values are the same."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False  # shared by every request that reads the snapshot
    return array


@dataclass(frozen=True, slots=True)
class NeedScores:
    """One need against a snapshot: per chunk its cosine, per document its best chunk's cosine, its centroid's
    cosine, its whole-document BM25 score and its best single sentence's cosine."""

    chunk_cos: np.ndarray
    best: np.ndarray
    centroid_cos: np.ndarray
    lexical: np.ndarray
    sentence: np.ndarray


@dataclass
class Library:
    """Immutable once built. Rows of `vectors` are chunks grouped by document."""

    docs: list[LibraryDoc]
    chunk_ids: list[str]
    payloads: list[dict[str, Any]]
    vectors: np.ndarray
    chunk_doc: np.ndarray
    centroids: np.ndarray
    hub: np.ndarray
    bm25: DocumentBm25
    # Every document's sentence vectors, grouped by document (a document ingested without them stands in with
    # its chunk vectors); `has_sentences`: some document has real ones.
    sentences: np.ndarray
    sentence_starts: np.ndarray
    has_sentences: bool
    _starts: np.ndarray = field(init=False)
    _expires: np.ndarray = field(init=False)
    _mentions: Kept[str, np.ndarray] = field(init=False)
    _standing: Kept[tuple[str, bytes], NeedScores] = field(init=False)

    def __post_init__(self) -> None:
        self._starts = np.array([d.start for d in self.docs], dtype=np.int64)
        self._expires = np.array(
            [_NEVER if d.expires_at is None else micros(d.expires_at) for d in self.docs], dtype=np.int64
        )
        self._mentions = Kept(MENTION_CACHE)
        self._standing = Kept(STANDING_CACHE)

    @cached_property
    def product_names(self) -> list[str]:
        """The products the documents are about, as their text writes them ("zitadel" -> "ZITADEL")."""
        texts: dict[str, list[str]] = {}
        for d in self.docs:
            if product := str(d.payload.get("product") or ""):
                texts.setdefault(product, []).extend(
                    [d.title, *(str(p.get("text", "")) for p in self.payloads[d.start : d.end])]
                )
        return [display_name(product, found) for product, found in sorted(texts.items())]

    @cached_property
    def lower_texts(self) -> list[str]:
        """Each document's title and text in lower case, for phrase look-ups (named systems)."""
        return [
            " ".join([d.title, *(str(p.get("text", "")) for p in self.payloads[d.start : d.end])]).lower()
            for d in self.docs
        ]

    @cached_property
    def acronyms(self) -> dict[str, str]:
        """Acronyms the library spells out somewhere ("service level agreement (SLA)" -> SLA)."""
        return acronym_expansions(str(p.get("text", "")) for p in self.payloads)

    @cached_property
    def lower_titles(self) -> list[str]:
        return [d.title.lower() for d in self.docs]

    @property
    def size(self) -> int:
        return len(self.docs)

    def live(self, now: datetime) -> np.ndarray:
        """Documents not expired at `now`."""
        return self._expires > micros(now)

    def standing(self, text: str, vector: np.ndarray) -> NeedScores:
        """A need that comes back in request after request (a persona's priority) scored against this snapshot,
        kept: about half of a track's needs, so half of its scoring is done once per snapshot."""

        def score() -> NeedScores:
            query = np.ascontiguousarray(vector, dtype=np.float32)
            chunk_cos = self.vectors @ query
            best, centroid_cos, lexical = self.best_chunk(chunk_cos), self.centroids @ query, self.bm25.scores(text)
            sentence = self.best_sentence(self.sentences @ query)
            return NeedScores(*(_frozen(a) for a in (chunk_cos, best, centroid_cos, lexical, sentence)))

        return self._standing.get((text, vector.tobytes()), score)

    def mentions(self, name: str) -> np.ndarray:
        """Per document: how often its text mentions `name` as a phrase (case-insensitive, whole words), with a
        title mention counted three times. Kept per snapshot: the same names come back in request after
        request, and the snapshot's texts never change."""

        def count() -> np.ndarray:
            needle = name.lower()
            pattern = re.compile(r"(?<![\w])" + re.escape(needle) + r"(?![\w])")
            counts = np.zeros(self.size)
            for i, (text, title) in enumerate(zip(self.lower_texts, self.lower_titles, strict=True)):
                # The substring tests skip the regex where it cannot match (nearly every document for a real
                # name). The title is in the text once; two more for it make a title mention count three times.
                in_text = len(pattern.findall(text)) if needle in text else 0
                in_title = len(pattern.findall(title)) if needle in title else 0
                counts[i] = in_text + 2 * in_title
            return _frozen(counts)

        return self._mentions.get(name, count)

    def best_chunk(self, chunk_scores: np.ndarray) -> np.ndarray:
        """Per document: its best chunk's score (one vectorised pass; chunks are grouped by document)."""
        return np.maximum.reduceat(chunk_scores, self._starts) if self.docs else np.zeros(0)

    def best_sentence(self, sentence_scores: np.ndarray) -> np.ndarray:
        """Per document: its best sentence's score (rows of `sentences` are grouped by document too)."""
        return np.maximum.reduceat(sentence_scores, self.sentence_starts) if self.docs else np.zeros(0)

    def best_sentence_of(self, docs: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """For the given documents only, each one's best sentence cosine to each query (columns of `queries`)."""
        ends = np.append(self.sentence_starts[1:], len(self.sentences))
        spans = [(int(self.sentence_starts[d]), int(ends[d])) for d in docs]
        rows = np.concatenate([np.arange(a, b) for a, b in spans])
        starts = np.cumsum([0] + [b - a for a, b in spans[:-1]]).astype(np.int64)
        return np.maximum.reduceat(self.sentences[rows] @ queries, starts)


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _hubness(vectors: np.ndarray, chunk_doc: np.ndarray, n_docs: int) -> np.ndarray:
    n = len(vectors)
    if n_docs < 3 or n == 0:
        return np.zeros(n_docs, dtype=np.float32)
    rng = np.random.default_rng(0)
    ref = np.sort(rng.choice(n, size=HUB_SAMPLE, replace=False)) if n > HUB_SAMPLE else np.arange(n)
    k = max(3, round(HUB_K * len(ref) / n))
    ref_vectors, ref_doc = vectors[ref], chunk_doc[ref]
    hub = np.zeros(n_docs, dtype=np.float32)
    for i in range(n_docs):
        mine = vectors[chunk_doc == i]
        others = ref_doc != i
        if not others.any() or len(mine) == 0:
            continue
        closest = (mine @ ref_vectors[others].T).max(axis=0)
        top = min(k, len(closest))
        hub[i] = float(np.partition(closest, -top)[-top:].mean())
    return hub


def build_library(docs: list[tuple[str, int, _DocPoints]], kind: str) -> Library:
    entries: list[LibraryDoc] = []
    ids: list[str] = []
    payloads: list[dict[str, Any]] = []
    blocks: list[np.ndarray] = []
    texts: list[str] = []
    sentence_blocks: list[np.ndarray] = []
    for doc_id, version, pts in docs:
        first = pts.payloads[0]
        start = len(ids)
        sentence_blocks.append(pts.sentences if pts.sentences is not None and len(pts.sentences) else pts.vectors)
        ids += pts.ids
        payloads += pts.payloads
        blocks.append(pts.vectors)
        entries.append(
            LibraryDoc(
                document_id=doc_id,
                version=version,
                external_id=str(first.get("external_id", "")),
                title=str(first.get("title", "")),
                kind=kind,
                payload=first,
                expires_at=_parse_dt(first.get("expires_at")),
                start=start,
                end=len(ids),
            )
        )
        # The title and headings count like body text: they say what the page is about.
        sections = dict.fromkeys(str(p.get("section", "")) for p in pts.payloads)
        texts.append(
            "\n".join([str(first.get("title", "")), *sections, *(str(p.get("text", "")) for p in pts.payloads)])
        )
    vectors = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, 384), dtype=np.float32)
    chunk_doc = np.repeat(np.arange(len(entries)), [e.end - e.start for e in entries]).astype(np.int64)
    centroids = np.stack([vectors[e.start : e.end].mean(axis=0) for e in entries]) if entries else vectors[:0]
    if len(centroids):
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    return Library(
        docs=entries,
        chunk_ids=ids,
        payloads=payloads,
        vectors=vectors,
        chunk_doc=chunk_doc,
        centroids=centroids,
        hub=_hubness(vectors, chunk_doc, len(entries)),
        bm25=DocumentBm25(texts),
        sentences=np.ascontiguousarray(np.vstack(sentence_blocks) if sentence_blocks else vectors[:0]),
        sentence_starts=np.cumsum([0] + [len(b) for b in sentence_blocks[:-1]]).astype(np.int64),
        has_sentences=any(pts.sentences is not None and len(pts.sentences) for _, _, pts in docs),
    )


_Snapshot = tuple[tuple[Any, ...], frozenset[tuple[str, int]], Library, dict[str, "_DocPoints"]]


class LibraryCache:
    """Snapshots per (org, kind), rebuilt when SQL's set of current versions changes; unchanged documents'
    points are reused, so a change to one document fetches only that document from the store.

    Each request first reads a one-row fingerprint of the set (one query gives every kind's): its size, the sum
    of its versions and the latest `updated_at`. Versions only grow and every switch of `current_version` writes
    `updated_at`, so any change to the set moves the fingerprint; only then is the set itself read (one row per
    document) and compared."""

    def __init__(self, store: VectorStore, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._store = store
        self._sessions = sessions
        # (org, kind) -> (fingerprint, current versions, library, points by "document:version"). The fingerprint
        # is read before the set, so a stored pair is never newer than its set: replacing one pair with another,
        # in any order, never serves a snapshot older than its fingerprint says.
        self._snapshots: dict[tuple[str, str], _Snapshot] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    async def fingerprints(self, org_id: str) -> dict[str, tuple[Any, ...]]:
        """Per kind, the one-row fingerprint of the organisation's current versions, in one query. All kinds
        together change whenever any document's current version does (see `notes` in the pipeline)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    _documents.c.kind,
                    func.count(_documents.c.id),
                    func.sum(_documents.c.current_version),
                    func.max(_documents.c.updated_at),
                )
                .where(_documents.c.org_id == org_id, _documents.c.current_version.is_not(None))
                .group_by(_documents.c.kind)
            )
            return {str(kind): (count, total, latest) for kind, count, total, latest in rows}

    async def get(self, org_id: str, kind: str, fingerprints: dict[str, tuple[Any, ...]] | None = None) -> Library:
        """The snapshot of the organisation's current `kind` documents. `fingerprints`: what `fingerprints()`
        returned just before (read here when not given)."""
        if fingerprints is None:
            fingerprints = await self.fingerprints(org_id)
        fingerprint = fingerprints.get(kind, (0, None, None))
        where = (
            _documents.c.org_id == org_id,
            _documents.c.kind == kind,
            _documents.c.current_version.is_not(None),
        )
        cached = self._snapshots.get((org_id, kind))
        if cached is not None and cached[0] == fingerprint:
            return cached[2]
        async with self._sessions() as session:
            rows = await session.execute(select(_documents.c.id, _documents.c.current_version).where(*where))
            current = frozenset((str(doc_id), int(version)) for doc_id, version in rows)
        if cached is not None and cached[1] == current:
            self._snapshots[(org_id, kind)] = (fingerprint, *cached[1:])
            return cached[2]
        return await asyncio.to_thread(self._rebuild, org_id, kind, current, fingerprint)

    def _rebuild(
        self, org_id: str, kind: str, current: frozenset[tuple[str, int]], fingerprint: tuple[Any, ...]
    ) -> Library:
        with self._guard:
            lock = self._locks.setdefault((org_id, kind), threading.Lock())
        with lock:
            cached = self._snapshots.get((org_id, kind))
            if cached is not None and cached[1] == current:
                return cached[2]
            known = cached[3] if cached is not None else {}
            wanted = dict(current)
            reuse = {f"{d}:{v}": known[f"{d}:{v}"] for d, v in current if f"{d}:{v}" in known}
            missing = [d for d, v in current if f"{d}:{v}" not in reuse]
            fetched: dict[str, list[tuple[int, str, dict[str, Any], list[float]]]] = {}
            for start in range(0, len(missing), 200):
                batch = missing[start : start + 200]
                points = self._store.scroll(
                    PointFilter(org_id=org_id, document_ids=batch, kinds=[kind]), with_dense=True, limit=1_000_000
                )
                for p in points:
                    doc_id = str(p.payload["document_id"])
                    if p.dense is None or int(p.payload.get("version", -1)) != wanted.get(doc_id):
                        continue
                    row = (int(p.payload.get("ordinal", 0)), p.id, p.payload, p.dense)
                    fetched.setdefault(doc_id, []).append(row)
            for doc_id, rows in fetched.items():
                rows.sort(key=lambda r: r[0])
                reuse[f"{doc_id}:{wanted[doc_id]}"] = _doc_points(rows)
            ordered = sorted(reuse.items())
            library = build_library(
                [(key.rsplit(":", 1)[0], int(key.rsplit(":", 1)[1]), pts) for key, pts in ordered], kind
            )
            self._snapshots[(org_id, kind)] = (fingerprint, current, library, dict(reuse))
            return library
