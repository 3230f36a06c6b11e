"""A job's versions switch in batched statements and its groups embed while the previous group is stored: the
outcome per document is what one statement per document and one step at a time gave."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select

from services.core.auth import Principal, Role
from services.core.migrate import upgrade_async
from services.core.retrieval import current_versions
from services.core.runtime import TaskRuntime
from services.core.settings import Settings
from services.core.vectorstore import PointFilter, close_stores
from services.ingest import pipeline as pipeline_module
from services.ingest.models import DocumentVersion, IngestJob
from services.ingest.service import IngestService, to_submission
from services.ingest.tasks import build_pipeline

pytestmark = pytest.mark.integration
ENGINEER = Principal(sub="sam", org="acme", roles=frozenset({Role.ENGINEER}))


def _doc(settings: Settings, name: str, text: str) -> Any:
    return to_submission(
        {"external_id": name, "kind": "feature", "title": f"Feature {name}"},
        f"## What it does\n\n{text}\n\n## Why it matters\n\nTeams using {name} close reviews faster.",
        filename=None,
        max_chars=settings.ingest.max_content_chars,
    )


@pytest.fixture
async def env(
    make_settings: Callable[..., Settings], database: str | None, embedder: Any
) -> AsyncIterator[tuple[Settings, TaskRuntime, IngestService, list[str]]]:
    settings = make_settings(DATABASE_URL=database)
    await upgrade_async(settings.database_url)
    runtime = TaskRuntime(settings)
    jobs: list[str] = []
    yield settings, runtime, IngestService(runtime.sessions, runtime.store, settings.ingest, jobs.append), jobs
    await runtime.engine.dispose()
    runtime.loop.close()  # unused: these tests await on pytest's loop
    close_stores()


async def _statuses(runtime: TaskRuntime) -> dict[tuple[str, int], str]:
    async with runtime.sessions() as session:
        rows = (
            await session.execute(select(DocumentVersion.document_id, DocumentVersion.version, DocumentVersion.status))
        ).all()
    return {(d, v): s for d, v, s in rows}


async def test_switch_statements_cover_several_documents_with_the_per_document_outcome(
    env: tuple[Settings, TaskRuntime, IngestService, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, runtime, service, jobs = env
    monkeypatch.setattr(pipeline_module, "SWITCH_BATCH", 2)  # 5 documents: statements of 2, 2 and 1
    names = [f"feat-{i}" for i in range(5)]
    _, first = await service.submit(ENGINEER, [_doc(settings, n, f"{n} encrypts data at rest.") for n in names])
    ids = {a.external_id: a.document_id for a in first}
    assert await build_pipeline(runtime).run_job(jobs[0]) == []  # first versions replace nothing
    assert await current_versions(runtime.sessions, "acme", list(ids.values())) == dict.fromkeys(ids.values(), 1)

    # feat-0 gets version 2 (a batch) and version 3 (alone); version 3's job finishes first, so version 2 is
    # overtaken inside a batch whose other documents switch.
    await service.submit(ENGINEER, [_doc(settings, n, f"{n} now rotates keys daily.") for n in names])
    await service.submit(ENGINEER, [_doc(settings, "feat-0", "feat-0 keeps keys in the customer's HSM.")])
    pipeline = build_pipeline(runtime)
    changed = await pipeline.run_job(jobs[2])
    assert [(c.document_id, c.version, c.change) for c in changed] == [(ids["feat-0"], 3, "replaced")]
    changed = await pipeline.run_job(jobs[1])
    assert [(c.document_id, c.version) for c in changed] == [(ids[n], 2) for n in names[1:]]

    expected = {ids["feat-0"]: 3} | {ids[n]: 2 for n in names[1:]}
    assert await current_versions(runtime.sessions, "acme", list(ids.values())) == expected
    statuses = await _statuses(runtime)
    assert statuses[(ids["feat-0"], 1)] == statuses[(ids["feat-0"], 2)] == "superseded"
    assert statuses[(ids["feat-0"], 3)] == "indexed"
    for name in names[1:]:
        assert (statuses[(ids[name], 1)], statuses[(ids[name], 2)]) == ("superseded", "indexed")
    for doc_id, version in expected.items():
        points = runtime.store.scroll(PointFilter(org_id="acme", document_id=doc_id))
        assert points and {p.payload["version"] for p in points} == {version}
    async with runtime.sessions() as session:
        job = await session.get(IngestJob, jobs[1])
        assert job is not None and job.status == "succeeded" and job.done == job.total


async def test_groups_are_embedded_ahead_of_their_writes_and_all_stored_with_their_vectors(
    env: tuple[Settings, TaskRuntime, IngestService, list[str]], monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    settings, runtime, service, jobs = env
    monkeypatch.setattr(pipeline_module, "EMBED_GROUP", 3)  # 7 documents x 2 chunks: 5 groups
    _, accepted = await service.submit(
        ENGINEER, [_doc(settings, f"doc-{i}", f"doc-{i} mirrors {i} replicas across zones.") for i in range(7)]
    )
    pipeline = build_pipeline(runtime)
    started = [threading.Event() for _ in range(5)]
    ahead: list[bool] = []
    progress: list[int] = []
    store_group, record = pipeline._store_group, pipeline._progress

    class Counting:
        dimension, name = embedder.dimension, embedder.name
        calls = 0

        def embed(self, texts: list[str], batch_size: int = 32) -> Any:
            started[Counting.calls].set()
            Counting.calls += 1
            return embedder.embed(texts, batch_size=batch_size)

    def stored(*args: Any) -> None:
        # Stored while the next group's model call runs (a sequential pipeline would call the model only after
        # this returns, and the wait would time out).
        k = len(ahead)
        ahead.append(k == 4 or started[k + 1].wait(timeout=30))
        store_group(*args)

    async def progressed(job_id: str, *, done: int, total: int, reused: int) -> None:
        progress.append(done)
        await record(job_id, done=done, total=total, reused=reused)

    monkeypatch.setattr(pipeline, "_store_group", stored)
    monkeypatch.setattr(pipeline, "_progress", progressed)
    monkeypatch.setattr(pipeline, "_embedder_factory", Counting)
    await pipeline.run_job(jobs[0])

    assert Counting.calls == 5 and ahead == [True] * 5
    assert progress == [0, 0, 3, 6, 9, 12, 14]  # planned, reused, then each group once stored
    for doc in accepted:
        points = runtime.store.scroll(PointFilter(org_id="acme", document_id=doc.document_id), with_dense=True)
        assert len(points) == 2
        for p in points:
            again = embedder.embed([p.payload["title"] + " > " + p.payload["section"] + "\n" + p.payload["text"]])[0]
            assert p.dense is not None and max(abs(a - b) for a, b in zip(p.dense, again.tolist(), strict=True)) < 1e-5


async def test_a_store_fault_mid_job_stores_no_later_group_and_the_retry_finishes_it(
    env: tuple[Settings, TaskRuntime, IngestService, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, runtime, service, jobs = env
    monkeypatch.setattr(pipeline_module, "EMBED_GROUP", 3)
    await service.submit(ENGINEER, [_doc(settings, f"doc-{i}", f"doc-{i} caches {i} queries.") for i in range(4)])
    pipeline = build_pipeline(runtime)
    store_group = pipeline._store_group
    writes = 0

    def flaky(*args: Any) -> None:
        nonlocal writes
        writes += 1
        if writes == 2:
            raise ConnectionError("vector store went away")
        store_group(*args)

    monkeypatch.setattr(pipeline, "_store_group", flaky)
    with pytest.raises(ConnectionError):
        await pipeline.run_job(jobs[0])
    assert writes == 2  # nothing after the failed group was written
    assert len(runtime.store.scroll(PointFilter(org_id="acme"))) == 3  # the first group only
    async with runtime.sessions() as session:
        job = await session.get(IngestJob, jobs[0])
        assert job is not None and job.status == "running" and job.done == 3  # left to the retry policy

    # The retry (another delivery, once the lease lapses) reuses the stored group and embeds the rest.
    async with runtime.sessions() as session, session.begin():
        job = await session.get(IngestJob, jobs[0])
        assert job is not None
        job.status = "queued"
    await build_pipeline(runtime).run_job(jobs[0])
    async with runtime.sessions() as session:
        job = await session.get(IngestJob, jobs[0])
        assert job is not None and job.status == "succeeded" and job.reused == 3 and job.done == job.total == 8
