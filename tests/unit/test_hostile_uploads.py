"""The hostile-file corpus against the real parsers in the real sandbox (a child process per file).

Limits are lowered so each file is small and each test takes well under a second; the last tests run at the
default limits: the issue's own 3.4-million-paragraph DOCX, and a child stopped by the memory and wall-clock
limits themselves.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest

from services.core.errors import Unprocessable
from services.core.settings import IngestSettings
from services.ingest.extract import ParseLimits, ParseRejected
from services.ingest.parsing import default_limits, parse_content
from services.ingest.sandbox import run_limited
from tests import hostile_files as hostile

LOW = ParseLimits(
    max_docx_unpacked_bytes=1024 * 1024,
    max_docx_paragraphs=1_000,
    max_pdf_pages=20,
    max_html_depth=64,
    max_html_elements=2_000,
    parse_timeout_seconds=10.0,
    parse_memory_bytes=512 * 1024 * 1024,
)
# Each refusal here comes from a cap or a parser guard, seconds before any time limit.
FAST_S = 3.0


def _refusal(data: bytes, filename: str, limits: ParseLimits = LOW) -> tuple[Unprocessable, float]:
    started = time.perf_counter()
    with pytest.raises(Unprocessable) as err:
        parse_content(data, content_type=None, filename=filename, max_chars=1_000_000, limits=limits)
    return err.value, time.perf_counter() - started


CAPPED: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("wide DOCX", lambda: hostile.wide_docx(1_001), "x.docx", "max_docx_paragraphs"),
    (
        "DOCX past its unpacked size",
        lambda: hostile.big_text_docx(1024 * 1024 + 1),
        "x.docx",
        "max_docx_unpacked_bytes",
    ),
    ("nested HTML", lambda: hostile.nested_html(65), "x.html", "max_html_depth"),
    ("wide HTML", lambda: hostile.wide_html(2_001), "x.html", "max_html_elements"),
    ("many-page PDF", lambda: hostile.many_page_pdf(21), "x.pdf", "max_pdf_pages"),
    ("many-page PDF that declares one page", lambda: hostile.many_page_pdf(21, declared=1), "x.pdf", "max_pdf_pages"),
    ("deflate-bomb PDF", lambda: hostile.deflate_bomb_pdf(), "x.pdf", "pdf_stream_output"),
]


@pytest.mark.parametrize(("label", "make", "filename", "limit"), CAPPED, ids=[c[0] for c in CAPPED])
def test_a_file_past_a_cap_is_a_422_that_names_the_cap(
    label: str, make: Callable[[], bytes], filename: str, limit: str
) -> None:
    error, elapsed = _refusal(make(), filename)
    assert error.status_code == 422
    assert error.details is not None and error.details["limit"] == limit, error.message
    if limit != "pdf_stream_output":  # pypdf's own limit has no setting of ours
        setting = f"PITCHCRAFT_{limit.upper()}"
        assert error.details["setting"] == setting and setting in error.message
        assert error.details["value"] == getattr(LOW, limit)
    assert elapsed < FAST_S, (label, elapsed)


def test_just_under_each_cap_parses() -> None:
    para = "<w:p><w:r><w:t>Regions fail over in under a minute.</w:t></w:r></w:p>"
    assert parse_content(hostile.docx(para * 1_000), content_type=None, filename="x.docx", max_chars=10**6, limits=LOW)
    assert (
        "deep"
        in parse_content(
            hostile.nested_html(60), content_type=None, filename="x.html", max_chars=10**6, limits=LOW
        ).text
    )
    assert parse_content(hostile.many_page_pdf(20), content_type=None, filename="x.pdf", max_chars=10**6, limits=LOW)


@pytest.mark.parametrize("part", ["word/document.xml", "word/styles.xml"])
def test_entity_bomb_docx_is_refused_before_any_expansion(part: str) -> None:
    error, elapsed = _refusal(hostile.entity_bomb_docx(part=part), "bomb.docx")
    assert "declares a DTD or entities" in error.message and part in error.message
    assert elapsed < FAST_S


def test_the_zip_directory_is_not_trusted_for_sizes() -> None:
    # 20 MB of XML that its zip directory says is 5,000 bytes: never inflated past what was declared.
    error, elapsed = _refusal(hostile.lying_zip_docx(20_000_000), "liar.docx")
    assert "cannot be read" in error.message and "CRC" in error.message
    # Declaring the truth does not help: the bytes are counted as they inflate.
    error, _ = _refusal(hostile.lying_zip_docx(2_000_000, declared=2_000_000), "honest.docx")
    assert error.details is not None and error.details["limit"] == "max_docx_unpacked_bytes"
    assert elapsed < FAST_S


def test_deep_docx_is_refused() -> None:
    error, elapsed = _refusal(hostile.deep_docx(5_000), "deep.docx")
    assert "more than 256 deep" in error.message
    assert elapsed < FAST_S


def test_the_issues_docx_of_millions_of_empty_paragraphs_is_refused_fast_at_default_limits() -> None:
    # The issue's file: 3.4 million empty paragraphs held a core for 28 minutes and grew the server by 2 GB.
    data = hostile.wide_docx(3_400_000)
    error, elapsed = _refusal(data, "wide.docx", default_limits())
    assert error.details is not None and error.details["setting"] == "PITCHCRAFT_MAX_DOCX_PARAGRAPHS"
    assert error.details["value"] == IngestSettings().max_docx_paragraphs
    assert elapsed < FAST_S


def test_the_child_is_stopped_at_the_default_memory_limit() -> None:
    limits = default_limits()
    started = time.perf_counter()
    with pytest.raises(ParseRejected) as err:
        run_limited(
            "tests.hostile_files:hog",
            b"",
            {},
            timeout_s=limits.parse_timeout_seconds,
            memory_bytes=limits.parse_memory_bytes,
        )
    assert err.value.limit == "parse_memory_bytes"
    assert (
        "PITCHCRAFT_PARSE_MEMORY_BYTES" in err.value.message and f"{limits.parse_memory_bytes:,}" in err.value.message
    )
    assert time.perf_counter() - started < 5


def test_the_child_is_killed_at_the_wall_clock_limit() -> None:
    limits = dataclasses.replace(default_limits(), parse_timeout_seconds=1.5)
    started = time.perf_counter()
    with pytest.raises(ParseRejected) as err:
        run_limited("tests.hostile_files:spin", b"", {}, timeout_s=1.5, memory_bytes=limits.parse_memory_bytes)
    elapsed = time.perf_counter() - started
    assert err.value.limit == "parse_timeout_seconds" and "1.5 s" in err.value.message
    assert 1.5 <= elapsed < 3.0
