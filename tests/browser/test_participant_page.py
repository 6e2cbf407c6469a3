"""The participant's pulse page (/pulse) and the projector view (/pulse/show) in headless Chromium.

One server for the module, over the demo database plus a cohort of Maya's ("Browser pulse
cohort", forty people), made through the domain API before the server starts. Six of its
sessions have a pulse, each for a purpose, so each test counts only the answers it sent:

- session 1 (nine questions: WHO-5 as a list, the others as rows of numbers) is shared by the
  tests that look at the page or send without counting exactly;
- session 2 is for reloading after answering, session 3 for skipping, session 4 for double sends;
- session 5 has two single-use cards, so its room code is switched off (cards only);
- session 6 had a card made, then closed: its room code and its card lead nowhere.

The projector view is opened by Maya, signed in through the sign-in form. What the server stored
is read from the open pulses' ballot files (SQLite files beside the database, where answers wait
until their pulse closes; program/store/ballots.py), which can be read while the server runs.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect

import projector
from program import cohorts, i18n, participant, pulse
from program.demo import DEMO_PASSWORD
from program.settings import Settings
from program.store import Store
from program.store.ballots import BallotBox
from scripts.appserver import CHROMIUM, Server, seed_demo
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser

WAIT = 20_000
COHORT = "Browser pulse cohort"
ROSTER = [f"Pulse member {n:02d}" for n in range(1, 41)]  # room for every test's answers
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 320, "height": 640}
TAP = 44  # px: the smallest tap target a finger can hit reliably (WCAG 2.5.5, Apple, Android)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SESSION_HEADING = re.compile(r"^Session \d+: ")
SWITCH_FROM_ENGLISH = ["Español", "Pseudo RTL"]  # the language links at the top of an English page
WRONG_CODE = "HJKM-NPQR"  # a room code no pulse has (and not the example the form shows)
# The browser reports a load the policy blocked in the console, starting like this.
CSP_REPORT = re.compile(r"Content Security Policy|Content-Security-Policy", re.I)
# Every page records its Content-Security-Policy violations here too: a load from another address
# that the policy blocked is an attempt, whether or not the browser reports it as a request.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@dataclass(frozen=True)
class Pulse:
    session_id: int
    code: str  # the room code
    questions: int


@dataclass(frozen=True)
class World:
    server: Server
    ballots: BallotBox
    shared: Pulse
    reload: Pulse
    skipping: Pulse
    double: Pulse
    cards_only: Pulse
    cards: tuple[str, str]  # the cards-only pulse's two cards
    closed_code: str
    closed_card: str


def prepare(store: Store) -> dict[str, Any]:
    maya = store.staff_user_by_username("maya")
    assert maya is not None
    (program,) = store.programs()
    version = store.curriculum_versions()[-1]
    # Session 6 meets today and the others met weekly before it: a pulse opens only on or after
    # its session's day.
    start = dt.date.today() - dt.timedelta(weeks=5)
    cohort = cohorts.create_cohort(
        store,
        maya,
        program.id,
        version.id,
        COHORT,
        start,
        start.weekday(),
        False,
        [maya.id],
        "\n".join(ROSTER),
    )
    bundle = store.curriculum_bundle(version.id)
    settings = Settings(database=store.path)
    now = dt.datetime.now()
    opened: dict[int, Pulse] = {}
    for session in store.sessions(cohort.id):
        questions = len(bundle.pulse_items(session.number))
        if questions:
            window = pulse.open_pulse(store, settings, maya, session.id, now)
            assert window.room_code
            opened[session.number] = Pulse(session.id, window.room_code, questions)
    assert len(opened) == 6 and opened[1].questions == 9, opened
    cards = pulse.make_cards(store, maya, opened[5].session_id, 2, now)
    (closed_card,) = pulse.make_cards(store, maya, opened[6].session_id, 1, now)
    pulse.close_pulse(store, maya, opened[6].session_id, now)
    return {
        "shared": opened[1],
        "reload": opened[2],
        "skipping": opened[3],
        "double": opened[4],
        "cards_only": opened[5],
        "cards": (cards[0], cards[1]),
        "closed_code": opened[6].code,
        "closed_card": closed_card,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    database = tmp_path_factory.mktemp("participant-page") / "db.duckdb"
    seed_demo(database)
    store = Store(database)
    try:
        made = prepare(store)
        ballots = store.ballots.folder
    finally:
        store.close()
    # The right-to-left stand-in language is offered too (program/i18n.py), for the mirrored layout.
    server = Server(database, extra_env={"PROGRAM_PSEUDO_LANGUAGES": "1"})
    server.start()
    try:
        yield World(server=server, ballots=BallotBox(ballots), **made)
    finally:
        server.stop()


# --------------------------------------------------------------------------- helpers


Answers = dict[tuple[str, str], int]


def held(world: World, of: Pulse) -> list[Answers]:
    """The answers the open pulse's ballot file holds now."""
    return [r.answers for r in world.ballots.contents(of.session_id).responses]


