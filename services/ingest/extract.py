"""Text out of untrusted HTML, PDF and DOCX, each bounded by a named limit.

These run inside the parse sandbox (services/ingest/sandbox.py), a child process with a wall-clock and a memory
limit; the caps here turn the common hostile shapes into a clear reason long before those limits are reached.
Nothing here imports the web framework, so the child starts in a fraction of a second.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Any


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """The parse limits of `IngestSettings` (PITCHCRAFT_<NAME> each)."""

    max_docx_unpacked_bytes: int
    max_docx_paragraphs: int
    max_pdf_pages: int
    max_html_depth: int
    max_html_elements: int
    parse_timeout_seconds: float
    parse_memory_bytes: int

    @classmethod
    def from_settings(cls, settings: Any) -> ParseLimits:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ParseRejected(Exception):
    """The file cannot be indexed as it is (a 422). `limit` names the setting it crossed, if any."""

    def __init__(self, message: str, limit: str | None = None, value: int | float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit
        self.value = value


def setting_name(limit: str) -> str:
    return f"PITCHCRAFT_{limit.upper()}"


def _over(limit: str, value: int, what: str, fix: str) -> ParseRejected:
    return ParseRejected(f"{what}; the limit is {value:,} ({setting_name(limit)}); {fix}", limit=limit, value=value)


def decode_text(data: bytes) -> str:
    # UTF-16 only with its byte-order mark: without one, almost any even-length bytes "decode".
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ParseRejected("the file is not valid UTF-8 text; save it as UTF-8 and upload again") from exc


# ---------------------------------------------------------------- HTML

_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr basefont bgsound frame keygen".split()  # noqa: SIM905
)


class _HtmlShape(HTMLParser):
    """Counts elements and tracks nesting the way the tree builder will nest them, stopping at a cap."""

    def __init__(self, limits: ParseLimits) -> None:
        super().__init__(convert_charrefs=False)
        self._limits = limits
        self._open: list[str] = []
        self.elements = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1
        if self.elements > self._limits.max_html_elements:
            raise _over(
                "max_html_elements",
                self._limits.max_html_elements,
                f"the HTML has more than {self._limits.max_html_elements:,} elements",
                "split the page or upload its text",
            )
        if tag in _VOID:
            return
        self._open.append(tag)
        if len(self._open) > self._limits.max_html_depth:
            raise _over(
                "max_html_depth",
                self._limits.max_html_depth,
                f"the HTML nests elements more than {self._limits.max_html_depth:,} deep (unclosed tags nest too)",
                "close its tags or upload its text",
            )

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1

    def handle_endtag(self, tag: str) -> None:
        # As the tree builder does: an end tag closes the nearest open element of its name and those inside it.
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i] == tag:
                del self._open[i:]
                return


def html_to_text(data: bytes, limits: ParseLimits) -> str:
    html = decode_text(data)
    shape = _HtmlShape(limits)
    for start in range(0, len(html), 65_536):
        shape.feed(html[start : start + 65_536])
    shape.close()

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
        return str(soup.get_text("\n", strip=True))
    return "\n\n".join(lines)


# ---------------------------------------------------------------- PDF


def _count_pages(tree: Any, cap: int) -> int:
    """Leaves of the page tree, counted until one past `cap` (pypdf's own count reads the whole tree first)."""
    count = 0
    stack, seen = [tree], set()
    while stack:
        node = stack.pop()
        ref = getattr(node, "idnum", None)
        if ref is not None:
            if ref in seen:  # a page tree that loops back on itself
                continue
            seen.add(ref)
        node = node.get_object()
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            stack.extend(reversed(list(node.get("/Kids") or [])))
        else:
            count += 1
            if count > cap:
                break
    return count


def pdf_to_text(data: bytes, limits: ParseLimits) -> str:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    cap = limits.max_pdf_pages
    too_many = "split it into several documents"
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ParseRejected("the PDF is encrypted; upload an unprotected copy")
        # The page tree's own count first (cheap; a file can lie about it, so the leaves are counted too).
        trailer: Any = reader.trailer
        tree = trailer["/Root"]["/Pages"]
        declared = tree.get("/Count", 0)
        if isinstance(declared, int) and declared > cap:
            raise _over("max_pdf_pages", cap, f"the PDF declares {declared:,} pages", too_many)
        if _count_pages(tree, cap) > cap:
            raise _over("max_pdf_pages", cap, f"the PDF has more than {cap:,} pages", too_many)
        pages = []
        for page in reader.pages:
            text = page.extract_text() or ""
            if not text.strip() and (contents := page.get_contents()) is not None:
                # extract_text drops a stream it could not inflate; decoding it again surfaces why.
                contents.get_data()
            pages.append(text)
    except LimitReachedError as exc:
        raise ParseRejected(
            f"the PDF holds a stream that inflates past the reader's safety limit ({exc}); export it again "
            "without embedded data or upload the text",
            limit="pdf_stream_output",
        ) from exc
    # pypdf reports malformed input as its own errors and, deep in its object model, as these builtins.
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise ParseRejected(f"the PDF cannot be read ({exc}); export it again or upload the text") from exc
    return "\n\n".join(pages)


# ---------------------------------------------------------------- DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_READ = 64 * 1024
# Word never writes a DTD; one in a part is an entity bomb or an external-entity probe.
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_RELS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


class _Unpacked:
    """Bytes inflated so far, across every part read, against the cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0

    def take(self, n: int) -> None:
        self.total += n
        if self.total > self.cap:
            raise _over(
                "max_docx_unpacked_bytes",
                self.cap,
                f"the DOCX unpacks to more than {self.cap:,} bytes",
                "remove embedded media or split it",
            )


def _part(archive: zipfile.ZipFile, name: str, unpacked: _Unpacked) -> Iterator[bytes]:
    """The part's bytes as they inflate, 64 KiB at a time (a single read() would inflate it whole first)."""
    tail = b""
    with archive.open(name) as stream:
        while chunk := stream.read(_READ):
            unpacked.take(len(chunk))
            if not tail and chunk[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raise ParseRejected(f"the DOCX part {name} is not UTF-8; save the file again in Word")
            if _DTD.search(tail + chunk):
                raise ParseRejected(
                    f"the DOCX part {name} declares a DTD or entities, which Word never writes; save the file "
                    "again in Word"
                )
            tail = chunk[-16:]
            yield chunk


def _xml_parser(events: tuple[str, ...] = ("end",)) -> Any:
    from lxml import etree

    return etree.XMLPullParser(
        events=events, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )


def _whole_part(archive: zipfile.ZipFile, name: str, unpacked: _Unpacked) -> Any:
    parser = _xml_parser()
    for chunk in _part(archive, name, unpacked):
        parser.feed(chunk)
    return parser.close()


def _document_part(archive: zipfile.ZipFile, names: set[str], unpacked: _Unpacked) -> str:
    if "_rels/.rels" in names:
        rels = _whole_part(archive, "_rels/.rels", unpacked)
        for rel in rels:
            if rel.get("Type") == _RELS_TYPE and rel.get("Target"):
                target = str(rel.get("Target")).lstrip("/")
                if target in names:
                    return target
    if "word/document.xml" in names:
        return "word/document.xml"
    raise ParseRejected("the file is not a Word document (no word/document.xml); save it again as .docx")


def _style_names(archive: zipfile.ZipFile, names: set[str], unpacked: _Unpacked) -> dict[str, str]:
    if "word/styles.xml" not in names:
        return {}
    root = _whole_part(archive, "word/styles.xml", unpacked)
    out: dict[str, str] = {}
    for style in root.iter(f"{_W}style"):
        name = style.find(f"{_W}name")
        style_id = style.get(f"{_W}styleId")
        if style_id and name is not None and name.get(f"{_W}val"):
            out[style_id] = str(name.get(f"{_W}val"))
    return out


def _run_text(run: Any) -> str:
    out = []
    for child in run:
        tag = child.tag
        if tag == f"{_W}t":
            out.append(child.text or "")
        elif tag in (f"{_W}tab", f"{_W}ptab"):
            out.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr"):
            out.append("\n")
        elif tag == f"{_W}noBreakHyphen":
            out.append("-")
    return "".join(out)


def _paragraph(p: Any, styles: dict[str, str]) -> str | None:
    parts = []
    for child in p:
        if child.tag == f"{_W}r":
            parts.append(_run_text(child))
        elif child.tag == f"{_W}hyperlink":
            parts.extend(_run_text(r) for r in child.iter(f"{_W}r"))
    text = "".join(parts).strip()
    if not text:
        return None
    style_el = p.find(f"{_W}pPr/{_W}pStyle")
    style = styles.get(str(style_el.get(f"{_W}val")), "") if style_el is not None else ""
    # Built-in names are stored lower-case ("heading 2"); Word shows them capitalised.
    lowered = style.lower()
    level = re.match(r"heading (\d)", lowered)
    if level:
        return f"{'#' * int(level.group(1))} {text}"
    if lowered == "title":
        return f"# {text}"
    if lowered.startswith("list"):
        return f"- {text}"
    return text


def docx_to_text(data: bytes, limits: ParseLimits) -> str:
    """Body paragraphs in order, headings as `#` lines. Streams the main part, counting every paragraph and
    every inflated byte, and keeps only the current paragraph in memory."""
    from lxml import etree

    unpacked = _Unpacked(limits.max_docx_unpacked_bytes)
    cap = limits.max_docx_paragraphs
    out: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            styles = _style_names(archive, names, unpacked)
            parser = _xml_parser(("start", "end"))
            body: Any = None
            paragraphs = 0
            for chunk in _part(archive, _document_part(archive, names, unpacked), unpacked):
                parser.feed(chunk)
                for event, el in parser.read_events():
                    if event == "start":
                        if el.tag == f"{_W}body" and body is None:
                            body = el
                        continue
                    if el.tag == f"{_W}p":
                        paragraphs += 1
                        if paragraphs > cap:
                            raise _over(
                                "max_docx_paragraphs",
                                cap,
                                f"the DOCX has more than {cap:,} paragraphs (empty ones count)",
                                "split it into several documents",
                            )
                    if body is not None and el.getparent() is body:
                        if el.tag == f"{_W}p" and (line := _paragraph(el, styles)) is not None:
                            out.append(line)
                        body.remove(el)  # done with it: memory stays flat however long the body is
            parser.close()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError, NotImplementedError) as exc:
        raise ParseRejected(f"the DOCX cannot be read ({exc}); save it again as .docx") from exc
    except etree.LxmlError as exc:  # malformed XML, entity loops, libxml2's own depth and size guards
        if "Excessive depth" in str(exc):
            raise ParseRejected("the DOCX nests XML elements more than 256 deep; save it again in Word") from exc
        if "too long" in str(exc):
            raise ParseRejected("the DOCX holds a text run of over 10 MB; split it into several documents") from exc
        raise ParseRejected(f"the DOCX holds malformed XML ({exc}); save it again in Word") from exc
    except RuntimeError as exc:  # zipfile: an encrypted entry
        raise ParseRejected(f"the DOCX cannot be read ({exc}); save it again without a password") from exc
    return "\n\n".join(out)


EXTRACTORS = {"html": html_to_text, "pdf": pdf_to_text, "docx": docx_to_text}


def extract(data: bytes, *, fmt: str, limits: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """The sandbox's entry point: text of a `fmt` file, or ParseRejected. The character cap is applied here
    too, so no more than the limit ever travels back to the server."""
    text = EXTRACTORS[fmt](data, ParseLimits(**limits))
    if len(text) > max_chars * 2:  # normalisation (in the server) only shrinks text; 2x leaves it room
        raise ParseRejected(
            f"the content has {len(text):,} characters; the limit is {max_chars:,}; split it into several documents"
        )
    return {"text": text}
