"""Enablement HTTP API under /enablement/v1, one controller per resource: HTTP only. The logic lives in
service.py (quizzes), assignments.py, attempts.py, reviews.py, certifications.py and reports.py.

Managers (and admins) build, publish and assign quizzes, read keys, regrade and read reports; anyone with an
assignment takes it. Reps only ever receive the rep views (no key, reference, explanation or hint).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.core.auth import Principal, Role, requires
from services.core.embeddings import EmbeddingCache, get_embedder
from services.core.errors import Unprocessable, error_responses
from services.core.http import app_context
from services.enablement.assignments import AssignmentService
from services.enablement.attempts import AttemptService
from services.enablement.certifications import CertificationService
from services.enablement.pitch_client import PitchClient
from services.enablement.reports import ReportService
from services.enablement.reviews import ReviewService
from services.enablement.schemas import (
    AssignmentIn,
    AssignmentOut,
    AttemptDetail,
    AttemptOut,
    CertificationOut,
    CompletionReport,
    ItemReport,
    OverrideIn,
    PassageOut,
    QuestionPatch,
    QuizIn,
    QuizOut,
    QuizSummary,
    ReadinessReport,
    ReminderOut,
    RepScores,
    ReviewIn,
    ReviewOut,
    SubmitIn,
    SubmitOut,
)
from services.enablement.service import PitchFactory, QuizService

MANAGERS = requires(Role.MANAGER)
# Sentences of the material kept embedded between quiz generations (a few MB at 384 floats each).
ENABLEMENT_CACHE = 20_000


def _embeddings(state: State) -> EmbeddingCache:
    ctx = app_context(state)
    found: EmbeddingCache | None = ctx.extras.get("enablement_embeddings")
    if found is None:
        found = ctx.extras["enablement_embeddings"] = EmbeddingCache(get_embedder, size=ENABLEMENT_CACHE)
    return found


def provide_quizzes(state: State) -> QuizService:
    ctx = app_context(state)
    return QuizService(ctx.sessions, ctx.store, _embeddings(state), ctx.settings.enablement)


def provide_assignments(state: State) -> AssignmentService:
    return AssignmentService(app_context(state).sessions)


def provide_attempts(state: State) -> AttemptService:
    ctx = app_context(state)
    return AttemptService(ctx.sessions, _embeddings(state), ctx.store)


def provide_reviews(state: State) -> ReviewService:
    ctx = app_context(state)
    return ReviewService(ctx.sessions, ctx.store)


def provide_certifications(state: State) -> CertificationService:
    return CertificationService(app_context(state).sessions)


def provide_reports(state: State) -> ReportService:
    return ReportService(app_context(state).sessions)


def provide_pitch(request: Request[Principal, Any, Any], state: State) -> PitchFactory:
    """The pitch API for this caller: the configured URL, else this app's own pitch routes (embedded)."""
    ctx = app_context(state)
    authorization = request.headers.get("authorization", "")

    @contextlib.asynccontextmanager
    async def open_client() -> AsyncIterator[PitchClient]:
        target: httpx.AsyncBaseTransport | str
        if ctx.settings.enablement.pitch_url:
            target = ctx.settings.enablement.pitch_url
        elif "pitch" in ctx.extras.get("services", ()):
            target = httpx.ASGITransport(app=cast(Any, request.app))
        else:
            raise Unprocessable(
                "persona items need the pitch service: set PITCHCRAFT_PITCH_URL, or leave out `persona`"
            )
        async with PitchClient(target, authorization) as client:
            yield client

    return open_client


