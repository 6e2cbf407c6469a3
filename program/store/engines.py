"""The two database engines the store runs on, behind one small interface.

`PROGRAM_DATABASE` names a DuckDB file (the default: one process, nothing to install) or a
`postgresql://` URL (several app processes on one shared database; docs/deploy.md). The store's
SQL is written once and runs on both; what differs lives here and in postgres.py:

- how a connection and a cursor are had (one DuckDB connection per process, a cursor per call;
  a pool of PostgreSQL connections, one per cursor);
- how a transaction begins: DuckDB's snapshot isolation refuses the second of two writes to one
  row, and PostgreSQL does the same at REPEATABLE READ. The store's guarantees (cap, cards, admin
  guard, the k lock, stale forms) rest on exactly that, so no unit of work runs at PostgreSQL's
  default READ COMMITTED, which lets both writes through (a batch of ballots, which takes its
  pulse's row lock before anything else, is the one transaction that may);
- which errors mean "a concurrent write won, run the unit again";
- where an open pulse keeps its answers (ballot files beside a DuckDB file; tables of their own
  on PostgreSQL, which every replica sees);
- loading a data frame in bulk, and cleaning up after a pulse closes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import pandas as pd


class Cursor(Protocol):
    """What the store asks of a cursor: the common ground of DuckDB's and psycopg's."""

    def execute(self, query: str, parameters: Any = ...) -> Any: ...
    def executemany(self, query: str, parameters: Any = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...
    def df(self) -> pd.DataFrame: ...
    def close(self) -> None: ...


class BallotStore(Protocol):
    """Where an open pulse keeps its answers until it closes (ballots.py, postgres.py)."""

    def create(self, session_id: int) -> None: ...
    def create_in(self, cur: Any, session_id: int) -> None: ...
    def exists(self, session_id: int) -> bool: ...
    def sessions(self) -> list[int]: ...
    def cast(self, session_id: int, batch: Sequence[Any], cap: int) -> list[str]: ...
    def accepted(self, session_id: int) -> int: ...
    def contents(self, session_id: int) -> Any: ...
    def take(self, cur: Any, session_id: int) -> Any: ...
    def discard(self, session_id: int) -> None: ...


class Engine(Protocol):
    name: str
    # Every error the engine's driver raises.
    errors: tuple[type[BaseException], ...]
    # The statement that begins a unit of work.
    begin: str
    # Statements that set up a transaction reading a whole program for a dashboard (none: the
    # engine plans such reads well as they are).
    report_settings: tuple[str, ...]

    def cursor(self) -> Cursor: ...
    def lost_race(self, exc: BaseException) -> bool: ...
    def stuck(self, exc: BaseException) -> bool: ...
    def ballot_store(self) -> BallotStore: ...
    def insert_frame(self, cur: Cursor, table: str, frame: pd.DataFrame) -> None: ...
    def prepare(self, cur: Cursor) -> None: ...
    def migrating(self) -> AbstractContextManager[None]: ...
    def after_close(self) -> None: ...
    def after_restore(self) -> None: ...
    def close(self) -> None: ...


def is_postgres(database: str | Path) -> bool:
    return str(database).startswith(("postgresql://", "postgres://"))


def open_engine(database: str | Path) -> Engine:
    """The engine a database setting names: a PostgreSQL URL, or else a DuckDB file path."""
    if is_postgres(database):
        from program.store.postgres import PostgresEngine

        return PostgresEngine(str(database))
    from program.store.duckdb_engine import DuckDBEngine

    return DuckDBEngine(str(database))


def rows_of(frame: pd.DataFrame) -> Iterable[tuple[Any, ...]]:
    """A data frame's rows as plain Python values (NaN and NaT become None)."""
    plain = frame.astype(object).where(frame.notna(), None)
    rows: Iterable[tuple[Any, ...]] = plain.itertuples(index=False, name=None)
    return rows
