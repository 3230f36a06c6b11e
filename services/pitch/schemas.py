"""Request and response models of the pitch API (DESIGN section 4)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.core.sales import Citation
from services.core.tone import Tone


class Segment(StrEnum):
    SMB = "smb"
    MID_MARKET = "mid_market"
    ENTERPRISE = "enterprise"


PersonaId = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Phrase = Annotated[str, Field(min_length=1, max_length=300)]


class TalkTrackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    persona: PersonaId | None = Field(
        default=None, description="required unless `deal_id` and `stakeholder` name a stakeholder with a persona"
    )
    persona_brief: str | None = Field(default=None, max_length=1000, description="shifts the persona's priorities")
    context: str | None = Field(default=None, max_length=2000, description="the deal: situation, pains, goals")
    segment: Segment | None = None
    competitor: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        pattern=r"\w",
        description="the competitor's name as your notes name it (must contain a letter or digit)",
    )
    max_features: int = Field(default=4, ge=1, le=8)
    deal_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="a deal you can read: its notes' pains, systems, competitors and objections shape the track",
    )
    stakeholder: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="a stakeholder of the deal, by name: their persona is used when `persona` is not given",
    )

    @model_validator(mode="after")
    def _who(self) -> TalkTrackIn:
        if self.stakeholder is not None and self.deal_id is None:
            raise ValueError("`stakeholder` names a person on a deal: send `deal_id` too")
        if self.persona is None and self.stakeholder is None:
            raise ValueError(
                "give `persona`, or `deal_id` with `stakeholder` (the name of a stakeholder of the deal with a persona)"
            )
        return self


class Point(BaseModel):
    text: str
    citation: Citation


class Feature(BaseModel):
    document_id: str
    external_id: str
    title: str
    heading: str = Field(
        default="",
        description="what the track calls the feature: its title, or for a business buyer whose title is jargon "
        "the first plain heading of the document's own text",
    )
    score: float
    why: str
    points: list[Point] = Field(description="what to say: claims of value, never a limitation")
    be_ready_for: list[Point] = Field(
        default_factory=list, description="limits, prerequisites and plan restrictions the buyer may raise (cited)"
    )
    proof: Point | None = Field(default=None, description="one cited result from a case study in the library")
    already_presented: bool = Field(
        default=False, description="shown in an earlier talk track for the same deal (false without `deal_id`)"
    )
    customer_said: list[NoteCitation] = Field(
        default_factory=list,
        description="with `deal_id`: what the customer said in this deal's meetings that this feature speaks to "
        "(closest note sentences, cited to the note)",
    )


class Objection(BaseModel):
    objection: str
    response: Point = Field(description="two or three contiguous sentences of the notes where they exist, cited")


class CompetitorSection(BaseModel):
    name: str = Field(description="the competitor's name as the notes write it")
    where_we_win: list[Point]
    objections: list[Objection]
    where_they_are_stronger: list[Point] = Field(default_factory=list, description="where the notes concede ground")
    landmine_questions: list[str] = Field(default_factory=list)


class NoteCitation(BaseModel):
    """A sentence of a deal's meeting note (deals cite their notes with this)."""

    note_id: str
    sentence: int = Field(description="index into the note's `sentences`")
    text: str = Field(description="the sentence as written in the note")
    meeting_date: date


class DealObjection(BaseModel):
    objection: NoteCitation = Field(description="the objection as the note records it")
    response: Point | None = Field(
        default=None, description="the library passage that answers it, cited; null when none is close enough"
    )
    similarity: float | None = Field(default=None, description="cosine of the objection and the passage's chunk")


class DealSection(BaseModel):
    """What the deal added to the track; everything from notes cites its note."""

    deal_id: str
    account: str
    stage: str
    context: list[NoteCitation] = Field(
        default_factory=list, description="the pains and goals from the notes that joined the context"
    )
    systems: list[str] = Field(default_factory=list, description="systems named in the notes, used as needs")
    competitors: list[str] = Field(default_factory=list, description="the deal's competitors and those in its notes")
    objections: list[DealObjection] = Field(default_factory=list)
    already_presented: list[str] = Field(
        default_factory=list, description="external ids of features shown in earlier tracks for this deal"
    )
    next_step: str | None = Field(description="the deal's proposed next step (its process); null for a closed deal")
    next_step_agreed: NoteCitation | None = Field(
        default=None, description="the dated next step the latest note already records, if any"
    )


class TalkTrack(BaseModel):
    persona: str
    tone: Tone
    features: list[Feature]
    competitor: CompetitorSection | None = None
    discovery_questions: list[str]
    next_step: str
    abstained: bool
    warnings: list[str]
    deal: DealSection | None = Field(default=None, description="present when the request named a deal")


class PersonaIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: PersonaId
    name: str = Field(min_length=1, max_length=120)
    tone: Tone
    measured_on: list[Phrase] = Field(default_factory=list, max_length=20)
    priorities: list[Phrase] = Field(min_length=1, max_length=10, description="what to search the material for")
    prefer: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=100)
    avoid: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=200)
    discovery_questions: list[Phrase] = Field(default_factory=list, max_length=20)
    next_step: str | None = Field(
        default=None, max_length=500, description="what to book with this buyer before the call ends"
    )


class PersonaOut(PersonaIn):
    built_in: bool
    updated_at: datetime | None = None


class TalkTrackRequestOut(BaseModel):
    """A talk track you asked for, as logged: what you asked and which features it showed."""

    id: str
    persona: str
    context: str | None
    competitor: str | None
    segment: Segment | None
    deal_id: str | None
    features: list[str] = Field(description="external ids of the features the track showed, in rank order")
    abstained: bool
    created_at: datetime = Field(description="when you last asked for this track")


class PassageOut(BaseModel):
    """A cited passage (`citation.chunk_id`) as a rep reads it: the chunk's text with its document's title,
    section, version and as-of date."""

    chunk_id: str
    document_id: str
    external_id: str
    version: int
    title: str
    section: str
    as_of: str | None
    text: str
