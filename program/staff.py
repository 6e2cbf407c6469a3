"""Staff accounts: creating them, their argon2id password hashes, and the admin's changes to them.

Each hash or check takes 64 MiB for its duration, so at most HASHES_AT_ONCE of them run at a time
in this process, whoever asks: a burst of sign-ins waits its turn instead of taking the memory of
thirty. A check that cannot start within CHECK_WAIT seconds is given up (PasswordCheckBusy).

`create_user` is the one way an account is made, for the command line, the demo and the admin
page alike. The admin's functions refuse anyone who is not an admin, whatever the page showed
them; the store audits every change in the same transaction.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from program.access import require_role
from program.errors import Conflict, InvalidInput, PasswordCheckBusy
from program.models import Actor, Role, StaffUser
from program.store import Store

# argon2-cffi's defaults are the RFC 9106 "low memory" profile of argon2id: 64 MiB, 3 passes.
# Every hash and check goes through this one object (tests swap it for a cheap one).
_hasher = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

HASHES_AT_ONCE = 2
CHECK_WAIT = 2.0  # seconds a sign-in's password check may wait for its turn
HASH_WAIT = 30.0  # seconds a new password's hash may wait (an admin or the command line asked)
_hashing = threading.BoundedSemaphore(HASHES_AT_ONCE)


# --------------------------------------------------------------------------- passwords


@contextmanager
def _hashing_slot(wait: float) -> Iterator[None]:
    if not _hashing.acquire(timeout=wait):
        raise PasswordCheckBusy(
            "The server is busy checking passwords. Please try again in a moment."
        )
    try:
        yield
    finally:
        _hashing.release()


def hash_password(password: str) -> str:
    with _hashing_slot(HASH_WAIT):
        return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the hash; raises PasswordCheckBusy if no check could start."""
    if not password_hash:
        return False
    with _hashing_slot(CHECK_WAIT):
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")


def clean_email(email: str | None) -> str | None:
    """An email address as stored (trimmed, lowercase), None for none; refused if it is not one."""
    email = (email or "").strip().lower()
    if not email:
        return None
    if len(email) > 254 or not EMAIL.match(email):
        raise InvalidInput(f"{email!r} does not look like an email address (name@example.org).")
    return email


# --------------------------------------------------------------------------- creating an account


def create_user(
    store: Store,
    actor: Actor,
    username: str,
    display_name: str,
    role: Role,
    password: str | None,
    email: str | None = None,
) -> StaffUser:
    """Create a staff account; a None password makes a single-sign-on-only account. The one way
    in for the command line, the demo and the admin page alike. A taken username or email is
    refused with a message naming it."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput(
            "A username is 2–32 characters: lowercase letters, digits, '.', '_' or '-'."
        )
    display_name = display_name.strip()
    if not display_name:
        raise InvalidInput("Please give a display name.")
    if len(display_name) > 100:
        raise InvalidInput("A display name may have at most 100 characters.")
    if password is not None:
        check_new_password(password)
    email = clean_email(email)
    hashed = hash_password(password) if password is not None else None
    return store.create_staff_user(actor, username, display_name, role, hashed, email)


def create_staff(
    store: Store,
    viewer: StaffUser,
    username: str,
    display_name: str,
    role: Role,
    password: str | None,
    email: str | None = None,
) -> StaffUser:
    """An admin creates an account with an initial password, or (no password) a
    single-sign-on-only one, which needs an email to sign in with."""
    require_role(viewer, Role.ADMIN)
    password = password or None
    email = clean_email(email)
    if password is None and email is None:
        raise InvalidInput(
            "Give an initial password, or an email address for an account that signs in with"
            " single sign-on only."
        )
    return create_user(store, Actor.of(viewer), username, display_name, role, password, email)


# --------------------------------------------------------------------------- the admin's changes


@dataclass(frozen=True)
class StaffAccount:
    """A staff member as the admin sees them: never the password hash, only whether one is set."""

    user: StaffUser
    has_password: bool
    open_signins: int

    @property
    def sign_in(self) -> str:
        methods = ["password"] if self.has_password else []
        if self.user.email:
            methods.append("single sign-on")
        return " or ".join(methods) or "none"


def staff_accounts(store: Store, viewer: StaffUser) -> list[StaffAccount]:
    require_role(viewer, Role.ADMIN)
    with_password = store.staff_with_password()
    signins = store.open_signin_counts()
    return [
        StaffAccount(user=u, has_password=u.id in with_password, open_signins=signins.get(u.id, 0))
        for u in store.staff_users()
    ]


def reset_password(store: Store, viewer: StaffUser, user_id: int, new_password: str) -> None:
    """Set a new password chosen by the admin, sign the person out everywhere, lift any pause."""
    # program.auth checks passwords with this module's hasher, so it imports this module first;
    # importing it here, when a password is reset, keeps the two from importing each other.
    from program import auth

    require_role(viewer, Role.ADMIN)
    user = store.staff_user(user_id)
    check_new_password(new_password)
    actor = Actor.of(viewer)
    store.set_staff_password(actor, user_id, hash_password(new_password))
    store.end_all_signins(actor, user_id)
    auth.forget_failed_signins(user.username)  # failures against the old password no longer count


def deactivate_staff(store: Store, viewer: StaffUser, user_id: int) -> StaffUser:
    """Stop an account from signing in and sign it out everywhere; its history stays."""
    require_role(viewer, Role.ADMIN)
    if user_id == viewer.id:
        raise Conflict("You cannot deactivate your own account. Ask another admin to do it.")
    user = store.staff_user(user_id)
    if not user.active:
        raise Conflict(f"{user.username!r} is already deactivated.")
    actor = Actor.of(viewer)
    changed = store.set_staff_active(actor, user_id, False)
    store.end_all_signins(actor, user_id)
    return changed


def reactivate_staff(store: Store, viewer: StaffUser, user_id: int) -> StaffUser:
    require_role(viewer, Role.ADMIN)
    user = store.staff_user(user_id)
    if user.active:
        raise Conflict(f"{user.username!r} is already active.")
    return store.set_staff_active(Actor.of(viewer), user_id, True)


def change_role(store: Store, viewer: StaffUser, user_id: int, role: Role) -> StaffUser:
    """Give someone another role; the last active admin keeps theirs."""
    require_role(viewer, Role.ADMIN)
    user = store.staff_user(user_id)
    if user.role == role:
        raise Conflict(f"{user.username!r} is already a {role.value}.")
    return store.set_staff_role(Actor.of(viewer), user_id, role)


def set_staff_email(store: Store, viewer: StaffUser, user_id: int, email: str | None) -> StaffUser:
    """Set (or with None/empty, clear) the email that links an account to single sign-on."""
    require_role(viewer, Role.ADMIN)
    store.staff_user(user_id)
    cleaned = clean_email(email)
    if cleaned is None and user_id not in store.staff_with_password():
        raise Conflict(
            "This account has no password, so without an email it could not sign in at all."
            " Set a password first, or deactivate the account instead."
        )
    return store.set_staff_email(Actor.of(viewer), user_id, cleaned)
