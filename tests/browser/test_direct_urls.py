"""Every page URL typed directly, by a guest, by a participant who came by a join link, and by a
facilitator of other cohorts (sam): none of them sees protected content.

The database is the demo plus one more cohort of Maya's, made through the domain API before the
server starts, with names no page could show by chance ("Zebedee-Secret") and an open pulse for
the participant's join link. What counts as protected is read from that database: the roster
names only Maya's cohorts have (the demo draws every roster from one pool of first names), the
names of Maya's cohorts, and text that only the admin and audit pages show.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from program import cohorts, pulse, session_runner
from program.demo import DEMO_PASSWORD
from program.models import AttendanceMark, Mark
from program.settings import Settings
from program.store import Store
from scripts.appserver import CHROMIUM, Server, seed_demo
from tests.browser.steps import WAIT, choose, questions_of, settle, sign_in

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/cohorts",
    "/session",
    "/cohort_dashboard",
    "/mirror",
    "/program_dashboard",
    "/curricula",
    "/admin",
    "/audit",
    "/pulse",
]
STAFF_PAGES = [p for p in PAGES if p != "/pulse"]
SECRET_COHORT = "Zebedee Tuesday group"
SECRET_NAMES = ["Zebedee-Secret", "Quillon-Hidden", "Marisol-Private", "Thaddeus-Unseen"]
# Text only the admin and audit pages draw.
ADMIN_ONLY = [
    "Add a staff member",
    "Change an account",
    "Delete cohort data",
    "Download a backup",
    "Restore from a backup",
    "Who did what, when",
]
REFUSED = "This page is not part of your role."


@dataclass(frozen=True)
class World:
    server: Server
    code: str  # the open pulse's room code
    maya_names: frozenset[str]  # roster names that only Maya's cohorts have
    maya_cohorts: frozenset[str]
    sam_cohorts: frozenset[str]


def prepare(store: Store) -> str:
    """Add Maya's secret cohort, mark everyone present at session 1, open its pulse."""
    maya = store.staff_user_by_username("maya")
    assert maya is not None
    (program,) = store.programs()
    version = store.curriculum_versions()[-1]
    today = dt.date.today()
    cohort = cohorts.create_cohort(
        store,
        maya,
        program.id,
        version.id,
        SECRET_COHORT,
        today,
        today.weekday(),
        False,
        [maya.id],
        "\n".join(SECRET_NAMES),
    )
    session = store.sessions(cohort.id)[0]
    marks = {m.id: AttendanceMark(status=Mark.PRESENT) for m in store.roster(cohort.id)}
    session_runner.save_sheet(
        store, maya, session.id, marks, set(), "", False, store.session_revision(session.id)
    )
    window = pulse.open_pulse(
        store, Settings(database=store.path), maya, session.id, dt.datetime.now()
    )
    assert window.room_code
    return window.room_code


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    database = tmp_path_factory.mktemp("direct-urls") / "db.duckdb"
    seed_demo(database)
    store = Store(database)
    try:
        code = prepare(store)
        rosters: dict[str, set[str]] = {"maya": set(), "sam": set()}
        names: dict[str, set[str]] = {"maya": set(), "sam": set()}
        for username in rosters:
            user = store.staff_user_by_username(username)
            assert user is not None
            for cohort in session_runner.my_cohorts(store, user):
                names[username].add(cohort.name)
                rosters[username] |= {m.display_name for m in store.roster(cohort.id)}
    finally:
        store.close()
    assert set(SECRET_NAMES) <= rosters["maya"] - rosters["sam"]
    server = Server(database)
    server.start()
    try:
        yield World(
            server,
            code,
            frozenset(rosters["maya"] - rosters["sam"]),
            frozenset(names["maya"]),
            frozenset(names["sam"]),
        )
    finally:
        server.stop()


def visit(page: Page, url: str) -> str:
    """Open a URL directly; return everything the page holds as text, hidden parts included
    (closed expanders, the accessible grid behind a canvas-drawn table)."""
    page.goto(url)
    drawn = page.get_by_role("heading", level=1).or_(page.get_by_test_id("stAlert"))
    expect(drawn.first).to_be_visible(timeout=WAIT)
    if urllib.parse.urlsplit(url).path != "/pulse":  # the participant's page is plain HTML
        settle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    return page_text(page)


# Every text node, one per line: textContent would run "Zebedee-Secret" into the next word.
TEXT_NODES = """() => {
    const out = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) out.push(walk.currentNode.nodeValue);
    return out.join("\\n");
}"""


def page_text(page: Page) -> str:
    return str(page.evaluate(TEXT_NODES))


def every_tab(page: Page) -> str:
    """The page's text with each of its tabs shown in turn (a tab draws its content only when
    it is shown)."""
    text = page_text(page)
    tabs = page.get_by_test_id("stMain").get_by_role("tab")
    for index in range(tabs.count()):
        tabs.nth(index).click()
        settle(page)
        text += page_text(page)
    return text


