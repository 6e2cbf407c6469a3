"""Staff accounts: creation with argon2id password hashes, and password checks.

Each hash or check takes 64 MiB for its duration, so at most HASHES_AT_ONCE of them run at a time
in this process, whoever asks: a burst of sign-ins waits its turn instead of taking the memory of
thirty. A check that cannot start within CHECK_WAIT seconds is given up (PasswordCheckBusy).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from program.errors import InvalidInput, ProgramError
from program.models import Actor, Role, StaffUser
from program.store import Store

# argon2-cffi's defaults are the RFC 9106 "low memory" profile of argon2id: 64 MiB, 3 passes.
_hasher = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10

HASHES_AT_ONCE = 2
CHECK_WAIT = 2.0  # seconds a sign-in's password check may wait for its turn
HASH_WAIT = 30.0  # seconds a new password's hash may wait (an admin or the command line asked)
_hashing = threading.BoundedSemaphore(HASHES_AT_ONCE)


class PasswordCheckBusy(ProgramError):
    """Every hashing slot stayed taken for the whole wait."""

    title = "The server is busy"


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


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_email(email: str | None) -> str | None:
    """An email address as stored (trimmed, lowercase), None for none; refused if it is not one."""
    email = (email or "").strip().lower()
    if not email:
        return None
    if len(email) > 254 or not EMAIL.match(email):
        raise InvalidInput(f"{email!r} does not look like an email address (name@example.org).")
    return email


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
    in for the command line, the demo and the admin page alike."""
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
