"""Regenerate every screenshot in docs/screenshots/: `make screenshots` (or `python -m scripts.screenshots`).

Starts the app on a fresh, seeded demo database in a temporary folder, signs in as each demo role
and saves every page at laptop (1366 wide) and phone (390 wide) size as
docs/screenshots/<page>-<laptop|phone>.png. The participant's pulse is shot on a phone on an open
pulse, before and after answering (pulse-phone-questions, pulse-phone-thanks), in English and on
a phone set to Spanish (the same names ending in -es); the session page
with its Pulse tab open, and the projector view it opens (projector-1280, at a projector's
1280 × 720). The program dashboard is shot whole, down to its downloads; the reports for funders
and sponsors it and Cohort results make (report-program-a4, report-cohort-a4) are shot whole as
the browser prints them, 210 mm wide.

Needs Debian's Chromium at /usr/bin/chromium (Playwright cannot download its own browsers here).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from program import demo, i18n, participant
from scripts.appserver import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, running, seed_demo

PASSWORD = "demo-password"  # the demo accounts' password (program.demo.DEMO_PASSWORD)
DISPLAY_NAMES = {
    "admin": "Alex Admin",
    "lead": "Lee Lead",
    "maya": "Maya Facilitator",
    "sam": "Sam Facilitator",
}
PROJECTOR = {"width": 1280, "height": 720}  # the projector view is shot at this size only
SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
# Whole-page shots stop at these heights, so a long page stays a readable, small file.
MAX_HEIGHT = {"laptop": 3000, "phone": 3400}
# The lead's dashboard is shot whole: what a lead scrolls through, sentences, charts and grid.
DASHBOARD_MAX_HEIGHT = {"laptop": 8000, "phone": 12000}
A4 = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 px to the inch
PULSE_MAX_HEIGHT = 4400
COHORT = demo.TODAYS_COHORT  # the demo cohort of Maya's that meets today
FINISHED = demo.FINISHED_COHORT  # Maya's first, finished demo cohort: released results
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\b")
HALL_ADDRESS = "http://192.168.1.20:8501"  # the app on a laptop in a hall's Wi-Fi
WAIT = 30_000


# --------------------------------------------------------------------------- the server


@contextmanager
def demo_server(folder: Path) -> Iterator[str]:
    """The app on a freshly seeded demo database in `folder`; yields its URL.

    Join links and QR codes name the address of the README's "Trying the pulse with real
    phones", as in a hall: the server's own 127.0.0.1 would add the warning that phones cannot
    reach it to every shot of the Pulse tab."""
    database = folder / "demo.duckdb"
    seed_demo(database)
    with running(Server(database, extra_env={"PROGRAM_BASE_URL": HALL_ADDRESS})) as server:
        yield server.url


# --------------------------------------------------------------------------- page helpers


def settle(page: Page) -> None:
    """Wait until the app has finished running its script."""
    page.wait_for_timeout(400)
    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=WAIT
    )


def choose(page: Page, label: str, option: str | re.Pattern[str], where: str = "stMain") -> None:
    """Pick an option of a Streamlit selectbox, again if a rerun closed the list."""
    box = page.get_by_test_id(where).get_by_role("combobox", name=label, exact=True)
    for _ in range(5):
        settle(page)
        box.click()
        try:
            page.get_by_role("option", name=option).click(timeout=3000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    expect(box).to_have_value(option)
    settle(page)


def show_tab(page: Page, name: str, showing: str) -> None:
    """Select a tab and wait until its content is in view (a late rerun may redraw the page)."""
    for _ in range(6):
        settle(page)
        page.get_by_role("tab", name=name).click()
        try:
            expect(
                page.get_by_role("tabpanel", name=name).get_by_text(showing).first
            ).to_be_visible(timeout=3000)
            settle(page)
            return
        except AssertionError:
            continue
    raise RuntimeError(f"The {name} tab did not show {showing!r}.")


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    drawn = page.get_by_role("heading", level=1).or_(page.get_by_test_id("stAlert"))
    expect(drawn.first).to_be_visible(timeout=WAIT)
    settle(page)


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.locator("input#username").fill(username)
    page.locator("input#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("stSidebar").get_by_text(DISPLAY_NAMES[username])).to_be_visible(
        timeout=WAIT
    )
    settle(page)


def shoot(
    page: Page, out: Path, name: str, size: str, max_height: dict[str, int] | None = None
) -> Path:
    """The whole page: Streamlit scrolls inside its own container, so the window is made as tall
    as the content (up to MAX_HEIGHT, or `max_height`) before the shot."""
    viewport = SIZES[size]
    page.set_viewport_size(viewport)
    settle(page)
    height = int(page.get_by_test_id("stMain").evaluate("e => e.scrollHeight"))
    page.set_viewport_size(
        {
            "width": viewport["width"],
            "height": max(viewport["height"], min(height, (max_height or MAX_HEIGHT)[size])),
        }
    )
    page.wait_for_timeout(600)  # charts redraw for the new size
    settle(page)
    page.evaluate(
        "() => { const m = document.querySelector('[data-testid=stMain]'); if (m) m.scrollTo(0, 0); }"
    )
    path = out / f"{name}-{size}.png"
    page.screenshot(path=str(path), type="png")
    page.set_viewport_size(viewport)
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} kB"
    )
    return path


def both_sizes(
    page: Page,
    out: Path,
    name: str,
    prepare: Callable[[], None] | None = None,
    max_height: dict[str, int] | None = None,
) -> None:
    for size in SIZES:
        page.set_viewport_size(SIZES[size])
        if prepare is not None:
            prepare()
        shoot(page, out, name, size, max_height)
    page.set_viewport_size(SIZES["laptop"])


# --------------------------------------------------------------------------- the shots


def guest_pages(browser: Browser, url: str, out: Path) -> None:
    context = browser.new_context(viewport=SIZES["laptop"])
    page = context.new_page()
    open_page(page, url)
    both_sizes(page, out, "signin")
    context.close()


def staff_pages(browser: Browser, url: str, out: Path) -> str:
    """Every staff page as the role that uses it; returns the open pulse's room code."""
    context = browser.new_context(viewport=SIZES["laptop"])
    page = context.new_page()

    sign_in(page, url, "maya")
    both_sizes(page, out, "home", lambda: open_page(page, url))
    both_sizes(page, out, "cohorts", lambda: open_page(page, f"{url}/cohorts"))

    # The session page during a meeting: everyone is here, and the pulse is open.
    open_page(page, f"{url}/session")
    choose(page, "Cohort", COHORT)
    show_tab(page, "Attendance", "Everyone is here")
    page.get_by_role("button", name="Everyone is here").click()
    # Saved as it is made: the attendance line counts everyone present.
    expect(page.get_by_text(re.compile(r"\d+ present, 0 not yet marked"))).to_be_visible(
        timeout=WAIT
    )
    settle(page)
    show_tab(page, "Guide and checklist", "Print the guide")
    guide_link = page.get_by_role("link", name="Print the guide").get_attribute("href")
    show_tab(page, "Pulse", "Open the pulse")
    page.get_by_role("button", name="Open the pulse").click()
    show_tab(page, "Pulse", "Room code")
    found = CODE.search(page.get_by_role("tabpanel", name="Pulse").inner_text())
    if not found:
        raise RuntimeError("No room code on the Pulse tab.")

    def session_page() -> None:
        open_page(page, f"{url}/session")
        choose(page, "Cohort", COHORT)
        show_tab(page, "Pulse", "Room code")

    both_sizes(page, out, "session", session_page)
    projector_page(page, out)
    if guide_link:
        print_page(page, f"{url}{guide_link}", out / "guide-print-a4.png")
    page.get_by_text("Single-use cards (and paper answers)").click()
    settle(page)
    page.get_by_role("button", name="Make cards").click()
    cards_link = page.get_by_role("link", name="Print the cards")
    expect(cards_link).to_be_visible(timeout=WAIT)
    print_page(page, f"{url}{cards_link.get_attribute('href')}", out / "cards-print-a4.png")
    # Making cards switched the room code off: let phones use it again for the pulse shots below.
    page.get_by_text("Let people use the room code too").click()
    settle(page)

    def dashboard() -> None:
        open_page(page, f"{url}/cohort_dashboard")
        choose(page, "Cohort", FINISHED)

    both_sizes(page, out, "cohort_dashboard", dashboard)
    report_page(page, f"{url}{make_report(page)}", out / "report-cohort-a4.png")

    # Maya's first cohort, so the mirror's sidebar picker (folded away on a phone) shows it.
    both_sizes(page, out, "mirror", lambda: open_page(page, f"{url}/mirror"))
    both_sizes(page, out, "curricula", lambda: open_page(page, f"{url}/curricula"))
    mirror_on_projector(page, url, out)  # last: it folds the sidebar away
    context.close()

    lead_pages(browser, url, out)

    context = browser.new_context(viewport=SIZES["laptop"])
    page = context.new_page()
    sign_in(page, url, "admin")
    both_sizes(page, out, "admin", lambda: open_page(page, f"{url}/admin"))
    both_sizes(page, out, "audit", lambda: open_page(page, f"{url}/audit"))
    context.close()
    return found.group(1)


