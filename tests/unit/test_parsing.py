from __future__ import annotations

import io

import pytest

from services.core.errors import Unprocessable, UnsupportedMediaType
from services.ingest.parsing import Format, detect_format, parse_content
from tests import hostile_files as hostile

LIMIT = 100_000


def _pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF with `text` in Helvetica, offsets computed so readers accept it."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return hostile.pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def test_markdown_front_matter_is_read_and_removed() -> None:
    parsed = parse_content(
        "---\nexternal_id: a-1\nkind: feature\ntags: [x, y]\n---\n# Title\n\nBody text.\n",
        content_type=None,
        filename="a.md",
        max_chars=LIMIT,
    )
    assert parsed.format is Format.MARKDOWN
    assert parsed.front_matter == {"external_id": "a-1", "kind": "feature", "tags": ["x", "y"]}
    assert parsed.text == "# Title\n\nBody text."


def test_html_keeps_headings_and_text_and_drops_scripts_and_styles() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><h2>Security</h2><p>Data is encrypted at rest.</p><script>var secret=1;</script>"
        "<ul><li>SAML single sign-on</li></ul></body></html>"
    )
    parsed = parse_content(html, content_type="text/html", filename=None, max_chars=LIMIT)
    assert parsed.text == "## Security\n\nData is encrypted at rest.\n\n- SAML single sign-on"
    assert "alert" not in parsed.text and "color" not in parsed.text and "secret" not in parsed.text


def test_pdf_text_is_extracted() -> None:
    parsed = parse_content(
        _pdf_bytes("Audit logs are kept for 400 days."), content_type=None, filename="x.pdf", max_chars=LIMIT
    )
    assert parsed.format is Format.PDF
    assert "Audit logs are kept for 400 days." in parsed.text


def test_docx_headings_become_markdown_headings() -> None:
    from docx import Document

    doc = Document()
    doc.add_heading("Failover", level=2)
    doc.add_paragraph("Regions fail over in under 60 seconds.")
    buf = io.BytesIO()
    doc.save(buf)
    parsed = parse_content(buf.getvalue(), content_type=None, filename="f.docx", max_chars=LIMIT)
    assert parsed.text == "## Failover\n\nRegions fail over in under 60 seconds."


@pytest.mark.parametrize(
    ("content_type", "filename"),
    [("image/png", None), (None, "slides.pptx"), ("application/octet-stream", "x.exe")],
)
def test_unsupported_types_are_415(content_type: str | None, filename: str | None) -> None:
    with pytest.raises(UnsupportedMediaType) as err:
        detect_format(content_type, filename)
    assert err.value.status_code == 415
    assert "markdown" in err.value.message


@pytest.mark.parametrize(
    ("data", "content_type", "filename", "fragment"),
    [
        ("   \n\n  ", "text/plain", None, "empty"),
        ("<html><script>only()</script></html>", "text/html", None, "empty"),
        (b"\xff\xfe\x00\xd8garbage" * 3, "text/plain", None, "UTF-8"),
        ("Caf\u00e9 men\u00fc pr\u00e9cis".encode("latin-1"), "text/plain", None, "UTF-8"),
        (b"%PDF-1.4 not really a pdf", None, "broken.pdf", "PDF"),
        (b"PK not a zip", None, "broken.docx", "DOCX"),
        ("---\nkind: [unclosed\n---\nbody", "markdown", None, "front matter"),
    ],
)
def test_unreadable_or_empty_content_is_422(
    data: bytes | str, content_type: str | None, filename: str | None, fragment: str
) -> None:
    with pytest.raises(Unprocessable) as err:
        parse_content(data, content_type=content_type, filename=filename, max_chars=LIMIT)
    assert err.value.status_code == 422
    assert fragment in err.value.message


def test_content_over_the_character_limit_is_422() -> None:
    with pytest.raises(Unprocessable, match="limit is 50"):
        parse_content("word " * 100, content_type="text", filename=None, max_chars=50)
