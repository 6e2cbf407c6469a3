"""PostgreSQL: one database shared by several app processes (engines.py, docs/deploy.md).

The store's SQL is written with DuckDB's placeholders (`?` and `$name`); a statement is
translated once into PostgreSQL's numbered ones (`$1`) and sent as it is, with no client-side
quoting. Connections come from a pool, one per cursor, and run in autocommit mode: a unit of
work opens its own transaction (engines.py says at which isolation level, and why).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any

import pandas as pd
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.numeric import FloatLoader
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from program.errors import Conflict, DatabaseUnavailable, PulseUnavailable, UnsafeDatabase
from program.store.ballots import BUSY, Ballot, BallotContents, _response, sort_batch
from program.store.engines import Cursor, rows_of
from program.store.pulse import CLOSED

# Connections per app process. Each Streamlit session's call holds one only while it runs.
POOL_SIZE = 20
# How long the first connection at start may take.
CONNECT_TIMEOUT_SECONDS = 10
# How long a call waits for a free connection before giving up with a clear error.
POOL_WAIT_SECONDS = 30.0
# Tries at rewriting the ballot tables after a close before leaving it to the next one.
_REWRITE_TRIES = 3
# How long a statement waits for a lock held by another transaction (milliseconds).
LOCK_WAIT_MS = 5000
# A number every app process agrees on: whoever holds this advisory lock migrates.
_MIGRATION_LOCK = 0x50524F47

# Strings, quoted identifiers, and the two kinds of placeholder.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|\$[A-Za-z_]\w*")

# Server settings that would write answers, or when they were given, where the app cannot wipe
# them: each with the values that are safe. Answers travel as statement parameters, so a log of
# statements with their parameters is a log of answers with the time each arrived.
_SAFE_SETTINGS: dict[str, tuple[str, ...]] = {
    "track_commit_timestamp": ("off",),  # would date every committed transaction
    "log_statement": ("none", "ddl"),  # 'mod' and 'all' log every INSERT with its values
    "log_min_duration_statement": ("-1",),  # logs statements (and parameters) past a duration
    "log_min_duration_sample": ("-1",),  # the same for a sample (of log_statement_sample_rate)
    "log_transaction_sample_rate": ("0",),  # logs every statement of sampled transactions
    "log_parameter_max_length_on_error": ("0",),  # logs parameters of a failed statement
}


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """A statement in PostgreSQL's placeholders, and the parameter names in their order (None
    when the statement uses `?`). String literals and quoted names are left as they are."""
    names: dict[str, int] = {}
    positional = 0

    def number(match: re.Match[str]) -> str:
        nonlocal positional
        token = match.group(0)
        if token == "?":
            positional += 1
            return f"${positional}"
        if token.startswith("$"):
            name = token[1:]
            names.setdefault(name, len(names) + 1)
            return f"${names[name]}"
        return token

    text = _TOKENS.sub(number, sql)
    if names and positional:
        raise ValueError("a statement uses both ? and $name placeholders")
    return text, (tuple(names) if names else None)


def _values(names: tuple[str, ...] | None, params: Any) -> Sequence[Any]:
    if params is None:
        return ()
    if names is None:
        return list(params)
    assert isinstance(params, Mapping)
    return [params[n] for n in names]


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


class PostgresCursor:
    """A pooled connection behind DuckDB's cursor interface, for as long as one call needs it."""

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]]) -> None:
        self._pool = pool
        self._con = pool.getconn()
        self._cur: psycopg.RawCursor[Any] = psycopg.RawCursor(self._con)

    def execute(self, query: str, parameters: Any = None) -> PostgresCursor:
        text, names = translate(query)
        self._cur.execute(text, _values(names, parameters))
        return self

    def executemany(self, query: str, parameters: Any = ()) -> PostgresCursor:
        text, names = translate(query)
        self._cur.executemany(text, [_values(names, p) for p in parameters])
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._cur.fetchall()
        return rows

    def df(self) -> pd.DataFrame:
        """The result as a data frame typed as DuckDB types it (dates as datetime64)."""
        columns = [c.name for c in self._cur.description or []]
        frame = pd.DataFrame(self._cur.fetchall(), columns=columns)
        for column in frame.columns:
            values = frame[column]
            first = values.first_valid_index() if values.dtype == object else None
            if first is not None and _is_date(values[first]):
                frame[column] = pd.to_datetime(values)
        return frame

    def copy_rows(self, statement: str, rows: Iterator[tuple[Any, ...]]) -> None:
        with self._cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        if self._con is not None:
            self._cur.close()
            self._pool.putconn(self._con)
            self._con = None  # type: ignore[assignment]