def lead_pages(browser: Browser, url: str, out: Path) -> None:
    """The program dashboard whole, as the lead reads it, and the report it makes."""
    context = browser.new_context(viewport=SIZES["laptop"])
    page = context.new_page()
    sign_in(page, url, "lead")
    both_sizes(
        page,
        out,
        "program_dashboard",
        lambda: open_page(page, f"{url}/program_dashboard"),
        DASHBOARD_MAX_HEIGHT,
    )
    report_page(page, f"{url}{make_report(page)}", out / "report-program-a4.png")
    context.close()


def make_report(page: Page) -> str:
    """Click the dashboard's "Make the report"; the link of its "Print the report"."""
    make = page.get_by_test_id("stMain").get_by_role("button", name="Make the report")
    make.scroll_into_view_if_needed()
    make.click()
    link = page.get_by_test_id("stMain").get_by_role("link", name="Print the report")
    expect(link).to_be_visible(timeout=WAIT)
    settle(page)
    href = link.get_attribute("href")
    if not href:
        raise RuntimeError("No link to print the report.")
    return href


def report_page(page: Page, link: str, path: Path) -> None:
    """A report whole, as the browser prints it (print styles, 210 mm wide, the paper's side
    margins), one page after another without the gaps between sheets."""
    sheet = page.context.new_page()
    sheet.set_viewport_size(A4)
    sheet.emulate_media(media="print")
    sheet.goto(link)
    sheet.wait_for_load_state("load")
    sheet.add_style_tag(content="body{padding:12mm 12mm!important}")
    sheet.screenshot(path=str(path), type="png", full_page=True)
    sheet.close()
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} kB"
    )


