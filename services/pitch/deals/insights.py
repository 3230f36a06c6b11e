"""What customers say: the pains, objections, competitors and systems of an org's meeting notes, grouped.

Names (competitors, systems) group by their spelling, case-folded. Pains and objections group by meaning: each
sentence joins the group whose centroid is closest to it if that is at cosine >= `SAME_THEME_COSINE` (greedy, in
the order of the notes, newest first), else starts one. Nothing is generated: a group's text is its most central
sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

# Two customer sentences at or above this cosine (all-MiniLM-L6-v2) count as one theme. Measured on fifteen
# hand-written pairs (`python evals/run_theme_pairs.py`): the same concern in other words scored 0.41-0.70,
# different concerns 0.10-0.36 (two security concerns 0.17-0.20, price against lock-in 0.28). 0.4 sits between
# the two groups; a paraphrase further from its group's wording stays a theme of its own.
SAME_THEME_COSINE = 0.4


@dataclass
class Mention:
    kind: str
    text: str
    deal_id: str
    note_id: str
    segment: str
    personas: tuple[str, ...]
    payload: dict[str, object] = field(default_factory=dict)


@dataclass
class Theme:
    kind: str
    mentions: list[Mention]
    text: str = ""

    @property
    def deals(self) -> int:
        return len({m.deal_id for m in self.mentions})

    def counts(self, key: Callable[[Mention], Sequence[str]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for mention in self.mentions:
            for value in key(mention):
                out[value] = out.get(value, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def group_names(mentions: Sequence[Mention]) -> list[Theme]:
    groups: dict[str, Theme] = {}
    for mention in mentions:
        key = " ".join(mention.text.casefold().split())
        theme = groups.setdefault(key, Theme(kind=mention.kind, mentions=[], text=mention.text))
        theme.mentions.append(mention)
    return _ranked(list(groups.values()))


def group_by_meaning(mentions: Sequence[Mention], vectors: np.ndarray) -> list[Theme]:
    """`vectors`: unit vectors of the mentions' texts, one row each."""
    themes: list[Theme] = []
    sums: list[np.ndarray] = []
    members: list[list[int]] = []
    for index, (mention, vector) in enumerate(zip(mentions, vectors, strict=True)):
        best, best_sim = -1, SAME_THEME_COSINE
        for t, total in enumerate(sums):
            sim = float(total @ vector) / max(float(np.linalg.norm(total)), 1e-9)
            if sim >= best_sim:
                best, best_sim = t, sim
        if best < 0:
            themes.append(Theme(kind=mention.kind, mentions=[mention]))
            sums.append(vector.astype(np.float32).copy())
            members.append([index])
        else:
            themes[best].mentions.append(mention)
            sums[best] += vector
            members[best].append(index)
    for theme, total, rows in zip(themes, sums, members, strict=True):
        centre = total / max(float(np.linalg.norm(total)), 1e-9)
        theme.text = theme.mentions[int(np.argmax(vectors[rows] @ centre))].text
    return _ranked(themes)


def _ranked(themes: list[Theme]) -> list[Theme]:
    return sorted(themes, key=lambda t: (-t.deals, -len(t.mentions), t.text.casefold()))
