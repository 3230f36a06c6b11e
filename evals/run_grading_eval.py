"""Short-answer grading accuracy on the hand-labelled answers in evals/short_answer_cases.yaml.

Every question has a right, a partly right and a wrong answer. The grader's credit is banded (correct at
>= `correct_at`, partly right at >= `partial_at`, else wrong) and compared with the label. Prints the
accuracy over all answers, per label, the confusion matrix, and how often the grader orders each question's
three answers right > partial > wrong. Also prints two baselines: similarity to the reference alone, and key
points alone.

    make eval          (runs this after the retrieval evaluation)
    python evals/run_grading_eval.py
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from services.core.embeddings import get_embedder  # noqa: E402
from services.enablement.grading import POLICY, ShortAnswerPolicy, grade_short_answer  # noqa: E402

LABELS = ("right", "partial", "wrong")


def band(credit: float, policy: ShortAnswerPolicy) -> str:
    if credit >= policy.correct_at:
        return "right"
    return "partial" if credit >= policy.partial_at else "wrong"


def run(cases: list[dict[str, Any]], policy: ShortAnswerPolicy) -> dict[str, Any]:
    embedder = get_embedder()
    cache: dict[str, Any] = {}

    def embed(texts: Any) -> Any:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            for text, vec in zip(missing, embedder.embed(missing), strict=True):
                cache[text] = vec
        import numpy as np

        return np.stack([cache[t] for t in texts])

    confusion = {(a, b): 0 for a in LABELS for b in LABELS}
    ordered = 0
    for case in cases:
        item_credits = {}
        for answer in case["answers"]:
            grade = grade_short_answer(answer["text"], case["reference_answer"], case["key_points"], embed, policy)
            item_credits[answer["label"]] = grade.credit
            confusion[(answer["label"], band(grade.credit, policy))] += 1
        ordered += item_credits["right"] > item_credits["partial"] > item_credits["wrong"]
    total = sum(confusion.values())
    correct = sum(confusion[(x, x)] for x in LABELS)
    return {
        "accuracy": correct / total,
        "per_label": {x: confusion[(x, x)] / sum(confusion[(x, y)] for y in LABELS) for x in LABELS},
        "ordered": ordered / len(cases),
        "confusion": confusion,
        "answers": total,
    }


def main() -> None:
    cases = yaml.safe_load((ROOT / "evals" / "short_answer_cases.yaml").read_text())
    systems = [
        ("grader (similarity + key points)", POLICY),
        ("similarity to reference only", replace(POLICY, similarity_weight=1.0)),
        ("key points only", replace(POLICY, similarity_weight=0.0)),
    ]
    print(f"\nshort-answer grading: {len(cases)} questions, {len(cases) * 3} answers (evals/short_answer_cases.yaml)\n")
    header = f"{'grader':<36}{'accuracy':>9}{'right':>7}{'partial':>8}{'wrong':>7}{'ordered':>9}"
    print(header)
    print("-" * len(header))
    results = {}
    for name, policy in systems:
        r = results[name] = run(cases, policy)
        p = r["per_label"]
        print(
            f"{name:<36}{r['accuracy']:>9.3f}{p['right']:>7.2f}{p['partial']:>8.2f}{p['wrong']:>7.2f}"
            f"{r['ordered']:>9.2f}"
        )
    print(
        f"\naccuracy: share of answers whose graded band (right >= {POLICY.correct_at} credit, partial >= "
        f"{POLICY.partial_at}) matches the label."
    )
    print("ordered: share of questions where right > partial > wrong in credit.")
    confusion = results[systems[0][0]]["confusion"]
    print("\nconfusion of the grader (rows: label, columns: graded band)")
    print(f"{'':<9}" + "".join(f"{b:>9}" for b in LABELS))
    for a in LABELS:
        print(f"{a:<9}" + "".join(f"{confusion[(a, b)]:>9}" for b in LABELS))


if __name__ == "__main__":
    main()
