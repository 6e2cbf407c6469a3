"""Staff sign-in: passwords, pacing of failed attempts, idle timeout, sign-out, cookies."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

from program import auth, staff, throttle
from program.errors import AccessDenied
from program.models import Actor, Role
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
    found = store.signin(auth.token_hash(token))
    assert found is not None
    return found[2]


def audit_actions(store: Store) -> list[str]:
    return [e.action for e in store.audit_events()]


# --------------------------------------------------------------------------- passwords


def test_sign_in_returns_a_token_that_resolves_to_the_user(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    user = auth.resolve_signin(store, settings, token, at=T0)
    assert user is not None
    assert user.id == maya.id and user.username == "maya"
    assert "sign in" in audit_actions(store)


def test_the_username_is_matched_ignoring_case_and_spaces(store, settings, maya):
    token = auth.sign_in(store, settings, "  Maya ", PASSWORD, at=T0)
    assert auth.resolve_signin(store, settings, token, at=T0) == maya


def test_each_sign_in_gets_its_own_token(store, settings, maya):
    first = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    second = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    assert first != second
    assert auth.resolve_signin(store, settings, first, at=T0) == maya
    assert auth.resolve_signin(store, settings, second, at=T0) == maya


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
    assert auth.resolve_signin(store, settings, "made-up-token", at=T0) is None


# --------------------------------------------------------------------------- the pause

STRANGER = "203.0.113.9"  # client addresses from the documentation ranges
OWNER = "198.51.100.7"
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)


class CountingHasher(PasswordHasher):
    """argon2's hasher, counting its password checks; each waits for `gate` if one is given."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)  # counted, not timed
        self.checks = 0
        self._lock = threading.Lock()
        self._gate = gate

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.checks += 1
        if self._gate is not None:
            self._gate.wait(30)
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(staff, "_hasher", counting)
    return counting


def attempt(
    store: Store,
    settings: Settings,
    password: str,
    at: dt.datetime = T0,
    client: str = STRANGER,
    username: str = "maya",
) -> str:
    """A sign-in's outcome: its token, or the message it was refused with."""
    try:
        return auth.sign_in(store, settings, username, password, at=at, client=client)
    except AccessDenied as refused:
        return str(refused)


def fail(
    store: Store, settings: Settings, times: int, at: dt.datetime = T0, client: str = STRANGER
) -> list[str]:
    return [attempt(store, settings, "wrong password", at, client) for _ in range(times)]


def signed_in(store: Store, settings: Settings, outcome: str, at: dt.datetime = T0) -> bool:
    return outcome != GENERIC and auth.resolve_signin(store, settings, outcome, at=at) is not None


def test_the_default_limit_is_five(settings):
    assert settings.failed_signin_limit == 5


def test_one_failure_below_the_limit_the_right_password_still_works(store, settings, maya):
    limit = settings.failed_signin_limit
    assert fail(store, settings, limit - 1) == [GENERIC] * (limit - 1)
    assert signed_in(store, settings, attempt(store, settings, PASSWORD))


def test_a_success_resets_the_count_of_failures(store, settings, maya):
    limit = settings.failed_signin_limit
    fail(store, settings, limit - 1)
    assert signed_in(store, settings, attempt(store, settings, PASSWORD))
    fail(store, settings, limit - 1)
    assert signed_in(store, settings, attempt(store, settings, PASSWORD))


def test_at_the_limit_the_same_client_waits_even_with_the_right_password(
    store, settings, maya, hasher
):
    limit = settings.failed_signin_limit
    assert fail(store, settings, limit) == [GENERIC] * limit
    assert attempt(store, settings, PASSWORD) == GENERIC
    assert attempt(store, settings, PASSWORD, at=T0 + MINUTE - SECOND) == GENERIC
    assert hasher.checks == limit  # refused while waiting, without a check
    assert signed_in(store, settings, attempt(store, settings, PASSWORD, at=T0 + MINUTE))


def test_one_past_the_limit_is_refused_without_a_check(store, settings, maya, hasher):
    limit = settings.failed_signin_limit
    assert fail(store, settings, limit + 1) == [GENERIC] * (limit + 1)
    assert hasher.checks == limit


