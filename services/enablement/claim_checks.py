"""Claim-level pieces of short-answer grading: clauses, the reference clause an answer clause speaks to, and the
calibrated combiner that turns a handful of generic measurements into a credit.

Nothing here is fitted to one catalogue: clauses are cut at punctuation and connectives, aligned by the content
words they share, and the combiner is a logistic regression over seven measurements that mean the same on any
product's material. Its weights were fitted on half A (odd-numbered questions) of the demo product's labelled
answers (evals/short_answer_cases.yaml, evals/grading/demo_answers.jsonl) and of the shared Supabase set's by

    python evals/run_grading_eval.py --fit

and are reported on their half B and on every other set, which the fit never sees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.enablement.material import content_words

# Clause boundaries: sentence and clause punctuation, and the connectives that join two claims ("and", "while",
# "rather than"). Finer than the key-point split in grading.py: a wrong answer usually alters one clause of many.
_FINE = re.compile(
    r"(?<=[.;:!?])\s+|,\s+|;\s*|:\s+|\s+[-\u2014]\s+"
    r"|\s+(?:and(?!\s+(?:a|one)\s+half\b)|but|while|so|because|which|though|although|whereas|whilst|rather than"
    r"|instead of|plus)\s+",
    re.I,
)
_PAREN = re.compile(r"\(([^()]*)\)")


def fine_clauses(text: str) -> list[str]:
    """The text cut into clauses, parentheses dropped: "Syncs run every 15 minutes on Business and every 5 on
    Enterprise" -> ["Syncs run every 15 minutes on Business", "every 5 on Enterprise"]."""
    flat = " ".join(_PAREN.sub(" ", text).split())
    parts = [p.strip(" ,.;:()\"'") for p in _FINE.split(flat) if p]
    return [p for p in parts if p] or [flat]


def _words(text: str) -> set[str]:
    return {w for w in content_words(text) if not w[0].isdigit()}


def align(clause: str, candidates: Sequence[str]) -> tuple[str | None, float]:
    """The candidate clause that shares the most content words (figures aside) with `clause`, and how strongly:
    shared words plus the share of the shorter clause they make up (2.0 or more: at least two words, or the whole
    of a one-word clause). None when nothing is shared."""
    mine = _words(clause)
    best, strength = None, 0.0
    for candidate in candidates:
        score = _strength(mine, _words(candidate))
        if score > strength:
            best, strength = candidate, score
    return best, strength


def _strength(mine: set[str], theirs: set[str]) -> float:
    """Shared content words plus the share of the shorter clause they make up (0.0 when nothing is shared)."""
    shared = len(mine & theirs)
    return shared + shared / max(1, min(len(mine), len(theirs))) if shared else 0.0


ALIGNED = 2.0  # alignment strength from which two clauses speak of the same thing


def aligned_pairs(answer: str, reference: str, margin: float = 0.0) -> list[tuple[str, list[str]]]:
    """Each clause of the answer with the reference clauses it speaks of: those aligned at least `ALIGNED` and
    within `margin` of its best alignment (two reference clauses that share its words equally are both its
    match: "a recovery point objective of 5 minutes" and "a recovery time objective of 30 minutes")."""
    claims = fine_clauses(reference)
    pairs: list[tuple[str, list[str]]] = []
    for clause in fine_clauses(answer):
        mine = _words(clause)
        scored = [(score, c) for c in claims if (score := _strength(mine, _words(c)))]
        best = max((s for s, _ in scored), default=0.0)
        if best >= ALIGNED:
            pairs.append((clause, [c for s, c in scored if s >= best - margin]))
    return pairs


# General English antonyms (not taken from any product's material): an answer clause that says one where the
# reference clause it speaks of says the other, with the same negation, states the opposite claim. Particles
# ("up", "in", "with") are left out: "up to 24 hours" and "if your endpoint is down" are not opposites.
_ANTONYM_PAIRS = (
    "increase decrease|increase reduce|rise fall|grow shrink|raise lower|higher lower|more less|more fewer"
    "|most least|maximum minimum|above below|over under|faster slower|fast slow|quick slow|early late"
    "|earlier later|before after|begin end|shorten lengthen|shorter longer|short long|small large"
    "|smaller larger|cheap expensive|free paid|include exclude|allow block|allow deny|allow prevent"
    "|permit forbid|enable disable|accept reject|add remove|always never|all none|automatic manual"
    "|automatically manually|single multiple|same different|inside outside|internal external|public private"
    "|open closed|synchronous asynchronous|synchronously asynchronously|parallel sequential"
    "|parallel sequentially|simultaneously sequentially|online offline|local global|static dynamic"
    "|temporary permanent|optional required|optional mandatory|explicit implicit|import export|win lose"
    "|gain loss|success failure|succeed fail|strong weak|upgrade downgrade"
    "|together separately|combined separate|everything nothing|everyone nobody|available unavailable"
    "|only all|only every|only any"  # "serves only reads" against "serves all requests"
    "|stay move|original new|own shared|own share|isolated shared|read write|start stop"
    "|oldest newest|earliest latest|upload download|continue stop|continu stop"  # "continues": continu
)
# "every 60 seconds", "every five mins", "once every other day": how often, never the "every" that "only" is the
# opposite of. A bare "every day" stays: "only on Sundays" against "every day" is the opposite claim.
_FREQUENCY = re.compile(
    r"\bevery\s+(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|"
    r"forty-?five|sixty|other|few|couple of)\s*(?:seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|nights?|"
    r"weeks?|months?|quarters?|years?)\b",
    re.I,
)
ANTONYMS: dict[str, frozenset[str]] = {}
for _pair in _ANTONYM_PAIRS.split("|"):
    _a, _b = _pair.split()
    ANTONYMS[_a] = ANTONYMS.get(_a, frozenset()) | {_b}
    ANTONYMS[_b] = ANTONYMS.get(_b, frozenset()) | {_a}
