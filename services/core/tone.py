"""Choosing source sentences for a buyer's tone. Extractive: a sentence is used exactly as written. Shared by the
talk track (which sentences a rep says to this buyer) and the quiz (which sentences say what a feature does for a
customer), so the two cannot drift apart.

Business buyers get value, outcomes and proof, and never a word from the persona's avoid list or an
unexplained acronym; technical buyers get mechanism, security, integration and numbers, and no fluff.
The cues are generic (section headings, figures, outcome and mechanism vocabulary), not tied to one product.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from services.core.sales import jargon, term_pattern


class Tone(StrEnum):
    TECHNICAL = "technical"
    BUSINESS = "business"


_WORD = re.compile(r"\w[\w\-]*")  # any script: a sentence in Japanese or Arabic counts its words too
_FIGURE = re.compile(r"\d")
OUTCOME = (
    "sav",
    "faster",
    "fewer",
    "reduc",
    "increas",
    "grow",
    "revenue",
    "cost",
    "hour",
    "week",
    "day",
    "month",
    "percent",
    "payback",
    "cut",
    "lift",
    "improv",
    "win",
    "won",
    "retain",
    "retention",
    "churn",
    "pipeline",
    "budget",
    "profit",
    "margin",
    "spend",
    "quota",
    "customer",
    "decision",
    "board",
    "prove",
    "proof",
)
MECHANISM = (
    "encrypt",
    "key",
    "api",
    "sdk",
    "protocol",
    "saml",
    "scim",
    "oauth",
    "tls",
    "aes",
    "latency",
    "region",
    "replica",
    "failover",
    "log",
    "audit",
    "role",
    "token",
    "webhook",
    "schema",
    "sync",
    "warehouse",
    "query",
    "deploy",
    "sandbox",
    "version",
    "rate",
    "uptime",
    "sla",
    "p95",
    "p99",
    "architect",
    "integrat",
    "stream",
    "batch",
    "cluster",
    "access",
    "permission",
    "certif",
    "soc",
    "iso",
    "gdpr",
    "retention",
)
FLUFF = (
    "seamless",
    "world-class",
    "best-in-class",
    "revolutionary",
    "game-changing",
    "cutting-edge",
    "unparalleled",
    "synergy",
    "next-generation",
    "magic",
    "delight",
    "effortless",
)
BUSINESS_SECTIONS = (
    "value",
    "benefit",
    "outcome",
    "result",
    "proof",
    "impact",
    "why it matters",
    "customer",
    "roi",
    "business",
    "overview",
    "what it does",
)
TECHNICAL_SECTIONS = (
    "how it works",
    "architecture",
    "technical",
    "security",
    "integration",
    "mechanism",
    "under the hood",
    "detail",
    "specification",
    "limit",
    "requirement",
    "implementation",
    "how",
    "compliance",
    "reliability",
    "performance",
)


def _stem_pattern(stems: Iterable[str]) -> re.Pattern[str]:
    """Matches words starting with any of the stems (counted with findall)."""
    alternatives = "|".join(sorted((re.escape(s.lower()) for s in stems if s), key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})[a-z0-9\-]*" if alternatives else r"(?!x)x")


_OUTCOME = _stem_pattern(OUTCOME)
_MECHANISM = _stem_pattern(MECHANISM)
_FLUFF = term_pattern(FLUFF)


@dataclass(frozen=True, slots=True)
class ToneProfile:
    tone: Tone
    prefer: tuple[str, ...]
    avoid: tuple[str, ...]
    names: tuple[str, ...] = ()  # the library's product and vendor names in capitals (sales.capitalised_names)

    def avoided_term(self, sentence: str) -> str | None:
        """The first avoid-list term the sentence uses (whole words, case-insensitive), if any."""
        match = term_pattern(self.avoid).search(sentence.lower())
        return match.group(0) if match else None

    def jargon(self, sentence: str) -> str | None:
        """For business tone: an avoided term, or an acronym a business reader would not know."""
        return jargon(sentence, self.avoid, self.prefer, self.names)


@lru_cache(maxsize=256)
def _prefer_pattern(prefer: tuple[str, ...]) -> re.Pattern[str]:
    return _stem_pattern(prefer)


def _section_kind(section: str) -> tuple[bool, bool]:
    low = section.lower()
    return any(c in low for c in BUSINESS_SECTIONS), any(c in low for c in TECHNICAL_SECTIONS)


def overlap_bonus(words: frozenset[str], query_terms: frozenset[str]) -> float:
    """The part of a sentence's score that depends on this request's queries."""
    return min(3, len(words & query_terms)) * 0.25


def analyse(sentence: str, section: str, profile: ToneProfile) -> tuple[float | None, frozenset[str]]:
    """The request-independent part of the score (None: never for this buyer) and the sentence's words."""
    low = sentence.lower()
    words = _WORD.findall(low)
    unique = frozenset(words)
    if not 6 <= len(words) <= 60 or sentence.rstrip().endswith(("?", ":")):
        return None, unique
    business_section, technical_section = _section_kind(section)
    overlap = 0.0
    prefer = min(3, len(_prefer_pattern(profile.prefer).findall(low))) * 0.3
    figure = 1.0 if _FIGURE.search(sentence) else 0.0
    if profile.tone is Tone.BUSINESS:
        if profile.jargon(sentence):
            return None, unique
        return (
            figure
            + min(2, len(_OUTCOME.findall(low))) * 0.5
            + (0.8 if business_section else 0.0)
            - (0.6 if technical_section and not business_section else 0.0)
            + prefer
            + overlap
        ), unique
    if profile.avoided_term(sentence) or _FLUFF.search(low):
        return None, unique
    return (
        figure * 0.6
        + min(3, len(_MECHANISM.findall(low))) * 0.5
        + (0.8 if technical_section else 0.0)
        - (0.3 if business_section and not technical_section else 0.0)
        + prefer
        + overlap
    ), unique


def query_terms(texts: Iterable[str]) -> frozenset[str]:
    stop = {
        "and",
        "the",
        "for",
        "with",
        "from",
        "that",
        "this",
        "into",
        "over",
        "their",
        "your",
        "what",
        "which",
        "how",
        "are",
        "not",
        "our",
        "its",
        "such",
        "without",
        "across",
        "existing",
        "where",
    }
    return frozenset(w for t in texts for w in _WORD.findall(t.lower()) if len(w) > 2 and w not in stop)
