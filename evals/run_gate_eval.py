"""Precision and recall of the quiz-item quality gate on a labelled set of good and bad items.

evals/gate/items.jsonl holds items a sales trainer labelled good or bad (with the reason) over the demo material
(evals/gate/README.md). Every item goes through the same gate generated items meet (services/enablement/
quality.py `check`, with the demo documents as its material), and, in file order within its group, the
cross-item check (`reveals`). "Rejected" is the positive class: precision is the share of rejected items that are
bad, recall the share of bad items rejected. Recall is also printed per labelled reason.

    make eval                      (runs this last)
    python evals/run_gate_eval.py [--verbose]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from evals.run_grading_eval import CachedEmbed  # noqa: E402
from services.core.text import split_sentences  # noqa: E402
from services.enablement.generate import reveals  # noqa: E402
from services.enablement.models import QuestionType  # noqa: E402
from services.enablement.quality import ItemDraft, Source, check  # noqa: E402

TYPES = {"single": QuestionType.SINGLE, "multi": QuestionType.MULTI, "short": QuestionType.SHORT}
# The gate's reason codes, as the labels name them.
LABEL_OF = {
    "length_giveaway": "form_giveaway",
    "form_giveaway": "form_giveaway",
    "wording_giveaway": "prompt_gives_away",
    "prompt_gives_away": "prompt_gives_away",
    "reveals_another_answer": "other_item_gives_away",
}


def load_sources(corpus: Path) -> dict[str, Source]:
    sources = {}
    for path in sorted(corpus.glob("*/*.md")):
        _, front, body = path.read_text().split("---", 2)
        meta = yaml.safe_load(front)
        sentences = [s for s in split_sentences(body) if not s.lstrip().startswith("#")]
        sources[meta["external_id"]] = Source(meta["external_id"], meta["title"], meta["kind"], sentences,
                                              meta.get("competitor"))  # fmt: skip
    return sources


def draft(item: dict[str, Any]) -> ItemDraft:
    return ItemDraft(
        type=TYPES[item["type"]],
        origin="labelled",
        prompt=item["prompt"],
        sources=[{"external_id": x} for x in item["sources"]],
        options=item.get("options"),
        answers=item.get("answers"),
        reference_answer=item.get("reference_answer"),
        key_points=[{"text": k} for k in item.get("key_points") or []] or None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list every item the gate gets wrong")
    args = parser.parse_args()
    items = [json.loads(x) for x in (ROOT / "evals" / "gate" / "items.jsonl").read_text().splitlines() if x.strip()]
    sources = load_sources(ROOT / "demo")
    embed = CachedEmbed()
    accepted: dict[str, list[ItemDraft]] = {}
    outcome = []
    for item in items:
        d = draft(item)
        reason = check(d, embed, sources)
        if reason is None and reveals(d, accepted.get(item["group"], [])):
            reason = "reveals_another_answer"
        if reason is None:
            accepted.setdefault(item["group"], []).append(d)
        outcome.append((item, reason))

    tp = sum(1 for i, r in outcome if r and i["label"] == "bad")
    fp = sum(1 for i, r in outcome if r and i["label"] == "good")
    fn = sum(1 for i, r in outcome if not r and i["label"] == "bad")
    bad = Counter(i["reason"] for i, _ in outcome if i["label"] == "bad")
    caught = Counter(i["reason"] for i, r in outcome if r and i["label"] == "bad")
    same = Counter(i["reason"] for i, r in outcome if r and i["label"] == "bad" and LABEL_OF.get(r, r) == i["reason"])
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    good = len(items) - sum(bad.values())
    print(f"\nquiz-item quality gate: {len(items)} labelled items ({good} good, {sum(bad.values())} bad), evals/gate")
    print(f"  precision {precision:.3f}  recall {recall:.3f}  (rejected = positive; {fp} good items rejected)")
    print(f"  {'labelled reason':<26}{'bad':>5}{'rejected':>10}{'same reason':>13}")
    for reason, n in sorted(bad.items()):
        print(f"  {reason:<26}{n:>5}{caught[reason]:>10}{same[reason]:>13}")
    if args.verbose:
        for item, reason in outcome:
            if bool(reason) != (item["label"] == "bad"):
                print(
                    f"  {item['id']} labelled {item['label']}/{item['reason']}, gate: {reason} | {item['prompt'][:90]}"
                )


if __name__ == "__main__":
    main()
