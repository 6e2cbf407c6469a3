"""Staff sign-in: passwords, the pause after repeated failures, idle timeout, sign-out, cookies."""

from __future__ import annotations

import datetime as dt

import pytest

from program import auth
from program.errors import AccessDenied
from program.models import Role
from program.settings import Settings, get_settings
from program.store import Store

PASSWORD = "correct horse battery"
GENERIC = "That username and password do not match an active account."
T0 = dt.datetime(2026, 3, 2, 10, 0)


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def maya(make_staff):  # type: ignore[no-untyped-def]
    return make_staff("maya", Role.FACILITATOR, PASSWORD)


def revoked(store: Store, token: str) -> bool:
    found = store.staff_session(auth.token_hash(token))
    assert found is not None
    return found[2]


def audit_actions(store: Store) -> list[str]:
    return [e.action for e in store.audit_events()]


# --------------------------------------------------------------------------- passwords


def test_sign_in_returns_a_token_that_resolves_to_the_user(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    user = auth.resolve_session(store, settings, token, at=T0)
    assert user is not None
    assert user.id == maya.id and user.username == "maya"
    assert "sign in" in audit_actions(store)


def test_the_username_is_matched_ignoring_case_and_spaces(store, settings, maya):
    token = auth.sign_in(store, settings, "  Maya ", PASSWORD, at=T0)
    assert auth.resolve_session(store, settings, token, at=T0) == maya


def test_each_sign_in_gets_its_own_token(store, settings, maya):
    first = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    second = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    assert first != second
    assert auth.resolve_session(store, settings, first, at=T0) == maya
    assert auth.resolve_session(store, settings, second, at=T0) == maya


def test_wrong_password_is_refused_with_the_generic_message(store, settings, maya):
    with pytest.raises(AccessDenied) as refused:
        auth.sign_in(store, settings, "maya", "not the password", at=T0)
    assert str(refused.value) == GENERIC
    assert "sign in" not in audit_actions(store)


def test_unknown_user_gets_the_same_message(store, settings, maya):
    with pytest.raises(AccessDenied) as refused:
        auth.sign_in(store, settings, "nobody", PASSWORD, at=T0)
    assert str(refused.value) == GENERIC


def test_unknown_token_resolves_to_no_one(store, settings, maya):
    assert auth.resolve_session(store, settings, "made-up-token", at=T0) is None


# --------------------------------------------------------------------------- the pause


def fail(store: Store, settings: Settings, times: int, at: dt.datetime = T0) -> list[str]:
    messages = []
    for _ in range(times):
        with pytest.raises(AccessDenied) as refused:
            auth.sign_in(store, settings, "maya", "wrong password", at=at)
        messages.append(str(refused.value))
    return messages


def test_the_default_limit_is_five(settings):
    assert settings.failed_signin_limit == 5


def test_one_failure_below_the_limit_the_right_password_still_works(store, settings, maya):
    limit = settings.failed_signin_limit
    assert fail(store, settings, limit - 1) == [GENERIC] * (limit - 1)
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    assert auth.resolve_session(store, settings, token, at=T0) == maya
    assert "pause sign-in" not in audit_actions(store)


def test_a_success_resets_the_count_of_failures(store, settings, maya):
    limit = settings.failed_signin_limit
    fail(store, settings, limit - 1)
    auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    fail(store, settings, limit - 1)
    assert auth.sign_in(store, settings, "maya", PASSWORD, at=T0)


def test_at_the_limit_even_the_right_password_is_paused(store, settings, maya):
    limit = settings.failed_signin_limit
    messages = fail(store, settings, limit)
    assert messages[:-1] == [GENERIC] * (limit - 1)
    assert "paused" in messages[-1]
    with pytest.raises(AccessDenied) as refused:
        auth.sign_in(store, settings, "maya", PASSWORD, at=T0 + dt.timedelta(minutes=1))
    assert "paused" in str(refused.value)
    assert str(settings.failed_signin_pause_minutes - 1) in str(refused.value)


def test_after_the_pause_the_right_password_works_again(store, settings, maya):
    fail(store, settings, settings.failed_signin_limit)
    pause = dt.timedelta(minutes=settings.failed_signin_pause_minutes)
    with pytest.raises(AccessDenied, match="paused"):
        auth.sign_in(store, settings, "maya", PASSWORD, at=T0 + pause - dt.timedelta(minutes=1))
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0 + pause + dt.timedelta(minutes=1))
    assert (
        auth.resolve_session(store, settings, token, at=T0 + pause + dt.timedelta(minutes=2))
        == maya
    )


