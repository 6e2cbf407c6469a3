"""A pulse in a real browser: six phones answer with the room code, then cards only, then a card.

Maya's seeded cohort demo.TODAYS_COHORT ("Morning group, Library") meets today (its session 4).
She marks seven people present (each mark is saved as it is made) and opens the pulse, which
then takes at most seven answers; six phone-sized browser contexts answer with the room code
read off the page. She makes one card, read from the printed card sheet: the room code now
leads only to a request for a card, the card answers and fills the pulse ("Everyone present has
answered"), and the same card again is offered the questions like any card and is turned away
like any answer to a full pulse.

Then the cards-only switch as the facilitator sees it (session 5, moved to tomorrow on the
Cohorts page, since a pulse opens at most a day early; two people present): making cards takes
the room code and QR code off the Pulse tab, a used card is thanked again but takes no place,
and switching the room code back on brings the code and the QR code back.
Screenshots of the participant page at phone size go to /tmp/pulse-shots/.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from program import demo, pulse
from program.demo import DEMO_PASSWORD
from tests.browser.steps import answer_every_question, move_date, send_answers, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/pulse-shots")
PHONE = {"width": 390, "height": 844}
COHORT = demo.TODAYS_COHORT
PRESENT = 6
WAIT = 20_000
ATTENDANCE = re.compile("^Attendance")
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\b")
CARD = re.compile(r'class="code"[^>]*>([2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5})<')
SAVED_AT = re.compile(r"saved at (\d\d:\d\d:\d\d)")
FULL = "Everyone who was here today seems to have answered already"
CARDS_ONLY = "Today this group answers with printed cards"
CARD_THANKS = "Each card counts once"
EVERYONE = "Everyone present has answered."
SWITCH = "Let people use the room code too"


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
    """The phone screen as seen, and the whole page at phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    height = int(page.evaluate("() => document.documentElement.scrollHeight"))
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


def settle(page: Page) -> None:
    """Wait until the app has finished running its script (reruns redraw the page)."""
    page.wait_for_timeout(300)  # a click's rerun may not have started yet
    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=WAIT
    )


def show_tab(page: Page, name: str | re.Pattern[str], showing: str | re.Pattern[str]) -> Locator:
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


def attendance_line(panel: Locator) -> Locator:
    """The Attendance tab's count: "N present, M not yet marked", then when it was last saved."""
    return panel.get_by_text(re.compile(r"^\d+ present, \d+ not yet marked"))


def mark_present(page: Page, present: range) -> None:
    """Mark the members at these places of the list present; each mark is saved as it is made,
    and the count, read back from the store, says so with the time of the save."""
    panel = show_tab(page, ATTENDANCE, "Everyone is here")
    for count, index in enumerate(present, 1):
        panel.get_by_role("radiogroup").nth(index).get_by_text("Present", exact=True).click()
        expect(attendance_line(panel)).to_have_text(
            re.compile(rf"^{count} present, .*{SAVED_AT.pattern}"), timeout=WAIT
        )


def choose_cohort_and_session(page: Page, base_url: str, number: int | None) -> None:
    """Maya, signed in, opens a session of today's cohort (today's if `number` is None)."""
    page.goto(f"{base_url}/session")
    expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
    choose(page, "Cohort", COHORT)
    expect(page.get_by_text(f"{COHORT} · planned for")).to_be_visible(timeout=WAIT)
    session = main(page).get_by_role("combobox", name="Session", exact=True)
    if number is None:
        expect(session).to_have_value(re.compile(r"^4\b"))
    else:
        choose(page, "Session", re.compile(rf"^{number}\b"))
    shown = 4 if number is None else number
    expect(page.get_by_role("heading", name=re.compile(rf"^Session {shown}: "))).to_be_visible(
        timeout=WAIT
    )


def move_to_tomorrow(page: Page, base_url: str, number: int) -> None:
    """Move a planned session of today's cohort to tomorrow on the Cohorts page (Maya signed in).
    Its sessions 0 to 3 are held (no date field) and 4 is today, so session n's date field is
    the (n - 4)th; it shows the session's seeded date, n - 4 weeks from today."""
    today = dt.date.today()
    tomorrow = today + dt.timedelta(days=1)
    page.goto(f"{base_url}/cohorts")
    expect(page.get_by_role("heading", name="Cohorts", exact=True)).to_be_visible(timeout=WAIT)
    choose(page, "Cohort", f"{COHORT} (Community pain collective)")
    panel = show_tab(page, "Schedule", f"Session {number}")
    date = panel.get_by_role("group", name="Date").nth(number - 4)
    expect(date.get_by_role("spinbutton", name="day, Date")).to_have_attribute(
        "aria-valuenow", str((today + dt.timedelta(weeks=number - 4)).day)
    )
    move_date(page, date, tomorrow)
    panel.get_by_role("button", name="Move").click()
    expect(page.get_by_text(f"Session {number} moved to {tomorrow:%d %b %Y}")).to_be_visible(
        timeout=WAIT
    )
    settle(page)


