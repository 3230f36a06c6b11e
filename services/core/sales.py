"""Conventions the talk track and the quiz share, so what a rep is trained to say and what a track tells them to
say cannot drift apart: how a passage is cited, which words are jargon to a business buyer, and how competitor
material is read (whose side a heading is on, which way a sentence of a prose comparison page cuts).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from pydantic import BaseModel, Field

from services.core.text import is_limitation

ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,6}s?\b")
# Acronyms every business reader knows.
BUSINESS_ACRONYMS = frozenset(
    {
        "ROI",
        "CRM",
        "KPI",
        "KPIs",
        "CEO",
        "CFO",
        "CMO",
        "CIO",
        "COO",
        "CTO",
        "B2B",
        "B2C",
        "US",
        "EU",
        "UK",
        "USD",
        "EUR",
        "GBP",
        "Q1",
        "Q2",
        "Q3",
        "Q4",
        "FY",
        "AI",
        "VP",
        "VPs",
        "HR",
        "IT",
        "OK",
        # Names of regulations, standards and everyday formats that business buyers use themselves.
        "GDPR",
        "HIPAA",
        "SOC",
        "ISO",
        "PCI",
        "AWS",
        "URL",
        "URLs",
        "SMS",
        "PDF",
        "FAQ",
        "SEO",
        "UX",
        "UI",
        "CSV",
        "PR",
    }
)


class Citation(BaseModel):
    """A passage of the library: the chunk, its document's version and, for display, title, section, as-of."""

    document_id: str
    external_id: str
    version: int
    chunk_id: str
    as_of: str | None = None
    title: str = Field(default="", description="the cited document's title")
    section: str = Field(default="", description="the heading path of the cited passage")


# Headings of competitor material (battlecards, comparison pages) over what we do better, and over what the
# competitor does better. Both services read the same headings.
WHERE_WE_WIN = re.compile(r"\bwin|advantage|differentiat|why (?:us|choose)|our strength|our edge|benefits? over", re.I)
WHERE_THEY_ARE_STRONGER = re.compile(
    r"where (?:they|it) (?:are |is )?(?:strong|win|lead|excel)|their strength|they do well|stronger|"
    r"(?:competitor|their) (?:advantage|edge)|watch out|where .* (?:better|ahead)",
    re.I,
)


@lru_cache(maxsize=256)
def term_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-word, case-insensitive match of any term (multi-word terms included)."""
    alternatives = "|".join(sorted((re.escape(t.lower()) for t in terms if t), key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])" if alternatives else r"(?!x)x")


@lru_cache(maxsize=256)
def _allowed_acronyms(prefer: tuple[str, ...]) -> frozenset[str]:
    return BUSINESS_ACRONYMS | {p.upper() for p in prefer}


_CAPITALS = re.compile(r"\b[A-Z][A-Z0-9]+\b")


def capitalised_names(names: Iterable[str]) -> tuple[str, ...]:
    """Product and vendor names written in capitals as one word ("ZITADEL", "SAP"): names, not acronyms a business
    buyer would have to know. A capitals word inside a longer name ("API" of "API Hub") stays an acronym."""
    return tuple(sorted({name.strip() for name in names if _CAPITALS.fullmatch(name.strip())}))


def jargon(
    text: str, avoid: tuple[str, ...] = (), prefer: tuple[str, ...] = (), names: tuple[str, ...] = ()
) -> str | None:
    """What makes `text` jargon to a business buyer, if anything: the first term of the buyer's avoid list it uses
    (whole words, case-insensitive), else the first acronym a business reader would not know (one the buyer's
    prefer list names is known, and a product's or vendor's own name in capitals, `names`, is no acronym)."""
    if match := term_pattern(avoid).search(text.lower()):
        return match.group(0)
    allowed = _allowed_acronyms(prefer) | frozenset(names)
    for acronym in ACRONYM.findall(text):
        if acronym not in allowed and acronym.rstrip("s") not in allowed:
            return acronym
    return None


_DEFINED = re.compile(r"\(([A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*?)(s?)\)")
_LONG_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_MINOR = frozenset({"of", "and", "the", "for", "&", "to", "in", "a", "an", "on"})


def acronym_expansions(texts: Iterable[str]) -> dict[str, str]:
    """Acronyms the texts define, the way writers define them: the long form, then the acronym in parentheses,
    the long form's initials spelling the acronym's capitals ("Domain Name System (DNS)", "single sign-on (SSO)",
    "Write Ahead Log (WAL)"). The first definition of an acronym wins."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _DEFINED.finditer(text):
            acronym = match.group(1)
            if acronym in found:
                continue
            letters = "".join(c for c in acronym if c.isupper())
            before = _LONG_WORD.findall(text[max(0, match.start() - 160) : match.start()])
            for k in range(1, len(letters) + 4):
                words = before[-k:]
                if len(words) < k or words[0].lower() in _MINOR:
                    continue
                parts = [p for w in words if w.lower() not in _MINOR for p in w.split("-") if p]
                if "".join(p[0] for p in parts).upper() == letters:
                    found[acronym] = " ".join(words)
                    break
    return found


