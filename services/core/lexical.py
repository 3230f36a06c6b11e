"""Whole-document lexical evidence: BM25 over documents (not chunks), with a light suffix stemmer.

Chunk-level BM25 lives in the vector store (sparse vectors); this scores a document as a whole, so a page
that is about a need (its words throughout, in its title) beats a page that mentions them once.
Standard BM25 (k1 = 1.2, b = 0.75, Lucene idf); tokens are lower-case letters and digits.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_TOKEN = re.compile(r"[^\W_]+")
STOP_WORDS = frozenset(
    """a an and are as at be been but by can could do does for from had has have how i if in into is it its
    of on or our so that the their them then there these they this those to was we were what when where which
    who whom why will with would you your not no all any each more most other some such than too very also
    about after before over under up out just only own same both few many much may might must should shall""".split()  # noqa: SIM905
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "ly", "s")


def stem(word: str) -> str:
    """A deliberately light stemmer: strips common English inflections from words of five letters or more,
    so "integrations"/"integrated"/"integrating" meet while short words ("sso", "api") stay as they are."""
    if len(word) < 5 or word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix in ("ies", "ied") else base
    return word


def tokens(text: str) -> list[str]:
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


class DocumentBm25:
    """BM25 over a fixed list of documents; `scores(query)` gives one score per document, in order."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        counts = [Counter(tokens(t)) for t in texts]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
        average = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        self._norm = k1 * (1 - b + b * lengths / average)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        by_term: dict[str, list[tuple[int, int]]] = {}
        for i, c in enumerate(counts):
            for term, tf in c.items():
                by_term.setdefault(term, []).append((i, tf))
        n = len(texts)
        self._idf: dict[str, float] = {}
        for term, rows in by_term.items():
            self._postings[term] = (
                np.array([r[0] for r in rows], dtype=np.int64),
                np.array([r[1] for r in rows], dtype=np.float64),
            )
            self._idf[term] = math.log(1 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
        self.size = n

    def document_frequency(self, term: str) -> int:
        posting = self._postings.get(stem(term.lower()))
        return 0 if posting is None else len(posting[0])

    def scores(self, query: str | Iterable[str]) -> np.ndarray:
        terms = Counter(tokens(query) if isinstance(query, str) else [stem(t.lower()) for t in query])
        out = np.zeros(self.size, dtype=np.float64)
        for term in terms:
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, tf = posting
            out[docs] += self._idf[term] * tf * (self.k1 + 1) / (tf + self._norm[docs])
        return out