@dataclass
class Watch:
    """Every request a browser context made, and every one it made elsewhere."""

    origin: str
    requests: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)  # the body of each POST
    blocked: list[str] = field(default_factory=list)  # the browser's reports of blocked loads

    def on_request(self, request: Request) -> None:
        self.requests.append(f"{request.method} {request.url}")
        if request.method == "POST":
            self.forms.append(request.post_data or "")

    def on_console(self, message: ConsoleMessage) -> None:
        if CSP_REPORT.search(message.text):
            self.blocked.append(message.text)

    def posts(self) -> int:
        return sum(1 for r in self.requests if r.startswith("POST "))

    def foreign(self) -> list[str]:
        out = []
        for line in self.requests:
            parts = urllib.parse.urlsplit(line.split(" ", 1)[1])
            if parts.scheme in ("data", "blob", "about"):
                continue
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                out.append(line)
        return out


@contextmanager
def browse(browser: Browser, world: World, **context_args: Any) -> Iterator[tuple[Page, Watch]]:
    """A browser context of its own (nothing remembered from another test), watched."""
    context = browser.new_context(**context_args)
    context.add_init_script(WATCH_VIOLATIONS)
    watch = Watch(world.server.url)
    context.on("request", watch.on_request)
    context.on("console", watch.on_console)
    try:
        yield context.new_page(), watch
    finally:
        context.close()


@contextmanager
def phone(
    browser: Browser, world: World, size: dict[str, int] = PHONE, js: bool = True, **more: Any
) -> Iterator[tuple[Page, Watch]]:
    """A phone: `size` in CSS pixels, touch, scripts on or off."""
    with browse(
        browser,
        world,
        viewport=size,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=js,
        **more,
    ) as opened:
        yield opened


def join(page: Page, world: World, code: str) -> None:
    """Open the join link of `code` (what the QR code or the card leads to): the questions."""
    page.goto(f"{world.server.url}/pulse?code={urllib.parse.quote(code)}")
    expect(page.get_by_role("heading", level=1, name=SESSION_HEADING)).to_be_visible(timeout=WAIT)


def questions(page: Page) -> list[str]:
    """The form field of each question, in page order."""
    names: list[str] = page.locator("fieldset input[type=radio]").evaluate_all(
        "boxes => [...new Set(boxes.map(b => b.name))]"
    )
    return names


def tap(page: Page, name: str, value: str) -> None:
    """Tap the button of one choice (the radio itself is invisible: a person taps its label)."""
    radio = page.locator(f'input[type=radio][name="{name}"][value="{value}"]')
    page.locator(f'label[for="{radio.get_attribute("id")}"]').click()
    expect(radio).to_be_checked()


def points(page: Page, name: str) -> list[str]:
    """A question's scale points as the form sends them (without "Prefer not to say")."""
    values: list[str] = page.locator(f'input[type=radio][name="{name}"]').evaluate_all(
        "boxes => boxes.map(b => b.value)"
    )
    return [v for v in values if v != pulse.PREFER_NOT_TO_SAY]


def answer(page: Page, pick: int = 0, leave: tuple[int, ...] = ()) -> Answers:
    """Tap the `pick`-th point of every question but those at the places in `leave`; return what
    the store should keep."""
    chosen: Answers = {}
    for index, name in enumerate(questions(page)):
        if index in leave:
            continue
        value = points(page, name)[pick]
        tap(page, name, value)
        instrument, item = name.split("/")
        chosen[(instrument, item)] = int(value)
    return chosen


