"""Pulse windows, card codes and anonymous responses."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from program.errors import Conflict, PulseFull, PulseUnavailable
from program.models import Actor, PulseWindow, ScoredResponse
from program.store.base import Cursor, StoreBase

_WINDOW = "SELECT session_id, room_code, opened_at, closes_at, closed_at FROM pulse_windows"

# How many responses a session's pulse may accept: the people marked present once attendance is
# taken, the active roster before that. Computed inside the submitting transaction.
_CAP = """
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM attendance WHERE session_id = $session)
    THEN (SELECT count(*) FROM attendance WHERE session_id = $session AND status = 'present')
    ELSE (SELECT count(*) FROM roster_members r JOIN sessions s ON r.cohort_id = s.cohort_id
          WHERE s.id = $session AND r.status = 'active')
END
"""


CLOSED = "This pulse has closed, so answers can no longer be added. Thank you all the same."
CARD_USED = "This card has been used already. Each card works once."
FULL = (
    "Everyone who was here today seems to have answered already, so this answer was not added."
    " If you have not answered yet, please tell your facilitator."
)


_QUEUES_GUARD = threading.Lock()


@dataclass
class _Pending:
    """One submission waiting for its window's next batch; `error` is its outcome, None if stored."""

    response: ScoredResponse
    at: dt.datetime
    card_hash: str | None
    error: BaseException | None = None
    done: bool = False


@dataclass
class _WindowQueue:
    """Submissions to one pulse window, written in batches (group commit).

    A room's phones answer within the same minute. Each transaction costs a few milliseconds
    whatever it holds, so one submission per transaction queued them for up to a second (p95
    0.4 s with 200 at once). Instead, whoever holds `writing` takes every submission waiting
    and stores them in one transaction; the rest wait for that, then find theirs done. The
    window's counter row and the cap are still checked inside the transaction, so this is about
    speed only: correctness does not rest on the queue.
    """

    writing: threading.Lock = field(default_factory=threading.Lock)
    guard: threading.Lock = field(default_factory=threading.Lock)
    waiting: list[_Pending] = field(default_factory=list)


def _window(row: tuple[object, ...]) -> PulseWindow:
    return PulseWindow.model_validate(
        dict(
            zip(
                ["session_id", "room_code", "opened_at", "closes_at", "closed_at"], row, strict=True
            )
        )
    )


def _insert_shuffled(cur: Cursor, session_id: int, responses: Sequence[ScoredResponse]) -> None:
    """Insert responses in a random order under fresh random ids."""
    shuffled = list(responses)
    random.SystemRandom().shuffle(shuffled)
    ids = [uuid.uuid4() for _ in shuffled]
    if not ids:
        return
    _insert_rows(cur, "responses (id, session_id)", [(i, session_id) for i in ids])
    _insert_rows(
        cur,
        "answers",
        [
            (i, instrument, item, value)
            for i, response in zip(ids, shuffled, strict=True)
            for (instrument, item), value in sorted(response.answers.items())
        ],
    )
    _insert_rows(
        cur,
        "scores",
        [
            (i, instrument, score)
            for i, response in zip(ids, shuffled, strict=True)
            for instrument, score in sorted(response.scores.items())
        ],
    )


def _insert_rows(cur: Cursor, into: str, rows: Sequence[tuple[object, ...]]) -> None:
    """One INSERT for many rows: executemany runs a statement per row, ten times slower here.

    `into` is one of the fixed table clauses above, never input."""
    if not rows:
        return
    one = "(" + ", ".join("?" * len(rows[0])) + ")"
    cur.execute(
        "INSERT INTO " + into + " VALUES " + ", ".join([one] * len(rows)),
        [value for row in rows for value in row],
    )


def _summarize_cells(cur: Cursor, session_id: int) -> None:
    """Freeze the session's cell summaries: n, Σscore, Σscore² and the count of each score."""
    cur.execute("DELETE FROM cell_summaries WHERE session_id = ?", [session_id])
    cur.execute("DELETE FROM cell_counts WHERE session_id = ?", [session_id])
    cur.execute(
        "INSERT INTO cell_summaries"
        " SELECT r.session_id, s.instrument_id, count(*), sum(s.score), sum(s.score * s.score)"
        " FROM scores s JOIN responses r ON r.id = s.response_id WHERE r.session_id = ?"
        " GROUP BY r.session_id, s.instrument_id",
        [session_id],
    )
    cur.execute(
        "INSERT INTO cell_counts"
        " SELECT r.session_id, s.instrument_id, s.score, count(*)"
        " FROM scores s JOIN responses r ON r.id = s.response_id WHERE r.session_id = ?"
        " GROUP BY r.session_id, s.instrument_id, s.score",
        [session_id],
    )