def _configure(con: psycopg.Connection[Any]) -> None:
    # A unit waits this long for a row another unit holds, then gives up with a clear message
    # (engines.py): units take milliseconds, so a longer wait means something is stuck.
    con.execute("SET lock_timeout = " + str(LOCK_WAIT_MS))
    # The store reads JSON as the text it stored (as DuckDB returns it) and NUMERIC (what
    # PostgreSQL's avg() and sum() of integers give) as a float.
    con.adapters.register_loader("json", TextLoader)
    con.adapters.register_loader("jsonb", TextLoader)
    con.adapters.register_loader("numeric", FloatLoader)


def unsafe_settings(settings: Mapping[str, str]) -> list[str]:
    """The server settings that would keep answers or their times, as 'name = value'."""
    return [
        f"{name} = {settings[name]}"
        for name, safe in _SAFE_SETTINGS.items()
        if name in settings and settings[name] not in safe
    ]


class PostgresEngine:
    """A pool of connections to one PostgreSQL database."""

    name = "postgresql"
    errors: tuple[type[BaseException], ...] = (psycopg.Error,)
    begin = "BEGIN ISOLATION LEVEL REPEATABLE READ"
    # A dashboard joins every session of thousands of cohorts with what their curriculum asks,
    # passed in as arrays: PostgreSQL cannot tell how many rows such a join makes (measured at
    # 5,000 cohorts: 648 guessed, 135,000 made), picks a nested loop of index lookups, and takes
    # 1.6 times as long as with hash joins. So those reads run without nested loops.
    report_settings: tuple[str, ...] = (
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "SET LOCAL enable_nestloop = off",
    )

    def __init__(self, url: str) -> None:
        self.url = url
        # One plain connection first: it fails at once, with the server's own reason (refused,
        # unknown database, wrong password), where the pool would retry until its timeout.
        try:
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
        except psycopg.OperationalError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            reason = lines[-1] if lines else type(exc).__name__
            raise DatabaseUnavailable(
                f"Cannot reach the PostgreSQL database at {_safe(url)} ({reason})."
                " Check that the server is running and that PROGRAM_DATABASE is right."
            ) from None
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            timeout=POOL_WAIT_SECONDS,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=POOL_WAIT_SECONDS)
        except PoolTimeout:
            self._pool.close()
            raise DatabaseUnavailable(
                f"The PostgreSQL database at {_safe(url)} did not answer within"
                f" {POOL_WAIT_SECONDS:.0f} seconds."
            ) from None
        try:
            self._refuse_unsafe_settings()
        except BaseException:
            self._pool.close()
            raise

    def _refuse_unsafe_settings(self) -> None:
        cur = self.cursor()
        try:
            rows = cur.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(?::TEXT[])",
                [list(_SAFE_SETTINGS)],
            ).fetchall()
        finally:
            cur.close()
        unsafe = unsafe_settings({str(n): str(v) for n, v in rows})
        if unsafe:
            raise UnsafeDatabase(
                "This PostgreSQL server is set to log statements or date transactions, which"
                " would keep participants' answers or when each arrived: "
                + "; ".join(unsafe)
                + ". Change these settings (docs/deploy.md, 'PostgreSQL settings'), then start"
                " the app again."
            )

    def cursor(self) -> Cursor:
        return PostgresCursor(self._pool)

    def lost_race(self, exc: BaseException) -> bool:
        # REPEATABLE READ refuses the second of two writes to one row (serialization failure);
        # two units may also wait on each other (deadlock), or insert one key at once.
        return isinstance(
            exc,
            pg_errors.SerializationFailure | pg_errors.DeadlockDetected | pg_errors.UniqueViolation,
        )

    def stuck(self, exc: BaseException) -> bool:
        return isinstance(exc, pg_errors.LockNotAvailable)

    def ballot_store(self) -> PostgresBallots:
        return PostgresBallots(self)

    def insert_frame(self, cur: Cursor, table: str, frame: pd.DataFrame) -> None:
        """Insert a data frame's rows into `table` (one of the store's fixed names) by COPY."""
        assert isinstance(cur, PostgresCursor)
        columns = ", ".join('"' + str(c).replace('"', '""') + '"' for c in frame.columns)
        cur.copy_rows("COPY " + table + " (" + columns + ") FROM STDIN", iter(rows_of(frame)))

    def prepare(self, cur: Cursor) -> None:
        """Give PostgreSQL the two DuckDB words the migrations use, and the ballot tables."""
        folder = resources.files("program") / "migrations" / "postgresql"
        for name in sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql")):
            cur.execute((folder / name).read_text(encoding="utf-8"))
        # A rewrite an earlier close could not do (after_close) is done now.
        self.after_close()

    @contextlib.contextmanager
    def migrating(self) -> Iterator[None]:
        """One process at a time: replicas starting together must not apply a migration twice."""
        cur = self.cursor()
        try:
            cur.execute("SELECT pg_advisory_lock(?)", [_MIGRATION_LOCK])
            try:
                yield
            finally:
                cur.execute("SELECT pg_advisory_unlock(?)", [_MIGRATION_LOCK])
        finally:
            cur.close()

    def after_close(self) -> None:
        """Rewrite the ballot tables, so no dead row keeps the order a closed pulse's answers
        arrived in (PostgreSQL keeps deleted rows in place until a vacuum).

        Best effort, after the close has committed: the rewrite needs the tables to itself for
        a moment, and if other replicas keep them busy past a few tries, the next close or the
        next start of any replica does it (the close must not fail for it)."""
        for attempt in range(_REWRITE_TRIES):
            cur = self.cursor()
            try:
                cur.execute("VACUUM FULL ballots.answers, ballots.used_cards, ballots.tallies")
                return
            except psycopg.Error:
                time.sleep(0.05 * (attempt + 1))
            finally:
                cur.close()

    def after_restore(self) -> None:
        """Gather the planner's statistics of the restored tables now, rather than when
        autovacuum gets to them: the first dashboards after a restore are planned on them."""
        cur = self.cursor()
        try:
            cur.execute("ANALYZE")
        finally:
            cur.close()

    def close(self) -> None:
        self._pool.close()