def send(page: Page) -> None:
    page.get_by_role("button", name=participant.SEND).click()
    thanked(page)


def thanked(page: Page) -> None:
    expect(page.get_by_role("heading", level=1, name=participant.THANK_YOU)).to_be_visible(
        timeout=WAIT
    )


def problem(page: Page) -> str:
    """The message at the top of the code form (role=alert)."""
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible(timeout=WAIT)
    return " ".join(alert.inner_text().split())


def csp_violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__cspViolations || []")
    return found


# --------------------------------------------------------------------------- 1. answering


def test_answering_with_scripts_on_and_with_scripts_off(browser: Browser, world: World) -> None:
    for js in (True, False):
        before = len(held(world, world.shared))
        with phone(browser, world, js=js) as (page, watch):
            join(page, world, world.shared.code)
            assert len(questions(page)) == world.shared.questions
            chosen = answer(page, pick=-1)
            send(page)
            expect(page.get_by_text(participant.ANSWERS_IN)).to_be_visible()
            # A plain form POST to the page's own address did it.
            assert watch.posts() == 1, watch.requests
            assert page.url == f"{world.server.url}/pulse", page.url
        after = held(world, world.shared)
        assert len(after) == before + 1, f"scripts {'on' if js else 'off'}"
        assert chosen in after


# --------------------------------------------------------------------------- 2. skipping


def test_only_the_questions_answered_are_kept(browser: Browser, world: World) -> None:
    """Three questions left untouched and one answered "Prefer not to say": the thank-you, and a
    response holding exactly the other five answers."""
    with phone(browser, world) as (page, _):
        join(page, world, world.skipping.code)
        names = questions(page)
        assert len(names) == 9
        chosen = answer(page, pick=1, leave=(1, 4, 6, 7))
        tap(page, names[6], pulse.PREFER_NOT_TO_SAY)
        expect(page.locator(f'input[name="{names[6]}"]:checked')).to_have_value(
            pulse.PREFER_NOT_TO_SAY
        )
        for untouched in (1, 4, 7):
            expect(page.locator(f'input[name="{names[untouched]}"]:checked')).to_have_count(0)
        send(page)
    assert len(chosen) == 5
    assert held(world, world.skipping) == [chosen]


# --------------------------------------------------------------------------- 3. reloading


def test_a_phone_that_answered_sees_its_receipt_until_it_asks_to_answer_again(
    browser: Browser, world: World
) -> None:
    with phone(browser, world) as (page, watch):
        join(page, world, world.reload.code)
        first = answer(page)
        send(page)
        assert held(world, world.reload) == [first]

        # Reloading the thank-you sends the same form again: thanked, nothing more stored.
        page.reload()
        thanked(page)
        assert watch.posts() == 2, watch.requests
        assert held(world, world.reload) == [first]

        # The join link again, and a reload of it: the receipt, not the questions.
        for again in (
            lambda: page.goto(f"{world.server.url}/pulse?code={world.reload.code}"),
            page.reload,
        ):
            again()
            expect(
                page.get_by_role("heading", level=1, name=participant.ANSWERED_BEFORE_TITLE)
            ).to_be_visible(timeout=WAIT)
            expect(page.get_by_text(participant.ANSWERED_BEFORE)).to_be_visible()
            expect(page.get_by_role("radiogroup")).to_have_count(0)
            expect(page.get_by_role("button", name=participant.SEND)).to_be_hidden()
        assert held(world, world.reload) == [first]

        # A phone passed around the room: the questions come back, and the next person answers.
        page.get_by_role("link", name=participant.ANSWER_AGAIN).click()
        expect(page.get_by_role("heading", level=1, name=SESSION_HEADING)).to_be_visible()
        expect(page.get_by_role("radiogroup")).to_have_count(world.reload.questions)
        second = answer(page, pick=-1)
        send(page)
    assert sorted(held(world, world.reload), key=str) == sorted([first, second], key=str)


# --------------------------------------------------------------------------- 4. double sends


