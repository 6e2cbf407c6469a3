"""Single sign-on in a real browser: a local fake identity provider, a fresh server configured for it.

The server gets its own demo database (where the admin gave maya the email maya@example.org) and its
own secrets file through `--secrets.files`, so nothing is written into the repository.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import ui
from program import sso, staff
from program.store import Store
from scripts.appserver import Server, running, seed_demo
from tests.browser.fake_idp import FakeIdentityProvider
from tests.browser.steps import require_chromium

pytestmark = pytest.mark.browser

WAIT = 20_000
CLIENT_ID = "group-programs-test"
MAYA_EMAIL = "maya@example.org"


@dataclass(frozen=True)
class SsoServer:
    url: str
    idp: FakeIdentityProvider


def _give_maya_an_email(database: Path) -> None:
    """What an admin does on the admin page, through the same domain function."""
    store = Store(database)
    try:
        admin_user = store.staff_user_by_username("admin")
        maya = store.staff_user_by_username("maya")
        assert admin_user is not None and maya is not None
        staff.set_staff_email(store, admin_user, maya.id, MAYA_EMAIL)
    finally:
        store.close()


def _secrets_toml(port: int, idp: FakeIdentityProvider) -> str:
    return "\n".join(
        [
            "[auth]",
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"',
            f'cookie_secret = "{secrets.token_urlsafe(32)}"',
            f'client_id = "{idp.client_id}"',
            f'client_secret = "{idp.client_secret}"',
            f'server_metadata_url = "{idp.metadata_url}"',
            "",
        ]
    )


@pytest.fixture(scope="module")
def sso_server() -> Iterator[SsoServer]:
    """The fake identity provider and a Streamlit server using it; both stopped at the end."""
    require_chromium()
    with (
        tempfile.TemporaryDirectory(prefix="sso-browser-") as tmp,
        FakeIdentityProvider(CLIENT_ID, secrets.token_urlsafe(16), MAYA_EMAIL) as idp,
    ):
        folder = Path(tmp)
        database = folder / "db.duckdb"
        seed_demo(database)
        _give_maya_an_email(database)
        server = Server(
            database,
            # The server fetches the provider's metadata, keys and tokens itself: never via a proxy.
            extra_env={"NO_PROXY": "127.0.0.1,localhost"},
        )
        secrets_file = folder / "secrets.toml"
        secrets_file.write_text(_secrets_toml(server.port, idp))
        server.extra_args = ("--secrets.files", str(secrets_file))
        with running(server):
            yield SsoServer(server.url, idp)


def sidebar(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("stSidebar")


def sign_in_with_the_organisation(page: Page, url: str) -> None:
    page.goto(url)
    button = page.get_by_role("button", name="Sign in with your organisation")
    expect(button).to_be_visible(timeout=WAIT)
    button.click()


def test_a_staff_member_signs_in_with_the_organisation(page: Page, sso_server: SsoServer) -> None:
    sso_server.idp.email = (
        "Maya@Example.org"  # the provider's spelling; accounts match without case
    )
    sign_in_with_the_organisation(page, sso_server.url)
    expect(sidebar(page).get_by_text("Maya Facilitator")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("heading", name="Welcome, Maya Facilitator")).to_be_visible()
    cookies = {c["name"] for c in page.context.cookies()}
    assert "_streamlit_user" in cookies and "program_session" not in cookies

    # A direct URL is a new browser session: the same sign-in finds the same server-side session.
    page.goto(f"{sso_server.url}/cohorts")
    expect(page.get_by_role("heading", name="Cohorts")).to_be_visible(timeout=WAIT)
    expect(sidebar(page).get_by_text("Maya Facilitator")).to_be_visible()

    # Sign-out ends our session and Streamlit's identity cookie (st.logout).
    sidebar(page).get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
    expect(sidebar(page).get_by_text("Maya Facilitator")).to_have_count(0)
    assert not {c["name"] for c in page.context.cookies()} & {"_streamlit_user", "program_session"}
    page.goto(f"{sso_server.url}/cohorts")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("heading", name="Cohorts")).to_have_count(0)
    expect(page.get_by_text(ui.SSO_ENDED)).to_have_count(0)  # signed out there too, not just here


def test_an_unknown_email_is_refused_clearly(page: Page, sso_server: SsoServer) -> None:
    sso_server.idp.email = "stranger@example.org"
    sign_in_with_the_organisation(page, sso_server.url)
    expect(page.get_by_text(sso.NO_ACCOUNT)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Use a different account")).to_be_visible()
    expect(sidebar(page).get_by_role("link")).to_have_count(0)

    page.goto(f"{sso_server.url}/cohorts")
    expect(page.get_by_text(sso.NO_ACCOUNT)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("heading", name="Cohorts")).to_have_count(0)
    expect(page.get_by_text("Maya Facilitator")).to_have_count(0)
