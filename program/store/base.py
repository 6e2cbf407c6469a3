"""The store's plumbing: the engine, transactions with retry, and migrations.

Every SQL statement of the app lives in this package, written once for both engines
(engines.py): a DuckDB file, or a PostgreSQL database several app processes share. A fresh
cursor per call.

Writes run as whole units of work inside explicit transactions. Both engines refuse the second of
two concurrent writes to one row (DuckDB's optimistic concurrency, PostgreSQL at REPEATABLE READ),
so a unit of work that lost such a race is retried from the start (not resumed) a few times
before giving up.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from program.errors import Conflict
from program.models import Actor
from program.store.engines import Cursor, open_engine

T = TypeVar("T")
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
        self.engine = open_engine(self.path)
        self.ballots = self.engine.ballot_store()
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
                self.engine.close()
                self._closed = True

    # ----------------------------------------------------------------------- plumbing

    @property
    def on_postgres(self) -> bool:
        return self.engine.name == "postgresql"

    def checkpoint(self) -> None:
        """Leave no older state of the data where the engine would keep it after a pulse closes
        (DuckDB's write-ahead log; PostgreSQL's dead ballot rows)."""
        self.engine.after_close()

    def cursor(self) -> Cursor:
        return self.engine.cursor()

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        cur = self.cursor()
        try:
            cur.execute(self.engine.begin)
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                # A failed COMMIT has already ended the transaction; ROLLBACK then errors.
                with suppress(*self.engine.errors):
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
            except self.engine.errors as exc:
                if not self.engine.lost_race(exc) and not self.engine.stuck(exc):
                    raise
                if attempt == RETRIES - 1 or self.engine.stuck(exc):
                    raise Conflict(
                        "Too many people changed the same thing at once. Please try again."
                    ) from None
                time.sleep(random.uniform(0.001, 0.004) * min(2**attempt, 32))
        raise AssertionError("unreachable")

    @contextmanager
    def _report(self) -> Iterator[Cursor]:
        """A cursor for a read over a whole program (a dashboard's), set up as the engine
        plans such reads best (engines.py, `report_settings`)."""
        cur = self.cursor()
        try:
            for statement in self.engine.report_settings:
                cur.execute(statement)
            yield cur
            if self.engine.report_settings:
                cur.execute("COMMIT")
        finally:
            cur.close()

    def _rows(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        cur = self.cursor()
        try:
            rows: list[tuple[Any, ...]] = cur.execute(sql, params).fetchall()
            return rows
        finally:
            cur.close()

    def is_answering(self) -> bool:
        """Whether the database answers a query on its migrated schema: the health check's
        question. A closed or broken connection is a no, not an error."""
        try:
            self._one("SELECT count(*) FROM schema_migrations")
        except self.engine.errors:
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
        with self.engine.migrating():
            cur = self.cursor()
            try:
                self.engine.prepare(cur)
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
                        "INSERT INTO schema_migrations VALUES (?, current_localtimestamp())",
                        [name],
                    )
                applied.append(name)
            return applied

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM schema_migrations ORDER BY name")]

    def table_columns(self, table: str) -> list[str]:
        rows = self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
            " AND table_schema = current_schema() ORDER BY ordinal_position",
            [table],
        )
        return [r[0] for r in rows]