def open_session_pulse(page: Page, base_url: str, number: int | None, present: range) -> str:
    """Maya (signed in) marks the members at these places present at a session of today's
    cohort (today's session if `number` is None), opens its pulse, and reads the room code;
    returns it."""
    choose_cohort_and_session(page, base_url, number)
    mark_present(page, present)

    show_tab(page, "Pulse", "Open the pulse").get_by_role("button", name="Open the pulse").click()
    # Opening the pulse leaves the Pulse tab, and its room code, in view.
    room_code = page.get_by_role("tabpanel", name="Pulse").get_by_text("Room code", exact=True)
    expect(room_code).to_be_visible(timeout=WAIT)
    settle(page)
    expect(page.get_by_role("tab", selected=True)).to_have_text("Pulse")
    expect(room_code).to_be_visible()
    panel = show_tab(page, "Pulse", "Room code")
    expect(panel.get_by_text("not yet")).to_be_visible()
    expect_room_code_shown(panel)
    # The pulse takes one answer per person marked present when it opened.
    people = len(present)
    expect(
        panel.get_by_text(
            re.compile(
                rf"^Closes by itself .*Open to {people} people, one answer each: those marked"
            )
        )
    ).to_be_visible()
    found = CODE.search(panel.inner_text())
    assert found, panel.inner_text()
    return found.group(1)


def expect_room_code_shown(panel: Locator) -> None:
    """The room code and its QR code, drawn (the browser decoded it to a real size)."""
    expect(panel.get_by_text("Room code", exact=True)).to_be_visible(timeout=WAIT)
    expect(panel.get_by_text("Scan to answer")).to_be_visible()
    qr = panel.get_by_role("img").first
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth") >= 200
    assert CODE.search(panel.inner_text()), panel.inner_text()


def expect_cards_only(panel: Locator) -> None:
    """The "Cards only" note, and neither the room code nor its QR code."""
    expect(panel.get_by_text("Cards only.", exact=True)).to_be_visible(timeout=WAIT)
    expect(panel.get_by_text("Room code", exact=True)).to_have_count(0)
    expect(panel.get_by_text("Scan to answer")).to_have_count(0)
    expect(panel.get_by_role("img")).to_have_count(0)
    assert not CODE.search(panel.inner_text()), panel.inner_text()


def make_cards(page: Page, base_url: str, count: int) -> list[str]:
    """Make cards in the Pulse tab and read their codes from the sheet its print link opens."""
    panel = show_tab(page, "Pulse", "Single-use cards (and paper answers)")
    panel.get_by_text("Single-use cards (and paper answers)").click()
    field = panel.get_by_label("How many cards")
    expect(field).to_be_visible(timeout=WAIT)
    field.fill(str(count))
    field.press("Enter")
    expect(field).to_have_value(str(count))
    settle(page)
    panel.get_by_role("button", name="Make cards").click()
    printed = panel.get_by_role("link", name="Print the cards")
    expect(printed).to_be_visible(timeout=WAIT)
    expect(printed).to_have_attribute("href", re.compile(r"^/print/cards\?token=[^&]+$"))
    href = printed.get_attribute("href")
    assert href is not None
    expect(panel.get_by_role("link", name="Cards as PDF")).to_have_attribute(
        "href", f"{href}&format=pdf"
    )
    answer = page.request.get(f"{base_url}{href}")
    assert answer.ok, answer.status
    assert answer.headers["content-type"].startswith("text/html")
    sheet = answer.text()
    codes = CARD.findall(sheet)
    assert len(codes) == count, codes
    assert sheet.count("<svg") == count
    return codes


def answer_with(browser: Browser, base_url: str, code: str, shot: str = "") -> Page:
    """A new phone opens the link of `code`, answers every question and sends; returns the page
    it was left on, whose context the caller closes (page.context)."""
    context, page = phone(browser)
    try:
        open_pulse_page(page, base_url, code)
        expect(page.get_by_role("heading", name=re.compile(r"^Session \d+: "))).to_be_visible()
        answer_every_question(page)
        send_answers(page)
        expect(
            page.get_by_role("heading", name="Thank you").or_(page.get_by_text(FULL))
        ).to_be_visible(timeout=WAIT)
        if shot:
            shoot(page, shot)
    except BaseException:
        context.close()
        raise
    return page


