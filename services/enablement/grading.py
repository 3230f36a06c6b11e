"""Server-side grading. Choice questions by a published partial-credit rule; short answers by meaning, with the
facts checked.

A short answer is graded against its key points: the claims a rep must make, a few words each (authored, or
derived from the reference answer by `claims_of`). Each key point earns credit from the answer clause closest
to it in meaning (cosine between `point_floor` and `point_ceiling`, scaled to 0..1), or in full when the answer
holds most of its content words; a key point with a figure is credited in full when the answer states the same
figure in any wording ("two weeks" for "14 days", "under a minute" for "60 seconds").

Meaning alone cannot tell a paraphrase from a plausible wrong answer on the same topic, so checks that carry
over to any material turn a wrong fact into no credit, whatever the wording:
- `figure`: the answer states a quantity of a kind the reference states (a duration, a percentage, a size, an
  amount, a count) and matches none of the reference's main figures (figures in parentheses are asides: "14 days
  (Pro gets 7)" does not make "7 days" right); or a clause of the answer gives the reference clause it speaks of
  another figure, one that belongs to another clause (figures swapped between clauses) or to none, with the
  clause's own figure not given (`misplaced_figure`);
- `polarity`: the reference opens with "Yes" or "No" and the answer opens with the opposite ("It doesn't",
  "They do", "No,");
- `opposite`: the answer uses the negated form of a word of the reference ("symmetric" for "asymmetric",
  "encrypted" for "unencrypted"), says what the reference rules out ("before that it was round-robin",
  "instead of", "rather than") more closely than anything the reference asserts, or says a general English
  antonym of a word of the reference clause it speaks of ("lengthens" for "shortening", "single" for
  "multiple", "only" for "every": `claim_checks.antonym_conflict`), or copies a reference clause nearly word
  for word but swaps in a word of another of its clauses, the two things the reference tells apart
  (`swapped_term`), or negates a word that clause asserts (`flipped_negation`).

The credit itself comes from a calibrated combiner (`claim_checks.Combiner`), a logistic regression over seven
measures that mean the same on any material: the mean key-point credit, the weakest key point's credit (a right
answer earns every point), the cosine of the reference clause the answer matches least well, the whole answer's
cosine to the reference (given the rest, a wrong answer that reuses the reference's words reads high here), two
clause-level checks: a clause that states another value for a figure of its aligned reference clause
(`slot_conflicts`: "every 5 minutes on Business" for "every 15 minutes on Business" when both figures appear in
the reference), or negates it; and the weakest key point's unclipped cosine to its closest stretch of the answer
(a clause, two clauses running, a sentence). Its reading is mapped onto the published bands (correct at 0.6,
partly right at 0.3), so a right answer still earns 1.0. An answer it grades wrong with such a clause is a
`figure` or `opposite` contradiction. Its weights and bands were fitted on half A of the demo product's labelled
answers and of the shared Supabase set's, and are reported on their half B and on every other set by `make eval`
(`python evals/run_grading_eval.py --fit` refits them, `--ablate` refits without each measure). With
`combiner=None` the credit is the mean key-point credit (the rules alone, thresholds chosen by `--tune`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.enablement.claim_checks import (
    ALIGNED,
    AnswerMeasures,
    Combiner,
    align,
    aligned_pairs,
    antonym_conflict,
    fine_clauses,
    flipped_negation,
    negated,
    negation_count,
    swapped_term,
)
from services.enablement.material import content_words

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True, slots=True)
class ShortAnswerPolicy:
    point_floor: float = 0.4  # cosine at or below which a clause says nothing of the key point
    point_ceiling: float = 0.7  # cosine at or above which it says the key point in full
    point_words: float = 0.5  # share of a key point's content words that credits it in full
    similarity_weight: float = 0.0  # share of credit from similarity to the whole reference (0: key points only)
    similarity_floor: float = 0.25
    similarity_ceiling: float = 0.75
    correct_at: float = 0.6  # credit at or above: correct
    partial_at: float = 0.3  # credit at or above: partly right
    check_figures: bool = True
    check_polarity: bool = True
    check_opposites: bool = True
    # The calibrated combiner (claim_checks.Combiner): when set, the credit is its reading of the answer's measures
    # instead of the mean key-point credit; the fact checks above still turn a wrong fact into 0.
    combiner: Combiner | None = None


# Fitted on half A of the demo sets and of the shared Supabase set (a second product, a second writer's answers) by
# `python evals/run_grading_eval.py --fit` (which prints this literal): soft targets (right 1, partly right 0.5,
# wrong 0) over the answers no fact check rejects, L2 1.0; its bands chosen on the same half (at least 0.1 apart),
# maximising right+wrong accuracy plus 0.3 x partial accuracy averaged over neighbouring bands (each within 0.05);
# full credit from the 5th percentile of the half's reference answers graded against themselves.
COMBINER = Combiner(
    bias=-0.985,
    weights=(1.969, 1.389, 1.762, -1.016, -0.017, -0.733, 1.179),
    correct_at=0.5,
    partial_at=0.4,
    full_at=0.95,
)
POLICY = ShortAnswerPolicy(combiner=COMBINER)


@dataclass(frozen=True, slots=True)
class ShortAnswerGrade:
    credit: float
    similarity: float
    covered: tuple[bool, ...]  # per key point: credited (at least half its credit)
    point_credit: tuple[float, ...]
    contradiction: str | None  # "figure" | "polarity" | "opposite" when a stated fact is wrong
    correct: bool  # credit at or above the policy's `correct_at`


@dataclass(frozen=True, slots=True)
class ChoiceGrade:
    credit: float
    correct: bool
    right: int  # keyed options chosen
    wrong: int  # unkeyed options chosen


def grade_choice(chosen: set[int], answers: Sequence[int]) -> ChoiceGrade:
    """Single choice: the key or nothing. Multiple answers: (keyed options chosen - wrong options chosen) / keyed
    options, floored at 0, so two of three keys and no wrong option earn 2/3 and choosing every option earns 0."""
    keys = set(answers)
    right, wrong = len(chosen & keys), len(chosen - keys)
    credit = max(0.0, (right - wrong) / len(keys)) if keys else 0.0
    return ChoiceGrade(round(credit, 3), chosen == keys, right, wrong)


# ----------------------------------------------------------------------------------------------- quantities
_TOKEN = re.compile(r"\$?\d[\d,]*(?:\.\d+)?%?|[a-z]+(?:'[a-z]+)?|[%$]", re.I)
_SMALL = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
_WORD_NUMBERS: dict[str, float] = {
    w: float(i) for i, w in enumerate((_SMALL + "seventeen eighteen nineteen twenty").split())
}
_WORD_NUMBERS.update(
    {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
    | {"once": 1, "couple": 2, "dozen": 12, "half": 0.5, "single": 1, "double": 2, "twice": 2, "triple": 3}
)
# Words before a bare number that takes the unit of the figure before it ("within 30 minutes ... within fifteen").
_ELLIPSIS = frozenset("within after every in under over to and or than".split())  # noqa: SIM905
# ... when nothing it counts follows: the end, a pause, or a function word ("within fifteen on Enterprise"; not
# "90 days and 1,000 outcomes").
_ELLIPSIS_NEXT = frozenset("on for in at with and or but if when after before the a an of to by".split())  # noqa: SIM905
_PAUSE = re.compile(r"[,.;:)!?]")
_SENTENCE_END = re.compile(r"[.;!?]\s")
_UNITS_WORDS = frozenset("one two three four five six seven eight nine".split())  # noqa: SIM905
_SCALE = {"hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9, "k": 1e3, "m": 1e6, "bn": 1e9}
_UNIT_TABLE: dict[str, dict[tuple[str, ...], float]] = {
    "time": {
        ("ms", "millisecond", "milliseconds"): 0.001,
        ("second", "seconds", "sec", "secs", "s"): 1,
        ("minute", "minutes", "min", "mins"): 60,
        ("hour", "hours", "hr", "hrs", "h"): 3600,
        ("day", "days"): 86400,
        ("week", "weeks"): 604800,
        ("fortnight", "fortnights"): 1209600,
        ("month", "months"): 2629800,
        ("quarter", "quarters"): 7889400,
        ("year", "years", "yr", "yrs"): 31557600,
    },
    "percent": {("%", "percent", "pct"): 1},
    "bytes": {
        ("kb", "kilobyte", "kilobytes"): 1e3,
        ("mb", "megabyte", "megabytes"): 1e6,
        ("gb", "gig", "gigs", "gigabyte", "gigabytes"): 1e9,
        ("tb", "terabyte", "terabytes"): 1e12,
        ("kib",): 2**10,
        ("mib",): 2**20,
        ("gib",): 2**30,
        ("tib",): 2**40,
        ("pb", "petabyte", "petabytes"): 1e15,
    },
    "money": {("$", "usd", "dollars", "dollar", "eur", "euros"): 1},
    "ratio": {("x", "times", "fold"): 1},  # "a 2x multiplier", "ten times the disk space"
}
_UNITS = {
    name: (dim, factor) for dim, table in _UNIT_TABLE.items() for names, factor in table.items() for name in names
}
_ABBREVIATED = {"s", "h", "min", "%", "$", "x"}  # units that only follow a digit ("5 s"), never a word ("a s")
_FRACTIONS = {"half": 0.5, "third": 1 / 3, "quarter": 0.25, "tenth": 0.1}  # "a quarter of an hour"
# What "N and a half" may count: a unit in the plural, a scale, a percentage ("two and a half days", "... million").
_HALF_OF = re.compile(
    r"(?:seconds|minutes|mins|hours|hrs|days|weeks|months|years|percent|hundred|thousand|million|billion"
    r"|gigabytes|terabytes|megabytes|dollars|euros|times)$"
)
_RANGE = {"to", "and", "or"}  # "5 to 15 minutes", "between 5 and 15 minutes": the first takes the second's unit
_FILLER = {"of", "full", "more", "extra", "whole", "calendar", "business", "working", "additional", "the"}
# A number that is part of a name, not a quantity: "SOC 2", "SCIM 2.0", "TLS 1.3", "Type 2", "Tier 3".
_NAME_BEFORE = re.compile(r"^(?:[A-Z]{2,}[A-Za-z]*|Type|Tier|Level|Version|Stage|Phase|Step|Gen|v)$")


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float
    dim: str  # time | percent | bytes | money | count | ratio, or count/time | money/time (a rate, per second)

    def same(self, other: Quantity) -> bool:
        """Equal in base units: percentages to the hundredth of a point (99.9% is not 99.95%), durations within 3%
        (three months is 90 days, a year 52 weeks), everything else within 1%."""
        if self.dim != other.dim:
            return False
        if self.dim == "percent":
            return abs(self.value - other.value) <= 0.005
        scale = max(abs(self.value), abs(other.value), 1e-9)
        # A rate said in another unit is rounded as people round it ("about 16 a second" for 1,000 a minute).
        tolerance = 0.03 if self.dim == "time" else 0.05 if self.dim.endswith("/time") else 0.01
        return abs(self.value - other.value) <= tolerance * scale


def _digits(token: str) -> float | None:
    try:
        return float(token.replace(",", "").rstrip("%").lstrip("$"))
    except ValueError:
        return None


# Numbers run together with slashes before one unit: "7/30/90-day targets", "75/90/100 percent" (each takes the
# unit); two that read as a fraction before a unit are one figure ("1/2 hour" is half an hour).
_SLASH_RUN = re.compile(r"(?<![\w/.])(\d[\d,]*(?:\.\d+)?(?:/\d[\d,]*(?:\.\d+)?)+)(\s*)(%|[A-Za-z]+\b)")


def _spread_unit(match: re.Match[str]) -> str:
    numbers, space, unit = match.group(1).split("/"), match.group(2), match.group(3)
    if unit.lower() not in _UNITS:
        return match.group(0)
    values = [v for v in (_digits(n) for n in numbers) if v is not None]
    if len(numbers) == len(values) == 2 and 0 < values[0] < values[1] <= 10:  # "1/2 hour" is half an hour
        return f"{values[0] / values[1]:g}{space}{unit}"
    return ", ".join(f"{n}{space}{unit}" for n in numbers)


_PER = frozenset(("per", "a", "an", "each", "every"))
# Between a figure and its "per day" only what it counts may stand: a preposition or a time word ends the search
# ("5 engineers for a month", "3 reviewers within a day" are no rates), and so does a time said as a point ("5
# people a year ago", "50 seats a month later").
_NOT_COUNTED = frozenset(
    {"for", "within", "in", "after", "before", "over", "during", "by", "until", "since", "from", "to", "of", "on"}
    | {"at", "ago", "than"}
)
_POINT_IN_TIME = frozenset(("ago", "later", "earlier", "before", "after", "old"))


def _per_time(low: Sequence[str], flat: str, matches: Sequence[re.Match[str]], j: int) -> tuple[float, int] | None:
    """(seconds, index after it) of the time a count or amount ending before token j is counted per: "3,000 webhook
    calls per minute", "$5 a month", "$5 per seat per month", "400/s"; at most three words of what is counted
    between them."""
    k, end = j, min(j + 5, len(low))
    while k < end:
        if _PAUSE.search(flat[matches[k - 1].end() : matches[k].start()]):
            return None
        timed = low[k] in _UNITS and _UNITS[low[k]][0] == "time"
        if "/" in flat[matches[k - 1].end() : matches[k].start()] and timed:
            return _UNITS[low[k]][1], k + 1
        if low[k] in _PER and k + 1 < len(low):
            unit, between = low[k + 1], flat[matches[k].end() : matches[k + 1].start()]
            if unit in _UNITS and _UNITS[unit][0] == "time" and unit not in _ABBREVIATED and not _PAUSE.search(between):
                point = k + 2 < len(low) and low[k + 2] in _POINT_IN_TIME
                return None if point else (_UNITS[unit][1], k + 2)
            k += 2  # "per seat": what else it is counted per; keep looking for the time
            continue
        if low[k][0].isdigit() or low[k] in _UNITS or low[k] in _WORD_NUMBERS or low[k] in _SCALE:
            return None
        if low[k] in _NOT_COUNTED:
            return None
        k += 1
    return None


def _counted(value: float, dim: str, per: tuple[float, int] | None) -> Quantity:
    """A count or amount, or its rate per second when it is counted per unit of time."""
    return Quantity(value / per[0], f"{dim}/time") if per else Quantity(value, dim)


def quantities(text: str) -> list[Quantity]:
    """The figures a text states, in base units: "48 hours" and "two days" are the same Quantity."""
    flat = _SLASH_RUN.sub(_spread_unit, text.replace("-", " "))
    matches = list(_TOKEN.finditer(flat))
    toks = [m.group(0) for m in matches]
    low = [t.lower() for t in toks]
    # A number glued to the letters before it is part of a name ("P0", "S3", "v2", "ISO27001"), not a figure.
    named = {
        i for i, m in enumerate(matches) if m.start() and m.group(0)[0].isdigit() and flat[m.start() - 1].isalpha()
    }
    # ... and so is one glued to letters after it that are no unit or scale ("24x7", "5xx", "2FA"; not "10k", "5GB").
    named |= {
        i
        for i, m in enumerate(matches[:-1])
        if m.group(0)[0].isdigit()
        and matches[i + 1].start() == m.end()
        and low[i + 1][0].isalpha()
        and low[i + 1] not in _UNITS
        and low[i + 1] not in _SCALE
        and low[i + 1] not in ("st", "nd", "rd", "th")
    }
    named |= {  # "24x7"
        i
        for i in range(len(matches) - 2)
        if low[i + 1] == "x" and matches[i + 1].start() == matches[i].end() == matches[i + 2].start() - 1
    }
    out: list[Quantity] = []
    ended = -9  # the token index after the last figure: "400 actions a second" is a rate, not a second figure
    i, seen = 0, 0
    measured: tuple[str, float] | None = None  # the dimension and unit of the last figure given with a unit
    while i < len(toks):
        if len(out) > seen:
            ended, seen = i, len(out)
        if i and _SENTENCE_END.search(flat[matches[i - 1].end() : matches[i].start()]):
            measured = None  # a unit said in one sentence holds for a bare number of the same sentence only
        tok, word = toks[i], low[i]
        if i in named:
            i += 1
            continue
        if word in _FRACTIONS and low[i + 1 : i + 2] == ["of"]:
            k = i + 2 + (low[i + 2 : i + 3] in (["a"], ["an"], ["the"]))
            unit = low[k] if k < len(toks) else None
            if unit in _UNITS and unit not in _ABBREVIATED and _UNITS[unit][0] == "time":
                out.append(Quantity(_FRACTIONS[word] * _UNITS[unit][1], "time"))
                i = k + 1
                continue
        digit = tok[0].isdigit() or tok[0] == "$"
        value = _digits(tok) if digit else _WORD_NUMBERS.get(word)
        start = i  # the figure's first word: the words before it are read from here
        if (
            not digit
            and value is not None
            and value >= 20
            and i + 1 < len(toks)
            and low[i + 1] in _UNITS_WORDS
            and flat[matches[i].end() : matches[i + 1].start()] == " "
        ):
            value += _WORD_NUMBERS[low[i + 1]]  # "twenty-five" (the hyphen is a space here); not "twenty, one"
            i += 1
        if value is None and word in ("a", "an") and i + 1 < len(toks):
            nxt = low[i + 1]
            fraction = nxt in _FRACTIONS and low[i + 2 : i + 3] == ["of"]  # "a quarter of an hour", below
            rate = i - ended <= 2 and out[-1].dim in ("count", "money")  # "400 actions a second", "$5 a month"
            # "twice a day", "four times a week": how often, never a duration of a day
            often = i > 0 and low[i - 1] in ("once", "twice", "thrice", "times")
            one_unit = nxt in _UNITS and nxt not in _ABBREVIATED and not fraction and not rate and not often
            value = 1.0 if one_unit or (nxt in _SCALE and nxt != "k") else None  # "a day"; "a million"
        if value is None:
            i += 1
            continue
        if digit and start > 0 and _NAME_BEFORE.match(toks[start - 1]) and low[start - 1] not in _UNITS:
            i += 1
            continue
        j = i + 1
        if low[j : j + 3] in (["and", "a", "half"], ["and", "one", "half"]) and _HALF_OF.match(
            " ".join(low[j + 3 : j + 4])
        ):
            # "ninety-nine and a half percent", "two and a half days", "2 and a half million"; not "5 and a
            # half-day workshop" (a singular unit) or "5 and a half-price seat"
            value += 0.5
            j += 3
        # "k" and "M" scale a digit only ("10k", "1M"); "5 m" may be minutes or metres.
        while (
            j < len(toks)
            and low[j] in _SCALE
            and (digit or low[j] not in ("k", "m", "bn"))
            and (toks[j] != "m" or matches[j].start() == matches[j - 1].end())
        ):
            value *= _SCALE[low[j]]
            j += 1
        if word == "half" and j < len(toks) and low[j] in ("a", "an"):
            j += 1
        if tok.endswith("%") or (j < len(toks) and low[j] in ("%", "percent", "pct")):
            out.append(Quantity(value, "percent"))
            i = j + (0 if tok.endswith("%") else 1)
            continue
        if tok.startswith("$") or (i > 0 and toks[i - 1] == "$"):
            per = _per_time(low, flat, matches, j)
            out.append(_counted(value, "money", per))
            i = per[1] if per else j
            continue
        if j < len(toks) and "/" in flat[matches[j - 1].end() : matches[j].start()]:
            per = _per_time(low, flat, matches, j)  # "400/s", "20/min"
            if per:
                out.append(_counted(value, "count", per))
                i = per[1]
                continue
        k = j
        while k < len(toks) and k < j + 2 and low[k] in _FILLER:
            k += 1
        unit = low[k] if k < len(toks) else None
        if unit in _RANGE and k + 2 < len(toks) and (low[k + 1][0].isdigit() or low[k + 1] in _WORD_NUMBERS):
            after = low[k + 2]  # "5 to 15 minutes": this figure is in minutes too
            if after in _UNITS and (low[k + 1][0].isdigit() or after not in _ABBREVIATED):
                out.append(Quantity(value * _UNITS[after][1], _UNITS[after][0]))
                i = k + 1
                continue
        if unit in _UNITS and (digit or unit not in _ABBREVIATED):
            dim, factor = _UNITS[unit]
            if low[k + 1 : k + 4] == ["and", "a", "half"] and dim == "time":
                value += 0.5  # "an hour and a half", "a week and a half"
                k += 3
            if unit in ("day", "days") and {"working", "business"} & set(low[j:k]):
                factor = 86400.0 * 7 / 5  # "10 business days" span two calendar weeks, as "two working weeks" do
            out.append(Quantity(value * factor, dim))
            measured = (dim, factor)
            i = k + 1
            continue
        alone = word in ("a", "an", "one", "once", "single", "double", "twice", "triple", "half") and j == i + 1
        bare = (
            j >= len(toks)
            or low[j] in _ELLIPSIS_NEXT
            or bool(_PAUSE.search(flat[matches[j - 1].end() : matches[j].start()]))
        )
        year = digit and value.is_integer() and 1900 <= value <= 2100 and "," not in tok
        if measured and start and low[start - 1] in _ELLIPSIS and not alone and bare and not year:
            # "within one working day, and low-priority questions within two": the unit said once holds for both.
            out.append(Quantity(value * measured[1], measured[0]))
        elif digit or not alone:
            # "one" alone is too often a pronoun to count; "a million" counts. A count per unit of time is a rate:
            # "3,000 calls per minute" is "50 a second" and not "3,000 per hour".
            per = _per_time(low, flat, matches, j)
            out.append(_counted(value, "count", per))
            measured = None  # "30 days ... 5 seats and up to 50": the count's own noun holds after it
            j = per[1] if per else j
        i = j
    return out


_PAREN = re.compile(r"\(([^()]*)\)")


_NAMED_NUMBER = re.compile(r"\b([A-Z]{2,}[A-Za-z]*|Type|Tier|Level|Version|Gen)\s+(v?\d+(?:\.\d+)*|I{1,3}V?|IV)\b")


_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4"}


def _named_numbers(text: str) -> dict[str, set[str]]:
    """ "SCIM 2.0", "TLS 1.3", "SOC 2", "Type II": name -> the numbers given with it."""
    found: dict[str, set[str]] = {}
    for name, number in _NAMED_NUMBER.findall(text):
        if number == "I" and name not in ("Type", "Tier", "Level", "Version", "Gen"):
            continue  # "it supports SCIM I believe": the pronoun
        number = _ROMAN.get(number, number)  # "Type II" is "Type 2"
        found.setdefault(name.lower(), set()).add(number.lower().removesuffix(".0"))
    return found


def figure_conflict(answer: str, reference: str) -> bool:
    """The answer states a figure of a kind the reference states, and none of the reference's main figures; or
    gives a named standard or version another number than the reference does ("SCIM 1.1" for "SCIM 2.0")."""
    wanted_names = _named_numbers(reference)
    for name, numbers in _named_numbers(answer).items():
        if name in wanted_names and not numbers & wanted_names[name]:
            return True
    main, every, stated = quantities(_PAREN.sub(" ", reference)), quantities(reference), quantities(answer)
    for dim in {q.dim for q in stated}:
        wanted = [q for q in main if q.dim == dim] or [q for q in every if q.dim == dim]
        if wanted and not any(a.same(r) for a in stated if a.dim == dim for r in wanted):
            return True
    return False


# ----------------------------------------------------------------------------------------- polarity, opposites
_SUBJECT = r"(?:it|they|this|that|you|we|he|she|there)"
_AUX = r"(?:do|does|did|is|are|was|were|can|could|will|would|has|have|should|must)"
_NO = re.compile(
    rf"^\s*(?:no|nope|not|never|nah)\b|^\s*{_SUBJECT}\s+{_AUX}\s*(?:n't|not)\b|^\s*{_SUBJECT}\s+(?:can't|cannot|won't)\b"
    # "there is no limit", "there's no charge", "it does nothing"; not "it is no problem", "there is no doubt"
    rf"|^\s*(?:{_SUBJECT}\s+{_AUX}|(?:there|it|that)'s)\s+(?:no|never|nothing|none)\b(?!\s+(?:problem|doubt|issue|"
    r"worries|question)\b)",
    re.I,
)
_YES = re.compile(
    rf"^\s*(?:yes|yeah|yep|yup|correct|absolutely|sure|indeed|definitely)\b|^\s*{_SUBJECT}\s+{_AUX}\b(?!\s*(?:n't|not))",
    re.I,
)


def polarity(text: str) -> str | None:
    """ "yes" or "no" when the text opens with an answer to a yes/no question."""
    if _NO.search(text):
        return "no"
    return "yes" if _YES.search(text) else None


_NEGATING_PREFIXES = ("a", "un", "in", "im", "ir", "il", "non", "dis")
_LONG_WORD = re.compile(r"[A-Za-z]{4,}")


def negated_word(answer: str, reference: str) -> bool:
    """The answer uses a word whose negated form the reference uses, or the other way round."""
    mine = {w.lower() for w in _LONG_WORD.findall(answer)}
    theirs = {w.lower() for w in _LONG_WORD.findall(reference)}
    for x in mine - theirs:
        for y in theirs - mine:
            short, long = sorted((x, y), key=len)
            if len(short) >= 5 and any(long == p + short for p in _NEGATING_PREFIXES):
                return True
    return False


# -------------------------------------------------------------------------------------------------- claims
_SPLIT = re.compile(
    r"(?<=[.;:!?])\s+|;\s*|:\s+|,\s+(?=(?:so|but|and|while|which|giving|because|though|although|then|even)\b)"
    r"|\s+(?=(?:but|while|whereas|although|though)\b)",
    re.I,
)
_RULED_OUT = re.compile(
    r"\b(?:before that|previously|formerly|used to|instead of|rather than|unlike|as opposed to|replacing"
    r"|in place of)\b",
    re.I,
)
# "exports run on the replica, not the primary database": what the reference denies; not "not just", "not only"
# (which add).
_NOT_ADDING = r"not\s+(?!(?:just|only|merely|simply|even|necessarily|always|all|every|yet)\b)"
_DENIED = re.compile(r",\s+" + _NOT_ADDING, re.I)
# "(not open source)"; not "(not counting retries)", "(not including tax)", which qualify
_DENIED_ASIDE = re.compile(r"\s*" + _NOT_ADDING + r"(?!(?:counting|including|to mention|least)\b)(.+)", re.I)
# A clause that sets something aside without a negator word ("revenue recognition and cash are out of scope"; a
# negator is counted apart, and "rather than", "instead of" never stay in an asserted claim).
_SET_ASIDE = re.compile(r"\b(?:out of scope|outside|exclud\w*|except|other than|beyond)\b", re.I)
# "No.", "Yes, ...", "No to both:" open an answer; "No more than 8" does not.
_LEADING_ANSWER = re.compile(r"^(?:yes|no)(?:\s+to\s+(?:both|all|either))?(?:[,.;:!]\s*|\s*$)", re.I)
# A short lead before a colon is the clause's own adverbial ("By geo-routing: requests go to the closest ..."),
# not a claim of its own.
_SHORT_LEAD = re.compile(r"^((?:\S+\s+){0,2}\S+):\s+")
# A clause that opens with one of these qualifies the clause before it ("..., even via the load balancer").
_QUALIFIER = re.compile(r"^(?:even|including|especially|except|via|regardless|whether)\b", re.I)
_CONNECTIVE = re.compile(r"^(?:and|but|so|while|which|because|though|although|then)\s+", re.I)


@dataclass(frozen=True, slots=True)
class Claims:
    asserted: list[str]  # what a right answer must say
    asides: list[str]  # parenthetical detail: not required
    ruled_out: list[str]  # what the reference says is not the case ("instead of X", "before that, X")
    # What it denies beside a claim: ("X, not Y" -> (X, Y)), the denial cut at the next comma.
    denied: list[tuple[str, str]] = field(default_factory=list)


def claims_of(reference: str) -> Claims:
    """The short claims a reference answer makes: split at clause boundaries, with asides and ruled-out
    alternatives set apart. Clauses are kept whole: a cut mid-clause loses the fact as often as it sharpens it;
    a qualifier ("even via the load balancer") stays with its clause and a short lead ("By geo-routing:") with
    the clause it introduces."""
    asides = [m.strip() for m in _PAREN.findall(reference) if len(m.split()) >= 2]
    # "available in Enterprise and Cloud (not open source)": an aside that denies is a denial of its clause.
    parenthesised = [
        (
            " ".join(_PAREN.sub(" ", re.split(r"[.;:]\s", reference[: m.start()])[-1]).split()).strip(" ,"),
            denial.group(1).split(",")[0].strip(),
        )
        for m in _PAREN.finditer(reference)
        if (denial := _DENIED_ASIDE.match(m.group(1)))
    ]
    flat = re.sub(r"\s+([,.;:])", r"\1", " ".join(_PAREN.sub(" ", reference).split()))
    flat = _SHORT_LEAD.sub(r"\1, ", _LEADING_ANSWER.sub("", flat), count=1)
    asserted: list[str] = []
    ruled: list[str] = []
    denied: list[tuple[str, str]] = []
    for part in _SPLIT.split(flat):
        part = _CONNECTIVE.sub("", _LEADING_ANSWER.sub("", part.strip(" ,.;:"))).strip()
        if len(part.split()) < 2:
            continue
        denial = _DENIED.search(part)
        if denial and len(part[: denial.start()].split()) >= 2:
            # The claim keeps its denial: a right answer often says both halves ("rather than when the quarter
            # closes"), and its credit is read against the whole.
            denied.append((part[: denial.start()].strip(" ,"), part[denial.end() :].split(",")[0].strip(" ,")))
        if asserted and _QUALIFIER.match(part):
            asserted[-1] = f"{asserted[-1]}, {part}"
            continue
        marker = _RULED_OUT.search(part)
        if marker:
            before, after = part[: marker.start()].strip(" ,"), part[marker.end() :].strip(" ,")
            if after:
                ruled.append(after)
            if len(before.split()) >= 2:
                asserted.append(before)
            continue
        asserted.append(part)
    return Claims(asserted or [reference.strip()], asides, ruled, denied + parenthesised)


def asserts_ruled_out(answer: str, denied: Sequence[tuple[str, str]]) -> bool:
    """A clause of the answer says what the reference denies beside a claim: it speaks of that claim (a content word
    in common besides the denied ones), holds every content word of the denial (two words or more), and neither
    negates nor sets anything aside ("the importer takes CSV files as well as spreadsheets" for "the importer only
    takes spreadsheets, not CSV files"; not "the primary database stays fast" for "exports run on the replica,
    not the primary database"). What the answer itself denies ("durations, not timestamps") is not asserted."""
    # "open-source" says "open source"; "non-open-source" denies it
    asserted = claims_of(re.sub(r"\bnon-", "not ", answer, flags=re.I).replace("-", " ")).asserted
    for claim, phrase in denied:
        words = {w for w in content_words(phrase) if not w[0].isdigit()}
        if len(words) < 2:
            continue  # one word ("not from when it was triggered") recurs in right answers in another sense
        about = content_words(claim) - words
        for clause in asserted:
            said = content_words(clause)
            if words <= said and about & said and negation_count(clause) == 0 and not _SET_ASIDE.search(clause):
                return True
    return False


_CLAUSE = re.compile(
    r"(?<=[.;:!?])\s+|,\s+|\s+(?:and(?!\s+(?:a|one)\s+half\b)|but|while|so|because|which|though|although|whereas)\s+"
    r"|;\s*|:\s+",
    re.I,
)


def _units(answer: str) -> list[str]:
    return [answer, *(p.strip() for p in _CLAUSE.split(answer) if p and len(p.split()) >= 2)]


_SENTENCE = re.compile(r"(?<=[.;:!?])\s+")


def _stretches(answer: str) -> list[str]:
    """Stretches of the answer a key point may be said in: each clause without its closing punctuation, two
    clauses running and each sentence (a rep's paraphrase often spreads one point over a clause boundary)."""
    parts = [p.strip(" .;:,!?") for p in _CLAUSE.split(answer) if p and len(p.split()) >= 2]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(parts)]
    sentences = [s.strip() for s in _SENTENCE.split(answer) if s.strip()]
    return list(dict.fromkeys(s for s in (*parts, *pairs, *sentences) if s != answer))


