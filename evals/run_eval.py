"""Retrieval and tone evaluation of talk tracks on the hand-labelled cases in evals/pitch_cases.yaml.

Ingests the demo corpus into a fresh data dir, then composes every case's talk track (max_features 5) with:
BM25 only and dense only (single retriever, best-chunk score per document, no diversification), and the
full pipeline (hybrid RRF, weighted rank aggregation per document, MMR), plus two ablations. Prints
recall@5, nDCG@5 (expected features gain 2, acceptable 1), MRR and tone accuracy, the share of points whose
cited chunk contains the point's text, and the avoid-list words found in business-tone tracks.

    make eval
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PITCHCRAFT_LOG_LEVEL", "WARNING")

from services.core.vectorstore import SearchMode  # noqa: E402
from services.pitch.pipeline import RetrievalOptions  # noqa: E402

ORG = "eval"
SYSTEMS: list[tuple[str, RetrievalOptions]] = [
    ("bm25 only", RetrievalOptions(mode=SearchMode.SPARSE, aggregate="max", diversify=False)),
    ("dense only", RetrievalOptions(mode=SearchMode.DENSE, aggregate="max", diversify=False)),
    ("hybrid, max, no MMR", RetrievalOptions(mode=SearchMode.HYBRID, aggregate="max", diversify=False)),
    ("hybrid, rank agg., no MMR", RetrievalOptions(mode=SearchMode.HYBRID, aggregate="rrf", diversify=False)),
    ("full pipeline", RetrievalOptions()),
]


def dcg(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def score_case(case: dict[str, Any], ranked: list[str]) -> dict[str, float]:
    expected, acceptable = list(case["expected"]), set(case.get("acceptable") or [])
    top = ranked[:5]
    gains = [2.0 if d in expected else 1.0 if d in acceptable else 0.0 for d in top]
    ideal = sorted([2.0] * len(expected) + [1.0] * len(acceptable), reverse=True)[:5]
    first = next((i for i, d in enumerate(ranked) if d in expected), None)
    return {
        "recall@5": len(set(top) & set(expected)) / len(expected),
        "ndcg@5": dcg(gains) / dcg(ideal) if ideal else 0.0,
        "mrr": 1.0 / (first + 1) if first is not None else 0.0,
    }


async def evaluate(settings: Any, cases: list[dict[str, Any]]) -> None:
    from services.core.db import create_engine, session_factory
    from services.core.embeddings import EmbeddingCache, get_embedder
    from services.core.vectorstore import PointFilter, open_store
    from services.core.vectorstore.bm25 import bm25_encoder
    from services.pitch.personas import built_in
    from services.pitch.pipeline import TalkTrackPipeline
    from services.pitch.schemas import TalkTrackIn
    from services.pitch.tone import ToneProfile

    engine = create_engine(settings.database_url)
    store = open_store(settings)
    pipeline = TalkTrackPipeline(store, session_factory(engine), EmbeddingCache(get_embedder), bm25_encoder())
    chunks = {p.id: p.payload["text"] for p in store.scroll(PointFilter(org_id=ORG), limit=100_000)}
    rows = []
    for name, options in SYSTEMS:
        totals = {"recall@5": 0.0, "ndcg@5": 0.0, "mrr": 0.0, "tone": 0.0}
        points = contained = avoided = 0
        for case in cases:
            persona = built_in()[case["persona"]]
            request = TalkTrackIn(
                persona=case["persona"],
                persona_brief=case.get("persona_brief"),
                context=case.get("context"),
                segment=case.get("segment"),
                competitor=case.get("competitor"),
                max_features=5,
            )
            track = await pipeline.compose(ORG, request, persona, options)
            for metric, value in score_case(case, [f.external_id for f in track.features]).items():
                totals[metric] += value
            totals["tone"] += float(track.tone.value == case["tone"])
            profile = ToneProfile(persona.tone, tuple(persona.prefer), tuple(persona.avoid))
            all_points = [p for f in track.features for p in f.points]
            if track.competitor:
                all_points += track.competitor.where_we_win + [o.response for o in track.competitor.objections]
            for p in all_points:
                points += 1
                contained += int(p.text in chunks.get(p.citation.chunk_id, ""))
            if track.tone.value == "business":
                # Everything the buyer would read: points, feature titles, objections, questions.
                shown = [p.text for p in all_points] + [f.title for f in track.features] + track.discovery_questions
                if track.competitor:
                    shown += [o.objection for o in track.competitor.objections]
                avoided += sum(1 for text in shown if profile.jargon(text))
        n = len(cases)
        rows.append(
            (name, *(totals[m] / n for m in ("recall@5", "ndcg@5", "mrr", "tone")), contained / max(points, 1), avoided)
        )
    await engine.dispose()
    header = f"{'system':<27}{'recall@5':>9}{'nDCG@5':>8}{'MRR':>7}{'tone':>6}{'cited':>8}{'avoid':>7}"
    print(f"\n{len(cases)} cases (evals/pitch_cases.yaml), demo corpus, all-MiniLM-L6-v2\n")
    print(header)
    print("-" * len(header))
    for name, recall, ndcg, mrr, tone, cited, avoid in rows:
        print(f"{name:<27}{recall:>9.3f}{ndcg:>8.3f}{mrr:>7.3f}{tone:>6.2f}{cited:>7.1%}{avoid:>7d}")
    print("\ncited: share of points whose citation chunk contains the point's text (must be 100%).")
    print("avoid: texts of business-tone tracks (points, titles, objections, questions) with an avoid-list word or")
    print("       an acronym outside the business allowlist (must be 0).")


def main() -> None:
    from services.cli import DEMO_DIR, ingest_paths
    from services.core.settings import Settings
    from services.core.vectorstore import close_stores

    cases = yaml.safe_load((ROOT / "evals" / "pitch_cases.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PITCHCRAFT_DATA_DIR"] = tmp
        settings = Settings()
        summary = ingest_paths(settings, [str(DEMO_DIR)], org=ORG, sub="eval", kind=None)
        print(f"ingested {summary['files']} files: {summary['job']['progress']['total']} chunks")
        close_stores()
        asyncio.run(evaluate(settings, cases))
        close_stores()


if __name__ == "__main__":
    main()