def print_page(page: Page, link: str, path: Path) -> None:
    """A printed page's first A4 sheet as the browser prints it (print styles, 210 mm wide)."""
    sheet = page.context.new_page()
    sheet.set_viewport_size({"width": 794, "height": 1123})
    sheet.emulate_media(media="print")
    sheet.goto(link)
    sheet.wait_for_load_state("load")
    # The paper's margins, which a screen shot of the print layout leaves out.
    sheet.add_style_tag(content="body{padding:12mm 12mm!important}")
    sheet.screenshot(path=str(path), type="png")
    sheet.close()
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} kB"
    )


def mirror_on_projector(page: Page, url: str, out: Path) -> None:
    """The group mirror of Maya's finished cohort on a 1280 × 720 projector, sidebar folded."""
    page.set_viewport_size(PROJECTOR)
    open_page(page, f"{url}/mirror")
    choose(page, "Cohort", FINISHED, where="stSidebar")
    page.get_by_test_id("stSidebarCollapseButton").get_by_role("button").click()
    settle(page)
    path = out / "mirror-1280.png"
    page.screenshot(path=str(path), type="png")
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} kB"
    )


def projector_page(page: Page, out: Path) -> Path:
    """The projector view of the open pulse at a projector's 1280 × 720, opened as the facilitator
    opens it: from the Pulse tab, in a new tab."""
    link = page.get_by_role("tabpanel", name="Pulse").get_by_role(
        "link", name="Show on the projector"
    )
    with page.context.expect_page() as opened:
        link.click()
    screen = opened.value
    screen.set_viewport_size(PROJECTOR)
    expect(screen.get_by_role("heading", name="Answer today's pulse")).to_be_visible(timeout=WAIT)
    path = out / "projector-1280.png"
    screen.screenshot(path=str(path), type="png")
    screen.close()
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} kB"
    )
    return path


def participant_pages(
    browser: Browser, url: str, out: Path, code: str, language: str = "en"
) -> None:
    """The participant's pulse on a phone, a plain HTML page (pulse_page.py): the questions with
    an answer chosen at each, then the thank-you (pulse-phone-questions, pulse-phone-thanks), as a
    phone set to `language` gets them (a suffix "-es" on the names for any but English)."""
    context = browser.new_context(
        viewport=SIZES["phone"], is_mobile=True, has_touch=True, locale=language
    )
    suffix = "" if language == "en" else f"-{language}"
    words = i18n.languages()[language]
    page = context.new_page()
    page.goto(f"{url}/pulse?code={code}")
    questions = page.locator("fieldset")
    expect(questions.first).to_be_visible(timeout=WAIT)
    for index in range(questions.count()):
        choices = questions.nth(index).locator("label.pt:not(.skip)")
        choices.nth(min(index % 3 + 1, choices.count() - 1)).click()
    whole_page(page, out / f"pulse-phone-questions{suffix}.png")
    page.get_by_role("button", name=words.gettext(participant.SEND)).click()
    thanks = words.gettext(participant.THANK_YOU)
    expect(page.get_by_role("heading", name=thanks)).to_be_visible(timeout=WAIT)
    whole_page(page, out / f"pulse-phone-thanks{suffix}.png")
    context.close()


def whole_page(page: Page, path: Path) -> None:
    """A plain page scrolls the window itself: the shot takes it whole, down to its Send button
    (a pulse of ten questions), up to PULSE_MAX_HEIGHT."""
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    width = SIZES["phone"]["width"]
    page.screenshot(
        path=str(path),
        type="png",
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": min(height, PULSE_MAX_HEIGHT)},
    )
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} kB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 1
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="screenshots-") as tmp,
        demo_server(Path(tmp)) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            guest_pages(browser, url, out)
            code = staff_pages(browser, url, out)
            participant_pages(browser, url, out, code)
            participant_pages(browser, url, out, code, "es")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
