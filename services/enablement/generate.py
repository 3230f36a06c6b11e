"""Question generators: items built from the material, each with its provenance (document, version, chunk).

Every generator is extractive: prompts and keys quote the material; wrong options are other real material
(the nearest other features by embedding, facts of the same unit from elsewhere, other battlecards' claims,
the talk-track points pitch chose for a different buyer). Each measures whether a wrong option is also
defensible and drops it; what cannot be built well is rejected with a reason, and the gate in quality.py
checks the rest.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from services.core.sales import display_name, heading_side, jargon, mentions, sentence_side
from services.core.text import is_dangling, is_limitation
from services.core.tone import Tone, ToneProfile, analyse
from services.enablement.grading import claims_of
from services.enablement.material import MaterialChunk, MaterialDoc, content_words, normalise
from services.enablement.models import QuestionType
from services.enablement.pitch_client import PitchClient
from services.enablement.quality import ItemDraft, Source, check
from services.enablement.schemas import GeneratorKind

OPTIONS = 4
# A wrong option is defensible when the stem is this close (cosine) to its material, relative to the key's.
DEFENSIBLE_MARGIN = 0.05
# Another battlecard's claim this close to one of this battlecard's own claims is true here too.
SAME_CLAIM_COSINE = 0.6
SENTENCE_WORDS = (8, 45)
PERSONA_KEYS = 3
KEY_POINTS = 6  # short-answer key points per item (the schema allows 8)
PERSONA_SELECTION = 8
# A number and the word after it ("90 days", "99.95 percent", "40%"); the unit decides what is comparable.
_QUANTITY = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(\s?%|\s+[a-zA-Z]+)")

TYPE_OF = {
    GeneratorKind.WHICH_FEATURE: QuestionType.SINGLE,
    GeneratorKind.CLOZE_FACT: QuestionType.SINGLE,
    GeneratorKind.WHERE_WE_WIN: QuestionType.SINGLE,
    GeneratorKind.BUYER_PHRASING: QuestionType.SINGLE,
    GeneratorKind.PERSONA_LEAD: QuestionType.MULTI,
    GeneratorKind.EXPLAIN_FEATURE: QuestionType.SHORT,
    GeneratorKind.BE_READY_FOR: QuestionType.SINGLE,
    GeneratorKind.ANSWER_OBJECTION: QuestionType.SHORT,
}
# An objection is answered by the org's material only if some sentence of a feature, objection handler or
# battlecard is at least this close to it (all-MiniLM-L6-v2 cosine); below, the item is rejected, not guessed.
ANSWERS_OBJECTION_COSINE = 0.35

Embed = Callable[[Sequence[str]], np.ndarray]


class Rejected(Exception):
    def __init__(self, reason: str, source: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.source = source


@dataclass
class Generation:
    """Inputs shared by the generators of one request."""

    org_docs: dict[str, MaterialDoc]  # every live document of the org (the pool of wrong options)
    slice_docs: list[MaterialDoc]  # the documents the manager asked about
    embed: Embed
    rng: random.Random
    persona: str | None = None
    pitch: PitchClient | None = None
    objections: list[str] = field(default_factory=list)

    def features(self) -> list[MaterialDoc]:
        return [d for d in self.org_docs.values() if d.kind == "feature"]

    @cached_property
    def sources(self) -> dict[str, Source]:
        """The org's material as the quality gate reads it."""
        return {
            d.external_id: Source(d.external_id, d.title, d.kind, [s for c in d.chunks for s in c.sentences()],
                                  d.competitor)
            for d in self.org_docs.values()
        }  # fmt: skip


def _shuffled(options: list[str], keys: set[int], rng: random.Random) -> tuple[list[str], list[int]]:
    order = list(range(len(options)))
    rng.shuffle(order)
    return [options[i] for i in order], sorted(order.index(k) for k in keys)


def _prose(sentence: str) -> bool:
    """A sentence a quiz may quote alone: of a readable length, no heading or question, and no opening reference
    back ("It also ...", "This means ...") that needs the sentence before it."""
    words = len(sentence.split())
    return (
        SENTENCE_WORDS[0] <= words <= SENTENCE_WORDS[1]
        and not sentence.endswith(("?", ":"))
        and not is_dangling(sentence)
    )


def _closest_length(candidates: list[str], target: int, n: int) -> list[str]:
    return sorted(candidates, key=lambda c: abs(np.log(len(c) / max(target, 1))))[:n]


# --- which feature does this describe ------------------------------------------------------------------------


