"""Browser tests: a real server on a fresh demo database, driven by Debian's headless Chromium.

Run with `pytest -m browser tests/browser`. Playwright cannot download its own browsers here, so
the tests use /usr/bin/chromium and are skipped, saying so, when it is missing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from program.demo import DEMO_ACCOUNTS
from scripts.appserver import CHROMIUM, CHROMIUM_ARGS, Server, running, seed_demo

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
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """A Streamlit server on a freshly seeded demo database; its URL. Stopped at the end."""
    _require_chromium()
    with tempfile.TemporaryDirectory(prefix="browser-tests-") as tmp:
        database = Path(tmp) / "db.duckdb"
        seed_demo(database)
        with running(Server(database)) as server:
            yield server.url


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in through the form and wait until the sidebar names the staff member."""
    if not page.url.startswith(base_url):
        page.goto(base_url)
    page.locator("input#username").fill(username)
    page.locator("input#password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    name = DISPLAY_NAMES.get(username, username)
    expect(page.get_by_test_id("stSidebar").get_by_text(name)).to_be_visible(timeout=20_000)


# --------------------------------------------------------------------------- the participant's page
# /pulse is one plain HTML page (pulse_page.py): a form of fieldsets, one per question, each a
# group of radio buttons drawn as buttons, the last of them "Prefer not to say".


def questions_of(page: Page) -> Locator:
    """The questions of the participant's page, one fieldset each."""
    return page.locator("form#answers fieldset")


def answer_every_question(page: Page) -> int:
    """Tap the first choice of every question, as a person taps its button; return how many
    questions there were."""
    questions = questions_of(page)
    expect(questions.first).to_be_visible(timeout=20_000)
    total = questions.count()
    for index in range(total):
        first = questions.nth(index).get_by_role("radio").first
        first.locator("xpath=ancestor::label[1]").click()
        expect(first).to_be_checked()
    return total


def send_answers(page: Page) -> None:
    page.get_by_role("button", name="Send my answers").click()
