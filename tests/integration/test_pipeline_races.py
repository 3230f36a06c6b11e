"""Jobs for versions of one document finishing out of order (two workers): the newest version wins and no
point of an overtaken version is left behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from services.core.auth import Principal, Role
from services.core.migrate import upgrade_async
from services.core.retrieval import current_versions
from services.core.runtime import TaskRuntime
from services.core.settings import Settings
from services.core.vectorstore import ChunkPoint, PointFilter, SparseVec, close_stores, point_id
from services.ingest.models import VersionUpload
from services.ingest.service import IngestService, to_submission
from services.ingest.tasks import build_pipeline

pytestmark = pytest.mark.integration
ENGINEER = Principal(sub="sam", org="acme", roles=frozenset({Role.ENGINEER}))


def _submission(settings: Settings, text: str) -> Any:
    return to_submission(
        {"external_id": "race", "kind": "feature", "title": "Race"},
        f"## Part\n\n{text}",
        filename=None,
        max_chars=settings.ingest.max_content_chars,
    )


async def test_an_overtaken_version_leaves_no_points(make_settings: Callable[..., Settings], embedder: Any) -> None:
    settings = make_settings()
    await upgrade_async(settings.database_url)
    runtime = TaskRuntime(settings)
    jobs: list[str] = []
    try:
        service = IngestService(runtime.sessions, runtime.store, settings.ingest, jobs.append)
        pipeline = build_pipeline(runtime)
        _, (v2,) = await service.submit(ENGINEER, [_submission(settings, "Version two text.")])
        _, (v3,) = await service.submit(ENGINEER, [_submission(settings, "Version three text.")])
        doc_id = v2.document_id
        assert (v2.version, v3.version) == (1, 2)

        await pipeline.run_job(jobs[1])  # the newer version's worker finishes first
        # The older version's worker had written a point before it was overtaken.
        runtime.store.upsert(
            [
                ChunkPoint(
                    id=point_id(doc_id, 1, 0),
                    dense=embedder.embed(["Version two text."])[0].tolist(),
                    sparse=SparseVec([1], [1.0]),
                    payload={"org_id": "acme", "document_id": doc_id, "version": 1, "ordinal": 0},
                )
            ]
        )
        await pipeline.run_job(jobs[0])

        assert await current_versions(runtime.sessions, "acme", [doc_id]) == {doc_id: 2}
        points = runtime.store.scroll(PointFilter(org_id="acme", document_id=doc_id))
        assert points and {p.payload["version"] for p in points} == {2}
        first = await service.get_job(ENGINEER, jobs[0])
        assert first.status == "succeeded" and first.progress.total == 0
    finally:
        await runtime.engine.dispose()
        runtime.loop.close()  # unused: this test awaits on pytest's loop
        close_stores()


async def _uploads(runtime: TaskRuntime) -> int:
    async with runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(VersionUpload))).scalar_one())


async def test_a_raw_upload_overtaken_before_it_was_parsed_is_dropped_and_deletion_drops_the_rest(
    make_settings: Callable[..., Settings], embedder: Any
) -> None:
    settings = make_settings()
    await upgrade_async(settings.database_url)
    runtime = TaskRuntime(settings)
    jobs: list[str] = []
    fields = {"external_id": "page", "kind": "feature", "title": "Page"}
    try:
        service = IngestService(runtime.sessions, runtime.store, settings.ingest, jobs.append)
        pipeline = build_pipeline(runtime)
        one = await service.prepare(dict(fields), b"<h1>Page</h1><p>Version one words.</p>", filename="p.html")
        two = await service.prepare(dict(fields), b"<h1>Page</h1><p>Version two words.</p>", filename="p.html")
        _, (v1,) = await service.submit(ENGINEER, [one])
        _, (v2,) = await service.submit(ENGINEER, [two])
        assert (v1.version, v2.version) == (1, 2) and await _uploads(runtime) == 2

        await pipeline.run_job(jobs[1])  # the newer version's job runs first: version 1 will never be parsed
        assert await current_versions(runtime.sessions, "acme", [v1.document_id]) == {v1.document_id: 2}
        assert await _uploads(runtime) == 0
        await pipeline.run_job(jobs[0])  # finds nothing to do
        assert (await service.get_job(ENGINEER, jobs[0])).status == "succeeded"
        points = runtime.store.scroll(PointFilter(org_id="acme", document_id=v1.document_id))
        assert points and {p.payload["version"] for p in points} == {2}

        # A document deleted while an upload waits for its job: the upload goes with it (foreign key cascade).
        three = await service.prepare(dict(fields), b"<p>Version three words.</p>", filename="p.html")
        await service.submit(ENGINEER, [three])
        assert await _uploads(runtime) == 1
        await service.delete(ENGINEER, v1.document_id)
        assert await _uploads(runtime) == 0
        await pipeline.run_job(jobs[2])
        assert (await service.get_job(ENGINEER, jobs[2])).status == "succeeded"
        assert runtime.store.scroll(PointFilter(org_id="acme", document_id=v1.document_id)) == []
    finally:
        await runtime.engine.dispose()
        runtime.loop.close()  # unused: this test awaits on pytest's loop
        close_stores()
