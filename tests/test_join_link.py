"""The join link and QR code: the PROGRAM_BASE_URL setting when set, otherwise the address the
facilitator's browser is using, and a plain warning when that address is this computer only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from program import auth, pulse
from program.settings import Settings, get_settings
from program.store import Store
from tests.factories import pulses
from tests.factories.pages import app_test
from tests.factories.pulses import FACILITATOR, Group

LAN = "http://192.168.1.20:8501"
WARNING = (
    "Phones cannot reach this address. Set PROGRAM_BASE_URL to this computer's address on your"
    " network (see the README: Trying the pulse with real phones)."
)


# --------------------------------------------------------------------------- the address


def test_the_setting_wins_over_what_the_browser_uses() -> None:
    assert pulse.base_address("https://programs.example.org/", f"{LAN}/session") == (
        "https://programs.example.org"
    )


def test_without_the_setting_the_browsers_scheme_host_and_port_are_used() -> None:
    assert pulse.base_address("", "http://192.168.1.20:8600/session?tab=Pulse#x") == (
        "http://192.168.1.20:8600"
    )
    assert pulse.base_address("", "HTTPS://Programs.Example.org/session") == (
        "https://programs.example.org"
    )
    assert pulse.base_address("", "http://[fe80::1]:8501/") == "http://[fe80::1]:8501"


def test_the_first_usable_address_the_browser_gave_is_used() -> None:
    assert pulse.base_address("", None, LAN) == LAN
    assert pulse.base_address("", "", "null", LAN) == LAN
    assert pulse.base_address("", None, None) is None


@pytest.mark.parametrize(
    "reported",
    [
        "javascript:alert(1)",
        "ftp://192.168.1.20/",
        'http://evil.test"><img src=x>/',
        "http://user:secret@192.168.1.20:8501/",
        "http:///pulse",
        "192.168.1.20:8501",
        "http://a b/",
    ],
)
def test_an_address_that_is_not_plain_http_is_not_used(reported: str) -> None:
    assert pulse.base_address("", reported) is None


def test_a_join_link_is_the_pulse_page_with_the_code() -> None:
    assert pulse.join_link(LAN, "ABCDEFGH") == f"{LAN}/pulse?code=ABCDEFGH"
    assert pulse.join_link(f"{LAN}/", "ABCDEFGH") == f"{LAN}/pulse?code=ABCDEFGH"
    assert pulse.pulse_address("https://example.org/groups") == "https://example.org/groups/pulse"


def test_the_short_address_drops_only_https() -> None:
    assert pulse.short_address("https://programs.example.org") == "programs.example.org/pulse"
    assert pulse.short_address(LAN) == f"{LAN}/pulse"


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:8501",
        "http://127.0.1.1:8600",
        "http://localhost:8501",
        "http://LOCALHOST",
        "http://app.localhost:8501",
        "http://[::1]:8501",
        "http://0.0.0.0:8501",
    ],
)
def test_addresses_of_this_computer_only_are_unreachable_from_phones(base: str) -> None:
    assert pulse.phones_cannot_reach(base)


@pytest.mark.parametrize(
    "base",
    [LAN, "http://10.0.0.5:8600", "https://programs.example.org", "http://[fe80::1]:8501"],
)
def test_network_addresses_are_reachable(base: str) -> None:
    assert not pulse.phones_cannot_reach(base)


def test_the_setting_is_empty_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROGRAM_BASE_URL", raising=False)
    assert Settings().base_url == ""


def test_the_setting_loses_a_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROGRAM_BASE_URL", " https://programs.example.org/ ")
    assert Settings().base_url == "https://programs.example.org"


@pytest.mark.parametrize("value", ["192.168.1.20:8501", "programs.example.org", "ftp://x.org"])
def test_the_setting_must_be_an_http_address(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PROGRAM_BASE_URL", value)
    with pytest.raises(ValidationError, match="must be empty or an address starting with http"):
        Settings()


# --------------------------------------------------------------------------- the sign-in cookie


# One pulse-ready database per process, copied for each test (tests/factories/pulses.py).
template = pulses.template
store = pulses.store
group = pulses.group


def signin_cookie(
    store: Store, monkeypatch: pytest.MonkeyPatch, address: str, base_url: str
) -> str:
    """The Set-Cookie header of a successful sign-in posted to `address`."""
    import routes
    import ui

    monkeypatch.setenv("PROGRAM_BASE_URL", base_url)
    get_settings.cache_clear()
    monkeypatch.setattr(ui, "store", lambda: store)
    app = Starlette(routes=routes.ROUTES)
    with TestClient(app, base_url=address, follow_redirects=False) as http:
        reply = http.post(
            "/auth/signin",
            data={"username": FACILITATOR, "password": "correct horse battery", "next": "/"},
            headers={"sec-fetch-site": "same-origin"},
        )
    assert reply.status_code == 303
    (cookie,) = [c for c in reply.headers.get_list("set-cookie") if auth.COOKIE_NAME in c]
    return cookie


@pytest.mark.filterwarnings("ignore:Using `httpx`")
@pytest.mark.parametrize(
    ("address", "base_url", "secure"),
    [
        ("https://programs.example.org", "", True),
        ("http://192.168.1.20:8501", "", False),
        ("http://127.0.0.1:8501", "https://programs.example.org", True),
        ("https://programs.example.org", "http://192.168.1.20:8501", False),
    ],
)
def test_the_signin_cookie_is_secure_when_the_apps_address_is_https(
    store: Store, monkeypatch: pytest.MonkeyPatch, address: str, base_url: str, secure: bool
) -> None:
    cookie = signin_cookie(store, monkeypatch, address, base_url)
    assert ("; secure" in cookie.lower()) is secure


# --------------------------------------------------------------------------- the Pulse tab


def pulse_tab(
    store: Store,
    group: Group,
    monkeypatch: pytest.MonkeyPatch,
    browser_url: str | None,
    base_url: str = "",
) -> tuple[AppTest, list[str]]:
    """The session page with its pulse opened, as a browser at `browser_url` sees it; and the
    links the QR codes on it hold."""
    monkeypatch.setenv("PROGRAM_BASE_URL", base_url)
    get_settings.cache_clear()
    drawn: list[str] = []
    real_qr_png = pulse.qr_png

    def qr_png(link: str, scale: int = 10) -> bytes:
        drawn.append(link)
        return real_qr_png(link, scale)

    monkeypatch.setattr(pulse, "qr_png", qr_png)
    at = app_test("pages/session.py", store, group.facilitator)
    if browser_url is not None:
        at.context["url"] = browser_url
    at.run()
    (opener,) = [b for b in at.button if b.label == "Open the pulse"]
    at = opener.click().run()
    assert not at.exception
    return at, drawn


def tab_markdown(at: AppTest) -> str:
    (tab,) = [t for t in at.tabs if t.label == "Pulse"]
    return "\n".join(m.value for m in tab.markdown)


def warnings(at: AppTest) -> list[str]:
    (tab,) = [t for t in at.tabs if t.label == "Pulse"]
    return [w.value for w in tab.warning]


def room_code(store: Store, group: Group) -> str:
    window = store.pulse_window(group.session_id)
    assert window is not None and window.room_code is not None
    return window.room_code


def test_the_link_and_qr_code_use_the_setting_when_it_is_set(
    store: Store, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    at, drawn = pulse_tab(
        store, group, monkeypatch, "http://127.0.0.1:8600/session", "http://10.0.0.5:8600"
    )
    code = room_code(store, group)
    assert drawn[-1] == f"http://10.0.0.5:8600/pulse?code={code}"
    assert "or go to **http://10.0.0.5:8600/pulse** and type the code." in tab_markdown(at)
    assert not any(WARNING in w for w in warnings(at))


def test_without_the_setting_the_link_follows_the_browsers_address(
    store: Store, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    at, drawn = pulse_tab(store, group, monkeypatch, "http://192.168.1.20:8600/session")
    code = room_code(store, group)
    assert drawn[-1] == f"http://192.168.1.20:8600/pulse?code={code}"
    assert "or go to **http://192.168.1.20:8600/pulse** and type the code." in tab_markdown(at)
    assert not any(WARNING in w for w in warnings(at))


@pytest.mark.parametrize(
    ("browser_url", "base_url", "shown"),
    [
        ("http://127.0.0.1:8600/session", "", "http://127.0.0.1:8600"),
        ("http://localhost:8501/session", "", "http://localhost:8501"),
        ("http://[::1]:8501/session", "", "http://[::1]:8501"),
        (f"{LAN}/session", "http://127.0.0.1:8501", "http://127.0.0.1:8501"),
        (None, "", "http://localhost:"),  # no address reported at all
    ],
)
def test_the_pulse_tab_warns_when_phones_cannot_reach_the_address(
    store: Store,
    group: Group,
    monkeypatch: pytest.MonkeyPatch,
    browser_url: str | None,
    base_url: str,
    shown: str,
) -> None:
    at, drawn = pulse_tab(store, group, monkeypatch, browser_url, base_url)
    (warning,) = [w for w in warnings(at) if WARNING in w]
    assert f"Join links start with `{shown}" in warning
    assert drawn[-1].startswith(shown)


def test_the_warning_shows_before_the_pulse_opens_and_not_after_it_closed(
    store: Store, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROGRAM_BASE_URL", raising=False)
    at = app_test("pages/session.py", store, group.facilitator)
    at.context["url"] = "http://127.0.0.1:8501/session"
    at.run()
    assert any(WARNING in w for w in warnings(at))
    (opener,) = [b for b in at.button if b.label == "Open the pulse"]
    at = opener.click().run()
    (confirm,) = [c for c in at.checkbox if c.label == "Everyone who wants to answer has answered"]
    at = confirm.check().run()
    (close,) = [b for b in at.button if b.label == "Close the pulse"]
    at = close.click().run()
    assert not at.exception
    assert not any(WARNING in w for w in warnings(at))


def test_cards_carry_the_same_address_as_the_room_code(
    store: Store, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    at, _ = pulse_tab(store, group, monkeypatch, "http://192.168.1.20:8600/session")
    links: list[str] = []
    real_qr_svg = pulse.qr_svg

    def qr_svg(link: str, scale: int = 3, *, scalable: bool = False) -> str:
        links.append(link)
        return real_qr_svg(link, scale, scalable=scalable)

    monkeypatch.setattr("program.cards.qr_svg", qr_svg)  # the card sheet draws each card's code
    (make,) = [b for b in at.button if b.label == "Make cards"]
    make.click().run()
    assert len(links) == pulse.default_card_count(store, group.facilitator, group.session_id)
    assert all(link.startswith("http://192.168.1.20:8600/pulse?code=") for link in links)
