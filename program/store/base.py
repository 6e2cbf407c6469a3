"""The store's plumbing: the connection, transactions with retry, and migrations.

Every SQL statement of the app lives in this package. One DuckDB connection per process,
a fresh cursor per call.

Writes run as whole units of work inside explicit transactions. DuckDB uses optimistic concurrency:
two threads updating the same row make one of them fail with a TransactionException, so a unit of
work is retried from the start (not resumed) a few times before giving up.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from program.errors import Conflict, DatabaseLocked
from program.models import Actor
from program.store.ballots import BallotBox

T = TypeVar("T")
Cursor = duckdb.DuckDBPyConnection

# Extensions beyond those built into the wheel would be downloaded on first use, which hangs and
# then fails on a machine without internet; refuse instead so the failure is immediate and clear.
CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
# Retries of a unit of work that lost a race. Backoff grows to ~0.1 s with jitter, so under heavy
# contention every writer eventually gets a turn (measured: 8 threads × 25 updates of one row).
RETRIES = 25


def _migrations() -> list[tuple[str, str]]:
    folder = resources.files("program") / "migrations"
    files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))
    return [
        (name.removesuffix(".sql"), (folder / name).read_text(encoding="utf-8")) for name in files
    ]


class StoreBase:
    """The connection and transactions. Safe to share between threads: each call takes its own cursor."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # The database, its log, ballot files and backups are for this process's owner alone:
        # files created from here on are readable by nobody else.
        os.umask(0o077)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.ballots = BallotBox(Path(self.path).with_name(Path(self.path).name + ".ballots"))
        else:
            self.ballots = BallotBox(Path(tempfile.mkdtemp(prefix="program-ballots-")))
        try:
            self._con = duckdb.connect(self.path, config=CONNECT_CONFIG)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DatabaseLocked(
                    f"Another process has {self.path} open (most likely the running app)."
                    " Stop the app first, or do this from the app's admin page."
                ) from exc
            raise
        self._closed = False
        self._lock = threading.Lock()
        try:
            self.migrate()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._con.close()
                self._closed = True

    # ----------------------------------------------------------------------- plumbing

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file and remove it, so no older state of
        the data survives in the log. Best effort: if DuckDB cannot checkpoint now, the log
        holds nothing that the next checkpoint will not fold in the same way."""
        cur = self.cursor()
        try:
            with suppress(duckdb.Error):
                cur.execute("CHECKPOINT")
        finally:
            cur.close()

    def cursor(self) -> Cursor:
        return self._con.cursor()

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        cur = self.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                # A failed COMMIT has already ended the transaction; ROLLBACK then errors.
                with suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise
        finally:
            cur.close()

    def write(self, unit: Callable[[Cursor], T]) -> T:
        """Run `unit` in one transaction, retrying the whole unit when a concurrent write wins."""
        for attempt in range(RETRIES):
            try:
                with self._transaction() as cur:
                    return unit(cur)
            except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
                # A duplicate key from a concurrent insert surfaces only at COMMIT; running the
                # unit again lets its own check see the other row and refuse with a clear message.
                if isinstance(exc, duckdb.ConstraintException) and "Duplicate key" not in str(exc):
                    raise
                if attempt == RETRIES - 1:
                    raise Conflict(
                        "Too many people changed the same thing at once. Please try again."
                    ) from None
                time.sleep(random.uniform(0.001, 0.004) * min(2**attempt, 32))
        raise AssertionError("unreachable")

    def _rows(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        cur = self.cursor()
        try:
            return cur.execute(sql, params).fetchall()
        finally:
            cur.close()

    def is_answering(self) -> bool:
        """Whether the database answers a query on its migrated schema: the health check's
        question. A closed or broken connection is a no, not an error."""
        try:
            self._one("SELECT count(*) FROM schema_migrations")
        except duckdb.Error:
            return False
        return True

    def _one(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> tuple[Any, ...] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    @staticmethod
    def _audit(
        cur: Cursor, actor: Actor, action: str, obj: str, obj_id: object, detail: str = ""
    ) -> None:
        cur.execute(
            "INSERT INTO audit_events (actor_id, actor, action, object_type, object_id, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [actor.user_id, actor.name, action, obj, str(obj_id), detail],
        )

    # ----------------------------------------------------------------------- migrations

    def migrate(self) -> list[str]:
        """Apply every migration not yet recorded, each in its own transaction; return their names."""
        cur = self.cursor()
        try:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
            )
            done = {r[0] for r in cur.execute("SELECT name FROM schema_migrations").fetchall()}
        finally:
            cur.close()
        applied = []
        for name, sql in _migrations():
            if name in done:
                continue
            with self._transaction() as tx:
                tx.execute(sql)
                tx.execute(
                    "INSERT INTO schema_migrations VALUES (?, current_localtimestamp())", [name]
                )
            applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM schema_migrations ORDER BY name")]

    def table_columns(self, table: str) -> list[str]:
        rows = self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
            " ORDER BY ordinal_position",
            [table],
        )
        return [r[0] for r in rows]