class PulseQueries(StoreBase):
    def pulse_window(self, session_id: int) -> PulseWindow | None:
        row = self._one(f"{_WINDOW} WHERE session_id = ?", [session_id])
        return _window(row) if row else None

    def pulse_window_by_code(self, room_code: str) -> PulseWindow | None:
        row = self._one(f"{_WINDOW} WHERE room_code = ?", [room_code])
        return _window(row) if row else None

    def pulse_window_by_card(self, code_hash: str) -> tuple[PulseWindow, bool] | None:
        """The window a card belongs to, and whether the card was used."""
        row = self._one(
            "SELECT w.session_id, w.room_code, w.opened_at, w.closes_at, w.closed_at, c.used"
            " FROM card_codes c JOIN pulse_windows w ON w.session_id = c.session_id"
            " WHERE c.code_hash = ?",
            [code_hash],
        )
        return (_window(row[:5]), bool(row[5])) if row else None

    def open_pulse_window(
        self,
        actor: Actor,
        session_id: int,
        room_code: str,
        opened: dt.datetime,
        closes: dt.datetime,
    ) -> PulseWindow:
        def unit(cur: Cursor) -> PulseWindow:
            if cur.execute(
                "SELECT 1 FROM pulse_windows WHERE session_id = ?", [session_id]
            ).fetchone():
                raise Conflict("This session's pulse was opened already.")
            cur.execute(
                "INSERT INTO pulse_windows (session_id, room_code, opened_at, closes_at)"
                " VALUES (?, ?, ?, ?)",
                [session_id, room_code, opened, closes],
            )
            self._audit(
                cur, actor, "open pulse", "session", session_id, f"closes {closes:%Y-%m-%d %H:%M}"
            )
            row = cur.execute(f"{_WINDOW} WHERE session_id = ?", [session_id]).fetchone()
            assert row is not None
            return _window(row)

        return self.write(unit)

    def close_pulse_window(self, actor: Actor, session_id: int, at: dt.datetime) -> bool:
        """Close an open window: forget its codes and rewrite its responses in random order.

        Returns False if it was closed already (by someone else, or by the clock).
        """

        def unit(cur: Cursor) -> bool:
            row = cur.execute(
                "UPDATE pulse_windows SET closed_at = ?, room_code = NULL"
                " WHERE session_id = ? AND closed_at IS NULL RETURNING session_id",
                [at, session_id],
            ).fetchone()
            if row is None:
                return False
            cur.execute("DELETE FROM card_codes WHERE session_id = ?", [session_id])
            answers = cur.execute(
                "SELECT a.response_id, a.instrument_id, a.item_id, a.value FROM answers a"
                " JOIN responses r ON r.id = a.response_id WHERE r.session_id = ?",
                [session_id],
            ).fetchall()
            scores = cur.execute(
                "SELECT s.response_id, s.instrument_id, s.score FROM scores s"
                " JOIN responses r ON r.id = s.response_id WHERE r.session_id = ?",
                [session_id],
            ).fetchall()
            grouped: dict[object, tuple[dict[tuple[str, str], int], dict[str, float]]] = {}
            for response_id, instrument, item, value in answers:
                grouped.setdefault(response_id, ({}, {}))[0][(instrument, item)] = value
            for response_id, instrument, score in scores:
                grouped.setdefault(response_id, ({}, {}))[1][instrument] = score
            cur.execute(
                "DELETE FROM answers WHERE response_id IN"
                " (SELECT id FROM responses WHERE session_id = ?)",
                [session_id],
            )
            cur.execute(
                "DELETE FROM scores WHERE response_id IN"
                " (SELECT id FROM responses WHERE session_id = ?)",
                [session_id],
            )
            cur.execute("DELETE FROM responses WHERE session_id = ?", [session_id])
            _insert_shuffled(
                cur,
                session_id,
                [ScoredResponse(answers=a, scores=s) for a, s in grouped.values()],
            )
            _summarize_cells(cur, session_id)
            self._audit(cur, actor, "close pulse", "session", session_id)
            return True

        return self.write(unit)

    def windows_due(self, at: dt.datetime) -> list[int]:
        """Sessions whose open pulse has passed its closing time."""
        rows = self._rows(
            "SELECT session_id FROM pulse_windows WHERE closed_at IS NULL AND closes_at <= ?",
            [at],
        )
        return [r[0] for r in rows]

    def add_card_codes(self, actor: Actor, session_id: int, code_hashes: Sequence[str]) -> None:
        def unit(cur: Cursor) -> None:
            cur.executemany(
                "INSERT INTO card_codes (code_hash, session_id) VALUES (?, ?)",
                [[h, session_id] for h in code_hashes],
            )
            self._audit(
                cur, actor, "print cards", "session", session_id, f"{len(code_hashes)} cards"
            )

        self.write(unit)

    def unused_card_count(self, session_id: int) -> int:
        row = self._one(
            "SELECT count(*) FROM card_codes WHERE session_id = ? AND NOT used", [session_id]
        )
        return int(row[0]) if row else 0

    def pulse_cap(self, session_id: int) -> int:
        row = self._one(_CAP, {"session": session_id})
        return int(row[0]) if row else 0

    def has_responses(self, session_id: int, at_least: int) -> bool:
        """Whether a session has at least this many responses (never how many)."""
        row = self._one(
            "SELECT count(*) >= ? FROM responses WHERE session_id = ?", [at_least, session_id]
        )
        return bool(row and row[0])

    def submit_response(
        self,
        session_id: int,
        response: ScoredResponse,
        at: dt.datetime,
        card_hash: str | None = None,
    ) -> None:
        """Store one anonymous response, or refuse it whole.

        Checks, in one transaction: the window is open; the card (if any) is unused, and marks it
        used; fewer responses than the cap were accepted. No audit event: its time would date
        the response. Submissions arriving together are stored together (`_WindowQueue`).
        """
        mine = _Pending(response, at, card_hash)
        queue = self._window_queue(session_id)
        with queue.guard:
            queue.waiting.append(mine)
        with queue.writing:
            if not mine.done:
                with queue.guard:
                    batch, queue.waiting = queue.waiting, []
                self._store_batch(session_id, batch)
        if mine.error is not None:
            raise mine.error

    def _window_queue(self, session_id: int) -> _WindowQueue:
        # Per store, not per process: two stores (tests, benchmarks) may share session ids.
        with _QUEUES_GUARD:
            queues: dict[int, _WindowQueue] = self.__dict__.setdefault("_pulse_queues", {})
            return queues.setdefault(session_id, _WindowQueue())

    def _store_batch(self, session_id: int, batch: list[_Pending]) -> None:
        """Store or refuse each waiting submission, in arrival order, in one transaction; every
        one of them is marked done whatever happens, so no caller waits for ever."""

        def unit(cur: Cursor) -> list[BaseException | None]:
            outcomes: list[BaseException | None] = []
            row = cur.execute(
                "SELECT closes_at, closed_at, accepted FROM pulse_windows WHERE session_id = ?",
                [session_id],
            ).fetchone()
            cap_row = cur.execute(_CAP, {"session": session_id}).fetchone()
            room = (int(cap_row[0]) if cap_row else 0) - (int(row[2]) if row else 0)
            accepted: list[ScoredResponse] = []
            for entry in batch:
                if row is None or row[1] is not None or row[0] <= entry.at:
                    outcomes.append(PulseUnavailable(CLOSED))
                    continue
                if entry.card_hash is not None:
                    unused = cur.execute(
                        "SELECT 1 FROM card_codes WHERE code_hash = ? AND session_id = ?"
                        " AND NOT used",
                        [entry.card_hash, session_id],
                    ).fetchone()
                    if unused is None:
                        outcomes.append(PulseUnavailable(CARD_USED))
                        continue
                if room <= 0:
                    outcomes.append(PulseFull(FULL))  # a card refused here stays unused
                    continue
                if entry.card_hash is not None:
                    cur.execute(
                        "UPDATE card_codes SET used = TRUE WHERE code_hash = ? AND session_id = ?",
                        [entry.card_hash, session_id],
                    )
                accepted.append(entry.response)
                room -= 1
                outcomes.append(None)
            if accepted:
                # Written even though `room` was read in this transaction: a concurrent change to
                # the window (another writer, a change of k) makes this update conflict, and the
                # whole batch is tried again from a fresh read.
                # With RETURNING, as every other update of this row is written: DuckDB 2.0 does not
                # see a conflict between a plain UPDATE and an UPDATE ... RETURNING of one row.
                cur.execute(
                    "UPDATE pulse_windows SET accepted = accepted + ? WHERE session_id = ?"
                    " RETURNING accepted",
                    [len(accepted), session_id],
                ).fetchall()
                _insert_shuffled(cur, session_id, accepted)
            return outcomes

        try:
            outcomes = self.write(unit)
        except BaseException as exc:  # each waiting caller raises it, the writer included
            outcomes = [exc] * len(batch)
        for entry, outcome in zip(batch, outcomes, strict=True):
            entry.error = outcome
            entry.done = True

    def program_has_responses(self, program_id: int) -> bool:
        row = self._one(
            "SELECT EXISTS (SELECT 1 FROM responses r JOIN sessions s ON s.id = r.session_id"
            " JOIN cohorts c ON c.id = s.cohort_id WHERE c.program_id = ?)",
            [program_id],
        )
        return bool(row and row[0])

    def store_closed_pulse(
        self,
        actor: Actor,
        session_id: int,
        opened_at: dt.datetime,
        responses: Sequence[ScoredResponse],
    ) -> None:
        """Record a pulse that already happened: a closed window and its responses, shuffled.

        Used to seed demo and synthetic data; live pulses go through the pulse window.
        """

        def unit(cur: Cursor) -> None:
            if cur.execute(
                "SELECT 1 FROM pulse_windows WHERE session_id = ?", [session_id]
            ).fetchone():
                raise Conflict("This session already has a pulse.")
            closed = opened_at + dt.timedelta(minutes=10)
            cur.execute(
                "INSERT INTO pulse_windows (session_id, room_code, opened_at, closes_at, closed_at)"
                " VALUES (?, NULL, ?, ?, ?)",
                [session_id, opened_at, closed, closed],
            )
            _insert_shuffled(cur, session_id, responses)
            _summarize_cells(cur, session_id)
            self._audit(cur, actor, "store closed pulse", "session", session_id)

        self.write(unit)
