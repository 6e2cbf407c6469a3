"""Single sign-on: mapping an identity to a staff account, the session one sign-in opens, the screen.

The identity provider itself is exercised in tests/browser/test_sso.py (AppTest cannot drive
st.login); here `at.user` stands in for the claims st.user holds after it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import ui
from program import auth, sso, staff
from program.errors import AccessDenied
from program.models import Actor, Role, StaffUser
from program.settings import Settings, get_settings
from program.staff import create_user
from program.store import Store
from tests.factories.pages import app_test

T0 = dt.datetime(2026, 3, 2, 10, 0)
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-some-length",
    "client_id": "group-programs",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def admin_user(store: Store) -> StaffUser:
    return create_user(
        store, Actor.system(), "admin", "Alex Admin", Role.ADMIN, "correct horse battery"
    )


@pytest.fixture
def maya(store: Store, admin_user: StaffUser) -> StaffUser:
    return staff.create_staff(
        store, admin_user, "maya", "Maya Facilitator", Role.FACILITATOR, None, "maya@example.org"
    )


def identity(
    email: str | None = "maya@example.org",
    *,
    verified: bool | None = True,
    issued: dt.datetime = T0,
    nonce: str = "n-1",
) -> sso.Identity:
    return sso.Identity(
        issuer="https://idp.example.org",
        subject="subject-maya",
        email=email,
        email_verified=verified,
        issued_at=issued,
        nonce=nonce,
    )


def audit_actions(store: Store) -> list[str]:
    return [e.action for e in store.audit_events()]


# --------------------------------------------------------------------------- staff_for_identity


def test_an_active_account_with_the_email_is_found(store, maya):
    assert sso.staff_for_identity(store, "maya@example.org", True) == maya


def test_the_email_is_compared_without_case_or_spaces(store, maya):
    assert sso.staff_for_identity(store, "  Maya@EXAMPLE.org ", True) == maya


def test_a_provider_that_does_not_say_whether_it_verified_is_accepted(store, maya):
    assert sso.staff_for_identity(store, "maya@example.org", None) == maya


def test_an_unknown_email_is_refused_with_what_to_do(store, maya):
    with pytest.raises(AccessDenied) as refused:
        sso.staff_for_identity(store, "stranger@example.org", True)
    assert str(refused.value) == "No active staff account uses this email; ask an admin to add it."


def test_a_deactivated_account_is_refused_like_an_unknown_one(store, admin_user, maya):
    staff.deactivate_staff(store, admin_user, maya.id)
    with pytest.raises(AccessDenied) as refused:
        sso.staff_for_identity(store, "maya@example.org", True)
    assert str(refused.value) == sso.NO_ACCOUNT


def test_an_email_the_provider_has_not_verified_is_refused(store, maya):
    with pytest.raises(AccessDenied) as refused:
        sso.staff_for_identity(store, "maya@example.org", False)
    assert "not verified" in str(refused.value)


def test_an_identity_without_email_is_refused(store, maya):
    with pytest.raises(AccessDenied) as refused:
        sso.staff_for_identity(store, None, True)
    assert str(refused.value) == sso.NO_EMAIL


def test_claims_are_read_including_string_booleans():
    claims: dict[str, Any] = {
        "iss": "https://idp.example.org",
        "sub": "s",
        "email": " Maya@Example.org ",
        "email_verified": "false",
        "iat": int(T0.timestamp()),
        "nonce": "n",
        "is_logged_in": True,
    }
    read = sso.Identity.from_claims(claims)
    assert read.email == "Maya@Example.org"
    assert read.email_verified is False
    assert read.issued_at == T0
    assert sso.Identity.from_claims({**claims, "email_verified": True}).email_verified is True
    assert sso.Identity.from_claims({"sub": "s"}).email_verified is None


# --------------------------------------------------------------------------- sessions


def test_a_fresh_sign_in_opens_a_session_and_is_audited(store, settings, maya):
    token = sso.sign_in(store, settings, identity(), at=T0 + dt.timedelta(minutes=1))
    assert auth.resolve_signin(store, settings, token, at=T0 + dt.timedelta(minutes=1)) == maya
    assert audit_actions(store).count("sign in (single sign-on)") == 1
    event = next(e for e in store.audit_events() if e.action == "sign in (single sign-on)")
    assert event.actor == "maya" and "maya@example.org" in event.detail


def test_the_same_sign_in_finds_the_same_session_on_every_reload(store, settings, maya):
    first = sso.sign_in(store, settings, identity(), at=T0)
    again = sso.sign_in(store, settings, identity(), at=T0 + dt.timedelta(hours=3))
    assert again == first
    assert audit_actions(store).count("sign in (single sign-on)") == 1


def test_a_session_that_ended_stays_ended_until_a_new_sign_in(store, settings, maya):
    token = sso.sign_in(store, settings, identity(), at=T0)
    auth.sign_out(store, maya, token)
    same = sso.sign_in(store, settings, identity(), at=T0 + dt.timedelta(minutes=1))
    assert auth.resolve_signin(store, settings, same, at=T0 + dt.timedelta(minutes=1)) is None
    later = T0 + dt.timedelta(hours=1)
    fresh = sso.sign_in(store, settings, identity(issued=later, nonce="n-2"), at=later)
    assert fresh != token
    assert auth.resolve_signin(store, settings, fresh, at=later) == maya


def test_sign_out_everywhere_is_not_undone_by_the_identity_cookie(
    store, settings, admin_user, maya
):
    token = sso.sign_in(store, settings, identity(), at=T0)
    store.end_all_signins(Actor(user_id=admin_user.id, name="admin"), maya.id)
    again = sso.sign_in(store, settings, identity(), at=T0 + dt.timedelta(minutes=2))
    assert again == token
    assert auth.resolve_signin(store, settings, again, at=T0 + dt.timedelta(minutes=2)) is None


def test_a_stale_sign_in_opens_no_new_session(store, settings, maya):
    with pytest.raises(AccessDenied) as refused:
        sso.sign_in(store, settings, identity(), at=T0 + sso.FRESH_FOR + dt.timedelta(seconds=1))
    assert str(refused.value) == sso.STALE
    assert "sign in (single sign-on)" not in audit_actions(store)


def test_a_sign_in_issued_in_the_future_beyond_clock_skew_is_refused(store, settings, maya):
    future = T0 + sso.CLOCK_SKEW + dt.timedelta(seconds=1)
    with pytest.raises(AccessDenied):
        sso.sign_in(store, settings, identity(issued=future), at=T0)


def test_an_unknown_email_opens_no_session(store, settings, maya):
    with pytest.raises(AccessDenied) as refused:
        sso.sign_in(store, settings, identity("stranger@example.org"), at=T0)
    assert str(refused.value) == sso.NO_ACCOUNT
    assert store.open_signin_counts() == {}


def test_the_signin_token_depends_on_the_secret(store, maya, monkeypatch):
    one = sso.signin_token(get_settings(), identity())
    monkeypatch.setenv("PROGRAM_SESSION_SECRET", "another-secret-entirely")
    get_settings.cache_clear()
    assert sso.signin_token(get_settings(), identity()) != one


# --------------------------------------------------------------------------- the screen (AppTest)


def claims(email: str, issued: dt.datetime | None = None) -> dict[str, Any]:
    issued = issued or dt.datetime.now().replace(microsecond=0)
    return {
        "is_logged_in": True,
        "iss": "https://idp.example.org",
        "sub": f"subject-{email}",
        "email": email,
        "email_verified": True,
        "iat": int(issued.timestamp()),
        "nonce": "n-1",
    }


def sso_app(store: Store, path: str = "home.py", user: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    at = app_test(path, store)
    at.secrets = {"auth": AUTH}
    if user is not None:
        at.user = user
    return at


def buttons(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.label for b in at.button]


def test_without_auth_secrets_there_is_no_organisation_button(store):
    at = app_test("home.py", store)
    at.run()
    assert not at.exception
    assert "Sign in with your organisation" not in buttons(at)


def test_with_auth_secrets_the_signin_screen_offers_the_organisation(store):
    at = sso_app(store)
    at.run()
    assert not at.exception
    assert "Sign in with your organisation" in buttons(at)
    assert [t.value for t in at.title] == ["Sign in"]


def test_named_providers_get_one_button_each(store):
    at = app_test("home.py", store)
    section = {k: AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    at.secrets = {"auth": {**section, "staff": provider, "partners": provider}}
    at.run()
    assert [b for b in buttons(at) if b.startswith("Sign in with")] == [
        "Sign in with your organisation (partners)",
        "Sign in with your organisation (staff)",
    ]


def test_a_mapped_identity_is_signed_in_and_signs_out_with_st_logout(store, maya):
    at = sso_app(store, user=claims("Maya@example.org"))
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Welcome, Maya Facilitator"]
    assert "sign in (single sign-on)" in audit_actions(store)
    token = at.session_state[ui.TOKEN_KEY]
    at.sidebar.button(key="sso_sign_out").click().run()
    assert store.open_signin_counts() == {}
    assert auth.resolve_signin(store, get_settings(), token) is None
    assert at.user.get("is_logged_in") is False  # st.logout() ran


def test_an_unknown_email_gets_the_refusal_and_no_staff_content(store, maya):
    at = sso_app(store, "pages/cohorts.py", user=claims("stranger@example.org"))
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert [e.value for e in at.error] == [sso.NO_ACCOUNT]
    assert "Use a different account" in buttons(at)
    assert not at.sidebar.markdown


def test_an_ended_session_is_not_reopened_by_a_reload(store, maya):
    user = claims("maya@example.org")
    at = sso_app(store, user=user)
    at.run()
    token = at.session_state[ui.TOKEN_KEY]
    auth.sign_out(store, maya, token)
    reloaded = sso_app(store, user=user)  # a new browser session with the same identity cookie
    reloaded.run()
    assert [t.value for t in reloaded.title] == ["Sign in"]
    assert [e.value for e in reloaded.error] == [ui.SSO_ENDED]
