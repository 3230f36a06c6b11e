"""The pairs behind `SAME_THEME_COSINE` (services/pitch/deals/insights.py): customer sentences that say the same
concern in other words, and sentences that raise different concerns, with their cosine under the model the
service uses. Prints each pair and whether the bar separates the two groups.

    python evals/run_theme_pairs.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.core.embeddings import get_embedder
from services.pitch.deals.insights import SAME_THEME_COSINE

SAME = [
    ("It is too expensive for our budget this year.", "The price is above what we can spend."),
    ("Security review will take months.", "Their security team is worried about the review timeline."),
    (
        "They are worried migration from Segment will be painful.",
        "Moving off Segment looks like a big project to them.",
    ),
    ("They think the onboarding takes too long.", "Implementation time is a concern for the CFO."),
    ("Data residency in the EU is mandatory.", "They must keep customer data in Europe."),
    (
        "Their CFO said it is too expensive for our budget this year.",
        "The buyer worried the price is above what they can spend this year.",
    ),
]
DIFFERENT = [
    ("Pricing per seat worries them.", "They need SSO with Okta before rollout."),
    ("We lose deals to Hightouch on price.", "They said the dashboards are slow."),
    ("Data residency in the EU is mandatory.", "The price is above what we can spend."),
    ("Security review will take months.", "They need SSO with Okta before rollout."),
    ("Security review will take months.", "Their legal team wants our DPA before anything."),
    ("They worry the rollout will take too long.", "They said security review is their biggest blocker."),
    ("They already have a warehouse and BI tool.", "Their team has no time to learn another tool."),
    ("Price is too high next to Halyard's quote.", "They worry about being locked into one vendor."),
    ("It is too expensive for our budget.", "Halyard is cheaper for the same features."),
]


def main() -> int:
    embedder = get_embedder()
    scores: dict[str, list[float]] = {}
    for label, pairs in (("same concern", SAME), ("different concerns", DIFFERENT)):
        print(label)
        for a, b in pairs:
            va, vb = embedder.embed([a, b])
            score = float(va @ vb)
            scores.setdefault(label, []).append(score)
            print(f"  {score:.3f}  {a} | {b}")
    same, different = scores["same concern"], scores["different concerns"]
    low, high = min(same), max(different)
    print(f"same concern {low:.2f}-{max(same):.2f}, different {min(different):.2f}-{high:.2f}")
    print(f"bar {SAME_THEME_COSINE}: separates the groups: {high < SAME_THEME_COSINE <= low}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