def test_a_double_tap_and_a_form_sent_again_are_stored_once(browser: Browser, world: World) -> None:
    stored: list[Answers] = []
    for js in (True, False):
        with phone(browser, world, js=js) as (page, watch):
            join(page, world, world.double.code)
            token = page.locator('input[name="token"]').get_attribute("value")
            assert token
            stored.append(answer(page, pick=len(stored)))
            page.get_by_role("button", name=participant.SEND).dblclick()
            thanked(page)
            sent = watch.forms
            assert sent and all(f"token={token}" in body for body in sent), sent
            assert held(world, world.double) == stored, f"scripts {'on' if js else 'off'}"

            # The same form, token and all, sent again (a reload, or a tap after a lost reply).
            reply = page.request.post(
                f"{world.server.url}/pulse",
                data=sent[0],
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert reply.ok and f"<h1>{participant.THANK_YOU}</h1>" in reply.text()
            assert held(world, world.double) == stored, f"scripts {'on' if js else 'off'}"


# --------------------------------------------------------------------------- 5. codes


def test_codes_that_lead_nowhere_read_alike_and_a_used_card_is_never_told_apart(
    browser: Browser, world: World
) -> None:
    base = world.server.url
    with phone(browser, world) as (page, _):
        # A wrong code typed into the form.
        page.goto(f"{base}/pulse")
        page.get_by_label(participant.CODE_LABEL).fill(WRONG_CODE)
        page.get_by_role("button", name=participant.CONTINUE).click()
        assert problem(page) == pulse.NO_OPEN_PULSE
        wrong = page.locator("main").inner_html()
        assert WRONG_CODE not in wrong  # what was typed is not drawn back
        # A closed pulse's room code and card, and a card that never existed: the same page.
        for code in (world.closed_code, world.closed_card, pulse.new_card_code()):
            page.goto(f"{base}/pulse?code={pulse.format_code(code)}")
            assert problem(page) == pulse.NO_OPEN_PULSE, code
            assert page.locator("main").inner_html() == wrong, code

        # A card typed with one wrong letter: the check letter catches it.
        card = world.cards[1]
        typo = pulse.ALPHABET[(pulse.ALPHABET.index(card[3]) + 1) % len(pulse.ALPHABET)]
        page.goto(f"{base}/pulse?code={pulse.format_code(card[:3] + typo + card[4:])}")
        assert problem(page) == pulse.CARD_TYPO

        # The room code of a pulse that takes cards only.
        page.goto(f"{base}/pulse?code={world.cards_only.code}")
        assert problem(page) == pulse.CARDS_ONLY
        expect(page.get_by_role("radiogroup")).to_have_count(0)

    # A card answers; the same card on another phone is offered the questions and thanked alike,
    # and its second answers are dropped.
    card = world.cards[0]
    pages: list[str] = []
    for pick in (0, -1):
        with phone(browser, world) as (page, _):
            join(page, world, pulse.format_code(card))
            expect(page.get_by_role("alert")).to_have_count(0)
            pages.append(re.sub(r'name="token" value="[^"]+"', "", page.content()))
            first = answer(page, pick=pick)
            send(page)
            expect(page.get_by_text(participant.CARD_ANSWERS_IN)).to_be_visible()
            if pick == 0:
                kept = first
    assert pages[0] == pages[1]
    assert held(world, world.cards_only) == [kept]


# --------------------------------------------------------------------------- 6. phone sizes

# Each radio's tap target: the label drawn as its button (the radio itself is invisible on top).
TARGETS = """() => [...document.querySelectorAll('input[type=radio]')].map(radio => {
    const box = radio.closest('label').getBoundingClientRect();
    return {id: radio.id, width: box.width, height: box.height};
})"""


def small_targets(page: Page) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = page.evaluate(TARGETS)
    assert targets, "no radio on the page"
    return [t for t in targets if t["width"] < TAP or t["height"] < TAP]


def no_sideways_scroll(page: Page, where: str, width: int) -> None:
    wide = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        " body: document.body.scrollWidth})"
    )
    assert wide["inner"] == width, f"{where}: {wide}"
    assert wide["scroll"] <= wide["inner"] and wide["body"] <= wide["inner"], f"{where}: {wide}"


