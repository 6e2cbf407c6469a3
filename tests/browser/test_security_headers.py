"""Security headers and what pages load, in a real browser: nothing goes to another site.

A server on the demo database plus, made through the domain API before it starts: a curriculum
whose session 1 title and notes carry remote images and links (tests/test_plain_text.py builds
it), a cohort of Maya's named `![x](http://evil.test/x.png)` with a roster member named
`[click](javascript:alert(1))` on that curriculum, its pulse open; and Kim, a facilitator whose
only cohort points at a curriculum version that does not exist, so her session page fails in a way
no page expects.

Checked: the Content-Security-Policy and its companions on the HTML, a static file and the
/auth routes; every request each page makes (the participant's /pulse with the room code, and
every staff page) goes to the app's own address; no page reports a CSP violation in its console;
no image or link from the typed text reaches the DOM; an unexpected error shows no traceback.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect

from headers import HEADERS, POLICY
from program import cohorts, pulse, session_runner
from program.demo import DEMO_PASSWORD
from program.markup import WORD_JOINER
from program.models import Actor, AttendanceMark, Mark, Role
from program.settings import Settings
from program.staff import create_user
from program.store import Store
from scripts.appserver import CHROMIUM, Server, seed_demo
from tests.browser.steps import WAIT, settle, show_tab, sign_in
from tests.factories.hostile import COHORT, MEMBER, hostile_version

pytestmark = pytest.mark.browser

KIM_PASSWORD = "kim-password-long-enough"
STAFF_PAGES = {
    "maya": ["/", "/cohorts", "/session", "/cohort_dashboard", "/mirror", "/curricula"],
    "admin": ["/", "/cohorts", "/admin", "/audit", "/program_dashboard", "/curricula"],
    "lead": ["/program_dashboard"],
}
# The browser reports a blocked load in the console, starting like this.
CSP_REPORT = re.compile(r"Content Security Policy|Content-Security-Policy", re.I)
# Every page records its CSP violation events here (added before any script of the page runs).
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""
TRACEBACK_SIGNS = ["Traceback", 'File "', ".py", "NotFound", "No curriculum version", "line "]


@dataclass(frozen=True)
class World:
    server: Server
    code: str  # room code of the hostile cohort's open pulse
    cohort_id: int
    session_id: int


def prepare(store: Store) -> tuple[str, int, int]:
    """The hostile cohort with its pulse open, and Kim with her broken cohort."""
    version = hostile_version(store)
    maya = store.staff_user_by_username("maya")
    assert maya is not None
    (program,) = store.programs()
    today = dt.date.today()
    cohort = cohorts.create_cohort(
        store,
        maya,
        program.id,
        version.id,
        COHORT,
        today,
        today.weekday(),
        False,
        [maya.id],
        "\n".join([MEMBER, "Ana", "Ben", "Chloe", "Dev", "Eve"]),
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

    system = Actor.system()
    kim = create_user(store, system, "kim", "Kim Facilitator", Role.FACILITATOR, KIM_PASSWORD)
    elsewhere = store.create_program(system, "Zz test program")
    store.add_program_facilitator(system, elsewhere.id, kim.id)
    # A cohort whose curriculum version is missing: a fault no page handles.
    store.create_cohort(system, elsewhere.id, 999_999, "Kim's group", {1: today}, [kim.id], [])
    return window.room_code, cohort.id, session.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    database = tmp_path_factory.mktemp("security-headers") / "db.duckdb"
    seed_demo(database)
    store = Store(database)
    try:
        code, cohort_id, session_id = prepare(store)
    finally:
        store.close()
    server = Server(database)
    server.start()
    try:
        yield World(server, code, cohort_id, session_id)
    finally:
        server.stop()


# --------------------------------------------------------------------------- headers


def fetch(url: str, data: bytes | None = None) -> tuple[int, Any, bytes]:
    """Status, headers and body of one request; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=data)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:  # 3xx without following, 4xx
        return exc.code, exc.headers, exc.read()


def assert_security_headers(headers: Any, what: str) -> None:
    for name, value in HEADERS.items():
        assert headers.get(name) == value, f"{name} on {what}: {headers.get(name)!r}"


def test_every_kind_of_response_carries_the_security_headers(world: World) -> None:
    base = world.server.url
    status, headers, body = fetch(f"{base}/")
    assert status == 200 and b"<html" in body.lower()
    assert_security_headers(headers, "the HTML page")
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "img-src 'self' data: blob:" in csp
    assert csp == POLICY
    # The policy names no other origin at all.
    assert not re.search(r"https?:|\*|//", csp), csp

    scripts = re.findall(rb'src="\./(static/js/[^"]+\.js)"', body)
    assert scripts, body[:2000]
    status, headers, _ = fetch(f"{base}/{scripts[0].decode()}")
    assert status == 200
    assert_security_headers(headers, "a static file")

    status, headers, _ = fetch(f"{base}/_stcore/health")
    assert status == 200
    assert_security_headers(headers, "the health check")

    form = urllib.parse.urlencode({"username": "nobody", "password": "wrong", "next": "/"})
    status, headers, _ = fetch(f"{base}/auth/signin", form.encode())
    assert status == 303
    assert_security_headers(headers, "/auth/signin")
    status, headers, _ = fetch(f"{base}/auth/signout", b"")
    assert status == 303
    assert_security_headers(headers, "/auth/signout")
    _, headers, _ = fetch(f"{base}/auth/signin")  # a GET, which no form sends
    assert_security_headers(headers, "a GET of /auth/signin")


