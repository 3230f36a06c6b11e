"""What the request still checks of an HTML, PDF or DOCX upload (cheap checks, no parse) and what it defers to
the job: the upload is kept as sent, known by its bytes, and parsed by the job in the sandbox."""

from __future__ import annotations

import pytest

from services.core.db import utcnow
from services.core.errors import Unprocessable, UnsupportedMediaType
from services.core.settings import IngestSettings
from services.ingest.parsing import Format, check_upload
from services.ingest.service import IngestService, RawUpload
from tests import hostile_files as hostile

FIELDS = {"external_id": "doc-1", "kind": "feature", "title": "Doc"}


def _service() -> IngestService:
    # prepare() touches neither the database nor the store.
    return IngestService(None, None, IngestSettings(), lambda _job: None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "fmt", "fragment"),
    [
        (b"", Format.HTML, "empty"),
        (b" \n\t ", Format.PDF, "empty"),
        (b"PK\x03\x04zip", Format.PDF, "not a PDF"),
        (b"%PDF-1.7 ...", Format.DOCX, "not a DOCX"),
    ],
)
def test_obviously_bad_files_are_refused_in_the_request(data: bytes, fmt: Format, fragment: str) -> None:
    with pytest.raises(Unprocessable) as err:
        check_upload(data, fmt)
    assert fragment in err.value.message


def test_a_pdf_header_after_some_junk_and_any_zip_pass_the_cheap_checks() -> None:
    check_upload(b"\r\n%PDF-1.4 rest", Format.PDF)
    check_upload(hostile.lying_zip_docx(200_000_000), Format.DOCX)  # not inflated here: the job finds out


async def test_sandboxed_formats_are_kept_raw_and_markdown_is_parsed_at_once() -> None:
    service = _service()
    # A DOCX that would hold a parser for minutes: kept as sent, not parsed in the request.
    bomb = hostile.wide_docx(3_400_000)
    kept = await service.prepare(dict(FIELDS), bomb, filename="wide.docx")
    assert isinstance(kept.content, RawUpload) and kept.content.data == bomb
    assert kept.content.format is Format.DOCX and kept.text is None
    assert kept.version_meta(90, utcnow())["content_hash"] is None

    html = await service.prepare(dict(FIELDS, content_type="text/html"), "<p>hello</p>", filename=None)
    assert isinstance(html.content, RawUpload) and html.content.data == b"<p>hello</p>"

    md = await service.prepare({}, "---\nexternal_id: m\nkind: other\ntitle: M\n---\n# M\n\nbody", filename="m.md")
    assert md.text is not None and md.external_id == "m"


async def test_a_raw_upload_is_known_by_its_bytes_and_its_fields() -> None:
    service = _service()
    page = b"<h1>A</h1><p>words</p>"
    one = await service.prepare(dict(FIELDS), page, filename="a.html")
    same = await service.prepare(dict(FIELDS), page, filename="b.htm")
    other_bytes = await service.prepare(dict(FIELDS), page + b" ", filename="a.html")
    other_title = await service.prepare(dict(FIELDS, title="Other"), page, filename="a.html")
    assert one.fingerprint() == same.fingerprint()
    assert len({one.fingerprint(), other_bytes.fingerprint(), other_title.fingerprint()}) == 3


async def test_the_request_still_refuses_bad_fields_and_types_at_once() -> None:
    service = _service()
    with pytest.raises(UnsupportedMediaType):
        await service.prepare(dict(FIELDS), b"MZ\x90\x00", filename="slides.exe")
    with pytest.raises(Unprocessable) as err:
        await service.prepare({"kind": "feature"}, b"<p>x</p>", filename="a.html")
    assert {d["field"] for d in err.value.details} >= {"external_id", "title"}  # type: ignore[union-attr]
