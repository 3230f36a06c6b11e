"""Build services/pitch/deals/note_exemplars.npz: every sentence of our labelled meeting-note sets, as the
analyser splits them, with whether it states a labelled objection of its note and whether a labelled pain or goal
(the matching rule of run_notes_eval.py), and its vector from the shared model (README "Deals").

Sets: every labelled set but the blind one: notes.jsonl and heldout.jsonl to heldout7.jsonl, all our own writing
about fictional products (heldout6.jsonl joined after its blind runs, when heldout7.jsonl became the blind set;
heldout7.jsonl once its misses were read, when heldout8.jsonl became the blind set). Never heldout8.jsonl. Each
exemplar keeps the name of its set, so a set can be measured with its own sentences left out
(`PITCHCRAFT_NOTE_EXEMPLARS_EXCLUDE`, which run_notes_eval.py sets). `--choose` prints the mean objection F1 over
the sets, each with its own sentences left out, for a grid of neighbours and shares, and the same for pains
and goals at the chosen setting (EXEMPLAR_NEIGHBOURS and EXEMPLAR_SHARE were chosen on the first six sets).

It also writes services/pitch/deals/name_exemplars.npz: every labelled competitor and system of the same sets as
the words around its first mention, the name replaced by "X" (`name_frame`), with whether it is a competitor; the
analyser moves a system whose frame's nearest labelled frames are mostly competitors' to the competitors.
`--frames` prints, leaving each set out in turn, how many of its competitors' frames read as a competitor's and how
many systems' frames would, for a grid of neighbours and shares.

    python evals/build_note_exemplars.py [--choose | --frames]
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

from evals.fit_notes_classifier import rules_analyses  # noqa: E402
from evals.run_notes_eval import load, score, sentence_match  # noqa: E402
from services.core.embeddings import get_embedder  # noqa: E402
from services.pitch.deals.notes import (  # noqa: E402
    EXEMPLAR_NEIGHBOURS,
    EXEMPLAR_SHARE,
    EXEMPLARS,
    NAME_EXEMPLARS,
    Exemplars,
    find_mention,
    name_frame,
    split_note,
)

# never heldout8.jsonl, the blind set
SETS = ("notes", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7")


KINDS = {"objection": "objections", "pain": "pains"}  # exemplar kind -> the analysis' and the labels' key


def sentences(notes: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Per set, per note: its sentences and their vectors, and per kind the sentences the rules cite and the
    labels."""
    analysed = rules_analyses(notes)
    out: dict[str, list[dict[str, Any]]] = {}
    for name, rows in notes.items():
        out[name] = []
        for note, (texts, analysis, features) in zip(rows, analysed[name], strict=True):
            row: dict[str, Any] = {"sentences": texts, "vectors": features[:, :384]}
            for kind, key in KINDS.items():
                row[kind] = {
                    "ruled": {item["citation"]["sentence"] for item in analysis[key]},
                    "labels": note["labels"][key],
                }
            out[name].append(row)
    return out


def build(by_set: dict[str, list[dict[str, Any]]]) -> dict[str, np.ndarray]:
    texts, vectors, sets = [], [], []
    labels: dict[str, list[bool]] = {kind: [] for kind in KINDS}
    for name, notes in by_set.items():
        for note in notes:
            for text, vector in zip(note["sentences"], note["vectors"], strict=True):
                texts.append(text)
                vectors.append(vector)
                sets.append(name)
                for kind in KINDS:
                    labels[kind].append(any(sentence_match(text, label) for label in note[kind]["labels"]))
    return {
        "texts": np.array(texts),
        "vectors": np.array(vectors, dtype=np.float16),
        "sets": np.array(sets),
        **{kind: np.array(values) for kind, values in labels.items()},
    }


def frames(notes: dict[str, list[dict[str, Any]]]) -> dict[str, np.ndarray]:
    """Every labelled competitor and system of the sets, as the frame of its first mention in a sentence (the
    analyser's split), with whether it is a competitor."""
    texts, sets, rival = [], [], []
    for name, rows in notes.items():
        for note in rows:
            sentences = [s.text for s in split_note(note["text"])]
            for key in ("competitors", "systems"):
                for label in note["labels"][key]:
                    found = next(((t, m) for t in sentences if (m := find_mention(t, label))), None)
                    if found:
                        texts.append(name_frame(found[0], found[1].start(), found[1].end()))
                        sets.append(name)
                        rival.append(key == "competitors")
    vectors = get_embedder().embed(texts)
    return {
        "texts": np.array(texts),
        "vectors": np.asarray(vectors, dtype=np.float16),
        "sets": np.array(sets),
        "competitor": np.array(rival),
    }