async def which_feature(gen: Generation, doc: MaterialDoc) -> ItemDraft:
    features = [f for f in gen.features() if f.document_id != doc.document_id]
    if doc.kind != "feature" or len(features) < OPTIONS - 1:
        raise Rejected("not_enough_material", doc.external_id)
    title_words = content_words(doc.title)
    candidates = [
        (chunk, s)
        for chunk in doc.chunks
        for s in chunk.sentences()
        if _statement(s) and not (content_words(s) & title_words)
    ]
    if not candidates:
        raise Rejected("no_usable_sentence", doc.external_id)
    vectors = gen.embed([s for _, s in candidates])
    own = (vectors @ doc.chunk_matrix().T).max(axis=1)
    others = {f.document_id: (vectors @ f.chunk_matrix().T).max(axis=1) for f in features}
    rival = np.max(np.stack(list(others.values())), axis=0)
    margin = own - rival
    ranked = [int(i) for i in np.argsort(-margin) if margin[i] >= DEFENSIBLE_MARGIN]
    if not ranked:
        raise Rejected("two_defensible_answers", doc.external_id)
    best = ranked[gen.rng.randrange(min(3, len(ranked)))]  # one of the three most telling sentences
    chunk, sentence = candidates[best]
    # Wrong options: the nearest other features by embedding, unless the sentence fits them nearly as well.
    nearest = sorted(features, key=lambda f: -float(f.centroid @ doc.centroid))
    usable = [f.title for f in nearest[:12] if own[best] - others[f.document_id][best] >= DEFENSIBLE_MARGIN]
    usable = [t for t in usable if normalise(t) != normalise(doc.title)]
    if len(usable) < OPTIONS - 1:
        raise Rejected("two_defensible_answers", doc.external_id)
    wrong = _closest_length(usable[:6], len(doc.title), OPTIONS - 1)
    options, answers = _shuffled([doc.title, *wrong], {0}, gen.rng)
    return ItemDraft(
        type=QuestionType.SINGLE,
        origin=GeneratorKind.WHICH_FEATURE,
        prompt=f'Which feature does this describe? "{sentence}"',
        options=options,
        answers=answers,
        explanation=f"Quoted from {doc.title}.",
        topic=doc.title,
        sources=[chunk],
        source_reveals_key=True,
        evidence=[sentence],
    )


# --- a fact about a feature (cloze) --------------------------------------------------------------------------


def _quantities(docs: Sequence[MaterialDoc]) -> dict[str, set[str]]:
    """unit -> numbers seen with it anywhere in the material ("days" -> {"30", "90"})."""
    found: dict[str, set[str]] = {}
    for doc in docs:
        for chunk in doc.chunks:
            for number, unit in _QUANTITY.findall(chunk.text):
                found.setdefault(unit.strip().lower(), set()).add(number)
    return found


def _value(number: str) -> float:
    return float(number.replace(",", ""))


def _plausible(number: str, seen: set[str]) -> list[str]:
    """Wrong figures: others used with the same unit in the material, nearest in size first but at least 15%
    away (a near miss is a quibble, not a test); then multiples of the right one."""
    value = _value(number)
    pool = sorted(
        (n for n in seen if _value(n) > 0 and abs(np.log(_value(n) / value)) >= np.log(1.15)),
        key=lambda n: abs(np.log(_value(n) / value)),
    )
    return pool + [n for n in _scaled(number) if n not in pool]


def _scaled(number: str) -> list[str]:
    value = _value(number)
    is_int = "." not in number
    out = []
    for factor in (2, 0.5, 3, 1.5, 4):
        scaled = value * factor
        if is_int:
            if scaled != int(scaled):
                continue
            text = f"{int(scaled):,}" if "," in number else str(int(scaled))
        else:
            text = f"{scaled:.{len(number.split('.')[1])}f}"
        if text != number and scaled > 0:
            out.append(text)
    return out


