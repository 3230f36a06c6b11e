"""The competitor section, from notes of any shape: battlecards with headings ("Where we win", "Likely
objections", "Landmines"), prose comparison pages (a section per topic), or comparison tables turned to text.

Headings decide where they exist. Elsewhere each sentence is read for who it is about (our product, the
competitor, both) and which way it cuts (a limitation or weakness, a strength): a weakness of theirs or a
claim of ours is where we win; a strength of theirs, or a limitation of ours next to them, is where they are
stronger. A prose topic section becomes an objection ("How do you compare with X on <topic>?") answered by
the two or three of its sentences that argue our side, quoted as one contiguous passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.core.sales import display_name as display_name  # the pipeline names the competitor with it
from services.core.sales import heading_side, mentions, sentence_side
from services.pitch.points import Span, is_limitation, sentence_spans, window

_QUOTES = "\"' \u201c\u201d\u2018\u2019"
_OBJECTION = re.compile(r"objection|push ?back|they (?:may|will) say|concerns?\b", re.I)
_QUESTIONS = re.compile(r"landmine|discovery|questions?|what to ask|\bask\b", re.I)
_NOT_A_TOPIC = re.compile(
    r"^(?:what is|who is|about|overview|introduction|summary|tl;?dr|conclusion|verdict|bottom line|"
    r"the bottom line|final thoughts|next steps?|faq)",
    re.I,
)


@dataclass(frozen=True, slots=True)
class NoteChunk:
    id: str
    section: str
    text: str


@dataclass(frozen=True, slots=True)
class Quote:
    chunk_id: str
    text: str
    score: float


@dataclass
class Handling:
    where_we_win: list[Quote]
    where_they_are_stronger: list[Quote]
    objections: list[tuple[str, Quote]]
    landmines: list[str]


def _question(sentence: str) -> str | None:
    core = sentence.strip().strip(_QUOTES)
    if not core.endswith("?"):
        return None
    core = re.sub(r"^(?:ask|question|q)\s*:\s*", "", core, flags=re.I).strip(_QUOTES)
    return core or None


@dataclass(frozen=True, slots=True)
class NoteItem:
    """One thing the notes offer, before this deal orders it: a landmine question, an objection with its
    response, or a sentence for where we win or where they are stronger. `bonus` is added to the chunk's
    relevance (battlecard sections that say what they are)."""

    kind: str  # "landmine", "objection", "win", "stronger"
    chunk_id: str
    text: str  # the question (landmine), the response (objection) or the sentence
    question: str = ""  # objections only
    bonus: float | None = None


def handle(
    chunks: list[NoteChunk],
    competitor: str,
    ours: list[str],
    relevance: dict[str, float],
    say: Callable[[str], bool],
) -> Handling:
    """`relevance`: chunk id -> how much the chunk speaks to this deal (orders the topics); `say`: whether a
    text suits the buyer's tone."""
    return order_notes(read_notes(chunks, competitor, ours, say), relevance)


def read_notes(chunks: list[NoteChunk], competitor: str, ours: list[str], say: Callable[[str], bool]) -> list[NoteItem]:
    """Everything the notes offer for this tone, in the notes' order: the part of `handle` that does not depend
    on the deal, so a caller can keep it per set of notes and tone."""
    theirs = [competitor]
    items: list[NoteItem] = []
    for chunk in chunks:
        heading = chunk.section.split(" > ")[-1].strip().strip(_QUOTES) if chunk.section else ""
        spans = sentence_spans(chunk.text)
        if heading and _QUESTIONS.search(heading) and not _OBJECTION.search(heading):
            items += [NoteItem("landmine", chunk.id, q) for q in (_question(s.text) for s in spans) if q and say(q)]
            continue
        if _OBJECTION.search(chunk.section) and heading and not _OBJECTION.search(heading):
            response = _response(chunk, spans, say, ours, theirs, battlecard=True)
            if response is not None and say(heading):
                items.append(NoteItem("objection", chunk.id, response.text, heading, 1.0))
            continue
        usable = [
            s for s in spans if 6 <= len(s.text.split()) <= 60 and not s.text.endswith(("?", ":")) and say(s.text)
        ]
        side = heading_side(heading, ours, theirs) if heading else None
        if (
            side is None
            and chunk.section
            and any(_ours_parent(h, ours, theirs) for h in chunk.section.split(" > ")[:-1])
        ):
            side = "win"  # a subsection under "Where we win" or "Acme highlights for ..." speaks for us
        if side == "theirs":
            for s in usable:
                # A sentence about us first under their strengths is the page's reply ("we are free up to ...,
                # with features their free tier lacks"), not a strength of theirs; which way it cuts is not clear
                # enough to claim it either, so it is left out.
                us, them = mentions(s.text, ours), mentions(s.text, theirs)
                if us < 0 or 0 <= them < us:
                    items.append(NoteItem("stronger", chunk.id, s.text))
            continue
        if side == "win":
            items += [NoteItem("win", chunk.id, s.text, bonus=1.0) for s in usable if not is_limitation(s.text)]
            continue
        for s in usable:
            side = sentence_side(s.text, ours, theirs)
            if side == "win":
                items.append(NoteItem("win", chunk.id, s.text))
            elif side == "theirs":
                items.append(NoteItem("stronger", chunk.id, s.text))
        if heading and not _NOT_A_TOPIC.search(heading):
            response = _response(chunk, spans, say, ours, theirs, battlecard=False)
            if response is not None:
                items.append(NoteItem("objection", chunk.id, response.text, _topic_question(heading, competitor)))
    return items