def tall_enough(page: Page, button: str) -> None:
    box = page.get_by_role("button", name=button).bounding_box()
    assert box and box["height"] >= TAP and box["width"] >= TAP, (button, box)


@pytest.mark.parametrize("size", [SMALL_PHONE, PHONE], ids=["320x640", "390x844"])
def test_on_a_phone_nothing_scrolls_sideways_and_every_choice_is_a_big_target(
    browser: Browser, world: World, size: dict[str, int]
) -> None:
    width = size["width"]
    with phone(browser, world, size=size) as (page, _):
        page.goto(f"{world.server.url}/pulse")
        expect(page.get_by_label(participant.CODE_LABEL)).to_be_visible()
        no_sideways_scroll(page, "the code form", width)
        tall_enough(page, participant.CONTINUE)
        page.goto(f"{world.server.url}/pulse?code={world.cards_only.code}")
        problem(page)
        no_sideways_scroll(page, "the code form with a message", width)

        join(page, world, world.shared.code)
        no_sideways_scroll(page, "the questions", width)
        # Every point of every scale, and "Prefer not to say" at each question.
        expect(page.locator("input[type=radio]")).to_have_count(5 * 7 + 8 + 3 * 12)
        assert not small_targets(page)
        tall_enough(page, participant.SEND)
        answer(page, pick=0)  # a chosen button gains a tick
        no_sideways_scroll(page, "the questions, answered", width)
        assert not small_targets(page)
        send(page)
        no_sideways_scroll(page, "the thank-you", width)
        page.goto(f"{world.server.url}/pulse?code={world.shared.code}")
        expect(page.get_by_role("link", name=participant.ANSWER_AGAIN)).to_be_visible()
        no_sideways_scroll(page, "the receipt of a phone that answered", width)


# --------------------------------------------------------------------------- 7. large text

FONT_SIZES = """() => [...document.querySelectorAll('legend, .pt > span, .send')].map(
    e => parseFloat(getComputedStyle(e).fontSize))"""
# A choice whose words or number are wider than its button, or a button past the screen's edge.
SPILLS = """() => [...document.querySelectorAll('.pt > span')].filter(
    s => s.scrollWidth > s.clientWidth + 1 || s.scrollHeight > s.clientHeight + 1
).map(s => s.parentElement.htmlFor)"""
OUTSIDE = """() => [...document.querySelectorAll('label, legend, .send, summary')].filter(e => {
    const box = e.getBoundingClientRect();
    return box.left < -0.5 || box.right > window.innerWidth + 0.5;
}).map(e => e.htmlFor || e.textContent.slice(0, 30))"""


@pytest.mark.parametrize("size", [SMALL_PHONE, PHONE], ids=["320x640", "390x844"])
@pytest.mark.parametrize("how", ["browser-setting", "root-200%"])
def test_text_twice_as_large_still_fits_the_phone(
    browser: Browser, world: World, size: dict[str, int], how: str
) -> None:
    """Text at 200%, two ways. "browser-setting": the browser's default font size doubled (16 px
    to 32 px), as a reader's font size setting does; rem sizes and the em breakpoints of the
    rows both follow it. "root-200%": the root element's font size set to 200%, which doubles
    every rem size while the breakpoints (media queries use the browser's default) stay put."""
    width = size["width"]
    with phone(browser, world, size=size) as (page, _):
        join(page, world, world.shared.code)
        normal: list[float] = page.evaluate(FONT_SIZES)
        if how == "browser-setting":
            cdp = page.context.new_cdp_session(page)
            cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
            page.reload()
            expect(page.get_by_role("heading", level=1, name=SESSION_HEADING)).to_be_visible()
        else:
            page.evaluate("document.documentElement.style.fontSize = '200%'")
        large: list[float] = page.evaluate(FONT_SIZES)
        assert len(large) == len(normal) > 80
        assert all(b == 2 * a for a, b in zip(normal, large, strict=True)), (normal, large)

        no_sideways_scroll(page, how, width)
        assert not page.evaluate(OUTSIDE)
        if how == "browser-setting":
            assert not page.evaluate(SPILLS)
        # Every question can be reached and answered, and the send button pressed.
        chosen = answer(page, pick=-1)
        assert len(chosen) == world.shared.questions
        send_button = page.get_by_role("button", name=participant.SEND)
        send_button.scroll_into_view_if_needed()
        send_button.click(trial=True)  # visible, enabled, not covered
        no_sideways_scroll(page, f"{how}, answered", width)