class QuizController(Controller):
    path = "/enablement/v1/quizzes"
    tags = ["enablement"]
    guards = [MANAGERS]
    dependencies = {
        "quizzes": Provide(provide_quizzes, sync_to_thread=False),
        "pitch": Provide(provide_pitch, sync_to_thread=False),
    }

    @post("/", status_code=HTTP_201_CREATED, responses=error_responses(409, 413))
    async def create(
        self,
        request: Request[Principal, Any, Any],
        quizzes: NamedDependency[QuizService],
        pitch: NamedDependency[PitchFactory],
        data: JSONBody[QuizIn],
    ) -> QuizOut:
        """A draft quiz (manager view, with keys) from authored questions and/or questions generated over a slice
        of the material. `generation` reports how many generated items the quality gate rejected, and why."""
        return await quizzes.create(request.user, data, pitch)

    @get("/")
    async def list_quizzes(
        self,
        request: Request[Principal, Any, Any],
        quizzes: NamedDependency[QuizService],
        status: FromQuery[str | None] = None,
    ) -> list[QuizSummary]:
        return await quizzes.list_quizzes(request.user, status)

    @get("/{quiz_id:str}")
    async def get_quiz(
        self, request: Request[Principal, Any, Any], quizzes: NamedDependency[QuizService], quiz_id: FromPath[str]
    ) -> QuizOut:
        """The quiz with its keys, references and provenance (managers only)."""
        return await quizzes.get(request.user, quiz_id)

    @delete("/{quiz_id:str}", status_code=HTTP_204_NO_CONTENT, responses=error_responses(409))
    async def discard(
        self, request: Request[Principal, Any, Any], quizzes: NamedDependency[QuizService], quiz_id: FromPath[str]
    ) -> None:
        """Discard a draft (409 for a published quiz: it stays, with its history)."""
        await quizzes.discard(request.user, quiz_id)

    @patch("/{quiz_id:str}/questions/{question_id:str}", responses=error_responses(409))
    async def edit_question(
        self,
        request: Request[Principal, Any, Any],
        quizzes: NamedDependency[QuizService],
        quiz_id: FromPath[str],
        question_id: FromPath[str],
        data: JSONBody[QuestionPatch],
    ) -> QuizOut:
        """Edit a draft item; the edited item is checked again as a whole."""
        return await quizzes.edit(request.user, quiz_id, question_id, data)

    @delete("/{quiz_id:str}/questions/{question_id:str}", status_code=HTTP_200_OK, responses=error_responses(409))
    async def drop_question(
        self,
        request: Request[Principal, Any, Any],
        quizzes: NamedDependency[QuizService],
        quiz_id: FromPath[str],
        question_id: FromPath[str],
    ) -> QuizOut:
        """Drop a draft item (kept, marked dropped, never asked)."""
        return await quizzes.drop(request.user, quiz_id, question_id)

    @post(
        "/{quiz_id:str}/questions/{question_id:str}/regenerate",
        status_code=HTTP_200_OK,
        responses=error_responses(409),
    )
    async def regenerate_question(
        self,
        request: Request[Principal, Any, Any],
        quizzes: NamedDependency[QuizService],
        pitch: NamedDependency[PitchFactory],
        quiz_id: FromPath[str],
        question_id: FromPath[str],
    ) -> QuizOut:
        """Replace a generated draft item with a new one from the same generator and source."""
        return await quizzes.regenerate(request.user, quiz_id, question_id, pitch)

    @post("/{quiz_id:str}/publish", status_code=HTTP_200_OK, responses=error_responses(409))
    async def publish(
        self, request: Request[Principal, Any, Any], quizzes: NamedDependency[QuizService], quiz_id: FromPath[str]
    ) -> QuizOut:
        """Publish a draft; from now on it never changes. Publishing a revision supersedes the version it replaces."""
        return await quizzes.publish(request.user, quiz_id)

    @post("/{quiz_id:str}/revise", status_code=HTTP_201_CREATED, responses=error_responses(409))
    async def revise(
        self,
        request: Request[Principal, Any, Any],
        quizzes: NamedDependency[QuizService],
        pitch: NamedDependency[PitchFactory],
        quiz_id: FromPath[str],
    ) -> QuizOut:
        """A new draft version of a published quiz, its retired items regenerated from the current material."""
        return await quizzes.revise(request.user, quiz_id, pitch)


class AssignmentController(Controller):
    """Assignments of published quizzes to reps: managers assign and list, a rep lists their own."""

    path = "/enablement/v1"
    tags = ["enablement"]
    dependencies = {"assignments": Provide(provide_assignments, sync_to_thread=False)}

    @post("/assignments", guards=[MANAGERS], status_code=HTTP_201_CREATED, responses=error_responses(409))
    async def assign(
        self,
        request: Request[Principal, Any, Any],
        assignments: NamedDependency[AssignmentService],
        data: JSONBody[AssignmentIn],
    ) -> list[AssignmentOut]:
        """Assign a published quiz to reps, each with the due date, pass mark (percent) and attempt limit."""
        return await assignments.assign(request.user, data)

    @get("/assignments", guards=[MANAGERS])
    async def list_assignments(
        self,
        request: Request[Principal, Any, Any],
        assignments: NamedDependency[AssignmentService],
        quiz_id: FromQuery[str | None] = None,
    ) -> list[AssignmentOut]:
        return await assignments.list_assignments(request.user, mine=False, quiz_id=quiz_id)

    @get("/me/assignments")
    async def my_assignments(
        self, request: Request[Principal, Any, Any], assignments: NamedDependency[AssignmentService]
    ) -> list[AssignmentOut]:
        """Your assignments, soonest due first, with attempts used, best score and status."""
        return await assignments.list_assignments(request.user, mine=True)


