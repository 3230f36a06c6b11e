"""The notes analyser's objection classifier, measured leave-one-set-out (README "Deals"); not shipped.

A sentence is a positive example when it matches a labelled objection of its note (the matching rule of
run_notes_eval.py). Features: `notes.objection_features` (the MiniLM embedding, the rules' other kinds, the
heading's kind, the cosine to each kind's prototypes, negation, question, hedge, a turn). Model: logistic regression
(scikit-learn here only; never shipped), C=1, classes balanced. It adds a sentence the rules
left out when its probability reaches the threshold: the lowest of a grid at and above which the sentences it adds
were right at least 80% of the time, out of fold (leave-one-set-out within the training sets).

    python evals/fit_notes_classifier.py            # fold table over the four tuning sets, current rules
    python evals/fit_notes_classifier.py --blind    # each fold's rules as they were before that set was read

--blind takes each held-out set's base rules from the commit its blind run used (git archive into a temporary
directory, analysed in a subprocess): heldout.jsonl b41d306 (v1), heldout2.jsonl 250b36a (v2), heldout3.jsonl
d541e14 (v3); notes.jsonl has no blind version (b3724ad, v1, was fitted on it). The classifier is then trained
on the other three sets with those same rules' outputs as features. The later sets (heldout4-6) are not used.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.run_notes_eval import load, score, sentence_match  # noqa: E402

SETS = ("notes", "heldout", "heldout2", "heldout3")  # the sets it was measured on; heldout4-6 came later
BLIND = {"notes": "b3724ad", "heldout": "b41d306", "heldout2": "250b36a", "heldout3": "d541e14"}
GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995)
C = 1.0
MARGINAL_PRECISION = 0.8

# Run inside a subprocess with an old tree first on sys.path: that version's sentences, headings and kinds.
_EXTRACT = r"""
import json, re, sys
from datetime import date
sys.path.insert(0, sys.argv[1])
from services.core.embeddings import EmbeddingCache, get_embedder
from services.pitch.deals import notes as N
request = json.load(open(sys.argv[2]))
analyser = N.NoteAnalyser(EmbeddingCache(get_embedder).embed)
out = []
for note in request["notes"]:
    facts = N.NoteFacts(meeting_date=date.fromisoformat(note["meeting_date"]), competitors=request["competitors"],
        people=set(note["people"]), own_names=set(note["own"]))
    texts, a = analyser.analyse(note["text"], facts)
    cited = lambda key: sorted({o["citation"]["sentence"] for o in a[key]})
    out.append({"sentences": texts, "sections": [s.section for s in N.split_note(note["text"])],
        "objections": cited("objections"), "pains": cited("pains"), "commitments": cited("commitments"),
        "next_steps": cited("next_steps")})
json.dump(out, open(sys.argv[3], "w"))
"""


def battlecards() -> dict[str, str]:
    """Competitor names as the service reads them from the demo battlecards (slug and the title's name)."""
    import re

    out: dict[str, str] = {}
    for path in sorted((ROOT / "demo" / "competitors").glob("*.md")):
        head = path.read_text().split("---")[1]
        slug = re.search(r"^competitor:\s*(\S+)", head, re.M)
        title = re.search(r"^title:\s*(.+)$", head, re.M)
        if slug is None:
            continue
        m = re.search(
            r"(?i)\b" + re.escape(slug.group(1)) + r"\w*(?:\s+[A-Z][\w&.-]*)*", title.group(1) if title else ""
        )
        name = m.group(0) if m else slug.group(1)[:1].upper() + slug.group(1)[1:]
        out[slug.group(1).lower()] = name
        out[name.lower()] = name
    return out


def _facts_of(note: dict[str, Any]) -> dict[str, Any]:
    return {
        "meeting_date": note["meeting_date"],
        "text": note["text"],
        "people": sorted({w.lower() for n in note["attendees"] for w in n.split()}),
        "own": sorted({"lumora"} | {w.lower() for w in note["account"].split() if len(w) > 2}),
    }


def rules_analyses(notes: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[list[str], dict[str, Any], Any]]]:
    """Each note under the current rules alone (no exemplars): its sentences, analysis and `objection_features`
    rows, as the app computes them (analyse_with_features)."""
    from services.core.embeddings import EmbeddingCache, get_embedder
    from services.pitch.deals.notes import NoteAnalyser, NoteFacts

    analyser = NoteAnalyser(EmbeddingCache(get_embedder).embed)
    comp = battlecards()
    out: dict[str, list[tuple[list[str], dict[str, Any], Any]]] = {}
    for name, rows in notes.items():
        out[name] = []
        for note in rows:
            f = _facts_of(note)
            facts = NoteFacts(date.fromisoformat(f["meeting_date"]), dict(comp), set(f["people"]), set(f["own"]))
            out[name].append(analyser.analyse_with_features(note["text"], facts))
    return out


