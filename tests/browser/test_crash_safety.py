"""kill -9 in the middle of attendance saves and pulse answers: what was acknowledged survives.

A server on a fresh database (the demo, plus a cohort of Maya's whose session 1 is today and
whose pulse is open). Maya marks attendance one person at a time, each mark saved as it is made;
phones answer the pulse. An attendance mark counts as acknowledged when the Attendance tab's
line shows the new count (read back from the store) with a "saved at" time, an answer when its
"Thank you" page is. In the second burst a mark and an answer are sent together and the server
is killed with SIGKILL at once. Restarted on the same file, the server must answer its health
route and draw the sign-in page; once stopped, `python -m program init` must succeed on the file;
and the store must hold every acknowledged save and answer (the answers in the pulse's ballot
file, none in the database until the pulse closes), and no half of anything.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from program import cohorts, pulse
from program.demo import DEMO_PASSWORD
from program.models import Mark
from program.settings import Settings
from program.store import Store
from scripts.appserver import CHROMIUM, Server, healthy, run_program, seed_demo
from tests.browser.steps import (
    WAIT,
    answer_every_question,
    choose,
    phone,
    send_answers,
    settle,
    show_tab,
    sign_in,
)

pytestmark = pytest.mark.browser

COHORT = "Crash cohort"
ROSTER = [f"Crash member {letter}" for letter in "ABCDEFGHIJKL"]
FIRST_BURST = 4  # people marked present one save at a time before any answer
SAVED_AT = re.compile(r"saved at (\d\d:\d\d:\d\d)")
PHONES = 4  # phones that answer, interleaved with saves, in the second burst


@dataclass(frozen=True)
class Prepared:
    database: Path
    session_id: int
    cohort_id: int
    code: str
    items: int  # questions in this session's pulse
    before: dict[str, int]  # row counts before the server first starts


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    database = tmp_path_factory.mktemp("crash") / "db.duckdb"
    seed_demo(database)
    store = Store(database)
    try:
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
            COHORT,
            today,
            today.weekday(),
            False,
            [maya.id],
            "\n".join(ROSTER),
        )
        session = store.sessions(cohort.id)[0]
        window = pulse.open_pulse(
            store, Settings(database=database), maya, session.id, dt.datetime.now()
        )
        assert window.room_code
        items = len(store.curriculum_bundle(version.id).pulse_items(session.number))
        return Prepared(
            database, session.id, cohort.id, window.room_code, items, store.row_counts()
        )
    finally:
        store.close()


@dataclass
class Acknowledged:
    present: list[str]  # names whose save was acknowledged, in order
    answers: int = 0
    in_flight_present: str | None = None  # sent, then the server was killed
    in_flight_answers: int = 0
    saved_at: str = ""  # the last "saved at" time the page showed


def mark_present(page: Page, name: str) -> None:
    """Mark one person present, once the page is quiet: the mark is saved as it is made."""
    panel = show_tab(page, "Attendance", "Everyone is here")
    settle(page)
    panel.get_by_role("radiogroup", name=f"Attendance of {name}").get_by_text(
        "Present", exact=True
    ).click()


def mark_present_acknowledged(page: Page, name: str, acked: Acknowledged) -> None:
    """Mark one person present; return once the save is acknowledged: the Attendance tab's line
    counts them (it is read back from the store after the save) and says when it was saved, a
    time no earlier than the last one (two saves in one second show the same time)."""
    mark_present(page, name)
    line = page.get_by_role("tabpanel", name="Attendance").get_by_text(
        re.compile(r"^\d+ present, \d+ not yet marked")
    )
    count = len(acked.present) + 1
    expect(line).to_have_text(re.compile(rf"^{count} present, .*{SAVED_AT.pattern}"), timeout=WAIT)
    found = SAVED_AT.search(line.inner_text())
    assert found and found.group(1) >= acked.saved_at, (found, acked.saved_at)
    acked.saved_at = found.group(1)
    acked.present.append(name)


def ready_phone(browser: Browser, url: str, code: str) -> tuple[BrowserContext, Page]:
    """A phone on the pulse with every question answered, not sent yet."""
    context, page = phone(browser)
    page.goto(f"{url}/pulse?code={code}")
    answer_every_question(page)
    return context, page


def send(page: Page) -> None:
    send_answers(page)


def thanked(page: Page) -> None:
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible(timeout=WAIT)


def run_until_killed(browser: Browser, server: Server, prepared: Prepared) -> Acknowledged:
    acked = Acknowledged(present=[])
    contexts: list[BrowserContext] = []
    try:
        facilitator = browser.new_context()
        contexts.append(facilitator)
        page = facilitator.new_page()
        page.goto(server.url)
        sign_in(page, server.url, "maya", DEMO_PASSWORD)
        page.goto(f"{server.url}/session")
        expect(page.get_by_role("heading", name="Run a session")).to_be_visible(timeout=WAIT)
        choose(page, "Cohort", COHORT)
        names = iter(ROSTER)

        # First burst: attendance only, one acknowledged save at a time.
        for _ in range(FIRST_BURST):
            mark_present_acknowledged(page, next(names), acked)

        # Second burst: answers and saves interleaved, each acknowledged...
        phones = []
        for _ in range(PHONES):
            context, phone_page = ready_phone(browser, server.url, prepared.code)
            contexts.append(context)
            phones.append(phone_page)
        for phone_page in phones[:-1]:
            send(phone_page)
            thanked(phone_page)
            acked.answers += 1
            mark_present_acknowledged(page, next(names), acked)

        # ...then a mark and an answer sent together, and the server killed at once.
        name = next(names)
        mark_present(page, name)
        acked.in_flight_present = name
        send(phones[-1])
        acked.in_flight_answers = 1
        time.sleep(0.05)
        server.kill()
    finally:
        server.kill()
        for context in contexts:
            context.close()
    return acked


def test_acknowledged_saves_and_answers_survive_kill_9(
    browser: Browser, prepared: Prepared
) -> None:
    server = Server(prepared.database)
    server.start()
    acked = run_until_killed(browser, server, prepared)
    assert server.process is not None and server.process.returncode == -9

    # The same file opens cleanly in a new server: health route, then a drawn page.
    again = Server(prepared.database)
    again.start()
    try:
        assert healthy(again.url)
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(again.url)
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
            sign_in(page, again.url, "maya", DEMO_PASSWORD)
            expect(page.get_by_text(COHORT).first).to_be_visible(timeout=WAIT)
        finally:
            context.close()
    finally:
        again.stop()
    init = run_program(prepared.database, "init")
    assert init.returncode == 0, init.stderr
    assert "Database ready" in init.stdout

    store = Store(prepared.database)
    try:
        ids = {m.display_name: m.id for m in store.roster(prepared.cohort_id)}
        marks = store.attendance_marks(prepared.session_id)
        present = {n for n, i in ids.items() if i in marks and marks[i].status == Mark.PRESENT}
        # Every acknowledged save is there; beyond them, at most the one in flight.
        assert set(acked.present) <= present, (acked.present, present)
        assert present - set(acked.present) <= {acked.in_flight_present}
        assert all(marks[ids[n]].status == Mark.PRESENT for n in present)

        window = store.pulse_window(prepared.session_id)
        assert window is not None and window.closed_at is None  # still open, as it was
        assert window.cap == len(ROSTER)  # opened before attendance: the active roster
        # An open pulse keeps its answers in its ballot file, none in the database.
        during = store.row_counts()
        for table in ("responses", "answers", "scores"):
            assert during[table] == prepared.before[table], table
        held = store.ballots.accepted(prepared.session_id)
        print(
            f"\n[crash] acknowledged: {len(acked.present)} present, {acked.answers} answers;"
            f" stored: {len(present)} present, {held} answers"
        )
        assert acked.answers <= held <= acked.answers + acked.in_flight_answers

        # Closing moves them in, whole: every response has all its answers and its scores.
        maya = store.staff_user_by_username("maya")
        assert maya is not None
        pulse.close_pulse(store, maya, prepared.session_id, dt.datetime.now())
        after = store.row_counts()
        responses = after["responses"] - prepared.before["responses"]
        answers = after["answers"] - prepared.before["answers"]
        assert responses == held
        assert answers == responses * prepared.items
        assert not store.ballots.exists(prepared.session_id)
    finally:
        store.close()
