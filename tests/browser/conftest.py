"""Browser tests: a real server on a fresh demo database, driven by Debian's headless Chromium.

Run with `pytest -m browser tests/browser`. Playwright cannot download its own browsers here, so
the tests use /usr/bin/chromium and are skipped, saying so, when it is missing.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from program.demo import DEMO_ACCOUNTS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
STARTUP_TIMEOUT = 60.0
DISPLAY_NAMES = {a.username: a.display_name for a in DEMO_ACCOUNTS}


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)"
            " to run the browser tests; Playwright cannot download its own browsers here."
        )


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    _require_chromium()
    return {
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """A Streamlit server on a freshly seeded demo database; its URL. Stopped at the end."""
    _require_chromium()
    with tempfile.TemporaryDirectory(prefix="browser-tests-") as tmp:
        env = {
            **os.environ,
            "PROGRAM_DATABASE": str(Path(tmp) / "db.duckdb"),
            "PROGRAM_SESSION_SECRET": secrets.token_urlsafe(32),
            "PROGRAM_CURRICULA": str(ROOT / "curricula"),
        }
        env.pop("PROGRAM_DEMO", None)
        seeded = subprocess.run(
            [sys.executable, "-m", "program", "seed-demo"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert seeded.returncode == 0, seeded.stderr
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = (Path(tmp) / "server.log").open("w")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not _healthy(url):
                if server.poll() is not None:
                    log.flush()
                    raise RuntimeError(
                        f"The server exited with {server.returncode}:\n"
                        + (Path(tmp) / "server.log").read_text()
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(f"The server did not answer within {STARTUP_TIMEOUT:.0f} s.")
                time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
            log.close()


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in through the form and wait until the sidebar names the staff member."""
    if not page.url.startswith(base_url):
        page.goto(base_url)
    page.locator("input#username").fill(username)
    page.locator("input#password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    name = DISPLAY_NAMES.get(username, username)
    expect(page.get_by_test_id("stSidebar").get_by_text(name)).to_be_visible(timeout=20_000)
