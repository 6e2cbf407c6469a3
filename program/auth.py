"""Staff sign-in: password checks that cannot be raced, and revocable sign-ins.

Every refused sign-in looks the same from outside: an unknown username, a wrong password, a pause
and a busy server all give the one message REFUSED, and an unknown username is checked against a
dummy hash so it takes as long as a wrong password. How often a password may be tried is decided in
memory by program/throttle.py, before the password is checked.

The browser holds only a signed cookie naming a random sign-in token; the server keeps a hash of
the token, when it was last used and whether it was revoked (in the table `staff_sessions`).
Signing out, an idle timeout or an admin deactivating the account ends the sign-in on the server,
whatever the cookie says. The cookie (`program_session`), the key file (`session.key`) and the
settings PROGRAM_SESSION_SECRET and PROGRAM_SESSION_IDLE_MINUTES keep their names: browsers and
deployments hold them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from pathlib import Path

from program.errors import AccessDenied, PasswordCheckBusy
from program.models import Actor, StaffUser
from program.settings import Settings
from program.staff import hash_password, password_matches
from program.store import Store
from program.throttle import Refused, SigninThrottle

COOKIE_NAME = "program_session"
TOUCH_EVERY = dt.timedelta(minutes=1)
REFUSED = "That username and password do not match an active account."
# Who asks when no request is involved (the command line, tests).
LOCAL_CLIENT = "local"
# Checked against when there is no password to check (an unknown username, an account without a
# password), so every refusal takes as long as a wrong password. Nobody knows what it hashes.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(32))
_throttle = SigninThrottle()


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(
    store: Store,
    settings: Settings,
    username: str,
    password: str,
    at: dt.datetime | None = None,
    client: str = LOCAL_CLIENT,
) -> str:
    """Check a username and password; return a new sign-in token or raise AccessDenied(REFUSED).

    `client` is who is asking (the request's client address); it is kept only in memory, hashed.
    The attempt is counted as a failure before the password is checked and given back only if it
    was right or never checked, so a burst of attempts cannot get more checks than the limits allow.
    """
    at = at or now()
    name = username.strip().lower()
    try:
        attempt = _throttle.reserve(
            name,
            client,
            settings.failed_signin_limit,
            dt.timedelta(minutes=settings.failed_signin_pause_minutes),
            at,
        )
    except Refused:
        raise AccessDenied(REFUSED) from None
    try:
        user, stored_hash = _account(store, name, password)
        # Half a surrogate pair cannot be hashed; no password has one, so: no match.
        matched = password_matches(
            stored_hash or _DUMMY_HASH, password if _is_text(password) else ""
        )
    except PasswordCheckBusy:
        attempt.cancelled()
        raise AccessDenied(REFUSED) from None
    except BaseException:
        attempt.cancelled()
        raise
    if user is None or stored_hash is None or not matched:
        attempt.failed()
        raise AccessDenied(REFUSED)
    attempt.succeeded()
    return start_signin(store, user, at)


def _account(store: Store, name: str, password: str) -> tuple[StaffUser | None, str | None]:
    """The active account of a normalised username and its password hash, if it has both."""
    if not (_is_text(name) and _is_text(password)):
        # Half a surrogate pair cannot be stored; no account has one.
        return None, None
    user = store.staff_user_by_username(name)
    if user is None or not user.active:
        return None, None
    return user, store.password_hash(user.id)


def forget_failed_signins(username: str | None = None) -> None:
    """Forget the failed sign-ins of one username (its password was reset), or of everyone."""
    _throttle.clear(None if username is None else username.strip().lower())


def _is_text(value: str) -> bool:
    """True when `value` is valid Unicode text (encodable as UTF-8)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def start_signin(store: Store, user: StaffUser, at: dt.datetime | None = None) -> str:
    """Record a sign-in on the server for a user who has proved who they are; return its token."""
    token = secrets.token_urlsafe(32)
    store.start_signin(user, token_hash(token), at or now())
    return token


def resolve_signin(
    store: Store, settings: Settings, token: str, at: dt.datetime | None = None
) -> StaffUser | None:
    """The staff member a sign-in token belongs to, or None if it ended, expired or is unknown."""
    at = at or now()
    digest = token_hash(token)
    found = store.signin(digest)
    if found is None:
        return None
    if found.revoked:
        return None
    if at - found.last_seen > dt.timedelta(minutes=settings.session_idle_minutes):
        store.end_signin(Actor.system(), digest, "session timed out")
        return None
    user = store.staff_user(found.user_id)
    if not user.active:
        return None
    if at - found.last_seen >= TOUCH_EVERY:
        store.touch_signin(digest, at)
    return user


def sign_out(store: Store, user: StaffUser, token: str) -> None:
    store.end_signin(Actor.of(user), token_hash(token), "sign out")


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
