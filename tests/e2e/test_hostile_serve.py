"""Hostile uploads against a running `pitchcraft serve` at the default limits (the issue's own probe, scaled
to the default 10 MB upload limit): every file is stored and answered 202, its job (on the server's worker
thread, parsing in the sandbox) fails with a reason that names the limit, the server keeps answering health
checks meanwhile (also during a 4 s parse), and its RSS stays within RSS_BOUND_MB."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import hostile_files as hostile
from tests.e2e.conftest import token

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RSS_BOUND_MB = 64
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _server_pid(base: str) -> int:
    """The `pitchcraft serve` process listening at `base` (the shared fixture gives no pid)."""
    port = base.rsplit(":", 1)[1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in args and port.encode() in args:
            return int(cmdline.parent.name)
    raise AssertionError(f"no server process on port {port}")


def _finished(http: httpx.Client, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The job once it has succeeded or failed (each parse is bounded by PITCHCRAFT_PARSE_TIMEOUT_SECONDS; the
    first job also loads the model)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job: dict[str, Any] = http.get(f"/ingest/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_hostile_files_at_default_caps_leave_the_server_answering_and_small(
    server: tuple[str, dict[str, str]],
) -> None:
    base, env = server
    pid = _server_pid(base)
    engineer = token(env, "engineer")
    corpus = [
        ("wide.docx", hostile.wide_docx(3_400_000), DOCX, "PITCHCRAFT_MAX_DOCX_PARAGRAPHS"),
        ("liar.docx", hostile.lying_zip_docx(200_000_000), DOCX, "CRC"),
        ("bomb.docx", hostile.entity_bomb_docx(), DOCX, "declares a DTD or entities"),
        ("nested.html", hostile.nested_html(800_000), "text/html", "PITCHCRAFT_MAX_HTML_DEPTH"),
        ("pages.pdf", hostile.many_page_pdf(50_000, declared=1), "application/pdf", "PITCHCRAFT_MAX_PDF_PAGES"),
        ("bomb.pdf", hostile.deflate_bomb_pdf(), "application/pdf", "safety limit"),
        # Under every cap, about 4 s to parse (in the child), then over the character limit.
        ("slow.html", b"<p>word word word</p>" * 99_000, "text/html", "the limit is 1000000"),
    ]
    health_waits: list[float] = []
    health_statuses: list[int] = []
    timings: dict[str, float] = {}  # post to failed job
    accepted: dict[str, float] = {}  # post to 202
    stop = threading.Event()

    def poll_health() -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            while not stop.is_set():
                started = time.perf_counter()
                health_statuses.append(http.get("/ingest/health").status_code)  # asserted in the test's thread
                health_waits.append(time.perf_counter() - started)
                time.sleep(0.05)

    with httpx.Client(base_url=base, timeout=60) as http:
        warm = http.post(
            "/ingest/v1/documents",
            files={"file": ("w.html", b"<p>warm</p>", "text/html")},
            data={"external_id": "warm", "kind": "other", "title": "Warm"},
            headers=engineer,
        )
        assert warm.status_code == 202, warm.text
        assert _finished(http, warm.json()["job_id"], engineer)["status"] == "succeeded"  # the model loads first
        rss_before = _rss_mb(pid)
        poller = threading.Thread(target=poll_health)
        poller.start()
        try:
            for name, data, media, fragment in corpus:
                started = time.perf_counter()
                response = http.post(
                    "/ingest/v1/documents",
                    files={"file": (name, data, media)},
                    data={"external_id": "hostile", "kind": "feature", "title": "Hostile"},
                    headers=engineer,
                )
                assert response.status_code == 202, (name, response.text)
                accepted[name] = round(time.perf_counter() - started, 2)
                job = _finished(http, response.json()["job_id"], engineer)
                timings[name] = round(time.perf_counter() - started, 2)
                assert job["status"] == "failed" and fragment in job["error"], (name, job)
        finally:
            stop.set()
            poller.join()
        assert health_statuses and set(health_statuses) == {200}, health_statuses
        grown = _rss_mb(pid) - rss_before
        listed = http.get("/ingest/v1/documents", headers=engineer).json()
    # The figures quoted in the README (pytest -s shows them).
    print(
        f"hostile corpus: seconds to 202 {accepted}; to the failed job {timings}; server RSS +{grown:.1f} MB; "
        f"health max {max(health_waits):.3f} s"
    )
    assert grown < RSS_BOUND_MB, f"the server grew by {grown:.0f} MB"
    # Not a speed target: a blocked event loop (the old in-request parse) held health checks for minutes.
    assert len(health_waits) > 20 and max(health_waits) < 5, max(health_waits)
    # The hostile document exists (its versions failed) but nothing of it was ever searchable.
    assert {d["external_id"]: d["current_version"] for d in listed["items"]} == {"hostile": None, "warm": 1}
