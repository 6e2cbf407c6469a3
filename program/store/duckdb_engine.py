"""DuckDB: one file, one process. The default engine (engines.py)."""

from __future__ import annotations

import tempfile
from contextlib import AbstractContextManager, nullcontext, suppress
from pathlib import Path

import duckdb
import pandas as pd

from program.errors import DatabaseLocked
from program.store.ballots import BallotBox
from program.store.engines import Cursor

# Extensions beyond those built into the wheel would be downloaded on first use, which hangs and
# then fails on a machine without internet; refuse instead so the failure is immediate and clear.
CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class DuckDBEngine:
    """One DuckDB connection per process; each call takes a cursor of its own."""

    name = "duckdb"
    errors: tuple[type[BaseException], ...] = (duckdb.Error,)
    begin = "BEGIN TRANSACTION"
    report_settings: tuple[str, ...] = ()

    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(path, config=CONNECT_CONFIG)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DatabaseLocked(
                    f"Another process has {path} open (most likely the running app)."
                    " Stop the app first, or do this from the app's admin page."
                ) from exc
            raise

    def cursor(self) -> Cursor:
        return self._con.cursor()

    def lost_race(self, exc: BaseException) -> bool:
        # Optimistic concurrency: the second of two writes to one row fails. A duplicate key
        # from a concurrent insert surfaces only at COMMIT; running the unit again lets its own
        # check see the other row and refuse with a clear message.
        if isinstance(exc, duckdb.TransactionException):
            return True
        return isinstance(exc, duckdb.ConstraintException) and "Duplicate key" in str(exc)

    def stuck(self, exc: BaseException) -> bool:
        """DuckDB never waits for a lock: the loser of a race fails at once."""
        return False

    def ballot_store(self) -> BallotBox:
        if self.path == ":memory:":
            return BallotBox(Path(tempfile.mkdtemp(prefix="program-ballots-")))
        return BallotBox(Path(self.path).with_name(Path(self.path).name + ".ballots"))

    def insert_frame(self, cur: Cursor, table: str, frame: pd.DataFrame) -> None:
        """Insert a data frame's rows into `table` (one of the store's fixed names), columns by
        name."""
        con: duckdb.DuckDBPyConnection = cur  # type: ignore[assignment]
        con.register("frame", frame)
        try:
            con.execute("INSERT INTO " + table + " BY NAME SELECT * FROM frame")
        finally:
            con.unregister("frame")

    def prepare(self, cur: Cursor) -> None:
        """Nothing to do: the migrations are written in DuckDB's words."""

    def migrating(self) -> AbstractContextManager[None]:
        """Nothing to hold: only this process has the file open."""
        return nullcontext()

    def after_close(self) -> None:
        """Fold the write-ahead log into the database file and remove it, so no older state of
        the data survives in the log. Best effort: if DuckDB cannot checkpoint now, the log
        holds nothing that the next checkpoint will not fold in the same way."""
        cur = self.cursor()
        try:
            with suppress(duckdb.Error):
                cur.execute("CHECKPOINT")
        finally:
            cur.close()

    def after_restore(self) -> None:
        """Nothing: DuckDB keeps no statistics a bulk load could leave stale."""

    def close(self) -> None:
        self._con.close()
