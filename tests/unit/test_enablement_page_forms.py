"""The enablement pages' form handling: what each form sends the API, and CSV cells a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io

from litestar.datastructures import FormMultiDict

from services.web.pages.manager import assignment_body, generate_spec, question_patch, readiness_columns, to_csv
from services.web.pages.training import answers_from_form


def _form(*pairs: tuple[str, str]) -> FormMultiDict:
    return FormMultiDict(list(pairs))


def test_the_generate_form_sends_only_what_was_filled_in() -> None:
    values = {
        "kind": " ",
        "competitor": "tessellate",
        "persona": "cio",
        "external_ids": "feat-sso-scim\n\ncomp-halyard, feat-pii-redaction\n",
        "objections": "Too expensive for us\n  \n",
        "count": "8",
        "types": ["short_answer"],
        "kinds": [],
    }
    assert generate_spec(values) == {
        "competitor": "tessellate",
        "persona": "cio",
        "external_ids": ["feat-sso-scim", "comp-halyard", "feat-pii-redaction"],
        "objections": ["Too expensive for us"],
        "count": "8",  # the API validates and converts
        "types": ["short_answer"],
    }


def test_an_edit_keeps_each_key_with_its_option_when_an_option_is_removed() -> None:
    form = _form(
        ("prompt", "Which two?"),
        ("option", "A"),
        ("option", ""),  # emptied: removed
        ("option", "C"),
        ("option", "D"),
        ("key", "2"),
        ("key", "3"),
    )
    assert question_patch(form, "multi_choice") == {
        "prompt": "Which two?",
        "options": ["A", "C", "D"],
        "answers": [1, 2],
    }
    single = question_patch(_form(("prompt", "Which?"), ("option", "A"), ("option", "B")), "single_choice")
    assert single["answer"] is None  # no key ticked: the API refuses it with its reason
    short = question_patch(
        _form(("prompt", "Explain"), ("reference_answer", "R"), ("key_points", "one\n\n two \n"), ("explanation", "")),
        "short_answer",
    )
    assert short == {"prompt": "Explain", "reference_answer": "R", "key_points": ["one", "two"]}


def test_a_due_date_is_due_at_the_end_of_that_day_utc() -> None:
    body = assignment_body(
        "q1", {"assignees": ["ada"], "due_date": "2026-12-24", "pass_mark": "70", "max_attempts": " "}
    )
    assert body == {
        "quiz_id": "q1",
        "assignees": ["ada"],
        "due_at": "2026-12-24T23:59:59Z",
        "pass_mark": "70",
        "max_attempts": None,
    }
    assert (
        assignment_body("q1", {"assignees": [], "due_date": "", "pass_mark": "", "max_attempts": ""})["due_at"] is None
    )


def test_answers_are_option_positions_and_unanswered_questions_are_left_out() -> None:
    form = _form(
        ("question", "q1|single_choice"),
        ("question", "q2|multi_choice"),
        ("question", "q3|short_answer"),
        ("question", "q4|single_choice"),
        ("question", "q5|short_answer"),
        ("q-q1", "2"),
        ("q-q2", "0"),
        ("q-q2", "3"),
        ("q-q3", "  SCIM 2.0 provisioning  "),
        ("q-q5", "   "),
    )
    assert answers_from_form(form) == [
        {"question_id": "q1", "choice": 2},
        {"question_id": "q2", "choices": [0, 3]},
        {"question_id": "q3", "text": "SCIM 2.0 provisioning"},
    ]
    # A value that is not a position goes as text: the API matches it to an option or refuses it.
    assert answers_from_form(_form(("question", "q1|single_choice"), ("q-q1", "90 days"))) == [
        {"question_id": "q1", "choice": "90 days"}
    ]


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    text = to_csv(["name", "score"], [['=HYPERLINK("http://x")', -1.5], ["@SUM(A1)", None], ["Ada", 80.0]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "score"], ['\'=HYPERLINK("http://x")', "-1.5"], ["'@SUM(A1)", ""], ["Ada", "80.0"]]


def test_readiness_columns_are_overall_then_personas_then_competitors() -> None:
    report = {"personas": ["cio", "cfo"], "competitors": ["tessellate"], "reps": []}
    assert readiness_columns(report, {"cio": "Chief Information Officer"}) == [
        ("overall", "overall", "Overall"),
        ("personas", "cio", "Chief Information Officer"),
        ("personas", "cfo", "cfo"),
        ("competitors", "tessellate", "vs Tessellate"),
    ]
