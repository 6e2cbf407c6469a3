"""Staff sign-in: password checks with a pause after repeated failures, and revocable sessions.

The browser holds only a signed cookie naming a random session token; the server keeps a hash of
the token, when it was last used and whether it was revoked. Signing out, an idle timeout or an
admin deactivating the account ends the session on the server, whatever the cookie says.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from pathlib import Path

from program.accounts import hash_password, password_matches
from program.errors import AccessDenied
from program.models import Actor, StaffUser
from program.settings import Settings
from program.store import Store

COOKIE_NAME = "program_session"
TOUCH_EVERY = dt.timedelta(minutes=1)
# Checked against when the username is unknown, so a wrong username takes as long as a wrong password.
_DUMMY_HASH = hash_password("an unknown user never matches this")


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(
    store: Store, settings: Settings, username: str, password: str, at: dt.datetime | None = None
) -> str:
    """Check a username and password; return a new session token or raise AccessDenied."""
    at = at or now()
    if not (_is_text(username) and _is_text(password)):
        # Half a surrogate pair cannot be stored or hashed; no account has one, so: no match.
        password_matches(_DUMMY_HASH, "")
        raise AccessDenied("That username and password do not match an active account.")
    user = store.staff_user_by_username(username.strip())
    if user is None or not user.active:
        password_matches(_DUMMY_HASH, password)
        raise AccessDenied("That username and password do not match an active account.")
    paused = store.signin_pause(user.id)
    if paused is not None and paused > at:
        raise AccessDenied(_pause_message(paused, at))
    if not password_matches(store.password_hash(user.id), password):
        pause_end = at + dt.timedelta(minutes=settings.failed_signin_pause_minutes)
        paused = store.record_failed_signin(user.id, settings.failed_signin_limit, pause_end)
        if paused is not None:
            raise AccessDenied(_pause_message(paused, at))
        raise AccessDenied("That username and password do not match an active account.")
    return start_session(store, user, at)


def _is_text(value: str) -> bool:
    """True when `value` is valid Unicode text (encodable as UTF-8)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def start_session(store: Store, user: StaffUser, at: dt.datetime | None = None) -> str:
    """Open a server-side session for a user who has proved who they are; return its token."""
    token = secrets.token_urlsafe(32)
    store.start_staff_session(user, token_hash(token), at or now())
    return token


def _pause_message(until: dt.datetime, at: dt.datetime) -> str:
    minutes = max(1, round((until - at).total_seconds() / 60))
    return (
        "Too many failed attempts for this username. Sign-in is paused for"
        f" {minutes} more minute{'s' if minutes != 1 else ''}."
    )


def resolve_session(
    store: Store, settings: Settings, token: str, at: dt.datetime | None = None
) -> StaffUser | None:
    """The staff member a session token belongs to, or None if it ended, expired or is unknown."""
    at = at or now()
    digest = token_hash(token)
    found = store.staff_session(digest)
    if found is None:
        return None
    user_id, last_seen, revoked = found
    if revoked:
        return None
    if at - last_seen > dt.timedelta(minutes=settings.session_idle_minutes):
        store.end_staff_session(Actor.system(), digest, "session timed out")
        return None
    user = store.staff_user(user_id)
    if not user.active:
        return None
    if at - last_seen >= TOUCH_EVERY:
        store.touch_staff_session(digest, at)
    return user


def sign_out(store: Store, user: StaffUser, token: str) -> None:
    store.end_staff_session(Actor.of(user), token_hash(token), "sign out")


# --------------------------------------------------------------------------- the cookie


def session_secret(settings: Settings) -> bytes:
    """The cookie-signing key: the setting if given, else a random key kept beside the database."""
    if settings.session_secret:
        return settings.session_secret.encode()
    key_file = Path(settings.database).with_name("session.key")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(48))
    return key_file.read_text().strip().encode()


def _signature(token: str, key: bytes) -> str:
    digest = hmac.new(key, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_cookie(token: str, key: bytes) -> str:
    return f"{token}.{_signature(token, key)}"


def read_cookie(value: str | None, key: bytes) -> str | None:
    """The token in a signed cookie value, or None if it is missing or was tampered with."""
    if not value or "." not in value:
        return None
    token, signature = value.rsplit(".", 1)
    return token if hmac.compare_digest(signature, _signature(token, key)) else None
