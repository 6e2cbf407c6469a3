"""Pulse windows, card codes and anonymous responses."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections.abc import Sequence

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


# Only one process can open the database for writing, so an in-process lock per pulse window
# queues the phones of one room instead of letting them race on the window's counter row and
# retry (measured: with 32 phones at once about 1 in 200 ran out of retries). The counter row
# still guards correctness; the lock only keeps the retries away.
_window_locks: dict[int, threading.Lock] = {}
_window_locks_guard = threading.Lock()


def _window_lock(session_id: int) -> threading.Lock:
    with _window_locks_guard:
        return _window_locks.setdefault(session_id, threading.Lock())


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
    cur.executemany(
        "INSERT INTO responses (id, session_id) VALUES (?, ?)", [[i, session_id] for i in ids]
    )
    cur.executemany(
        "INSERT INTO answers VALUES (?, ?, ?, ?)",
        [
            [i, instrument, item, value]
            for i, response in zip(ids, shuffled, strict=True)
            for (instrument, item), value in sorted(response.answers.items())
        ],
    )
    cur.executemany(
        "INSERT INTO scores VALUES (?, ?, ?)",
        [
            [i, instrument, score]
            for i, response in zip(ids, shuffled, strict=True)
            for instrument, score in sorted(response.scores.items())
        ],
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
        the response.
        """

        def unit(cur: Cursor) -> None:
            row = cur.execute(
                "SELECT closes_at, closed_at FROM pulse_windows WHERE session_id = ?", [session_id]
            ).fetchone()
            if row is None or row[1] is not None or row[0] <= at:
                raise PulseUnavailable(
                    "This pulse has closed, so answers can no longer be added. Thank you all the"
                    " same."
                )
            if card_hash is not None:
                used = cur.execute(
                    "UPDATE card_codes SET used = TRUE"
                    " WHERE code_hash = ? AND session_id = ? AND NOT used RETURNING 1",
                    [card_hash, session_id],
                ).fetchone()
                if used is None:
                    raise PulseUnavailable("This card has been used already. Each card works once.")
            cap_row = cur.execute(_CAP, {"session": session_id}).fetchone()
            cap = int(cap_row[0]) if cap_row else 0
            counted = cur.execute(
                "UPDATE pulse_windows SET accepted = accepted + 1"
                " WHERE session_id = ? AND accepted < ? RETURNING accepted",
                [session_id, cap],
            ).fetchone()
            if counted is None:
                raise PulseFull(
                    "Everyone who was here today seems to have answered already, so this answer"
                    " was not added. If you have not answered yet, please tell your facilitator."
                )
            _insert_shuffled(cur, session_id, [response])

        with _window_lock(session_id):
            self.write(unit)

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