def refused_for_cards_only(browser: Browser, base_url: str, code: str, shot: str = "") -> None:
    context, page = phone(browser)
    try:
        open_pulse_page(page, base_url, code)
        expect(page.get_by_text(CARDS_ONLY)).to_be_visible(timeout=WAIT)
        expect(page.get_by_role("radio")).to_have_count(0)
        if shot:
            shoot(page, shot)
    finally:
        context.close()


def test_six_phones_answer_then_cards_only_and_a_card_fills_the_pulse(
    browser: Browser, page: Page, base_url: str
) -> None:
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    code = open_session_pulse(page, base_url, None, range(PRESENT + 1))

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
            assert answer_every_question(phone_page) == 4
            if number == 1:
                shoot(phone_page, "2-answered")
            send_answers(phone_page)
            expect(phone_page.get_by_role("heading", name="Thank you")).to_be_visible(timeout=WAIT)
            if number == 1:
                shoot(phone_page, "3-thank-you")
        finally:
            context.close()

    # The facilitator now sees "yes", never a number (the tab refreshes by itself every 20 s).
    panel = show_tab(page, "Pulse", "Room code")
    expect(panel.get_by_text("Enough responses to report:")).to_contain_text("yes", timeout=30_000)
    assert not re.search(r"\b6\s+(responses|answers|answered)", panel.inner_text(), re.I)

    # One card for the seventh person: the room code is switched off at once.
    (card,) = make_cards(page, base_url, 1)
    expect_cards_only(page.get_by_role("tabpanel", name="Pulse"))
    refused_for_cards_only(browser, base_url, code, "4-cards-only")

    # The card answers, is thanked, and fills the pulse.
    answered = answer_with(browser, base_url, card, "5-card-thank-you")
    try:
        expect(answered.get_by_role("heading", name="Thank you")).to_be_visible()
        expect(answered.get_by_text(CARD_THANKS)).to_be_visible()
    finally:
        answered.context.close()
    panel = show_tab(page, "Pulse", "Cards only.")
    expect(panel.get_by_text(EVERYONE)).to_be_visible(timeout=30_000)
    expect(panel.get_by_text("Enough responses to report:")).to_have_count(0)
    assert not re.search(r"\b7\s+(responses|answers|answered)", panel.inner_text(), re.I)

    # The same card again is offered the questions like any card (nothing tells it was used),
    # and hears what any answer to a full pulse hears; it adds nothing.
    again = answer_with(browser, base_url, card, "6-card-again-full")
    try:
        expect(again.get_by_text(FULL)).to_be_visible()
        expect(again.get_by_role("heading", name="Thank you")).to_have_count(0)
    finally:
        again.context.close()
    panel = show_tab(page, "Pulse", "Cards only.")
    expect(panel.get_by_text(EVERYONE)).to_be_visible()


def test_cards_switch_the_room_code_off_until_the_facilitator_switches_it_on(
    browser: Browser, page: Page, base_url: str
) -> None:
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    # Session 5 is a week away; a pulse opens at most a day before the day a group meets.
    move_to_tomorrow(page, base_url, 5)
    code = open_session_pulse(page, base_url, 5, range(2))  # the pulse takes two answers

    # Making cards takes the room code and its QR code off the tab, and off people's phones.
    first, second = make_cards(page, base_url, 2)
    panel = page.get_by_role("tabpanel", name="Pulse")
    expect_cards_only(panel)
    switch = panel.get_by_role("switch", name=SWITCH, exact=True)
    expect(switch).not_to_be_checked()
    refused_for_cards_only(browser, base_url, code)

    # A used card is thanked again like a new one, but takes no place: the other card still gets
    # the second and last place.
    for card in (first, first, second):
        answered = answer_with(browser, base_url, card)
        try:
            expect(answered.get_by_role("heading", name="Thank you")).to_be_visible()
            expect(answered.get_by_text(CARD_THANKS)).to_be_visible()
        finally:
            answered.context.close()
    panel = show_tab(page, "Pulse", "Cards only.")
    expect(panel.get_by_text(EVERYONE)).to_be_visible(timeout=30_000)

    # The facilitator lets the room code work again: the code and the QR code come back.
    panel.get_by_text(SWITCH).click()
    panel = show_tab(page, "Pulse", "Room code")
    expect_room_code_shown(panel)
    expect(panel.get_by_text("Cards only.", exact=True)).to_have_count(0)
    expect(panel.get_by_role("switch", name=SWITCH, exact=True)).to_be_checked()
    found = CODE.search(panel.inner_text())
    assert found and found.group(1) == code, panel.inner_text()
    context, again = phone(browser)
    try:
        open_pulse_page(again, base_url, code)
        expect(again.get_by_role("heading", name=re.compile(r"^Session 5: "))).to_be_visible()
        expect(again.get_by_text(CARDS_ONLY)).to_have_count(0)
    finally:
        context.close()


