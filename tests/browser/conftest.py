"""The web app in a real browser: `pitchcraft demo` served over a socket, driven by Debian's headless Chromium
through Playwright (its own browser download is never used). `make browser` installs Chromium when missing.

Screenshots of every page a journey visits land in PITCHCRAFT_SCREENSHOTS (default build/screenshots); the run
prints the folder at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import clean_env, serving

CHROMIUM = os.environ.get("PITCHCRAFT_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("PITCHCRAFT_SCREENSHOTS", ROOT / "build" / "screenshots"))
# Flags for a sandboxed machine with no outside network: no background calls home, no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OTHER_ORG_ENGINEER = ("eve@acme.test", "acme-engineer-password")
# Only the rate-limit test signs in as this one: it ends locked out for the failure window.
LOCKOUT_USER = ("lockout@acme.test", "acme-lockout-password")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SHOTS.exists() and any(SHOTS.iterdir()):
        terminalreporter.write_line(f"browser screenshots: {SHOTS}")


def _env(data: Path) -> dict[str, str]:
    return clean_env(data) | {"PYTHONWARNINGS": "ignore"}


class WebApp:
    def __init__(self, base: str, data: Path, env: dict[str, str]) -> None:
        self.base = base
        self.data = data
        self.env = env
        passwords = json.loads((data / ".demo-passwords.json").read_text())
        self.logins = {
            role: (email, passwords[email])
            for role, email in (
                ("rep", "ada@demo.pitchcraft.test"),
                ("engineer", "sam@demo.pitchcraft.test"),
                ("manager", "mia@demo.pitchcraft.test"),
                ("admin", "root@demo.pitchcraft.test"),
            )
        }

    def cli(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return out.stdout

    def bearer(self, sub: str, role: str, org: str = "demo") -> dict[str, str]:
        """An Authorization header with a token from `pitchcraft token`, for setting up data through the API."""
        token = self.cli("token", "--sub", sub, "--org", org, "--role", role).strip().splitlines()[-1]
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    data = tmp_path_factory.mktemp("web")
    env = _env(data)
    # The demo material and its users first (load and exit), a user of another org, then the server.
    subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--no-serve"],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    for email, password in (OTHER_ORG_ENGINEER, LOCKOUT_USER):
        add = ["user", "add", email, "--org", "acme", "--role", "engineer", "--password-stdin"]
        subprocess.run(
            [sys.executable, "-m", "services.cli", *add],
            env=env,
            input=password + "\n",
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    with serving(data, env) as base:
        yield WebApp(base, data, env)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run `make browser` (installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@pytest.fixture
def shot() -> Callable[[object, str], Path]:
    """`shot(page, name)`: a full-page screenshot under SHOTS, named after the page."""

    def take(page: object, name: str) -> Path:
        path = SHOTS / f"{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return take


def sign_in(browser: object, web_app: WebApp, email: str, password: str, *, width: int = 1280) -> object:
    """A new browser context (its own cookies), signed in through the sign-in form; returns the page."""
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{web_app.base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    return page


@pytest.fixture
def as_role(browser: object, web_app: WebApp) -> Iterator[Callable[..., object]]:
    """`as_role("rep")`: a page signed in as that demo role."""
    contexts: list[object] = []

    def open_as(role: str, *, width: int = 1280) -> object:
        email, password = web_app.logins[role]
        page = sign_in(browser, web_app, email, password, width=width)
        contexts.append(page.context)  # type: ignore[attr-defined]
        return page

    yield open_as
    for context in contexts:
        context.close()  # type: ignore[attr-defined]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None
