"""The projector view of a session's pulse (projector.py, /pulse/show?session=<id>): only the
cohort's facilitators see it, and it shows the room code, the QR code and the address, nothing
else."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

import projector
import routes
from headers import HEADERS, SecurityHeaders
from program import auth, pulse
from program.models import Role, StaffUser
from program.settings import get_settings
from program.store import Store
from tests.factories.pages import app_test
from tests.factories.pulses import NAMES, Group, build_template, make_group, staff

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

LAN = "http://192.168.1.20:8501"
COHORT = "Northside Tuesday circle"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("projector-template"))


@pytest.fixture
def store(settings_env: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    shutil.copyfile(template, settings_env)
    monkeypatch.delenv("PROGRAM_BASE_URL", raising=False)
    get_settings.cache_clear()
    s = Store(settings_env)
    import ui

    monkeypatch.setattr(ui, "store", lambda: s)
    yield s
    s.close()


@pytest.fixture
def group(store: Store) -> Group:
    return make_group(store, name=COHORT)


def now() -> dt.datetime:
    return dt.datetime.now()  # the route uses the wall clock


APP = Starlette(routes=[projector.ROUTE], middleware=[Middleware(SecurityHeaders)])


def show(
    session_id: int | str, user: StaffUser | None = None, address: str = LAN
) -> tuple[int, str, dict[str, str]]:
    """GET the projector view as `user` (signed in with the cookie) or as a guest."""
    cookies = {}
    if user is not None:
        token = auth.start_signin(ui_store(), user)
        cookies[auth.COOKIE_NAME] = auth.sign_cookie(token, auth.session_secret(get_settings()))
    with TestClient(APP, base_url=address, cookies=cookies) as http:
        reply = http.get(f"/pulse/show?session={session_id}")
    return reply.status_code, reply.text, dict(reply.headers)


def ui_store() -> Store:
    import ui

    return ui.store()


class Text(HTMLParser):
    """The words a viewer sees: text outside <style>, <script> and <title>, one entry per text
    node."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style", "script", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script", "title")

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skip:
            self.words.append(text)


def visible(html: str) -> list[str]:
    parser = Text()
    parser.feed(html.replace("<wbr>", ""))  # a place a long address may break, not a gap
    return parser.words


def refreshes(html: str) -> bool:
    """Follows the pulse: fetching itself with script, a meta refresh without (in <noscript>)."""
    return (
        '<noscript><meta http-equiv="refresh" content="30"></noscript>' in html
        and "setInterval(" in html
    )


# --------------------------------------------------------------------------- who may see it


def test_a_guest_is_refused_and_told_to_sign_in(store: Store, group: Group) -> None:
    code = group.open(at=now())
    status, html, headers = show(group.session_id)
    assert status == 403
    assert pulse.format_code(code) not in html and "<svg" not in html
    assert "Sign in first" in html
    assert not refreshes(html)
    assert headers["cache-control"] == "no-store"


def test_a_forged_cookie_is_a_guest(store: Store, group: Group) -> None:
    group.open(at=now())
    with TestClient(
        APP, base_url=LAN, cookies={auth.COOKIE_NAME: "made-up-token.bad-signature"}
    ) as http:
        reply = http.get(f"/pulse/show?session={group.session_id}")
    assert reply.status_code == 403 and "<svg" not in reply.text


@pytest.mark.parametrize("role", [Role.FACILITATOR, Role.LEAD, Role.ADMIN])
def test_staff_who_do_not_facilitate_the_cohort_are_refused(
    store: Store, group: Group, role: Role
) -> None:
    code = group.open(at=now())
    other = staff(store, f"other-{role.value}", role)
    status, html, headers = show(group.session_id, other)
    assert status == 403
    assert pulse.format_code(code) not in html and "<svg" not in html
    assert visible(html) == [projector.NOT_YOURS]
    assert headers["cache-control"] == "no-store"


def test_a_facilitator_of_another_cohort_is_refused(store: Store, group: Group) -> None:
    other = staff(store, "sam", Role.FACILITATOR)
    make_group(store, name="Sam's cohort", facilitator=other)
    code = group.open(at=now())
    status, html, _ = show(group.session_id, other)
    assert status == 403 and pulse.format_code(code) not in html


