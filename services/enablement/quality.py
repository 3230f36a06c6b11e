"""The quality gate every generated item passes before a reviewer sees it.

An item is rejected, with a reason counted in the quiz's generation report, when:
- `duplicate_options`: two options say the same thing (same words, or embeddings at cosine >= 0.95);
- `two_defensible_answers`: a wrong option is about as well supported as the key (the generators measure
  this against the material and report it under the same reason);
- `length_giveaway`: the key is much longer or shorter than the wrong options (ratio of the key's length to
  the mean wrong option's outside 0.6-1.6, or for multi-choice the keys' mean against the others' mean);
- `wording_giveaway`: the key repeats words of the prompt that no wrong option repeats;
- `unsupported_key`: the sentence the key rests on is not in its source chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.enablement.material import MaterialChunk, content_words, normalise
from services.enablement.models import QuestionType

DUPLICATE_COSINE = 0.95
LENGTH_RATIO = (0.6, 1.6)


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


def check(item: ItemDraft, embed: Callable[[Sequence[str]], np.ndarray]) -> str | None:
    """The reason to reject the item, or None when it passes."""
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
    if _wording_giveaway(item.prompt, options, keys):
        return "wording_giveaway"
    return None
