"""Sentences a rep can say: where each sits in its chunk, whether it states a limitation, and whether it reads
on its own. Extractive throughout: every text returned is an exact substring of its chunk.

The cues are plain English (limits, prerequisites, plan restrictions, "not supported"; sentences that open
with a reference back such as "This" or "It also"), not words of one product's catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from services.core.text import is_dangling as is_dangling  # shared with enablement, like is_limitation
from services.core.text import is_limitation as is_limitation  # the rule lives in the core, shared with enablement
from services.core.text import split_sentences

_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str


def sentence_spans(text: str) -> list[Span]:
    """The chunk's sentences (list markers dropped) with their offsets in `text`."""
    spans: list[Span] = []
    cursor = 0
    for raw in split_sentences(text):
        sentence = _BULLET.sub("", raw)
        at = text.find(sentence, cursor)
        if at < 0:
            at = text.find(sentence)
        if at < 0:
            continue
        spans.append(Span(at, at + len(sentence), sentence))
        cursor = at + len(sentence)
    return spans


def joinable(text: str, first: Span, second: Span) -> bool:
    """Two sentences of one paragraph (nothing but spaces and closing quotes between them)."""
    gap = text[first.end : second.start]
    return first.end <= second.start and "\n" not in gap and gap.strip(" \"'\u201d\u2019)]") == ""


def with_antecedent(text: str, spans: list[Span], i: int) -> Span | None:
    """Sentence i as a point that reads on its own: itself, or joined with the sentence before it when it opens
    with a reference back; None when there is no such sentence to bring along."""
    span = spans[i]
    if not is_dangling(span.text):
        return span
    if i == 0 or is_dangling(spans[i - 1].text) or not joinable(text, spans[i - 1], span):
        return None
    prev = spans[i - 1]
    return Span(prev.start, span.end, text[prev.start : span.end])


def window(text: str, spans: list[Span], start: int, size: int) -> Span | None:
    """Sentences start..start+size-1 as one contiguous span of one paragraph, or None."""
    chosen = spans[start : start + size]
    if len(chosen) < size or any(not joinable(text, a, b) for a, b in pairwise(chosen)):
        return None
    return Span(chosen[0].start, chosen[-1].end, text[chosen[0].start : chosen[-1].end])
