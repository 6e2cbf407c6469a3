"""The whole database at once: exporting it to Parquet, restoring it, counting its rows.

A few statements here name tables, columns, sequences or a folder, which SQL cannot take as
parameters. Those names come only from DuckDB's own catalog or from a folder this process created,
never from what a person typed, and are quoted with `_name` / `_text` before use.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import duckdb

from program.errors import UnreadableData
from program.models import Actor
from program.store.base import Cursor, StoreBase
from program.store.programs import locked_min_group_size_changes, thresholds

_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')+)'\)$")


def _name(identifier: str) -> str:
    """A quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def _text(value: str) -> str:
    """A quoted SQL string literal, for the one statement (EXPORT DATABASE) that takes no parameter."""
    return "'" + value.replace("'", "''") + "'"


class BackupQueries(StoreBase):
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
        the first audit event after the restored log. A backup that would change a locked minimum
        group size is refused. Returns the row count of each table.
        """

        def unit(cur: Cursor) -> dict[str, int]:
            before = thresholds(cur)
            counts = {}
            for table, path in sorted(files.items()):
                columns = ", ".join(_name(c) for c in self._columns_in(cur, table))
                cur.execute(f"DELETE FROM {_name(table)}")
                done = cur.execute(
                    f"INSERT INTO {_name(table)} ({columns}) SELECT {columns} FROM read_parquet(?)",
                    [str(path)],
                ).fetchone()
                counts[table] = int(done[0]) if done else 0
            changed = locked_min_group_size_changes(cur, before)
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
