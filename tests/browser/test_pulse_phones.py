"""A pulse in a real browser: the facilitator opens it, six phones answer, the seventh is refused.

Maya's seeded "Thursday morning, Library" cohort meets today (its session 4). She marks six people
present, opens the pulse and reads the room code off the page; six phone-sized browser contexts
answer with it; a seventh is turned away kindly by the cap. A latecomer is then marked present and
answers with a single-use card from the downloaded card sheet, which works once only.
Screenshots of the participant page at phone size go to /tmp/pulse-shots/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from program.demo import DEMO_PASSWORD
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/pulse-shots")
PHONE = {"width": 390, "height": 844}
COHORT = "Thursday morning, Library"
PRESENT = 6
WAIT = 20_000
ATTENDANCE = re.compile("^Attendance")
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\b")
CARD = re.compile(r'class="code">([2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5})<')
FULL = "Everyone who was here today seems to have answered already"


def main(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("stMain")


def choose(page: Page, label: str, option: str | re.Pattern[str]) -> None:
    """Pick an option of a Streamlit (BaseWeb) selectbox."""
    settle(page)
    box = main(page).get_by_role("combobox", name=label, exact=True)
    box.click()
    page.get_by_role("option", name=option).click()
    expect(box).to_have_value(option)


def shoot(page: Page, name: str) -> None:
    """The phone screen as seen, and the whole page at phone width (Streamlit scrolls inside)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    height = int(page.get_by_test_id("stMain").evaluate("e => e.scrollHeight"))
    page.set_viewport_size({"width": PHONE["width"], "height": min(height + 60, 8000)})
    page.screenshot(path=str(SHOTS / f"{name}-whole.png"))
    page.set_viewport_size(PHONE)


def phone(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    return context, context.new_page()


def open_pulse_page(page: Page, base_url: str, code: str) -> None:
    page.goto(f"{base_url}/pulse?code={code}")
    expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=WAIT)


def answer_everything(page: Page) -> int:
    """Choose the first option of every question; return how many questions there were."""
    form = page.get_by_test_id("stForm")
    groups = form.get_by_role("radiogroup")
    expect(groups.first).to_be_visible(timeout=WAIT)
    total = groups.count()
    for index in range(total):
        group = groups.nth(index)
        group.get_by_role("radio").first.check(force=True)
        expect(group.get_by_role("radio").first).to_be_checked()
    return total


def send(page: Page) -> None:
    page.get_by_role("button", name="Send my answers").click()


def settle(page: Page) -> None:
    """Wait until the app has finished running its script (reruns redraw the page)."""
    page.wait_for_timeout(300)  # a click's rerun may not have started yet
    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=WAIT
    )