@pytest.mark.parametrize("session", ["999999", "abc", "", "1 OR 1=1", "9" * 40])
def test_an_unknown_or_malformed_session_reads_like_someone_elses(
    store: Store, group: Group, session: str
) -> None:
    status, html, _ = show(session, group.facilitator)
    assert status == 403
    assert visible(html) == [projector.NOT_YOURS]


def test_a_session_that_ended_is_a_guest(store: Store, group: Group) -> None:
    group.open(at=now())
    token = auth.start_signin(store, group.facilitator)
    auth.sign_out(store, group.facilitator, token)
    cookie = auth.sign_cookie(token, auth.session_secret(get_settings()))
    with TestClient(APP, base_url=LAN, cookies={auth.COOKIE_NAME: cookie}) as http:
        reply = http.get(f"/pulse/show?session={group.session_id}")
    assert reply.status_code == 403 and "Sign in first" in reply.text


# --------------------------------------------------------------------------- what it shows


def test_the_cohorts_facilitator_sees_the_code_the_qr_code_and_the_address(
    store: Store, group: Group
) -> None:
    code = group.open(at=now())
    status, html, headers = show(group.session_id, group.facilitator)
    assert status == 200
    assert visible(html) == [
        "Answer today's pulse",
        "Scan the QR code, or go to",
        f"{LAN}/pulse",
        "and type the code",
        pulse.format_code(code),
    ]
    # The QR code is the join link with the room code, drawn inline.
    assert html.count("<svg") == 1
    assert pulse.qr_svg(pulse.join_link(LAN, code), scalable=True) in html
    assert refreshes(html)
    assert headers["cache-control"] == "no-store"
    assert re.search(r"<title>Today's pulse</title>", html)


def test_the_page_names_no_one(store: Store, group: Group) -> None:
    group.open(at=now())
    _, html, _ = show(group.session_id, group.facilitator)
    session = store.session(group.session_id)
    bundle = store.curriculum_bundle(store.cohort(group.cohort_id).curriculum_version_id)
    (guide,) = [s for s in bundle.curriculum.sessions if s.number == session.number]
    for name in [
        COHORT,
        f"Program {COHORT}",
        group.facilitator.display_name,
        group.facilitator.username,
        guide.title,
        *NAMES[:8],
    ]:
        assert name not in html, name
    assert "answered" not in html.lower() and "responses" not in html.lower()