async def cloze_fact(gen: Generation, doc: MaterialDoc) -> ItemDraft:
    pool = _quantities(list(gen.org_docs.values()))
    candidates = [(chunk, s) for chunk in doc.chunks for s in chunk.sentences()]
    gen.rng.shuffle(candidates)
    for chunk, sentence in candidates:
        if not _prose(sentence):
            continue
        for match in _QUANTITY.finditer(sentence):
            number, unit = match.group(1), match.group(2)
            unit_key = unit.strip().lower()
            if unit_key in STOP_UNITS or (len(number) == 4 and number.startswith(("19", "20"))) or not _value(number):
                continue  # not a quantity (a year, "0 downtime" has no plausible neighbours)
            before = sentence[: match.start()].split()
            previous = before[-1] if before else ""
            if any(c.isupper() for c in previous[1:]) or (len(before) > 1 and previous[:1].isupper()):
                continue  # part of a name or version: "SOC 2", "OAuth 2.0", "Plan 3" (not "Within 60 s")
            seen = {n for n in pool.get(unit_key, set()) if n != number}
            wrong = [
                n for n in _plausible(number, seen) if not re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d])", sentence)
            ]
            if len(wrong) < OPTIONS - 1:
                continue
            values = [number, *wrong[: OPTIONS - 1]]
            options, answers = _shuffled(values, {0}, gen.rng)
            # Only the figure is blanked; its unit stays in the sentence.
            stem = sentence[: match.start(1)] + "____" + sentence[match.end(1) :]
            return ItemDraft(
                type=QuestionType.SINGLE,
                origin=GeneratorKind.CLOZE_FACT,
                prompt=f'Fill in the blank ({doc.title}): "{stem}"',
                options=options,
                answers=answers,
                explanation=f'"{sentence}"',
                topic=doc.title,
                sources=[chunk],
                competitor=doc.competitor,
                evidence=[sentence],
            )
    raise Rejected("no_fact_with_a_number", doc.external_id)


# Words after a number that do not make a comparable quantity.
STOP_UNITS = frozenset({"and", "or", "to", "of", "the", "a", "in", "on", "for", "with", "is", "are", "by"})


_BOTH = re.compile(r"\bboth\b", re.I)


# --- where we win against a competitor ------------------------------------------------------------------------


def _mask(text: str, names: set[str]) -> str:
    """The competitor's names replaced by "the competitor" ("Tessellate's own storage" -> "the competitor's own
    storage"), so an option never names whom it is about."""
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(
            rf"\b{re.escape(name)}(['\u2019]s)?\b",
            lambda m: "the competitor's" if m.group(1) else "the competitor",
            text,
            flags=re.I,
        )
    return text[:1].upper() + text[1:]


def _claims(doc: MaterialDoc, side: str, *, prose: bool = False) -> list[tuple[MaterialChunk, str]]:
    """The prose sentences on `side` ("win" or "theirs") of competitor material, read as the talk track reads it
    (services/core/sales.py): a battlecard's sections by their headings. With `prose`, for "win", a comparison page
    with no such heading is read sentence by sentence, keeping only the sentences about us alone (a key must be
    right, and a sentence about both sides is too easily read the wrong way). Such claims are true of us against
    any competitor, so they key a short answer ("where do we win against X?") but never a choice item, where
    another card's claims are the wrong options."""
    ours = [doc.product] if doc.product else []
    theirs = [doc.competitor, doc.competitor.replace("-", " ")] if doc.competitor else []
    sides = [(c, heading_side(c.section.split(" > ")[-1], ours, theirs)) for c in doc.chunks]
    headed = [(c, s) for c, h in sides if h == side for s in c.sentences() if _prose(s)]
    if headed or any(h is not None for _, h in sides) or side != "win" or not prose:
        return headed
    # Unambiguous claims only: a quiz key must be right. About us alone (no mention of them, no "both"), no limit.
    return [
        (c, s)
        for c, _ in sides
        for s in c.sentences()
        if _prose(s) and sentence_side(s, ours, theirs) == "win" and mentions(s, theirs) < 0 and not _BOTH.search(s)
    ]


def _display_name(doc: MaterialDoc) -> str:
    """The competitor's name as the material writes it (the talk track's rule), else its id in title case."""
    name = (doc.competitor or "").replace("-", " ")
    if not name:
        return ""
    shown = display_name(name, [doc.title, *(c.text for c in doc.chunks)])
    return shown if shown != name else name.title()


