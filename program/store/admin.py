"""Admin work on the whole database: program settings, cohort deletion, backup and restore, the
filtered audit log.

A few statements here name tables, columns, sequences or a folder, which SQL cannot take as
parameters. Those names come only from DuckDB's own catalog or from a folder this process created,
never from what a person typed, and are quoted with `_name` / `_text` before use.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from program.errors import Conflict, InvalidInput, NotFound
from program.models import Actor, AuditEvent, Program
from program.store.audit import audit_event
from program.store.base import Cursor, StoreBase

_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')+)'\)$")

# How a row belongs to a cohort: through one of these columns. Every table is searched for them,
# so a table added by a later migration (scores, cell summaries, ...) is covered without a change
# here, and nothing keyed to a deleted cohort can be left behind.
COHORT_LINKS = ("cohort_id", "session_id", "member_id", "response_id")

# Tables whose row counts would tell how many people answered a pulse, even one still open or
# below the minimum group size (card codes: how many cards were used). Deletion removes them but
# never counts them aloud, in the preview or the audit log: nothing about answers is shown before
# close or below k (docs/design.md, "Privacy rules").
ANSWER_TABLES = frozenset(
    {"responses", "answers", "scores", "cell_summaries", "cell_counts", "card_codes"}
)


def without_answer_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """`counts` with the tables of `ANSWER_TABLES` left out."""
    return {t: n for t, n in counts.items() if t not in ANSWER_TABLES}


# What the audit filter may show a list of: a fixed column per choice, never a name a person typed.
AUDIT_CHOICES = {
    "actor": "SELECT DISTINCT actor FROM audit_events ORDER BY actor",
    "action": "SELECT DISTINCT action FROM audit_events ORDER BY action",
    "object_type": "SELECT DISTINCT object_type FROM audit_events ORDER BY object_type",
}
_AUDIT_WHERE = (
    " WHERE ($actor IS NULL OR actor = $actor)"
    " AND ($action IS NULL OR action = $action)"
    " AND ($object_type IS NULL OR object_type = $object_type)"
    " AND ($since IS NULL OR occurred_at >= $since)"
    " AND ($before IS NULL OR occurred_at < $before)"
)


class UnreadableData(InvalidInput):
    """A backup's files cannot be read, or their rows do not fit this app's tables."""


def _name(identifier: str) -> str:
    """A quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def _text(value: str) -> str:
    """A quoted SQL string literal, for the one statement (EXPORT DATABASE) that takes no parameter."""
    return "'" + value.replace("'", "''") + "'"


