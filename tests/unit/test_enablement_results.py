"""Unit tests of what a graded answer becomes (services/enablement/results.py), on rows built in memory: how a
choice answer is read and graded, and what a rep is shown of a graded answer while the assignment is open and
once it is closed. The same rules run over HTTP in tests/integration/test_enablement_attempts.py and
test_enablement_rep_results.py."""

from __future__ import annotations

from typing import Any

import pytest

from services.core.errors import Unprocessable
from services.enablement.models import Answer, Attempt, Question, QuestionSource, QuestionType
from services.enablement.results import AnswerGrade, grade_answer, rep_result
from services.enablement.schemas import AnswerIn
from tests.unit.hashed import hash_embed

OPTIONS = ["90 days", "30 days", "45 days", "180 days"]


def question(qtype: QuestionType, **kw: Any) -> Question:
    fields: dict[str, Any] = {
        "id": "q1",
        "type": qtype,
        "prompt": "How often do keys rotate?",
        "options": None if qtype == QuestionType.SHORT else OPTIONS,
        "answers": None if qtype == QuestionType.SHORT else [0],
        "topic": "key rotation",
        "source_reveals_key": False,
        "key_points": None,
        "reference_answer": None,
    }
    fields.update(kw)
    return Question(**fields)


SOURCE = QuestionSource(
    question_id="q1", org_id="acme", document_id="d1", external_id="feat-vault", version=3, chunk_id="c1", as_of=None
)
# Shown in the order 3, 1, 0, 2: position 2 on screen is stored option 0 ("90 days").
ATTEMPT = Attempt(id="a1", question_ids=["q1"], option_orders={"q1": [3, 1, 0, 2]})


def answer(grade: AnswerGrade, **kw: Any) -> Answer:
    fields: dict[str, Any] = {
        "attempt_id": "a1",
        "question_id": grade.question_id,
        "response": grade.response,
        "correct": grade.correct,
        "credit": grade.credit,
        "graded_credit": grade.credit,
        "feedback": grade.feedback,
        "citations": list(grade.citations),
        "detail": grade.detail,
        "override_by": None,
        "override_reason": None,
    }
    fields.update(kw)
    return Answer(**fields)


def test_a_choice_is_read_as_shown_or_by_its_text_and_graded_by_the_published_rule() -> None:
    q = question(QuestionType.SINGLE)
    by_position = grade_answer(q, ATTEMPT, AnswerIn(question_id="q1", choice=2), [SOURCE], hash_embed)
    by_text = grade_answer(q, ATTEMPT, AnswerIn(question_id="q1", choice=" 90 Days "), [SOURCE], hash_embed)
    assert by_position == by_text
    assert (by_position.correct, by_position.credit, by_position.response) == (True, 1.0, {"choices": [0]})
    assert [c["chunk_id"] for c in by_position.citations] == ["c1"]
    multi = question(QuestionType.MULTI, answers=[0, 1])
    half = grade_answer(multi, ATTEMPT, AnswerIn(question_id="q1", choices=[2]), [SOURCE], hash_embed)
    assert (half.correct, half.credit, half.detail) == (False, 0.5, {"right": 1, "wrong": 0})
    assert "1 of 2 right options chosen, 0 wrong option(s)" in half.feedback


def test_an_unanswered_item_earns_nothing_and_an_answer_of_the_wrong_shape_is_refused() -> None:
    q = question(QuestionType.SINGLE)
    blank = grade_answer(q, ATTEMPT, None, [SOURCE], hash_embed)
    assert (blank.correct, blank.credit, blank.response, blank.feedback) == (False, 0.0, {}, "No answer given.")
    with pytest.raises(Unprocessable, match="answer with `choice`"):
        grade_answer(q, ATTEMPT, AnswerIn(question_id="q1", text="90 days"), [SOURCE], hash_embed)
    with pytest.raises(Unprocessable, match=r"0\.\.3; 4 is not one of them"):
        grade_answer(q, ATTEMPT, AnswerIn(question_id="q1", choice=4), [SOURCE], hash_embed)
    with pytest.raises(Unprocessable, match="answer with `text`"):
        grade_answer(question(QuestionType.SHORT), ATTEMPT, AnswerIn(question_id="q1", choice=0), [], hash_embed)


def test_a_missed_choice_item_cites_its_material_only_once_the_assignment_is_closed() -> None:
    q = question(QuestionType.MULTI, answers=[0, 1])
    wrong = answer(grade_answer(q, ATTEMPT, AnswerIn(question_id="q1", choices=[3]), [SOURCE], hash_embed))
    half = answer(grade_answer(q, ATTEMPT, AnswerIn(question_id="q1", choices=[2]), [SOURCE], hash_embed))
    while_open = rep_result(wrong, q, closed=False)
    assert while_open.citations == []
    assert while_open.feedback == "Not correct. It joins your review queue when this assignment is closed."
    # How many picks were right is not said while retakes remain: it would give the key away.
    assert rep_result(half, q, closed=False).feedback == (
        "Partly right (credit 0.50). It joins your review queue when this assignment is closed."
    )
    closed = rep_result(half, q, closed=True)
    assert [c.chunk_id for c in closed.citations] == ["c1"] and closed.feedback == half.feedback
    assert closed.feedback.startswith("Partly right: 1 of 2 right options chosen")
    # An item whose source names its answer cites nothing even then; its feedback says it is queued.
    naming = rep_result(half, question(QuestionType.MULTI, answers=[0, 1], source_reveals_key=True), closed=True)
    assert naming.citations == [] and naming.feedback == f"{half.feedback} It joins your review queue."


def test_a_short_answer_names_its_key_points_only_once_closed_and_an_override_is_said() -> None:
    q = question(QuestionType.SHORT)
    graded = AnswerGrade(
        "q1",
        {"text": "They rotate."},
        correct=False,
        credit=0.5,
        feedback='Covered 1 of 2 key points. Credited: "keys rotate". Missed: "every 90 days". See the cited material.',
        citations=({"document_id": "d1", "external_id": "feat-vault", "version": 3, "chunk_id": "c1"},),
        detail={"feedback_open": "Covered 1 of 2 key points; missed 1 on key rotation. Reread the cited passages."},
    )
    row = answer(graded)
    while_open = rep_result(row, q, closed=False)
    assert "every 90 days" not in while_open.feedback and "missed 1 on key rotation" in while_open.feedback
    assert [c.chunk_id for c in while_open.citations] == ["c1"]  # short answers cite their passages at once
    assert 'Missed: "every 90 days"' in rep_result(row, q, closed=True).feedback
    regraded = answer(graded, credit=1.0, correct=True, override_by="mia", override_reason="fair paraphrase")
    assert rep_result(regraded, q, closed=False).feedback.endswith("Regraded by a manager: fair paraphrase")