# --------------------------------------------------------------------------- 8. keyboard

# Where the focus is, and whether it is drawn: a radio is invisible, so its ring is on the
# button drawn next to it.
FOCUS = """() => {
    const el = document.activeElement;
    const drawn = el.matches('.pt input') ? el.nextElementSibling : el;
    const style = getComputedStyle(drawn);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    return {
        kind: el.type || el.tagName.toLowerCase(),
        name: el.name || '',
        value: el.value || '',
        text: (el.innerText || '').trim(),
        checked: !!el.checked,
        ring: outline || style.boxShadow !== 'none',
    };
}"""


def focused(page: Page) -> dict[str, Any]:
    where: dict[str, Any] = page.evaluate(FOCUS)
    assert where["ring"], f"the focus is not drawn: {where}"
    return where


def test_a_keyboard_alone_answers_and_sends_and_the_focus_is_always_drawn(
    browser: Browser, world: World
) -> None:
    before = len(held(world, world.shared))
    with browse(browser, world, viewport={"width": 1024, "height": 768}) as (page, _):
        join(page, world, world.shared.code)
        names = questions(page)
        # Tab into the first question; only the language switch and the promise's "more" come
        # first.
        passed = []
        for _ in range(6):
            page.keyboard.press("Tab")
            where = focused(page)
            if where["kind"] == "radio":
                break
            passed.append(where["text"])
        assert passed == [*SWITCH_FROM_ENGLISH, participant.PROMISE_MORE]
        assert where["name"] == names[0] and not where["checked"]

        # Arrow keys choose within a question.
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowUp")
        where = focused(page)
        assert where["checked"] and where["value"] == points(page, names[0])[1]
        chosen = {names[0]: where["value"]}
        # Tab goes from question to question; Space or an arrow key chooses.
        for number, name in enumerate(names[1:], start=2):
            page.keyboard.press("Tab")
            where = focused(page)
            assert where["name"] == name and not where["checked"], (number, where)
            page.keyboard.press("Space" if number % 2 else "ArrowRight")
            where = focused(page)
            assert where["checked"], (number, where)
            chosen[name] = where["value"]
        assert len(set(chosen.values())) > 1

        page.keyboard.press("Tab")
        where = focused(page)
        assert (where["kind"], where["text"]) == ("submit", participant.SEND)
        page.keyboard.press("Enter")
        thanked(page)
    after = held(world, world.shared)
    assert len(after) == before + 1
    assert {tuple(k.split("/")): int(v) for k, v in chosen.items()} in after


# --------------------------------------------------------------------------- 9. axe-core


def axe(page: Page) -> dict[str, str]:
    """axe-core's WCAG 2.1 A and AA rules on the page: rule -> what it found and where."""
    results = (
        Axe()
        .run(
            page,
            options={
                "runOnly": {"type": "tag", "values": AXE_TAGS},
                "resultTypes": ["violations"],
            },
        )
        .response
    )
    assert results["passes"], "axe checked nothing"
    return {
        v["id"]: f"{v['impact']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_the_participant_pages(
    browser: Browser, world: World, scheme: str
) -> None:
    base = world.server.url
    found: dict[str, dict[str, str]] = {}
    with phone(browser, world, color_scheme=scheme) as (page, _):
        page.goto(f"{base}/pulse")
        expect(page.get_by_label(participant.CODE_LABEL)).to_be_visible()
        found["code form"] = axe(page)
        page.goto(f"{base}/pulse?code={WRONG_CODE}")
        assert problem(page) == pulse.NO_OPEN_PULSE
        found["wrong code"] = axe(page)
        join(page, world, world.shared.code)
        found["questions"] = axe(page)
        # A form the server never issued comes back with a message and the answers kept.
        answer(page)
        page.locator('input[name="token"]').evaluate("token => { token.value = 'unknown'; }")
        page.get_by_role("button", name=participant.SEND).click()
        expect(page.get_by_role("alert")).to_contain_text(participant.EXPIRED)
        found["questions sent again"] = axe(page)
        send(page)
        found["thank-you"] = axe(page)
        page.goto(f"{base}/pulse?code={world.shared.code}")
        expect(page.get_by_role("link", name=participant.ANSWER_AGAIN)).to_be_visible()
        found["receipt of a phone that answered"] = axe(page)
    assert not {name: rules for name, rules in found.items() if rules}