class AttemptController(Controller):
    """Taking an assignment: start, submit, the graded result and its cited passages; the manager's view, regrade."""

    path = "/enablement/v1"
    tags = ["enablement"]
    dependencies = {"attempts": Provide(provide_attempts, sync_to_thread=False)}

    @post("/assignments/{assignment_id:str}/attempts", status_code=HTTP_201_CREATED, responses=error_responses(409))
    async def start_attempt(
        self,
        request: Request[Principal, Any, Any],
        attempts: NamedDependency[AttemptService],
        assignment_id: FromPath[str],
    ) -> AttemptOut:
        """Start (or resume the open) attempt: the questions in a fresh order, options shuffled, no answers."""
        return await attempts.start(request.user, assignment_id)

    @post("/attempts/{attempt_id:str}/submit", status_code=HTTP_200_OK, responses=error_responses(409))
    async def submit(
        self,
        request: Request[Principal, Any, Any],
        attempts: NamedDependency[AttemptService],
        attempt_id: FromPath[str],
        data: JSONBody[SubmitIn],
    ) -> SubmitOut:
        """Grade the attempt on the server. `choice` is the option's position as shown or its text. Submitting
        the same attempt again is a 409."""
        return await attempts.submit(request.user, attempt_id, data)

    @get("/me/attempts/{attempt_id:str}", responses=error_responses(409))
    async def my_attempt(
        self,
        request: Request[Principal, Any, Any],
        attempts: NamedDependency[AttemptService],
        attempt_id: FromPath[str],
    ) -> SubmitOut:
        return await attempts.result(request.user, attempt_id)

    @get("/me/attempts/{attempt_id:str}/passages/{chunk_id:str}", responses=error_responses(409, 410))
    async def my_passage(
        self,
        request: Request[Principal, Any, Any],
        attempts: NamedDependency[AttemptService],
        attempt_id: FromPath[str],
        chunk_id: FromPath[str],
    ) -> PassageOut:
        """A passage cited in one of your graded results (`citations[].chunk_id`), with its document's title and
        as-of date: short answers' passages at once, choice items' once the assignment is closed. 404 for any
        other chunk; 410 when the cited version is no longer stored."""
        return await attempts.passage(request.user, attempt_id, chunk_id)

    @get("/attempts/{attempt_id:str}", guards=[MANAGERS])
    async def attempt_detail(
        self,
        request: Request[Principal, Any, Any],
        attempts: NamedDependency[AttemptService],
        attempt_id: FromPath[str],
    ) -> AttemptDetail:
        """An attempt with every answer, the grader's working and any override (managers)."""
        return await attempts.detail(request.user, attempt_id)

    @post(
        "/attempts/{attempt_id:str}/answers/{question_id:str}/override",
        guards=[MANAGERS],
        status_code=HTTP_200_OK,
        responses=error_responses(409),
    )
    async def override(
        self,
        request: Request[Principal, Any, Any],
        attempts: NamedDependency[AttemptService],
        attempt_id: FromPath[str],
        question_id: FromPath[str],
        data: JSONBody[OverrideIn],
    ) -> AttemptDetail:
        """Regrade one answer (credit 0..1, with a reason); the grader's credit and the override are both kept."""
        return await attempts.override(request.user, attempt_id, question_id, data)