class AdminQueries(StoreBase):
    def _named(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of a query with named ($name) parameters."""
        cur = self.cursor()
        try:
            return cur.execute(sql, dict(params)).fetchall()
        finally:
            cur.close()

    # ----------------------------------------------------------------------- programs

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

    def set_program_description(self, actor: Actor, program_id: int, description: str) -> Program:
        def unit(cur: Cursor) -> Program:
            row = cur.execute(
                "UPDATE programs SET description = ? WHERE id = ?"
                " RETURNING id, name, description, min_cell_size",
                [description, program_id],
            ).fetchone()
            if row is None:
                raise NotFound(f"No program with id {program_id}.")
            self._audit(cur, actor, "edit program description", "program", program_id)
            return Program(id=row[0], name=row[1], description=row[2], min_cell_size=row[3])

        return self.write(unit)

    _PROGRAM_PULSES = (
        "SELECT EXISTS (SELECT 1 FROM pulse_windows w JOIN sessions s ON s.id = w.session_id"
        " JOIN cohorts c ON c.id = s.cohort_id WHERE c.program_id = ?)"
    )

    def program_cohort_counts(self) -> dict[int, int]:
        rows = self._rows("SELECT program_id, count(*) FROM cohorts GROUP BY program_id")
        return {int(r[0]): int(r[1]) for r in rows}

    def set_program_min_cell_size(self, actor: Actor, program_id: int, k: int) -> Program:
        """Change k; refused once any pulse of the program has opened (checked in the same
        transaction, so a pulse opened before the change committed is seen)."""

        def unit(cur: Cursor) -> Program:
            before = cur.execute(
                "SELECT name, min_cell_size FROM programs WHERE id = ?", [program_id]
            ).fetchone()
            if before is None:
                raise NotFound(f"No program with id {program_id}.")
            # Opening a pulse touches this program's row (UPDATE ... RETURNING, as below), so a
            # pulse opening at this very moment conflicts with the change instead of slipping past
            # this check (DuckDB detects write-write conflicts only, and sees none between a plain
            # UPDATE and an UPDATE ... RETURNING of one row: measured, see tests/test_admin.py).
            opened = cur.execute(self._PROGRAM_PULSES, [program_id]).fetchone()
            if opened and opened[0]:
                raise Conflict(
                    f"The minimum group size of {before[0]!r} is locked at {before[1]}: a pulse"
                    " has opened in one of its cohorts. Answers given and results released rest"
                    " on this threshold, so it cannot change now."
                )
            row = cur.execute(
                "UPDATE programs SET min_cell_size = ? WHERE id = ?"
                " RETURNING id, name, description, min_cell_size",
                [k, program_id],
            ).fetchone()
            assert row is not None
            self._audit(
                cur,
                actor,
                "change minimum group size",
                "program",
                program_id,
                f"k {before[1]} → {k}",
            )
            return Program(id=row[0], name=row[1], description=row[2], min_cell_size=row[3])

        return self.write(unit)

    # ----------------------------------------------------------------------- cohort deletion

    @staticmethod
    def _cohort_rows(cur: Cursor, cohort_id: int) -> list[tuple[str, str, dict[str, Any]]]:
        """For each table holding rows of the cohort: its name, the condition and its parameters.

        The cohort's session, roster member and response ids are read first, so the rows can be
        deleted in any order within the transaction."""
        keys: dict[str, list[Any]] = {
            "cohort_id": [cohort_id],
            "session_id": [
                r[0]
                for r in cur.execute(
                    "SELECT id FROM sessions WHERE cohort_id = ?", [cohort_id]
                ).fetchall()
            ],
            "member_id": [
                r[0]
                for r in cur.execute(
                    "SELECT id FROM roster_members WHERE cohort_id = ?", [cohort_id]
                ).fetchall()
            ],
            "response_id": [
                r[0]
                for r in cur.execute(
                    "SELECT r.id FROM responses r JOIN sessions s ON s.id = r.session_id"
                    " WHERE s.cohort_id = ?",
                    [cohort_id],
                ).fetchall()
            ],
        }
        linked: dict[str, list[str]] = {}
        for table, column in cur.execute(
            "SELECT table_name, column_name FROM duckdb_columns()"
            " WHERE database_name = current_database() AND schema_name = 'main'"
            " AND column_name IN (SELECT unnest(?)) ORDER BY table_name, column_index",
            [list(COHORT_LINKS)],
        ).fetchall():
            linked.setdefault(table, []).append(column)
        out: list[tuple[str, str, dict[str, Any]]] = [
            ("cohorts", "id = $cohort_id", {"cohort_id": cohort_id})
        ]
        for table, columns in sorted(linked.items()):
            condition = " OR ".join(f"{_name(c)} IN (SELECT unnest(${c}))" for c in columns)
            out.append((table, condition, {c: keys[c] for c in columns}))
        return out

    def cohort_data_counts(self, cohort_id: int) -> dict[str, int]:
        """How many rows of each table deleting the cohort's data would remove."""
        cur = self.cursor()
        try:
            counts = {}
            for table, condition, params in self._cohort_rows(cur, cohort_id):
                row = cur.execute(
                    f"SELECT count(*) FROM {_name(table)} WHERE {condition}", params
                ).fetchone()
                counts[table] = int(row[0]) if row else 0
            return counts
        finally:
            cur.close()

    def delete_cohort_data(self, actor: Actor, cohort_id: int, name: str) -> dict[str, int]:
        """Remove every row of one cohort in one transaction; the audit event stays.

        `name` is the name the admin confirmed: if the cohort was renamed meanwhile, nothing is
        deleted."""

        def unit(cur: Cursor) -> dict[str, int]:
            row = cur.execute(
                "SELECT name, program_id FROM cohorts WHERE id = ?", [cohort_id]
            ).fetchone()
            if row is None:
                raise NotFound(f"No cohort with id {cohort_id}; it may have been deleted already.")
            if row[0] != name:
                raise Conflict("The cohort was renamed meanwhile. Check the name and try again.")
            counts = {}
            for table, condition, params in self._cohort_rows(cur, cohort_id):
                done = cur.execute(
                    f"DELETE FROM {_name(table)} WHERE {condition}", params
                ).fetchone()
                counts[table] = int(done[0]) if done else 0
            summary = ", ".join(f"{t}={n}" for t, n in without_answer_counts(counts).items() if n)
            if any(counts.get(t) for t in ANSWER_TABLES):
                summary += ", and its anonymous pulse answers (not counted)"
            self._audit(
                cur,
                actor,
                "delete cohort data",
                "cohort",
                cohort_id,
                f"{name!r} (program {row[1]}): {summary}",
            )
            return counts

        return self.write(unit)

    # ----------------------------------------------------------------------- backup and restore

    def export_database(self, actor: Actor, folder: Path) -> None:
        """Write every table as Parquet plus schema.sql and load.sql into a new folder.

        The audit event is written first in the same transaction, so the backup holds the record
        of its own making, and the event exists only if the export succeeded."""

        def unit(cur: Cursor) -> None:
            if folder.exists():  # left by an attempt that lost a write conflict
                shutil.rmtree(folder)
            self._audit(cur, actor, "export backup", "database", "backup", "whole database")
            # EXPORT DATABASE takes no parameters; the folder is one this process just created.
            cur.execute(f"EXPORT DATABASE {_text(str(folder))} (FORMAT parquet)")

        self.write(unit)

    def base_tables(self) -> list[str]:
        rows = self._rows(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
            " AND schema_name = 'main' AND NOT temporary ORDER BY table_name"
        )
        return [r[0] for r in rows]

    def parquet_columns(self, path: Path, table: str) -> list[str]:
        """The column names of a Parquet file holding the rows of `table`."""
        try:
            rows = self._rows("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)])
        except duckdb.Error:
            raise UnreadableData(f"the file for {table} is not readable Parquet.") from None
        return [r[0] for r in rows]

    def parquet_migrations(self, path: Path) -> list[str]:
        """The migration names in an exported schema_migrations table."""
        try:
            rows = self._rows("SELECT name FROM read_parquet(?) ORDER BY name", [str(path)])
        except duckdb.Error:
            raise UnreadableData("its schema_migrations table cannot be read.") from None
        return [str(r[0]) for r in rows]

    def restore_tables(
        self, actor: Actor, files: Mapping[str, Path], source: str
    ) -> dict[str, int]:
        """Replace every table's rows with those in its Parquet file, in one transaction.

        Sequences are moved past the largest restored id, every sign-in session is ended (the
        restored ones may have been revoked since the backup was made), and the restore itself is
        the first audit event after the restored log. Returns the row count of each table.
        """

        def unit(cur: Cursor) -> dict[str, int]:
            before = self._program_thresholds(cur)
            counts = {}
            for table, path in sorted(files.items()):
                columns = ", ".join(_name(c) for c in self._columns_in(cur, table))
                cur.execute(f"DELETE FROM {_name(table)}")
                done = cur.execute(
                    f"INSERT INTO {_name(table)} ({columns}) SELECT {columns} FROM read_parquet(?)",
                    [str(path)],
                ).fetchone()
                counts[table] = int(done[0]) if done else 0
            changed = self._threshold_changes(cur, before)
            self._advance_sequences(cur)
            cur.execute("UPDATE staff_sessions SET revoked = TRUE WHERE NOT revoked")
            self._audit(
                cur,
                actor,
                "restore backup",
                "database",
                "backup",
                f"{source}: {sum(counts.values())} rows in {len(counts)} tables"
                + (f"; settings changed: {'; '.join(changed)}" if changed else ""),
            )
            return counts

        try:
            return self.write(unit)
        except duckdb.Error as exc:
            # Not a write conflict (write() retries those): the archive's values do not fit.
            raise UnreadableData(f"its rows do not fit this app's tables ({exc}).") from None

    @staticmethod
    def _program_thresholds(cur: Cursor) -> dict[int, tuple[str, int, bool]]:
        """Each program's name, minimum group size and whether it is locked (a pulse opened)."""
        rows = cur.execute(
            "SELECT p.id, p.name, p.min_cell_size, EXISTS (SELECT 1 FROM pulse_windows w"
            " JOIN sessions s ON s.id = w.session_id JOIN cohorts c ON c.id = s.cohort_id"
            " WHERE c.program_id = p.id) FROM programs p ORDER BY p.id"
        ).fetchall()
        return {int(r[0]): (str(r[1]), int(r[2]), bool(r[3])) for r in rows}

    def _threshold_changes(
        self, cur: Cursor, before: dict[int, tuple[str, int, bool]]
    ) -> list[str]:
        """The minimum group sizes the restored rows changed, in words; refuses (InvalidInput,
        rolling the restore back) if one of them was locked, because a pulse had opened in that
        program. An edited backup must not change the threshold participants were promised."""
        after = self._program_thresholds(cur)
        changes = []
        for program_id, (name, k, locked) in before.items():
            if program_id not in after or after[program_id][1] == k:
                continue
            new_k = after[program_id][1]
            if locked:
                raise InvalidInput(
                    f"This backup sets the minimum group size of {name!r} to {new_k}, but here it"
                    f" is locked at {k} because a pulse has opened in that program. Restoring it"
                    " would change the threshold participants were promised, so nothing was"
                    " restored."
                )
            changes.append(f"minimum group size of {name!r} {k} → {new_k}")
        return changes

    @staticmethod
    def _columns_in(cur: Cursor, table: str) -> list[str]:
        rows = cur.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database()"
            " AND schema_name = 'main' AND table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _advance_sequences(cur: Cursor) -> None:
        """Make each id sequence continue past the largest id now in its table.

        DuckDB has no setval, so draw values until past the maximum. Drawing is not undone by a
        rollback, which only leaves a gap in the ids."""
        defaults = cur.execute(
            "SELECT table_name, column_name, column_default FROM duckdb_columns()"
            " WHERE database_name = current_database() AND schema_name = 'main'"
            " AND column_default LIKE 'nextval(%'"
        ).fetchall()
        for table, column, default in defaults:
            found = _NEXTVAL.match(default)
            if found is None:
                continue
            sequence = found.group(1).replace("''", "'")
            top = cur.execute(f"SELECT max({_name(column)}) FROM {_name(table)}").fetchone()
            if top is None or top[0] is None:
                continue
            drawn = cur.execute("SELECT nextval(?)", [sequence]).fetchone()
            assert drawn is not None
            if drawn[0] < top[0]:
                cur.execute(
                    "SELECT max(nextval(?)) FROM range(?)", [sequence, int(top[0] - drawn[0])]
                ).fetchone()

    def row_counts(self) -> dict[str, int]:
        """The number of rows in every table."""
        cur = self.cursor()
        try:
            out = {}
            for table in self.base_tables():
                row = cur.execute(f"SELECT count(*) FROM {_name(table)}").fetchone()
                out[table] = int(row[0]) if row else 0
            return out
        finally:
            cur.close()

    # ----------------------------------------------------------------------- audit

    def record_audit(
        self, actor: Actor, action: str, object_type: str, object_id: Any, detail: str = ""
    ) -> None:
        """An audit event for an action that changes nothing else, such as an export."""

        def unit(cur: Cursor) -> None:
            self._audit(cur, actor, action, object_type, object_id, detail)

        self.write(unit)

    def audit_choices(self, column: str) -> list[str]:
        """The distinct values of one audit column (actor, action or object_type)."""
        return [r[0] for r in self._rows(AUDIT_CHOICES[column])]

    @staticmethod
    def _audit_filter(
        actor: str | None,
        action: str | None,
        object_type: str | None,
        since: dt.date | None,
        until: dt.date | None,
    ) -> dict[str, Any]:
        return {
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "since": dt.datetime.combine(since, dt.time()) if since else None,
            "before": dt.datetime.combine(until + dt.timedelta(days=1), dt.time())
            if until
            else None,
        }

    def matching_audit_events(
        self,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Audit events newest first; each filter left as None matches everything; dates inclusive."""
        params = self._audit_filter(actor, action, object_type, since, until)
        params["limit"] = limit
        rows = self._named(
            "SELECT id, occurred_at, actor, action, object_type, object_id, detail"
            " FROM audit_events" + _AUDIT_WHERE + " ORDER BY id DESC LIMIT $limit",
            params,
        )
        return [audit_event(r) for r in rows]

    def count_audit_events(
        self,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> int:
        params = self._audit_filter(actor, action, object_type, since, until)
        rows = self._named("SELECT count(*) FROM audit_events" + _AUDIT_WHERE, params)
        return int(rows[0][0])
