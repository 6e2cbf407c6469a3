"""The several-replica recipe of docs/deploy.md, in a real browser: PostgreSQL, two app processes
and nginx in front, started by `scripts/replicas.py` exactly as the document says.

Six phones (each a browser of its own, so nginx may send each to either process) answer a pulse
Maya opened; a facilitator and a lead use their pages while their browser is moved from one
process to the other (the routing cookie dropped between visits), and stay signed in, since
every process checks cookies with the same secret against sign-ins kept in the shared database.
At close, every answer is there, whichever process took it.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from program import demo, pulse
from program.demo import DEMO_PASSWORD
from program.settings import get_settings
from program.store import Store
from scripts import postgres_cluster, replicas
from tests.browser.steps import (
    WAIT,
    answer_every_question,
    phone,
    require_chromium,
    send_answers,
    sign_in,
)

pytestmark = pytest.mark.browser

PHONES = 6


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The proxy's address and the database's URL, with everything stopped afterwards."""
    require_chromium()
    if not Path(replicas.NGINX).exists():
        pytest.skip(f"{replicas.NGINX} is missing: apt-get install -y nginx")
    folder = tmp_path_factory.mktemp("replicas")
    folder.chmod(0o755)
    try:
        address = replicas.start(folder, 2, postgres_cluster.free_port(), None, demo=True)
        yield address, postgres_cluster.url(int((folder / "postgres" / "port").read_text()))
    finally:
        replicas.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def todays_session(s: Store) -> int:
    cohort = next(c for c in s.cohorts() if c.name == demo.TODAYS_COHORT)
    today = dt.date.today()
    return next(x.id for x in s.sessions(cohort.id) if x.scheduled_date == today)


def move_to_another_replica(page: Page) -> None:
    """Forget the routing cookie: the next request is routed afresh, maybe elsewhere."""
    page.context.clear_cookies(name=replicas.ROUTE_COOKIE)


def test_phones_answer_through_the_proxy_and_every_answer_counts(
    proxy: tuple[str, str], browser: Browser
) -> None:
    address, database = proxy
    s = Store(database)
    try:
        maya = s.staff_user_by_username("maya")
        assert maya is not None
        session_id = todays_session(s)
        window = pulse.open_pulse(s, get_settings(), maya, session_id, dt.datetime.now())
        assert window.room_code is not None
        routes = set()
        for _ in range(PHONES):
            context, page = phone(browser)
            try:
                page.goto(f"{address}/pulse?code={window.room_code}")
                answer_every_question(page)
                send_answers(page)
                expect(page.get_by_text(re.compile("Thank you"))).to_be_visible(timeout=WAIT)
                routes |= {
                    c["value"] for c in context.cookies() if c["name"] == replicas.ROUTE_COOKIE
                }
            finally:
                context.close()
        assert len(routes) == PHONES  # each phone was routed on its own
        pulse.close_pulse(s, maya, session_id, dt.datetime.now())
        (row,) = s._rows("SELECT count(*) FROM responses WHERE session_id = ?", [session_id])
        assert row[0] == PHONES
    finally:
        s.close()


@pytest.mark.parametrize(
    ("username", "path", "heading"),
    [("maya", "/session", "Run a session"), ("lead", "/program_dashboard", "Program dashboard")],
)
def test_staff_stay_signed_in_whichever_replica_answers(
    proxy: tuple[str, str], page: Page, username: str, path: str, heading: str
) -> None:
    address, _ = proxy
    page.goto(address)
    sign_in(page, address, username, DEMO_PASSWORD)
    for _ in range(4):
        move_to_another_replica(page)
        page.goto(f"{address}{path}")
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible(timeout=WAIT)
        expect(
            page.get_by_test_id("stSidebar").get_by_text(re.compile(r"\w+ (Lead|Facilitator)"))
        ).to_be_visible(timeout=WAIT)
