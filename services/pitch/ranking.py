"""Which documents fit this deal: the needs a request states, scored against whole documents.

The deal leads. Its context is broken into the needs it states (the whole situation, each sentence, and the
systems it names); each need scores every document by its best passage (dense), its overall topic (centroid)
and its whole-text lexical evidence (document-level BM25), discounted for pages that are close to everything
(hubness). Scores are standardised per need before they are summed, so no single need or signal dominates by
scale. The persona's standing priorities are a weak prior that reorders close candidates; with no deal
context they are the only needs, which gives a persona-generic track.

Weights were chosen on the shared development set (real product docs, 46 cases) and checked on the demo set;
they are few and generic on purpose (see README, "How talk tracks pick features").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from services.core.text import split_sentences
from services.pitch.library import Library, NeedScores

# A sentence of the deal counts 1/sqrt(n) of the whole context, so a long context does not outvote a short one.
DEAL_WEIGHT = 1.0
# The persona's priorities, all together, as a share of one deal need: a prior, never a vote that beats the deal.
PRIOR_WEIGHT = 0.5
# The more the deal says, the less the persona decides: the prior keeps its full weight while the brief and
# context together run to PRIOR_FULL_WORDS words, fades linearly, and is gone from PRIOR_ZERO_WORDS words (a
# deal told in two or three sentences picks its own features). With no deal the priorities are the only needs.
PRIOR_FULL_WORDS = 25
PRIOR_ZERO_WORDS = 60
# A named system (Okta, Snowflake, Firebase) that few documents mention is strong evidence for those documents:
# its score (1 for the page that mentions it most) weighs about as much as the top document of a standardised
# deal need (z of 2 to 3), so the page that integrates with it reaches the track.
SYSTEM_WEIGHT = 3.0
# A system named in more than this share of the library is too common to point anywhere.
SYSTEM_MAX_SHARE = 0.25
LEXICAL_WEIGHT = 0.6
CENTROID_WEIGHT = 0.5
HUB_WEIGHT = 0.5
# The document's best single sentence (sentence vectors embedded at ingest, `services/core/sentences.py`): a page
# that answers the need in one sentence among others on other topics. Skipped for a library ingested without
# sentence vectors (PITCHCRAFT_SENTENCE_VECTORS=false).
SENTENCE_WEIGHT = 1.0
SENTENCE_CANDIDATES = 64
# A document is "matched" to a need it ranks this high for (shown in the feature's `why`).
MATCH_RANK = 3

# Capitalised words that name a role, a time or a grammatical opener rather than a system the buyer runs.
_NOT_SYSTEMS = frozenset(
    """ceo cfo cio ciso cmo coo cto cro vp svp evp chief head director manager team the a an its it they their our we
    january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday q1 q2 q3 q4 fy eu us uk""".split()  # noqa: SIM905
)
# Words that open a job title: the capitalised words after them name a department, not a system.
_TITLES = frozenset("vp svp evp avp head chief director directors manager managers officer".split())  # noqa: SIM905
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Need:
    text: str
    weight: float
    label: str
    kind: str  # "deal", "sentence", "brief", "prior", "system"


@dataclass
class Ranked:
    order: list[int]  # document indices into the library, best first (live documents only)
    score: np.ndarray  # per document
    matched: dict[int, list[str]] = field(default_factory=dict)  # document -> labels of needs it answers
    chunk_relevance: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per chunk row: best cosine to a need
    deal: bool = True  # False: no deal needs, the persona's priorities alone


def named_systems(text: str) -> list[str]:
    """Names of products, vendors, standards and regulations the text mentions: capitalised words past a
    sentence's first word, and anywhere words with capitals or digits inside (Okta, BigQuery, Auth0, SOC 2).
    The department in a job title is not one ("VP Sales", "Head of Product Marketing")."""
    found: list[str] = []
    for sentence in split_sentences(text):
        matches = list(_WORD.finditer(sentence))
        words = [m.group(0) for m in matches]
        in_title = 0  # words of a job title's department read so far (it ends at punctuation, after three)
        for i, word in enumerate(words):
            inner = any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word)
            before = [w.lower() for w in words[max(0, i - 2) : i]]
            titled = bool(before) and (before[-1] in _TITLES or before[-2:] in ([t, "of"] for t in _TITLES))
            joined = i > 0 and sentence[matches[i - 1].end() : matches[i].start()] == " "
            department = word[0].isupper() and (not inner or (titled and word.isupper() and len(word) <= 4))
            in_title = in_title + 1 if department and joined and (titled or 0 < in_title < 3) else 0
            if word.lower() in _NOT_SYSTEMS or not word[0].isupper() or in_title:
                continue
            if i == 0 and not inner:
                continue
            if len(word) < 2:
                continue
            found.append(word)
    return list(dict.fromkeys(found))


def deal_needs(
    brief: str | None,
    context: str | None,
    competitor: str | None,
    priorities: Sequence[str],
    systems: Sequence[str] = (),
) -> list[Need]:
    """`systems`: names known to be systems or competitors (a deal's notes name them), needs of their own beside
    the ones found in the text."""
    needs: list[Need] = []
    deal = " ".join(t for t in (brief, context) if t)
    sentences = split_sentences(context or "")
    if deal:
        # A one-sentence deal is its own label, so `why` can quote it.
        needs.append(Need(deal, DEAL_WEIGHT, deal if len(sentences) <= 1 and not brief else "the deal", "deal"))
    if context and brief:
        needs.append(Need(context, DEAL_WEIGHT, "the deal context", "deal"))
    if len(sentences) > 1:
        for s in sentences:
            needs.append(Need(s, DEAL_WEIGHT / len(sentences) ** 0.5, s, "sentence"))
    if priorities:
        said = len(deal.split())
        share = min(1.0, max(0.0, (PRIOR_ZERO_WORDS - said) / (PRIOR_ZERO_WORDS - PRIOR_FULL_WORDS)))
        weight = PRIOR_WEIGHT * share / len(priorities) if deal else 1.0
        needs += [Need(p, weight, p, "prior") for p in priorities]
    named = named_systems(" ".join(t for t in (brief, context) if t))
    if competitor:
        named.append(competitor)
    named += systems
    needs += [Need(s, SYSTEM_WEIGHT, s, "system") for s in dict.fromkeys(named)]
    return needs


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - float(x.mean())) / (sd if sd > 1e-9 else 1.0)


def _system_scores(library: Library, name: str, live: np.ndarray) -> np.ndarray | None:
    """log(1 + mentions) x idf over documents that mention the name as a phrase; None if it points nowhere."""
    counts = np.where(live, library.mentions(name), 0.0)
    df = int((counts > 0).sum())
    if df == 0 or df > max(1, SYSTEM_MAX_SHARE * int(live.sum())):
        return None
    scores = np.log1p(counts) * np.log(max(2, int(live.sum())) / df)
    return scores / (scores.max() or 1.0)


def rank_documents(library: Library, needs: Sequence[Need], vectors: np.ndarray, live: np.ndarray) -> Ranked:
    """`vectors[i]` embeds `needs[i]` (rows for "system" needs are ignored)."""
    n = library.size
    if n == 0 or not live.any():
        return Ranked([], np.zeros(n), {}, np.full(len(library.chunk_ids), -1.0, dtype=np.float32))
    idx = np.flatnonzero(live)
    # The deal's needs against every chunk and centroid in one matrix product each (one pass over the chunk
    # matrix instead of one per need: memory-bound, so most of the dense scoring's cost); the persona's
    # priorities come back in request after request, so the snapshot keeps their scores.
    fresh = [i for i, need in enumerate(needs) if need.kind not in ("system", "prior")]
    queries = np.ascontiguousarray(vectors[fresh].T, dtype=np.float32)
    chunk_cos = library.vectors @ queries
    best = library.best_chunk(chunk_cos)
    centroid_cos = library.centroids @ queries
    sentence_weight = SENTENCE_WEIGHT if library.has_sentences else 0.0
    lexical = {i: library.bm25.scores(needs[i].text) for i in fresh}
    # A document's best sentence is read for the candidates only: the first pass ranks with each document's best
    # chunk standing in for its best sentence, then the top SENTENCE_CANDIDATES get their own (the sentence rows
    # are about four times the chunk rows, and a request needs only the top of the ranking right).
    sentence = best.copy()

    def aggregate() -> tuple[np.ndarray, dict[int, list[str]], np.ndarray, bool]:
        scored = {
            i: NeedScores(chunk_cos[:, j], best[:, j], centroid_cos[:, j], lexical[i], sentence[:, j])
            for j, i in enumerate(fresh)
        }
        return _aggregate(library, needs, vectors, live, scored, sentence_weight)

    if sentence_weight:
        candidates = idx
        if len(idx) > SENTENCE_CANDIDATES:
            first = aggregate()[0]
            candidates = idx[np.argsort(-first[idx], kind="stable")][:SENTENCE_CANDIDATES]
        sentence[candidates] = library.best_sentence_of(candidates, queries)
    total, matched, relevance, deal = aggregate()
    order = [int(i) for i in idx[np.argsort(-total[idx], kind="stable")]]
    return Ranked(order, total, matched, relevance, deal)


def _aggregate(
    library: Library,
    needs: Sequence[Need],
    vectors: np.ndarray,
    live: np.ndarray,
    scored: dict[int, NeedScores],
    sentence_weight: float,
) -> tuple[np.ndarray, dict[int, list[str]], np.ndarray, bool]:
    """Every need's standardised signals summed by weight: per document the total, the labels of the needs it
    ranks top MATCH_RANK for, per chunk its best cosine to a need, and whether the request states a deal."""
    n, idx = library.size, np.flatnonzero(live)
    total = np.zeros(n)
    matched: dict[int, list[str]] = {}
    relevance = np.full(len(library.chunk_ids), -1.0, dtype=np.float32)
    prior_relevance = relevance.copy()
    for i, need in enumerate(needs):
        if need.kind == "system":
            scores = _system_scores(library, need.text, live)
            if scores is None:
                continue
            total += need.weight * scores
            contribution = scores
        else:
            s = scored[i] if need.kind != "prior" else library.standing(need.text, vectors[i])
            if need.kind == "prior":
                np.maximum(prior_relevance, s.chunk_cos, out=prior_relevance)
            else:
                np.maximum(relevance, s.chunk_cos, out=relevance)
            dense = s.best + CENTROID_WEIGHT * s.centroid_cos - HUB_WEIGHT * library.hub + sentence_weight * s.sentence
            contribution = np.zeros(n)
            contribution[idx] = _z(dense[idx]) + LEXICAL_WEIGHT * _z(s.lexical[idx])
            total += need.weight * contribution
        if need.kind == "prior":
            continue
        for d in idx[np.argsort(-contribution[idx])][:MATCH_RANK]:
            if contribution[d] > 0:
                matched.setdefault(int(d), []).append(need.label)
    deal = any(need.kind in ("deal", "sentence") for need in needs)
    if not deal:
        relevance = prior_relevance  # no deal: the passages that speak to what this buyer is measured on
    return total, matched, relevance, deal


# Baselines for `pitchcraft eval`: the same library and model, none of the method above.


def bm25_baseline(library: Library, text: str, live: np.ndarray) -> list[int]:
    scores = library.bm25.scores(text)
    idx = np.flatnonzero(live)
    return [int(i) for i in idx[np.argsort(-scores[idx], kind="stable")]]


def dense_baseline(library: Library, vector: np.ndarray, live: np.ndarray) -> list[int]:
    best = library.best_chunk(library.vectors @ vector)
    idx = np.flatnonzero(live)
    return [int(i) for i in idx[np.argsort(-best[idx], kind="stable")]]


def rrf(*rankings: list[int], k: int = 60) -> list[int]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores, key=lambda d: -scores[d])