def _safe(url: str) -> str:
    """A URL without its password, for messages."""
    return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", url)


class PostgresBallots:
    """Open pulses' answers in the `ballots` tables (migrations/postgresql/1_ballots.sql).

    Every replica writes here, so the checks that a SQLite file's lock gives one machine come
    from row locks: a batch locks its pulse's tally row first, and a close locks the same row
    first, so the two never interleave; a tally row that is gone means the pulse closed."""

    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    @contextlib.contextmanager
    def _transaction(self, begin: str = "BEGIN") -> Iterator[Cursor]:
        cur = self._engine.cursor()
        try:
            cur.execute(begin)
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    cur.execute("ROLLBACK")
                raise
        finally:
            cur.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._engine.cursor()
        try:
            rows: list[tuple[Any, ...]] = cur.execute(sql, params).fetchall()
            return rows
        finally:
            cur.close()

    def create(self, session_id: int) -> None:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO ballots.tallies (session_id) VALUES (?) ON CONFLICT DO NOTHING",
                [session_id],
            )

    def create_in(self, cur: Cursor, session_id: int) -> None:
        """A pulse's tally, made in the transaction that opens the pulse: a pulse without one
        counts as closed (`cast`), so no crash or failed call between two transactions may leave
        an open pulse without it."""
        cur.execute(
            "INSERT INTO ballots.tallies (session_id) VALUES (?) ON CONFLICT DO NOTHING",
            [session_id],
        )

    def exists(self, session_id: int) -> bool:
        return bool(self._rows("SELECT 1 FROM ballots.tallies WHERE session_id = ?", [session_id]))

    def sessions(self) -> list[int]:
        rows = self._rows(
            "SELECT session_id FROM ballots.tallies UNION"
            " SELECT session_id FROM ballots.answers UNION"
            " SELECT session_id FROM ballots.used_cards ORDER BY 1"
        )
        return [int(r[0]) for r in rows]

    def cast(self, session_id: int, batch: Sequence[Ballot], cap: int) -> list[str]:
        """Store a batch in one transaction, by the rule of `sort_batch` (ballots.py). The
        pulse's tally row is locked first; if it is gone, the pulse closed meanwhile on some
        replica."""
        try:
            with self._transaction() as cur:
                row = cur.execute(
                    "SELECT accepted FROM ballots.tallies WHERE session_id = ? FOR UPDATE",
                    [session_id],
                ).fetchone()
                if row is None:
                    raise PulseUnavailable(CLOSED)

                def spend(card_hash: str) -> bool:
                    added = cur.execute(
                        "INSERT INTO ballots.used_cards VALUES (?, ?)"
                        " ON CONFLICT DO NOTHING RETURNING 1",
                        [card_hash, session_id],
                    ).fetchone()
                    return added is not None

                outcomes, stored, typed_in = sort_batch(batch, int(row[0]), cap, spend)
                if stored:
                    cur.execute(
                        "INSERT INTO ballots.answers (session_id, payload)"
                        " SELECT ?, unnest(?::TEXT[])",
                        [session_id, stored],
                    )
                    cur.execute(
                        "UPDATE ballots.tallies SET accepted = accepted + ?,"
                        " typed_in = typed_in + ? WHERE session_id = ?",
                        [len(stored), typed_in, session_id],
                    )
                return outcomes
        except pg_errors.LockNotAvailable as exc:
            raise Conflict(BUSY) from exc

    def accepted(self, session_id: int) -> int:
        rows = self._rows("SELECT accepted FROM ballots.tallies WHERE session_id = ?", [session_id])
        return int(rows[0][0]) if rows else 0

    def contents(self, session_id: int) -> BallotContents:
        cur = self._engine.cursor()
        try:
            return self.take(cur, session_id, remove=False)
        finally:
            cur.close()

    @staticmethod
    def take(cur: Cursor, session_id: int, remove: bool = True) -> BallotContents:
        """Every answer of a pulse, read (and removed) in the caller's transaction. Its first
        statement locks the tally row: a batch being stored now finishes first, and a unit at
        REPEATABLE READ whose snapshot missed it fails and runs again."""
        tally = cur.execute(
            "SELECT typed_in FROM ballots.tallies WHERE session_id = ?"
            + (" FOR UPDATE" if remove else ""),
            [session_id],
        ).fetchone()
        payloads = [
            str(r[0])
            for r in cur.execute(
                "SELECT payload FROM ballots.answers WHERE session_id = ?", [session_id]
            ).fetchall()
        ]
        if remove:
            for table in ("answers", "used_cards", "tallies"):
                cur.execute("DELETE FROM ballots." + table + " WHERE session_id = ?", [session_id])
        return BallotContents([_response(p) for p in payloads], int(tally[0]) if tally else 0)

    def discard(self, session_id: int) -> None:
        """Remove a pulse's ballots; if there were any, rewrite the tables so no dead row keeps
        them (a close has removed its own already and rewrites them after)."""
        removed = 0
        with self._transaction() as cur:
            for table in ("answers", "used_cards", "tallies"):
                removed += len(
                    cur.execute(
                        "DELETE FROM ballots." + table + " WHERE session_id = ? RETURNING 1",
                        [session_id],
                    ).fetchall()
                )
        if removed:
            self._engine.after_close()
