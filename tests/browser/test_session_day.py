"""A facilitator's session day in headless Chromium: marks saved as they are made, two
facilitators at once, "we met today instead", today's session everywhere, and printing.

One server for the module over the demo database, plus (made through the domain API before it
starts) Sam as Maya's co-facilitator of today's demo cohort, and a new cohort of Maya's whose
first session is planned for next week.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pypdf import PdfReader

from program import cohorts, demo, printing
from program.demo import DEMO_PASSWORD
from program.privacy import ROUNDING_NOTE
from program.store import Store
from scripts.appserver import CHROMIUM, Server, seed_demo
from tests.browser.steps import answer_every_question, sign_in

pytestmark = pytest.mark.browser

WAIT = 30_000
LAPTOP = {"width": 1366, "height": 900}
NEW_COHORT = "New group, Eastside"


@dataclass(frozen=True)
class World:
    server: Server
    database: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    database = tmp_path_factory.mktemp("session-day") / "db.duckdb"
    seed_demo(database)
    store = Store(database)
    try:
        maya = store.staff_user_by_username("maya")
        sam = store.staff_user_by_username("sam")
        assert maya is not None and sam is not None
        (today_cohort,) = [c for c in store.cohorts() if c.name == demo.TODAYS_COHORT]
        cohorts.assign_facilitators(store, maya, today_cohort.id, [maya.id, sam.id])
        start = dt.date.today() + dt.timedelta(days=7)
        cohorts.create_cohort(
            store,
            maya,
            today_cohort.program_id,
            today_cohort.curriculum_version_id,
            NEW_COHORT,
            start,
            start.weekday(),
            False,
            [maya.id],
            "\n".join(f"Member {n}" for n in range(1, 9)),
        )
    finally:
        store.close()
    server = Server(database)
    server.start()
    try:
        yield World(server, str(database))
    finally:
        server.stop()


# --------------------------------------------------------------------------- helpers


def settle(page: Page) -> None:
    page.wait_for_timeout(300)  # a click's rerun may not have started yet
    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=WAIT
    )


def signed_in(browser: Browser, world: World, who: str) -> Page:
    page = browser.new_context(viewport=LAPTOP).new_page()
    sign_in(page, world.server.url, who, DEMO_PASSWORD)
    settle(page)
    return page


def sidebar(page: Page, label: str, heading: str) -> None:
    page.get_by_test_id("stSidebar").get_by_role("link", name=label).click()
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible(timeout=WAIT)
    settle(page)


def tab(page: Page, name: str) -> Locator:
    """Choose a tab of the runner (again, if a rerun redrew it) and return its panel."""
    deadline = time.monotonic() + WAIT / 1000
    while True:
        settle(page)
        page.get_by_role("tab", name=name).click()
        panel = page.get_by_role("tabpanel", name=name)
        try:
            expect(panel).to_be_visible(timeout=3000)
            return panel
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def choose(page: Page, label: str, option: str | re.Pattern[str]) -> None:
    box = page.get_by_test_id("stMain").get_by_role("combobox", name=label, exact=True)
    for _ in range(5):
        settle(page)
        box.click()
        try:
            page.get_by_role("option", name=option).click(timeout=3000)
            break
        except PlaywrightTimeout:  # the list closed on a rerun: open it again
            page.keyboard.press("Escape")
    expect(box).to_have_value(option)
    settle(page)


def present_line(panel: Locator) -> Locator:
    return panel.get_by_text(re.compile(r"\d+ present, \d+ not yet marked"))


def pdf_pages(document: bytes) -> int:
    """The pages of a PDF, as a PDF reader opens it."""
    return len(PdfReader(io.BytesIO(document)).pages)


# --------------------------------------------------------------------------- the tests


def test_today_first_everywhere_and_marks_are_kept_without_saving(
    browser: Browser, world: World
) -> None:
    page = signed_in(browser, world, "maya")
    # Home's card for today's cohort names session 4, and links to it.
    card_link = page.get_by_role("link", name="Run session 4")
    expect(card_link).to_be_visible(timeout=WAIT)
    # The sidebar opens the same session, not a finished cohort's last one.
    sidebar(page, "Run a session", "Run a session")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("combobox", name="Cohort", exact=True)).to_have_value(
        demo.TODAYS_COHORT
    )
    expect(main.get_by_role("combobox", name="Session", exact=True)).to_have_value(
        re.compile(r"^4\b")
    )
    expect(page.get_by_role("button", name=re.compile("^Save"))).to_have_count(0)

    attendance = tab(page, "Attendance")
    attendance.get_by_role("button", name="Everyone is here").click()
    expect(present_line(attendance)).to_contain_text("11 present, 0 not yet marked", timeout=WAIT)
    expect(attendance.get_by_text(re.compile(r"saved at \d\d:\d\d:\d\d"))).to_be_visible()
    guide = tab(page, "Guide and checklist")
    first_item = guide.get_by_test_id("stCheckbox").first
    first_item.locator("label").click()
    expect(guide.get_by_text(re.compile(r"1 of \d+ delivered"))).to_be_visible(timeout=WAIT)

    # Notes are saved when the box loses the focus (here by Tab; a click elsewhere does the same).
    notes = tab(page, "Notes")
    notes.get_by_role("textbox").fill("Room was cold; bring blankets.")
    notes.get_by_role("textbox").press("Tab")
    expect(notes.get_by_text(re.compile(r"Saved at \d\d:\d\d:\d\d"))).to_be_visible(timeout=WAIT)
    # Away and back, by the sidebar: nothing is lost and nothing asks to be saved.
    sidebar(page, "Group mirror", "How the group is doing")
    sidebar(page, "Run a session", "Run a session")
    expect(main.get_by_role("combobox", name="Cohort", exact=True)).to_have_value(
        demo.TODAYS_COHORT
    )
    attendance = tab(page, "Attendance")
    expect(present_line(attendance)).to_contain_text("11 present, 0 not yet marked", timeout=WAIT)
    guide = tab(page, "Guide and checklist")
    expect(guide.get_by_test_id("stCheckbox").first.locator("input")).to_be_checked()
    notes = tab(page, "Notes")
    expect(notes.get_by_role("textbox")).to_have_value("Room was cold; bring blankets.")
    # And in a browser that never saw any of it: a reload of the page.
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Run a session")).to_be_visible(timeout=WAIT)
    attendance = tab(page, "Attendance")
    expect(present_line(attendance)).to_contain_text("11 present", timeout=WAIT)
    page.context.close()


def test_two_facilitators_marking_one_session_at_once_keep_both(
    browser: Browser, world: World
) -> None:
    maya, sam = signed_in(browser, world, "maya"), signed_in(browser, world, "sam")
    panels = []
    for page in (maya, sam):
        sidebar(page, "Run a session", "Run a session")
        choose(page, "Cohort", demo.TODAYS_COHORT)
        panels.append(tab(page, "Attendance"))
    maya_panel, sam_panel = panels
    # Each marks someone else late and absent, from pages drawn before the other's mark.
    maya_panel.get_by_role("radiogroup").nth(0).get_by_text("Absent", exact=True).click()
    sam_panel.get_by_role("radiogroup").nth(1).get_by_text("Excused", exact=True).click()
    for page, panel in ((maya, maya_panel), (sam, sam_panel)):
        settle(page)
        # Attendance follows the other facilitator's marks within 15 seconds.
        expect(
            panel.get_by_role("radiogroup").nth(0).get_by_role("radio", name="Absent")
        ).to_be_checked(timeout=WAIT)
        expect(
            panel.get_by_role("radiogroup").nth(1).get_by_role("radio", name="Excused")
        ).to_be_checked(timeout=WAIT)
    maya.context.close()
    sam.context.close()


def test_we_met_today_instead_then_held_then_results(browser: Browser, world: World) -> None:
    page = signed_in(browser, world, "maya")
    sidebar(page, "Run a session", "Run a session")
    choose(page, "Cohort", NEW_COHORT)
    expect(page.get_by_text(re.compile("If the group met today instead"))).to_be_visible()
    pulse_panel = tab(page, "Pulse")
    expect(
        pulse_panel.get_by_text(re.compile("The pulse opens on the day the group meets"))
    ).to_be_visible()
    expect(page.get_by_role("button", name="Mark this session held")).to_have_count(0)
    page.get_by_test_id("stExpander").filter(has_text="We met today instead").locator(
        "summary"
    ).click()
    page.get_by_role("button", name="Move this session to today").click()
    settle(page)
    today = dt.date.today()
    expect(
        page.get_by_text(re.compile(rf"{NEW_COHORT} · planned for {today:%A %d %B}"))
    ).to_be_visible(timeout=WAIT)
    attendance = tab(page, "Attendance")
    attendance.get_by_role("button", name="Everyone is here").click()
    expect(present_line(attendance)).to_contain_text("8 present", timeout=WAIT)
    pulse_panel = tab(page, "Pulse")
    pulse_panel.get_by_role("button", name="Open the pulse").click()
    pulse_panel = tab(page, "Pulse")
    expect(pulse_panel.get_by_text("Room code", exact=True)).to_be_visible(timeout=WAIT)
    code = re.search(r"\b([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\b", pulse_panel.inner_text())
    assert code, pulse_panel.inner_text()
    for _ in range(5):
        context = browser.new_context(viewport={"width": 390, "height": 844})
        phone = context.new_page()
        phone.goto(f"{world.server.url}/pulse?code={code.group(1)}")
        answer_every_question(phone)
        phone.get_by_role("button", name="Send my answers").click()
        expect(phone.get_by_role("heading", level=1, name="Thank you")).to_be_visible(timeout=WAIT)
        context.close()
    pulse_panel = tab(page, "Pulse")
    pulse_panel.get_by_text("Everyone who wants to answer has answered").click()
    settle(page)
    pulse_panel.get_by_role("button", name="Close the pulse").click()
    expect(page.get_by_text("The pulse closed on").first).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Mark this session held").click()
    expect(page.get_by_role("button", name="Mark this session held")).to_have_count(0, timeout=WAIT)
    sidebar(page, "Cohort results", "Cohort results")
    choose(page, "Cohort", NEW_COHORT)
    expect(page.get_by_text("Sessions held")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^1 of \d+$"))).to_be_visible()
    expect(page.get_by_text(re.compile("had a pulse but (is|are) not marked held"))).to_have_count(
        0
    )
    # Released: five answers reach the minimum group size of 5.
    expect(page.get_by_text(ROUNDING_NOTE)).to_be_visible(timeout=WAIT)
    page.context.close()


def test_the_guide_and_the_cards_print_and_download(browser: Browser, world: World) -> None:
    page = signed_in(browser, world, "maya")
    sidebar(page, "Run a session", "Run a session")
    guide = tab(page, "Guide and checklist")
    href = guide.get_by_role("link", name="Print the guide").get_attribute("href")
    pdf_href = guide.get_by_role("link", name="Guide as PDF").get_attribute("href")
    assert href and pdf_href and pdf_href.endswith("&format=pdf")
    printed = page.context.new_page()
    printed.goto(world.server.url + href)
    expect(printed.get_by_role("button", name="Print")).to_be_visible()
    expect(printed.get_by_text(printing.SAFETY_TITLE)).to_be_visible()
    # As printed by the browser: A4 pages, the safety steps whole on the first.
    printed.emulate_media(media="print")
    safety_bottom = printed.locator(".safety").evaluate("e => e.getBoundingClientRect().bottom")
    mm = 96 / 25.4
    assert safety_bottom < (297 - 14 - 16) * mm, safety_bottom
    browser_pdf = printed.pdf(prefer_css_page_size=True)
    html = printed.content()
    pages = pdf_pages(browser_pdf)
    assert 4 <= pages <= 8, pages
    # The PDF download: the same page laid out by WeasyPrint.
    download = page.request.get(world.server.url + pdf_href)
    assert download.ok and download.headers["content-type"] == "application/pdf"
    # The same page laid out by WeasyPrint, for the PDF: it opens, and paginates as the
    # browser does.
    assert pdf_pages(download.body()) == pages, (pdf_pages(download.body()), pages)
    assert "Curriculum library" not in html
    printed.close()

    pulse_panel = tab(page, "Pulse")
    pulse_panel.get_by_role("button", name="Open the pulse").click()
    pulse_panel = tab(page, "Pulse")
    expect(pulse_panel.get_by_text("Room code", exact=True)).to_be_visible(timeout=WAIT)
    page.get_by_text("Single-use cards (and paper answers)").click()
    count = page.get_by_label("How many cards")
    count.fill("13")
    count.press("Enter")
    settle(page)
    page.get_by_role("button", name="Make cards").click()
    expect(page.get_by_text(re.compile(r"13 cards on 3 A4 pages"))).to_be_visible(timeout=WAIT)
    cards_href = page.get_by_role("link", name="Print the cards").get_attribute("href")
    cards_pdf = page.get_by_role("link", name="Cards as PDF").get_attribute("href")
    assert cards_href and cards_pdf
    sheet = page.context.new_page()
    sheet.goto(world.server.url + cards_href)
    expect(sheet.locator(".card")).to_have_count(13)
    assert pdf_pages(sheet.pdf(prefer_css_page_size=True)) == 3
    download = page.request.get(world.server.url + cards_pdf)
    assert download.ok and pdf_pages(download.body()) == 3
    sheet.close()
    page.context.close()
