"""Staff accounts: creation with argon2id password hashes, and password checks."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from program.errors import InvalidInput
from program.models import Actor, Role, StaffUser
from program.store import Store

# argon2-cffi's defaults are the RFC 9106 "low memory" profile of argon2id.
_hasher = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")


def create_user(
    store: Store,
    actor: Actor,
    username: str,
    display_name: str,
    role: Role,
    password: str | None,
    email: str | None = None,
) -> StaffUser:
    """Create a staff account; a None password makes a single-sign-on-only account."""
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
    email = email.strip().lower() if email else None
    hashed = hash_password(password) if password is not None else None
    return store.create_staff_user(actor, username, display_name, role, hashed, email)