def test_after_the_pause_the_count_starts_again(store, settings, maya):
    limit = settings.failed_signin_limit
    fail(store, settings, limit)
    later = T0 + dt.timedelta(minutes=settings.failed_signin_pause_minutes + 1)
    assert fail(store, settings, limit - 1, at=later) == [GENERIC] * (limit - 1)
    assert auth.sign_in(store, settings, "maya", PASSWORD, at=later)


def test_the_pause_is_audited(store, settings, maya):
    fail(store, settings, settings.failed_signin_limit)
    pauses = [e for e in store.audit_events() if e.action == "pause sign-in"]
    assert len(pauses) == 1
    assert pauses[0].object_type == "staff_user"
    assert pauses[0].object_id == str(maya.id)
    assert "maya" in pauses[0].detail


def test_a_pause_for_one_user_leaves_others_alone(store, settings, maya, make_staff):
    make_staff("sam", Role.FACILITATOR, PASSWORD)
    fail(store, settings, settings.failed_signin_limit)
    assert auth.sign_in(store, settings, "sam", PASSWORD, at=T0)


# --------------------------------------------------------------------------- session lifetime


def test_activity_just_inside_the_idle_timeout_keeps_the_session(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    almost = T0 + idle - dt.timedelta(minutes=1)
    assert auth.resolve_session(store, settings, token, at=almost) == maya
    # That use counted as activity: the timeout now runs from `almost`.
    assert auth.resolve_session(store, settings, token, at=almost + idle - dt.timedelta(minutes=1))
    assert not revoked(store, token)


def test_idle_past_the_timeout_ends_and_revokes_the_session(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    assert (
        auth.resolve_session(store, settings, token, at=T0 + idle + dt.timedelta(minutes=1)) is None
    )
    assert revoked(store, token)
    assert "session timed out" in audit_actions(store)
    # Revoked for good: going back in time does not bring it back.
    assert auth.resolve_session(store, settings, token, at=T0) is None


def test_sign_out_revokes_the_session(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    other = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    auth.sign_out(store, maya, token)
    assert revoked(store, token)
    assert auth.resolve_session(store, settings, token, at=T0) is None
    assert "sign out" in audit_actions(store)
    # Only that session ended, not the one in another browser.
    assert auth.resolve_session(store, settings, other, at=T0) == maya


def test_a_deactivated_users_session_no_longer_resolves(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    cur = store.cursor()
    try:
        cur.execute("UPDATE staff_users SET active = false WHERE id = ?", [maya.id])
    finally:
        cur.close()
    assert auth.resolve_session(store, settings, token, at=T0) is None
    with pytest.raises(AccessDenied) as refused:
        auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    assert str(refused.value) == GENERIC


def test_a_session_survives_a_server_restart(settings_env, settings, make_staff, store):
    make_staff("maya", Role.FACILITATOR, PASSWORD)
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    store.close()
    reopened = Store(settings_env)
    try:
        user = auth.resolve_session(reopened, settings, token, at=T0 + dt.timedelta(minutes=5))
        assert user is not None and user.username == "maya"
    finally:
        reopened.close()


# --------------------------------------------------------------------------- the cookie

KEY = b"a key for signing test cookies"


def test_cookie_round_trip():
    token = "abc-DEF_123"
    value = auth.sign_cookie(token, KEY)
    assert value != token
    assert auth.read_cookie(value, KEY) == token


def test_a_changed_token_in_the_cookie_is_refused():
    value = auth.sign_cookie("abc-DEF_123", KEY)
    token, signature = value.rsplit(".", 1)
    assert auth.read_cookie(f"abc-DEF_124.{signature}", KEY) is None
    assert (
        auth.read_cookie(f"{auth.sign_cookie('other', KEY).split('.')[0]}.{signature}", KEY) is None
    )
    assert auth.read_cookie(f"{token}.{signature}", KEY) == token


def test_a_changed_signature_is_refused():
    value = auth.sign_cookie("abc-DEF_123", KEY)
    flipped = value[:-1] + ("A" if value[-1] != "A" else "B")
    assert auth.read_cookie(flipped, KEY) is None
    assert auth.read_cookie(value + "x", KEY) is None
    assert auth.read_cookie(value.rsplit(".", 1)[0] + ".", KEY) is None


def test_a_cookie_signed_with_another_key_is_refused():
    value = auth.sign_cookie("abc-DEF_123", b"another key")
    assert auth.read_cookie(value, KEY) is None


@pytest.mark.parametrize("value", [None, "", "no-dot-at-all"])
def test_missing_or_malformed_cookies_give_no_token(value):
    assert auth.read_cookie(value, KEY) is None


def test_a_real_token_survives_the_cookie_with_the_settings_key(store, settings, maya):
    key = auth.session_secret(settings)
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    assert auth.read_cookie(auth.sign_cookie(token, key), key) == token
    assert key == settings.session_secret.encode()
