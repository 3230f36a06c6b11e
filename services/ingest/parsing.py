"""Turn uploaded material (markdown, text, HTML, PDF, DOCX) into normalised markdown-ish text.

Headings survive as `#` lines so chunking can keep each heading with its text.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath
from typing import Any

import yaml

from services.core.errors import Unprocessable, UnsupportedMediaType
from services.core.text import normalize_text


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
# A DOCX is a zip: cap what it may unpack to, so a small upload cannot expand into gigabytes.
DOCX_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
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
    # UTF-16 only with its byte-order mark: without one, almost any even-length bytes "decode".
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Unprocessable("the file is not valid UTF-8 text; save it as UTF-8 and upload again") from exc


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


def _html_to_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe", "nav", "footer"]):
        tag.decompose()
    lines: list[str] = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td"]):
        if el.find_parent(["p", "li", "pre", "blockquote", "td"]) is not None and el.name != "li":
            continue
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name and el.name[0] == "h" and el.name[1:].isdigit():
            lines.append(f"{'#' * int(el.name[1:])} {text}")
        elif el.name == "li":
            lines.append(f"- {text}")
        else:
            lines.append(text)
    if not lines:  # markup without block elements: fall back to all visible text
        return soup.get_text("\n", strip=True)
    return "\n\n".join(lines)


def _pdf_to_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Unprocessable("the PDF is encrypted; upload an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise Unprocessable(f"the PDF cannot be read ({exc}); export it again or upload the text") from exc
    return "\n\n".join(pages)


def _docx_to_text(data: bytes) -> str:
    import zipfile

    from docx import Document as DocxDocument

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > DOCX_MAX_UNPACKED_BYTES:
            raise Unprocessable(
                f"the DOCX unpacks to {unpacked} bytes; the limit is {DOCX_MAX_UNPACKED_BYTES}; remove embedded media"
            )
        doc = DocxDocument(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise Unprocessable(f"the DOCX cannot be read ({exc}); save it again as .docx") from exc
    out: list[str] = []
    for para in doc.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if level:
            out.append(f"{'#' * int(level.group(1))} {text}")
        elif style == "Title":
            out.append(f"# {text}")
        elif style.startswith("List"):
            out.append(f"- {text}")
        else:
            out.append(text)
    return "\n\n".join(out)


def parse_content(
    data: bytes | str, *, content_type: str | None, filename: str | None, max_chars: int
) -> ParsedContent:
    """Raises UnsupportedMediaType (415) for other formats, Unprocessable (422) for unreadable or empty input."""
    fmt = detect_format(content_type, filename)
    front: dict[str, Any] = {}
    if fmt is Format.PDF:
        text = _pdf_to_text(data.encode() if isinstance(data, str) else data)
    elif fmt is Format.DOCX:
        text = _docx_to_text(data.encode() if isinstance(data, str) else data)
    else:
        text = _decode(data)
        if fmt is Format.MARKDOWN:
            front, text = split_front_matter(text.lstrip("\ufeff"))
        elif fmt is Format.HTML:
            text = _html_to_text(text)
    text = normalize_text(text)
    if not re.search(r"\w", text):
        raise Unprocessable("the content is empty after parsing; there is no text to index")
    if len(text) > max_chars:
        raise Unprocessable(
            f"the content has {len(text)} characters; the limit is {max_chars}; split it into several documents"
        )
    return ParsedContent(text=text, format=fmt, front_matter=front)
