"""The curated material as enablement sees it: the current version of each live document, read from the shared
vector store (chunks with their vectors) and the shared SQL table of current versions. Never ingest's code."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.db import utcnow
from services.core.errors import AppError
from services.core.retrieval import current_versions
from services.core.text import split_sentences
from services.core.vectorstore import PointFilter, VectorStore

# Chunks read for one generation: enough for a few thousand documents' worth of a slice; a larger slice is
# refused by the caller's count limit long before this matters.
MAX_CHUNKS = 20_000
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
# Bold markers of markdown ("**Request OCSF.** You can ..."): shown to reps as words, not asterisks.
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'+-]*")
_STOPWORDS = (
    "a an and are as at be by can do does for from has have how in into is it its of on or our so that the "
    "their them then there these they this to was we what when which while who why will with without you "
    "your not no more most than also each every any all one two per via"
)
STOPWORDS = frozenset(_STOPWORDS.split())


class MaterialTooLarge(AppError):
    status_code = 413
    code = "material_too_large"


@dataclass
class MaterialChunk:
    id: str
    document_id: str
    external_id: str
    version: int
    ordinal: int
    kind: str
    title: str
    section: str
    text: str
    competitor: str | None
    as_of: str | None
    vector: np.ndarray

    def citation(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "external_id": self.external_id,
            "version": self.version,
            "chunk_id": self.id,
            "as_of": self.as_of,
        }

    def sentences(self) -> list[str]:
        """Prose sentences as written (list and bold markers dropped), headings and questions left out."""
        out = []
        for sentence in split_sentences(_EMPHASIS.sub(r"\2", self.text)):
            sentence = _BULLET.sub("", sentence).strip()
            if sentence and not sentence.startswith("#"):
                out.append(sentence)
        return out


@dataclass
class MaterialDoc:
    document_id: str
    external_id: str
    title: str
    kind: str
    competitor: str | None
    chunks: list[MaterialChunk] = field(default_factory=list)
    product: str | None = None  # our product's name as the material gives it (front matter `product`)

    @property
    def centroid(self) -> np.ndarray:
        mean = np.mean([c.vector for c in self.chunks], axis=0)
        return np.asarray(mean / (np.linalg.norm(mean) or 1.0), dtype=np.float32)

    def chunk_matrix(self) -> np.ndarray:
        return np.stack([c.vector for c in self.chunks])


def content_words(text: str) -> set[str]:
    """Lower-cased words of 3+ characters that carry meaning, cut to 5 characters (a crude stem)."""
    return {w.lower()[:5] for w in _WORD.findall(text) if len(w) >= 3 and w.lower() not in STOPWORDS}


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w%.]+", " ", text.lower()).split())


async def load_material(
    store: VectorStore,
    sessions: async_sessionmaker[AsyncSession],
    org_id: str,
    *,
    kinds: list[str] | None = None,
    competitor: str | None = None,
) -> dict[str, MaterialDoc]:
    """document id -> live document (current version, not expired) with its chunks in order."""
    flt = PointFilter(org_id=org_id, kinds=kinds, competitor=competitor, live_at=utcnow())
    points = await asyncio.to_thread(store.scroll, flt, with_dense=True, limit=MAX_CHUNKS + 1)
    if len(points) > MAX_CHUNKS:
        # Never quiz from a silently truncated library (a document could come back with half its chunks).
        raise MaterialTooLarge(
            f"the organisation's live material has more than {MAX_CHUNKS:,} chunks, more than quiz generation "
            "reads at once; this deployment needs a larger limit or generation as a background job"
        )
    current = await current_versions(sessions, org_id, {str(p.payload["document_id"]) for p in points})
    docs: dict[str, MaterialDoc] = {}
    for p in points:
        payload = p.payload
        doc_id = str(payload["document_id"])
        if current.get(doc_id) != payload.get("version") or p.dense is None:
            continue
        doc = docs.setdefault(
            doc_id,
            MaterialDoc(
                document_id=doc_id,
                external_id=str(payload.get("external_id", "")),
                title=str(payload.get("title", "")),
                kind=str(payload.get("kind", "")),
                competitor=payload.get("competitor"),
                product=payload.get("product") or None,
            ),
        )
        doc.chunks.append(
            MaterialChunk(
                id=p.id,
                document_id=doc_id,
                external_id=doc.external_id,
                version=int(payload["version"]),
                ordinal=int(payload.get("ordinal", 0)),
                kind=doc.kind,
                title=doc.title,
                section=str(payload.get("section") or ""),
                text=str(payload.get("text", "")),
                competitor=doc.competitor,
                as_of=payload.get("as_of"),
                vector=np.asarray(p.dense, dtype=np.float32),
            )
        )
    for doc in docs.values():
        doc.chunks.sort(key=lambda c: c.ordinal)
    return docs
