"""Programs: their leads, their facilitators, their description and their minimum group size.

The lock on the minimum group size lives here whole. It is locked once any pulse of the program's
cohorts has opened (`_THRESHOLDS`). Changing it checks that inside its own transaction; opening a
pulse writes the program's row (`lock_min_group_size`), so the two conflict when they meet; and a
restore refuses rows that would move a locked one (`locked_min_group_size_changes`).

The column is still called `programs.min_cell_size`, its name since the first migration. DuckDB
2.0 would rename it (the CHECK follows), but a restore takes only a backup whose migrations and
columns equal this app's, so a renaming migration would leave every earlier backup unrestorable.
Only the store's SQL names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from program.errors import Conflict, InvalidInput, NotFound
from program.models import Actor, Program
from program.store.base import StoreBase
from program.store.engines import Cursor

# `min_cell_size` is the minimum group size's column: see the module's docstring.
_PROGRAM_COLUMNS = "id, name, description, min_cell_size"
_PROGRAM = "SELECT " + _PROGRAM_COLUMNS + " FROM programs"
# A Program's fields, in the order of `_PROGRAM_COLUMNS`.
_PROGRAM_FIELDS = ("id", "name", "description", "min_group_size")

# Each program's minimum group size and whether it is locked: a pulse of one of its cohorts has
# opened.
_THRESHOLDS = (
    "SELECT p.id, p.name, p.min_cell_size, EXISTS (SELECT 1 FROM pulse_windows w"
    " JOIN sessions s ON s.id = w.session_id JOIN cohorts c ON c.id = s.cohort_id"
    " WHERE c.program_id = p.id) FROM programs p"
)


class Threshold(NamedTuple):
    """A program's minimum group size and whether it is locked."""

    program_id: int
    name: str
    min_group_size: int
    locked: bool


def _program(row: Sequence[object]) -> Program:
    return Program.model_validate(dict(zip(_PROGRAM_FIELDS, row, strict=True)))


def thresholds(cur: Cursor) -> dict[int, Threshold]:
    """Every program's threshold, by program id, as the transaction of `cur` sees them."""
    rows = cur.execute(_THRESHOLDS + " ORDER BY p.id").fetchall()
    return {int(r[0]): Threshold._make(r) for r in rows}


def lock_min_group_size(cur: Cursor, session_id: int) -> None:
    """Lock the minimum group size of the session's program, inside the transaction that opens
    its pulse, by writing the program's row unchanged.

    DuckDB detects write-write conflicts only, and sees none between a plain UPDATE and an
    UPDATE ... RETURNING of one row (measured, see tests/test_admin.py), so both this and
    `set_program_min_group_size` write the row with RETURNING: a change of the minimum group size
    at the very moment a pulse opens conflicts with the opening instead of slipping past the
    check."""
    cur.execute(
        "UPDATE programs SET min_cell_size = min_cell_size WHERE id = (SELECT c.program_id"
        " FROM sessions s JOIN cohorts c ON c.id = s.cohort_id WHERE s.id = ?)"
        " RETURNING id",
        [session_id],
    ).fetchall()


def locked_min_group_size_changes(cur: Cursor, before: dict[int, Threshold]) -> list[str]:
    """The minimum group sizes that rows written since `before` changed, in words; refuses
    (InvalidInput, rolling the transaction back) if one of them was locked. An edited backup
    must not change the threshold participants were promised."""
    after = thresholds(cur)
    changes = []
    for program_id, was in before.items():
        if program_id not in after or after[program_id].min_group_size == was.min_group_size:
            continue
        new = after[program_id].min_group_size
        if was.locked:
            raise InvalidInput(
                f"This backup sets the minimum group size of {was.name!r} to {new}, but here it"
                f" is locked at {was.min_group_size} because a pulse has opened in that program. Restoring it"
                " would change the threshold participants were promised, so nothing was"
                " restored."
            )
        changes.append(f"minimum group size of {was.name!r} {was.min_group_size} → {new}")
    return changes


def add_program_facilitators(
    cur: Cursor, actor: Actor, program_id: int, user_ids: Sequence[int]
) -> None:
    """Let facilitators create cohorts in a program (migration 0006), inside the caller's
    transaction; creating a cohort adds the facilitators a lead or admin put on it."""
    for user_id in sorted(set(user_ids)):
        added = cur.execute(
            "INSERT INTO program_facilitators VALUES (?, ?) ON CONFLICT DO NOTHING"
            " RETURNING user_id",
            [program_id, user_id],
        ).fetchone()
        if added:
            StoreBase._audit(
                cur, actor, "add program facilitator", "program", program_id, f"user={user_id}"
            )