def slot_conflicts(answer: str, reference: str) -> tuple[bool, bool]:
    """(figure, negation): some clause of the answer speaks of the same thing as a clause of the reference (they
    share at least two content words) and states a duration, percentage, size or amount of a kind that clause
    states with another value ("every 5 minutes on Business" for "every 15 minutes on the Business plan"), or
    negates what it asserts ("does not check for sample ratio mismatch" for "checks for sample ratio mismatch")."""
    claims = fine_clauses(reference)
    figure = negation = False
    for clause in fine_clauses(answer):
        said, strength = align(clause, claims)
        if said is None or strength < ALIGNED:
            continue
        theirs = [q for q in quantities(said) if q.dim in _MEASURED or (q.dim == "count" and q.value >= _COUNTED)]
        for mine in quantities(clause):
            kind = [q for q in theirs if q.dim == mine.dim]
            figure = figure or (bool(kind) and not any(mine.same(q) for q in kind))
        negation = negation or negated(clause) != negated(said)
    return figure, negation


_MEASURED = ("time", "percent", "bytes", "money", "ratio", "count/time", "money/time")
# A count of this size or more is checked as a figure ("one typo from five characters" against "from four"); a
# lone "one" is too often an article or a pronoun ("one of them") to read as a claim.
_COUNTED = 2.0