def test_at_the_limit_another_client_signs_in_at_once(store, settings, maya):
    fail(store, settings, settings.failed_signin_limit, client=STRANGER)
    assert attempt(store, settings, PASSWORD, client=STRANGER) == GENERIC
    assert signed_in(store, settings, attempt(store, settings, PASSWORD, client=OWNER))


def test_a_strangers_failures_never_stop_the_owner_from_another_client(
    store, settings, maya, hasher
):
    # A stranger tries once a minute for three hours; the owner signs in every half hour.
    owner_checks = 0
    for minute in range(180):
        at = T0 + minute * MINUTE
        assert attempt(store, settings, "wrong password", at, STRANGER) == GENERIC
        if minute % 30 == 29:
            assert signed_in(store, settings, attempt(store, settings, PASSWORD, at, OWNER), at)
            owner_checks += 1
    # The stranger's password was checked at minutes 0-4 (the limit), then after waits of 1, 2, 4,
    # 8 and 15 minutes: at 5, 7, 11, 19, 34, 49, … 169. Nineteen checks in three hours.
    assert owner_checks == 6
    assert hasher.checks - owner_checks == 19


def test_backoff_doubles_from_one_minute_and_stops_at_the_setting():
    limit, longest = 5, dt.timedelta(minutes=15)
    waits = [throttle.backoff(n, limit, longest) for n in range(1, 12)]
    minutes = [None if w is None else w / MINUTE for w in waits]
    assert minutes == [None, None, None, None, 1, 2, 4, 8, 15, 15, 15]
    assert throttle.backoff(10_000, limit, longest) == longest


def test_a_client_past_the_limit_waits_longer_after_each_failure_up_to_the_setting(
    store, maya, hasher
):
    settings = Settings(failed_signin_pause_minutes=6)
    limit = settings.failed_signin_limit
    fail(store, settings, limit)
    at, checks = T0, limit
    for wait in [1, 2, 4, 6, 6]:
        assert attempt(store, settings, "wrong password", at + wait * MINUTE - SECOND) == GENERIC
        assert hasher.checks == checks  # still waiting: refused unchecked
        at += wait * MINUTE
        assert attempt(store, settings, "wrong password", at) == GENERIC
        checks += 1
        assert hasher.checks == checks
    # The wait over, the right password works, and a success starts the count again.
    assert signed_in(store, settings, attempt(store, settings, PASSWORD, at + 6 * MINUTE))
    assert fail(store, settings, limit - 1, at + 6 * MINUTE) == [GENERIC] * (limit - 1)
    assert hasher.checks == checks + 1 + limit - 1


def test_many_clients_can_only_slow_an_account_to_one_check_a_second(store, settings, maya, hasher):
    limit = settings.failed_signin_limit
    for n in range(3 * limit):
        assert attempt(store, settings, "wrong password", client=f"192.0.2.{n}") == GENERIC
    # `limit` failures in a row, then one more check; the account waits a second for the next.
    assert hasher.checks == limit + 1
    assert attempt(store, settings, PASSWORD, client=OWNER) == GENERIC
    assert hasher.checks == limit + 1
    assert signed_in(store, settings, attempt(store, settings, PASSWORD, T0 + SECOND, OWNER))
    # The success ended the slowing for everyone.
    assert attempt(store, settings, "wrong", T0 + SECOND, "192.0.2.99") == GENERIC
    assert attempt(store, settings, "wrong", T0 + SECOND, "192.0.2.98") == GENERIC
    assert hasher.checks == limit + 4


