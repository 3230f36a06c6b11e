"""Sales processes per segment (built-in YAML defaults, per-org overrides) and the next step a deal should take."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from services.pitch.deals.schemas import (
    ExitCriterion,
    Extracted,
    ProposedNextStep,
    SalesProcessIn,
    Stage,
    StakeholderIn,
)
from services.pitch.schemas import PersonaOut, Segment

CLOSED = ("closed_won", "closed_lost")
_DEFAULTS = Path(__file__).with_name("processes.yaml")


@functools.cache
def default_processes() -> dict[Segment, SalesProcessIn]:
    raw = yaml.safe_load(_DEFAULTS.read_text(encoding="utf-8"))
    return {Segment(segment): SalesProcessIn.model_validate(body) for segment, body in raw.items()}


def stage_ids(process: SalesProcessIn) -> list[str]:
    return [s.id for s in process.stages] + list(CLOSED)


@dataclass(frozen=True, slots=True)
class NoteEvidence:
    """What one stored note contributes to the criteria (its analysis as stored)."""

    meeting_date: date
    attendees: Sequence[str]
    text: str
    analysis: dict[str, Any]
    next_step_missing: bool
    note_id: str = ""


def _attended(stakeholder: StakeholderIn, notes: Sequence[NoteEvidence]) -> bool:
    name = stakeholder.name.lower()
    first = name.split()[0]
    for note in notes:
        for attendee in note.attendees:
            a = attendee.lower()
            if a == name or first in a.split() or name in a:
                return True
    return False


def criterion_done(
    criterion: ExitCriterion,
    stakeholders: Sequence[StakeholderIn],
    competitors: Sequence[str],
    notes: Sequence[NoteEvidence],
) -> bool:
    check = criterion.check
    if check is None or (not notes and check != "competitors"):
        return check == "competitors" and bool(competitors)
    if check == "pains":
        return any(n.analysis.get("pains") for n in notes)
    if check == "systems":
        return any(n.analysis.get("systems") for n in notes)
    if check == "competitors":
        return bool(competitors) or any(n.analysis.get("competitors") for n in notes)
    if check == "objections_answered":
        return not any(n.analysis.get("objections") for n in notes[:1])
    if check == "dated_next_step":
        return not notes[0].next_step_missing
    if check == "persona":
        wanted = set(criterion.personas)
        return any(s.persona in wanted and _attended(s, notes) for s in stakeholders)
    if check == "mentioned":
        texts = " ".join(n.text for n in notes).lower()
        return any(re.search(r"(?<!\w)" + re.escape(t.lower()) + r"(?!\w)", texts) for t in criterion.terms)
    return False


def propose_next_step(
    *,
    stage_id: str,
    process: SalesProcessIn,
    stakeholders: Sequence[StakeholderIn],
    competitors: Sequence[str],
    notes: Sequence[NoteEvidence],
    personas: dict[str, PersonaOut],
    today: date,
    persona: str | None = None,
) -> ProposedNextStep | None:
    """The step for the first exit criterion of the deal's stage that the notes do not show done; when all are,
    the first step of the next stage. `notes` newest first. None for a closed deal."""
    if stage_id in CLOSED:
        return None
    warnings: list[str] = []
    stages = list(process.stages)
    index = next((i for i, s in enumerate(stages) if s.id == stage_id), None)
    if index is None:
        warnings.append(f"stage '{stage_id}' is not in this segment's process any more; using '{stages[0].id}'")
        index = 0
    stage = stages[index]
    done = [c for c in stage.exit_criteria if criterion_done(c, stakeholders, competitors, notes)]
    missing = [c for c in stage.exit_criteria if c not in done]
    target_stage, criterion = stage, None
    if missing:
        criterion = missing[0]
        why = f"exit criterion of {stage.name}: {criterion.text}"
    elif index + 1 < len(stages):
        target_stage = stages[index + 1]
        criterion = target_stage.exit_criteria[0]
        why = f"{stage.name} is complete by the notes; next stage {target_stage.name}: {criterion.text}"
    else:
        criterion = stage.exit_criteria[-1]
        why = f"{stage.name} is complete by the notes: confirm the signature and close the deal"
    wanted = set(criterion.personas or target_stage.customer_personas)
    customers = [_label(s) for s in stakeholders if s.persona in wanted] or list(target_stage.customer_stakeholders)
    ours = list(dict.fromkeys([*target_stage.our_people, *target_stage.activate]))
    chosen = _persona_in_front(persona, stakeholders, notes, wanted)
    profile = personas.get(chosen) if chosen else None
    scheduled: Extracted | None = None
    if notes and not notes[0].next_step_missing:
        dated = [s for s in notes[0].analysis.get("next_steps", []) if s.get("date")]
        if dated:  # stored citations hold the sentence; the note they belong to is added here
            cited = {**dated[0]["citation"], "note_id": notes[0].note_id, "meeting_date": notes[0].meeting_date}
            scheduled = Extracted.model_validate({**dated[0], "citation": cited})
    return ProposedNextStep(
        stage=target_stage.id,
        stage_name=target_stage.name,
        action=criterion.action,
        why=why,
        customer_attendees=customers,
        our_attendees=ours,
        timeframe=_timeframe(criterion.within_days),
        by_date=today + timedelta(days=criterion.within_days),
        persona=chosen,
        persona_ask=profile.next_step if profile else None,
        criteria_done=[c.id for c in done],
        criteria_missing=[c.id for c in missing],
        scheduled=scheduled,
        warnings=warnings,
    )


def _label(s: StakeholderIn) -> str:
    return f"{s.name} ({s.role})" if s.role else s.name


def _timeframe(days: int) -> str:
    if days <= 1:
        return "today or tomorrow"
    if days % 7 == 0:
        weeks = days // 7
        return "within a week" if weeks == 1 else f"within {weeks} weeks"
    return f"within {days} days"


def _persona_in_front(
    asked: str | None, stakeholders: Sequence[StakeholderIn], notes: Sequence[NoteEvidence], wanted: set[str]
) -> str | None:
    """The persona the step is framed for: the one asked for, else a stakeholder the step needs who attended the
    latest meeting, else any stakeholder the step needs, else the first stakeholder with a persona."""
    if asked:
        return asked
    latest = notes[:1]
    for pool in (
        [s for s in stakeholders if s.persona in wanted and _attended(s, latest)],
        [s for s in stakeholders if s.persona in wanted],
        [s for s in stakeholders if s.persona],
    ):
        if pool:
            return pool[0].persona
    return None


def stage_of(process: SalesProcessIn, stage_id: str) -> Stage | None:
    return next((s for s in process.stages if s.id == stage_id), None)
