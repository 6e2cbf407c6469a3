"""End-to-end journeys on a fresh server over a freshly seeded demo database, in a real browser.

(a) Maya creates "E2E cohort" from the bundled curriculum, runs session 1 (fidelity, attendance,
    each saved as it is made, then held) and opens its pulse; (b) eight phones answer, she closes it, and the cohort dashboard,
    its CSV and the group mirror show session 1; (c) session 2 is moved to tomorrow (session 1
    is today and sessions stay in order; a session may be marked held a day early), only four
    phones answer, and every staff view says it is below the minimum with no number about it;
    (d) the program lead sees pooled results and downloads CSVs holding released aggregates only.
Then the participant page's accessibility basics: radio groups named by their question, contrast,
focus order, keyboard only.

The tests run in file order and share what the journey made (the room codes) in JOURNEY. Each
prints its run time. The server is this module's own (module-scoped), so nothing here disturbs
or is disturbed by the shared server of the other browser tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from program import demo
from program.demo import DEMO_PASSWORD
from scripts.appserver import CHROMIUM, Server, seed_demo
from tests.browser.steps import (
    WAIT,
    answer_every_question,
    choose,
    main,
    move_date,
    phone,
    questions_of,
    send_answers,
    settle,
    show_tab,
    sign_in,
)

pytestmark = pytest.mark.browser

COHORT = "E2E cohort"
PROGRAM = "Community pain collective"
# Distinctive names, so finding one in a page or a file cannot be a coincidence.
ROSTER = [
    "Anouk Vell",
    "Bartholomew Quist",
    "Cosima Rook",
    "Desmond Yarrow",
    "Esperanza Lind",
    "Florian Mossby",
    "Gwendolyn Pike",
    "Horatio Fenn",
]
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\b")
BELOW = "fewer than 5 responses"
MEASURES = (
    "Wellbeing (WHO-5)",
    "Connection to the group",
    "Stress this week",
    "Kindness toward myself",
    "Session usefulness",
)


# --------------------------------------------------------------------------- a server of our own


def seeded_server(tmp: Path) -> Iterator[Server]:
    """A server over a freshly seeded demo database in `tmp`; stopped afterwards."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    database = tmp / "db.duckdb"
    seed_demo(database)
    server = Server(database)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from seeded_server(tmp_path_factory.mktemp("journeys"))