def test_axe_finds_nothing_on_the_projector_view(browser: Browser, world: World) -> None:
    base = world.server.url
    with browse(browser, world, viewport={"width": 1280, "height": 720}) as (page, watch):
        page.goto(base)
        sign_in(page, base, "maya", DEMO_PASSWORD)
        page.goto(f"{base}/pulse/show?session={world.shared.session_id}")
        expect(page.get_by_role("heading", name=projector.OPEN_TITLE)).to_be_visible(timeout=WAIT)
        expect(page.get_by_text(pulse.format_code(world.shared.code))).to_be_visible()
        found = axe(page)
    assert not found, found


# --------------------------------------------------------------------------- 10. other addresses


def test_the_participant_browser_asks_nothing_of_any_other_address(
    browser: Browser, world: World
) -> None:
    """The whole way through, scripts on and off: every request goes to /pulse on the app's own
    address (one request per page: no style sheet, font, image or icon), and the browser blocked
    no attempt to load anything from elsewhere."""
    base = world.server.url
    for js in (True, False):
        with phone(browser, world, js=js) as (page, watch):
            page.goto(f"{base}/pulse")
            page.get_by_label(participant.CODE_LABEL).fill(world.shared.code.lower())
            page.get_by_role("button", name=participant.CONTINUE).click()
            expect(page.get_by_role("heading", level=1, name=SESSION_HEADING)).to_be_visible()
            page.get_by_text(participant.PROMISE_MORE).click()
            answer(page, pick=2)
            send(page)
            page.goto(f"{base}/pulse?code={world.shared.code}")
            if js:
                page.get_by_role("link", name=participant.ANSWER_AGAIN).click()
                expect(page.get_by_role("radiogroup")).to_have_count(world.shared.questions)
                assert not csp_violations(page)
            page.wait_for_timeout(500)  # anything late
            where = "scripts on" if js else "scripts off"
            assert watch.requests, where
            assert not watch.foreign(), (where, watch.foreign())
            assert not watch.blocked, (where, watch.blocked)
            paths = {urllib.parse.urlsplit(r.split(" ", 1)[1]).path for r in watch.requests}
            assert paths == {"/pulse"}, (where, watch.requests)
            methods = [r.split(" ", 1)[0] for r in watch.requests]
            assert methods == ["GET", "GET", "POST", "GET"], (where, watch.requests)


# --------------------------------------------------------------------------- 11. languages

# Each language the page is offered in: the words to look for, and which way it reads.
LANGUAGES = {
    "en": ("Today's pulse", participant.SEND, "ltr"),
    "es": ("Encuesta breve de hoy", "Enviar mis respuestas", "ltr"),
    i18n.PSEUDO_RTL: (
        f"\u202e{participant.PAGE_TITLE}\u202c",
        f"\u202e{participant.SEND}\u202c",
        "rtl",
    ),
}
# Where things sit: the promise's coloured edge and each "Prefer not to say" button are at the
# start of the line (left in English, right when mirrored); the first and last choice of the first
# row of numbers, whose direction is its instrument's own.
SIDES = """() => {
    const row = document.querySelector('.choices.row');
    const labels = row.querySelectorAll('.pt');
    const first = labels[0].getBoundingClientRect(), last = labels[labels.length - 1].getBoundingClientRect();
    const box = getComputedStyle(document.querySelector('.box'));
    const skips = [...document.querySelectorAll('.pt.skip')].map(s => s.getBoundingClientRect());
    return {first: first.left, last: last.left, rowDir: getComputedStyle(row).direction,
            edgeLeft: box.borderLeftWidth, edgeRight: box.borderRightWidth,
            skipLeft: Math.min(...skips.map(s => s.left)),
            skipRight: Math.max(...skips.map(s => innerWidth - s.right))};
}"""


