"""A facilitator's day in a real browser: sign in, create a cohort, run its first session, sign out.

Also the pause after repeated wrong passwords, which only the real sign-in route can show.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from program.demo import DEMO_PASSWORD
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/staff-shots")
ROSTER = ["Aiko", "Bram", "Carmen", "Dara", "Emeka", "Fleur", "Gus", "Hana"]
COHORT = "Browser cohort"
WAIT = 20_000


def sidebar(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("stSidebar")


def main(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("stMain")


def grid_row(page: Page, first_cell: str):  # type: ignore[no-untyped-def]
    """The row of the page's table whose first cell reads `first_cell`."""
    table = main(page).get_by_test_id("stDataFrame")
    return table.get_by_role("row", include_hidden=True).filter(
        has=page.get_by_role("gridcell", name=first_cell, exact=True, include_hidden=True)
    )


def shoot(page: Page, name: str) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its own container, so enlarge the window."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.get_by_test_id("stMain").evaluate("e => e.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 100, 6000)})
    page.get_by_role("heading", level=1).first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    if size:
        page.set_viewport_size(size)


def choose(page: Page, label: str, option: str | re.Pattern[str]) -> None:
    """Pick an option of a Streamlit (BaseWeb) selectbox."""
    box = main(page).get_by_role("combobox", name=label, exact=True)
    box.click()
    page.get_by_role("option", name=option).click()
    expect(box).to_have_value(option)


def test_sign_in_survives_a_reload(page: Page, base_url: str) -> None:
    page.goto(base_url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Maya Facilitator")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Welcome, Maya Facilitator")).to_be_visible(
        timeout=WAIT
    )
    expect(sidebar(page).get_by_text("Maya Facilitator")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["program_session"]["httpOnly"]


def test_create_a_cohort_and_hold_its_first_session(page: Page, base_url: str) -> None:
    today = dt.date.today()
    sign_in(page, base_url, "maya", DEMO_PASSWORD)

    # (b) a new cohort from the bundled curriculum, week 1 today
    page.goto(f"{base_url}/cohorts")
    expect(page.get_by_role("heading", name="Cohorts")).to_be_visible(timeout=WAIT)
    page.get_by_text("Create a cohort").click()
    form = page.get_by_test_id("stForm")
    expect(form.get_by_label("Cohort name")).to_be_visible()
    expect(form.get_by_role("combobox", name="Program")).to_have_value("Community pain collective")
    expect(form.get_by_role("combobox", name=re.compile("^Curriculum version"))).to_have_value(
        re.compile("^Collective Healing")
    )
    form.get_by_label("Cohort name").fill(COHORT)
    # Start today on today's weekday are the form's defaults.
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        expect(form.get_by_role("spinbutton", name=f"{part}, Starting from")).to_have_attribute(
            "aria-valuenow", str(value)
        )
    expect(form.get_by_role("combobox", name="Meets every")).to_have_value(today.strftime("%A"))
    form.get_by_text("Hold the orientation session first").click()
    expect(
        form.get_by_role("checkbox", name="Hold the orientation session first")
    ).not_to_be_checked()
    form.get_by_label(re.compile("^Roster")).fill("\n".join(ROSTER))
    form.get_by_role("button", name="Create cohort").click()
    # The table is drawn on a canvas; its cells are also in an accessible (hidden) grid.
    expect(grid_row(page, COHORT)).to_be_attached(timeout=WAIT)
    shoot(page, "cohorts")

    # (c) run session 1: everyone is here (saved at once), then mark it held
    page.goto(f"{base_url}/session")
    expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
    choose(page, "Cohort", COHORT)
    # The cohort's own session picker replaces the previous one once the page has rerun.
    expect(page.get_by_text(f"{COHORT} · planned for")).to_be_visible(timeout=WAIT)
    expect(main(page).get_by_role("combobox", name="Session", exact=True)).to_have_count(1)
    choose(page, "Session", re.compile(r"^1 · "))
    expect(page.get_by_text(f"{COHORT} · planned for")).to_be_visible(timeout=WAIT)
    page.get_by_role("tab", name=re.compile("^Attendance")).click()
    expect(page.get_by_role("tab", name="Attendance")).to_be_visible()
    page.get_by_role("button", name="Everyone is here").click()
    # Every mark is saved as it is made: the count is read back from the store, with the time.
    expect(
        page.get_by_text(re.compile(r"^8 present, 0 not yet marked\b.*saved at \d\d:\d\d:\d\d"))
    ).to_be_visible(timeout=WAIT)
    held = page.get_by_role("button", name="Mark this session held")
    held.click()
    expect(page.get_by_text("Session marked held.")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(f"{COHORT} · held")).to_be_visible()
    expect(held).to_have_count(0)
    shoot(page, "session")

    # The server holds the database, so check what was stored through the UI.
    page.goto(f"{base_url}/cohorts")
    expect(
        grid_row(page, COHORT).get_by_role("gridcell", name="1 of 6", include_hidden=True)
    ).to_be_attached(timeout=WAIT)


def test_sign_out_returns_to_the_signin_screen(page: Page, base_url: str) -> None:
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    sidebar(page).get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
    expect(sidebar(page).get_by_text("Maya Facilitator")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
    page.goto(f"{base_url}/cohorts")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("heading", name="Cohorts")).to_have_count(0)


def test_five_wrong_passwords_pause_sign_in_in_the_same_words(page: Page, base_url: str) -> None:
    def attempt(password: str) -> str:
        """Submit the form; the page the sign-in route sends the browser back to."""
        page.locator("input#username").fill("sam")
        page.locator("input#password").fill(password)
        with page.expect_response(lambda r: r.url.endswith("/auth/signin")) as answer:
            page.get_by_role("button", name="Sign in").click()
        return answer.value.headers["location"]

    page.goto(base_url)
    for _ in range(5):
        assert attempt("not the password") == "/?signin=failed"
        expect(page.get_by_text("do not match an active account")).to_be_visible(timeout=WAIT)
        expect(page.locator("input#username")).to_be_visible()
    # Paused: the right password is refused as well, and the answer does not say so.
    assert attempt(DEMO_PASSWORD) == "/?signin=failed"
    expect(page.get_by_text("do not match an active account")).to_be_visible(timeout=WAIT)
    expect(page.locator("input#username")).to_be_visible()
    expect(sidebar(page).get_by_text("Sam Facilitator")).to_have_count(0)
    assert "program_session" not in {c["name"] for c in page.context.cookies()}
