"""Structure-aware chunking: each chunk stays inside one section, carries its heading path, and fits the
model's window as counted by the model's own tokenizer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.core.text import split_sentences
from services.core.tokens import MODEL_MAX_TOKENS, SPECIAL_TOKENS, TokenCounter

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class Section:
    path: tuple[str, ...]
    body: str


@dataclass(frozen=True, slots=True)
class Chunk:
    ordinal: int
    section: str
    # The source text of this chunk, exactly as stored (citations quote from it).
    text: str
    # What the model reads: title and heading path, then the text.
    embed_text: str
    tokens: int


def split_sections(markdown: str, title: str) -> list[Section]:
    """Split on markdown headings; a leading H1 equal to the title is dropped from the path."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(body).strip()
        if text:
            sections.append(Section(tuple(h for _, h in path), text))
        body.clear()

    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), match.group(2).strip()
        while path and path[-1][0] >= level:
            path.pop()
        if not (level == 1 and not path and heading.casefold() == title.casefold()):
            path.append((level, heading))
    flush()
    return sections


# WordPiece maps a word over 100 characters to one [UNK]: such runs (base64, long URLs) are cut so the token
# budget also bounds a chunk's length in characters.
_LONG_RUN = re.compile(r"\S{100}(?=\S)")


def _units(body: str) -> list[str]:
    """Paragraphs (a list item is its own paragraph); the smallest pieces kept whole when they fit."""
    blocks = re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)", body)
    return [_LONG_RUN.sub(lambda m: m.group(0) + " ", " ".join(b.split())) for b in blocks if b.strip()]


class Chunker:
    def __init__(self, counter: TokenCounter, *, max_tokens: int = 200, overlap_tokens: int = 32) -> None:
        if max_tokens > MODEL_MAX_TOKENS:
            raise ValueError(f"max_tokens {max_tokens} exceeds the model window of {MODEL_MAX_TOKENS}")
        self.counter = counter
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def _prefix(self, title: str, section: tuple[str, ...]) -> str:
        return " > ".join((title, *section)) + "\n"

    def _split_long(self, unit: str, budget: int) -> list[str]:
        """A unit over budget: split into sentences, a sentence over budget into word windows, and a word over
        budget into pieces."""
        pieces: list[str] = []
        for sentence in split_sentences(unit) or [unit]:
            if self.counter.count(sentence) <= budget:
                pieces.append(sentence)
                continue
            words: list[str] = []
            for word in sentence.split():
                # A single word over budget (a long identifier or encoded blob): cut it into short pieces.
                fits = self.counter.count(word) <= budget
                words.extend([word] if fits else [word[i : i + 16] for i in range(0, len(word), 16)])
            window: list[str] = []
            for word in words:
                window.append(word)
                if self.counter.count(" ".join(window)) > budget:
                    window.pop()
                    if window:
                        pieces.append(" ".join(window))
                    window = [word]
            if window:
                pieces.append(" ".join(window))
        return pieces

    def _pack(self, units: list[str], sizes: list[int], budget: int) -> list[list[int]]:
        """Greedy packing of unit indices into groups within `budget`, each group starting with the tail of the
        previous one (up to `overlap_tokens`) so a fact cut at a boundary is whole in one chunk."""
        groups: list[list[int]] = []
        current: list[int] = []
        used = 0
        for i, size in enumerate(sizes):
            # +1: the paragraph break between units may add a word piece boundary.
            if current and used + size + 1 > budget:
                groups.append(current)
                carried: list[int] = []
                carried_size = 0
                for j in reversed(current):
                    if carried_size + sizes[j] > self.overlap_tokens or carried_size + sizes[j] + size > budget:
                        break
                    carried.insert(0, j)
                    carried_size += sizes[j] + 1
                current, used = carried, carried_size
            current.append(i)
            used += size + 1
        if current:
            groups.append(current)
        return groups

    def chunk(self, markdown: str, title: str) -> list[Chunk]:
        sections = split_sections(markdown, title) or [Section((), markdown)]
        prefixes = [self._prefix(title, section.path) for section in sections]
        raws = [_units(section.body) for section in sections]
        # One tokenizer call for the whole document (per-section calls were two thirds of the chunking time).
        short = self._prefix(title, ())
        counts = iter(self.counter.count_many([short, *prefixes, *(u for raw in raws for u in raw)]))
        short_tokens = next(counts)
        prefix_counts = [next(counts) for _ in prefixes]
        chunks: list[Chunk] = []
        for section, prefix, prefix_tokens, raw in zip(sections, prefixes, prefix_counts, raws, strict=True):
            if self.max_tokens - SPECIAL_TOKENS - prefix_tokens < 16:
                # Absurdly long headings: keep the text, trim the path to the title.
                prefix, prefix_tokens = short, short_tokens
            budget = self.max_tokens - SPECIAL_TOKENS - prefix_tokens
            units: list[str] = []
            sizes: list[int] = []
            for unit in raw:
                size = next(counts)
                if size <= budget:
                    units.append(unit)
                    sizes.append(size)
                else:
                    pieces = self._split_long(unit, budget)
                    units.extend(pieces)
                    sizes.extend(self.counter.count_many(pieces))
            for group in self._pack(units, sizes, budget):
                text = "\n\n".join(units[i] for i in group)
                chunks.append(
                    Chunk(
                        ordinal=len(chunks),
                        section=" > ".join(section.path),
                        text=text,
                        embed_text=prefix + text,
                        # WordPiece splits on whitespace first, so pieces joined by whitespace add up exactly.
                        tokens=prefix_tokens + sum(sizes[i] for i in group) + SPECIAL_TOKENS,
                    )
                )
        return chunks
