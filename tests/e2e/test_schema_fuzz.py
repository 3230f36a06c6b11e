"""Schemathesis against the running server's own OpenAPI schema, once per role: every operation, examples
generated from the schema (bounded), and three checks: no 5xx, every status answered is documented, every body
matches its documented schema. Each role fuzzes in a throwaway org of its own, so ingest and deletion run for
real without touching anyone's data."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import token

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
MAX_EXAMPLES = 5


@pytest.mark.parametrize("role", ["rep", "engineer", "manager", "admin"])
def test_no_operation_breaks_its_schema_or_fails_for_any_role(server: tuple[str, dict[str, str]], role: str) -> None:
    base, env = server
    headers = token(env, role, org=f"fuzz-{role}")
    run = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run", f"{base}/schema/openapi.json",
            "--header", f"Authorization: {headers['Authorization']}",
            "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
            "--request-timeout", "60", "--continue-on-failure", "--seed", "1", "--warnings", "off",
        ],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    tail = run.stdout[-6000:]
    assert run.returncode == 0, tail
    assert "passed" in tail and "failed" not in tail.split("SUMMARY")[-1], tail