# --------------------------------------------------------------------------- what pages load


@dataclass
class Watched:
    origin: str
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def foreign(self) -> list[str]:
        """Requests to anywhere but the app (data: and blob: URLs never leave the browser)."""
        out = []
        for url in self.requests:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                out.append(url)
        return out


@contextmanager
def watched_page(
    browser: Browser, world: World, **context_args: Any
) -> Iterator[tuple[Page, Watched]]:
    context = browser.new_context(**context_args)
    context.add_init_script(WATCH_VIOLATIONS)
    watch = Watched(world.server.url)
    context.on("request", watch.on_request)
    try:
        page = context.new_page()
        page.on("console", watch.on_console)
        yield page, watch
    finally:
        context.close()


def violations(page: Page) -> list[str]:
    found: list[str] = []
    for frame in page.frames:
        try:
            found += frame.evaluate("window.__cspViolations || []")
        except Exception:  # a frame that went away meanwhile
            continue
    return found


def check_page(page: Page, watch: Watched, url: str) -> None:
    """Open `url` once the previous page is quiet; nothing foreign, no violation, no exception."""
    page.goto(url)
    drawn = page.get_by_role("heading", level=1).or_(page.get_by_test_id("stAlert"))
    expect(drawn.first).to_be_visible(timeout=WAIT)
    if urllib.parse.urlsplit(url).path != "/pulse":  # the participant's page is plain HTML
        settle(page)
    page.wait_for_timeout(1500)  # charts, icons and fonts load after the script finishes
    assert not watch.foreign(), f"{url} made requests elsewhere: {watch.foreign()}"
    blocked = [m for m in watch.console if CSP_REPORT.search(m)]
    assert not blocked, f"{url}: {blocked}"
    assert not violations(page), f"{url}: {violations(page)}"
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # Nothing typed became an image or a link.
    for selector in ('img[src*="evil.test"]', 'a[href*="evil.test"]', 'a[href^="javascript"]'):
        assert page.locator(selector).count() == 0, f"{selector} on {url}"


def seen(page: Page) -> str:
    """The text of the page's main area as a person reads it."""
    return page.get_by_test_id("stMain").inner_text().replace(WORD_JOINER, "")


def test_the_participant_page_talks_only_to_the_app(browser: Browser, world: World) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    with watched_page(browser, world, **phone) as (page, watch):
        check_page(page, watch, f"{world.server.url}/pulse?code={world.code}")
        # Shown as typed (the invisible word joiners that keep addresses from linking aside).
        shown = page.get_by_role("main").inner_text().replace(WORD_JOINER, "")
        assert "Session 1: Arriving ![p](http://evil.test/px.png)" in shown
        assert "I have felt ![q](http://evil.test/q.png) cheerful" in shown
        assert "All of the [time](http://evil.test/t)" in shown
        assert watch.requests, "no request was recorded at all"


@pytest.mark.parametrize("username", list(STAFF_PAGES))
def test_staff_pages_talk_only_to_the_app(browser: Browser, world: World, username: str) -> None:
    with watched_page(browser, world) as (page, watch):
        page.goto(world.server.url)
        sign_in(page, world.server.url, username, DEMO_PASSWORD)
        for path in STAFF_PAGES[username]:
            check_page(page, watch, f"{world.server.url}{path}")
        if username == "maya":
            # The hostile cohort's session sheet: its guide, roster and the open pulse.
            link = f"/session?cohort={world.cohort_id}&session={world.session_id}"
            check_page(page, watch, f"{world.server.url}{link}")
            show_tab(page, "Attendance", "Everyone is here")
            assert MEMBER in seen(page)
            assert COHORT in seen(page)


# --------------------------------------------------------------------------- unexpected errors


def test_an_unexpected_error_shows_no_traceback(browser: Browser, world: World) -> None:
    with watched_page(browser, world) as (page, watch):
        page.goto(world.server.url)
        sign_in(page, world.server.url, "kim", KIM_PASSWORD)
        page.goto(f"{world.server.url}/session")
        expect(page.get_by_text("Something went wrong on this page")).to_be_visible(timeout=WAIT)
        settle(page)
        shown = page.get_by_test_id("stMain").inner_text()
        for sign in TRACEBACK_SIGNS:
            assert sign not in shown, f"{sign!r} shown: {shown}"
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert not watch.foreign()
