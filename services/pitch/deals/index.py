"""Meeting notes in the vector store, scoped to their deal.

A note's sentences are points in the same collection as the library, under a scope of their own:
`deal_scope(org, deal)` as the point's `org_id`. Every other query filters on the org's own id, so a note can only
come back to a query that names its deal: no feature ranking, battlecard, quiz or other deal's track can ever
retrieve it, whatever its words. Ids are deterministic (note, sentence), so indexing a note again overwrites.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import numpy as np
import structlog

from services.core.vectorstore import ChunkPoint, PointFilter, VectorStore, point_id
from services.core.vectorstore.bm25 import bm25_encoder

log = structlog.get_logger(__name__)
NOTE_KIND = "call_note"


def deal_scope(org_id: str, deal_id: str) -> str:
    """The `org_id` of a deal's note points. '#' and ':' never occur in an org id (`ORG_RE`), so no org can
    be named so that its own queries reach a deal's notes."""
    return f"{org_id}#deal:{deal_id}"


class NoteIndex:
    def __init__(self, store: VectorStore, embed: Callable[[Sequence[str]], np.ndarray]) -> None:
        self._store = store
        self._embed = embed
        self._bm25 = bm25_encoder()

    async def index(
        self, org_id: str, deal_id: str, note_id: str, sentences: Sequence[str], meeting_date: str, title: str
    ) -> None:
        if not sentences:
            return
        vectors = await asyncio.to_thread(self._embed, list(sentences))
        points = [
            ChunkPoint(
                id=point_id(note_id, 1, i),
                dense=[float(x) for x in vector],
                sparse=self._bm25.document(text),
                payload={
                    "org_id": deal_scope(org_id, deal_id),
                    "deal_id": deal_id,
                    "note_id": note_id,
                    "document_id": note_id,
                    "external_id": f"note-{note_id}",
                    "version": 1,
                    "ordinal": i,
                    "kind": NOTE_KIND,
                    "title": title,
                    "section": "",
                    "text": text,
                    "as_of": meeting_date,
                },
            )
            for i, (text, vector) in enumerate(zip(sentences, vectors, strict=True))
        ]
        await asyncio.to_thread(self._store.upsert, points)

    async def indexed_notes(self, org_id: str, deal_id: str) -> set[str]:
        points = await asyncio.to_thread(self._store.scroll, PointFilter(org_id=deal_scope(org_id, deal_id)))
        return {str(p.payload.get("note_id")) for p in points}

    async def drop_deal(self, org_id: str, deal_id: str) -> None:
        await asyncio.to_thread(self._store.delete, PointFilter(org_id=deal_scope(org_id, deal_id)))
