"""persona + deal -> queries (one embedding batch) -> hybrid search -> per-document aggregation ->
diverse selection (MMR) -> sentences chosen for the buyer's tone -> cited talk track.

Everything said comes from the source text; every point carries its citation.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.db import utcnow
from services.core.embeddings import EmbeddingCache
from services.core.retrieval import current_versions, live_search, review_due
from services.core.text import split_sentences
from services.core.vectorstore import PointFilter, SearchMode, SearchRequest, VectorStore
from services.core.vectorstore.bm25 import Bm25Encoder
from services.pitch.schemas import (
    Citation,
    CompetitorSection,
    Feature,
    Objection,
    PersonaOut,
    Point,
    Segment,
    TalkTrack,
    TalkTrackIn,
    Tone,
)
from services.pitch.tone import ToneProfile, analyse, overlap_bonus, query_terms

# Weights of the query sources. The rep's brief and deal context are about this deal, so they count more than
# any one standing priority (2.5 beat 1.0 and 1.5 on evals/pitch_cases.yaml); sentences from the competitor's
# "where we win" notes steer toward the features that win that fight.
PRIORITY_WEIGHT = 1.0
BRIEF_WEIGHT = 2.5
CONTEXT_WEIGHT = 2.5
COMPETITOR_WEIGHT = 0.6
# Rank discount in the per-document aggregation: score += weight / (RANK_K + rank of its best chunk);
# 3 beat 1, 5 and 10 on the evaluation set.
RANK_K = 3
CHUNKS_PER_QUERY = 24
# MMR trade-off between relevance and novelty (0.7 beat 0.5 and 0.85 on the evaluation set), and the
# similarity above which two documents are duplicates.
MMR_LAMBDA = 0.7
DUPLICATE_SIMILARITY = 0.92
# A feature needs a chunk at least this close (cosine) to one of the queries; below, it is not supported.
MIN_SUPPORT = 0.30
MAX_POINTS = 3
MIN_POINT_SCORE = 0.3
CANDIDATES = 16
# Chunks whose sentences are kept analysed per tone profile (a few MB at 20,000 entries).
ANALYSIS_CACHE = 20_000

_WIN = re.compile(r"\bwin|advantage|differentiat|why (?:us|choose)|our strength", re.I)
_OBJECTION = re.compile(r"objection", re.I)
_QUESTIONS = re.compile(r"landmine|discovery|question", re.I)
_QUOTES = "\"' \u201c\u201d\u2018\u2019"
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True, slots=True)
class RetrievalOptions:
    """The full pipeline by default; the evaluation's baselines switch parts off."""

    mode: SearchMode = SearchMode.HYBRID
    aggregate: str = "rrf"  # "rrf": weighted rank fusion over queries; "max": best single chunk score
    diversify: bool = True


@dataclass
class Candidate:
    document_id: str
    payload: dict[str, Any]
    score: float = 0.0
    support: float = 0.0  # best cosine between one of its chunks and one query
    vector: np.ndarray | None = None
    matched: list[str] = field(default_factory=list)
    chunk_rank: dict[str, int] = field(default_factory=dict)  # point id -> best rank over queries


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    weight: float
    label: str


def slug(text: str) -> str:
    return re.sub(r"[\W_]+", "-", text.lower()).strip("-")


def _citation(point_id: str, payload: dict[str, Any]) -> Citation:
    return Citation(
        document_id=str(payload["document_id"]),
        external_id=str(payload.get("external_id", "")),
        version=int(payload["version"]),
        chunk_id=point_id,
        as_of=payload.get("as_of"),
    )


def _question(sentence: str) -> str | None:
    """A discovery question from a battlecard line such as `Ask: "How do you ...?"`, without the wrapping."""
    core = sentence.strip().strip(_QUOTES)
    if not core.endswith("?"):
        return None
    core = re.sub(r"^(?:ask|question|q)\s*:\s*", "", core, flags=re.I).strip(_QUOTES)
    return core or None


def _speakable(text: str, profile: ToneProfile) -> bool:
    """Text shown as it is written (headings, questions) must still suit the buyer."""
    if profile.tone is Tone.BUSINESS:
        return profile.jargon(text) is None
    return profile.avoided_term(text) is None


def _sentences(text: str) -> list[str]:
    """Sentences exactly as they stand in the chunk, list markers dropped (the rest is still a substring)."""
    return [_BULLET.sub("", s) for s in split_sentences(text)]