_INFLECTION = re.compile(r"(?:ing|ed|es|s|d)$")
_NEGATION = re.compile(r"\b(?:not|no|never|none|cannot|without)\b|n't\b", re.I)


def _forms(text: str) -> set[str]:
    """Words with their inflections cut ("lengthens" -> "lengthen", "shortening" -> "shorten", "shorte")."""
    out = set()
    for word in re.findall(r"[a-z]+", text.lower()):
        out.add(word)
        if len(word) > 4:
            out.add(_INFLECTION.sub("", word))
        if word.endswith("ing") and len(word) > 5:
            out.add(word[:-3] + "e")
        if word.endswith("ed") and len(word) > 4:
            out.add(word[:-1])
    return out


def negated(text: str) -> bool:
    """An odd number of negations: "is not encrypted" is negated, "is never not encrypted" is not."""
    return len(_NEGATION.findall(text)) % 2 == 1


def antonym_conflict(answer: str, reference: str) -> bool:
    """Some clause of the answer says the antonym of a word of the reference clause it speaks of, with the same
    negation ("typically lengthens tests by 20 to 40 percent" for "typically shortening tests by 20 to 40
    percent", "runs in a single availability zone" for "runs across multiple availability zones"); "is not
    slower" for "is faster" is left alone."""
    for clause, matches in aligned_pairs(answer, reference):
        mine = _forms(_FREQUENCY.sub(" ", clause))
        for said in matches:
            theirs = _forms(_FREQUENCY.sub(" ", said))
            if negated(clause) != negated(said):
                continue
            if any(ANTONYMS.get(word, frozenset()) & (theirs - mine) for word in mine - theirs):
                return True
    return False


# A clause of the answer that copies most of the reference clause it speaks of (this share of that clause's content
# words, and at least NEAR_COPY_WORDS of them) and changes only a word or two is read word by word: a wrong answer
# built on the reference keeps its wording and alters one claim; a right paraphrase in the rep's own words rarely
# keeps this much of one clause.
NEAR_COPY_SHARE = 0.6
NEAR_COPY_WORDS = 3
NEAR_COPY_CHANGED = 2
# A negation flips a claim only when the clause is this close a copy ("unused teams can be deleted" for "teams
# cannot be deleted"); looser paraphrases negate in their own ways ("can no longer decrypt" for "loses the
# ability to decrypt").
NEGATION_COPY_SHARE = 0.75
# Words that negate the next few words: negations, and verbs that say something stops or is missing.
_NEGATOR = re.compile(
    r"^(?:not|no|never|none|nothing|nobody|cannot|lose|loses|lost|losing|lack|lacks|lacking|fail|fails|failed"
    r"|stop|stops|stopped|unable)$|n't$",
    re.I,
)
_TOKEN = re.compile(r"[A-Za-z][\w'\-]*(?:\.\w+)*")
# A name in code or a constant ("JOB_TIMED_OUT", "queue.pause", "retryLimit") is one token and no word a negator
# bears on: "stopped with JOB_TIMED_OUT" says nothing against a "job".
_IDENTIFIER = re.compile(r"[_.]|[a-z][A-Z]")


def _negations(text: str) -> tuple[int, set[str]]:
    """How many negators the clause holds, and the content words within two words after one ("does not
    autocapture every click": autoc, every; "is unable to restore": resto)."""
    tokens = _TOKEN.findall(text)
    count, reach = 0, set()
    for i, token in enumerate(tokens):
        if _NEGATOR.search(token):
            count += 1
            for following in tokens[i + 1 : i + 3]:
                if not _IDENTIFIER.search(following):
                    reach |= _words(following)
    return count, reach


def negation_count(text: str) -> int:
    """How many negators a clause holds ("cannot", "never", "doesn't", "stops")."""
    return _negations(text)[0]