# A parent heading that presents our side: "Acme highlights for retail", "Why Acme".
_OUR_PARENT = re.compile(r"\b(?:highlights?|why)\b", re.I)


def _ours_parent(heading: str, ours: list[str], theirs: list[str]) -> bool:
    """A heading that announces our strengths ("Where we win") or names us alone with a cue of presenting us; only
    our side is passed down: their highlights hold their gaps as often ("Quarry highlights > Known gaps")."""
    heading = heading.strip().strip(_QUOTES)
    if heading_side(heading, ours, theirs) == "win":
        return True
    return bool(_OUR_PARENT.search(heading)) and mentions(heading, ours) >= 0 and mentions(heading, theirs) < 0


def _topic_question(heading: str, competitor: str) -> str:
    """The question a buyer asks about a topic section of a comparison page: the heading itself when it is one
    ("How is PostHog different from Amplitude?"), else about the competitor on that topic."""
    if heading.endswith("?"):
        return heading
    if mentions(heading, [competitor]) >= 0:
        return f"How do you compare on {heading}?"
    return f"How do you compare with {competitor} on {heading[0].lower() + heading[1:]}?"


def order_notes(items: list[NoteItem], relevance: dict[str, float]) -> Handling:
    """The notes' items ordered for this deal: the topics that speak to it first; the first of repeated texts
    and questions kept."""
    wins: dict[str, Quote] = {}
    stronger: dict[str, Quote] = {}
    objections: list[tuple[float, str, Quote]] = []
    landmines: list[str] = []
    for item in items:
        rel = relevance.get(item.chunk_id, 0.0)
        if item.kind == "landmine":
            landmines.append(item.text)
        elif item.kind == "objection":
            rank = rel if item.bonus is None else rel + item.bonus
            objections.append((rank, item.question, Quote(item.chunk_id, item.text, rel)))
        else:
            score = rel if item.bonus is None else rel + item.bonus
            target = wins if item.kind == "win" else stronger
            target.setdefault(item.text.lower(), Quote(item.chunk_id, item.text, score))
    objections.sort(key=lambda o: -o[0])
    unique: dict[str, tuple[str, Quote]] = {}
    for _, question, quote in objections:
        unique.setdefault(question.lower(), (question, quote))
    return Handling(
        where_we_win=sorted(wins.values(), key=lambda q: -q.score),
        where_they_are_stronger=sorted(stronger.values(), key=lambda q: -q.score),
        objections=list(unique.values()),
        landmines=list(dict.fromkeys(landmines)),
    )


def _response(
    chunk: NoteChunk,
    spans: list[Span],
    say: Callable[[str], bool],
    ours: list[str],
    theirs: list[str],
    *,
    battlecard: bool,
) -> Span | None:
    """Two or three contiguous sentences that answer for our side (one if that is all the section has)."""
    best: tuple[float, Span] | None = None
    for size in (3, 2):
        for start in range(len(spans)):
            span = window(chunk.text, spans, start, size)
            if span is None or not say(span.text) or len(span.text.split()) > 110:
                continue
            sides = [sentence_side(s.text, ours, theirs) for s in spans[start : start + size]]
            if not battlecard and "win" not in sides:
                continue
            score = sides.count("win") - 2 * sides.count("theirs") + (0.5 if start == 0 else 0.0) + 0.1 * size
            if best is None or score > best[0]:
                best = (score, span)
        if best is not None and best[0] > 0:
            break
    if best is None and battlecard and spans and say(spans[0].text):
        return spans[0]
    return best[1] if best is not None and (battlecard or best[0] > 0) else None