@pytest.mark.parametrize("right_ones", [0, 1])
def test_a_burst_for_one_account_gets_at_most_the_limit_of_checks(
    store, settings, maya, hasher, monkeypatch, right_ones
):
    monkeypatch.setattr(staff, "CHECK_WAIT", 60.0)  # nobody gives up for a busy server
    limit = settings.failed_signin_limit
    passwords = ["wrong password"] * (30 - right_ones) + [PASSWORD] * right_ones
    start = threading.Barrier(len(passwords))

    def go(password: str) -> str:
        start.wait()
        return attempt(store, settings, password)

    with ThreadPoolExecutor(len(passwords)) as pool:
        outcomes = list(pool.map(go, passwords))
    # The right password, if it is checked before the limit is reached, ends the slowing (as a
    # sign-in by the owner should), and the wrong ones after it count from zero again: at most
    # the limit before it, itself, and the limit after it. Which comes first is up to the threads.
    assert hasher.checks <= (2 * limit + 1 if right_ones else limit)
    assert sum(o != GENERIC for o in outcomes) <= right_ones
    if not right_ones:
        assert hasher.checks == limit
        # The place of each check was taken before it ran, so the pause came with the last one.
        assert attempt(store, settings, PASSWORD) == GENERIC


def test_the_right_password_arriving_after_the_limit_in_a_burst_is_refused(
    store, settings, maya, monkeypatch
):
    gate = threading.Event()
    hasher = CountingHasher(gate)  # the wrong ones stay being checked until let go
    monkeypatch.setattr(staff, "_hasher", hasher)
    monkeypatch.setattr(staff, "CHECK_WAIT", 60.0)
    limit = settings.failed_signin_limit
    with ThreadPoolExecutor(29) as pool:
        wrong = [pool.submit(attempt, store, settings, "wrong password") for _ in range(29)]
        deadline = time.monotonic() + 30
        while sum(f.done() for f in wrong) < 29 - limit and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sum(f.done() for f in wrong) == 29 - limit  # refused unchecked, at once
        right = attempt(store, settings, PASSWORD)  # while the first `limit` are still running
        gate.set()
        outcomes = [f.result() for f in wrong]
    assert right == GENERIC
    assert outcomes == [GENERIC] * 29
    assert hasher.checks == limit
    assert "sign in" not in audit_actions(store)


def test_unknown_user_wrong_password_and_pause_give_one_answer(
    store, settings, maya, make_staff, hasher
):
    make_staff("sam", Role.FACILITATOR, PASSWORD)
    store.set_staff_active(Actor.system(), store.staff_user_by_username("sam").id, False)
    store.create_staff_user(Actor.system(), "noor", "Noor", Role.LEAD, None, "noor@example.org")
    answers = {}
    for case, username, password in [
        ("unknown user", "nobody", PASSWORD),
        ("wrong password", "maya", "wrong password"),
        ("deactivated", "sam", PASSWORD),
        ("single sign-on only", "noor", PASSWORD),
    ]:
        before = hasher.checks
        answers[case] = attempt(store, settings, password, client=case, username=username)
        assert hasher.checks == before + 1, case  # one real argon2 check each: the same time
    fail(store, settings, settings.failed_signin_limit, client="pauser")
    answers["paused"] = attempt(store, settings, PASSWORD, client="pauser")
    # An unknown username is paused exactly like a real one, so a pause tells nothing either.
    for _ in range(settings.failed_signin_limit):
        attempt(store, settings, "wrong password", client="pauser", username="nobody")
    answers["unknown user, paused"] = attempt(
        store, settings, PASSWORD, client="pauser", username="nobody"
    )
    assert answers == dict.fromkeys(answers, GENERIC)


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_the_signin_route_answers_every_refusal_alike_and_passes_the_client(
    store, settings, maya, monkeypatch
):
    from starlette.testclient import TestClient

    import routes
    import ui

    monkeypatch.setattr(ui, "store", lambda: store)
    monkeypatch.setattr(ui, "settings", lambda: settings)
    app = Starlette(routes=routes.ROUTES)

    def post(client: str, username: str, password: str) -> tuple[str, bool]:
        with TestClient(app, client=(client, 50000), follow_redirects=False) as http:
            reply = http.post(
                "/auth/signin", data={"username": username, "password": password, "next": "/x"}
            )
        assert reply.status_code == 303
        return reply.headers["location"], auth.COOKIE_NAME in reply.cookies

    assert post(STRANGER, "nobody", PASSWORD) == ("/x?signin=failed", False)
    for _ in range(settings.failed_signin_limit):
        assert post(STRANGER, "maya", "wrong password") == ("/x?signin=failed", False)
    assert post(STRANGER, "maya", PASSWORD) == ("/x?signin=failed", False)  # paused
    assert post(OWNER, "maya", PASSWORD) == ("/x", True)


