"""Request and response models of the deals API (`/pitch/v1/deals`, `/pitch/v1/sales-processes`)."""

from __future__ import annotations

import datetime as _dt
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from services.pitch.schemas import NoteCitation as Citation
from services.pitch.schemas import PersonaId, Segment


def _segment_alias(value: Any) -> Any:
    # "mid-market" as people write it; the talk-track API's enum spells it mid_market.
    return value.strip().lower().replace("-", "_") if isinstance(value, str) else value


SegmentIn = Annotated[Segment, BeforeValidator(_segment_alias)]
StageId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
# A date a client sends: inside the range every store and report handles (as for ingest dates).
MIN_DATE, MAX_DATE = date(1970, 1, 1), date(2199, 12, 31)


def _check_date(value: date | None) -> date | None:
    if value is not None and not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"dates must lie between {MIN_DATE} and {MAX_DATE}")
    return value


class StakeholderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    role: str | None = Field(default=None, max_length=200, description="their title, e.g. 'Head of Security'")
    persona: PersonaId | None = Field(default=None, description="a persona id (GET /pitch/v1/personas)")


class DealIn(BaseModel):
    """A whole deal (POST creates, PUT replaces)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    account_name: Name
    segment: SegmentIn
    stage: StageId = Field(description="a stage of the segment's sales process (GET /pitch/v1/sales-processes)")
    stakeholders: list[StakeholderIn] = Field(default_factory=list, max_length=50)
    competitors: list[Annotated[str, Field(min_length=1, max_length=120, pattern=r"\w")]] = Field(
        default_factory=list, max_length=20
    )
    owner: str | None = Field(
        default=None, min_length=1, max_length=200, description="the rep's user id; managers and admins may set it"
    )
    amount: float | None = Field(default=None, ge=0, le=1e13)
    close_date: date | None = None

    _dates = field_validator("close_date")(_check_date)


class Stakeholder(StakeholderIn):
    pass


class Extracted(BaseModel):
    """One thing the customer said or agreed, with the sentence it came from."""

    kind: str = Field(description="pain | goal | objection | competitor | system | commitment | next_step")
    text: str = Field(description="the sentence, or the name for competitors and systems")
    citation: Citation
    date: _dt.date | None = Field(default=None, description="for a next step or commitment: the date it names")


class NoteAnalysis(BaseModel):
    pains: list[Extracted] = Field(description="pains and goals the customer stated (kind pain or goal)")
    objections: list[Extracted]
    competitors: list[Extracted]
    systems: list[Extracted]
    commitments: list[Extracted]
    next_steps: list[Extracted]
    next_step_date: date | None = Field(description="the earliest dated next step agreed on or after the meeting")
    next_step_missing: bool = Field(description="true when no next step with a date was agreed")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    meeting_date: date
    attendees: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=50)
    text: str = Field(min_length=1, max_length=20_000, pattern=r"\w")

    _dates = field_validator("meeting_date")(_check_date)


class NoteOut(BaseModel):
    id: str
    deal_id: str
    author: str
    meeting_date: date
    attendees: list[str]
    text: str
    sentences: list[str]
    analysis: NoteAnalysis
    next_step_missing: bool
    created_at: datetime


class ProposedNextStep(BaseModel):
    """What the rep should book next, from the deal's stage, its segment's process and what the notes say."""

    stage: str
    stage_name: str
    action: str = Field(description="what to do, concretely")
    why: str = Field(description="the exit criterion it serves, or that the stage is complete")
    customer_attendees: list[str] = Field(description="the deal's stakeholders to invite, else the roles needed")
    our_attendees: list[str] = Field(description="who to bring on our side")
    timeframe: str = Field(description="when, e.g. 'within 5 business days'")
    by_date: date = Field(description="the suggested latest date, counted from today")
    persona: str | None = Field(default=None, description="the persona the step is framed for")
    persona_ask: str | None = Field(default=None, description="the ask this persona's profile recommends")
    criteria_done: list[str]
    criteria_missing: list[str]
    scheduled: Extracted | None = Field(default=None, description="a dated next step the latest note already agreed")
    warnings: list[str] = Field(default_factory=list)


class DealOut(BaseModel):
    id: str
    account_name: str
    segment: Segment
    stage: str
    stakeholders: list[Stakeholder]
    competitors: list[str]
    owner: str
    amount: float | None
    close_date: date | None
    created_at: datetime
    updated_at: datetime
    last_meeting_date: date | None = None
    notes_count: int = 0
    next_step_missing: bool = Field(default=True, description="the latest note has no dated next step (or none)")


class DealContext(BaseModel):
    """What the notes of a deal say, merged across notes (newest first), every item cited: what a talk track for
    the deal reads."""

    deal: DealOut
    pains: list[Extracted]
    objections: list[Extracted]
    competitors: list[str] = Field(description="the deal's competitors and those named in its notes")
    systems: list[str]
    commitments: list[Extracted]
    evidence: list[Extracted] = Field(description="every competitor and system mention, cited")


class DealView(DealContext):
    notes: list[NoteOut]
    notes_missing_next_step: list[str] = Field(description="ids of notes with no dated next step")
    next_step: ProposedNextStep | None


class PipelineDeal(BaseModel):
    id: str
    account_name: str
    owner: str
    segment: Segment
    stage: str
    amount: float | None
    close_date: date | None
    last_meeting_date: date | None
    days_since_meeting: int | None
    next_step_scheduled: bool
    next_step_date: date | None
    flags: list[Literal["no_next_step", "no_recent_meeting", "no_meeting"]]


class PipelineStage(BaseModel):
    stage: str
    deals: list[PipelineDeal]
    amount: float


class Pipeline(BaseModel):
    owner: str | None
    stale_days: int
    as_of: date
    stages: list[PipelineStage]
    no_next_step: list[str] = Field(description="deal ids whose latest note has no dated next step (or no notes)")
    no_recent_meeting: list[str] = Field(description="deal ids with no meeting in the last `stale_days` days")
    total: int


# Sales process (data): per segment, ordered stages.
Check = Literal["pains", "objections_answered", "systems", "competitors", "dated_next_step", "persona", "mentioned"]


class ExitCriterion(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: StageId
    text: str = Field(min_length=1, max_length=300)
    check: Check | None = Field(
        default=None,
        description="how notes show it done: pains (a pain or goal stated), systems, competitors, dated_next_step, "
        "persona (a stakeholder of one of `personas` attended), mentioned (a note says one of `terms`); none: "
        "never done from notes (the step asks for it)",
    )
    personas: list[PersonaId] = Field(default_factory=list, max_length=20)
    terms: list[Annotated[str, Field(min_length=2, max_length=80)]] = Field(default_factory=list, max_length=30)
    action: str = Field(min_length=1, max_length=300, description="the step that meets it")
    within_days: int = Field(ge=0, le=365)


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: StageId
    name: str = Field(min_length=1, max_length=120)
    exit_criteria: list[ExitCriterion] = Field(min_length=1, max_length=20)
    customer_stakeholders: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=20, description="who must be involved on the customer's side"
    )
    customer_personas: list[PersonaId] = Field(default_factory=list, max_length=20)
    our_people: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=20, description="who is involved on our side"
    )
    activate: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list,
        max_length=20,
        description="internal people to bring in at this stage (security review, solution engineer, legal, reference)",
    )


class SalesProcessIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stages: list[Stage] = Field(min_length=1, max_length=20)

    @field_validator("stages")
    @classmethod
    def _unique(cls, stages: list[Stage]) -> list[Stage]:
        ids = [s.id for s in stages]
        if len(set(ids)) != len(ids):
            raise ValueError("stage ids must be unique")
        if {"closed_won", "closed_lost"} & set(ids):
            raise ValueError("closed_won and closed_lost are always there; do not list them")
        for stage in stages:
            criteria = [c.id for c in stage.exit_criteria]
            if len(set(criteria)) != len(criteria):
                raise ValueError(f"exit criterion ids must be unique within stage '{stage.id}'")
        return stages


class SalesProcessOut(SalesProcessIn):
    segment: Segment
    source: Literal["default", "organisation"]
    updated_at: datetime | None = None
    updated_by: str | None = None


# What customers say (GET /pitch/v1/deals/what-customers-say).
class SaidWhere(BaseModel):
    """One mention: the note and the sentence it came from."""

    deal_id: str
    account_name: str
    note_id: str
    meeting_date: date
    text: str
    citation: Citation


class SaidTheme(BaseModel):
    kind: Literal["pain", "objection", "competitor", "system"]
    text: str = Field(description="a name, or the most central customer sentence of the theme")
    mentions: int
    deals: int = Field(description="distinct deals that raised it")
    by_segment: dict[str, int]
    by_persona: dict[str, int] = Field(description="personas of the stakeholders at those meetings")
    notes: list[SaidWhere] = Field(description="up to 10 notes behind the theme, newest first")


class CustomersSay(BaseModel):
    segment: Segment | None
    persona: str | None
    deals: int
    notes: int
    pains: list[SaidTheme]
    objections: list[SaidTheme]
    competitors: list[SaidTheme]
    systems: list[SaidTheme]
