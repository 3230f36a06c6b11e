"""The quality gate every generated item passes before a reviewer sees it.

An item is rejected, with a reason counted in the quiz's generation report, when:
- `duplicate_options`: two options say the same thing (same words, or embeddings at cosine >= 0.95);
- `two_defensible_answers`: a wrong option is about as well supported as the key (the generators measure
  this against the material and report it under the same reason);
- `length_giveaway`: the key is much longer or shorter than the wrong options (ratio of the key's length to
  the mean wrong option's outside 0.6-1.6, or for multi-choice the keys' mean against the others' mean);
- `wording_giveaway`: the key repeats words of the prompt that no wrong option repeats;
- `unsupported_key`: the sentence the key rests on is not in its source chunk;
- `form_giveaway`: only the key states a figure, or only the wrong options do;
- `prompt_gives_away` (short answer): the prompt already holds most of the key points' words.
With the material (`Sources`: each document's title, kind and sentences), also:
- `trivia`: the item asks for an incidental figure or a name from a customer story: a figure or a name from a
  case study (unless its title states it), or a figure next to a customer's name, or options that are
  customers' names;
- `two_defensible_answers`: a wrong option's figure is stated in the sources in a sentence about the prompt's
  subject, or a wrong option names another document that answers the prompt about as well as the key's.
Not checked here: a wrong option that is a true statement. Cosine to the source sentences does not separate true
from false statements on the same topic (measured on evals/gate: 8 of 32 good items would be rejected for 1 of 7
bad ones caught), so the generators prevent it instead, by drawing wrong options from other documents and
dropping any that is close to a claim of the key's own document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.enablement.grading import quantities
from services.enablement.material import MaterialChunk, content_words, normalise
from services.enablement.models import QuestionType

DUPLICATE_COSINE = 0.95
LENGTH_RATIO = (0.6, 1.6)
# A sentence holding a wrong option's figure answers the prompt when it is this close to it.
FIGURE_CONTEXT_COSINE = 0.45
# Another document answers a "which feature" prompt about as well as the key's within this margin.
DEFENSIBLE_DOC_MARGIN = 0.03
PROMPT_REVEALS_POINTS = 0.6
# Two or more capitalised words in a row ("Corvane Logistics"), the way a customer's name reads.
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b")


@dataclass
class Source:
    """What the gate reads of one document of the material."""

    external_id: str
    title: str
    kind: str
    sentences: list[str]
    competitor: str | None = None


Sources = Mapping[str, Source]


@dataclass
class ItemDraft:
    type: QuestionType
    origin: str
    prompt: str
    sources: list[MaterialChunk | dict[str, Any]]
    options: list[str] | None = None
    answers: list[int] | None = None
    reference_answer: str | None = None
    key_points: list[dict[str, Any]] | None = None
    explanation: str | None = None
    topic: str | None = None
    persona: str | None = None
    competitor: str | None = None
    source_reveals_key: bool = False
    # Text that must stand in the source chunks for the key to be supported (quoted, not paraphrased).
    evidence: list[str] = field(default_factory=list)
    recipe: dict[str, Any] = field(default_factory=dict)

    def citations(self) -> list[dict[str, Any]]:
        return [s.citation() if isinstance(s, MaterialChunk) else s for s in self.sources]


def _length_giveaway(lengths: Sequence[int], keys: Sequence[int]) -> bool:
    key_len = [lengths[i] for i in keys]
    others = [n for i, n in enumerate(lengths) if i not in keys]
    if not others:
        return False
    ratio = (sum(key_len) / len(key_len)) / (sum(others) / len(others))
    return not (LENGTH_RATIO[0] <= ratio <= LENGTH_RATIO[1])


def _wording_giveaway(prompt: str, options: Sequence[str], keys: Sequence[int]) -> bool:
    stem = content_words(prompt)
    shared = [len(stem & content_words(o)) for o in options]
    wrong = [n for i, n in enumerate(shared) if i not in keys]
    return min(shared[i] for i in keys) > 0 and max(wrong, default=0) == 0


def _figure(text: str) -> bool:
    """States a figure in digits ("60 seconds", "25%"), not a number in a name ("SOC 2") or in words ("a day")."""
    return bool(re.search(r"\d", text)) and bool(quantities(text))


def _form_giveaway(options: Sequence[str], keys: Sequence[int]) -> bool:
    figures = [_figure(o) for o in options]
    key_figures = {figures[i] for i in keys}
    wrong_figures = {f for i, f in enumerate(figures) if i not in keys}
    return len(key_figures) == 1 and len(wrong_figures) == 1 and key_figures != wrong_figures


def _source_ids(item: ItemDraft) -> list[str]:
    ids = [s.external_id if isinstance(s, MaterialChunk) else str(s.get("external_id", "")) for s in item.sources]
    return list(dict.fromkeys(i for i in ids if i))


def _known_names(sources: Sources) -> set[str]:
    """Names that are not customers: words of every document's title, and competitors."""
    words: set[str] = set()
    for doc in sources.values():
        if doc.kind != "case_study":
            words |= {w.lower() for w in re.findall(r"[A-Za-z]+", doc.title)}
        if doc.competitor:
            words |= {w.lower() for w in re.findall(r"[A-Za-z]+", doc.competitor)}
    return words


