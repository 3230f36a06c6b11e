"""Short-answer grading accuracy on labelled answers written the way reps write.

Sets read (each question with a reference answer, optional key points, and labelled answers right / partial /
wrong):
- evals/short_answer_cases.yaml: 50 authored questions on the demo product, one answer per label;
- evals/grading/demo_answers.jsonl: authored and generated items on the demo product, two right paraphrases,
  one partial, two plausible wrong answers per question;
- every shared set's quiz_answers.jsonl under ../shared/evalsets (or $SHARED_EVALSETS): real product material,
  no key points (the grader derives them from the reference answer).

An answer is graded correctly when its credit band (right >= correct_at, partial >= partial_at, else wrong)
equals its label. Printed per set: accuracy per label, "right+wrong" (the share of right and wrong answers
graded correctly: the figure the issue targets), and the same on each half of the questions. The thresholds in
services/enablement/grading.py were chosen on half A (questions 1, 3, 5, ... of every set) with `--tune`;
half B is held out.

    make eval                                  (runs this after the talk-track evaluation)
    python evals/run_grading_eval.py [--tune]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from services.core.embeddings import get_embedder  # noqa: E402
from services.enablement.grading import POLICY, ShortAnswerPolicy, grade_short_answer  # noqa: E402

LABELS = ("right", "partial", "wrong")
Item = dict[str, Any]


def load_sets(shared_root: Path) -> list[tuple[str, list[Item]]]:
    sets: list[tuple[str, list[Item]]] = []
    authored = yaml.safe_load((ROOT / "evals" / "short_answer_cases.yaml").read_text())
    sets.append(("demo, evals/short_answer_cases.yaml", authored))
    paraphrased = ROOT / "evals" / "grading" / "demo_answers.jsonl"
    if paraphrased.exists():
        sets.append(("demo, evals/grading/demo_answers.jsonl", _jsonl(paraphrased)))
    for path in sorted(shared_root.glob("*/quiz_answers.jsonl")):
        sets.append((f"shared {path.parent.name}, quiz_answers.jsonl", _jsonl(path)))
    return sets


def _jsonl(path: Path) -> list[Item]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class CachedEmbed:
    def __init__(self) -> None:
        self._model = get_embedder()
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._model.embed(missing), strict=True))
        return np.stack([self._cache[t] for t in texts])


def band(credit: float, policy: ShortAnswerPolicy) -> str:
    if credit >= policy.correct_at:
        return "right"
    return "partial" if credit >= policy.partial_at else "wrong"


def score(items: Sequence[Item], policy: ShortAnswerPolicy, embed: CachedEmbed) -> dict[str, float]:
    confusion: dict[tuple[str, str], int] = {}
    for item in items:
        points = [k if isinstance(k, str) else k["text"] for k in item.get("key_points") or []]
        for answer in item["answers"]:
            grade = grade_short_answer(answer["text"], item["reference_answer"], points, embed, policy)
            key = (answer["label"], band(grade.credit, policy))
            confusion[key] = confusion.get(key, 0) + 1

    def share(labels: Sequence[str]) -> float:
        total = sum(n for (label, _), n in confusion.items() if label in labels)
        return sum(confusion.get((x, x), 0) for x in labels) / total if total else float("nan")

    return {**{x: share([x]) for x in LABELS}, "right+wrong": share(["right", "wrong"]), "all": share(LABELS)}


def halves(items: Sequence[Item]) -> tuple[list[Item], list[Item]]:
    return list(items[0::2]), list(items[1::2])


def tune(sets: list[tuple[str, list[Item]]], embed: CachedEmbed) -> None:
    """Grid search on half A of every set pooled; objective: right+wrong accuracy plus 0.3 x partial."""
    half_a = [item for _, items in sets for item in halves(items)[0]]
    grid = itertools.product(
        [0.3, 0.4, 0.5], [0.6, 0.7, 0.8], [0.0, 0.2, 0.4], [0.5, 0.6, 0.7], [0.2, 0.3, 0.4], [0.5, 0.7, 1.01]
    )
    ranked = []
    for floor, ceiling, weight, correct, partial, words in grid:
        if partial >= correct:
            continue
        policy = replace(
            POLICY,
            point_floor=floor,
            point_ceiling=ceiling,
            similarity_weight=weight,
            correct_at=correct,
            partial_at=partial,
            point_words=words,
        )
        r = score(half_a, policy, embed)
        ranked.append((r["right+wrong"] + 0.3 * r["partial"], r, policy))
    ranked.sort(key=lambda x: -x[0])
    for objective, r, policy in ranked[:5]:
        print(f"{objective:.3f}  {_row(r)}  {policy}")


def _row(r: dict[str, float]) -> str:
    return "".join(f"{r[k]:>9.3f}" for k in (*LABELS, "right+wrong", "all"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", action="store_true", help="grid-search the thresholds on half A of every set")
    parser.add_argument("--shared", default=os.environ.get("SHARED_EVALSETS", str(ROOT.parent / "shared" / "evalsets")))
    args = parser.parse_args()
    sets = load_sets(Path(args.shared))
    embed = CachedEmbed()
    if args.tune:
        tune(sets, embed)
        return
    unchecked = replace(POLICY, check_figures=False, check_polarity=False, check_opposites=False)
    systems = [
        ("grader", POLICY),
        ("grader without fact checks", unchecked),
        ("similarity to the reference only", replace(unchecked, similarity_weight=1.0)),
    ]
    header = f"{'set / grader':<44}{'':<8}" + "".join(f"{k:>9}" for k in (*LABELS, "right+wrong", "all"))
    print(f"\nshort-answer grading (right >= {POLICY.correct_at} credit, partial >= {POLICY.partial_at})\n")
    print(header)
    print("-" * len(header))
    for name, items in sets:
        answers = sum(len(i["answers"]) for i in items)
        print(f"{name}: {len(items)} questions, {answers} answers")
        half_a, half_b = halves(items)
        for system, policy in systems:
            for part, subset in (("all", items), ("half A", half_a), ("half B", half_b)):
                label = f"  {system}" if part == "all" else ""
                print(f"{label:<44}{part:<8}{_row(score(subset, policy, embed))}")
    print("\nright+wrong: share of right and wrong answers graded in their own band (the figure the issue targets).")
    print("Thresholds were chosen on half A (python evals/run_grading_eval.py --tune); half B is held out.")


if __name__ == "__main__":
    main()
