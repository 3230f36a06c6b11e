"""Searches that only ever return points of a document's current version.

A new version's points are written before SQL switches `documents.current_version`, and the old version's
points are deleted after; filtering hits against SQL's current version makes the switch atomic for readers:
at every moment a search sees exactly one version of each document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.vectorstore import SearchHit, SearchRequest, VectorStore

# The columns this needs of the ingest service's table (read through the shared store, not its code).
_documents = table(
    "documents", column("id"), column("org_id"), column("current_version"), column("title"), column("review_due_at")
)


async def current_versions(
    sessions: async_sessionmaker[AsyncSession], org_id: str, document_ids: Iterable[str]
) -> dict[str, int]:
    ids = sorted(set(document_ids))
    if not ids:
        return {}
    async with sessions() as session:
        rows = await session.execute(
            select(_documents.c.id, _documents.c.current_version).where(
                _documents.c.org_id == org_id,
                _documents.c.id.in_(ids),
                _documents.c.current_version.is_not(None),
            )
        )
        return {doc_id: int(version) for doc_id, version in rows}


async def review_due(
    sessions: async_sessionmaker[AsyncSession], org_id: str, document_ids: Iterable[str]
) -> dict[str, tuple[str, datetime]]:
    """document id -> (title, review due date), for warnings about material past its review date."""
    ids = sorted(set(document_ids))
    if not ids:
        return {}
    async with sessions() as session:
        rows = await session.execute(
            select(_documents.c.id, _documents.c.title, _documents.c.review_due_at).where(
                _documents.c.org_id == org_id, _documents.c.id.in_(ids)
            )
        )
        out: dict[str, tuple[str, datetime]] = {}
        for doc_id, title, due in rows:
            if isinstance(due, str):  # SQLite through a plain table() returns text
                due = datetime.fromisoformat(due)
            out[doc_id] = (title, due if due.tzinfo else due.replace(tzinfo=UTC))
        return out


async def live_search(
    store: VectorStore, sessions: async_sessionmaker[AsyncSession], requests: list[SearchRequest]
) -> list[list[SearchHit]]:
    """Run the searches, then drop hits of versions that are not (or no longer) current."""
    results = await asyncio.to_thread(store.search_batch, requests)
    by_org: dict[str, set[str]] = {}
    for request, hits in zip(requests, results, strict=True):
        by_org.setdefault(request.filter.org_id, set()).update(str(h.payload.get("document_id")) for h in hits)
    current: dict[tuple[str, str], int] = {}
    for org, ids in by_org.items():
        for doc_id, version in (await current_versions(sessions, org, ids)).items():
            current[(org, doc_id)] = version
    return [
        [
            h
            for h in hits
            if current.get((request.filter.org_id, str(h.payload.get("document_id")))) == h.payload.get("version")
        ]
        for request, hits in zip(requests, results, strict=True)
    ]