def choose_frames(bank: dict[str, np.ndarray]) -> None:
    """Leave each set out in turn: of its labelled names, the competitors whose frame reads as a competitor's and
    the systems that would be moved wrongly, for a grid of neighbours and shares."""
    vectors, sets, rival = bank["vectors"].astype(np.float32), bank["sets"], bank["competitor"]
    for neighbours in (5, 10, 20):
        for share in (0.5, 0.6, 0.7, 0.8):
            caught = moved = 0
            for name in dict.fromkeys(sets.tolist()):
                held = sets == name
                model = Exemplars(vectors[~held], {"competitor": rival[~held]}, share, neighbours)
                said = model.shares(vectors[held])["competitor"] >= share
                caught += int((said & rival[held]).sum())
                moved += int((said & ~rival[held]).sum())
            print(
                f"frames neighbours {neighbours:>2} share {share:.2f}: competitors {caught}/{int(rival.sum())}, "
                f"systems moved {moved}/{int((~rival).sum())}"
            )


def kind_f1(notes: list[dict[str, Any]], kind: str, model: Exemplars) -> tuple[float, float, float]:
    """Precision, recall and F1 of one kind on these notes: the rules' sentences plus the model's."""
    tp = found_n = labels_n = 0
    for note in notes:
        p = model.shares(np.asarray(note["vectors"], dtype=np.float32))[kind]
        ruled, labels = note[kind]["ruled"], note[kind]["labels"]
        found = [t for i, t in enumerate(note["sentences"]) if i in ruled or p[i] >= model.threshold]
        hits, _, alarms = score(found, labels, KINDS[kind])
        tp, found_n, labels_n = tp + hits, found_n + hits + len(alarms), labels_n + len(labels)
    precision, recall = tp / max(1, found_n), tp / max(1, labels_n)
    return precision, recall, 2 * precision * recall / max(1e-9, precision + recall)


def _row(by_set: dict[str, list[dict[str, Any]]], bank: dict[str, np.ndarray], kind: str, share: float, k: int) -> str:
    cells, f1s = [], []
    vectors = bank["vectors"].astype(np.float32)
    for name, notes in by_set.items():
        keep = bank["sets"] != name
        model = Exemplars(vectors[keep], {kind: bank[kind][keep]}, share, k)
        precision, recall, f1 = kind_f1(notes, kind, model)
        f1s.append(f1)
        cells.append(f"{name} {precision:.2f}/{recall:.2f}")
    return f"{kind} neighbours {k:>2} share {share:.2f}: mean F1 {np.mean(f1s):.3f}  " + "  ".join(cells)


def choose(by_set: dict[str, list[dict[str, Any]]], bank: dict[str, np.ndarray]) -> None:
    for neighbours in (5, 7, 10, 15, 25):
        for share in (0.4, 0.5, 0.6, 0.7, 0.8, 1.01):  # 1.01: the rules alone
            print(_row(by_set, bank, "objection", share, neighbours))
    for share in (EXEMPLAR_SHARE, 1.01):
        print(_row(by_set, bank, "pain", share, EXEMPLAR_NEIGHBOURS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--choose", action="store_true", help="print the leave-set-out grid instead of writing")
    parser.add_argument("--frames", action="store_true", help="print the name frames' leave-set-out grid")
    args = parser.parse_args()
    notes = {name: load(ROOT / "evals" / "notes" / f"{name}.jsonl") for name in SETS}
    named = frames(notes)
    if args.frames:
        choose_frames(named)
        return
    by_set = sentences(notes)
    bank = build(by_set)
    if args.choose:
        choose(by_set, bank)
        return
    np.savez_compressed(EXEMPLARS, **bank)
    counts = ", ".join(f"{int(bank[kind].sum())} {key}" for kind, key in KINDS.items())
    print(f"{EXEMPLARS.relative_to(ROOT)}: {len(bank['texts'])} sentences ({counts})")
    np.savez_compressed(NAME_EXEMPLARS, **named)
    rivals = int(named["competitor"].sum())
    print(f"{NAME_EXEMPLARS.relative_to(ROOT)}: {len(named['texts'])} names ({rivals} competitors)")


if __name__ == "__main__":
    main()
