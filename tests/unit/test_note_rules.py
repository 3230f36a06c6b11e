"""Rules of the meeting-note analyser that need no model: dates, sentence roles, structure and names."""

from __future__ import annotations

from datetime import date

import pytest

from services.pitch.deals.dates import find_dates

MEETING = date(2026, 3, 10)  # a Tuesday


def _dates(text: str, reference: date = MEETING) -> list[date]:
    return [d.date for d in find_dates(text, reference)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kick-off on 17.3., 14:30 in their office", date(2026, 3, 17)),
        ("Review on 2.4.2026", date(2026, 4, 2)),
        ("Board slot Apr 21 - we get half an hour", date(2026, 4, 21)),
    ],
)
def test_day_month_with_a_dot_and_month_names_are_dates(text: str, expected: date) -> None:
    assert _dates(text) == [expected]


@pytest.mark.parametrize(
    "text", ["conversion fell 2.5% to 4.1% in Q1", "they are on version 3.12 of the app", "1.2M rows"]
)
def test_decimals_and_versions_are_no_dates(text: str) -> None:
    assert _dates(text) == []


def test_an_ambiguous_slash_date_takes_the_reading_that_is_near() -> None:
    # Written in November, 04/12 as month first would be next April; day first it is 4 December.
    assert _dates("onsite 04/12", date(2026, 11, 20)) == [date(2026, 12, 4)]
    # Both readings near: month first, as before.
    assert _dates("call 3/4", date(2026, 3, 1)) == [date(2026, 3, 4)]


def test_a_week_named_by_its_first_day_is_no_date() -> None:
    assert _dates("Final pitch is in the week of April 13, day to be confirmed") == []


def test_a_date_after_by_or_due_is_a_deadline() -> None:
    found = find_dates("We send the security pack by Fri 13/3, then the workshop on Mar 19.", MEETING)
    assert [(f.date, f.deadline) for f in found] == [
        (date(2026, 3, 13), True),
        (date(2026, 3, 13), True),
        (date(2026, 3, 19), False),
    ]
    assert [f.deadline for f in find_dates("pricing due on Thursday", MEETING)] == [True]