NEXT_STEPS = {
    Segment.SMB: (
        "Before you hang up, start a two-week trial on their own data and book a 30-minute closing call with the "
        "owner for the day the trial ends."
    ),
    Segment.MID_MARKET: (
        "Before you hang up, book a working session with the team that would run it, agree a short pilot with "
        "written success criteria, and put the decision meeting on the calendar."
    ),
    Segment.ENTERPRISE: (
        "Before you hang up, schedule the security review, introduce legal and procurement with target dates, "
        "and book a tailored demo for the wider buying group."
    ),
}
DEFAULT_NEXT_STEP = {
    Tone.TECHNICAL: "Before you hang up, book a technical deep-dive with their architects, with a date and an agenda.",
    Tone.BUSINESS: "Before you hang up, book a business-case review with the budget owner, with a date and an agenda.",
}


class TalkTrackPipeline:
    def __init__(
        self,
        store: VectorStore,
        sessions: async_sessionmaker[AsyncSession],
        queries: EmbeddingCache,
        bm25: Bm25Encoder,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._queries = queries
        self._bm25 = bm25
        self._analysis: OrderedDict[tuple[str, ToneProfile], list[tuple[str, float | None, frozenset[str]]]] = (
            OrderedDict()
        )
        self._analysis_lock = threading.Lock()

    async def compose(
        self, org_id: str, request: TalkTrackIn, persona: PersonaOut, options: RetrievalOptions | None = None
    ) -> TalkTrack:
        options = options or RetrievalOptions()
        now = utcnow()
        profile = ToneProfile(persona.tone, tuple(persona.prefer), tuple(persona.avoid))
        warnings: list[str] = []

        competitor: CompetitorSection | None = None
        competitor_questions: list[str] = []
        win_texts: list[str] = []
        if request.competitor:
            competitor, competitor_questions, win_texts = await self._competitor(
                org_id, request.competitor, profile, now
            )
            if competitor is None:
                warnings.append(
                    f"No competitor notes for '{request.competitor}' in your library; add a battlecard "
                    "(kind competitor) so reps can handle it."
                )

        queries = [Query(p, PRIORITY_WEIGHT, p) for p in persona.priorities]
        if request.persona_brief:
            queries.append(Query(request.persona_brief, BRIEF_WEIGHT, "your brief"))
        if request.context:
            queries.append(Query(request.context, CONTEXT_WEIGHT, "the deal context"))
        queries += [Query(t, COMPETITOR_WEIGHT, f"winning against {request.competitor}") for t in win_texts[:4]]

        candidates = await self._retrieve(org_id, queries, options, now)
        terms = query_terms(q.text for q in queries)
        features = await self._select(org_id, candidates, profile, terms, request.max_features, options)
        abstained = not features
        if abstained:
            warnings.append(
                f"Nothing in your library is a strong enough match for a {persona.name}"
                + (" in this deal" if request.context or request.persona_brief else "")
                + "; add material on: "
                + "; ".join(persona.priorities[:3])
                + "."
            )
        elif len(features) < request.max_features:
            warnings.append(
                f"Only {len(features)} of the {request.max_features} requested features are well supported for "
                "this buyer; the rest were left out rather than stretched."
            )
        cited = [f.document_id for f in features]
        if competitor is not None:
            cited += [p.citation.document_id for p in competitor.where_we_win]
            cited += [o.response.citation.document_id for o in competitor.objections]
            if not competitor.where_we_win and not competitor.objections:
                warnings.append(
                    f"The notes on '{request.competitor}' have no 'where we win' or objection sections this buyer "
                    "can use; add them to the battlecard."
                )
        due = await review_due(self._sessions, org_id, cited)
        for doc_id in dict.fromkeys(cited):
            if doc_id in due and due[doc_id][1] <= now:
                warnings.append(
                    f"'{due[doc_id][0]}' is past its review date ({due[doc_id][1].date().isoformat()}); "
                    "check it with its owner before quoting it."
                )
        questions = list(dict.fromkeys([*persona.discovery_questions[:3], *competitor_questions[:2]]))
        next_step = NEXT_STEPS[request.segment] if request.segment else DEFAULT_NEXT_STEP[persona.tone]
        return TalkTrack(
            persona=persona.id,
            tone=persona.tone,
            features=features,
            competitor=competitor,
            discovery_questions=questions,
            next_step=next_step,
            abstained=abstained,
            warnings=warnings,
        )

    async def _retrieve(
        self, org_id: str, queries: list[Query], options: RetrievalOptions, now: datetime
    ) -> list[Candidate]:
        vectors = await asyncio.to_thread(self._queries.embed, [q.text for q in queries])
        flt = PointFilter(org_id=org_id, kinds=["feature"], live_at=now)
        requests = [
            SearchRequest(
                filter=flt,
                dense=vec.tolist(),
                sparse=self._bm25.query(q.text),
                limit=CHUNKS_PER_QUERY,
                prefetch_limit=2 * CHUNKS_PER_QUERY,
                mode=options.mode,
                with_dense=True,
            )
            for q, vec in zip(queries, vectors, strict=True)
        ]
        results = await live_search(self._store, self._sessions, requests)
        by_doc: dict[str, Candidate] = {}
        for qi, (query, hits) in enumerate(zip(queries, results, strict=True)):
            seen_docs: list[str] = []
            for chunk_rank, hit in enumerate(hits):
                doc_id = str(hit.payload["document_id"])
                cand = by_doc.setdefault(doc_id, Candidate(doc_id, hit.payload))
                cand.chunk_rank[hit.id] = min(cand.chunk_rank.get(hit.id, chunk_rank), chunk_rank)
                if hit.dense is not None:
                    vec = np.asarray(hit.dense, dtype=np.float32)
                    cand.support = max(cand.support, float(vec @ vectors[qi]))
                    cand.vector = vec if cand.vector is None else cand.vector + vec
                if doc_id in seen_docs:
                    continue
                rank = len(seen_docs)
                seen_docs.append(doc_id)
                if options.aggregate == "max":
                    cand.score = max(cand.score, hit.score)
                else:
                    cand.score += query.weight / (RANK_K + rank)
                if rank < 3 and query.label not in cand.matched:
                    cand.matched.append(query.label)
        if options.aggregate != "max":
            ceiling = sum(q.weight for q in queries) / RANK_K
            for cand in by_doc.values():
                cand.score /= ceiling
        for cand in by_doc.values():
            if cand.vector is not None:
                cand.vector /= np.linalg.norm(cand.vector) or 1.0
        ranked = sorted(by_doc.values(), key=lambda c: c.score, reverse=True)
        return [c for c in ranked if c.support >= MIN_SUPPORT][:CANDIDATES]

    async def _select(
        self,
        org_id: str,
        candidates: list[Candidate],
        profile: ToneProfile,
        terms: frozenset[str],
        limit: int,
        options: RetrievalOptions,
    ) -> list[Feature]:
        chosen: list[tuple[Candidate, Feature]] = []
        pool = list(candidates)
        top = max((c.score for c in pool), default=1.0) or 1.0
        while pool and len(chosen) < limit:

            def mmr(c: Candidate) -> float:
                if not options.diversify or not chosen or c.vector is None:
                    return c.score
                similarity = max(float(c.vector @ s.vector) for s, _ in chosen if s.vector is not None)
                return MMR_LAMBDA * c.score / top - (1 - MMR_LAMBDA) * similarity

            pool.sort(key=mmr, reverse=True)
            cand = pool.pop(0)
            if (
                options.diversify
                and cand.vector is not None
                and any(
                    s.vector is not None and float(cand.vector @ s.vector) > DUPLICATE_SIMILARITY for s, _ in chosen
                )
            ):
                continue  # a near-copy of a chosen feature never takes a second slot
            title = str(cand.payload.get("title", ""))
            if profile.tone is Tone.BUSINESS and profile.jargon(title):
                continue  # its very name is jargon to this buyer (the title is shown as written, never rewritten)
            points = await self._points(org_id, cand, profile, terms)
            if not points:
                continue  # nothing this buyer should hear from it
            why = "Matches " + "; ".join(cand.matched[:3]) if cand.matched else "Related to this buyer's priorities"
            chosen.append(
                (
                    cand,
                    Feature(
                        document_id=cand.document_id,
                        external_id=str(cand.payload.get("external_id", "")),
                        title=title,
                        score=round(cand.score, 4),
                        why=why + ".",
                        points=points,
                    ),
                )
            )
        return [f for _, f in chosen]

    async def _points(self, org_id: str, cand: Candidate, profile: ToneProfile, terms: frozenset[str]) -> list[Point]:
        chunks = await asyncio.to_thread(
            self._store.scroll,
            PointFilter(org_id=org_id, document_id=cand.document_id, version=int(cand.payload["version"])),
            limit=500,
        )
        scored: list[tuple[float, int, str, Point]] = []
        for chunk in chunks:
            rank = cand.chunk_rank.get(chunk.id)
            relevance = 1.0 / (1 + rank) if rank is not None else 0.0
            for order, (sentence, base, words) in enumerate(self._analysed(chunk.id, chunk.payload, profile)):
                if base is None:
                    continue
                value = base + overlap_bonus(words, terms)
                position = int(chunk.payload.get("ordinal", 0)) * 100 + order
                scored.append(
                    (
                        value + relevance,
                        position,
                        sentence,
                        Point(text=sentence, citation=_citation(chunk.id, chunk.payload)),
                    )
                )
        scored.sort(key=lambda s: s[0], reverse=True)
        picked: list[tuple[int, Point]] = []
        seen: set[str] = set()
        for value, position, sentence, point in scored:
            if len(picked) == MAX_POINTS or (picked and value < MIN_POINT_SCORE):
                break
            if sentence.lower() in seen:
                continue
            seen.add(sentence.lower())
            picked.append((position, point))
        return [p for _, p in sorted(picked, key=lambda x: x[0])]  # in the source's order, so they read well

    def _analysed(
        self, point_id: str, payload: dict[str, Any], profile: ToneProfile
    ) -> list[tuple[str, float | None, frozenset[str]]]:
        """A chunk's sentences with their request-independent scores for this tone profile. A point id names
        one version of one chunk, so its text never changes under the cache."""
        key = (point_id, profile)
        with self._analysis_lock:
            hit = self._analysis.get(key)
            if hit is not None:
                self._analysis.move_to_end(key)
                return hit
        section = str(payload.get("section", ""))
        value = [(s, *analyse(s, section, profile)) for s in _sentences(str(payload.get("text", "")))]
        with self._analysis_lock:
            self._analysis[key] = value
            while len(self._analysis) > ANALYSIS_CACHE:
                self._analysis.popitem(last=False)
        return value

    async def _competitor(
        self, org_id: str, name: str, profile: ToneProfile, now: datetime
    ) -> tuple[CompetitorSection | None, list[str], list[str]]:
        """The competitor's notes: where we win, their objections with our responses, and landmine questions."""
        wanted = slug(name)
        live = PointFilter(org_id=org_id, kinds=["competitor"], live_at=now)
        # The indexed competitor field first; only if no note names it exactly, a looser match on names and titles
        # ("BrightFunnel" finds notes filed under "brightfunnel-cloud" or titled "Battlecard: BrightFunnel Cloud").
        points = await asyncio.to_thread(self._store.scroll, replace(live, competitor=wanted), limit=2000)
        if not points:
            everything = await asyncio.to_thread(self._store.scroll, live, limit=5000)

            tokens = wanted.split("-")

            def matches(payload: dict[str, Any]) -> bool:
                # Whole words in order: "brightfunnel" finds "brightfunnel-cloud", "hub" does not find "github".
                for name in (slug(str(payload.get("competitor") or "")), slug(str(payload.get("title") or ""))):
                    words = name.split("-")
                    if any(words[i : i + len(tokens)] == tokens for i in range(len(words))):
                        return True
                return False

            points = [p for p in everything if matches(p.payload)]
        current = await current_versions(self._sessions, org_id, {str(p.payload["document_id"]) for p in points})
        points = [p for p in points if current.get(str(p.payload["document_id"])) == p.payload.get("version")]
        if not points:
            return None, [], []
        points.sort(key=lambda p: (str(p.payload["document_id"]), int(p.payload.get("ordinal", 0))))
        wins: list[tuple[float, Point]] = []
        objections: list[Objection] = []
        questions: list[str] = []
        for p in points:
            section = str(p.payload.get("section", ""))
            analysed = self._analysed(p.id, p.payload, profile)
            if _QUESTIONS.search(section):
                questions += [q for q in (_question(s) for s, _, _ in analysed) if q and _speakable(q, profile)]
            usable = [(base, s) for s, base, _ in analysed if base is not None]
            if _OBJECTION.search(section):
                heading = section.split(" > ")[-1].strip().strip(_QUOTES)
                known = {o.objection.lower() for o in objections}
                if heading and not _OBJECTION.search(heading) and usable and heading.lower() not in known:
                    if not _speakable(heading, profile):
                        continue
                    # The best-scoring sentence of the response for this buyer, not merely the first.
                    best = max(usable, key=lambda vs: vs[0])[1]
                    objections.append(
                        Objection(objection=heading, response=Point(text=best, citation=_citation(p.id, p.payload)))
                    )
            elif _WIN.search(section):
                wins += [(base, Point(text=s, citation=_citation(p.id, p.payload))) for base, s in usable]
        wins.sort(key=lambda w: w[0], reverse=True)
        unique: dict[str, tuple[float, Point]] = {}  # chunk overlap can repeat a bullet; keep the best copy
        for value, win in wins:
            unique.setdefault(win.text.lower(), (value, win))
        wins = list(unique.values())
        notes = CompetitorSection(name=name, where_we_win=[w for _, w in wins[:3]], objections=objections[:3])
        win_texts = [w.text for _, w in wins[:4]]
        return notes, list(dict.fromkeys(questions)), win_texts