def _customer_names(text: str, known: set[str]) -> list[str]:
    return [m for m in _NAME.findall(text) if not {w.lower() for w in m.split()} <= known]


def trivia(item: ItemDraft, sources: Sources) -> bool:
    own = [sources[i] for i in _source_ids(item) if i in sources]
    known = _known_names(sources)
    keys = [item.options[i] for i in item.answers or []] if item.options else list(_point_texts(item))
    key_text = " ".join(keys)
    for doc in own:
        if doc.kind == "case_study" and (_figure(key_text) or _customer_names(key_text, known)):
            stated = {n for n in re.findall(r"\d+(?:\.\d+)?", key_text)}
            if not stated or not stated <= set(re.findall(r"\d+(?:\.\d+)?", doc.title)):
                return True
    if _figure(key_text) and _customer_names(item.prompt, known):
        return True
    options = item.options or []
    return bool(options) and all(_customer_names(o, known) for o in options)


def _point_texts(item: ItemDraft) -> list[str]:
    return [k["text"] for k in item.key_points or []]


def _support(
    texts: Sequence[str], sentences: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]
) -> np.ndarray:
    """Per text: cosine to the closest sentence."""
    if not sentences:
        return np.zeros(len(texts))
    return np.asarray((embed(list(texts)) @ embed(list(sentences)).T).max(axis=1))


def _figures(text: str) -> set[str]:
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def two_defensible(item: ItemDraft, sources: Sources, embed: Callable[[Sequence[str]], np.ndarray]) -> bool:
    options, keys = item.options or [], set(item.answers or [])
    if not options:
        return False
    sentences = [s for i in _source_ids(item) if i in sources for s in sources[i].sentences]
    if sentences:
        on_subject = [s for s, c in zip(sentences, _support(sentences, [item.prompt], embed), strict=True)
                      if c >= FIGURE_CONTEXT_COSINE]  # fmt: skip
        stated = set().union(*(_figures(s) for s in on_subject)) if on_subject else set()
        if any(_figures(options[i]) and _figures(options[i]) <= stated for i in range(len(options)) if i not in keys):
            return True
    if item.type is not QuestionType.SINGLE:
        return False  # several keys ranked by pitch for a persona: "as well as the weakest key" is no test
    by_title = {normalise(d.title): d for d in sources.values()}
    named = [by_title.get(normalise(o)) for o in options]
    if sum(d is not None for d in named) < 2 or any(named[i] is None for i in keys):
        return False
    fit = {i: float(_support([item.prompt], d.sentences, embed)[0]) for i, d in enumerate(named) if d and d.sentences}
    key_fit = min(fit.get(i, 0.0) for i in keys)
    return any(f >= key_fit - DEFENSIBLE_DOC_MARGIN for i, f in fit.items() if i not in keys)


def check(item: ItemDraft, embed: Callable[[Sequence[str]], np.ndarray], sources: Sources | None = None) -> str | None:
    """The reason to reject the item, or None when it passes. Without `sources` only the checks that need no
    material run."""
    reason = _check_form(item, embed)
    if reason is None and sources is not None:
        if trivia(item, sources):
            return "trivia"
        if two_defensible(item, sources, embed):
            return "two_defensible_answers"
    return reason


def _check_form(item: ItemDraft, embed: Callable[[Sequence[str]], np.ndarray]) -> str | None:
    for quote in item.evidence:
        texts = [normalise(s.text) for s in item.sources if isinstance(s, MaterialChunk)]
        if not any(normalise(quote) in t for t in texts):
            return "unsupported_key"
    if item.type is QuestionType.SHORT:
        points = [k["text"] for k in item.key_points or []]
        if not item.reference_answer or len(points) < 1:
            return "unsupported_key"
        if len(points) > 1:
            vectors = embed(points)
            sims = vectors @ vectors.T
            np.fill_diagonal(sims, 0)
            if float(sims.max()) >= DUPLICATE_COSINE:
                return "duplicate_options"
        wanted = set().union(*(content_words(p) for p in points))
        if wanted and len(wanted & content_words(item.prompt)) / len(wanted) >= PROMPT_REVEALS_POINTS:
            return "prompt_gives_away"
        return None
    options, keys = item.options or [], item.answers or []
    if len({normalise(o) for o in options}) != len(options):
        return "duplicate_options"
    vectors = embed(options)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, 0)
    if float(sims.max()) >= DUPLICATE_COSINE:
        return "duplicate_options"
    if _length_giveaway([len(o) for o in options], keys):
        return "length_giveaway"
    if _form_giveaway(options, keys):
        return "form_giveaway"
    if _wording_giveaway(item.prompt, options, keys):
        return "wording_giveaway"
    return None
