"""Turn uploaded material (markdown, text, HTML, PDF, DOCX) into normalised markdown-ish text.

Headings survive as `#` lines so chunking can keep each heading with its text. Markdown and text are read
here; HTML, PDF and DOCX go through the sandbox (a child process with time and memory limits, extract.py).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath
from typing import Any

import yaml

from services.core.errors import Unprocessable, UnsupportedMediaType
from services.core.settings import IngestSettings
from services.core.text import normalize_text
from services.ingest.extract import ParseLimits, ParseRejected, decode_text, setting_name
from services.ingest.sandbox import run_limited, run_limited_async


class Format(StrEnum):
    MARKDOWN = "markdown"
    TEXT = "text"
    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"


_BY_MIME = {
    "text/markdown": Format.MARKDOWN,
    "text/x-markdown": Format.MARKDOWN,
    "text/plain": Format.TEXT,
    "text/html": Format.HTML,
    "application/xhtml+xml": Format.HTML,
    "application/pdf": Format.PDF,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": Format.DOCX,
}
_BY_EXTENSION = {
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
    ".txt": Format.TEXT,
    ".text": Format.TEXT,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".pdf": Format.PDF,
    ".docx": Format.DOCX,
}
_GENERIC_MIME = {"", "application/octet-stream", "binary/octet-stream"}
SUPPORTED = "markdown (.md), text (.txt), HTML (.html), PDF (.pdf), DOCX (.docx)"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ParsedContent:
    text: str
    format: Format
    front_matter: dict[str, Any] = field(default_factory=dict)


def detect_format(content_type: str | None, filename: str | None) -> Format:
    """By declared type first (aliases `markdown`, `text`, ... accepted), else by file extension."""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if declared in Format.__members__.values():
        return Format(declared)
    if declared in _BY_MIME:
        return _BY_MIME[declared]
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if declared in _GENERIC_MIME and suffix in _BY_EXTENSION:
        return _BY_EXTENSION[suffix]
    if not declared and not suffix:
        return Format.MARKDOWN
    what = declared or suffix or "unknown"
    raise UnsupportedMediaType(
        f"unsupported content type {what!r}; send one of {SUPPORTED}",
        details={"content_type": content_type, "filename": filename},
    )


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return decode_text(data)
    except ParseRejected as exc:
        raise Unprocessable(exc.message) from exc


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise Unprocessable(f"the YAML front matter does not parse: {exc}") from exc
    if not isinstance(meta, dict):
        raise Unprocessable("the YAML front matter must be a mapping of field: value")
    return meta, text[match.end() :]


# Formats parsed in the sandbox (a limited child process): their parsers are where hostile files do harm.
SANDBOXED = frozenset({Format.HTML, Format.PDF, Format.DOCX})
_EXTRACT = "services.ingest.extract:extract"


def check_upload(data: bytes, fmt: Format) -> None:
    """The checks cheap enough for the request, on a file the job will parse in the sandbox: it holds something,
    and a PDF or DOCX at least starts like one. Raises Unprocessable (422); everything else is the job's."""
    if not data.strip():
        raise Unprocessable("the file is empty; there is no text to index")
    # The PDF header may follow some junk (readers look in the first 1,024 bytes); a DOCX is a zip archive.
    if fmt is Format.PDF and b"%PDF-" not in data[:1024]:
        raise Unprocessable("the file is not a PDF (no %PDF- header); export it again as PDF")
    if fmt is Format.DOCX and not data.startswith(b"PK\x03\x04"):
        raise Unprocessable("the file is not a DOCX (not a zip archive); save it again as .docx")


def default_limits() -> ParseLimits:
    return ParseLimits.from_settings(IngestSettings())


def _unprocessable(exc: ParseRejected) -> Unprocessable:
    details = None
    if exc.limit is not None:
        details = {"limit": exc.limit, "setting": setting_name(exc.limit), "value": exc.value}
    return Unprocessable(exc.message, details=details)


def _sandboxed(data: bytes | str, fmt: Format, limits: ParseLimits, max_chars: int) -> tuple[Any, ...]:
    """The sandbox call's arguments: target, bytes, options."""
    options = {"fmt": fmt.value, "limits": limits.as_dict(), "max_chars": max_chars}
    return _EXTRACT, data.encode() if isinstance(data, str) else data, options


def _caps(limits: ParseLimits) -> dict[str, Any]:
    return {"timeout_s": limits.parse_timeout_seconds, "memory_bytes": limits.parse_memory_bytes}


def _inline(data: bytes | str, fmt: Format) -> tuple[str, dict[str, Any]]:
    text = _decode(data)
    if fmt is Format.MARKDOWN:
        front, body = split_front_matter(text.lstrip("\ufeff"))
        return body, front
    return text, {}


def _finish(text: str, fmt: Format, front: dict[str, Any], max_chars: int) -> ParsedContent:
    text = normalize_text(text)
    if not re.search(r"\w", text):
        raise Unprocessable("the content is empty after parsing; there is no text to index")
    if len(text) > max_chars:
        raise Unprocessable(
            f"the content has {len(text)} characters; the limit is {max_chars}; split it into several documents"
        )
    return ParsedContent(text=text, format=fmt, front_matter=front)


def parse_content(
    data: bytes | str,
    *,
    content_type: str | None,
    filename: str | None,
    max_chars: int,
    limits: ParseLimits | None = None,
) -> ParsedContent:
    """Raises UnsupportedMediaType (415) for other formats, Unprocessable (422) for unreadable or empty input
    or a file past a parse limit (`details.setting` names it). HTML, PDF and DOCX are parsed in the sandbox;
    this call waits for it in the caller's thread."""
    fmt = detect_format(content_type, filename)
    if fmt not in SANDBOXED:
        text, front = _inline(data, fmt)
        return _finish(text, fmt, front, max_chars)
    limits = limits or default_limits()
    try:
        result = run_limited(*_sandboxed(data, fmt, limits, max_chars), **_caps(limits))
    except ParseRejected as exc:
        raise _unprocessable(exc) from exc
    return _finish(str(result["text"]), fmt, {}, max_chars)


async def parse_content_async(
    data: bytes | str,
    *,
    content_type: str | None,
    filename: str | None,
    max_chars: int,
    limits: ParseLimits,
) -> ParsedContent:
    """`parse_content` for the event loop: the sandbox is awaited without holding a thread."""
    fmt = detect_format(content_type, filename)
    if fmt not in SANDBOXED:
        text, front = await asyncio.to_thread(_inline, data, fmt)
        return _finish(text, fmt, front, max_chars)
    try:
        result = await run_limited_async(*_sandboxed(data, fmt, limits, max_chars), **_caps(limits))
    except ParseRejected as exc:
        raise _unprocessable(exc) from exc
    return await asyncio.to_thread(_finish, str(result["text"]), fmt, {}, max_chars)
