"""Build services/pitch/deals/objection_exemplars.npz: every sentence of our labelled meeting-note sets, as the
analyser splits them, with whether it states a labelled objection of its note (the matching rule of
run_notes_eval.py) and its vector from the shared model (README "Deals").

Sets: notes.jsonl and heldout.jsonl to heldout5.jsonl, all our own writing about a fictional product. Never
heldout6.jsonl: it is the blind set the exemplars are measured on. Each exemplar keeps the name of its set, so a
set can be measured with its own sentences left out (`PITCHCRAFT_NOTE_EXEMPLARS_EXCLUDE`, which
run_notes_eval.py sets). `--choose` prints the mean objection F1 over the six sets, each with its own sentences left
out, for a grid of neighbours and shares (how EXEMPLAR_NEIGHBOURS and EXEMPLAR_SHARE were chosen).

    python evals/build_objection_exemplars.py [--choose]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.fit_notes_classifier import current_rows  # noqa: E402
from evals.run_notes_eval import load, score, sentence_match  # noqa: E402
from services.pitch.deals.notes import EXEMPLARS, ObjectionExemplars  # noqa: E402

SETS = ("notes", "heldout", "heldout2", "heldout3", "heldout4", "heldout5")  # never heldout6.jsonl


def sentences(notes: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Per set, per note: its sentences, their vectors, the rules' objection sentences, the labelled objections."""
    rows = current_rows(notes)
    return {
        name: [
            {
                "sentences": row["sentences"],
                "vectors": row["features"][:, :384],
                "ruled": set(row["objections"]),
                "labels": note["labels"]["objections"],
            }
            for note, row in zip(notes[name], rows[name], strict=True)
        ]
        for name in notes
    }


def build(by_set: dict[str, list[dict[str, Any]]]) -> dict[str, np.ndarray]:
    texts, vectors, objection, sets = [], [], [], []
    for name, notes in by_set.items():
        for note in notes:
            for text, vector in zip(note["sentences"], note["vectors"], strict=True):
                texts.append(text)
                vectors.append(vector)
                objection.append(any(sentence_match(text, label) for label in note["labels"]))
                sets.append(name)
    return {
        "texts": np.array(texts),
        "vectors": np.array(vectors, dtype=np.float16),
        "objection": np.array(objection),
        "sets": np.array(sets),
    }


def objection_f1(notes: list[dict[str, Any]], model: ObjectionExemplars) -> tuple[float, float, float]:
    """Precision, recall and F1 of the objections of these notes: the rules' sentences plus the model's."""
    tp = found_n = labels_n = 0
    for note in notes:
        p = model.probabilities(np.asarray(note["vectors"], dtype=np.float32))
        found = [t for i, t in enumerate(note["sentences"]) if i in note["ruled"] or p[i] >= model.threshold]
        hits, _, alarms = score(found, note["labels"], "objections")
        tp, found_n, labels_n = tp + hits, found_n + hits + len(alarms), labels_n + len(note["labels"])
    precision, recall = tp / max(1, found_n), tp / max(1, labels_n)
    return precision, recall, 2 * precision * recall / max(1e-9, precision + recall)


def choose(by_set: dict[str, list[dict[str, Any]]], bank: dict[str, np.ndarray]) -> None:
    vectors, objection = bank["vectors"].astype(np.float32), bank["objection"]
    for neighbours in (5, 7, 10, 15, 25):
        for share in (0.4, 0.5, 0.6, 0.7, 0.8, 1.01):
            cells, f1s = [], []
            for name, notes in by_set.items():
                keep = bank["sets"] != name
                model = ObjectionExemplars(vectors[keep], objection[keep], share, neighbours)
                precision, recall, f1 = objection_f1(notes, model)
                f1s.append(f1)
                cells.append(f"{name} {precision:.2f}/{recall:.2f}")
            print(f"neighbours {neighbours:>2} share {share:.2f}: mean F1 {np.mean(f1s):.3f}  " + "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--choose", action="store_true", help="print the leave-set-out grid instead of writing")
    args = parser.parse_args()
    notes = {name: load(ROOT / "evals" / "notes" / f"{name}.jsonl") for name in SETS}
    by_set = sentences(notes)
    bank = build(by_set)
    if args.choose:
        choose(by_set, bank)
        return
    np.savez_compressed(EXEMPLARS, **bank)
    print(f"{EXEMPLARS.relative_to(ROOT)}: {len(bank['texts'])} sentences, {int(bank['objection'].sum())} objections")


if __name__ == "__main__":
    main()
