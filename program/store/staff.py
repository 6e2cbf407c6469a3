"""Staff accounts and their sign-ins (the table `staff_sessions`, its name since the first
migration: a sign-in, not a group's session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal, NamedTuple

from program.errors import Conflict, NotFound
from program.models import (
    Actor,
    Role,
    StaffUser,
)
from program.store.base import StoreBase
from program.store.engines import Cursor

# What a StaffUser is made of, in `_staff`'s order; never the password hash.
_STAFF_COLUMNS = "id, username, display_name, role, email, active"
_STAFF_FIELDS = _STAFF_COLUMNS.split(", ")
_STAFF = "SELECT " + _STAFF_COLUMNS + " FROM staff_users"

StaffColumn = Literal["password_hash", "active", "role", "email"]
# The one statement for each column of an account an admin changes, picked from here by the
# column's name: nothing of the statement comes from a value. Each returns the account.
_SET_STAFF: dict[StaffColumn, str] = {
    "password_hash": "UPDATE staff_users SET password_hash = ? WHERE id = ? RETURNING "
    + _STAFF_COLUMNS,
    "active": "UPDATE staff_users SET active = ? WHERE id = ? RETURNING " + _STAFF_COLUMNS,
    "role": "UPDATE staff_users SET role = ? WHERE id = ? RETURNING " + _STAFF_COLUMNS,
    "email": "UPDATE staff_users SET email = ? WHERE id = ? RETURNING " + _STAFF_COLUMNS,
}


class SignIn(NamedTuple):
    """A staff member's sign-in as the server keeps it."""

    user_id: int
    last_seen: dt.datetime
    revoked: bool


def _staff(row: Sequence[object]) -> StaffUser:
    return StaffUser.model_validate(dict(zip(_STAFF_FIELDS, row, strict=True)))