def current_rows(notes: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Each note under the current rules, with the features the app computes (analyse_with_features)."""
    return {
        name: [
            {
                "sentences": texts,
                "objections": sorted({o["citation"]["sentence"] for o in analysis["objections"]}),
                "features": features,
            }
            for texts, analysis, features in rows
        ]
        for name, rows in rules_analyses(notes).items()
    }


def rows_at(commit: str, sets: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The notes under the rules of an old commit; features computed here with today's objection_features."""
    notes = [n for rows in sets.values() for n in rows]
    from services.core.embeddings import get_embedder
    from services.pitch.deals.notes import PROTOTYPES, NoteSentence, objection_features

    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(  # noqa: S603
            ["git", "archive", commit, "services"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)  # noqa: S603, S607
        request, answer = Path(tmp) / "request.json", Path(tmp) / "answer.json"
        request.write_text(json.dumps({"competitors": battlecards(), "notes": [_facts_of(n) for n in notes]}))
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", _EXTRACT, tmp, str(request), str(answer)], capture_output=True, check=True, cwd=tmp
        )
        extracted = json.loads(answer.read_text())
    embed = get_embedder().embed
    protos = {k: embed(list(v)) for k, v in PROTOTYPES.items()}
    out = []
    for row in extracted:
        vectors = embed(row["sentences"]) if row["sentences"] else np.zeros((0, 384), dtype=np.float32)
        feats = []
        for j, (text, vector) in enumerate(zip(row["sentences"], vectors, strict=True)):
            kinds = {
                k
                for k, key in (("pain", "pains"), ("commitment", "commitments"), ("next_step", "next_steps"))
                if j in row[key]
            }
            sims = {k: float(np.max(p @ vector)) for k, p in protos.items()}
            feats.append(objection_features(vector, sims, NoteSentence(j, text, row["sections"][j]), kinds))
        out.append(
            {
                "sentences": row["sentences"],
                "objections": row["objections"],
                "features": np.stack(feats) if feats else np.zeros((0, 404), dtype=np.float32),
            }
        )
    by_set, start = {}, 0
    for name, rows in sets.items():
        by_set[name], start = out[start : start + len(rows)], start + len(rows)
    return by_set


def dataset(rows: list[dict[str, Any]], notes: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    X: list[np.ndarray] = []
    y: list[int] = []
    for row, note in zip(rows, notes, strict=True):
        labels = note["labels"]["objections"]
        X.append(row["features"])
        y.extend(int(any(sentence_match(t, lab) for lab in labels)) for t in row["sentences"])
    return np.vstack(X), np.array(y)


def fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(X, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def counts(rows: list[dict[str, Any]], notes: list[dict[str, Any]], probs: list[np.ndarray], t: float) -> list[int]:
    """(true positives, false alarms, misses) of the rules plus every sentence at or above t."""
    tp = fp = fn = 0
    for row, note, p in zip(rows, notes, probs, strict=True):
        idx = set(row["objections"]) | {j for j, v in enumerate(p) if v >= t}
        hit, missed, alarms = score(
            [row["sentences"][j] for j in sorted(idx)], note["labels"]["objections"], "objections"
        )
        tp, fp, fn = tp + hit, fp + len(alarms), fn + len(missed)
    return [tp, fp, fn]


def probabilities(rows: list[dict[str, Any]], w: np.ndarray, b: float) -> list[np.ndarray]:
    return [1.0 / (1.0 + np.exp(-(r["features"] @ w + b))) for r in rows]


def choose_threshold(data: dict[str, list[dict[str, Any]]], notes: dict[str, list[dict[str, Any]]]) -> float:
    """Out of fold over the given sets: the lowest threshold from which up every threshold's added sentences are
    right at least MARGINAL_PRECISION of the time (2.0, adding nothing, when none is)."""
    base, tots = [0, 0, 0], {t: [0, 0, 0] for t in GRID}
    for inner in data:
        rest = [s for s in data if s != inner]
        w, b = fit(*_stack([dataset(data[s], notes[s]) for s in rest]))
        p = probabilities(data[inner], w, b)
        base = [x + y for x, y in zip(base, counts(data[inner], notes[inner], p, 2.0), strict=True)]
        for t in GRID:
            tots[t] = [x + y for x, y in zip(tots[t], counts(data[inner], notes[inner], p, t), strict=True)]

    def good(t: float) -> bool:
        gained, added = tots[t][0] - base[0], tots[t][0] + tots[t][1] - base[0] - base[1]
        return added <= 0 or gained / added >= MARGINAL_PRECISION

    ok = [t for t in GRID if all(good(u) for u in GRID if u >= t)]
    return min(ok) if ok else 2.0


def _stack(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.vstack([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def _pr(c: list[int]) -> str:
    tp, fp, fn = c
    return f"{tp / max(tp + fp, 1):.2f} / {tp / max(tp + fn, 1):.2f}"


def folds(blind: bool) -> None:
    notes = {s: load(ROOT / "evals" / "notes" / f"{s}.jsonl") for s in SETS}
    if blind:
        versions = {c: rows_at(c, notes) for c in dict.fromkeys(BLIND.values())}
    else:
        versions = {"current": current_rows(notes)}
    print("fold (held out)  rules            P / R        + classifier P / R   threshold")
    for held in SETS:
        data = versions[BLIND[held] if blind else "current"]
        train = {s: data[s] for s in SETS if s != held}
        t = choose_threshold(train, notes)
        w, b = fit(*_stack([dataset(train[s], notes[s]) for s in train]))
        p = probabilities(data[held], w, b)
        label = BLIND[held] if blind else "current"
        print(
            f"{held:<17}{label:<17}{_pr(counts(data[held], notes[held], p, 2.0)):<13}"
            f"{_pr(counts(data[held], notes[held], p, t)):<21}{t}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blind", action="store_true", help="each fold's base rules from before its set was read")
    args = parser.parse_args()
    folds(args.blind)


if __name__ == "__main__":
    main()