async def where_we_win(gen: Generation, doc: MaterialDoc) -> ItemDraft:
    if doc.kind != "competitor" or not doc.competitor:
        raise Rejected("not_a_battlecard", doc.external_id)
    wins = _claims(doc, "win")
    if not wins:
        raise Rejected("no_where_we_win_section", doc.external_id)
    cards = [d for d in gen.org_docs.values() if d.kind == "competitor" and d.competitor]
    # The competitor's name as indexed ("brightfunnel", "acme-cloud") and spelled out ("acme cloud").
    names = {str(d.competitor) for d in cards} | {str(d.competitor).replace("-", " ") for d in cards}
    others = [(c, s) for d in cards if d.document_id != doc.document_id for c, s in _claims(d, "win")]
    own_strengths = _claims(doc, "theirs")
    pool = others or own_strengths
    if len(pool) < OPTIONS - 1:
        raise Rejected("not_enough_material", doc.external_id)
    key_chunk, key = wins[gen.rng.randrange(len(wins))]
    own_vectors = gen.embed([s for _, s in wins])
    pool_vectors = gen.embed([s for _, s in pool])
    # A claim from another battlecard that one of this card's claims also makes would be a second answer.
    same = (pool_vectors @ own_vectors.T).max(axis=1)
    usable = [pool[i] for i in range(len(pool)) if same[i] < SAME_CLAIM_COSINE]
    if len(usable) < OPTIONS - 1:
        raise Rejected("two_defensible_answers", doc.external_id)
    key_text = _mask(key, names)
    wrong = _closest_length([_mask(s, names) for _, s in usable], len(key_text), OPTIONS - 1)
    options, answers = _shuffled([key_text, *wrong], {0}, gen.rng)
    display = _display_name(doc)
    return ItemDraft(
        type=QuestionType.SINGLE,
        origin=GeneratorKind.WHERE_WE_WIN,
        prompt=f"Which of these is a point where we win against {display}, according to our battlecard?",
        options=options,
        answers=answers,
        explanation=f'From the battlecard "{doc.title}": "{key}"',
        topic=f"where we win against {display}",
        competitor=doc.competitor,
        sources=[key_chunk],
        evidence=[key],
    )


# --- which features lead with a persona (keyed from pitch's selection) ---------------------------------------


async def persona_lead(gen: Generation, persona: str) -> ItemDraft:
    if gen.pitch is None:
        raise Rejected("pitch_service_not_reachable", persona)
    profiles = await gen.pitch.personas()
    names = {p["id"]: p.get("name", p["id"]) for p in profiles}
    track = await gen.pitch.talk_track(persona, PERSONA_SELECTION)
    chosen = track.get("features", [])
    if track.get("abstained") or len(chosen) < PERSONA_KEYS:
        raise Rejected("not_enough_material", persona)
    selected = {f["document_id"] for f in chosen}
    keys = chosen[:PERSONA_KEYS]
    key_docs = [gen.org_docs[f["document_id"]] for f in keys if f["document_id"] in gen.org_docs]
    if len(key_docs) < PERSONA_KEYS:
        raise Rejected("unsupported_key", persona)
    # Wrong options: features pitch did not pick for this buyer at all, first those it leads with for a buyer
    # of the other tone (they lead somewhere, just not here), then those least like the keys.
    rest = [f for f in gen.features() if f.document_id not in selected]
    if len(rest) < OPTIONS - 1:
        raise Rejected("two_defensible_answers", persona)
    tone = next((p.get("tone") for p in profiles if p["id"] == persona), None)
    contrast = next((p["id"] for p in profiles if p.get("built_in") and p.get("tone") != tone), None)
    rank: dict[str, int] = {}
    if contrast is not None:
        other = await gen.pitch.talk_track(contrast, PERSONA_SELECTION)
        rank = {f["document_id"]: i for i, f in enumerate(other.get("features", []))}
    centre = np.mean([d.centroid for d in key_docs], axis=0)
    rest.sort(key=lambda f: (rank.get(f.document_id, len(rank)), float(f.centroid @ centre)))
    wrong = [f.title for f in rest[: OPTIONS - 1]]
    options, answers = _shuffled([d.title for d in key_docs] + wrong, set(range(PERSONA_KEYS)), gen.rng)
    sources: list[MaterialChunk | dict[str, Any]] = [f["points"][0]["citation"] for f in keys if f.get("points")]
    return ItemDraft(
        type=QuestionType.MULTI,
        origin=GeneratorKind.PERSONA_LEAD,
        prompt=f"Which {PERSONA_KEYS} features should you lead with for a {names.get(persona, persona)}? "
        "Choose all that apply.",
        options=options,
        answers=answers,
        explanation=f"The talk track for {persona} leads with: {', '.join(d.title for d in key_docs)}.",
        topic=f"what leads with {persona}",
        persona=persona,
        sources=sources,
        source_reveals_key=True,  # its sources are the keyed features
        recipe={"persona": persona},
    )


# --- which phrasing suits a business buyer --------------------------------------------------------------------