def _near_copies(answer: str, reference: str, share: float) -> list[tuple[str, str, set[str], set[str]]]:
    """(answer clause, the reference clause it copies, its words, that clause's words) for every clause of the
    answer that keeps at least `share` of its aligned reference clause's content words."""
    claims = fine_clauses(reference)
    out = []
    for clause in fine_clauses(answer):
        said, strength = align(clause, claims)
        if said is None or strength < ALIGNED:
            continue
        mine, theirs = _words(clause), _words(said)
        if len(theirs) >= NEAR_COPY_WORDS and len(mine & theirs) / len(theirs) >= share:
            out.append((clause, said, mine, theirs))
    return out


def swapped_term(answer: str, reference: str) -> bool:
    """A near copy of a reference clause in which a word or two of it are replaced by words of another clause of
    the reference, while the replaced word turns up elsewhere in the answer: two things the reference tells
    apart, swapped ("federated search returns a separate list per query, while multi-search returns a single
    list" for the other way round; "a snapshot: snapshots are not bound to a version ... dumps only work with
    the same version")."""
    claims = fine_clauses(reference)
    clauses = fine_clauses(answer)
    for clause, said, mine, theirs in _near_copies(answer, reference, NEAR_COPY_SHARE):
        added, missing = mine - theirs, theirs - mine
        if not added or not missing or len(added) > NEAR_COPY_CHANGED or len(missing) > NEAR_COPY_CHANGED:
            continue
        others = set().union(*(_words(c) for c in claims if c != said)) - theirs
        rest = set().union(*(_words(c) for c in clauses if c != clause))
        if added & others and missing & rest:
            return True
    return False


def flipped_negation(answer: str, reference: str) -> bool:
    """A close copy of a reference clause with the other negation, bearing on a word both say ("Lumora autocaptures
    every click" for "Lumora does not autocapture every click"; "teams can be deleted" for "cannot be deleted")."""
    for clause, said, mine, theirs in _near_copies(answer, reference, NEGATION_COPY_SHARE):
        (n_mine, reach_mine), (n_theirs, reach_theirs) = _negations(clause), _negations(said)
        if n_mine % 2 == n_theirs % 2:
            continue  # both negate, or neither: "can no longer decrypt" and "loses the ability to decrypt"
        # The negation must bear on a word both clauses say ("cannot be deleted" / "can be deleted"), not on one of
        # its own ("won't train until there are 300" for "needs at least 300").
        if (reach_mine if n_mine % 2 else reach_theirs) & mine & theirs:
            return True
    return False


@dataclass(frozen=True, slots=True)
class AnswerMeasures:
    """What the combiner reads, each in the same units on any material."""

    coverage: float  # mean key-point credit (0..1)
    weakest_point: float  # the least-credited key point's credit (0..1): a right answer earns every point
    weakest_claim: float  # cosine of the reference clause the answer matches least well
    similarity: float  # cosine of the whole answer and the whole reference
    figure_slot: bool  # a clause states a figure of a kind its aligned reference clause states, and another value
    negation_slot: bool  # a clause negates what its aligned reference clause asserts, or the other way round
    # The least-covered key point's cosine to its closest stretch of the answer (a clause, two clauses running, a
    # sentence, or the whole), unclipped: the point credits cut cosines at a floor, and a paraphrase in other
    # words often sits just under it ("only guards direct database and pooler traffic" for "only applies to
    # Postgres and its pooler").
    weakest_point_cosine: float

    def vector(self) -> tuple[float, ...]:
        return (
            self.coverage,
            self.weakest_point,
            self.weakest_claim,
            self.similarity,
            float(self.figure_slot),
            float(self.negation_slot),
            self.weakest_point_cosine,
        )


MEASURES = (
    "coverage",
    "weakest_point",
    "weakest_claim",
    "similarity",
    "figure_slot",
    "negation_slot",
    "weakest_point_cosine",
)


@dataclass(frozen=True, slots=True)
class Combiner:
    """How likely the answer is right, read from its measures: logistic(bias + weights . measures), fitted with
    soft targets (right 1, partly right 0.5, wrong 0). Its bands (`correct_at`, `partial_at`) were chosen on the
    fitting half; `full_at` is where full credit starts (a reference answer graded against itself reads about
    0.97, never 1). `credit` maps the reading onto the grade's published scale, piece by piece, so that the
    combiner's bands land on the grade's bands and the credit keeps its meaning for scores and pass marks."""

    bias: float
    weights: tuple[float, ...]
    correct_at: float
    partial_at: float
    full_at: float

    def probability(self, measures: AnswerMeasures) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, measures.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def credit(self, measures: AnswerMeasures, correct_at: float, partial_at: float) -> float:
        p = self.probability(measures)
        if p >= self.correct_at:
            return correct_at + (1 - correct_at) * min(1.0, (p - self.correct_at) / (self.full_at - self.correct_at))
        if p >= self.partial_at:
            return partial_at + (correct_at - partial_at) * (p - self.partial_at) / (self.correct_at - self.partial_at)
        return partial_at * p / self.partial_at
