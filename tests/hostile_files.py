"""A corpus of hostile uploads, generated: each is just big enough to cross the limit it aims at.

Also two sandbox targets that misbehave on purpose (`spin`, `hog`), to show the child is stopped by the wall
clock and by the memory limit themselves, not by a cap.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from typing import Any

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)


def docx(body_xml: str | bytes, *, prolog: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal DOCX whose body is `body_xml` (w:p elements and the like)."""
    body = body_xml.encode() if isinstance(body_xml, str) else body_xml
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}<w:document xmlns:w="{W_NS}"><w:body>'.encode()
        + body
        + b"</w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buf.getvalue()


def wide_docx(paragraphs: int) -> bytes:
    """Empty paragraphs only (the issue's 335 KB file held 3.4 million)."""
    return docx(b"<w:p/>" * paragraphs)


def deep_docx(depth: int) -> bytes:
    """One paragraph buried in `depth` nested content controls."""
    open_, close = "<w:sdt><w:sdtContent>", "</w:sdtContent></w:sdt>"
    return docx(open_ * depth + "<w:p><w:r><w:t>deep</w:t></w:r></w:p>" + close * depth)


def big_text_docx(unpacked_bytes: int) -> bytes:
    """One paragraph of `unpacked_bytes` of text: compresses to almost nothing."""
    return docx(b"<w:p><w:r><w:t>" + b"a" * unpacked_bytes + b"</w:t></w:r></w:p>")


def lying_zip_docx(unpacked_bytes: int, declared: int = 5_000) -> bytes:
    """A DOCX whose word/document.xml inflates to `unpacked_bytes` while its zip directory (central and local
    headers) declares `declared`."""
    data = bytearray(big_text_docx(unpacked_bytes))
    # Central directory entries (PK\x01\x02): size at 24, name length at 28, name at 46; local headers
    # (PK\x03\x04): size at 22, name length at 26, name at 30.
    for signature, size_at, name_len_at, name_at in ((b"PK\x01\x02", 24, 28, 46), (b"PK\x03\x04", 22, 26, 30)):
        pos = 0
        while (pos := data.find(signature, pos)) != -1:
            (name_len,) = struct.unpack_from("<H", data, pos + name_len_at)
            if bytes(data[pos + name_at : pos + name_at + name_len]) == b"word/document.xml":
                struct.pack_into("<I", data, pos + size_at, declared)
            pos += 4
    return bytes(data)


def entity_bomb_docx(levels: int = 10, part: str = "word/document.xml") -> bytes:
    """Billion laughs: each entity expands to ten of the one before."""
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels))
    prolog = f"<!DOCTYPE w:document [{entities}]>"
    if part == "word/document.xml":
        return docx(f"<w:p><w:r><w:t>&lol{levels - 1};</w:t></w:r></w:p>", prolog=prolog)
    styles = (
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE w:styles [{entities}]><w:styles xmlns:w="{W_NS}">'
        f'<w:style w:styleId="x"><w:name w:val="&lol{levels - 1};"/></w:style></w:styles>'
    )
    return docx("<w:p><w:r><w:t>fine</w:t></w:r></w:p>", extra={"word/styles.xml": styles.encode()})


def nested_html(depth: int) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"<p>deep</p>" + b"</div>" * depth + b"</body></html>"


def wide_html(elements: int) -> bytes:
    return b"<html><body>" + b"<p>x</p>" * elements + b"</body></html>"


def pdf(objects: list[bytes]) -> bytes:
    """Objects numbered from 1 (1 is the catalog), with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def many_page_pdf(pages: int, *, declared: int | None = None) -> bytes:
    """`pages` pages sharing one content stream; the page tree declares `declared` (default: the truth)."""
    stream = b"BT /F1 12 Tf 72 720 Td (page) Tj ET"
    first_page = 5
    kids = " ".join(f"{first_page + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {declared if declared is not None else pages} >>".encode(),
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    )
    objects.extend(page for _ in range(pages))
    return pdf(objects)


def deflate_bomb_pdf(inflated_bytes: int = 80_000_000) -> bytes:
    """One page whose content stream is `inflated_bytes` of spaces, deflated to about 1/1000 of that."""
    packed = zlib.compress(b" " * inflated_bytes, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length " + str(len(packed)).encode() + b" /Filter /FlateDecode >>\nstream\n" + packed + b"\nendstream",
    ]
    return pdf(objects)


# Sandbox targets that misbehave whatever the input (run by services.ingest.sandbox in the child).


def spin(data: bytes, **_: Any) -> dict[str, Any]:
    while True:
        time.sleep(0)


def hog(data: bytes, **_: Any) -> dict[str, Any]:
    held = []
    while True:
        held.append(bytearray(64 * 1024 * 1024))