def _checked(q: Quantity) -> bool:
    return q.dim in _MEASURED or (q.dim == "count" and q.value >= _COUNTED)


# An answer clause reads as a reference clause from this cosine of the two (the shared model's), whatever words
# they share: "each backup is kept for 24 hours" and "each backup is retained for 7 days" share one content word.
FIGURE_ALIGNED = 0.6


def unsourced_figure(
    answer_claims: Sequence[str], reference_claims: Sequence[str], cosines: np.ndarray, sources: Sequence[str]
) -> bool:
    """Some clause of the answer reads as a reference clause (`cosines[i, j]`, at least FIGURE_ALIGNED for its
    closest) that states a duration, percentage, size, amount or rate, and gives a figure of that kind which no
    source (the reference, its key points) states anywhere: "kept for 24 hours" for "retained for 7 days", "a
    4-hour response on Pro" where Pro has none. A figure said another way ("a week", "two working weeks",
    "ninety-nine and a half percent") is the same figure; one the reference gives elsewhere is no conflict here."""
    given = [q for text in sources for q in quantities(text)]
    for i, clause in enumerate(answer_claims):
        mine = [q for q in quantities(clause) if q.dim in _MEASURED]
        if not mine:
            continue
        j = int(np.argmax(cosines[i]))
        if cosines[i, j] < FIGURE_ALIGNED:
            continue
        kinds = {q.dim for q in quantities(reference_claims[j]) if q.dim in _MEASURED}
        if any(f.dim in kinds and not any(f.same(q) for q in given) for f in mine):
            return True
    return False