class StaffQueries(StoreBase):
    # ----------------------------------------------------------------------- staff

    def create_staff_user(
        self,
        actor: Actor,
        username: str,
        display_name: str,
        role: Role,
        password_hash: str | None,
        email: str | None = None,
    ) -> StaffUser:
        username = username.lower()  # usernames compare without case; store them one way

        def unit(cur: Cursor) -> StaffUser:
            if cur.execute(
                "SELECT 1 FROM staff_users WHERE lower(username) = lower(?)", [username]
            ).fetchone():
                raise Conflict(f"The username {username!r} is taken.")
            # Checked here, inside the transaction, rather than left to the UNIQUE constraint:
            # a constraint error is retried as if it were a clash of writers, and would end as
            # "too many people changed the same thing at once".
            if email is not None and (
                owner := cur.execute(
                    "SELECT username FROM staff_users WHERE email = ?", [email]
                ).fetchone()
            ):
                raise Conflict(f"The email {email!r} already belongs to {owner[0]!r}.")
            row = cur.execute(
                "INSERT INTO staff_users (username, display_name, role, email, password_hash)"
                " VALUES (?, ?, ?, ?, ?) RETURNING " + _STAFF_COLUMNS,
                [username, display_name, role.value, email, password_hash],
            ).fetchone()
            assert row is not None
            self._audit(cur, actor, "create staff user", "staff_user", row[0], f"role={role.value}")
            return _staff(row)

        return self.write(unit)

    def staff_user(self, user_id: int) -> StaffUser:
        row = self._one(_STAFF + " WHERE id = ?", [user_id])
        if row is None:
            raise NotFound(f"No staff member with id {user_id}.")
        return _staff(row)

    def staff_user_by_username(self, username: str) -> StaffUser | None:
        row = self._one(_STAFF + " WHERE lower(username) = lower(?)", [username])
        return _staff(row) if row else None

    def password_hash(self, user_id: int) -> str | None:
        row = self._one("SELECT password_hash FROM staff_users WHERE id = ?", [user_id])
        return row[0] if row else None

    def staff_users(self) -> list[StaffUser]:
        return [_staff(r) for r in self._rows(_STAFF + " ORDER BY username")]

    def count_staff_users(self) -> int:
        row = self._one("SELECT count(*) FROM staff_users")
        return int(row[0]) if row else 0

    def start_signin(self, user: StaffUser, token_hash: str, now: dt.datetime) -> None:
        def unit(cur: Cursor) -> None:
            cur.execute(
                "INSERT INTO staff_sessions (token_hash, user_id, created_at, last_seen_at)"
                " VALUES (?, ?, ?, ?)",
                [token_hash, user.id, now, now],
            )
            self._audit(cur, Actor.of(user), "sign in", "staff_user", user.id)

        self.write(unit)

    def signin(self, token_hash: str) -> SignIn | None:
        """The sign-in of a token's hash, if there is one."""
        row = self._one(
            "SELECT user_id, last_seen_at, revoked FROM staff_sessions WHERE token_hash = ?",
            [token_hash],
        )
        return SignIn(int(row[0]), row[1], bool(row[2])) if row else None

    def touch_signin(self, token_hash: str, now: dt.datetime) -> None:
        def unit(cur: Cursor) -> None:
            cur.execute(
                "UPDATE staff_sessions SET last_seen_at = ? WHERE token_hash = ?", [now, token_hash]
            )

        try:
            self.write(unit)
        except Conflict:
            pass  # another tab of the same person touched it at the same moment: equally fresh

    def end_signin(self, actor: Actor, token_hash: str, reason: str) -> None:
        def unit(cur: Cursor) -> None:
            row = cur.execute(
                "UPDATE staff_sessions SET revoked = TRUE WHERE token_hash = ? AND NOT revoked"
                " RETURNING user_id",
                [token_hash],
            ).fetchone()
            if row:
                self._audit(cur, actor, reason, "staff_user", row[0])

        self.write(unit)

    def end_all_signins(self, actor: Actor, user_id: int) -> None:
        def unit(cur: Cursor) -> None:
            cur.execute(
                "UPDATE staff_sessions SET revoked = TRUE WHERE user_id = ? AND NOT revoked",
                [user_id],
            )
            self._audit(cur, actor, "sign out everywhere", "staff_user", user_id)

        self.write(unit)

    # ----------------------------------------------------------------------- staff administration

    def staff_user_by_email(self, email: str) -> StaffUser | None:
        row = self._one(_STAFF + " WHERE lower(email) = lower(?)", [email])
        return _staff(row) if row else None

    def staff_with_password(self) -> set[int]:
        """Ids of the accounts that have a password (the others sign in with single sign-on only)."""
        rows = self._rows("SELECT id FROM staff_users WHERE password_hash IS NOT NULL")
        return {int(r[0]) for r in rows}

    def open_signin_counts(self) -> dict[int, int]:
        rows = self._rows(
            "SELECT user_id, count(*) FROM staff_sessions WHERE NOT revoked GROUP BY user_id"
        )
        return {int(r[0]): int(r[1]) for r in rows}

    @staticmethod
    def _keep_an_admin(cur: Cursor, user_id: int, change: str) -> None:
        """Refuse a change that would leave no active admin (serialised by the admin_guard row)."""
        cur.execute("UPDATE admin_guard SET changes = changes + 1 WHERE id = 1")
        row = cur.execute("SELECT role, active FROM staff_users WHERE id = ?", [user_id]).fetchone()
        if row is None:
            raise NotFound(f"No staff member with id {user_id}.")
        if row[0] != Role.ADMIN.value or not row[1]:
            return
        others = cur.execute(
            "SELECT count(*) FROM staff_users WHERE role = 'admin' AND active AND id <> ?",
            [user_id],
        ).fetchone()
        if others is None or others[0] == 0:
            raise Conflict(
                f"This is the last active admin, so they cannot be {change}."
                " Make another staff member an admin first."
            )

    def _set_staff(
        self,
        cur: Cursor,
        actor: Actor,
        user_id: int,
        column: StaffColumn,
        value: object,
        action: str,
        detail: str | None = None,
    ) -> StaffUser:
        """Write one column of an account, audit it as `action` (with `detail`, or else the
        username) and return the account as it now is."""
        row = cur.execute(_SET_STAFF[column], [value, user_id]).fetchone()
        if row is None:
            raise NotFound(f"No staff member with id {user_id}.")
        user = _staff(row)
        self._audit(
            cur, actor, action, "staff_user", user_id, user.username if detail is None else detail
        )
        return user

    def set_staff_password(self, actor: Actor, user_id: int, password_hash: str) -> None:
        """Replace a password hash."""
        self.write(
            lambda cur: self._set_staff(
                cur, actor, user_id, "password_hash", password_hash, "reset password"
            )
        )

    def set_staff_active(self, actor: Actor, user_id: int, active: bool) -> StaffUser:
        def unit(cur: Cursor) -> StaffUser:
            if not active:
                self._keep_an_admin(cur, user_id, "deactivated")
            action = "reactivate staff user" if active else "deactivate staff user"
            return self._set_staff(cur, actor, user_id, "active", active, action)

        return self.write(unit)

    def set_staff_role(self, actor: Actor, user_id: int, role: Role) -> StaffUser:
        """Change a role. Leaving the lead role also ends the person's program lead assignments."""

        def unit(cur: Cursor) -> StaffUser:
            if role != Role.ADMIN:
                self._keep_an_admin(cur, user_id, f"made a {role.value}")
            before = cur.execute(
                "SELECT username, role FROM staff_users WHERE id = ?", [user_id]
            ).fetchone()
            if before is None:
                raise NotFound(f"No staff member with id {user_id}.")
            dropped = 0
            if role != Role.LEAD:
                gone = cur.execute(
                    "DELETE FROM program_leads WHERE user_id = ? RETURNING program_id", [user_id]
                ).fetchall()
                dropped = len(gone)
            detail = f"{before[0]}: {before[1]} → {role.value}"
            if dropped:
                detail += f"; no longer leads {dropped} program(s)"
            return self._set_staff(cur, actor, user_id, "role", role.value, "change role", detail)

        return self.write(unit)

    def set_staff_email(self, actor: Actor, user_id: int, email: str | None) -> StaffUser:
        def unit(cur: Cursor) -> StaffUser:
            if email is not None:
                taken = cur.execute(
                    "SELECT username FROM staff_users WHERE lower(email) = lower(?) AND id <> ?",
                    [email, user_id],
                ).fetchone()
                if taken:
                    raise Conflict(f"The email {email!r} already belongs to {taken[0]!r}.")
            action = "set email" if email else "clear email"
            return self._set_staff(cur, actor, user_id, "email", email, action)

        return self.write(unit)

    # ----------------------------------------------------------------------- single sign-on

    def start_sso_signin(
        self, user: StaffUser, token_hash: str, now: dt.datetime, detail: str
    ) -> bool:
        """Record the sign-in of one identity-provider sign-in, once; False if it was recorded already.

        Two tabs can bring the same fresh sign-in at the same moment: the second finds the row the
        first wrote (after the retry on the duplicate key) and records nothing.
        """

        def unit(cur: Cursor) -> bool:
            if cur.execute(
                "SELECT 1 FROM staff_sessions WHERE token_hash = ?", [token_hash]
            ).fetchone():
                return False
            cur.execute(
                "INSERT INTO staff_sessions (token_hash, user_id, created_at, last_seen_at)"
                " VALUES (?, ?, ?, ?)",
                [token_hash, user.id, now, now],
            )
            self._audit(
                cur,
                Actor.of(user),
                "sign in (single sign-on)",
                "staff_user",
                user.id,
                detail,
            )
            return True

        return self.write(unit)