class ProgramQueries(StoreBase):
    # ----------------------------------------------------------------------- programs

    def create_program(
        self, actor: Actor, name: str, description: str = "", min_group_size: int = 5
    ) -> Program:
        def unit(cur: Cursor) -> Program:
            if cur.execute("SELECT 1 FROM programs WHERE name = ?", [name]).fetchone():
                raise Conflict(f"A program named {name!r} exists already.")
            row = cur.execute(
                "INSERT INTO programs (name, description, min_cell_size) VALUES (?, ?, ?)"
                " RETURNING " + _PROGRAM_COLUMNS,
                [name, description, min_group_size],
            ).fetchone()
            assert row is not None
            self._audit(cur, actor, "create program", "program", row[0], f"k={min_group_size}")
            return _program(row)

        return self.write(unit)

    def program(self, program_id: int) -> Program:
        row = self._one(_PROGRAM + " WHERE id = ?", [program_id])
        if row is None:
            raise NotFound(f"No program with id {program_id}.")
        return _program(row)

    def programs(self) -> list[Program]:
        return [_program(r) for r in self._rows(_PROGRAM + " ORDER BY name")]

    def program_cohort_counts(self) -> dict[int, int]:
        rows = self._rows("SELECT program_id, count(*) FROM cohorts GROUP BY program_id")
        return {int(r[0]): int(r[1]) for r in rows}

    def set_program_description(self, actor: Actor, program_id: int, description: str) -> Program:
        def unit(cur: Cursor) -> Program:
            row = cur.execute(
                "UPDATE programs SET description = ? WHERE id = ? RETURNING " + _PROGRAM_COLUMNS,
                [description, program_id],
            ).fetchone()
            if row is None:
                raise NotFound(f"No program with id {program_id}.")
            self._audit(cur, actor, "edit program description", "program", program_id)
            return _program(row)

        return self.write(unit)

    # ----------------------------------------------------------------------- leads

    def add_program_lead(self, actor: Actor, program_id: int, user_id: int) -> None:
        def unit(cur: Cursor) -> None:
            cur.execute(
                "INSERT INTO program_leads VALUES (?, ?) ON CONFLICT DO NOTHING",
                [program_id, user_id],
            )
            self._audit(cur, actor, "assign lead", "program", program_id, f"user={user_id}")

        self.write(unit)

    def remove_program_lead(self, actor: Actor, program_id: int, user_id: int) -> None:
        def unit(cur: Cursor) -> None:
            gone = cur.execute(
                "DELETE FROM program_leads WHERE program_id = ? AND user_id = ? RETURNING user_id",
                [program_id, user_id],
            ).fetchall()
            if not gone:
                raise NotFound("That staff member does not lead this program.")
            self._audit(cur, actor, "unassign lead", "program", program_id, f"user={user_id}")

        self.write(unit)

    def program_lead_ids(self, program_id: int) -> list[int]:
        rows = self._rows("SELECT user_id FROM program_leads WHERE program_id = ?", [program_id])
        return [r[0] for r in rows]

    # ----------------------------------------------------------------------- facilitators

    def add_program_facilitator(self, actor: Actor, program_id: int, user_id: int) -> None:
        self.write(lambda cur: add_program_facilitators(cur, actor, program_id, [user_id]))

    def remove_program_facilitator(self, actor: Actor, program_id: int, user_id: int) -> None:
        def unit(cur: Cursor) -> None:
            gone = cur.execute(
                "DELETE FROM program_facilitators WHERE program_id = ? AND user_id = ?"
                " RETURNING user_id",
                [program_id, user_id],
            ).fetchone()
            if gone is None:
                raise NotFound("That facilitator does not belong to this program.")
            self._audit(
                cur, actor, "remove program facilitator", "program", program_id, f"user={user_id}"
            )

        self.write(unit)

    def program_facilitator_ids(self, program_id: int) -> list[int]:
        rows = self._rows(
            "SELECT user_id FROM program_facilitators WHERE program_id = ? ORDER BY user_id",
            [program_id],
        )
        return [r[0] for r in rows]

    def facilitator_program_ids(self, user_id: int) -> list[int]:
        """The programs a facilitator belongs to."""
        rows = self._rows(
            "SELECT program_id FROM program_facilitators WHERE user_id = ? ORDER BY program_id",
            [user_id],
        )
        return [r[0] for r in rows]

    # ----------------------------------------------------------------------- the minimum group size

    def program_pulse_opened(self, program_id: int) -> bool:
        """Whether any pulse of the program has ever opened: its minimum group size is locked."""
        row = self._one(_THRESHOLDS + " WHERE p.id = ?", [program_id])
        return bool(row and Threshold._make(row).locked)

    def set_program_min_group_size(
        self, actor: Actor, program_id: int, min_group_size: int
    ) -> Program:
        """Change the minimum group size; refused once any pulse of the program has opened
        (checked in the same transaction, so a pulse opened before the change committed is
        seen)."""

        def unit(cur: Cursor) -> Program:
            found = cur.execute(_THRESHOLDS + " WHERE p.id = ?", [program_id]).fetchone()
            if found is None:
                raise NotFound(f"No program with id {program_id}.")
            before = Threshold._make(found)
            if before.locked:
                raise Conflict(
                    f"The minimum group size of {before.name!r} is locked at {before.min_group_size}: a pulse"
                    " has opened in one of its cohorts. Answers given and results released rest"
                    " on this threshold, so it cannot change now."
                )
            # With RETURNING, as `lock_min_group_size` writes the row: see there why.
            row = cur.execute(
                "UPDATE programs SET min_cell_size = ? WHERE id = ? RETURNING " + _PROGRAM_COLUMNS,
                [min_group_size, program_id],
            ).fetchone()
            assert row is not None
            self._audit(
                cur,
                actor,
                "change minimum group size",
                "program",
                program_id,
                f"k {before.min_group_size} → {min_group_size}",
            )
            return _program(row)

        return self.write(unit)