def misplaced_figure(answer: str, reference: str) -> bool:
    """Some clause of the answer gives the reference clause it speaks of another figure of a kind that clause
    states, and either the figure belongs to another clause of the reference and the clause's own figure is not
    beside it (figures swapped: "primary stores within 35 days and backups within 72 hours" for "primary stores
    within 72 hours and backups within 35 days"), or it is nowhere in the reference and the clause's own figure
    is nowhere in the answer ("every 5 minutes" for "every 15 minutes"). A clause that also gives its reference
    clause's figure, or a figure the answer gives elsewhere ("about a month, 34 days"), is not a conflict; nor is
    one that matches two reference clauses equally, one of which holds its figure; nor one whose reference clause
    gets its own figure from another clause of the answer that speaks of that clause alone (two clauses of the
    answer read as one clause of the reference, one of them with its figure)."""
    claims = fine_clauses(reference)
    anywhere = quantities(answer)
    pairs = aligned_pairs(answer, reference, margin=1.0)
    for n, (clause, matches) in enumerate(pairs):
        mine = quantities(clause)
        theirs = [q for c in matches for q in quantities(c) if _checked(q)]
        elsewhere = [q for c in claims if c not in matches for q in quantities(c) if _checked(q)]
        # The figures other clauses of the answer give the same reference clause, and only it ("after a seven-day
        # advance email" and "unblocked when thirty days have passed since the warning" both read as "lifted 30 days
        # after the first warning email"): the answer states that clause's figure, so the other figure is no swap.
        beside = [q for m, (other, theirs_too) in enumerate(pairs) if m != n and set(theirs_too) <= set(matches)
                  for q in quantities(other)]  # fmt: skip
        for figure in mine:
            kind = [q for q in theirs if q.dim == figure.dim]
            if not kind or any(figure.same(q) for q in kind):
                continue
            if any(figure.same(q) for q in elsewhere):
                if not any(a.same(q) for a in (*mine, *beside) for q in kind):
                    return True
            elif not any(a.same(q) for a in anywhere for q in kind):
                return True
    return False