async def buyer_phrasing(gen: Generation, persona: str) -> ItemDraft:
    if gen.pitch is None:
        raise Rejected("pitch_service_not_reachable", persona)
    profiles = {p["id"]: p for p in await gen.pitch.personas()}
    profile = profiles.get(persona)
    if profile is None or profile.get("tone") != "business":
        raise Rejected("persona_is_not_a_business_buyer", persona)
    technical = next((p for p in profiles.values() if p.get("tone") == "technical" and p.get("built_in")), None)
    if technical is None:
        raise Rejected("no_technical_persona", persona)
    avoid, prefer = tuple(profile.get("avoid", [])), tuple(profile.get("prefer", []))
    business_points = [p for f in (await gen.pitch.talk_track(persona, 6))["features"] for p in f["points"]]
    technical_points = [p for f in (await gen.pitch.talk_track(technical["id"], 8))["features"] for p in f["points"]]
    keys = [p for p in business_points if not jargon(p["text"], avoid, prefer)]
    wrong = [p for p in technical_points if jargon(p["text"], avoid, prefer)]
    if not keys:
        raise Rejected("unsupported_key", persona)
    if len(wrong) < OPTIONS - 1:
        raise Rejected("not_enough_material", persona)
    key = keys[gen.rng.randrange(len(keys))]
    chosen = _closest_length([p["text"] for p in wrong], len(key["text"]), OPTIONS - 1)
    by_text = {p["text"]: p for p in wrong}
    options, answers = _shuffled([key["text"], *chosen], {0}, gen.rng)
    return ItemDraft(
        type=QuestionType.SINGLE,
        origin=GeneratorKind.BUYER_PHRASING,
        prompt=f"Which line would you use with a {profile.get('name', persona)}, a business buyer?",
        options=options,
        answers=answers,
        explanation="The other lines carry technical terms this buyer does not use.",
        topic=f"phrasing for {persona}",
        persona=persona,
        sources=[key["citation"], *(by_text[t]["citation"] for t in chosen)],
        source_reveals_key=True,  # the key's chunk comes first
        recipe={"persona": persona},
    )


# --- what to be ready for -------------------------------------------------------------------------------------


async def be_ready_for(gen: Generation, doc: MaterialDoc) -> ItemDraft:
    """Single choice: which limitation of this feature a rep must be ready to disclose. The key is a sentence of
    the feature that states a limit, prerequisite or plan restriction (`is_limitation`, the rule talk tracks use
    for `be_ready_for`); wrong options are limitations stated by other features, of a similar length, unless
    one is close to a sentence of this feature (then it may hold here too)."""
    if doc.kind != "feature":
        raise Rejected("not_a_feature", doc.external_id)
    own = [(c, s) for c in doc.chunks for s in c.sentences() if _prose(s) and is_limitation(s, c.section)]
    if not own:
        raise Rejected("no_limitation", doc.external_id)
    chunk, key = own[gen.rng.randrange(len(own))]
    others = list(
        dict.fromkeys(
            s
            for f in gen.features()
            if f.document_id != doc.document_id
            for c in f.chunks
            for s in c.sentences()
            if _prose(s) and is_limitation(s, c.section)
        )
    )
    if len(others) < OPTIONS - 1:
        raise Rejected("not_enough_material", doc.external_id)
    mine = gen.embed([s for c in doc.chunks for s in c.sentences()])
    vectors = gen.embed(others)
    usable = [s for s, v in zip(others, vectors, strict=True) if float((mine @ v).max()) < SAME_CLAIM_COSINE]
    if len(usable) < OPTIONS - 1:
        raise Rejected("two_defensible_answers", doc.external_id)
    wrong = _closest_length(usable, len(key), OPTIONS - 1)
    options, answers = _shuffled([key, *wrong], {0}, gen.rng)
    return ItemDraft(
        type=QuestionType.SINGLE,
        origin=GeneratorKind.BE_READY_FOR,
        prompt=f"A buyer is evaluating {doc.title}. Which of these must a rep be ready to disclose about it?",
        options=options,
        answers=answers,
        explanation=f"Stated in {doc.title}; the other options are limits of other features.",
        topic=doc.title,
        sources=[chunk],
        evidence=[key],
    )


def _mmr(vectors: np.ndarray, relevance: np.ndarray, k: int, *, floor: float | None = None) -> list[int]:
    """Up to `k` rows, each the most relevant less half its cosine to the closest row taken (MMR), returned in
    reading order; past the first, none whose relevance is below `floor`."""
    taken: list[int] = []
    while len(taken) < min(k, len(vectors)):
        novelty = (vectors @ vectors[taken].T).max(axis=1) if taken else np.zeros(len(vectors))
        score = relevance - 0.5 * novelty
        score[taken] = -np.inf
        pick = int(np.argmax(score))
        if taken and floor is not None and float(relevance[pick]) < floor:
            break
        taken.append(pick)
    return sorted(taken)


