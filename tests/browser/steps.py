"""The steps the browser tests share: signing in, waiting for the app to settle, picking a
selectbox option or a tab, a phone-sized page, typing a date, and answering the participant's
page (one fieldset per question, a group of radio buttons drawn as buttons, the last of them
"Prefer not to say"). Also `require_chromium`, which skips when Debian's Chromium is missing."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from program.demo import DEMO_ACCOUNTS
from scripts.appserver import CHROMIUM

DISPLAY_NAMES = {a.username: a.display_name for a in DEMO_ACCOUNTS}
WAIT = 20_000
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)"
            " to run the browser tests; Playwright cannot download its own browsers here."
        )


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in through the form and wait until the sidebar names the staff member."""
    if not page.url.startswith(base_url):
        page.goto(base_url)
    page.locator("input#username").fill(username)
    page.locator("input#password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    name = DISPLAY_NAMES.get(username, username)
    expect(page.get_by_test_id("stSidebar").get_by_text(name)).to_be_visible(timeout=20_000)


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


def main(page: Page) -> Locator:
    return page.get_by_test_id("stMain")


def settle(page: Page) -> None:
    """Wait until the app has finished running its script (reruns redraw the page)."""
    page.wait_for_timeout(300)  # a click's rerun may not have started yet
    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=WAIT
    )


def choose(
    page: Page, label: str, option: str | re.Pattern[str], where: Locator | None = None
) -> None:
    """Pick an option of a Streamlit (BaseWeb) selectbox in the main area (or `where`)."""
    box = (where or main(page)).get_by_role("combobox", name=label, exact=True)
    deadline = time.monotonic() + WAIT / 1000
    while True:
        # A rerun that redraws the page while the list is open closes it again: retry.
        settle(page)
        box.click()
        try:
            page.get_by_role("option", name=option).click(timeout=3000)
            break
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise
            page.keyboard.press("Escape")
    expect(box).to_have_value(option)
    settle(page)


def show_tab(page: Page, name: str | re.Pattern[str], showing: str) -> Locator:
    """Select a tab once the page is quiet and return its panel (a late rerun may redraw it)."""
    deadline = time.monotonic() + WAIT / 1000
    while True:
        settle(page)
        page.get_by_role("tab", name=name).click()
        panel = page.get_by_role("tabpanel", name=name)
        try:
            expect(panel.get_by_text(showing).first).to_be_visible(timeout=3000)
            settle(page)
            if panel.get_by_text(showing).first.is_visible():
                return panel
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def phone(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    return context, context.new_page()


def move_date(page: Page, field: Locator, day: dt.date) -> None:
    """Type a date into a Streamlit date field (day, month and year segments)."""
    field.get_by_role("spinbutton").first.click()
    page.keyboard.type(f"{day:%d%m%Y}")
    # The field hands its value to the app only when it loses focus.
    page.get_by_role("heading", level=1).first.click()
    settle(page)
