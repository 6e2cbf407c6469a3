"""The whole database at once: exporting it to Parquet, restoring it, counting its rows.

The archive is DuckDB's EXPORT DATABASE folder whatever the engine: on PostgreSQL the rows are
copied, in one snapshot, into an empty in-memory DuckDB database with the same migrations, and
exported from there; a restore reads the Parquet files with an in-memory DuckDB and copies the
rows in. So a program moves between a DuckDB file and PostgreSQL by backup and restore.

A few statements here name tables, columns, sequences or a folder, which SQL cannot take as
parameters. Those names come only from the database's own catalog or from a folder this process
created, never from what a person typed, and are quoted with `_name` / `_text` before use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from program.errors import UnreadableData
from program.models import Actor
from program.store.base import StoreBase
from program.store.duckdb_engine import CONNECT_CONFIG
from program.store.engines import Cursor
from program.store.programs import locked_min_group_size_changes, thresholds

# A column default drawing from a sequence: DuckDB writes nextval('s'), PostgreSQL
# nextval('s'::regclass).
_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')+)'(?:::regclass)?\)$")


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
            if self.on_postgres:
                self._export_through_duckdb(cur, folder)
            else:
                _export(cur, folder)

        self.write(unit)

    def _export_through_duckdb(self, cur: Cursor, folder: Path) -> None:
        """Copy every table, as this transaction sees it, into an in-memory DuckDB database with
        the same schema, and export that. Values go across as text and DuckDB casts each to its
        column's type, so nothing depends on how either driver maps types."""
        with _in_memory_duckdb() as duck:
            for table in self._tables(cur):
                columns = self._columns_in(cur, table)
                quoted = ", ".join(_name(c) for c in columns)
                rows = cur.execute(f"SELECT {quoted} FROM {_name(table)}").fetchall()
                duck.execute(f"DELETE FROM {_name(table)}")
                if rows:
                    frame = pd.DataFrame(
                        [[_as_text(v) for v in row] for row in rows], columns=columns, dtype=object
                    )
                    duck.register("frame", frame)
                    duck.execute(f"INSERT INTO {_name(table)} BY NAME SELECT * FROM frame")
                    duck.unregister("frame")
            _export(duck, folder)

    @staticmethod
    def _tables(cur: Cursor) -> list[str]:
        rows = cur.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def base_tables(self) -> list[str]:
        cur = self.cursor()
        try:
            return self._tables(cur)
        finally:
            cur.close()

    def parquet_columns(self, path: Path, table: str) -> list[str]:
        """The column names of a Parquet file holding the rows of `table`."""
        try:
            with _parquet_reader() as duck:
                rows = duck.execute(
                    "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
                ).fetchall()
        except duckdb.Error:
            raise UnreadableData(f"the file for {table} is not readable Parquet.") from None
        return [r[0] for r in rows]

    def parquet_migrations(self, path: Path) -> list[str]:
        """The migration names in an exported schema_migrations table."""
        try:
            with _parquet_reader() as duck:
                rows = duck.execute(
                    "SELECT name FROM read_parquet(?) ORDER BY name", [str(path)]
                ).fetchall()
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
                names = self._columns_in(cur, table)
                columns = ", ".join(_name(c) for c in names)
                cur.execute(f"DELETE FROM {_name(table)}")
                if self.on_postgres:
                    counts[table] = self._copy_parquet(cur, table, names, path)
                    continue
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

        failures: tuple[type[BaseException], ...] = (duckdb.Error, *self.engine.errors)
        try:
            counts = self.write(unit)
        except failures as exc:
            # Not a write conflict (write() retries those): the archive's values do not fit.
            raise UnreadableData(f"its rows do not fit this app's tables ({exc}).") from None
        self.engine.after_restore()
        return counts

    def _copy_parquet(self, cur: Cursor, table: str, columns: list[str], path: Path) -> int:
        """Copy a Parquet file's rows into `table` (PostgreSQL); how many there were."""
        quoted = ", ".join(_name(c) for c in columns)
        with _parquet_reader() as duck:
            rows = duck.execute(f"SELECT {quoted} FROM read_parquet(?)", [str(path)]).fetchall()
        # Plain Python values (not a typed frame, where a nullable integer turns into a float).
        frame = pd.DataFrame(rows, columns=columns, dtype=object)
        self.engine.insert_frame(cur, _name(table), frame)
        return len(frame)

    @staticmethod
    def _columns_in(cur: Cursor, table: str) -> list[str]:
        rows = cur.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _advance_sequences(cur: Cursor) -> None:
        """Make each id sequence continue past the largest id now in its table.

        DuckDB has no setval, so draw values until past the maximum (on both engines, so there
        is one way). Drawing is not undone by a rollback, which only leaves a gap in the ids."""
        defaults = cur.execute(
            "SELECT table_name, column_name, column_default FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'"
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
                    "SELECT max(nextval(?)) FROM generate_series(1, ?)",
                    [sequence, int(top[0] - drawn[0])],
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


def _export(con: Any, folder: Path) -> None:
    """DuckDB's EXPORT DATABASE into `folder`, which this process just chose."""
    # EXPORT DATABASE takes no parameters; the folder is one this process just created.
    con.execute(f"EXPORT DATABASE {_text(str(folder))} (FORMAT parquet)")


@contextlib.contextmanager
def _parquet_reader() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection: what reads a backup's Parquet files on either engine."""
    con = duckdb.connect(":memory:", config=CONNECT_CONFIG)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def _in_memory_duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty in-memory DuckDB database with every migration applied, as a DuckDB file has."""
    from program.store.base import StoreBase

    mirror = StoreBase(":memory:")
    try:
        cur = mirror.cursor()
        try:
            yield cur  # type: ignore[misc]
        finally:
            cur.close()
    finally:
        folder = getattr(mirror.ballots, "folder", None)
        mirror.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _as_text(value: object) -> str | None:
    """A value as text DuckDB casts back exactly: floats by repr, times in ISO form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)