def leaks(text: str, words: frozenset[str] | list[str]) -> list[str]:
    return [w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]


def check_signin_only(page: Page, world: World, path: str, text: str) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("input#username")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert not leaks(text, world.maya_names | world.maya_cohorts | world.sam_cohorts), path
    assert not leaks(text, ADMIN_ONLY), path


def outsider(page: Page, world: World, path: str, text: str) -> None:
    """A guest or a participant: the sign-in screen on staff pages, the code form or the pulse
    on /pulse, and nothing protected anywhere."""
    if path == "/pulse":
        assert not leaks(text, world.maya_names | world.maya_cohorts | world.sam_cohorts)
        assert not leaks(text, ADMIN_ONLY)
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    else:
        check_signin_only(page, world, path, text)


def guest_context(browser: Browser) -> BrowserContext:
    return browser.new_context()


@contextmanager
def signed_in(browser: Browser, world: World, username: str) -> Iterator[Page]:
    """A page in a browser context of its own, signed in as `username`; closed afterwards."""
    context = guest_context(browser)
    try:
        page = context.new_page()
        page.goto(world.server.url)
        sign_in(page, world.server.url, username, DEMO_PASSWORD)
        yield page
    finally:
        context.close()


def test_a_guest_sees_the_signin_screen_on_every_staff_page(browser: Browser, world: World) -> None:
    context = guest_context(browser)
    try:
        page = context.new_page()
        for path in PAGES:
            outsider(page, world, path, visit(page, f"{world.server.url}{path}"))
        expect(page.get_by_role("heading", name="Today's pulse")).to_be_visible()
    finally:
        context.close()


def test_a_participant_who_came_by_a_join_link_sees_no_staff_page(
    browser: Browser, world: World
) -> None:
    context = guest_context(browser)
    try:
        page = context.new_page()
        visit(page, f"{world.server.url}/pulse?code={world.code}")
        expect(questions_of(page).first).to_be_visible()
        for path in PAGES:
            outsider(page, world, path, visit(page, f"{world.server.url}{path}"))
        # Back on /pulse without the link they are asked for the code, as anyone would be.
        expect(page.get_by_label("Code")).to_be_visible()
    finally:
        context.close()


def test_a_facilitator_of_other_cohorts_sees_nothing_of_mayas(
    browser: Browser, world: World
) -> None:
    with signed_in(browser, world, "sam") as page:
        for path in PAGES:
            text = visit(page, f"{world.server.url}{path}") + every_tab(page)
            assert not leaks(text, world.maya_names), (path, leaks(text, world.maya_names))
            assert not leaks(text, ADMIN_ONLY), (path, leaks(text, ADMIN_ONLY))
            assert not leaks(text, world.maya_cohorts), (path, leaks(text, world.maya_cohorts))
            if path in ("/program_dashboard", "/admin", "/audit"):
                expect(page.get_by_text(REFUSED)).to_be_visible()
            elif path != "/pulse":
                expect(page.get_by_role("button", name="Sign out")).to_be_visible()
                expect(page.get_by_text(REFUSED)).to_have_count(0)
        # His own work is there: the pages above were not empty by accident.
        visit(page, f"{world.server.url}/cohorts")
        for name in world.sam_cohorts:
            expect(
                page.get_by_role("gridcell", name=name, exact=True, include_hidden=True)
            ).to_be_attached()


def test_a_signed_in_facilitator_cannot_reach_mayas_cohort_by_its_session_page(
    browser: Browser, world: World
) -> None:
    """The cohort pickers list only his own cohorts, so Maya's cannot even be chosen."""
    with signed_in(browser, world, "sam") as page:
        for path, where in (
            ("/session", "stMain"),
            ("/cohort_dashboard", "stMain"),
            ("/mirror", "stSidebar"),
        ):
            visit(page, f"{world.server.url}{path}")
            box = page.get_by_test_id(where).get_by_role("combobox", name="Cohort", exact=True)
            box.click()
            options = set(page.get_by_role("option").all_inner_texts())
            page.keyboard.press("Escape")
            assert options == set(world.sam_cohorts), (path, options)


def test_the_check_would_see_a_leak_mayas_own_session_page_names_her_group(
    browser: Browser, world: World
) -> None:
    """The control: the same text check finds the secret names where they belong."""
    with signed_in(browser, world, "maya") as page:
        visit(page, f"{world.server.url}/session")
        choose(page, "Cohort", SECRET_COHORT)
        text = every_tab(page)
        assert set(leaks(text, SECRET_NAMES)) == set(SECRET_NAMES)


def test_the_curriculum_library_does_not_name_other_facilitators_cohorts(
    browser: Browser, world: World
) -> None:
    """The library names only his own cohorts; the rest are counted, not named."""
    with signed_in(browser, world, "sam") as page:
        text = visit(page, f"{world.server.url}/curricula") + every_tab(page)
        assert not leaks(text, world.maya_cohorts), leaks(text, world.maya_cohorts)
