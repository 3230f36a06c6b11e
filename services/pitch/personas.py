"""Buyer personas: the built-in profiles (personas.yaml) and each organisation's custom ones."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from services.pitch.schemas import PersonaIn, PersonaOut

_BUILT_IN = Path(__file__).with_name("personas.yaml")


@lru_cache(maxsize=1)
def built_in() -> dict[str, PersonaOut]:
    raw = yaml.safe_load(_BUILT_IN.read_text())
    return {pid: PersonaOut(id=pid, built_in=True, **profile) for pid, profile in raw.items()}


def from_custom(profile: dict[str, object]) -> PersonaOut:
    return PersonaOut(built_in=False, **PersonaIn.model_validate(profile).model_dump())