def test_the_code_form_at_phone_size(browser: Browser, base_url: str) -> None:
    context, page = phone(browser)
    try:
        page.goto(f"{base_url}/pulse")
        expect(page.get_by_role("heading", name="Today's pulse")).to_be_visible(timeout=WAIT)
        expect(page.get_by_label("Code")).to_be_visible()
        # Nothing leads to the staff pages: the only links are the language switch's, to /pulse.
        links = page.evaluate("() => [...document.links].map(a => a.href)")
        for link in links:
            assert urlsplit(link)[:3] == (*urlsplit(base_url)[:2], "/pulse"), link
        shoot(page, "0-code-form")
        page.get_by_label("Code").fill("ABCD-EFGH")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("That code does not lead to an open pulse")).to_be_visible(
            timeout=WAIT
        )
        shoot(page, "0-wrong-code")
        # A card code with one wrong letter is caught by its check letter.
        card = pulse.new_card_code()
        wrong = pulse.ALPHABET[(pulse.ALPHABET.index(card[0]) + 1) % len(pulse.ALPHABET)]
        page.get_by_label("Code").fill(pulse.format_code(wrong + card[1:]))
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("That card code has a typing mistake")).to_be_visible(timeout=WAIT)
    finally:
        context.close()


def test_saving_attendance_keeps_the_attendance_tab_open(page: Page, base_url: str) -> None:
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    page.goto(f"{base_url}/session")
    expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
    choose(page, "Cohort", demo.FINISHED_COHORT)  # held sessions: their marks stay editable
    expect(page.get_by_text(f"{demo.FINISHED_COHORT} · held")).to_be_visible(timeout=WAIT)
    panel = show_tab(page, ATTENDANCE, "Everyone is here")
    line = attendance_line(panel)
    before = line.inner_text()
    assert not SAVED_AT.search(before), before
    # Ticking Late saves at once; the tab stays open, and so does the second tick, which puts
    # the mark back as it was (the finished cohort's figures stay as seeded).
    late = panel.get_by_role("checkbox", name="Late").first
    was = late.is_checked()
    for ticked in (not was, was):
        stamp = SAVED_AT.search(line.inner_text())
        late.set_checked(ticked, force=True)
        expect(late).to_be_checked(checked=ticked)
        expect(line).to_have_text(re.compile(SAVED_AT.pattern), timeout=WAIT)
        if stamp:  # the same second reads alike; otherwise the time moves on
            found = SAVED_AT.search(line.inner_text())
            assert found and found.group(1) >= stamp.group(1), (stamp, found)
        settle(page)
        expect(page.get_by_role("tab", selected=True)).to_have_text(ATTENDANCE)
        expect(late).to_be_checked(checked=ticked)
    # The count is the same as before: Late changed, nobody's mark did.
    assert line.inner_text().split(",")[0] == before.split(",")[0]
    # A held session has nothing to mark held, and no offer to move it.
    expect(main(page).get_by_role("button", name="Mark this session held")).to_have_count(0)
    expect(page.get_by_text("We met today instead")).to_have_count(0)


def test_a_session_on_a_later_day_offers_to_move_it_to_today(page: Page, base_url: str) -> None:
    """Today's cohort's last session is weeks away: no pulse and no "held" yet, and the page
    offers to move it to today, or, once today's session 4 has its attendance or pulse, says why
    it cannot move instead of cancelling session 4 (the move itself: test_session_day)."""
    sign_in(page, base_url, "maya", DEMO_PASSWORD)
    choose_cohort_and_session(page, base_url, 6)
    expect(page.get_by_text("If the group met today instead, move it to today")).to_be_visible()
    panel = show_tab(page, "Pulse", re.compile("^The pulse opens on the day the group meets"))
    expect(panel.get_by_role("button", name="Open the pulse")).to_have_count(0)
    expect(main(page).get_by_role("button", name="Mark this session held")).to_have_count(0)
    main(page).locator("summary").filter(has_text="We met today instead").click()
    # Whether today's session 4 is under way depends on which tests ran before in this module.
    move = main(page).get_by_role("button", name="Move this session to today")
    refusal = main(page).get_by_text(re.compile("already has attendance or a pulse"))
    expect(move.or_(refusal)).to_be_visible(timeout=WAIT)