def test_the_address_follows_the_setting_when_it_is_set(
    store: Store, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROGRAM_BASE_URL", "https://programs.example.org")
    get_settings.cache_clear()
    code = group.open(at=now())
    _, html, _ = show(group.session_id, group.facilitator, address="http://127.0.0.1:8501")
    assert "programs.example.org/pulse" in visible(html)
    assert (
        pulse.qr_svg(pulse.join_link("https://programs.example.org", code), scalable=True) in html
    )


def test_a_strange_host_header_is_not_shown(store: Store, group: Group) -> None:
    code = group.open(at=now())
    token = auth.start_signin(store, group.facilitator)
    cookie = auth.sign_cookie(token, auth.session_secret(get_settings()))
    with TestClient(APP, base_url=LAN, cookies={auth.COOKIE_NAME: cookie}) as http:
        reply = http.get(
            f"/pulse/show?session={group.session_id}", headers={"host": 'x"><script>y'}
        )
    assert reply.status_code == 200
    assert "<script>y" not in reply.text and 'x">' not in reply.text
    assert pulse.format_code(code) in reply.text


def test_cards_only_says_to_use_the_card_and_shows_no_room_code(store: Store, group: Group) -> None:
    code = group.open(at=now())
    pulse.make_cards(store, group.facilitator, group.session_id, 3, now())  # room code goes off
    status, html, _ = show(group.session_id, group.facilitator)
    assert status == 200
    assert pulse.format_code(code) not in html and code not in html
    assert "<svg" not in html
    words = " ".join(visible(html))
    assert words == (
        f"Answer today's pulse Answer with your card: go to {LAN}/pulse and type the code"
        " printed on your card"
    )
    assert refreshes(html)


def test_switching_the_room_code_back_on_shows_it_again(store: Store, group: Group) -> None:
    code = group.open(at=now())
    pulse.make_cards(store, group.facilitator, group.session_id, 3, now())
    pulse.set_room_code(store, group.facilitator, group.session_id, True, now())
    _, html, _ = show(group.session_id, group.facilitator)
    assert pulse.format_code(code) in visible(html)


def test_a_closed_pulse_thanks_the_room_and_stops_refreshing(store: Store, group: Group) -> None:
    code = group.open(at=now())
    pulse.close_pulse(store, group.facilitator, group.session_id, now())
    status, html, headers = show(group.session_id, group.facilitator)
    assert status == 200
    assert visible(html) == ["The pulse has closed. Thank you."]
    assert pulse.format_code(code) not in html and "<svg" not in html
    assert not refreshes(html)
    assert headers["cache-control"] == "no-store"


def test_a_pulse_past_its_closing_time_shows_as_closed(store: Store, group: Group) -> None:
    hours = get_settings().pulse_auto_close_hours
    group.open(at=now() - dt.timedelta(hours=hours, minutes=1))
    _, html, _ = show(group.session_id, group.facilitator)
    assert visible(html) == ["The pulse has closed. Thank you."]


def test_before_the_pulse_opens_the_page_waits_for_it(store: Store, group: Group) -> None:
    status, html, _ = show(group.session_id, group.facilitator)
    assert status == 200
    assert visible(html) == ["The pulse is not open yet."]
    assert refreshes(html)  # and shows the code by itself once it opens
    code = group.open(at=now())
    _, html, _ = show(group.session_id, group.facilitator)
    assert pulse.format_code(code) in visible(html)


def test_the_page_carries_the_security_headers_and_loads_nothing(
    store: Store, group: Group
) -> None:
    group.open(at=now())
    _, html, headers = show(group.session_id, group.facilitator)
    for name, value in HEADERS.items():
        assert headers[name.lower()] == value
    # Nothing to fetch from elsewhere: no script, stylesheet or image by address, no link; its one
    # inline script fetches only the page itself.
    assert "<script src" not in html and "<link" not in html and "<img" not in html
    assert "fetch(location.href" in html
    assert not re.search(r"(?:src|href)=", html)
    # The inline style sheet is what the policy's style-src 'unsafe-inline' allows.
    assert "style-src 'self' 'unsafe-inline'" in HEADERS["Content-Security-Policy"]


def test_the_app_serves_the_projector_view() -> None:
    assert projector.ROUTE in routes.ROUTES


# --------------------------------------------------------------------------- the runner's link


def test_the_pulse_tab_links_to_the_projector_view_and_keeps_close(
    store: Store, group: Group
) -> None:
    at = app_test("pages/session.py", store, group.facilitator)
    at.context["url"] = f"{LAN}/session"
    at.run()
    assert not [b for b in at.link_button if b.label == "Show on the projector"]
    (opener,) = [b for b in at.button if b.label == "Open the pulse"]
    at = opener.click().run()
    assert not at.exception
    (link,) = [b for b in at.link_button if b.label == "Show on the projector"]
    window = store.pulse_window(group.session_id)
    assert window is not None
    key = pulse.projector_key(auth.session_secret(get_settings()), window)
    assert link.proto.url == f"/pulse/show?session={group.session_id}&lang=en&key={key}"
    # The runner keeps its own controls: closing is still here.
    assert [b.label for b in at.button if b.label == "Close the pulse"] == ["Close the pulse"]


def test_the_key_in_the_runners_link_opens_the_view_without_a_cookie(
    store: Store, group: Group
) -> None:
    """Staff signed in with their organisation have no cookie of ours: the link's key is enough,
    for this opening of this pulse only."""
    group.open(at=dt.datetime.now())
    window = store.pulse_window(group.session_id)
    assert window is not None
    key = pulse.projector_key(auth.session_secret(get_settings()), window)
    with TestClient(APP, base_url=LAN) as http:
        ok = http.get("/pulse/show", params={"session": group.session_id, "key": key})
        assert ok.status_code == 200
        assert pulse.format_code(window.room_code or "") in ok.text
        for wrong in (key[:-1] + ("0" if key[-1] != "0" else "1"), "", "x" * 32):
            refused = http.get("/pulse/show", params={"session": group.session_id, "key": wrong})
            assert refused.status_code == 403
            assert pulse.format_code(window.room_code or "") not in refused.text
        other = group.session(2)
        group.open(other, at=dt.datetime.now())
        elsewhere = http.get("/pulse/show", params={"session": other, "key": key})
        assert elsewhere.status_code == 403