def test_failed_sign_ins_leave_nothing_on_disk_and_no_address_in_memory(store, settings, maya):
    before = store.row_counts()
    fail(store, settings, 3 * settings.failed_signin_limit, client=STRANGER)
    assert store.row_counts() == before
    assert STRANGER not in repr(vars(auth._throttle))
    assert "maya" not in repr(vars(auth._throttle))
    auth.sign_in(store, settings, "maya", PASSWORD, at=T0, client=OWNER)
    assert not any(OWNER in (e.detail or "") for e in store.audit_events())


def test_a_pause_for_one_user_leaves_others_alone(store, settings, maya, make_staff):
    make_staff("sam", Role.FACILITATOR, PASSWORD)
    fail(store, settings, settings.failed_signin_limit)
    assert signed_in(store, settings, attempt(store, settings, PASSWORD, username="sam"))


def test_a_client_quiet_for_a_day_is_forgotten(store, settings, maya):
    fail(store, settings, 3 * settings.failed_signin_limit)
    later = T0 + throttle.FORGET_AFTER
    assert fail(store, settings, settings.failed_signin_limit - 1, at=later) == [GENERIC] * (
        settings.failed_signin_limit - 1
    )
    assert signed_in(store, settings, attempt(store, settings, PASSWORD, later), later)


def test_a_check_that_cannot_start_is_refused_quickly_and_not_counted(
    store, settings, maya, monkeypatch, hasher
):
    monkeypatch.setattr(staff, "CHECK_WAIT", 0.05)
    taken = [staff._hashing.acquire() for _ in range(staff.HASHES_AT_ONCE)]
    try:
        started = time.monotonic()
        assert fail(store, settings, 2 * settings.failed_signin_limit) == [GENERIC] * (
            2 * settings.failed_signin_limit
        )
        assert time.monotonic() - started < 5
    finally:
        for _ in taken:
            staff._hashing.release()
    assert hasher.checks == 0
    # None of them counted: the owner's own client still has every attempt.
    assert signed_in(store, settings, attempt(store, settings, PASSWORD))


# --------------------------------------------------------------------------- session lifetime