# --- explain a feature in your own words (short answer) -------------------------------------------------------


EXPLAINABLE = ("feature", "objection", "competitor")


# What a feature does for a customer is said in sentences a talk track would pitch: the shared tone rules
# (services/core/tone.py) score a sentence's value for a business reader (outcomes, figures, business sections);
# VALUE_WEIGHT of that score is added to its centrality (cosine to the document's centroid, 0.3-0.8 here).
VALUE_WEIGHT = 0.1
_CUSTOMER = ToneProfile(Tone.BUSINESS, (), ())
# A sentence that tells the reader what to do (a step, a setting, a command: an instruction verb first, or after an
# opening phrase, "To find ..., use ...", "On hosted projects, edit ...") says nothing a rep tells a buyer.
# Generic English instruction verbs.
_INSTRUCTION = frozenset(
    """add apply call change check choose click configure connect copy create define delete deploy disable download
    edit enable ensure enter export fill follow go import install learn log make navigate open paste pick press read
    refer remove replace restart run save scroll see select set sign specify start submit switch try turn type
    update upload use verify visit write""".split()  # noqa: SIM905
)
_OPENING_CLAUSE = re.compile(r"^[^,]{0,80},\s*(\w+)")
# An example or an aside, not the point ("For example, to find all books ...", "Note: for billing purposes ...").
_EXAMPLE = re.compile(r"^(?:for example|for instance|e\.g\.|note|tip|important|warning|caution)\b", re.I)
# Working a user interface ("you can also simply click Read on ...") is a step too, wherever it stands.
_UI_ACTION = re.compile(r"\b(?:click|tap|scroll|navigate|paste|drag|toggle)(?:s|ed|ing)?\b", re.I)
# Code in prose: backticks, camelCase or snake_case identifiers, paths, calls, operators.
_CODE = re.compile(r"`|\b[a-z]+[A-Z]\w*|\b\w+_\w+|\./|\w\(\)|[@{}<>|=]")


def _instruction(sentence: str, title: str = "") -> bool:
    """Whether the sentence tells the reader what to do. A sentence that opens with the feature's own name ("Log
    drains send...", "Read replicas serve...") is about the feature, whatever that name's first word."""
    first = re.match(r"[\W_]*(\w+)", sentence)
    if first is not None and first.group(1).lower() in _INSTRUCTION:
        return first.group(1).lower() not in {w.lower() for w in re.findall(r"\w+", title)}
    opening = _OPENING_CLAUSE.match(sentence)
    return opening is not None and opening.group(1).lower() in _INSTRUCTION


def _statement(sentence: str, title: str = "") -> bool:
    """A sentence that states something about the product (`title`: the feature it comes from): prose, no question,
    no step to follow, no example, no aside ("Note: ..."), no code."""
    return (
        _prose(sentence)
        and not _question(sentence)
        and not _instruction(sentence, title)
        and not _UI_ACTION.search(sentence)
        and not _EXAMPLE.match(sentence)
        and not _CODE.search(sentence)
    )


def _says_what_it_does(chunk: MaterialChunk, sentence: str) -> bool:
    """A sentence fit to say what a feature does for a customer: a statement and no limitation (those are for
    `be_ready_for`)."""
    return _statement(sentence, chunk.title) and not is_limitation(sentence, chunk.section)


async def explain_feature(gen: Generation, doc: MaterialDoc) -> ItemDraft:
    """Short answer: what the feature does for a customer, in the doc's central sentences a talk track would pitch
    (closest to the whole document plus their value for a business reader, each unlike the ones taken: MMR), or
    for a battlecard, its "where we win" claims."""
    if doc.kind not in EXPLAINABLE:
        raise Rejected("not_explainable", doc.external_id)
    if doc.kind == "competitor":
        sentences = _claims(doc, "win", prose=True)
    else:
        sentences = [(c, s) for c in doc.chunks for s in c.sentences() if _says_what_it_does(c, s)]
    if len(sentences) < 2:
        raise Rejected("no_usable_sentence", doc.external_id)
    vectors = gen.embed([s for _, s in sentences])
    relevance = vectors @ doc.centroid
    if doc.kind != "competitor":
        value = [analyse(s, c.section, _CUSTOMER)[0] for c, s in sentences]
        relevance = relevance + VALUE_WEIGHT * np.array([v or 0.0 for v in value])
    points = [sentences[i] for i in _mmr(vectors, relevance, 3)]
    display = _display_name(doc)
    prompt = {
        "feature": f"In two or three sentences, what does {doc.title} do for a customer?",
        "objection": f"A buyer raises this: {doc.title}. How do you answer it?",
        "competitor": f"Where do we win against {display}? Give the main points.",
    }[doc.kind]
    return ItemDraft(
        type=QuestionType.SHORT,
        origin=GeneratorKind.EXPLAIN_FEATURE,
        prompt=prompt,
        reference_answer=" ".join(s for _, s in points),
        key_points=_key_points(points),
        topic=doc.title,
        competitor=doc.competitor,
        sources=list({c.id: c for c, _ in points}.values()),
        evidence=[s for _, s in points],
    )