@pytest.mark.parametrize("js", [True, False], ids=["script", "no-script"])
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_page_in_each_language_by_browser_setting_and_by_the_switch_at_320px(
    browser: Browser, world: World, language: str, js: bool
) -> None:
    title, send_words, direction = LANGUAGES[language]
    width = SMALL_PHONE["width"]
    before = len(held(world, world.shared))
    # Chosen by the phone's language setting (Accept-Language): the real languages only, as no
    # browser asks for the stand-in.
    if language != i18n.PSEUDO_RTL:
        with phone(browser, world, size=SMALL_PHONE, js=js, locale=language) as (page, _):
            page.goto(f"{world.server.url}/pulse")
            expect(page.get_by_role("heading", level=1, name=title)).to_be_visible(timeout=WAIT)
            assert page.locator("html").get_attribute("lang") == language
    # Chosen with the switch, from a phone set to English, keeping the code.
    with phone(browser, world, size=SMALL_PHONE, js=js, locale="en-US") as (page, _):
        join(page, world, world.shared.code)
        if language != "en":
            page.get_by_role("navigation").get_by_role(
                "link", name=i18n.languages(pseudo=True)[language].name
            ).click()
        expect(page.get_by_role("button", name=send_words)).to_be_visible(timeout=WAIT)
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == (language, direction)
        assert f"code={world.shared.code}" in page.url
        no_sideways_scroll(page, f"the questions in {language}", width)
        assert not small_targets(page)
        sides = page.evaluate(SIDES)
        if direction == "rtl":
            assert sides["edgeRight"] == "4px" and sides["skipRight"] < 24, sides
        else:
            assert sides["edgeLeft"] == "4px" and sides["skipLeft"] < 24, sides
        # A row of numbers reads in its instrument's direction: the stand-in has no translation of
        # any instrument, so its rows stay English, left to right.
        assert sides["rowDir"] == "ltr" and sides["first"] < sides["last"], sides
        chosen = answer(page, pick=-1)
        page.get_by_role("button", name=send_words).click()
        expect(page.locator("html")).to_have_attribute("lang", language, timeout=WAIT)
        expect(page.locator("h1")).not_to_have_text(re.compile("Session|Sesión"), timeout=WAIT)
        no_sideways_scroll(page, f"the thank-you in {language}", width)
    after = held(world, world.shared)
    # Whatever the language, the same answers, stored the same way.
    assert len(after) == before + 1 and chosen in after


def test_a_question_without_a_translation_is_shown_in_its_own_language_with_a_note(
    browser: Browser, world: World
) -> None:
    with phone(browser, world, locale="es-MX") as (page, _):
        page.goto(f"{world.server.url}/pulse?code={world.shared.code}")
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Sesión 1: "))
        who5 = page.get_by_role("heading", level=2, name="Over the last two weeks")
        expect(who5).to_have_attribute("lang", "en")
        expect(page.get_by_text("Estas preguntas están en inglés")).to_be_visible()
        expect(
            page.get_by_role("radiogroup", name=re.compile("I have felt cheerful"))
        ).to_be_visible()
        expect(
            page.get_by_role("radiogroup", name=re.compile("Me identifico con este grupo"))
        ).to_be_visible()


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_axe_finds_nothing_on_the_participant_page_in_each_language(
    browser: Browser, world: World, language: str
) -> None:
    base = world.server.url
    found: dict[str, dict[str, str]] = {}
    with phone(browser, world) as (page, _):
        page.goto(f"{base}/pulse?lang={language}")
        expect(page.locator("input.code")).to_be_visible(timeout=WAIT)
        found["code form"] = axe(page)
        page.goto(f"{base}/pulse?code={world.shared.code}&lang={language}")
        expect(page.locator("fieldset").first).to_be_visible(timeout=WAIT)
        found["questions"] = axe(page)
        answer(page)
        page.get_by_role("button", name=LANGUAGES[language][1]).click()
        expect(page.locator(".box[role=status]")).to_be_visible(timeout=WAIT)
        found["thank-you"] = axe(page)
    assert not {name: rules for name, rules in found.items() if rules}
