"""Text utilities shared by every service: normalisation, hashing, sentence splitting."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRAILING_WS = re.compile(r"[ \t]+\n")
_MANY_BLANKS = re.compile(r"\n{3,}")
# A sentence ends at . ! or ? followed by whitespace and an upper-case letter, digit, quote or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = (
    "e.g.",
    "i.e.",
    "etc.",
    "vs.",
    "approx.",
    "Inc.",
    "Ltd.",
    "Corp.",
    "Dr.",
    "Mr.",
    "Ms.",
    "No.",
)


def normalize_text(text: str) -> str:
    """NFC, Unix newlines, no control characters, no trailing blanks, at most one empty line in a row."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).replace("\u00a0", " ")
    text = _TRAILING_WS.sub("\n", text)
    return _MANY_BLANKS.sub("\n\n", text).strip()


def sha256_hex(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping each exactly as written (so a quote can be found in its source)."""
    pieces: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)", text):
        block = " ".join(block.split())
        if not block:
            continue
        start = 0
        for match in _SENTENCE_END.finditer(block):
            candidate = block[start : match.start() + 1].strip()
            if candidate.endswith(_ABBREVIATIONS):
                continue
            pieces.append(candidate)
            start = match.end()
        tail = block[start:].strip()
        if tail:
            pieces.append(tail)
    return [p for p in pieces if p]


# A sentence that limits what the product does or who gets it: the rep must be ready for it, never pitch it.
_PLAN = r"(?:[A-Z][\w-]*(?:,? (?:and|or) [A-Z][\w-]*)*) (?:[Pp]lans?|[Tt]iers?|[Ee]ditions?)"
_LIMITATION = re.compile(
    r"\b(?i:not (?:yet )?(?:supported|available|possible|included|recommended)|unsupported|isn't (?:supported|"
    r"available|possible)|aren't (?:supported|available)|no (?:support for|longer)|does(?: not|n't) "
    r"(?:support|work|include|apply)|do(?: not|n't) (?:support|work with)|(?:you|it|this|they|we) (?:cannot|can ?not|"
    r"can't|can only)|cannot be (?:used|changed|combined|undone)|only (?:available|supported|works?|applies)|"
    r"available only|"
    r"limited to|limitations?|restricted to|prerequisites?|requires?|required|you (?:must|need to|will need|'ll need)|"
    r"must (?:be|have|first)|before you can|at most|maximum of|in beta|is beta|(?:public |private )?preview|"
    r"deprecated|additional (?:cost|charge|fee)s?|extra (?:cost|charge|fee)s?|(?:charged|billed) separately|"
    r"caveat|known issue|workaround)\b"
    rf"|\b(?:available|offered|included|supported|provided|enabled|accessible)(?: only)? (?:on|in|for|with|to) "
    rf"(?:the )?{_PLAN}|{_PLAN} (?:and above|or above|or higher|customers|users|only)|(?:requires?|needs?) (?:a |the )?"
    rf"{_PLAN}|upgrad\w* to (?:a |the )?{_PLAN}",
)
_LIMITATION_SECTION = re.compile(
    r"limit|restriction|requirement|prerequisite|caveat|known issue|not supported|unsupported|before you begin", re.I
)


def is_limitation(sentence: str, section: str = "") -> bool:
    """A limit, prerequisite, plan restriction or "not supported" (by the sentence, or by its section's heading):
    what a rep must be ready for, never pitch. Shared by talk tracks and quizzes."""
    last = section.split(" > ")[-1] if section else ""
    return bool(_LIMITATION.search(sentence)) or bool(last and _LIMITATION_SECTION.search(last))


# Opens with a reference to something said before it: it needs the sentence before it to make sense.
_DANGLING = re.compile(
    r"^(?:this|that|these|those|it|its|it's|they|their|them|such|since then|also|in addition|additionally|however|"
    r"as a result|then|therefore|thus|otherwise|here|both|the latter|the former|instead|likewise|similarly|"
    r"furthermore|moreover|besides|and|but|or|so|which|the same)\b",
    re.I,
)


def is_dangling(sentence: str) -> bool:
    """Whether a sentence opens with a reference back ("This", "It also", "Since then", "But") and so does not read
    on its own. Shared by talk tracks (which bring the sentence before it along) and quizzes (which never quote it
    alone)."""
    return bool(_DANGLING.match(sentence.strip(" \"'\u201c\u2018(")))