# --- how to answer an objection a buyer raised (short answer) ---------------------------------------------------

ANSWERING_KINDS = ("feature", "objection", "competitor")


async def answer_objection(gen: Generation, objection: str) -> ItemDraft:
    """Short answer: how to answer an objection buyers raise (a manager's words, often from meeting notes). The
    key is the document that answers it best (its sentences closest to the objection: the best one at least
    ANSWERS_OBJECTION_COSINE), up to three of its sentences, each unlike the ones taken (MMR), cited."""
    candidates = [
        (d, c, s)
        for d in gen.org_docs.values()
        if d.kind in ANSWERING_KINDS
        for c in d.chunks
        for s in c.sentences()
        if _prose(s) and not _question(s)
    ]
    if not candidates:
        raise Rejected("not_enough_material", objection[:80])
    asked = gen.embed([objection])[0]
    vectors = gen.embed([s for _, _, s in candidates])
    sims = vectors @ asked
    best = int(np.argmax(sims))
    if float(sims[best]) < ANSWERS_OBJECTION_COSINE:
        raise Rejected("no_material_answers_it", objection[:80])
    doc = candidates[best][0]
    rows = [i for i, (d, _, _) in enumerate(candidates) if d.document_id == doc.document_id]
    # Past the first, a sentence this far from the objection is about something else.
    chosen = _mmr(vectors[rows], sims[rows], 3, floor=ANSWERS_OBJECTION_COSINE / 2)
    points = [(candidates[rows[i]][1], candidates[rows[i]][2]) for i in chosen]
    quoted = objection.strip().rstrip(".")
    return ItemDraft(
        type=QuestionType.SHORT,
        origin=GeneratorKind.ANSWER_OBJECTION,
        prompt=f'A buyer says: "{quoted}." How do you answer, and what in our product backs you up?',
        reference_answer=" ".join(s for _, s in points),
        key_points=_key_points(points),
        explanation=f"Answered by {doc.title}.",
        topic=doc.title,
        competitor=doc.competitor,
        sources=list({c.id: c for c, _ in points}.values()),
        evidence=[s for _, s in points],
    )


def _key_points(points: Sequence[tuple[MaterialChunk, str]]) -> list[dict[str, Any]]:
    """The claims a rep must make, clause by clause (`claims_of`: asides and ruled-out alternatives dropped),
    each cited to its sentence's chunk; at most KEY_POINTS, taken round-robin so every sentence counts."""
    per_sentence = [[(c, claim) for claim in claims_of(s).asserted] for c, s in points]
    ordered = [pair for row in itertools.zip_longest(*per_sentence) for pair in row if pair is not None]
    return [{"text": claim, "citation": c.citation()} for c, claim in ordered[:KEY_POINTS]]


def _question(sentence: str) -> bool:
    return sentence.endswith("?") or sentence.lower().startswith(("ask:", "q:"))


# --- orchestration ---------------------------------------------------------------------------------------------

# Which documents each generator can work from.
APPLIES_TO = {
    GeneratorKind.WHICH_FEATURE: ("feature",),
    GeneratorKind.CLOZE_FACT: ("feature", "competitor", "case_study", "objection"),
    GeneratorKind.WHERE_WE_WIN: ("competitor",),
    GeneratorKind.EXPLAIN_FEATURE: EXPLAINABLE,
    GeneratorKind.BE_READY_FOR: ("feature",),
}
DOC_GENERATORS = {
    GeneratorKind.WHICH_FEATURE: which_feature,
    GeneratorKind.CLOZE_FACT: cloze_fact,
    GeneratorKind.WHERE_WE_WIN: where_we_win,
    GeneratorKind.EXPLAIN_FEATURE: explain_feature,
    GeneratorKind.BE_READY_FOR: be_ready_for,
}
PERSONA_GENERATORS = {GeneratorKind.PERSONA_LEAD: persona_lead, GeneratorKind.BUYER_PHRASING: buyer_phrasing}
# Generators whose source is text the manager gave (not a document of the slice).
TEXT_GENERATORS = {GeneratorKind.ANSWER_OBJECTION: answer_objection}