@dataclass(frozen=True, slots=True)
class ShortAnswerMeasured:
    points: list[str]
    point_credit: list[float]
    similarity: float
    contradiction: str | None
    measures: AnswerMeasures


def measure_short_answer(
    answer: str, reference: str, key_points: Sequence[str], embed: Embed, policy: ShortAnswerPolicy = POLICY
) -> ShortAnswerMeasured:
    """Everything the grade is made of, for a non-empty answer: per key point credit, the fact checks' verdict and
    the combiner's measures."""
    answer = " ".join(answer.split())
    derived = claims_of(reference)
    points = list(key_points) or derived.asserted
    units = _units(answer)
    stretches = _stretches(answer)
    answer_claims, reference_claims = fine_clauses(answer), fine_clauses(reference)
    vectors = embed(
        [*units, reference, *points, *derived.ruled_out, *answer_claims, *reference_claims, *stretches]
    )  # fmt: skip
    n, p, r, a, c = len(units), len(points), len(derived.ruled_out), len(answer_claims), len(reference_claims)
    unit_v, ref_v, point_v = vectors[:n], vectors[n], vectors[n + 1 : n + 1 + p]
    ruled_v = vectors[n + 1 + p : n + 1 + p + r]
    answer_claim_v = np.vstack([unit_v[:1], vectors[n + 1 + p + r : n + 1 + p + r + a]])
    reference_claim_v = vectors[n + 1 + p + r + a : n + 1 + p + r + a + c]
    stretch_v = np.vstack([unit_v, vectors[n + 1 + p + r + a + c :]])
    similarity = float(unit_v[0] @ ref_v)

    contradiction = None
    if policy.check_figures and figure_conflict(answer, reference):
        contradiction = "figure"
    wanted = polarity(reference) if _LEADING_ANSWER.match(reference.strip()) else None
    if policy.check_polarity and wanted and polarity(answer) not in (None, wanted):
        contradiction = contradiction or "polarity"
    span = policy.point_ceiling - policy.point_floor
    answer_words, answer_figures = content_words(answer), quantities(answer)
    point_credits: list[float] = []
    best_point = 0.0
    for point, vec in zip(points, point_v, strict=True):
        cosine = float((unit_v @ vec).max())
        best_point = max(best_point, cosine)
        credit = min(1.0, max(0.0, (cosine - policy.point_floor) / span))
        figures = quantities(point)
        same_figure = any(a.same(f) for a in answer_figures for f in figures)
        words = content_words(point)
        if words and len(words & answer_words) / len(words) >= policy.point_words and (same_figure or not figures):
            # The point's words, said the other way round ("is not encrypted" for "encrypted"), are its opposite.
            said = max(units[1:] or units, key=lambda u: len(words & content_words(u)))
            if not (policy.check_opposites and negated(said) != negated(point)):
                credit = 1.0
        if same_figure:
            credit = max(credit, 0.8)
        elif figures and answer_figures:
            credit = min(credit, 0.5)  # the answer gives figures, not this one
        point_credits.append(credit)
    if (
        policy.check_figures
        and contradiction is None
        and (
            misplaced_figure(answer, reference)
            or unsourced_figure(
                answer_claims, reference_claims, answer_claim_v[1:] @ reference_claim_v.T, [reference, *points]
            )
        )
    ):
        contradiction = "figure"
    if policy.check_opposites and contradiction is None:
        says_ruled_out = len(ruled_v) and float((unit_v @ ruled_v.T).max()) > best_point
        if (
            says_ruled_out
            or asserts_ruled_out(answer, derived.denied)
            or negated_word(answer, reference)
            or antonym_conflict(answer, reference)
            or swapped_term(answer, reference)
            or flipped_negation(answer, reference)
        ):
            contradiction = "opposite"

    figure_slot, negation_slot = slot_conflicts(answer, reference)
    measures = AnswerMeasures(
        coverage=sum(point_credits) / len(point_credits),
        weakest_point=min(point_credits),
        weakest_claim=float((answer_claim_v @ reference_claim_v.T).max(axis=0).min()),
        similarity=similarity,
        figure_slot=figure_slot,
        negation_slot=negation_slot,
        weakest_point_cosine=float((stretch_v @ point_v.T).max(axis=0).min()),
    )
    return ShortAnswerMeasured(points, point_credits, similarity, contradiction, measures)