# --------------------------------------------------------------------------- page helpers


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def staff_page(page: Page, server: Server, username: str, path: str, heading: str) -> None:
    """Sign in (if needed) and open a staff page by its URL."""
    if not page.url.startswith(server.url) or "program_session" not in {
        c["name"] for c in page.context.cookies()
    }:
        page.goto(server.url)
        sign_in(page, server.url, username, DEMO_PASSWORD)
    page.goto(f"{server.url}{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=WAIT)
    settle(page)


def open_session(page: Page, server: Server, number: int, cohort: str = COHORT) -> None:
    staff_page(page, server, "maya", "/session", "Run a session")
    choose(page, "Cohort", cohort)
    choose(page, "Session", re.compile(rf"^{number}\b"))
    expect(page.get_by_role("heading", name=re.compile(rf"^Session {number}: "))).to_be_visible(
        timeout=WAIT
    )


def open_the_pulse(page: Page) -> str:
    """Open the pulse in the Pulse tab; check the QR image is shown; return the room code."""
    show_tab(page, "Pulse", "Open the pulse").get_by_role("button", name="Open the pulse").click()
    panel = show_tab(page, "Pulse", "Room code")
    qr = panel.get_by_role("img").first
    expect(qr).to_be_visible()
    # A drawn QR code, not a broken image: the browser decoded it to a real size.
    assert qr.evaluate("img => img.complete && img.naturalWidth") >= 200
    expect(panel.get_by_text("Scan to answer")).to_be_visible()
    expect(panel.get_by_text("Enough responses to report:")).to_contain_text("not yet")
    found = CODE.search(panel.inner_text())
    assert found, panel.inner_text()
    return found.group(1)


def close_the_pulse(page: Page) -> None:
    panel = show_tab(page, "Pulse", "Room code")
    close = panel.get_by_role("button", name="Close the pulse")
    expect(close).to_be_disabled()
    panel.get_by_text("Everyone who wants to answer has answered").click()
    expect(close).to_be_enabled(timeout=WAIT)
    close.click()
    expect(
        page.get_by_role("tabpanel", name="Pulse").get_by_text("The pulse closed on")
    ).to_be_visible(timeout=WAIT)


SAVED_AT = r"saved at \d\d:\d\d:\d\d"


def save_attendance_and_mark_held(page: Page, present: int, cohort: str = COHORT) -> None:
    """Everyone is here (saved at once: the count is read back from the store, and the line says
    when it was saved), then "Mark this session held", which then goes away."""
    panel = show_tab(page, re.compile("^Attendance"), "Everyone is here")
    panel.get_by_role("button", name="Everyone is here").click()
    expect(
        panel.get_by_text(re.compile(rf"^{present} present, 0 not yet marked\b.*{SAVED_AT}"))
    ).to_be_visible(timeout=WAIT)
    settle(page)
    held = main(page).get_by_role("button", name="Mark this session held")
    held.click()
    expect(page.get_by_text("Session marked held.")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(f"{cohort} · held")).to_be_visible()
    expect(held).to_have_count(0)
    settle(page)


def answer_on_phones(browser: Browser, server: Server, code: str, phones: int) -> list[int]:
    """Phones open the join link, choose the first option of every question and send; returns
    how many questions each phone saw. The phones load and send side by side, as in a room."""
    opened = [phone(browser) for _ in range(phones)]
    try:
        for _, page in opened:
            page.goto(f"{server.url}/pulse?code={code}")
        seen = []
        for _, page in opened:
            seen.append(answer_every_question(page))
            send_answers(page)
        for _, page in opened:
            expect(page.get_by_role("heading", name="Thank you")).to_be_visible(timeout=WAIT)
        return seen
    finally:
        for context, _ in opened:
            context.close()


def download(page: Page, button: Locator) -> str:
    """Click a download button and return the file's text.

    Each download reruns the page (it is recorded in the audit log); a click that lands while
    a rerun redraws the button is lost, so wait for quiet, and click once more if nothing came.
    """
    for attempt in range(2):
        settle(page)
        expect(button).to_be_enabled(timeout=WAIT)
        try:
            with page.expect_download(timeout=WAIT) as info:
                button.click(timeout=WAIT)
            return Path(info.value.path()).read_text(encoding="utf-8")
        except PlaywrightTimeout:
            if attempt:
                raise
    raise AssertionError("unreachable")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def cohort_csv(page: Page, server: Server) -> list[dict[str, str]]:
    """Maya's cohort dashboard for the E2E cohort, and its CSV export."""
    staff_page(page, server, "maya", "/cohort_dashboard", "Cohort results")
    choose(page, "Cohort", COHORT)
    expect(page.get_by_text(re.compile(r"started .* minimum group size"))).to_be_visible()
    return rows_of(download(page, main(page).get_by_role("button", name="Download results (CSV)")))


def numbers_in(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:[.,]\d+)?", text))


@dataclass
class Journey:
    codes: dict[int, str] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    shown_after_marking_held: str = ""  # the session picker's value after session 2 was held
    delivered: float = 0.0  # share of session 1's agenda ticked in (a)


JOURNEY = Journey()


def needs(number: int) -> str:
    if number not in JOURNEY.codes:
        pytest.skip(f"needs the pulse of session {number} from an earlier journey step")
    return JOURNEY.codes[number]


@pytest.fixture
def timed(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    JOURNEY.times[request.node.name] = took
    print(f"\n[journey time] {request.node.name}: {took:.1f} s")


# --------------------------------------------------------------------------- the journeys


@pytest.mark.usefixtures("timed")
def test_a_facilitator_creates_a_cohort_runs_session_1_and_opens_the_pulse(
    page: Page, server: Server
) -> None:
    today = dt.date.today()
    staff_page(page, server, "maya", "/cohorts", "Cohorts")
    page.get_by_text("Create a cohort").click()
    form = page.get_by_test_id("stForm")
    expect(form.get_by_label("Cohort name")).to_be_visible()
    expect(form.get_by_role("combobox", name="Program")).to_have_value(PROGRAM)
    expect(form.get_by_role("combobox", name=re.compile("^Curriculum version"))).to_have_value(
        re.compile("^Collective Healing")
    )
    form.get_by_label("Cohort name").fill(COHORT)
    expect(form.get_by_role("combobox", name="Meets every")).to_have_value(today.strftime("%A"))
    form.get_by_text("Hold the orientation session first").click()
    expect(
        form.get_by_role("checkbox", name="Hold the orientation session first")
    ).not_to_be_checked()
    form.get_by_label(re.compile("^Roster")).fill("\n".join(ROSTER))
    form.get_by_role("button", name="Create cohort").click()
    expect(
        main(page)
        .get_by_test_id("stDataFrame")
        .get_by_role("gridcell", name=COHORT, exact=True, include_hidden=True)
    ).to_be_attached(timeout=WAIT)

    open_session(page, server, 1)
    expect(page.get_by_text(f"{COHORT} · planned for {today:%A %d %B}")).to_be_visible()
    # Fidelity: tick the first three agenda items of the guide.
    guide = show_tab(page, "Guide and checklist", "Intentions")
    boxes = guide.get_by_role("checkbox")
    agenda = boxes.count()
    assert agenda >= 3
    for index in range(3):
        boxes.nth(index).check(force=True)
        expect(boxes.nth(index)).to_be_checked()
    # Each tick is saved as it is made; the checklist counts what the store holds.
    expect(
        guide.get_by_text(re.compile(rf"\b3 of {agenda} delivered\b.*{SAVED_AT}"))
    ).to_be_visible(timeout=WAIT)
    save_attendance_and_mark_held(page, len(ROSTER))
    JOURNEY.delivered = 3 / agenda  # checked in the cohort's CSV in (b)
    JOURNEY.codes[1] = open_the_pulse(page)


@pytest.mark.usefixtures("timed")
def test_b_eight_phones_answer_then_results_appear_after_close(
    browser: Browser, page: Page, server: Server
) -> None:
    code = needs(1)
    # Nothing before close: the dashboard says the pulse is still open and shows no result.
    staff_page(page, server, "maya", "/cohort_dashboard", "Cohort results")
    choose(page, "Cohort", COHORT)
    expect(main(page).get_by_text("is still open: results appear after it closes")).to_be_visible()

    phones = answer_on_phones(browser, server, code, len(ROSTER))
    assert phones == [9] * len(ROSTER)  # WHO-5 and the four weekly items

    open_session(page, server, 1)
    panel = show_tab(page, "Pulse", "Room code")
    # All eight marked present have answered: the panel says so (it refreshes every 20 s), and
    # gives no count of answers.
    expect(panel.get_by_text("Everyone present has answered.")).to_be_visible(timeout=30_000)
    expect(panel.get_by_text("Enough responses to report:")).to_have_count(0)
    assert not re.search(r"\b8\s+(responses|answers|answered)", panel.inner_text(), re.I)
    close_the_pulse(page)

    # After close: a late phone is refused kindly.
    context, late = phone(browser)
    try:
        late.goto(f"{server.url}/pulse?code={code}")
        expect(late.get_by_text("That code does not lead to an open pulse")).to_be_visible(
            timeout=WAIT
        )
        expect(late.get_by_role("radiogroup")).to_have_count(0)
    finally:
        context.close()

    rows = cohort_csv(page, server)
    text = main(page).inner_text()
    expect(main(page).get_by_text("How to read this")).to_be_visible()
    for tab in MEASURES:
        expect(main(page).get_by_role("tab", name=tab, exact=True)).to_have_count(1)
    # One session only: no first-vs-last comparison, and the card says why.
    expect(
        main(page).get_by_text("the measure is asked at fewer than two sessions so far").first
    ).to_be_visible()
    assert "held back" not in text
    measures = [r for r in rows if r["kind"] == "measure"]
    assert {r["session"] for r in measures} == {"1"}
    assert len(measures) == 5
    for row in measures:
        assert row["n"] == "8", row
        assert row["mean"] != "" and row["note"] == "", row
    attendance = {r["session"]: r for r in rows if r["kind"] == "attendance"}
    assert attendance["1"]["present"] == "8" and attendance["1"]["session_status"] == "held"
    assert float(attendance["1"]["agenda_delivered"]) == pytest.approx(JOURNEY.delivered, abs=1e-4)
    assert not any(name in "\n".join(map(str, rows)) for name in ROSTER)

    # The group mirror shows session 1's averages.
    staff_page(page, server, "maya", "/mirror", "How the group is doing")
    choose(page, "Cohort", COHORT, where=sidebar(page))
    expect(sidebar(page).get_by_role("combobox", name="Session", exact=True)).to_have_value(
        re.compile(r"^1\. ")
    )
    mirror = main(page).locator("section.mirror")
    expect(mirror.get_by_text("Session 1:")).to_be_visible(timeout=WAIT)
    expect(mirror.locator(".line")).to_have_count(5)
    expect(mirror.get_by_text(re.compile("only when at least 5 people answered"))).to_be_visible()


def reschedule_session_2_to_tomorrow(page: Page, server: Server) -> dt.date:
    """Session 1 is today and sessions stay in order, so session 2 moves to tomorrow."""
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    staff_page(page, server, "maya", "/cohorts", "Cohorts")
    choose(page, "Cohort", f"{COHORT} ({PROGRAM})")
    panel = show_tab(page, "Schedule", "Session 2")
    # Session 1 is held (no date field), so the first date field is session 2's.
    date = panel.get_by_role("group", name="Date").first
    expect(date.get_by_role("spinbutton", name="day, Date")).to_have_attribute(
        "aria-valuenow", str((dt.date.today() + dt.timedelta(weeks=1)).day)
    )
    move_date(page, date, tomorrow)
    panel.get_by_role("button", name="Move").click()
    expect(page.get_by_text(f"Session 2 moved to {tomorrow:%d %b %Y}")).to_be_visible(timeout=WAIT)
    return tomorrow


@pytest.mark.usefixtures("timed")
def test_c_session_2_below_the_minimum_shows_no_number_anywhere(
    browser: Browser, page: Page, server: Server
) -> None:
    needs(1)
    tomorrow = reschedule_session_2_to_tomorrow(page, server)
    open_session(page, server, 2)
    expect(page.get_by_text(f"{COHORT} · planned for {tomorrow:%A %d %B}")).to_be_visible()
    save_attendance_and_mark_held(page, len(ROSTER))
    # Marking a session other than today's held sends the page back to today's session (see
    # test_the_session_page_stays_on_a_session_just_marked_held); pick session 2 again.
    JOURNEY.shown_after_marking_held = (
        main(page).get_by_role("combobox", name="Session", exact=True).input_value()
    )
    choose(page, "Session", re.compile(r"^2\b"))
    expect(page.get_by_role("heading", name=re.compile(r"^Session 2: "))).to_be_visible()
    expect(page.get_by_text(f"{COHORT} · held")).to_be_visible()
    code = JOURNEY.codes[2] = open_the_pulse(page)
    assert answer_on_phones(browser, server, code, 4) == [4] * 4  # the four weekly items
    panel = show_tab(page, "Pulse", "Room code")
    page.wait_for_timeout(1000)
    expect(panel.get_by_text("Enough responses to report:")).to_contain_text("not yet")
    close_the_pulse(page)
    assert not re.search(r"\b4\b", page.get_by_role("tabpanel", name="Pulse").inner_text())

    # Cohort dashboard: session 2 is named as held back, with the reason and no number.
    rows = cohort_csv(page, server)
    for measure in MEASURES[1:]:  # the weekly measures; WHO-5 is not asked at session 2
        panel = show_tab(page, measure, "What changed")
        expect(panel.get_by_text(f"Not shown: session 2 ({BELOW}).")).to_be_visible()
        expect(panel.get_by_text(f"Not available: session 2: {BELOW}.")).to_be_visible()
        text = panel.inner_text()
        assert not re.search(r"n\s*=\s*4\b|\b4 of 8\b|\b50\s*%", text), text
        assert not re.search(r"session 1 → session 2|Hedges|Cliff", text), text
    session_2 = [r for r in rows if r["kind"] == "measure" and r["session"] == "2"]
    assert len(session_2) == 4
    for row in session_2:
        assert row["note"] == f"not shown: {BELOW}", row
        for column in ("n", "mean", "rounded_to", "ci95_low", "ci95_high"):
            assert row[column] == "", row

    # Group mirror: session 2 is the latest closed one; nothing but a kind refusal.
    staff_page(page, server, "maya", "/mirror", "How the group is doing")
    choose(page, "Cohort", COHORT, where=sidebar(page))
    expect(sidebar(page).get_by_role("combobox", name="Session", exact=True)).to_have_value(
        re.compile(r"^2\. ")
    )
    mirror = main(page).locator("section.mirror")
    expect(mirror.get_by_text("fewer than 5 people answered")).to_be_visible(timeout=WAIT)
    expect(mirror.locator(".line")).to_have_count(0)
    assert numbers_in(mirror.inner_text()) <= {"2", "5"}, mirror.inner_text()

    # Program dashboard (lead): cells left out are counted, E2E session 2 is in no row.
    context = browser.new_context()
    lead = context.new_page()
    try:
        staff_page(lead, server, "lead", "/program_dashboard", "Program dashboard")
        main(lead).get_by_text("How these figures are made").click()
        expect(
            main(lead).get_by_text(re.compile(r"This view leaves out \d+ figures of one group"))
        ).to_be_visible()
        comparison = rows_of(
            download(lead, main(lead).get_by_role("button", name="Cohort comparison (CSV)"))
        )
        mine = [r for r in comparison if r["cohort"] == COHORT]
        assert {r["session"] for r in mine} == {"1"}, mine
        assert not re.search(r"|".join(map(re.escape, ROSTER)), main(lead).inner_text())
    finally:
        context.close()


@pytest.mark.usefixtures("timed")
def test_d_program_lead_sees_pooled_results_and_exports_released_aggregates(
    page: Page, server: Server
) -> None:
    needs(2)
    staff_page(page, server, "lead", "/program_dashboard", "Program dashboard")
    expect(main(page).get_by_role("combobox", name="Program", exact=True)).to_have_value(PROGRAM)
    expect(main(page).get_by_role("heading", name="What changed")).to_be_visible()
    # Each measure opens with a sentence in plain words.
    expect(
        main(page).get_by_text(re.compile(r"^(Across \d+ groups|Too few groups)")).first
    ).to_be_visible()
    buttons = {
        name: main(page).get_by_role("button", name=name)
        for name in (
            "Headline figures (CSV)",
            "Pooled trends (CSV)",
            "Cohort comparison (CSV)",
        )
    }
    files = {name: download(page, button) for name, button in buttons.items()}
    everything = "\n".join(files.values()) + main(page).inner_text()

    # No roster names, neither ours nor the demo cohorts'.
    from program.demo import FIRST_NAMES

    for name in ROSTER:
        assert name not in everything
    cells = {
        cell for text in files.values() for row in csv.reader(io.StringIO(text)) for cell in row
    }
    assert not cells & set(FIRST_NAMES), cells & set(FIRST_NAMES)

    # The comparison has E2E's session 1 (n = 8) and no session 2 row.
    comparison = rows_of(files["Cohort comparison (CSV)"])
    assert set(comparison[0]) == {
        "cohort",
        "measure",
        "session",
        "n",
        "mean",
        "rounded_to",
        "ci95_low",
        "ci95_high",
        "responses_per_enrolled",
    }
    mine = [r for r in comparison if r["cohort"] == COHORT]
    assert len(mine) == 5 and {r["session"] for r in mine} == {"1"}
    assert {r["n"] for r in mine} == {"8"}
    assert all(int(r["n"]) >= 5 for r in comparison)

    # Pooled figures rest on released cells only: at every session, N is the sum of the
    # comparison's n for that measure and session, so E2E's four answers at session 2 are in none.
    by_cell: dict[tuple[str, str], int] = {}
    for r in comparison:
        key = (r["measure"], r["session"])
        by_cell[key] = by_cell.get(key, 0) + int(r["n"])
    trends = rows_of(files["Pooled trends (CSV)"])
    assert trends
    for r in trends:
        assert int(r["responses_N"]) == by_cell.get((r["measure"], r["session"]), 0), r
        assert (r["mean"] == "") == (int(r["responses_N"]) == 0), r
    # At session 2 every weekly measure leaves out E2E's cell and the small Saturday group's.
    at_2 = [r for r in trends if r["session"] == "2"]
    assert len(at_2) == 4 and all(int(r["cells_left_out"]) >= 2 for r in at_2), at_2
    headline = {r["figure"]: r["value"] for r in rows_of(files["Headline figures (CSV)"])}
    assert headline["Minimum group size k"] == "5"
    assert int(headline["Cells left out (fewer than k responses, or still open)"]) >= 4


# --------------------------------------------------------------------------- accessibility


def tab_to(page: Page, target: Locator, limit: int = 60) -> int:
    """Press Tab until `target` has the focus; return how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate(
            "e => e === document.activeElement || e.contains(document.activeElement)"
        ):
            return presses
    raise AssertionError(f"Tab never reached {target}")


# The colours of an empty choice: its button's border, its words, the first opaque background
# around the button and the button's own background.
CHOICE_COLOURS = """() => {
  const input = document.querySelector('form#answers .pt:not(.skip) input:not(:checked)');
  const button = input.nextElementSibling;
  const opaque = (node) => {
    for (; node; node = node.parentElement) {
      const colour = getComputedStyle(node).backgroundColor;
      if (colour && !colour.startsWith('rgba(0, 0, 0, 0)') && colour !== 'transparent') {
        return colour;
      }
    }
    return 'rgb(255, 255, 255)';
  };
  const style = getComputedStyle(button);
  return [style.borderTopColor, style.color, opaque(button.parentElement), opaque(button)];
}"""


def contrast(one: str, other: str) -> float:
    """WCAG 2.1 contrast ratio of two CSS colours written rgb(r, g, b) or rgba(r, g, b, a)."""

    def luminance(colour: str) -> float:
        r, g, b = (int(float(v)) / 255 for v in re.findall(r"[\d.]+", colour)[:3])
        channel = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * channel[0] + 0.7152 * channel[1] + 0.0722 * channel[2]

    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_check_reads_colours_as_wcag_does() -> None:
    """The control for the contrast assertions below (values from the WCAG definition)."""
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert contrast("rgb(220, 216, 212)", "rgb(255, 255, 255)") < 3  # Streamlit's own empty ring


@pytest.mark.usefixtures("timed")
def test_participant_page_can_be_completed_with_the_keyboard_only(
    browser: Browser, page: Page, server: Server
) -> None:
    # The demo's cohort meeting today (its session 4): the E2E cohort's session 3 is two weeks
    # away, and a pulse opens only on the day a group meets.
    open_session(page, server, 4, demo.TODAYS_COHORT)
    code = open_the_pulse(page)
    context, participant = phone(browser)
    try:
        # The code field has the focus when the page opens, and the code can be typed and sent.
        participant.goto(f"{server.url}/pulse")
        code_input = participant.get_by_label("Code")
        expect(code_input).to_be_focused(timeout=WAIT)
        participant.keyboard.type(code)
        participant.keyboard.press("Enter")
        groups = questions_of(participant)
        expect(groups.first).to_be_visible(timeout=WAIT)
        total = groups.count()
        assert total >= 4

        # Every empty choice can be seen in a bright room: its border 3:1 against what is around
        # it (WCAG non-text contrast), its words 4.5:1 against the button.
        ring, text, around, inside = participant.evaluate(CHOICE_COLOURS)
        assert contrast(ring, around) >= 3, (ring, around)
        assert contrast(text, inside) >= 4.5, (text, inside)

        # Every question is a radio group whose accessible name is its question text.
        for index in range(total):
            expect(
                participant.get_by_role("radiogroup", name=re.compile(rf"^{index + 1}\. \w"))
            ).to_have_count(1)

        # Tab reaches each question in order (one press from one to the next: a radio group is
        # one stop), arrow keys pick an answer, and the next Tab reaches Send.
        for index in range(total):
            group = groups.nth(index)
            presses = tab_to(participant, group)
            if index:
                assert presses == 1, f"{presses} presses from question {index} to {index + 1}"
            participant.keyboard.press("ArrowRight")
            participant.keyboard.press("Space")
            expect(group.get_by_role("radio", checked=True)).to_have_count(1)
        send = participant.get_by_role("button", name="Send my answers")
        assert tab_to(participant, send) == 1
        participant.keyboard.press("Enter")
        expect(participant.get_by_role("heading", name="Thank you")).to_be_visible(timeout=WAIT)
    finally:
        context.close()


def test_the_session_picker_follows_a_change_of_cohort(page: Page, server: Server) -> None:
    """The picker shows the session the page is about (it once kept the previous cohort's)."""
    staff_page(page, server, "maya", "/session", "Run a session")
    # Opened from the sidebar, the page shows today's session: Maya's first cohort meeting today.
    cohort = main(page).get_by_role("combobox", name="Cohort", exact=True)
    picker = main(page).get_by_role("combobox", name="Session", exact=True)
    expect(cohort).to_have_value(demo.TODAYS_COHORT)
    expect(picker).to_have_value(re.compile(r"^4\b"))  # its session 4 is today
    choose(page, "Cohort", demo.FINISHED_COHORT)  # its last session, all six held
    expect(page.get_by_role("heading", name=re.compile(r"^Session 6: "))).to_be_visible()
    expect(picker).to_have_value(re.compile(r"^6\b"))
    expect(page.get_by_text(re.compile(rf"{demo.FINISHED_COHORT} · held"))).to_be_visible()
    choose(page, "Cohort", demo.TODAYS_COHORT)
    expect(page.get_by_role("heading", name=re.compile(r"^Session 4: "))).to_be_visible()
    expect(picker).to_have_value(re.compile(r"^4\b"))


# --------------------------------------------------------------------------- bugs found


def test_the_session_page_stays_on_a_session_just_marked_held() -> None:
    """Seen in journey (c), which marks session 2 held while session 1 is today's session (the
    page's default); checked here so that the journey goes on and the bug stays visible."""
    needs(2)
    assert re.match(r"^2\b", JOURNEY.shown_after_marking_held), JOURNEY.shown_after_marking_held


@pytest.mark.parametrize(
    ("cohort", "number"),
    # The demo's cohort meeting today is also where the sidebar's "Run a session" opens; the
    # E2E cohort (its session 1 is today too, and held) is not, so its card shows the link counts.
    [(demo.TODAYS_COHORT, 4), (COHORT, 1)],
)
def test_run_session_on_a_home_card_opens_that_cohort(
    page: Page, server: Server, cohort: str, number: int
) -> None:
    if cohort == COHORT:
        needs(1)
    staff_page(page, server, "maya", "/", "Welcome, Maya Facilitator")
    card = (
        main(page)
        .get_by_test_id("stVerticalBlock")
        .filter(has=page.get_by_text(cohort, exact=True))
        .last
    )
    card.get_by_role("link", name=f"Run session {number}").click()
    expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
    settle(page)
    expect(main(page).get_by_role("combobox", name="Cohort", exact=True)).to_have_value(
        cohort, timeout=2000
    )
    expect(page.get_by_role("heading", name=re.compile(rf"^Session {number}: "))).to_be_visible()