def default_kinds(gen: Generation, types: Sequence[QuestionType] | None) -> list[GeneratorKind]:
    kinds_in_slice = {d.kind for d in gen.slice_docs}
    kinds = [k for k, applies in APPLIES_TO.items() if kinds_in_slice & set(applies)]
    if gen.persona:
        kinds += [GeneratorKind.PERSONA_LEAD, GeneratorKind.BUYER_PHRASING]
    if gen.objections:
        kinds.append(GeneratorKind.ANSWER_OBJECTION)
    return [k for k in kinds if types is None or TYPE_OF[k] in types]


@dataclass
class Outcome:
    accepted: list[ItemDraft]
    generated: int
    rejections: list[tuple[str, str, str | None]]  # (generator, reason, source)
    notes: list[str] = field(default_factory=list)

    def by_reason(self) -> dict[str, int]:
        return dict(Counter(r for _, r, _ in self.rejections))


def _keys(item: ItemDraft) -> list[str]:
    return [normalise(item.options[i]) for i in item.answers or []] if item.options else []


def _contains(text: str, phrase: str) -> bool:
    """Whole words: "99" is not in "1990", "sso" is not in "lessons"."""
    return bool(phrase) and re.search(rf"(?<![\w.]){re.escape(phrase)}(?![\w])", text) is not None


def reveals(item: ItemDraft, others: Sequence[ItemDraft]) -> bool:
    """Whether one item's prompt gives away another's answer within the same quiz (a fact item naming the
    feature that a "which feature" item asks for)."""
    prompt = normalise(item.prompt)
    return any(_contains(prompt, k) for o in others for k in _keys(o)) or any(
        _contains(normalise(o.prompt), k) for o in others for k in _keys(item)
    )


async def generate(
    gen: Generation, kinds: Sequence[GeneratorKind], count: int, existing: Sequence[ItemDraft] = ()
) -> Outcome:
    """Round-robin over the generators (and, within each, over the slice's documents in a shuffled order), so
    a quiz spreads over its material; stops at `count` accepted items or when every source is used. An item
    that would give away another item's answer (`existing` ones included) is rejected too."""
    queues: list[Iterator[tuple[GeneratorKind, Any]]] = []
    for kind in kinds:
        if kind in PERSONA_GENERATORS:
            queues.append(iter([(kind, gen.persona)] if gen.persona else []))
        elif kind in TEXT_GENERATORS:
            queues.append(iter([(kind, text) for text in gen.objections]))
        else:
            docs = [d for d in gen.slice_docs if d.kind in APPLIES_TO[kind]]
            gen.rng.shuffle(docs)
            queues.append(iter([(kind, d) for d in docs]))
    outcome = Outcome([], 0, [])
    seen_prompts: set[str] = set()
    while queues and len(outcome.accepted) < count:
        for queue in list(queues):
            if len(outcome.accepted) >= count:
                break
            step = next(queue, None)
            if step is None:
                queues.remove(queue)
                continue
            kind, source = step
            label = source.external_id if isinstance(source, MaterialDoc) else str(source)[:80]
            try:
                if kind in PERSONA_GENERATORS:
                    item = await PERSONA_GENERATORS[kind](gen, source)
                elif kind in TEXT_GENERATORS:
                    item = await TEXT_GENERATORS[kind](gen, source)
                else:
                    item = await DOC_GENERATORS[kind](gen, source)
            except Rejected as rejected:
                outcome.rejections.append((kind.value, rejected.reason, rejected.source or label))
                continue
            outcome.generated += 1
            reason = check(item, gen.embed, gen.sources)
            if reason is None and normalise(item.prompt) in seen_prompts:
                reason = "duplicate_item"
            if reason is None and reveals(item, [*existing, *outcome.accepted]):
                reason = "reveals_another_answer"
            if reason is not None:
                outcome.rejections.append((kind.value, reason, label))
                continue
            item.recipe = {"kind": kind.value, "source": label, **item.recipe}
            seen_prompts.add(normalise(item.prompt))
            outcome.accepted.append(item)
    return outcome
