"""What the talk-track speed work must not change: concurrent requests that share one model call each get their
own vectors, a failed call fails every request in it, and the snapshot's kept scores equal fresh ones. No
timing here: speed is measured by bench/pitch_bench.py."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from services.core.embeddings import EmbeddingBatcher, EmbeddingCache
from services.pitch.library import _DocPoints, build_library
from services.pitch.ranking import Need, rank_documents


class FakeEmbedder:
    """sha256-seeded unit vectors; records every call. `gate` holds the first call until released, so the test
    decides which requests arrive while the model is busy."""

    dimension = 8
    name = "fake"

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.called = threading.Event()
        self.gate = threading.Event()
        self.fail = fail

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.calls.append(list(texts))
        self.called.set()
        self.gate.wait(timeout=10)
        if self.fail:
            raise RuntimeError("model failed")
        return np.stack([vector(t) for t in texts])


def vector(text: str, dimension: int = 8) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    v = np.random.default_rng(seed).normal(size=dimension).astype(np.float32)
    return v / np.linalg.norm(v)


async def test_requests_that_arrive_while_the_model_is_busy_share_the_next_call() -> None:
    model = FakeEmbedder()
    batcher = EmbeddingBatcher(EmbeddingCache(lambda: model), max_wait=0)
    first = asyncio.create_task(batcher.embed(["a deal", "its context"]))
    assert await asyncio.to_thread(model.called.wait, 10)  # the first request is in the model, alone
    later = [asyncio.create_task(batcher.embed([f"deal {i}", "its context"])) for i in range(3)]
    await asyncio.sleep(0.01)
    model.gate.set()
    results = await asyncio.gather(first, *later)

    assert model.calls[0] == ["a deal", "its context"]
    assert len(model.calls) == 2  # the three later requests in one call; the shared text came from the cache
    assert sorted(model.calls[1]) == ["deal 0", "deal 1", "deal 2"]
    assert np.array_equal(results[0], np.stack([vector("a deal"), vector("its context")]))
    for i, got in enumerate(results[1:]):
        assert np.array_equal(got, np.stack([vector(f"deal {i}"), vector("its context")]))


async def test_a_failed_call_fails_every_request_in_it_and_the_next_call_still_runs() -> None:
    model = FakeEmbedder(fail=True)
    model.gate.set()
    batcher = EmbeddingBatcher(EmbeddingCache(lambda: model), max_wait=0)
    outcomes = await asyncio.gather(batcher.embed(["x"]), batcher.embed(["y"]), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    model.fail = False
    assert np.array_equal(await batcher.embed(["z"]), vector("z")[None, :])


def small_library() -> tuple[list[tuple[str, int, _DocPoints]], list[str]]:
    texts = [
        ["Single sign-on with Okta and SAML.", "Provision users with SCIM."],
        ["Audit logs for SOC 2 evidence.", "Export the log to your SIEM."],
        ["Dashboards for pipeline and revenue.", "Share reports with the board."],
        ["Okta groups map to roles.", "Roles limit who sees records."],
    ]
    docs = []
    for d, chunks in enumerate(texts):
        payloads = [
            {"text": t, "title": "Okta roles" if d == 3 else f"Doc {d}", "external_id": f"doc-{d}", "ordinal": i}
            for i, t in enumerate(chunks)
        ]
        ids = [f"p{d}-{i}" for i in range(len(chunks))]
        vectors = np.stack([vector(t, 384) for t in chunks])
        docs.append((f"d{d}", 1, _DocPoints(ids, payloads, vectors)))
    return docs, [t for chunks in texts for t in chunks]


@pytest.mark.parametrize("repeat", [1, 2])
def test_kept_scores_of_standing_needs_rank_as_fresh_ones(repeat: int) -> None:
    docs, _ = small_library()
    library = build_library(docs, "feature")
    needs = [
        Need("single sign-on for our identity provider", 1.0, "the deal", "deal"),
        Need("what the board is measured on", 0.25, "prior", "prior"),
        Need("security reviews pass quickly", 0.25, "prior 2", "prior"),
        Need("Okta", 1.0, "Okta", "system"),
    ]
    vectors = np.stack([vector(n.text, 384) for n in needs[:3]] + [np.zeros(384, dtype=np.float32)])
    live = np.ones(library.size, dtype=bool)
    for _ in range(repeat):  # the second pass reads the kept scores of the priorities and of "Okta"
        ranked = rank_documents(library, needs, vectors, live)
    fresh = rank_documents(build_library(docs, "feature"), needs, vectors, live)
    assert ranked.order == fresh.order
    assert np.allclose(ranked.score, fresh.score)
    assert ranked.matched == fresh.matched
    # A title mention counts three times: doc 3 names it in one chunk (1) and in its title (1 + 2).
    assert library.mentions("okta").tolist() == [1.0, 0.0, 0.0, 4.0]
