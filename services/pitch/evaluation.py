"""`pitchcraft eval DIR`: measure talk tracks on your own material before you trust them.

DIR holds `corpus/` (markdown with YAML front matter: `kind` feature, competitor or case_study; the file stem or
`external_id` is the document's id) and `cases.jsonl` (one case a line: id, persona, persona_brief, context,
competitor, competitor_note, relevant_features, acceptable_features, distractor_features, tone; the format of
`../shared/evalsets/`). The corpus is ingested into a fresh data dir through the real ingest pipeline (parse,
chunk, embed, Qdrant Edge, SQLite); every case is then composed by the same pipeline the API runs.

Printed: recall@5, nDCG@5 (relevant gain 2, acceptable 1), MRR and distractor@5 for the pipeline (scored on the
features the track shows, in order) beside three baselines on the same index and model (BM25 over whole
documents, dense best-chunk, naive RRF of the two; scored on their rankings); then the share of grounded
points, points that state a limitation, jargon in business-tone tracks, competitor-note citations and how much
one persona's top 3 repeats across different deals.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import tempfile
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

K = 5
# "ranking only": the pipeline's document ranking before feature selection (support, points, diversity).
PIPELINE = ("full pipeline", "pipeline ranking only")


def load_cases(path: Path) -> list[dict[str, Any]]:
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for case in cases:
        missing = {"id", "persona", "relevant_features"} - set(case)
        if missing:
            raise SystemExit(f"{path}: case {case.get('id', '?')} lacks {sorted(missing)}")
    return cases


def score_ranking(case: dict[str, Any], ranked: list[str], k: int = K) -> dict[str, float]:
    """The scoring rule of the shared evaluation sets (score.py): graded nDCG, recall, MRR, distractor rate."""
    relevant = set(case["relevant_features"])
    acceptable = set(case.get("acceptable_features") or [])
    distractors = set(case.get("distractor_features") or [])
    ranking = list(dict.fromkeys(ranked))
    top = ranking[:k]
    gain = {d: 1 for d in acceptable} | {d: 2 for d in relevant}
    dcg = sum(gain.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top))
    ideal = sorted(gain.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    first = next((i + 1 for i, d in enumerate(ranking) if d in relevant), None)
    out = {
        "recall@5": len(relevant & set(top)) / len(relevant) if relevant else 0.0,
        "ndcg@5": dcg / idcg if idcg else 0.0,
        "mrr": 1.0 / first if first else 0.0,
    }
    if distractors:
        out["distractor@5"] = len(distractors & set(top)) / len(distractors)
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarise(per_case: list[dict[str, float]]) -> dict[str, float]:
    return {
        "recall@5": _mean([s["recall@5"] for s in per_case]),
        "ndcg@5": _mean([s["ndcg@5"] for s in per_case]),
        "mrr": _mean([s["mrr"] for s in per_case]),
        "distractor@5": _mean([s["distractor@5"] for s in per_case if "distractor@5" in s]),
    }


def top3_overlap(tracks: dict[str, list[tuple[str, list[str]]]]) -> float:
    """Mean Jaccard overlap of the top 3 features between tracks of one persona for different deals."""
    overlaps: list[float] = []
    for runs in tracks.values():
        for (_, a), (_, b) in combinations(runs, 2):
            sa, sb = set(a[:3]), set(b[:3])
            if sa | sb:
                overlaps.append(len(sa & sb) / len(sa | sb))
    return _mean(overlaps)


async def _evaluate(settings: Any, org: str, cases: list[dict[str, Any]], run_path: Path | None) -> dict[str, Any]:
    from services.core.db import create_engine, session_factory
    from services.core.embeddings import EmbeddingCache, get_embedder
    from services.core.sales import capitalised_names
    from services.core.tone import ToneProfile
    from services.core.vectorstore import PointFilter, open_store
    from services.pitch.personas import built_in
    from services.pitch.pipeline import RetrievalOptions, TalkTrackPipeline
    from services.pitch.points import is_limitation
    from services.pitch.schemas import TalkTrackIn

    engine = create_engine(settings.database_url)
    store = open_store(settings)
    pipeline = TalkTrackPipeline(store, session_factory(engine), EmbeddingCache(get_embedder))
    chunk_text = {p.id: str(p.payload["text"]) for p in store.scroll(PointFilter(org_id=org), limit=1_000_000)}
    # The names the pipeline reads as names, not jargon, taken from the same snapshot it reads them from.
    products = (await pipeline.library.get(org, "feature")).product_names
    systems = {
        "full pipeline": RetrievalOptions(),
        "pipeline ranking only": RetrievalOptions(),
        "BM25 whole documents": RetrievalOptions(ranking="bm25"),
        "dense best chunk": RetrievalOptions(ranking="dense"),
        "naive RRF (BM25 + dense)": RetrievalOptions(ranking="rrf"),
    }
    per_system: dict[str, list[dict[str, float]]] = {name: [] for name in systems}
    quality = {"points": 0, "grounded": 0, "feature_points": 0, "limitations": 0, "business_texts": 0, "jargon": 0}
    quality |= {"business_names": 0, "jargon_names": 0}
    competitor_cases = cited_notes = 0
    by_persona: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    run_lines: list[str] = []
    for case in cases:
        persona = built_in()[case["persona"]]
        request = TalkTrackIn(
            persona=case["persona"],
            persona_brief=case.get("persona_brief"),
            context=case.get("context"),
            segment=case.get("segment"),
            competitor=case.get("competitor"),
            max_features=K,
        )
        for name, options in systems.items():
            if name == "full pipeline":
                track = await pipeline.compose(org, request, persona, options)
                shown = [f.external_id for f in track.features]
                per_system[name].append(score_ranking(case, shown))
                continue
            ranking = await pipeline.rank_only(org, request, persona, options)
            per_system[name].append(score_ranking(case, ranking))
        by_persona[case["persona"]].append((case["id"], shown))
        texts = [p for f in track.features for p in [*f.points, *f.be_ready_for, *([f.proof] if f.proof else [])]]
        if track.competitor:
            texts += track.competitor.where_we_win + track.competitor.where_they_are_stronger
            texts += [o.response for o in track.competitor.objections]
        quality["points"] += len(texts)
        quality["grounded"] += sum(p.text in chunk_text.get(p.citation.chunk_id, "") for p in texts)
        feature_points = [p for f in track.features for p in f.points]
        quality["feature_points"] += len(feature_points)
        quality["limitations"] += sum(is_limitation(p.text) for p in feature_points)
        if track.tone.value == "business":
            rival = [track.competitor.name] if track.competitor else []  # as the pipeline read its notes
            names = capitalised_names([*products, *rival])
            profile = ToneProfile(persona.tone, tuple(persona.prefer), tuple(persona.avoid), names)
            said = [p.text for p in texts] + track.discovery_questions
            if track.competitor:
                said += [o.objection for o in track.competitor.objections]
            quality["business_texts"] += len(said)
            quality["jargon"] += sum(1 for t in said if profile.jargon(t))
            headings = [f.heading or f.title for f in track.features]
            quality["business_names"] += len(headings)
            quality["jargon_names"] += sum(1 for t in headings if profile.jargon(t))
        note_cited = False
        if case.get("competitor_note"):
            competitor_cases += 1
            if track.competitor:
                cited = [p.citation.external_id for p in track.competitor.where_we_win]
                cited += [o.response.citation.external_id for o in track.competitor.objections]
                note_cited = case["competitor_note"] in cited
            cited_notes += int(note_cited)
        run_lines.append(json.dumps({"id": case["id"], "ranked_features": shown, "competitor_note_cited": note_cited}))
    await engine.dispose()
    if run_path is not None:
        await asyncio.to_thread(run_path.write_text, "\n".join(run_lines) + "\n", encoding="utf-8")
    return {
        "cases": len(cases),
        "systems": {name: summarise(scores) for name, scores in per_system.items()},
        "grounded": quality["grounded"] / max(1, quality["points"]),
        "cited_texts": quality["points"],
        "limitation_points": quality["limitations"] / max(1, quality["feature_points"]),
        "feature_points": quality["feature_points"],
        "business_jargon": quality["jargon"],
        "business_names": quality["business_names"],
        "business_jargon_names": quality["jargon_names"],
        "business_texts": quality["business_texts"],
        "competitor_note_cited": cited_notes / competitor_cases if competitor_cases else None,
        "competitor_cases": competitor_cases,
        "top3_overlap_same_persona": top3_overlap(by_persona),
    }


def corpus_files(corpus: Path) -> list[str]:
    files = sorted(str(p) for p in corpus.rglob("*.md") if p.name.lower() != "readme.md")
    if not files:
        raise SystemExit(f"no markdown documents under {corpus}")
    return files


def run(directory: Path, run_path: Path | None = None) -> dict[str, Any]:
    from services.cli import ingest_paths
    from services.core.settings import Settings
    from services.core.vectorstore import close_stores

    cases_path, corpus = directory / "cases.jsonl", directory / "corpus"
    if not cases_path.is_file() or not corpus.is_dir():
        raise SystemExit(f"{directory} needs corpus/ and cases.jsonl (see `pitchcraft eval --help`)")
    cases = load_cases(cases_path)
    org = "eval"
    with tempfile.TemporaryDirectory() as tmp:
        previous = os.environ.get("PITCHCRAFT_DATA_DIR")
        os.environ["PITCHCRAFT_DATA_DIR"] = tmp
        try:
            settings = Settings()
            summary = ingest_paths(settings, corpus_files(corpus), org=org, sub="eval", kind=None)
            close_stores()
            result = asyncio.run(_evaluate(settings, org, cases, run_path))
            close_stores()
        finally:
            if previous is None:
                os.environ.pop("PITCHCRAFT_DATA_DIR", None)
            else:
                os.environ["PITCHCRAFT_DATA_DIR"] = previous
    result["documents"] = summary["files"]
    result["chunks"] = summary["job"]["progress"]["total"] if summary["job"] else 0
    return result


def report(directory: Path, result: dict[str, Any]) -> str:
    lines = [
        f"{directory}: {result['cases']} cases, {result['documents']} documents, {result['chunks']} chunks "
        "(all-MiniLM-L6-v2, Qdrant Edge)",
        "",
        f"{'system':<27}{'nDCG@5':>8}{'recall@5':>10}{'MRR':>7}{'distractor@5':>14}",
    ]
    lines.append("-" * len(lines[-1]))
    for name, s in result["systems"].items():
        lines.append(f"{name:<27}{s['ndcg@5']:>8.3f}{s['recall@5']:>10.3f}{s['mrr']:>7.3f}{s['distractor@5']:>14.3f}")
    best = max(v["ndcg@5"] for k, v in result["systems"].items() if k not in PIPELINE)
    lines += [
        "",
        f"pipeline nDCG@5 minus best baseline: {result['systems']['full pipeline']['ndcg@5'] - best:+.3f}",
        f"grounded texts (cited chunk holds the text): {result['grounded']:.1%} of {result['cited_texts']}",
        f"feature points that state a limitation: {result['limitation_points']:.1%} of {result['feature_points']}",
        f"jargon in business-tone tracks (every text said: points, proof, questions, competitor texts): "
        f"{result['business_jargon']} of {result['business_texts']} texts",
        f"feature names in business-tone tracks with a term such a buyer may not know (shown as the library names "
        f"them, acronyms it defines spelt out): {result['business_jargon_names']} of {result['business_names']}",
    ]
    if result["competitor_note_cited"] is not None:
        lines.append(
            f"competitor note cited: {result['competitor_note_cited']:.1%} of {result['competitor_cases']} cases"
        )
    lines.append(f"top-3 overlap between one persona's deals (Jaccard): {result['top3_overlap_same_persona']:.3f}")
    return "\n".join(lines)
