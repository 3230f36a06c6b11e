"""Graded answers: the grade an answer gets, the attempt's score, and what a rep and a manager are shown of them.
No HTTP types and no database access here.

How an answer earns credit is `grading.py`'s (the meaning of a short answer, the partial-credit rule of choice
items); this module turns that into the grade kept for each answer (`AnswerGrade`) and decides what leaves the
server. A rep is shown only the `RepResult` view: while attempts remain, a short answer's missed key points are
counted and placed but never quoted, and a choice item cites no material (either would answer the retake).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.core.errors import Unprocessable
from services.enablement.grading import ChoiceGrade, Embed, ShortAnswerGrade, grade_choice, grade_short_answer
from services.enablement.lookups import source_citation
from services.enablement.material import normalise
from services.enablement.models import Answer, Attempt, Question, QuestionSource, QuestionType
from services.enablement.schemas import AnswerIn, AttemptDetail, Citation, ManagerAnswer, RepResult

# Feedback names a long key point by its opening words.
LABEL_WORDS = 10
# Float arithmetic can land a hair below the mark it meets (credits 0.01 and 0.57 -> 28.999999999999996%).
PASS_TOLERANCE = 1e-9
CONTRADICTION_FEEDBACK = {
    "figure": "the answer states a figure the material does not give for this.",
    "polarity": "the answer says yes where the material says no, or the other way round.",
    "opposite": "the answer states the opposite of what the material says.",
}


@dataclass(frozen=True, slots=True)
class AnswerGrade:
    """One answer as graded, before anyone sees it: stored as the attempt's `Answer` row. The feedback and
    citations are the full ones (as after the assignment closes); `rep_result` decides what a rep is shown."""

    question_id: str
    response: dict[str, Any]  # what is kept of the answer: {"text": ...}, {"choices": [...]}, {} when unanswered
    correct: bool
    credit: float
    feedback: str
    citations: tuple[dict[str, Any], ...]
    detail: dict[str, Any] | None  # the grader's working, for managers (short answers add `feedback_open`)


def check_responses(attempt: Attempt, answers: Sequence[AnswerIn]) -> dict[str, AnswerIn]:
    """Answers by question, after checking they belong to this attempt and each question is answered once."""
    known = set(attempt.question_ids)
    unknown = sorted({a.question_id for a in answers} - known)
    if unknown:
        raise Unprocessable(
            f"these question ids are not in attempt {attempt.id}: {', '.join(unknown)}", details={"unknown": unknown}
        )
    ids = [a.question_id for a in answers]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise Unprocessable(f"answer each question once; answered twice: {', '.join(twice)}")
    return {a.question_id: a for a in answers}


def grade_answer(
    q: Question, attempt: Attempt, response: AnswerIn | None, sources: Sequence[QuestionSource], embed: Embed
) -> AnswerGrade:
    """The grade with the full feedback and citations; what a rep is shown of them is decided when the result is
    read (`rep_result`), because it depends on whether the assignment is still open. An answer of the wrong
    shape for its question is a 422."""
    citations = tuple(source_citation(s).model_dump() for s in sources)
    if response is None:
        return AnswerGrade(
            q.id, {}, correct=False, credit=0.0, feedback="No answer given.", citations=citations, detail=None
        )
    if q.type == QuestionType.SHORT:
        if response.text is None or response.choice is not None or response.choices is not None:
            raise Unprocessable(f"question {q.id} is short_answer: answer with `text`")
        key_points = q.key_points or []
        grade = grade_short_answer(response.text, q.reference_answer or "", [k["text"] for k in key_points], embed)
        missed = [k for k, ok in zip(key_points, grade.covered, strict=True) if not ok]
        cited = tuple(k["citation"] for k in missed if k.get("citation")) or citations
        return AnswerGrade(
            q.id,
            {"text": response.text},
            correct=grade.correct,
            credit=grade.credit,
            feedback=short_feedback(grade, key_points, q.topic, closed=True),
            citations=cited if missed or grade.contradiction else citations,
            detail={
                "similarity": grade.similarity,
                "covered": list(grade.covered),
                "point_credit": list(grade.point_credit),
                "contradiction": grade.contradiction,
                "feedback_open": short_feedback(grade, key_points, q.topic, closed=False),
            },
        )
    chosen = sorted(chosen_indices(q, attempt, response))
    choice = grade_choice(set(chosen), q.answers or [])
    return AnswerGrade(
        q.id,
        {"choices": chosen},
        correct=choice.correct,
        credit=choice.credit,
        feedback=choice_feedback(choice, len(q.answers or []), QuestionType(q.type)),
        citations=citations,
        detail={"right": choice.right, "wrong": choice.wrong},
    )


def chosen_indices(q: Question, attempt: Attempt, response: AnswerIn) -> set[int]:
    """Option indices in the stored order from what the rep chose (position as shown, or the option's text)."""
    options = q.options or []
    shown = attempt.option_orders.get(q.id, list(range(len(options))))
    if q.type == QuestionType.SINGLE:
        if response.choice is None or response.choices is not None or response.text is not None:
            raise Unprocessable(f"question {q.id} is single_choice: answer with `choice` (one option)")
        picks: list[int | str] = [response.choice]
    else:
        if response.choices is None or response.choice is not None or response.text is not None:
            raise Unprocessable(f"question {q.id} is multi_choice: answer with `choices` (a list of options)")
        picks = list(response.choices)
    chosen: set[int] = set()
    for pick in picks:
        if isinstance(pick, int):
            if not 0 <= pick < len(shown):
                raise Unprocessable(f"question {q.id} shows options 0..{len(shown) - 1}; {pick} is not one of them")
            chosen.add(shown[pick])
        else:
            matches = [i for i, o in enumerate(options) if normalise(o) == normalise(pick)]
            if not matches:
                raise Unprocessable(f"'{pick[:80]}' is not an option of question {q.id}")
            chosen.add(matches[0])
    return chosen


def score_of(credit: Sequence[float], pass_mark: float) -> tuple[float, bool]:
    """Percent score (shown to one decimal) and pass, decided on the exact score: 59.96 does not pass 60."""
    raw = 100 * math.fsum(credit) / max(len(credit), 1)
    return round(raw, 1), raw >= pass_mark - PASS_TOLERANCE


def key_point_label(text: str) -> str:
    """What feedback calls a key point: the point itself when short, else its opening words."""
    words = text.split()
    return text if len(words) <= LABEL_WORDS else " ".join(words[:LABEL_WORDS]) + " ..."


def short_feedback(
    grade: ShortAnswerGrade, key_points: Sequence[dict[str, Any]], topic: str | None, *, closed: bool
) -> str:
    """What a short answer earned and why. While attempts remain, missed points are counted and placed (by the
    item's topic and the cited passages), never quoted: their words would answer the retake. Once the
    assignment is closed, the points credited and missed are named."""
    total = len(grade.covered)
    got = sum(grade.covered)
    if grade.contradiction:
        why = CONTRADICTION_FEEDBACK[grade.contradiction]
        return f"No credit: {why} Reread the cited material."
    if got == total:
        return f"Covered all {total} key points."
    where = f" on {topic}" if topic else ""
    if not closed:
        return f"Covered {got} of {total} key points; missed {total - got}{where}. Reread the cited passages."
    named = [key_point_label(k["text"]) for k in key_points]
    credited = "; ".join(f'"{n}"' for n, ok in zip(named, grade.covered, strict=True) if ok) or "none"
    missed = "; ".join(f'"{n}"' for n, ok in zip(named, grade.covered, strict=True) if not ok)
    return f"Covered {got} of {total} key points. Credited: {credited}. Missed: {missed}. See the cited material."


def choice_feedback(choice: ChoiceGrade, keys: int, qtype: QuestionType) -> str:
    if choice.correct:
        return "Correct."
    if qtype != QuestionType.MULTI:
        return "Not correct. Review the cited material."
    return (
        f"Partly right: {choice.right} of {keys} right options chosen, {choice.wrong} wrong option(s) chosen; "
        f"credit {choice.credit:.2f} (right minus wrong choices over the right options, never below 0)."
    )


def rep_result(answer: Answer, q: Question, closed: bool) -> RepResult:
    """What a rep is shown of one graded answer. Short answers: how many key points were missed and where
    the material covers them; the points' own words only once the assignment is closed. Choice items: where
    the material covers them only once the assignment is closed (before, it would answer the retake), and
    never for an item whose source names its answer."""
    feedback, citations = answer.feedback, answer.citations
    if q.type == QuestionType.SHORT and not closed and answer.detail and answer.detail.get("feedback_open"):
        feedback = answer.detail["feedback_open"]
    if q.type != QuestionType.SHORT and (q.source_reveals_key or not closed):
        citations = []
        if not answer.correct:
            queue = "It joins your review queue" + ("." if closed else " when this assignment is closed.")
            if answer.credit <= 0:
                feedback = f"Not correct. {queue}"
            elif not closed:  # how many picks were right would give the key away over a few retakes
                feedback = f"Partly right (credit {answer.credit:.2f}). {queue}"
            else:
                feedback = f"{feedback} {queue}"
    if answer.override_by:
        feedback = f"{feedback} Regraded by a manager: {answer.override_reason}"
    return RepResult(
        question_id=answer.question_id,
        prompt=q.prompt,
        correct=answer.correct,
        credit=answer.credit,
        feedback=feedback,
        citations=[Citation.model_validate(c) for c in citations],
    )


def attempt_detail(attempt: Attempt, answers: Sequence[Answer]) -> AttemptDetail:
    """The manager's view of an attempt: every answer with the grader's working and any override."""
    return AttemptDetail(
        attempt_id=attempt.id,
        assignment_id=attempt.assignment_id,
        user=attempt.user,
        number=attempt.number,
        status=attempt.status,
        started_at=attempt.started_at,
        submitted_at=attempt.submitted_at,
        score=attempt.score,
        passed=attempt.passed,
        late=attempt.late,
        answers=[
            ManagerAnswer(
                question_id=a.question_id,
                correct=a.correct,
                credit=a.credit,
                feedback=a.feedback,
                citations=[Citation.model_validate(c) for c in a.citations],
                response=a.response,
                detail=a.detail,
                graded_credit=a.graded_credit,
                override_by=a.override_by,
                override_reason=a.override_reason,
                overridden_at=a.overridden_at,
            )
            for a in answers
        ],
    )