def test_activity_just_inside_the_idle_timeout_keeps_the_session(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    almost = T0 + idle - dt.timedelta(minutes=1)
    assert auth.resolve_signin(store, settings, token, at=almost) == maya
    # That use counted as activity: the timeout now runs from `almost`.
    assert auth.resolve_signin(store, settings, token, at=almost + idle - dt.timedelta(minutes=1))
    assert not revoked(store, token)


def test_idle_past_the_timeout_ends_and_revokes_the_session(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    assert (
        auth.resolve_signin(store, settings, token, at=T0 + idle + dt.timedelta(minutes=1)) is None
    )
    assert revoked(store, token)
    assert "session timed out" in audit_actions(store)
    # Revoked for good: going back in time does not bring it back.
    assert auth.resolve_signin(store, settings, token, at=T0) is None


def test_sign_out_revokes_the_session(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    other = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    auth.sign_out(store, maya, token)
    assert revoked(store, token)
    assert auth.resolve_signin(store, settings, token, at=T0) is None
    assert "sign out" in audit_actions(store)
    # Only that session ended, not the one in another browser.
    assert auth.resolve_signin(store, settings, other, at=T0) == maya


def test_a_deactivated_users_session_no_longer_resolves(store, settings, maya):
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    cur = store.cursor()
    try:
        cur.execute("UPDATE staff_users SET active = false WHERE id = ?", [maya.id])
    finally:
        cur.close()
    assert auth.resolve_signin(store, settings, token, at=T0) is None
    with pytest.raises(AccessDenied) as refused:
        auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    assert str(refused.value) == GENERIC


def test_a_session_survives_a_server_restart(settings, make_staff, store):
    make_staff("maya", Role.FACILITATOR, PASSWORD)
    token = auth.sign_in(store, settings, "maya", PASSWORD, at=T0)
    store.close()
    reopened = Store(store.path)
    try:
        user = auth.resolve_signin(reopened, settings, token, at=T0 + dt.timedelta(minutes=5))
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


# --------------------------------------------------------------------------- memory

BURST = """
import json, os, sys, threading
from concurrent.futures import ThreadPoolExecutor

from program import auth, staff
from program.models import Actor, Role
from program.settings import get_settings
from program.store import Store

if len(sys.argv) > 1:  # compare: as many hashes at once as asked
    staff._hashing = threading.BoundedSemaphore(int(sys.argv[1]))
    staff.CHECK_WAIT = 60.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


settings = get_settings()
store = Store(settings.database)
for n in range(5):
    staff.create_user(store, Actor.system(), f"user{n}", "U", Role.FACILITATOR, "a password!")
auth.sign_in(store, settings, "user0", "a password!", client="warm-up")
before = rss()
highest, running = before, True


def watch() -> None:
    global highest
    while running:
        highest = max(highest, rss())


def sign_in(n: int) -> str:
    start.wait()
    try:  # users 0-4 exist, 5-29 do not (they are checked against the dummy hash)
        return auth.sign_in(store, settings, f"user{n}", "wrong password", client=f"192.0.2.{n}")
    except Exception as refused:
        return str(refused)


start = threading.Barrier(30)
watcher = threading.Thread(target=watch)
watcher.start()
with ThreadPoolExecutor(30) as pool:
    outcomes = list(pool.map(sign_in, range(30)))
running = False
watcher.join()
# This process's own high-water mark. (resource's ru_maxrss would not do: Linux carries the
# parent's RSS at fork over into it, through exec.)
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
print(json.dumps({"before": before, "highest": highest, "peak": peak, "after": rss(),
                  "refused": sum("do not match" in o for o in outcomes)}))
"""


@pytest.mark.slow
def test_a_burst_of_thirty_sign_ins_holds_at_most_a_few_hashes_in_memory(settings_env):
    """30 sign-ins at once, each for another account and client, in a fresh process: RSS rises by
    at most three argon2 hashes' worth (64 MiB each), since only two run at a time."""
    root = Path(__file__).resolve().parent.parent
    ran = subprocess.run(
        [sys.executable, "-c", BURST],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    measured = json.loads(ran.stdout.strip().splitlines()[-1])
    mib = 2**20
    assert measured["refused"] == 30
    assert measured["highest"] - measured["before"] <= 3 * 64 * mib, measured
    assert measured["peak"] - measured["before"] <= 3 * 64 * mib, measured


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_a_refused_sign_in_keeps_the_username_for_the_form_but_not_in_the_address(
    store, settings, maya, monkeypatch
):
    from starlette.testclient import TestClient

    import routes
    import ui

    monkeypatch.setattr(ui, "store", lambda: store)
    monkeypatch.setattr(ui, "settings", lambda: settings)
    with TestClient(Starlette(routes=routes.ROUTES), follow_redirects=False) as http:
        refused = http.post(
            "/auth/signin", data={"username": "maya <b>", "password": "wrong", "next": "/"}
        )
        assert "maya" not in refused.headers["location"]
        cookie = refused.headers["set-cookie"]
        assert cookie.startswith(f"{routes.TYPED_USERNAME}=maya%20%3Cb%3E;")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=300" in cookie
        signed = http.post(
            "/auth/signin", data={"username": "maya", "password": PASSWORD, "next": "/"}
        )
        assert f'{routes.TYPED_USERNAME}=""' in signed.headers.get("set-cookie", "")
    # The sign-in screen fills the username in, escaped, and puts the focus on the password.
    form = ui.signin_form("/", "maya <b>")
    assert 'value="maya &lt;b&gt;"' in form
    assert 'type="password" autocomplete="current-password" required autofocus' in form
    assert 'autocomplete="username" value="" required autofocus' in ui.signin_form("/")


@pytest.mark.real_hashing
def test_passwords_are_hashed_with_argon2id_at_the_rfc_9106_cost() -> None:
    """The cost tests skip (tests/conftest.py) is the one the app uses: 64 MiB, 3 passes."""
    hashed = staff.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), hashed
    assert staff.password_matches(hashed, "correct horse battery")
    assert not staff.password_matches(hashed, "correct horse batterY")
