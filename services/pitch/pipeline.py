"""persona + deal -> the needs the deal states (one embedding batch) -> whole documents ranked against every need
(ranking.py, over a per-org snapshot of the library: library.py) -> diverse selection (MMR) -> sentences the
buyer can hear (points), limits to be ready for, one proof from a case study -> competitor handling from notes
of any shape (competitor.py) -> discovery questions and a next step for this persona and segment.

For a deal (`DealInput`, read by the service under the deal's access rules): its notes' pains and goals join the
context, its systems and competitors are needs of their own, each objection its notes record is answered by the
closest library passage (or listed unanswered), features shown in its earlier tracks are marked, and the next
step is the one its sales process proposes.

Everything said comes from the source text; every point carries its citation and is an exact substring of the
cited chunk.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.core.db import utcnow
from services.core.embeddings import EmbeddingBatcher, EmbeddingCache, limit_blas_threads
from services.core.retrieval import current_versions, review_due
from services.core.sales import capitalised_names, expand_acronyms
from services.core.tone import ToneProfile, analyse, overlap_bonus, query_terms
from services.core.vectorstore import PointFilter, StoredPoint, VectorStore
from services.pitch.competitor import NoteChunk, NoteItem, display_name, order_notes, read_notes
from services.pitch.deals.index import NOTE_KIND, deal_scope
from services.pitch.library import Kept, Library, LibraryCache, expiry_micros, micros
from services.pitch.points import Span, is_limitation, sentence_spans, window, with_antecedent
from services.pitch.ranking import (
    Need,
    Ranked,
    bm25_baseline,
    deal_needs,
    dense_baseline,
    rank_documents,
    rrf,
)
from services.pitch.schemas import (
    Citation,
    CompetitorSection,
    DealObjection,
    DealSection,
    Feature,
    NoteCitation,
    Objection,
    PersonaOut,
    Point,
    Segment,
    TalkTrack,
    TalkTrackIn,
    Tone,
)

# Candidates considered for the feature slots (after ranking), and the MMR trade-off between relevance and
# novelty; two documents closer than DUPLICATE_SIMILARITY (centroid cosine) are copies of one another.
CANDIDATES = 16
MMR_LAMBDA = 0.85
# A feature whose name stays jargon to a business buyer (an acronym the library never spells out) is still
# pitched, under its name as written, but gives way to a feature about as relevant with a plain name: this much
# of the candidates' normalised score. Dropping such features outright lost the feature that answers the deal
# ("Send emails with custom SMTP" for branded emails) in 2-3% of nDCG@5 on both real-product sets.
JARGON_NAME_PENALTY = 0.2
DUPLICATE_SIMILARITY = 0.92
# A feature needs a chunk at least this close (cosine) to one of the needs; below, it is not supported (an
# unrelated passage scores 0.0-0.15 with all-MiniLM-L6-v2; 0.30 dropped half the right features of short contexts).
MIN_SUPPORT = 0.20
# With no deal, the needs are the persona's priorities, which are written in the buyer's terms and sit further
# from any product's wording (0.08-0.35 for on-topic pages): the bar is lower, the ranking does the rest.
MIN_PRIOR_SUPPORT = 0.10
MAX_POINTS = 3
MAX_READY_FOR = 2
MIN_POINT_SCORE = 0.3
# A case study backs a feature when one of its chunks is this close (cosine) to the feature's centroid.
PROOF_MIN_SIMILARITY = 0.45
# Chunks whose sentences are kept analysed per tone profile (a few MB at 20,000 entries).
ANALYSIS_CACHE = 20_000
# Competitors' notes kept read per tone profile (7 built-in profiles x a few competitors).
NOTES_CACHE = 128
# Organisations whose documents' review dates are kept (a few dozen bytes per cited document).
DUE_CACHE = 256
# A deal's objection is answered only from a document with a chunk at least this close (cosine) to it. Measured on
# ten objections against the demo library (README, "Deals"): the seven it has material for had a best chunk of
# 0.341-0.656, the three it has none for (time zones, a liability cap, a rebrand) 0.266-0.332. A narrow, fitted
# margin: a wrong answer is worse than none, so the bar sits just above the unanswerable ones.
RESPONSE_MIN_SIMILARITY = 0.34
# Chunks (best first, across feature, objection and competitor material) whose sentences may answer an objection.
RESPONSE_CHUNKS = 4
# Objections answered per track (newest notes first): more would drown the features.
MAX_DEAL_OBJECTIONS = 5
# A feature quotes what the customer said about it: the deal's note sentences (from the deal-scoped note index)
# whose cosine to one of the feature's chunks is at least this, best first, at most CUSTOMER_SAID per feature.
# Seen once, printing the scores of the note in tests/integration/test_pitch_deal_tracks.py against the demo
# library: a pain about encryption keys against the data-residency feature 0.53; loosely related pairs 0.30-0.41
# (security questionnaires / audit log 0.39); unrelated 0.22-0.30. A starting point, to be measured on real notes.
CUSTOMER_SAID_COSINE = 0.5
CUSTOMER_SAID = 2
# Material read for answers to a deal's objections.
RESPONSE_KINDS = ("feature", "objection", "competitor")
# Sections that restate or explain an objection, or list what not to say: never the answer to it.
_NOT_AN_ANSWER = re.compile(
    r"(?i)\b(what (we|you) hear|behind|why (they|it)|what not|not to (do|say)|don'?t|avoid|pitfalls?|limits?)\b"
)
# Sections (below the title) that hold answers: they stand in for their document's closest chunk, and their
# sentences get a bonus over a passage that merely mentions the same names.
_ANSWER_SECTION = re.compile(r"(?i)\b(respon\w*|answer\w*|handl\w*|reply|rebuttal|objections|where we win)\b")
ANSWER_SECTION_BONUS = 0.1
_QUOTE_OPENERS = ('"', "\u201c", "'", "\u2018")


@dataclass(frozen=True, slots=True)
class RetrievalOptions:
    """The full pipeline by default; `pitchcraft eval` swaps the ranking for its baselines."""

    ranking: str = "full"  # "full", "bm25" (whole documents), "dense" (best chunk), "rrf" (naive fusion of both)
    diversify: bool = True


@dataclass(frozen=True, slots=True)
class DealInput:
    """What a deal adds to a track, read under the deal's access rules (`PitchService`); only this deal's notes."""

    deal_id: str
    account: str
    stage: str
    context: list[NoteCitation]  # the pains and goals joined to the request's context
    systems: list[str]
    competitors: list[str]
    objections: list[NoteCitation]
    presented: frozenset[str]  # external ids shown in earlier tracks for this deal
    next_step: str | None  # the process's proposed next step; None for a closed deal
    next_step_agreed: NoteCitation | None  # a dated next step the latest note records
    note_dates: dict[str, date]  # the deal's notes (id -> meeting date): only these may be quoted


@dataclass(frozen=True, slots=True)
class Sentence:
    span: Span
    base: float | None  # request-independent score for this tone (None: never for this buyer)
    words: frozenset[str]
    limitation: bool
    standalone: Span | None  # the sentence as a point that reads on its own (with its antecedent), or None


@dataclass(frozen=True, slots=True)
class _ReadNotes:
    shown: str  # the competitor's name as the notes write it
    items: list[NoteItem]
    dense: list[tuple[str, np.ndarray]]  # point id -> its vector, for the deal's relevance


def slug(text: str) -> str:
    return re.sub(r"[\W_]+", "-", text.lower()).strip("-")


def _citation(point_id: str, payload: dict[str, Any]) -> Citation:
    return Citation(
        document_id=str(payload["document_id"]),
        external_id=str(payload.get("external_id", "")),
        version=int(payload["version"]),
        chunk_id=point_id,
        as_of=payload.get("as_of"),
        title=str(payload.get("title", "")),
        section=str(payload.get("section", "")),
    )


def _speakable(text: str, profile: ToneProfile) -> bool:
    """Text shown as it is written (headings, questions, responses) must still suit the buyer."""
    if profile.tone is Tone.BUSINESS:
        return profile.jargon(text) is None
    return profile.avoided_term(text) is None


SEGMENT_STEP = {
    Segment.SMB: "Aim for a decision within two weeks, with the owner and one day-to-day user in the room.",
    Segment.MID_MARKET: "Agree written success criteria and put the decision meeting on the calendar now.",
    Segment.ENTERPRISE: (
        "Ask who else signs off (procurement, legal, the executive sponsor) and put their dates on the calendar too."
    ),
}
DEFAULT_NEXT_STEP = {
    Tone.TECHNICAL: "Before you hang up, book a technical deep-dive with their architects, with a date and an agenda.",
    Tone.BUSINESS: "Before you hang up, book a business-case review with the budget owner, with a date and an agenda.",
}


def next_step(persona: PersonaOut, segment: Segment | None) -> str:
    """What to book with this buyer (the persona's own step), then what this segment's buying process needs."""
    step = persona.next_step or DEFAULT_NEXT_STEP[persona.tone]
    return f"{step} {SEGMENT_STEP[segment]}" if segment else step


class TalkTrackPipeline:
    def __init__(self, store: VectorStore, sessions: async_sessionmaker[AsyncSession], queries: EmbeddingCache) -> None:
        self._store = store
        self._sessions = sessions
        self._queries = queries
        limit_blas_threads(1)  # process-wide: requests run their matrix products side by side, one core each
        # Requests that arrive together share one model call (the deal texts are new in every request).
        self._batcher = EmbeddingBatcher(queries)
        self.library = LibraryCache(store, sessions)
        self._analysis: Kept[tuple[str, ToneProfile], list[Sentence]] = Kept(ANALYSIS_CACHE)
        self._notes_read: Kept[tuple[str, tuple[str, ...], ToneProfile], _ReadNotes] = Kept(NOTES_CACHE)
        self._notes_points: dict[tuple[str, str], _NotePoints] = {}
        self._due: dict[str, tuple[tuple[Any, ...], dict[str, tuple[str, datetime] | None]]] = {}

    async def compose(
        self,
        org_id: str,
        request: TalkTrackIn,
        persona: PersonaOut,
        options: RetrievalOptions | None = None,
        deal: DealInput | None = None,
    ) -> TalkTrack:
        """`request` already carries the deal's context, segment and competitor (the service joins them)."""
        options = options or RetrievalOptions()
        now = utcnow()
        profile = ToneProfile(persona.tone, tuple(persona.prefer), tuple(persona.avoid))
        warnings: list[str] = []
        # The I/O of the request (SQL checks of both snapshots, the competitor's notes) overlaps the model call;
        # then all CPU work runs in one worker thread, so the event loop only ever waits.
        fingerprints = await self.library.fingerprints(org_id)
        systems = [*deal.systems, *deal.competitors] if deal else []
        (library, needs, need_vectors), stories, notes, answers, said = await asyncio.gather(
            self._needs(org_id, request, persona, fingerprints, systems),
            self.library.get(org_id, "case_study", fingerprints),
            self._notes(org_id, request.competitor, now, fingerprints) if request.competitor else _no_notes(),
            self._answer_material(org_id, deal, fingerprints),
            self._deal_notes(org_id, deal),
        )
        features, competitor, profile = await asyncio.to_thread(
            self._compose, library, stories, notes, needs, need_vectors, request, persona, profile, options, now
        )
        section = None
        if deal is not None:
            section = await asyncio.to_thread(self._deal_section, deal, features, answers, profile, now, library, said)
            if any(o.response is None for o in section.objections):
                warnings.append(
                    "No passage in your library is close enough to answer: "
                    + "; ".join(_short(o.objection.text) for o in section.objections if o.response is None)
                    + ". Add material that handles it (kind objection, competitor or feature)."
                )
            if section.next_step is None:
                warnings.append(f"The deal is {deal.stage}: its process proposes no next step.")

        landmines: list[str] = []
        if request.competitor:
            if competitor is None:
                warnings.append(
                    f"No competitor notes for '{request.competitor}' in your library; add a battlecard or comparison "
                    "page (kind competitor) so reps can handle it."
                )
            else:
                landmines = competitor.landmine_questions
                if not competitor.where_we_win and not competitor.objections:
                    warnings.append(
                        f"The notes on '{competitor.name}' say nothing this buyer can use about where we win; "
                        "add that to them."
                    )
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
        cited += [f.proof.citation.document_id for f in features if f.proof]
        if competitor is not None:
            cited += [p.citation.document_id for p in competitor.where_we_win]
            cited += [o.response.citation.document_id for o in competitor.objections]
        due = await self._review_due(org_id, cited, fingerprints)
        for doc_id in dict.fromkeys(cited):
            if doc_id in due and due[doc_id][1] <= now:
                warnings.append(
                    f"'{due[doc_id][0]}' is past its review date ({due[doc_id][1].date().isoformat()}); "
                    "check it with its owner before quoting it."
                )
        questions = list(dict.fromkeys([*persona.discovery_questions[:3], *landmines[:2]]))
        return TalkTrack(
            persona=persona.id,
            tone=persona.tone,
            features=features,
            competitor=competitor,
            discovery_questions=questions,
            next_step=section.next_step if section and section.next_step else next_step(persona, request.segment),
            abstained=abstained,
            warnings=warnings,
            deal=section,
        )

    async def rank_only(
        self, org_id: str, request: TalkTrackIn, persona: PersonaOut, options: RetrievalOptions
    ) -> list[str]:
        """The ranking alone (external ids, best first): what `pitchcraft eval` scores its baselines on."""
        library, needs, need_vectors = await self._needs(org_id, request, persona)
        live = library.live(utcnow())
        ranked = await asyncio.to_thread(self._rank, library, needs, need_vectors, live, request, persona, options)
        return [library.docs[i].external_id for i in ranked.order]

    async def _needs(
        self,
        org_id: str,
        request: TalkTrackIn,
        persona: PersonaOut,
        fingerprints: dict[str, tuple[Any, ...]] | None = None,
        systems: list[str] | None = None,
    ) -> tuple[Library, list[Need], np.ndarray]:
        """The feature snapshot, the needs this request states and their vectors (zeros for named systems)."""
        needs = deal_needs(
            request.persona_brief, request.context, request.competitor, persona.priorities, systems or ()
        )
        embedded = [n.text for n in needs if n.kind != "system"]
        library, vectors = await asyncio.gather(
            self.library.get(org_id, "feature", fingerprints), self._batcher.embed(embedded)
        )
        rows = iter(vectors)
        need_vectors = np.stack([next(rows) if n.kind != "system" else np.zeros(vectors.shape[1]) for n in needs])
        return library, needs, need_vectors

    def _compose(
        self,
        library: Library,
        stories: Library,
        notes: list[StoredPoint] | None,
        needs: list[Need],
        need_vectors: np.ndarray,
        request: TalkTrackIn,
        persona: PersonaOut,
        profile: ToneProfile,
        options: RetrievalOptions,
        now: datetime,
    ) -> tuple[list[Feature], CompetitorSection | None, ToneProfile]:
        """Ranking, feature selection, proof and the competitor section: the CPU work of a track (worker thread).
        Also returns the tone profile with the library's product names, which are no jargon even in capitals
        ("ZITADEL")."""
        profile = replace(profile, names=capitalised_names(library.product_names))
        ranked = self._rank(library, needs, need_vectors, library.live(now), request, persona, options)
        terms = query_terms(n.text for n in needs if n.kind != "prior" or not request.context)
        features = self._select(library, ranked, profile, terms, request.max_features, options)
        deal_vectors = np.stack(
            [v for n, v in zip(needs, need_vectors, strict=True) if n.kind in ("deal", "sentence")]
            or [v for n, v in zip(needs, need_vectors, strict=True) if n.kind == "prior"]
        )
        self._add_proof(features, library, stories, profile, now)
        competitor = None
        if request.competitor and notes:
            competitor = self._competitor(request.competitor, notes, profile, deal_vectors)
        return features, competitor, profile

    async def _deal_notes(self, org_id: str, deal: DealInput | None) -> list[StoredPoint]:
        """The deal's note sentences with their vectors: only this deal's scope of the index is ever read."""
        if deal is None:
            return []
        where = PointFilter(org_id=deal_scope(org_id, deal.deal_id), kinds=[NOTE_KIND])
        return await asyncio.to_thread(self._store.scroll, where, with_dense=True)

    async def _answer_material(
        self, org_id: str, deal: DealInput | None, fingerprints: dict[str, tuple[Any, ...]]
    ) -> tuple[list[Library], np.ndarray] | None:
        """The snapshots a deal's objections are answered from, and the objections' vectors."""
        if deal is None or not deal.objections:
            return None
        wanted = deal.objections[:MAX_DEAL_OBJECTIONS]
        libraries, vectors = await asyncio.gather(
            asyncio.gather(*(self.library.get(org_id, kind, fingerprints) for kind in RESPONSE_KINDS)),
            self._batcher.embed([o.text for o in wanted]),
        )
        return list(libraries), vectors

    def _deal_section(
        self,
        deal: DealInput,
        features: list[Feature],
        answers: tuple[list[Library], np.ndarray] | None,
        profile: ToneProfile,
        now: datetime,
        library: Library,
        said: list[StoredPoint],
    ) -> DealSection:
        for feature in features:
            feature.already_presented = feature.external_id in deal.presented
        self._customer_said(features, library, said, deal)
        objections: list[DealObjection] = []
        if answers is not None:
            libraries, vectors = answers
            for objection, vector in zip(deal.objections, vectors, strict=False):
                response, similarity = self._answer(vector, libraries, profile, now)
                objections.append(DealObjection(objection=objection, response=response, similarity=similarity))
        objections += [DealObjection(objection=o) for o in deal.objections[MAX_DEAL_OBJECTIONS:]]
        return DealSection(
            deal_id=deal.deal_id,
            account=deal.account,
            stage=deal.stage,
            context=deal.context,
            systems=deal.systems,
            competitors=deal.competitors,
            objections=objections,
            already_presented=sorted(deal.presented),
            next_step=deal.next_step,
            next_step_agreed=deal.next_step_agreed,
        )

    @staticmethod
    def _customer_said(features: list[Feature], library: Library, said: list[StoredPoint], deal: DealInput) -> None:
        """Each feature's closest sentences of the deal's notes (notes the deal still has), cited to the note."""
        kept = [p for p in said if p.dense is not None and str(p.payload.get("note_id")) in deal.note_dates]
        if not kept:
            return
        sentences = np.asarray([p.dense for p in kept], dtype=np.float32)
        rows = {d.external_id: d for d in library.docs}
        for feature in features:
            doc = rows.get(feature.external_id)
            if doc is None or doc.end <= doc.start:
                continue
            best = (library.vectors[doc.start : doc.end] @ sentences.T).max(axis=0)
            for i in np.argsort(-best)[:CUSTOMER_SAID]:
                if float(best[i]) < CUSTOMER_SAID_COSINE:
                    break
                payload = kept[int(i)].payload
                feature.customer_said.append(
                    NoteCitation(
                        note_id=str(payload["note_id"]),
                        sentence=int(payload["ordinal"]),
                        text=str(payload["text"]),
                        meeting_date=deal.note_dates[str(payload["note_id"])],
                    )
                )

    def _answer(
        self, objection: np.ndarray, libraries: list[Library], profile: ToneProfile, now: datetime
    ) -> tuple[Point | None, float | None]:
        """The passage that best answers an objection: among the sentences of the chunks closest to it (at least
        RESPONSE_MIN_SIMILARITY), the one closest to the objection that argues rather than restates it (no quote,
        no "what we hear" or "what not to do" section, no limitation, speakable to this buyer), with the sentence
        after it when they form one paragraph. The similarity returned is the chunk's cosine (None: no chunk)."""
        chunks: list[tuple[float, Library, int]] = []
        for library in libraries:
            if not library.size:
                continue
            live = library.live(now)[library.chunk_doc]
            cos = np.where(live, library.vectors @ objection, -1.0)
            chunks += [(float(cos[r]), library, int(r)) for r in np.argsort(-cos)[:RESPONSE_CHUNKS]]
        chunks.sort(key=lambda c: -c[0])
        chunks = [c for c in chunks[:RESPONSE_CHUNKS] if c[0] >= RESPONSE_MIN_SIMILARITY] or chunks[:1]
        if not chunks:
            return None, None
        top = chunks[0][0]
        if top < RESPONSE_MIN_SIMILARITY:
            return None, round(top, 4)
        # A document close to the objection (an objection page's "what we hear") answers it in its answer sections.
        seen = {(id(lib), r) for _, lib, r in chunks}
        for similarity, library, row in list(chunks):
            doc = library.docs[int(library.chunk_doc[row])]
            for r in range(doc.start, doc.end):
                if (id(library), r) not in seen and _answers(str(library.payloads[r].get("section", ""))):
                    seen.add((id(library), r))
                    chunks.append((similarity, library, r))
        best: tuple[float, Span, str, dict[str, Any], float] | None = None
        for similarity, library, row in chunks:
            chunk_id, payload = library.chunk_ids[row], library.payloads[row]
            section = str(payload.get("section", ""))
            if _NOT_AN_ANSWER.search(section.rsplit(">", 1)[-1]):
                continue
            text = str(payload.get("text", ""))
            spans = sentence_spans(text)
            analysed = self._analysed(chunk_id, payload, profile)
            eligible = [
                i
                for i, s in enumerate(analysed)
                if s.base is not None
                and s.standalone is not None
                and not s.limitation
                and not s.standalone.text.startswith(_QUOTE_OPENERS)
            ]
            if not eligible:
                continue
            texts = [analysed[i].standalone.text for i in eligible]  # type: ignore[union-attr]
            closeness = self._queries.embed(texts) @ objection
            bonus = ANSWER_SECTION_BONUS if _answers(section) else 0.0
            k = int(np.argmax(closeness))
            score = similarity + float(closeness[k]) + bonus
            if best is None or score > best[0]:
                i = eligible[k]
                span = analysed[i].standalone
                assert span is not None
                if i + 1 in eligible and span == spans[i] and (pair := window(text, spans, i, 2)) is not None:
                    span = pair
                best = (score, span, chunk_id, payload, similarity)
        if best is None:
            return None, round(top, 4)
        _, span, chunk_id, payload, similarity = best
        return Point(text=span.text, citation=_citation(chunk_id, payload)), round(similarity, 4)

    def _rank(
        self,
        library: Library,
        needs: list[Need],
        vectors: np.ndarray,
        live: np.ndarray,
        request: TalkTrackIn,
        persona: PersonaOut,
        options: RetrievalOptions,
    ) -> Ranked:
        ranked = rank_documents(library, needs, vectors, live)
        if options.ranking == "full":
            return ranked
        # Baselines: one query of everything the request says, as a plain system would send it.
        text = " ".join(t for t in (persona.name, request.persona_brief, request.context, request.competitor) if t)
        vector = self._queries.embed([text])[0]
        lexical = bm25_baseline(library, text, live)
        dense = dense_baseline(library, vector, live)
        ranked.order = {"bm25": lexical, "dense": dense, "rrf": rrf(lexical, dense)}[options.ranking]
        ranked.matched = {}
        return ranked

    def _select(
        self,
        library: Library,
        ranked: Ranked,
        profile: ToneProfile,
        terms: frozenset[str],
        limit: int,
        options: RetrievalOptions,
    ) -> list[Feature]:
        pool = ranked.order[:CANDIDATES]
        if not pool:
            return []
        support = MIN_SUPPORT if ranked.deal else MIN_PRIOR_SUPPORT
        scores = ranked.score[pool]
        low, high = float(scores.min()), float(scores.max())
        norm = {d: (float(ranked.score[d]) - low) / (high - low) if high > low else 1.0 for d in pool}
        chosen: list[tuple[int, Feature]] = []
        headings = {d: self._heading(library, d, profile) for d in pool}
        while pool and len(chosen) < limit:

            def mmr(d: int) -> float:
                value = norm[d] - (JARGON_NAME_PENALTY if headings[d] is None else 0.0)
                if not options.diversify or not chosen:
                    return value
                similarity = max(float(library.centroids[d] @ library.centroids[c]) for c, _ in chosen)
                return MMR_LAMBDA * value - (1 - MMR_LAMBDA) * similarity

            # Baselines keep their own order.
            best = max(pool, key=mmr) if options.ranking == "full" else pool[0]
            pool.remove(best)
            doc = library.docs[best]
            if float(ranked.chunk_relevance[doc.start : doc.end].max()) < support:
                continue  # not about anything this deal or buyer needs
            if any(float(library.centroids[best] @ library.centroids[c]) > DUPLICATE_SIMILARITY for c, _ in chosen):
                continue  # a near-copy of a chosen feature never takes a second slot
            heading = headings[best] or doc.title
            points, ready = self._points(library, best, ranked, profile, terms)
            if not points:
                continue  # nothing this buyer should hear from it
            matched = ranked.matched.get(best, [])
            why = _why(matched)
            chosen.append(
                (
                    best,
                    Feature(
                        document_id=doc.document_id,
                        external_id=doc.external_id,
                        title=doc.title,
                        heading=heading,
                        score=round(float(ranked.score[best]), 4),
                        why=why,
                        points=points,
                        be_ready_for=ready,
                    ),
                )
            )
        return [f for _, f in chosen]

    @staticmethod
    def _heading(library: Library, doc_index: int, profile: ToneProfile) -> str | None:
        """What the track calls the feature: its title, for a business buyer with the acronyms spelt out as the
        library itself spells them ("Uptime SLA" -> "Uptime service level agreement"); None when that is still
        jargon to this buyer."""
        title = library.docs[doc_index].title
        if profile.tone is not Tone.BUSINESS or not profile.jargon(title):
            return title
        heading = expand_acronyms(title, library.acronyms)
        return None if profile.jargon(heading) else heading

    def _points(
        self, library: Library, doc_index: int, ranked: Ranked, profile: ToneProfile, terms: frozenset[str]
    ) -> tuple[list[Point], list[Point]]:
        """Up to three points (claims of value, each readable on its own) and up to two limits to be ready for."""
        doc = library.docs[doc_index]
        relevance = ranked.chunk_relevance[doc.start : doc.end]
        chunk_rank = {int(r): rank for rank, r in enumerate(np.argsort(-relevance))}
        claims: list[tuple[float, int, Span, str, dict[str, Any]]] = []
        limits: list[tuple[float, int, Span, str, dict[str, Any]]] = []
        for offset in range(doc.end - doc.start):
            row = doc.start + offset
            chunk_id, payload = library.chunk_ids[row], library.payloads[row]
            closeness = 1.0 / (1 + chunk_rank[offset])
            for order, sentence in enumerate(self._analysed(chunk_id, payload, profile)):
                if sentence.base is None or sentence.standalone is None:
                    continue
                value = sentence.base + overlap_bonus(sentence.words, terms) + closeness
                position = int(payload.get("ordinal", 0)) * 1000 + order
                target = limits if sentence.limitation else claims
                target.append((value, position, sentence.standalone, chunk_id, payload))
        return self._pick(claims, MAX_POINTS, MIN_POINT_SCORE), self._pick(limits, MAX_READY_FOR, 0.0)

    @staticmethod
    def _pick(scored: list[tuple[float, int, Span, str, dict[str, Any]]], limit: int, floor: float) -> list[Point]:
        scored.sort(key=lambda s: s[0], reverse=True)
        picked: list[tuple[int, Point]] = []
        taken: list[tuple[str, Span]] = []
        for value, position, span, chunk_id, payload in scored:
            if len(picked) == limit or (picked and value < floor):
                break
            # No repeats: the same text from an overlapping chunk, or a span that overlaps one already taken.
            if any(span.text.lower() in t.text.lower() or t.text.lower() in span.text.lower() for _, t in taken) or any(
                c == chunk_id and span.start < t.end and t.start < span.end for c, t in taken
            ):
                continue
            taken.append((chunk_id, span))
            picked.append((position, Point(text=span.text, citation=_citation(chunk_id, payload))))
        return [p for _, p in sorted(picked, key=lambda x: x[0])]  # in the source's order, so they read well

    def _analysed(self, point_id: str, payload: dict[str, Any], profile: ToneProfile) -> list[Sentence]:
        """A chunk's sentences with their request-independent analysis for this tone profile. A point id names
        one version of one chunk, so its text never changes under the cache."""

        def analyse_chunk() -> list[Sentence]:
            section = str(payload.get("section", ""))
            text = str(payload.get("text", ""))
            spans = sentence_spans(text)
            value: list[Sentence] = []
            for i, span in enumerate(spans):
                standalone = with_antecedent(text, spans, i)
                base, words = analyse(span.text, section, profile)
                if base is not None and standalone is not None and standalone is not span:
                    base = base if analyse(standalone.text, section, profile)[0] is not None else None
                limitation = is_limitation(span.text, section) or (
                    standalone is not None and is_limitation(standalone.text)
                )
                value.append(Sentence(span, base, words, limitation, standalone))
            return value

        return self._analysis.get((point_id, profile), analyse_chunk)

    def _add_proof(
        self, features: list[Feature], features_library: Library, stories: Library, profile: ToneProfile, now: datetime
    ) -> None:
        """One cited result from a case study that is about the same thing as the feature, where one exists."""
        if not features:
            return
        live = stories.live(now)
        if not stories.size or not live.any():
            return
        by_id = {d.document_id: i for i, d in enumerate(features_library.docs)}
        mask = live[stories.chunk_doc]
        used: set[str] = set()
        for feature in features:
            centroid = features_library.centroids[by_id[feature.document_id]]
            similarity = np.where(mask, stories.vectors @ centroid, -1.0)
            for row in np.argsort(-similarity)[:3]:
                if similarity[row] < PROOF_MIN_SIMILARITY:
                    break
                chunk_id, payload = stories.chunk_ids[row], stories.payloads[row]
                best: tuple[float, Span] | None = None
                for sentence in self._analysed(chunk_id, payload, profile):
                    span = sentence.standalone
                    if (
                        sentence.base is None
                        or span is None
                        or sentence.limitation
                        or not any(c.isdigit() for c in span.text)
                        or span.text in used
                    ):
                        continue
                    if best is None or sentence.base > best[0]:
                        best = (sentence.base, span)
                if best is not None:
                    used.add(best[1].text)
                    feature.proof = Point(text=best[1].text, citation=_citation(chunk_id, payload))
                    break

    def _competitor(
        self, name: str, points: list[StoredPoint], profile: ToneProfile, deal_vectors: np.ndarray
    ) -> CompetitorSection:
        """The competitor's notes: where we win, where they are stronger, objections with full responses, and
        landmine questions."""
        points.sort(key=lambda p: (str(p.payload["document_id"]), int(p.payload.get("ordinal", 0))))
        notes = self._read_notes(name, points, profile)
        relevance = {}
        if len(deal_vectors):
            for point_id, dense in notes.dense:
                relevance[point_id] = float((dense @ deal_vectors.T).max())
        handling = order_notes(notes.items, relevance)
        payloads = {p.id: p.payload for p in points}

        def cite(quotes: list[Any], n: int) -> list[Point]:
            return [Point(text=q.text, citation=_citation(q.chunk_id, payloads[q.chunk_id])) for q in quotes[:n]]

        return CompetitorSection(
            name=notes.shown,
            where_we_win=cite(handling.where_we_win, 3),
            objections=[Objection(objection=o, response=cite([q], 1)[0]) for o, q in handling.objections[:3]],
            where_they_are_stronger=cite(handling.where_they_are_stronger, 2),
            landmine_questions=handling.landmines[:4],
        )

    def _read_notes(self, name: str, points: list[StoredPoint], profile: ToneProfile) -> _ReadNotes:
        """What the notes offer this tone, before the deal orders it; kept per set of chunks (a point id names
        one version of one chunk, so its text never changes under the cache) and tone profile."""

        def read() -> _ReadNotes:
            texts = [str(p.payload.get("text", "")) for p in points]
            texts += [str(p.payload.get("title", "")) for p in points]
            shown = display_name(name, texts)
            ours = sorted({str(p.payload.get("product") or "") for p in points} - {""})
            ours = [display_name(o, texts) for o in ours] + ours
            chunks = [
                NoteChunk(p.id, str(p.payload.get("section", "")), str(p.payload.get("text", ""))) for p in points
            ]
            # The competitor's own name is no jargon either ("SAP", as the notes write it).
            said = replace(profile, names=tuple(sorted({*profile.names, *capitalised_names([shown])})))
            return _ReadNotes(
                shown=shown,
                items=read_notes(chunks, shown, ours, lambda t: _speakable(t, said)),
                dense=[(p.id, np.asarray(p.dense, dtype=np.float32)) for p in points if p.dense is not None],
            )

        return self._notes_read.get((name, tuple(p.id for p in points), profile), read)

    async def _notes(
        self, org_id: str, name: str, now: datetime, fingerprints: dict[str, tuple[Any, ...]]
    ) -> list[StoredPoint]:
        """Current, unexpired chunks of the competitor's notes: by the indexed competitor field first; only if no
        live note names it exactly, whole words of the name in order in a note's competitor field or title
        ("BrightFunnel" finds "brightfunnel-cloud" and "Battlecard: BrightFunnel Cloud"; "hub" does not find
        "github").

        Kept per competitor until any current version of the organisation changes (`fingerprints`, all kinds): a
        current version's points never change, so the chunks can only change with one. Expiry is applied per
        request, as the store's filter does (no `expires_at`, or one after now)."""
        wanted = slug(name)
        state = tuple(sorted(fingerprints.items()))
        key = (org_id, wanted)
        cached = self._notes_points.get(key)
        if cached is None or cached.state != state:
            exact = PointFilter(org_id=org_id, kinds=["competitor"], competitor=wanted)
            cached = _NotePoints(state, await self._current_notes(org_id, exact))
            self._notes_points[key] = cached
            while len(self._notes_points) > NOTES_CACHE:
                self._notes_points.pop(next(iter(self._notes_points)))
        at = micros(now)
        points = [p for p, until in cached.exact if until > at]
        if points:
            return points
        if cached.fallback is None:
            tokens = wanted.split("-")

            def matches(payload: dict[str, Any]) -> bool:
                for field_ in (slug(str(payload.get("competitor") or "")), slug(str(payload.get("title") or ""))):
                    words = field_.split("-")
                    if any(words[i : i + len(tokens)] == tokens for i in range(len(words))):
                        return True
                return False

            everything = await self._current_notes(org_id, PointFilter(org_id=org_id, kinds=["competitor"]))
            cached.fallback = [(p, until) for p, until in everything if matches(p.payload)]
        return [p for p, until in cached.fallback if until > at]

    async def _review_due(
        self, org_id: str, cited: list[str], fingerprints: dict[str, tuple[Any, ...]]
    ) -> dict[str, tuple[str, datetime]]:
        """Titles and review dates of the cited documents, kept per organisation until any current version
        changes: a verification or a new version writes `updated_at`, which moves the fingerprints."""
        state = tuple(sorted(fingerprints.items()))
        entry = self._due.get(org_id)
        if entry is None or entry[0] != state:
            entry = self._due[org_id] = (state, {})
            while len(self._due) > DUE_CACHE:
                self._due.pop(next(iter(self._due)))
        known = entry[1]
        missing = set(cited) - known.keys()
        if missing:
            found = await review_due(self._sessions, org_id, missing)
            for doc_id in missing:
                known[doc_id] = found.get(doc_id)
        return {doc_id: value for doc_id in set(cited) if (value := known[doc_id]) is not None}

    async def _current_notes(self, org_id: str, flt: PointFilter) -> list[tuple[StoredPoint, int]]:
        """Points of current versions that match, with each one's expiry (microseconds since the epoch)."""
        points = await asyncio.to_thread(self._store.scroll, flt, with_dense=True, limit=1_000_000)
        current = await current_versions(self._sessions, org_id, {str(p.payload["document_id"]) for p in points})
        return [
            (p, expiry_micros(p.payload.get("expires_at")))
            for p in points
            if current.get(str(p.payload["document_id"])) == p.payload.get("version")
        ]


@dataclass
class _NotePoints:
    state: tuple[Any, ...]  # the organisation's fingerprints when read
    exact: list[tuple[StoredPoint, int]]  # notes whose competitor field is the name, with their expiry
    fallback: list[tuple[StoredPoint, int]] | None = None  # name in a note's competitor field or title (lazily)


def _answers(section: str) -> bool:
    """A section below the document's title that holds answers ("How to respond", "Likely objections")."""
    return any(_ANSWER_SECTION.search(part) for part in section.split(" > ")[1:])


async def _no_notes() -> None:
    return None


def _why(matched: list[str]) -> str:
    deal = [m for m in matched if m not in ("the deal", "the deal context")]
    if deal:
        quoted = "; ".join(_short(m) for m in deal[:2])
        return f"Fits what the deal says: {quoted}."
    if matched:
        return "Fits the deal as a whole."
    return "Fits what this buyer is measured on."


def _short(text: str, words: int = 14) -> str:
    parts = text.split()
    if len(parts) <= 3:
        return text
    return '"' + " ".join(parts[:words]).rstrip(".,;:") + ("..." if len(parts) > words else "") + '"'