def grade_short_answer(
    answer: str,
    reference: str,
    key_points: Sequence[str],
    embed: Embed,
    policy: ShortAnswerPolicy = POLICY,
) -> ShortAnswerGrade:
    if not answer.strip():
        points = list(key_points) or claims_of(reference).asserted
        return ShortAnswerGrade(0.0, 0.0, (False,) * len(points), (0.0,) * len(points), None, False)
    m = measure_short_answer(answer, reference, key_points, embed, policy)
    contradiction = m.contradiction
    if policy.combiner is not None:
        credit = policy.combiner.credit(m.measures, policy.correct_at, policy.partial_at)
        if credit < policy.partial_at:
            # Graded wrong as a whole, with a clause that contradicts its reference clause: that is the reason
            # the feedback gives ("states a figure the material does not give for this"), and it earns nothing.
            if contradiction is None and m.measures.figure_slot:
                contradiction = "figure"
            elif contradiction is None and m.measures.negation_slot:
                contradiction = "opposite"
    else:
        scale = policy.similarity_ceiling - policy.similarity_floor
        scaled = min(1.0, max(0.0, (m.similarity - policy.similarity_floor) / scale))
        credit = policy.similarity_weight * scaled + (1 - policy.similarity_weight) * m.measures.coverage
    if contradiction:
        credit = 0.0
    return ShortAnswerGrade(
        credit=round(credit, 3),
        similarity=round(m.similarity, 3),
        covered=tuple(c >= 0.5 and not contradiction for c in m.point_credit),
        point_credit=tuple(round(c, 3) for c in m.point_credit),
        contradiction=contradiction,
        correct=credit >= policy.correct_at,
    )
