"""Run a parser over untrusted bytes in a child process with a wall-clock limit and an address-space limit.

A parser that loops, recurses or allocates without end (a 335 KB DOCX of millions of paragraphs, a zip that
inflates past its declared size) costs the child, never the server: the child gets RLIMIT_AS (allocations past
it fail) and RLIMIT_CPU, and is killed (SIGKILL) when the wall clock runs out. The server only waits, on the
event loop without holding a thread (`run_limited_async`) or in the caller's thread (`run_limited`).

Protocol: the child reads one JSON line (target, options, limits) and then the file's bytes from stdin, and
writes one JSON object to stdout: {"ok": result}, {"rejected": {...}} or {"failed": {...}}.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from services.ingest.extract import ParseRejected, setting_name

# The project root, so `-m services.ingest.sandbox` imports in the child whatever the server's working directory.
_ROOT = str(Path(__file__).resolve().parents[2])


class ParserFailed(Exception):
    """The parser failed in a way that is not the file's fault (a bug): the caller answers 500 and logs it."""


def _command() -> list[str]:
    return [sys.executable, "-m", "services.ingest.sandbox"]


# What the parser child inherits: enough to run Python, never the server's secrets (JWT secret, database URL).
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _KEPT_ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH", "")) if p)
    # One thread: nothing here uses more, and each extra thread reserves address space under RLIMIT_AS.
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MALLOC_ARENA_MAX="2")
    return env


def _stdin(target: str, options: dict[str, Any], timeout_s: float, memory_bytes: int, data: bytes) -> bytes:
    header = {"target": target, "options": options, "timeout_s": timeout_s, "memory_bytes": memory_bytes}
    return json.dumps(header).encode() + b"\n" + data


def _timed_out(timeout_s: float) -> ParseRejected:
    return ParseRejected(
        f"parsing the file took longer than {timeout_s:g} s ({setting_name('parse_timeout_seconds')}) and was "
        "stopped; split it or upload its text",
        limit="parse_timeout_seconds",
        value=timeout_s,
    )


def _memory(memory_bytes: int) -> ParseRejected:
    return ParseRejected(
        f"parsing the file needed more than {memory_bytes:,} bytes of memory "
        f"({setting_name('parse_memory_bytes')}) and was stopped; split it or upload its text",
        limit="parse_memory_bytes",
        value=memory_bytes,
    )


def _result(returncode: int, stdout: bytes, stderr: bytes, timeout_s: float, memory_bytes: int) -> Any:
    if returncode == -signal.SIGXCPU or returncode == -signal.SIGKILL:
        raise _timed_out(timeout_s)  # SIGKILL: the kernel's CPU hard limit; ours arrives as a timeout first
    try:
        answer = json.loads(stdout) if stdout else None
    except json.JSONDecodeError:
        answer = None
    if isinstance(answer, dict) and "ok" in answer:
        return answer["ok"]
    if isinstance(answer, dict) and "rejected" in answer:
        r = answer["rejected"]
        if r.get("limit") == "parse_memory_bytes":
            raise _memory(memory_bytes)
        raise ParseRejected(str(r["message"]), limit=r.get("limit"), value=r.get("value"))
    if isinstance(answer, dict) and "failed" in answer:
        raise ParserFailed(f"the parser raised {answer['failed'].get('type')}: {answer['failed'].get('message')}")
    if returncode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS) or b"MemoryError" in stderr:
        # A C library that cannot allocate under RLIMIT_AS aborts or faults instead of raising.
        raise _memory(memory_bytes)
    raise ParserFailed(f"the parse process ended with status {returncode}: {stderr[-500:].decode(errors='replace')}")


def run_limited(target: str, data: bytes, options: dict[str, Any], *, timeout_s: float, memory_bytes: int) -> Any:
    """Call `target` ("module:function") as f(data, **options) in a limited child; its JSON result.

    Raises ParseRejected (the file's fault, or a limit: `limit` names it) or ParserFailed (a bug)."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell, no user input in argv
        _command(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        start_new_session=True,  # a terminal's Ctrl-C goes to the server, which then kills the child itself
    )
    try:
        stdout, stderr = proc.communicate(_stdin(target, options, timeout_s, memory_bytes, data), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise _timed_out(timeout_s) from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return _result(proc.returncode, stdout, stderr, timeout_s, memory_bytes)


async def run_limited_async(
    target: str, data: bytes, options: dict[str, Any], *, timeout_s: float, memory_bytes: int
) -> Any:
    """`run_limited` for the event loop: no thread is held while the child works; a cancelled request
    (client gone, server shutting down) kills the child."""
    proc = await asyncio.create_subprocess_exec(
        *_command(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
        start_new_session=True,
    )
    try:
        stdout, stderr = await asyncio.wait_for(
            proc.communicate(_stdin(target, options, timeout_s, memory_bytes, data)), timeout=timeout_s
        )
    except TimeoutError:
        raise _timed_out(timeout_s) from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return _result(proc.returncode, stdout, stderr, timeout_s, memory_bytes)


def _child() -> None:
    stdin = sys.stdin.buffer
    header = json.loads(stdin.readline())
    memory = int(header["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # CPU seconds as a backstop should the server die before it can kill this process.
    cpu = int(float(header["timeout_s"])) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    sys.setrecursionlimit(5_000)
    data = stdin.read()
    module, _, function = str(header["target"]).partition(":")
    try:
        result = getattr(importlib.import_module(module), function)(data, **header["options"])
        answer: dict[str, Any] = {"ok": result}
    except ParseRejected as exc:
        answer = {"rejected": {"message": exc.message, "limit": exc.limit, "value": exc.value}}
    except MemoryError:
        del data
        answer = {"rejected": {"message": "memory", "limit": "parse_memory_bytes"}}
    except RecursionError:
        answer = {"rejected": {"message": "the file nests structures too deeply to read; save it again flatter"}}
    except Exception as exc:  # noqa: BLE001 - reported to the server, which logs it and answers 500
        answer = {"failed": {"type": type(exc).__name__, "message": str(exc)[:500]}}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


if __name__ == "__main__":
    _child()