def expand_acronyms(text: str, expansions: dict[str, str]) -> str:
    """`text` with each acronym it uses that `expansions` knows spelt out ("Uptime SLA" -> "Uptime service level
    agreement"); plurals keep their s."""

    def spell(match: re.Match[str]) -> str:
        word = match.group(0)
        if word in expansions:
            return expansions[word]
        if word.endswith("s") and word[:-1] in expansions:
            return expansions[word[:-1]] + "s"
        return word

    return ACRONYM.sub(spell, text)


def mentions(text: str, names: list[str]) -> int:
    """Position of the first mention of any of the names in `text` (case-insensitive, at a word start; -1: none)."""
    low = text.lower()
    positions = [m.start() for n in names if n for m in [re.search(r"(?<!\w)" + re.escape(n.lower()), low)] if m]
    return min(positions) if positions else -1


# A heading that speaks of someone's strengths: whose decides the side ("Strengths of Amplitude" is theirs,
# "Strengths of PostHog" ours), where the fixed headings ("Where we win", "Where they are strong") say nothing.
_STRENGTH_CUE = re.compile(r"\b(?:strengths?|strong(?:er|est)?|pros|advantages?|wins?|better|excels?|shines?)\b", re.I)
_WE = re.compile(r"\b(?:we|us|our)\b", re.I)


def heading_side(heading: str, ours: list[str], theirs: list[str]) -> str | None:
    """ "win", "theirs" or None: whose strengths a section heading of competitor material announces. `ours`: our
    product's names; `theirs`: the competitor's. Read the same way by the talk track and the quiz."""
    if _STRENGTH_CUE.search(heading):
        them = mentions(heading, theirs) >= 0
        us = mentions(heading, ours) >= 0 or bool(_WE.search(heading))
        if them != us:
            return "theirs" if them else "win"
    if WHERE_THEY_ARE_STRONGER.search(heading):
        return "theirs"
    if WHERE_WE_WIN.search(heading):
        return "win"
    return None


# Which way a sentence cuts, in plain English.
_WEAK = re.compile(
    r"\b(?:not supported|no (?:native|built-in|self-host\w*|option|way)|requires? (?:upgrading|an upgrade|a separate|"
    r"separate|you to)|separate (?:rules|tools?|product|language)|limited|lock-?in|locked|hard to|difficult|can't|"
    r"cannot|no longer|proprietary|extra cost|additional cost|unpredictable|vary by|varies by|only\b|must|"
    r"denormali[sz]e|no joins|no native)",
    re.I,
)
_STRONG = re.compile(
    r"\b(?:easy|easier|strong|strength|larger|mature|well[- ]regarded|tightly|wide range|genuine|popular|simple to|"
    r"offline|highly configurable|more (?:connectors|integrations|mature))",
    re.I,
)


def sentence_side(sentence: str, ours: list[str], theirs: list[str]) -> str | None:
    """ "win", "theirs" or None (neutral or unclear): which way a sentence of a prose comparison page cuts, by who
    it is about first and whether it states a weakness or a strength."""
    us, them = mentions(sentence, ours), mentions(sentence, theirs)
    weak, strong = bool(_WEAK.search(sentence)), bool(_STRONG.search(sentence))
    if them >= 0 and (us < 0 or them < us):  # about them first
        if weak:
            return "win"
        if strong:
            return "theirs"
        return None
    if us >= 0:  # about us first
        if is_limitation(sentence):
            return "theirs" if them >= 0 else None
        return "win"
    return None


def display_name(name: str, texts: list[str]) -> str:
    """The competitor's name as the material writes it ("quarry" -> "Quarry", "heroku postgres" -> "Heroku Postgres",
    "launchdarkly" -> "LaunchDarkly"): the most frequent spelling with a capital, else `name`."""
    pattern = re.compile(r"(?<!\w)" + r"[\s\-]+".join(re.escape(w) for w in name.split()) + r"(?!\w)", re.I)
    seen = Counter(m.group(0) for t in texts for m in pattern.finditer(t))
    if not seen:
        return name
    cased = [s for s, _ in seen.most_common() if any(c.isupper() for c in s)]
    return cased[0] if cased else seen.most_common(1)[0][0]