def show_tab(page: Page, name: str | re.Pattern[str], showing: str) -> Locator:
    """Select a tab of the session page once the page is quiet; return its panel.

    A rerun under way when the tab is clicked may still redraw the page, so the tab is selected
    again until it stays selected.
    """
    deadline = time.monotonic() + WAIT / 1000
    while True:
        settle(page)
        page.get_by_role("tab", name=name).click()
        panel = page.get_by_role("tabpanel", name=name)
        try:
            expect(panel.get_by_text(showing, exact=True).first).to_be_visible(timeout=3000)
            settle(page)
            if panel.get_by_text(showing, exact=True).first.is_visible():
                return panel
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def save_attendance(page: Page, present: range) -> None:
    """Mark the members at these places of the list present, and save."""
    panel = show_tab(page, ATTENDANCE, "Everyone is here")
    for index in present:
        panel.get_by_role("radiogroup").nth(index).get_by_text("Present", exact=True).click()
        expect(page.get_by_text(f"{index + 1} present")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved.")).to_be_visible(timeout=WAIT)


def facilitator_opens_the_pulse(page: Page, base_url: str) -> str:
    """Maya marks six present, opens the pulse, and reads the room code; returns it."""
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    page.goto(f"{base_url}/session")
    expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
    choose(page, "Cohort", COHORT)
    expect(page.get_by_text(f"{COHORT} · planned for")).to_be_visible(timeout=WAIT)
    expect(main(page).get_by_role("combobox", name="Session", exact=True)).to_have_value(
        re.compile(r"^4\b")
    )
    save_attendance(page, range(PRESENT))

    show_tab(page, "Pulse", "Open the pulse").get_by_role("button", name="Open the pulse").click()
    panel = show_tab(page, "Pulse", "Room code")
    expect(panel.get_by_text("not yet")).to_be_visible()
    found = CODE.search(panel.inner_text())
    assert found, panel.inner_text()
    return found.group(1)


def make_one_card(page: Page) -> str:
    """Make a single card in the Pulse tab and read its code from the downloaded sheet."""
    panel = show_tab(page, "Pulse", "Room code")
    panel.get_by_text("Single-use cards (and paper answers)").click()
    count = panel.get_by_label("How many cards")
    count.fill("1")
    count.press("Enter")
    expect(count).to_have_value("1")
    panel.get_by_role("button", name="Make cards").click()
    download_button = panel.get_by_role("button", name=re.compile("Download the card sheet"))
    expect(download_button).to_be_visible(timeout=WAIT)
    with page.expect_download() as info:
        download_button.click()
    sheet = Path(info.value.path()).read_text(encoding="utf-8")
    codes = CARD.findall(sheet)
    assert len(codes) == 1, codes
    assert sheet.count("<svg") == 1
    return codes[0]


def test_six_phones_answer_the_seventh_is_refused_and_a_card_works_once(
    browser: Browser, page: Page, base_url: str
) -> None:
    code = facilitator_opens_the_pulse(page, base_url)
    card = make_one_card(page)

    for number in range(1, PRESENT + 1):
        context, phone_page = phone(browser)
        try:
            open_pulse_page(phone_page, base_url, code)
            expect(
                phone_page.get_by_role("heading", name=re.compile(r"^Session 4: "))
            ).to_be_visible()
            if number == 1:
                expect(phone_page.get_by_text("No name, device or time is kept")).to_be_visible()
                shoot(phone_page, "1-questions")
            assert answer_everything(phone_page) == 4
            if number == 1:
                shoot(phone_page, "2-answered")
            send(phone_page)
            expect(phone_page.get_by_role("heading", name="Thank you")).to_be_visible(timeout=WAIT)
            if number == 1:
                shoot(phone_page, "3-thank-you")
        finally:
            context.close()

    context, seventh = phone(browser)
    try:
        open_pulse_page(seventh, base_url, code)
        answer_everything(seventh)
        send(seventh)
        expect(seventh.get_by_text(FULL)).to_be_visible(timeout=WAIT)
        expect(seventh.get_by_role("heading", name="Thank you")).to_have_count(0)
        shoot(seventh, "4-refused-full")
    finally:
        context.close()

    # The facilitator now sees "yes", never a number (the tab refreshes by itself every 20 s).
    panel = show_tab(page, "Pulse", "Room code")
    expect(panel.get_by_text("Enough responses to report:")).to_contain_text("yes", timeout=30_000)
    assert not re.search(r"\b6\s+(responses|answers|answered)", panel.inner_text(), re.I)

    # A latecomer is marked present and answers with the card; the card then works no more.
    save_attendance(page, range(PRESENT, PRESENT + 1))
    context, card_phone = phone(browser)
    try:
        open_pulse_page(card_phone, base_url, card)
        answer_everything(card_phone)
        send(card_phone)
        expect(card_phone.get_by_role("heading", name="Thank you")).to_be_visible(timeout=WAIT)
    finally:
        context.close()
    context, again = phone(browser)
    try:
        open_pulse_page(again, base_url, card)
        expect(again.get_by_text("This card has been used already")).to_be_visible(timeout=WAIT)
        expect(again.get_by_role("radiogroup")).to_have_count(0)
        shoot(again, "5-card-used")
    finally:
        context.close()


def test_the_code_form_at_phone_size(browser: Browser, base_url: str) -> None:
    context, page = phone(browser)
    try:
        page.goto(f"{base_url}/pulse")
        expect(page.get_by_role("heading", name="Today's pulse")).to_be_visible(timeout=WAIT)
        expect(page.get_by_label("Code")).to_be_visible()
        expect(page.get_by_test_id("stSidebar").get_by_role("link")).to_have_count(0)
        shoot(page, "0-code-form")
        page.get_by_label("Code").fill("ABCD-EFGH")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("That code does not lead to an open pulse")).to_be_visible(
            timeout=WAIT
        )
        shoot(page, "0-wrong-code")
    finally:
        context.close()


def open_pulse_of_session(page: Page, base_url: str, number: int) -> str:
    """Maya opens the pulse of another session of the Thursday cohort; returns its room code."""
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    page.goto(f"{base_url}/session")
    expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
    choose(page, "Cohort", COHORT)
    choose(page, "Session", re.compile(rf"^{number}\b"))
    show_tab(page, "Pulse", "Open the pulse").get_by_role("button", name="Open the pulse").click()
    panel = show_tab(page, "Pulse", "Room code")
    found = CODE.search(panel.inner_text())
    assert found, panel.inner_text()
    return found.group(1)


def test_saving_attendance_keeps_the_attendance_tab_open(page: Page, base_url: str) -> None:
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    page.goto(f"{base_url}/session")
    expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
    choose(page, "Cohort", "Tuesday evening, Northside")  # held sessions: saving changes nothing
    show_tab(page, ATTENDANCE, "Everyone is here")
    page.get_by_role("button", name="Save changes", exact=True).click()
    expect(page.get_by_text("Saved.")).to_be_visible(timeout=WAIT)
    settle(page)
    expect(page.get_by_role("tab", selected=True)).to_have_text(ATTENDANCE)
    # And opening a pulse leaves the Pulse tab, and its room code, in view.
    page.goto(f"{base_url}/session")
    expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
    choose(page, "Cohort", COHORT)
    # The cohort's own session picker replaces the previous one once the page has rerun.
    expect(page.get_by_text(f"{COHORT} · ").first).to_be_visible(timeout=WAIT)
    settle(page)
    expect(main(page).get_by_role("combobox", name="Session", exact=True)).to_have_count(1)
    choose(page, "Session", re.compile(r"^6\b"))
    show_tab(page, "Pulse", "Open the pulse").get_by_role("button", name="Open the pulse").click()
    room_code = page.get_by_role("tabpanel", name="Pulse").get_by_text("Room code", exact=True)
    expect(room_code).to_be_visible(timeout=WAIT)
    settle(page)
    expect(page.get_by_role("tab", selected=True)).to_have_text("Pulse")
    expect(room_code).to_be_visible()
