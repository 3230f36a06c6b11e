"""Dates as reps write them in meeting notes, resolved against the meeting's date.

Counted as a date: ISO (2026-12-04), month/day with or without a year (12/4, 12/4/2026: month first, unless only the
day-first reading falls within the next four months: 08/12 written in November is 8 December), day.month with a
closing dot or a year (24.11., 24.11.2026, as written in much of Europe), day and month names in either order (3
March, 3rd of March, March 3rd, Dec 4, Jan 19, with or without a year), day.month with a time and no closing dot
(01.12 14:00), weekdays (Tuesday, next Tuesday, this Fri: the next such day after the meeting; "thurs @ 4", "fri
3p": a short weekday in lower case with a time; "Thursday week": a week later), a weekday with its day ("mon 30th",
"Monday the 7th"), an ordinal day ("on the 3rd", "the 3rd at 11": the next such day of the month; not "the 3rd
round"), today, tomorrow, the day after tomorrow, in N days or weeks or months ("in two weeks", "in a couple of
weeks", "a week from today"), end of day / week / month (EOD, EOW, EOM, "end of next week"). Not a date: "next
week", "soon", "next quarter", "Q1", "mid-March", "last Tuesday" (past), a week named by its first day ("the week of
Dec 14", "w/c 14/12": no day agreed), a recurring meeting named by its weekday ("their Tuesday stand-up"), and a
bare time ("at 3pm", "10:00"). A weekday written before the date it falls on ("Thu 17.12.") is that date. A date
after "by", "before", "due" or "no later than" is a deadline (`FoundDate.deadline`): "I'll send the deck by Friday"
sets when something is due, not when the two sides meet. A date after "go-live", "launch", "renewal", "expires",
"contract ends", "trial ends", "fiscal year ends", "cut-over", "target go-live" or "deadline" is a milestone
(`FoundDate.milestone`): when the project or the contract reaches a point, never a meeting. "Same time next week",
"this time next week" and "a week today" are the meeting's weekday a week on.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_WEEKDAY = r"(?P<weekday>" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")\b\.?"
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a couple": 2, "couple of": 2,
}  # fmt: skip
_COUNT = r"(?P<count>\d{1,3}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>(?:19|20|21)\d\d))?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<year>(?:19|20|21)\d\d)-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b")),
    ("slash", re.compile(r"(?<![\d/])(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>(?:\d\d)?\d\d))?(?![\d/])")),
    ("in_count", re.compile(
        r"\b(?:in\s+(?:about\s+)?" + _COUNT + r"\s+(?P<unit>days?|weeks?|months?)|" + _COUNT.replace("count", "count2")
        + r"\s+(?P<unit2>days?|weeks?)\s+from\s+(?:now|today))\b", re.I)),
    ("dotted", re.compile(
        r"(?<![\w.,])(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)\.(?:(?P<year>(?:19|20|21)?\d\d)(?![\d.]))?(?![\d%])")),
    ("day_month", re.compile(r"\b" + _DAY + r"(?:\s+of)?\s+" + _MONTH + r"\b" + _YEAR, re.I)),
    ("month_day", re.compile(
        r"\b" + _MONTH + r"\s+" + _DAY + r"\b(?!\s*(?:%|am|pm|min|h\b|hours?|days?|weeks?))" + _YEAR, re.I)),
    # "same time next week", "this time next week", "next week, same time", "a week today": the meeting's weekday
    # a week on (a plain "next week" names no day).
    ("week_on", re.compile(
        r"\b(?:(?:same|this) time next week|next week,? (?:at )?(?:the )?same (?:time|day)|a week (?P<word>today|"
        r"tomorrow))\b", re.I)),
    ("relative_day", re.compile(r"\b(?P<word>the day after tomorrow|tomorrow|tmrw|tmr|today|tonight)\b", re.I)),
    ("end_of", re.compile(
        r"\b(?:(?P<abbr>eod|eow|eom|cob|eo[dwm])\b|(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(?P<next>next\s+)?"
        r"(?P<unit>day|week|month)\b)", re.I)),
    ("weekday_day", re.compile(
        r"\b(?P<mod>next|this|coming|on)?\s*" + _WEEKDAY + r"\s*,?\s+(?:the\s+)?(?P<day>[0-3]?\d)(?:st|nd|rd|th)\b"
        r"(?![./:]\d)", re.I)),
    ("dotted_time", re.compile(
        r"(?<![\w.,/])(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)(?=,?\s*(?:at\s+|@\s*)?[0-2]?\d(?::\d\d|h\d\d)\b)")),
    ("ordinal_day", re.compile(
        r"\b(?:(?:on|by|for) the (?P<day>[0-3]?\d)(?:st|nd|rd|th)\b|the (?P<bare>[0-3]?\d)(?:st|nd|rd|th)\b"
        r"(?=\s*(?:$|[,.;:)!?\-\u2013\u2014]|(?:at|from|w/|with|for|or|and|in the)\b|@|"
        r"[0-2]?\d(?::\d\d)?\s*(?:a|p)m?\b)))", re.I)),
    ("weekday", re.compile(
        r"\b(?P<mod>next|this|coming|on|last|this past)?\s*" + _WEEKDAY
        + r"(?P<week>\s+week\b)?(?P<time>\s*(?:@|at\b)?\s*[0-2]?\d(?::[0-5]\d)?\s*(?:a|p)m?\b(?![/.:]\d)|\s*@)?",
        re.I)),
]  # fmt: skip


# A week, not a day: "the week of Dec 14", "w/c 12/14", "wk of the 14th".
_WEEK_OF = re.compile(r"\b(?:week|wk)\s+(?:of|starting|beginning|commencing)\s+(?:the\s+)?$|\bw/c\s+$", re.I)
# A meeting named by its weekday, theirs and recurring, not a day agreed: "in the monday mtg", "their Tuesday
# stand-up", "the weekly Friday sync".
_RECURRING_BEFORE = re.compile(r"\b(?:their|our|his|her|its|weekly|regular|usual|standing|in the)\s+$", re.I)
_RECURRING_AFTER = re.compile(
    r"\s*(?:mtg|meeting|stand-?up|sync|huddle|review|check-?in|catch-?up|call|session|ops review)s?\b", re.I
)
# A deadline, not an appointment: "send the deck by Friday", "due 12/4", "no later than the 9th".
_DEADLINE = re.compile(
    r"\b(?:by|before|due(?:\s+(?:on|by))?|no later than|not later than|latest|ahead of)\s+(?:the\s+|this\s+|next\s+)?$",
    re.I,
)
# A milestone, not an appointment: "target go-live 1 April", "contract renews on 30 June", "launch date of 3/1".
_MILESTONE = re.compile(
    r"\b(?:go[- ]?live|launch(?:es|ing)?|renewal|renews|expiry|cut-?over|deadline|"
    r"(?:contract|trial|pilot|poc|subscription|licen[cs]e|(?:fiscal|financial|budget) year) "
    r"(?:ends?|end date|expires?)|"
    r"expires?|(?:fiscal |financial )?year[- ]end|"
    r"target(?:ed)? (?:go[- ]?live|launch|date|completion|cut-?over))"
    r"(?:\s+(?:date|day))?\s+(?:is\s+|was\s+|of\s+|on\s+|for\s+|in\s+|by\s+|at\s+|around\s+|set for\s+)?"
    r"(?:the\s+)?$",
    re.I,
)
# How far before a date the cues of a recurring meeting, a milestone and a deadline are looked for.
_CUE_SPAN = 60
# Day-first is taken for an ambiguous n/n only when month-first lands further out than this and day-first does not.
_NEAR_DAYS = 120


@dataclass(frozen=True, slots=True)
class FoundDate:
    date: date
    text: str
    start: int
    deadline: bool = False  # after "by", "before", "due": when something is due, not a meeting
    milestone: bool = False  # after "go-live", "renewal", "target": a date in the project or contract, not a meeting


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _upcoming(reference: date, month: int, day: int, year: int | None) -> date | None:
    if year is not None:
        return _safe(year, month, day)
    found = _safe(reference.year, month, day)
    if found is not None and found < reference - timedelta(days=7):
        found = _safe(reference.year + 1, month, day)  # "3 January" written in December
    return found


def _add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    year = start.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def find_dates(text: str, reference: date) -> list[FoundDate]:
    """Every date the text names, resolved against `reference` (the meeting's date), in order of appearance.
    Past references ("last Tuesday") are left out; spans never overlap."""
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    weekdays: set[int] = set()  # starts of dates read from a weekday alone
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            value = _resolve(kind, m, reference)
            taken.append((m.start(), m.end()))  # a span read as a week or a past day is no other kind's date either
            start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            if value is None or _WEEK_OF.search(text[:start]):
                continue
            cue_from = max(0, start - _CUE_SPAN)
            recurring = _RECURRING_BEFORE.search(text, cue_from, start) and _RECURRING_AFTER.match(text, m.end())
            if kind == "weekday" and recurring:
                continue
            deadline = _DEADLINE.search(text, cue_from, start) is not None
            milestone = _MILESTONE.search(text, cue_from, start) is not None
            found.append(FoundDate(value, m.group(0).strip(), start, deadline, milestone))
            if kind == "weekday":
                weekdays.add(start)
    found.sort(key=lambda f: f.start)
    found = _deadline_spans(text, found)
    # "Thu 17.12.", "Fri Dec 11": a weekday written before the date it falls on is that date, not the next such day.
    found = [
        f
        for f, after in zip(found, [*found[1:], None], strict=False)
        if not (
            f.start in weekdays
            and after is not None
            and after.date != f.date
            and re.fullmatch(r"[\s,]*", text[f.start + len(f.text) : after.start])
        )
    ]
    return _deadline_spans(text, found)


def _deadline_spans(text: str, found: list[FoundDate]) -> list[FoundDate]:
    """The second half of one date is as much a deadline or a milestone as its first ("by Thu 12/10", "go-live Fri
    20 March"); read before a weekday is dropped for the date it falls on, and again after."""
    found = list(found)
    for i in range(1, len(found)):
        before, this = found[i - 1], found[i]
        gap = text[before.start + len(before.text) : this.start]
        if re.fullmatch(r"[\s,]*", gap):
            found[i] = FoundDate(
                this.date, this.text, this.start, this.deadline or before.deadline, this.milestone or before.milestone
            )
    return found


def _resolve(kind: str, m: re.Match[str], ref: date) -> date | None:
    g = m.groupdict()
    if kind == "iso":
        return _safe(int(g["year"]), int(g["month"]), int(g["day"]))
    if kind == "slash":
        year = g.get("year")
        full = None if year is None else (int(year) + 2000 if len(year) == 2 else int(year))
        month, day = int(g["month"]), int(g["day"])
        if month > 12 and day <= 12:
            month, day = day, month  # 13/4 can only be day first
        first = _upcoming(ref, month, day, full)
        if full is None and day <= 12 and month != day:
            flipped = _upcoming(ref, day, month, None)
            if (first is None or (first - ref).days > _NEAR_DAYS) and flipped and (flipped - ref).days <= _NEAR_DAYS:
                return flipped  # 08/12 written in November: 8 December, not next August
        return first
    if kind == "dotted":
        year = g.get("year")
        full = None if year is None else (int(year) + 2000 if len(year) == 2 else int(year))
        return _upcoming(ref, int(g["month"]), int(g["day"]), full)
    if kind in ("day_month", "month_day"):
        year = int(g["year"]) if g.get("year") else None
        return _upcoming(ref, _MONTHS[g["month"].lower().rstrip(".")], int(g["day"]), year)
    if kind == "week_on":
        return ref + timedelta(days=8 if (g.get("word") or "").lower() == "tomorrow" else 7)
    if kind == "relative_day":
        word = g["word"].lower()
        offset = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1}.get(word, 2)
        return ref + timedelta(days=offset)
    if kind == "end_of":
        unit = (g.get("abbr") or "")[-1:].lower() or (g.get("unit") or "")[:1].lower()
        unit = {"b": "d"}.get(unit, unit)  # COB: close of business
        if unit == "d":
            return ref
        if unit == "w":
            friday = ref + timedelta(days=(4 - ref.weekday()) % 7)
            return friday + timedelta(days=7) if g.get("next") else friday
        base = _add_months(ref.replace(day=1), 1) if g.get("next") else ref
        return base.replace(day=calendar.monthrange(base.year, base.month)[1])
    if kind == "in_count":
        raw = (g.get("count") or g.get("count2") or "").lower()
        count = int(raw) if raw.isdigit() else _NUMBERS.get(raw, 0)
        unit = (g.get("unit") or g.get("unit2") or "").lower()
        if count <= 0:
            return None
        if unit.startswith("month"):
            return _add_months(ref, count)
        return ref + timedelta(days=count * (7 if unit.startswith("week") else 1))
    if kind == "dotted_time":
        return _upcoming(ref, int(g["month"]), int(g["day"]), None)
    if kind in ("ordinal_day", "weekday_day"):
        return _day_of_month(ref, int(g.get("day") or g.get("bare") or 0))
    if kind == "weekday":
        mod = (g.get("mod") or "").lower()
        if mod.startswith("last") or mod == "this past":
            return None
        target = _WEEKDAYS[g["weekday"].lower().rstrip(".")]
        if len(g["weekday"]) <= 3 and not g["weekday"][0].isupper() and not mod and not g.get("time"):
            return None  # "sat", "sun", "wed" in lower case without a cue or a time are words, not days
        days = (target - ref.weekday()) % 7 or 7
        return ref + timedelta(days=days + (7 if g.get("week") else 0))  # "Thursday week": a week after Thursday
    return None


def _day_of_month(ref: date, day: int) -> date | None:
    """The next day of that number from `ref` on: "the 3rd" written on 25 November is 3 December."""
    found = _safe(ref.year, ref.month, day)
    if found is None or found < ref:
        following = _add_months(ref.replace(day=1), 1)
        found = _safe(following.year, following.month, day)
    return found