class ReviewController(Controller):
    """The rep's spaced review queue (FSRS) and the passages its items cite."""

    path = "/enablement/v1"
    tags = ["enablement"]
    dependencies = {"reviews": Provide(provide_reviews, sync_to_thread=False)}

    @get("/me/reviews")
    async def my_reviews(
        self,
        request: Request[Principal, Any, Any],
        reviews: NamedDependency[ReviewService],
        limit: FromQuery[int] = 20,
    ) -> list[ReviewOut]:
        """Items you missed that are due for review (FSRS), with where to find the answer in the material. An
        item appears once its assignment is closed for you (passed, or no attempts left)."""
        if not 1 <= limit <= 200:
            raise Unprocessable("limit must be between 1 and 200")
        return await reviews.reviews(request.user, limit)

    @post("/me/reviews/{review_id:str}", status_code=HTTP_200_OK)
    async def review(
        self,
        request: Request[Principal, Any, Any],
        reviews: NamedDependency[ReviewService],
        review_id: FromPath[str],
        data: JSONBody[ReviewIn],
    ) -> ReviewOut:
        """Record how a review went (again, hard, good, easy); FSRS sets when it is due next."""
        return await reviews.review(request.user, review_id, data.rating)

    @get("/me/reviews/{review_id:str}/passages/{chunk_id:str}", responses=error_responses(410))
    async def my_review_passage(
        self,
        request: Request[Principal, Any, Any],
        reviews: NamedDependency[ReviewService],
        review_id: FromPath[str],
        chunk_id: FromPath[str],
    ) -> PassageOut:
        """A passage one of your review items cites (`citations[].chunk_id` of `GET /me/reviews`), to check what
        you recalled against: its text, document title, section and as-of date. 404 for any other chunk and for
        an item that is not yours or not open for review; 410 when the cited version is no longer stored."""
        return await reviews.review_passage(request.user, review_id, chunk_id)


class CertificationController(Controller):
    """Certifications: a rep's own, and the organisation's for managers."""

    path = "/enablement/v1"
    tags = ["enablement"]
    dependencies = {"certifications": Provide(provide_certifications, sync_to_thread=False)}

    @get("/me/certifications")
    async def my_certifications(
        self, request: Request[Principal, Any, Any], certifications: NamedDependency[CertificationService]
    ) -> list[CertificationOut]:
        return await certifications.certifications(request.user, mine=True)

    @get("/certifications", guards=[MANAGERS])
    async def certifications(
        self, request: Request[Principal, Any, Any], certifications: NamedDependency[CertificationService]
    ) -> list[CertificationOut]:
        return await certifications.certifications(request.user, mine=False)


class ReportController(Controller):
    """Manager reports and the reminder outbox."""

    path = "/enablement/v1"
    tags = ["enablement"]
    dependencies = {"reports": Provide(provide_reports, sync_to_thread=False)}

    @get("/reports/completion", guards=[MANAGERS])
    async def completion(
        self,
        request: Request[Principal, Any, Any],
        reports: NamedDependency[ReportService],
        quiz_id: FromQuery[str | None] = None,
    ) -> CompletionReport:
        """Per quiz: assigned, started, completed, passed, overdue, best scores; then every assignment."""
        return await reports.completion(request.user, quiz_id, overdue_only=False)

    @get("/reports/scores", guards=[MANAGERS])
    async def scores(
        self,
        request: Request[Principal, Any, Any],
        reports: NamedDependency[ReportService],
        quiz_id: FromQuery[str | None] = None,
    ) -> list[RepScores]:
        """Every submitted attempt's score per assignment, with the best and the pass mark."""
        return await reports.scores(request.user, quiz_id)

    @get("/reports/overdue", guards=[MANAGERS])
    async def overdue(
        self,
        request: Request[Principal, Any, Any],
        reports: NamedDependency[ReportService],
        quiz_id: FromQuery[str | None] = None,
    ) -> CompletionReport:
        """Assignments past due that the rep has neither passed nor used up."""
        return await reports.completion(request.user, quiz_id, overdue_only=True)

    @get("/reports/items", guards=[MANAGERS])
    async def items(
        self, request: Request[Principal, Any, Any], reports: NamedDependency[ReportService], quiz_id: FromQuery[str]
    ) -> ItemReport:
        """Facility and discrimination of each item of a quiz."""
        return await reports.items(request.user, quiz_id)

    @get("/reports/readiness", guards=[MANAGERS])
    async def readiness(
        self, request: Request[Principal, Any, Any], reports: NamedDependency[ReportService]
    ) -> ReadinessReport:
        """Per rep: score by persona and by competitor, certifications and how many need renewal."""
        return await reports.readiness(request.user)

    @get("/reminders", guards=[MANAGERS])
    async def reminders(
        self,
        request: Request[Principal, Any, Any],
        reports: NamedDependency[ReportService],
        limit: FromQuery[int] = 100,
    ) -> list[ReminderOut]:
        """The reminder outbox: due-soon and overdue reminders written by the periodic sweep, and their delivery."""
        if not 1 <= limit <= 1000:
            raise Unprocessable("limit must be between 1 and 1000")
        return await reports.reminders(request.user, limit)


ROUTES = [
    QuizController,
    AssignmentController,
    AttemptController,
    ReviewController,
    CertificationController,
    ReportController,
]
