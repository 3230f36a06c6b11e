"""Request and response models of the enablement API.

Two families of views: manager views carry answer keys, references and provenance; rep views (`Rep*`) are
built from separate models that have no field able to hold a key, so a key cannot leak by serialisation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.core.sales import Citation
from services.enablement.models import QuestionType

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Option = Annotated[str, Field(min_length=1, max_length=500)]
KeyPoint = Annotated[str, Field(min_length=1, max_length=300)]
UserId = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GeneratorKind(StrEnum):
    WHICH_FEATURE = "which_feature"
    CLOZE_FACT = "cloze_fact"
    WHERE_WE_WIN = "where_we_win"
    PERSONA_LEAD = "persona_lead"
    BUYER_PHRASING = "buyer_phrasing"
    EXPLAIN_FEATURE = "explain_feature"
    BE_READY_FOR = "be_ready_for"
    ANSWER_OBJECTION = "answer_objection"


class AuthoredQuestion(Strict):
    type: QuestionType
    prompt: Text
    options: list[Option] | None = Field(default=None, min_length=2, max_length=8)
    answer: int | None = Field(default=None, ge=0, description="single_choice: index of the right option")
    answers: list[int] | None = Field(default=None, min_length=1, description="multi_choice: indices")
    reference_answer: Text | None = None
    key_points: list[KeyPoint] | None = Field(default=None, min_length=1, max_length=8)
    explanation: Text | None = None
    persona: str | None = Field(default=None, max_length=64)
    competitor: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _shape(self) -> AuthoredQuestion:
        problems = shape_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def shape_problems(q: AuthoredQuestion) -> list[str]:
    """What makes a question unanswerable or ambiguous as written (also run after an edit)."""
    problems: list[str] = []
    t = q.type
    if t in (QuestionType.SINGLE, QuestionType.MULTI):
        options = q.options or []
        if len(options) < 2:
            problems.append(f"{t.value} needs at least 2 options")
        normalised = [" ".join(o.lower().split()) for o in options]
        if len(set(normalised)) != len(normalised):
            problems.append("two options say the same thing; make every option different")
        if t is QuestionType.SINGLE:
            if q.answer is None or q.answers is not None:
                problems.append("single_choice takes `answer` (one option index), not `answers`")
            elif q.answer >= len(options):
                problems.append(f"answer {q.answer} is not an option index (0..{len(options) - 1})")
        else:
            if not q.answers or q.answer is not None:
                problems.append("multi_choice takes `answers` (option indices), not `answer`")
            elif len(set(q.answers)) != len(q.answers) or any(i >= len(options) for i in q.answers):
                problems.append(f"answers must be distinct option indices in 0..{len(options) - 1}")
            elif len(q.answers) == len(options):
                problems.append("every option is an answer; add at least one wrong option")
        if q.reference_answer or q.key_points:
            problems.append(f"{t.value} takes options and answers, not reference_answer or key_points")
    else:
        if not q.reference_answer or not q.key_points:
            problems.append("short_answer needs `reference_answer` and `key_points`")
        if q.options or q.answer is not None or q.answers:
            problems.append("short_answer takes no options or answers")
    return problems


class GenerateSpec(Strict):
    """A slice of the material to build items from."""

    external_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, description="feature, competitor, case_study, objection, ...")
    competitor: str | None = Field(default=None, max_length=120)
    persona: str | None = Field(default=None, max_length=64)
    count: int = Field(default=10, ge=1, le=200)
    types: list[QuestionType] | None = Field(default=None, min_length=1)
    kinds: list[GeneratorKind] | None = Field(default=None, min_length=1, description="generators to use")
    objections: list[Annotated[str, Field(min_length=3, max_length=300)]] | None = Field(
        default=None,
        max_length=20,
        description="objections buyers raise (e.g. from GET /pitch/v1/deals/what-customers-say): one short-answer "
        "item each, keyed from the material that answers it",
    )


class QuizIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    questions: list[AuthoredQuestion] = Field(default_factory=list, max_length=200)
    generate: GenerateSpec | None = None

    @model_validator(mode="after")
    def _something(self) -> QuizIn:
        if not self.questions and self.generate is None:
            raise ValueError("give `questions`, `generate`, or both")
        return self


class QuestionPatch(Strict):
    """An edit of a draft item: the fields given replace the stored ones, then the whole item is re-checked."""

    prompt: Text | None = None
    options: list[Option] | None = Field(default=None, min_length=2, max_length=8)
    answer: int | None = Field(default=None, ge=0)
    answers: list[int] | None = Field(default=None, min_length=1)
    reference_answer: Text | None = None
    key_points: list[KeyPoint] | None = Field(default=None, min_length=1, max_length=8)
    explanation: Text | None = None


class KeyPointOut(BaseModel):
    text: str
    citation: Citation | None = None


class QuestionOut(BaseModel):
    """Manager view: the key, the reference and where the item came from."""

    id: str
    position: int
    type: QuestionType
    origin: str
    status: str
    status_reason: str | None
    prompt: str
    options: list[str] | None
    answers: list[int] | None
    reference_answer: str | None
    key_points: list[KeyPointOut] | None
    explanation: str | None
    topic: str | None
    persona: str | None
    competitor: str | None
    sources: list[Citation]


class Rejection(BaseModel):
    generator: str
    reason: str
    source: str | None = None


class GenerationReport(BaseModel):
    requested: int
    generated: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    rejections: list[Rejection]
    notes: list[str]


class QuizOut(BaseModel):
    id: str
    title: str
    status: str
    version: int
    lineage_id: str
    replaces_id: str | None
    created_at: datetime
    published_at: datetime | None
    questions: list[QuestionOut]
    generation: GenerationReport | None


class QuizSummary(BaseModel):
    id: str
    title: str
    status: str
    version: int
    questions: int
    retired: int
    created_at: datetime


class AssignmentIn(Strict):
    quiz_id: str
    assignees: list[UserId] = Field(min_length=1, max_length=1000)
    due_at: datetime
    pass_mark: float = Field(ge=0, le=100, description="percent")
    max_attempts: int = Field(default=3, ge=1, le=20)

    @model_validator(mode="after")
    def _aware(self) -> AssignmentIn:
        if self.due_at.tzinfo is None:
            raise ValueError("due_at needs a time zone, e.g. 2026-12-01T17:00:00Z")
        if len(set(self.assignees)) != len(self.assignees):
            raise ValueError("assignees lists someone twice")
        return self


class AssignmentOut(BaseModel):
    id: str
    quiz_id: str
    quiz_title: str
    assignee: str
    due_at: datetime
    pass_mark: float
    max_attempts: int
    attempts_used: int
    best_score: float | None
    passed: bool
    overdue: bool
    status: str  # not_started | in_progress | passed | failed | out_of_attempts
    last_attempt_id: str | None = Field(
        default=None, description="the latest submitted attempt: its graded result is GET /me/attempts/{id}"
    )


class RepQuestion(BaseModel):
    """Rep view of a question: what to answer, nothing that answers it."""

    question_id: str
    type: QuestionType
    prompt: str
    options: list[str] | None = None


class AttemptOut(BaseModel):
    attempt_id: str
    assignment_id: str
    number: int
    started_at: datetime
    due_at: datetime
    questions: list[RepQuestion]


class AnswerIn(Strict):
    question_id: str
    choice: int | str | None = Field(default=None, description="single_choice: option index as shown, or its text")
    choices: list[int | str] | None = Field(default=None, max_length=8)
    text: str | None = Field(default=None, max_length=4000)


class SubmitIn(Strict):
    answers: list[AnswerIn] = Field(max_length=200)


class Result(BaseModel):
    question_id: str
    correct: bool
    credit: float
    feedback: str
    citations: list[Citation]


class RepResult(Result):
    """A graded answer as the rep sees it, with the question as it was asked (the result page needs no other call)."""

    prompt: str


class PassageOut(BaseModel):
    """A cited passage as a rep reads it: the chunk's text with its document's title, section and as-of date."""

    chunk_id: str
    document_id: str
    external_id: str
    version: int
    title: str
    section: str
    as_of: str | None
    text: str


class SubmitOut(BaseModel):
    attempt_id: str
    score: float
    passed: bool
    late: bool
    results: list[RepResult]


class ManagerAnswer(Result):
    response: dict[str, Any]
    detail: dict[str, Any] | None
    graded_credit: float
    override_by: str | None
    override_reason: str | None
    overridden_at: datetime | None


class AttemptDetail(BaseModel):
    attempt_id: str
    assignment_id: str
    user: str
    number: int
    status: str
    started_at: datetime
    submitted_at: datetime | None
    score: float | None
    passed: bool | None
    late: bool
    answers: list[ManagerAnswer]


class OverrideIn(Strict):
    credit: float = Field(ge=0, le=1)
    reason: Annotated[str, Field(min_length=3, max_length=1000)]


class ReviewOut(BaseModel):
    review_id: str
    question_id: str
    type: QuestionType
    prompt: str
    options: list[str] | None = Field(default=None, description="choice items: the options, as in an attempt")
    topic: str | None
    citations: list[Citation]
    due_at: datetime
    misses: int
    reviews: int


class ReviewRating(StrEnum):
    AGAIN = "again"
    HARD = "hard"
    GOOD = "good"
    EASY = "easy"


class ReviewIn(Strict):
    rating: ReviewRating


class CertificationOut(BaseModel):
    id: str
    user: str
    quiz_id: str
    score: float
    certified_at: datetime
    needs_renewal: bool
    renewal_reason: str | None


# --- reports (managers) ---------------------------------------------------------------------------------------


class CompletionSummary(BaseModel):
    quiz_id: str
    quiz_title: str
    assigned: int
    started: int
    completed: int  # passed or out of attempts
    passed: int
    overdue: int
    completion_rate: float
    pass_rate: float
    mean_best_score: float | None
    median_best_score: float | None


class CompletionReport(BaseModel):
    generated_at: datetime
    quizzes: list[CompletionSummary]
    assignments: list[AssignmentOut]


class AttemptScore(BaseModel):
    number: int
    score: float
    passed: bool
    late: bool
    submitted_at: datetime | None


class RepScores(BaseModel):
    assignment_id: str
    quiz_id: str
    quiz_title: str
    assignee: str
    pass_mark: float
    attempts: list[AttemptScore]
    best: float | None


class ItemStats(BaseModel):
    question_id: str
    position: int
    prompt: str
    type: str
    origin: str
    status: str
    answered: int
    facility: float | None
    discrimination: float | None
    overridden: int


class ItemReport(BaseModel):
    quiz_id: str
    attempts: int
    items: list[ItemStats]


class Cell(BaseModel):
    score: float
    answered: int


class RepReadiness(BaseModel):
    user: str
    overall: Cell | None
    personas: dict[str, Cell]
    competitors: dict[str, Cell]
    certifications: int
    needs_renewal: int


class ReminderOut(BaseModel):
    id: str
    kind: str
    recipient: str
    payload: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None
    attempts: int
    last_error: str | None


class ReadinessReport(BaseModel):
    generated_at: datetime
    personas: list[str]
    competitors: list[str]
    reps: list[RepReadiness]
