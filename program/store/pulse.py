"""Pulse windows, card codes and anonymous responses.

While a pulse is open its answers live in a ballot file (ballots.py), never in this database;
closing the pulse moves them in once, shuffled under fresh ids, and checkpoints the database so
its log holds no older state.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from program.errors import Conflict, PulseFull, PulseUnavailable
from program.i18n import N_
from program.models import Actor, PulseWindow, ScoredResponse
from program.store.ballots import Ballot, Outcome
from program.store.base import StoreBase
from program.store.engines import Cursor
from program.store.programs import lock_min_group_size

_WINDOW = (
    "SELECT session_id, room_code, opened_at, closes_at, closed_at, cap, takes_room_code,"
    " typed_in FROM pulse_windows"
)
_FIELDS = _WINDOW.removeprefix("SELECT ").split(" FROM ")[0].split(", ")

# How many answers a session's pulse may take: the people marked present once attendance is taken,
# the active roster before that. Read once, when the pulse opens, and frozen on its window.
_CAP = """
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM attendance WHERE session_id = $session)
    THEN (SELECT count(*) FROM attendance WHERE session_id = $session AND status = 'present')
    ELSE (SELECT count(*) FROM roster_members r JOIN sessions s ON r.cohort_id = s.cohort_id
          WHERE s.id = $session AND r.status = 'active')
END
"""


# Said to participants in their language: marked for the catalogs (program/i18n.py).
CLOSED = N_("This pulse has closed, so answers can no longer be added. Thank you all the same.")
FULL = N_(
    "Everyone who was here today seems to have answered already, so this answer was not added."
    " The pulse takes one answer for each person marked present when it opened. Thank you for"
    " coming."
)


_QUEUES_GUARD = threading.Lock()


class InvitationContext(NamedTuple):
    """What a participant's invitation needs besides its pulse window."""

    session_number: int
    version_id: int
    content_hash: str
    min_group_size: int


@dataclass
class _Pending:
    """One submission waiting for its window's next batch; `error` is its outcome, None if stored."""

    response: ScoredResponse
    at: dt.datetime
    card_hash: str | None
    typed_in: bool = False
    error: BaseException | None = None
    done: bool = False


@dataclass
class _WindowQueue:
    """Submissions to one pulse window, written in batches (group commit).

    A room's phones answer within the same minute. Each transaction has a cost whatever it
    holds, so one submission per transaction queued a roomful behind each other (the load test
    in benchmarks/ measures it). Instead, whoever holds `writing` takes every submission waiting
    and stores them in one transaction; the rest wait for that, then find theirs done. The
    window's counter row and the cap are still checked inside the transaction, so this is about
    speed only: correctness does not rest on the queue.
    """

    writing: threading.Lock = field(default_factory=threading.Lock)
    guard: threading.Lock = field(default_factory=threading.Lock)
    waiting: list[_Pending] = field(default_factory=list)


def _window(row: tuple[object, ...]) -> PulseWindow:
    return PulseWindow.model_validate(dict(zip(_FIELDS, row, strict=True)))


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
    """Freeze the session's cell summaries: n, Σscore, Σscore², the count of each score, and the
    cell's rounding draw (a secret uniform number in [0, 1) that decides whether its released mean
    rounds up or down; see program/privacy.py)."""
    cur.execute("DELETE FROM cell_summaries WHERE session_id = ?", [session_id])
    cur.execute("DELETE FROM cell_counts WHERE session_id = ?", [session_id])
    cells = cur.execute(
        "SELECT s.instrument_id, count(*), sum(s.score), sum(s.score * s.score)"
        " FROM scores s JOIN responses r ON r.id = s.response_id WHERE r.session_id = ?"
        " GROUP BY s.instrument_id ORDER BY s.instrument_id",
        [session_id],
    ).fetchall()
    draw = random.SystemRandom()
    _insert_rows(
        cur,
        "cell_summaries (session_id, instrument_id, n, total, total_sq, rounding_draw)",
        [(session_id, *cell, draw.random()) for cell in cells],
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

    def pulse_window_by_card(self, code_hash: str) -> PulseWindow | None:
        """The window a card belongs to. Whether the card was used is not known here: that lives
        in the pulse's ballot file, and is never told."""
        row = self._one(
            f"{_WINDOW} WHERE session_id = (SELECT session_id FROM card_codes WHERE code_hash = ?)",
            [code_hash],
        )
        return _window(row) if row else None

    def open_pulse_window(
        self,
        actor: Actor,
        session_id: int,
        room_code: str,
        opened: dt.datetime,
        closes: dt.datetime,
    ) -> PulseWindow:
        """Open a session's pulse with its cap frozen, and an empty ballot file for its answers."""

        def unit(cur: Cursor) -> PulseWindow:
            if cur.execute(
                "SELECT 1 FROM pulse_windows WHERE session_id = ?", [session_id]
            ).fetchone():
                raise Conflict("This session's pulse was opened already.")
            # The program's minimum group size locks when its first pulse opens: a change of it
            # at this very moment must conflict with this opening.
            lock_min_group_size(cur, session_id)
            cap_row = cur.execute(_CAP, {"session": session_id}).fetchone()
            cur.execute(
                "INSERT INTO pulse_windows (session_id, room_code, opened_at, closes_at, cap,"
                " takes_room_code) VALUES (?, ?, ?, ?, ?, TRUE)",
                [session_id, room_code, opened, closes, int(cap_row[0]) if cap_row else 0],
            )
            # On PostgreSQL the tally comes with the window, in this transaction: a pulse
            # without one takes no answer there (a ballot file is made after the commit).
            self.ballots.create_in(cur, session_id)
            self._audit(
                cur, actor, "open pulse", "session", session_id, f"closes {closes:%Y-%m-%d %H:%M}"
            )
            row = cur.execute(f"{_WINDOW} WHERE session_id = ?", [session_id]).fetchone()
            assert row is not None
            return _window(row)

        window = self.write(unit)
        self.ballots.create(session_id)
        return window

    def set_room_code_use(self, actor: Actor, session_id: int, takes_room_code: bool) -> None:
        """Switch an open pulse's room code off (cards only) or back on."""

        def unit(cur: Cursor) -> None:
            done = cur.execute(
                "UPDATE pulse_windows SET takes_room_code = ? WHERE session_id = ?"
                " AND closed_at IS NULL RETURNING session_id",
                [takes_room_code, session_id],
            ).fetchall()
            if not done:
                raise PulseUnavailable("This pulse is closed.")
            action = "room code on" if takes_room_code else "room code off (cards only)"
            self._audit(cur, actor, action, "session", session_id)

        self.write(unit)

    def close_pulse_window(self, actor: Actor, session_id: int, at: dt.datetime) -> bool:
        """Close an open window: move its ballots in, shuffled under fresh ids; forget its codes.

        Returns False if it was closed already (by someone else, or by the clock). Holds the
        window's writer lock, so no answer is being stored while its ballots are read.
        """
        with self._window_queue(session_id).writing:

            def unit(cur: Cursor) -> bool:
                # First: on PostgreSQL this locks the pulse's tally, so a batch another replica
                # is storing now finishes before, and is read here (postgres.py).
                ballots, typed_in = self.ballots.take(cur, session_id)
                row = cur.execute(
                    "UPDATE pulse_windows SET closed_at = ?, room_code = NULL, typed_in = ?"
                    " WHERE session_id = ? AND closed_at IS NULL RETURNING session_id",
                    [at, typed_in, session_id],
                ).fetchone()
                if row is None:
                    return False
                cur.execute("DELETE FROM card_codes WHERE session_id = ?", [session_id])
                # Answers stored in this database by a version before ballot files, for a pulse
                # open across the upgrade: shuffled in with the rest.
                earlier = self._take_stored_responses(cur, session_id)
                _insert_shuffled(cur, session_id, earlier + ballots)
                _summarize_cells(cur, session_id)
                detail = f"{typed_in} typed in from paper cards" if typed_in else ""
                self._audit(cur, actor, "close pulse", "session", session_id, detail)
                return True

            closed = self.write(unit)
            if closed or self.ballots.exists(session_id):
                self.ballots.discard(session_id)
                self.checkpoint()
        return closed

    @staticmethod
    def _take_stored_responses(cur: Cursor, session_id: int) -> list[ScoredResponse]:
        """Remove a session's responses from this database and return them."""
        answers = cur.execute(
            "SELECT a.response_id, a.instrument_id, a.item_id, a.value FROM answers a"
            " JOIN responses r ON r.id = a.response_id WHERE r.session_id = ?",
            [session_id],
        ).fetchall()
        if not answers:
            return []
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
        return [ScoredResponse(answers=a, scores=s) for a, s in grouped.values()]

    def reconcile_ballots(self) -> None:
        """Make ballot files agree with the windows: every open window has one, no other file is
        left. Run on start and after a restore; it also finishes a close cut short by a crash
        after the database committed it."""
        # Ballots first, windows second: a pulse another replica opens in between has its
        # window committed with its tally, so it is read as open and its ballots are kept.
        holding = self.ballots.sessions()
        open_now = {
            r[0] for r in self._rows("SELECT session_id FROM pulse_windows WHERE closed_at IS NULL")
        }
        for session_id in holding:
            if session_id not in open_now:
                self.ballots.discard(session_id)
        for session_id in open_now:
            if not self.ballots.exists(session_id):
                self.ballots.create(session_id)

    def reset_ballots(self) -> None:
        """Destroy every ballot file, then give each open window an empty one (after a restore,
        whose session ids may name other sessions than the ones the files were made for)."""
        self.discard_ballots(self.ballots.sessions())
        self.reconcile_ballots()

    def discard_ballots(self, session_ids: Sequence[int]) -> None:
        """Destroy the ballot files of these sessions (their cohort's data was deleted)."""
        for session_id in session_ids:
            with self._window_queue(session_id).writing:
                self.ballots.discard(session_id)

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

    def card_count(self, session_id: int) -> int:
        """How many cards were printed for a session's open pulse (used or not: never which)."""
        row = self._one("SELECT count(*) FROM card_codes WHERE session_id = ?", [session_id])
        return int(row[0]) if row else 0

    def _answered(self, window: PulseWindow, session_id: int) -> int:
        if window.closed_at is None:
            before = self._one(
                "SELECT accepted FROM pulse_windows WHERE session_id = ?", [session_id]
            )
            return self.ballots.accepted(session_id) + (int(before[0]) if before else 0)
        row = self._one("SELECT count(*) FROM responses WHERE session_id = ?", [session_id])
        return int(row[0]) if row else 0

    def has_responses(self, session_id: int, at_least: int) -> bool:
        """Whether a session has at least this many responses (never how many)."""
        window = self.pulse_window(session_id)
        return window is not None and self._answered(window, session_id) >= at_least

    def pulse_full(self, session_id: int) -> bool:
        """Whether an open pulse has taken as many answers as its cap allows (never how many)."""
        window = self.pulse_window(session_id)
        if window is None or window.closed_at is not None or window.cap is None:
            return False
        return self._answered(window, session_id) >= window.cap

    def submit_response(
        self,
        session_id: int,
        response: ScoredResponse,
        at: dt.datetime,
        card_hash: str | None = None,
        typed_in: bool = False,
    ) -> None:
        """Store one anonymous response in the pulse's ballot file, or refuse it whole.

        Checks, under the window's writer lock: the window is open; fewer answers than the cap
        were taken; the card (if any) is unused, else the answer is dropped without a word (so
        no reply tells a used card from an unused one). Nothing is written to this database and
        there is no audit event: either would date the answer. Submissions arriving together are
        stored together (`_WindowQueue`).
        """
        mine = _Pending(response, at, card_hash, typed_in)
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
        """Store or refuse each waiting submission, in one ballot transaction; every one of them
        is marked done whatever happens, so no caller waits for ever."""
        outcomes: list[BaseException | None] = [None] * len(batch)
        try:
            row = self._one(
                "SELECT closes_at, closed_at, cap, accepted FROM pulse_windows WHERE session_id = ?",
                [session_id],
            )
            open_ones = []
            for n, entry in enumerate(batch):
                if row is None or row[1] is not None or row[0] <= entry.at:
                    outcomes[n] = PulseUnavailable(CLOSED)
                else:
                    open_ones.append(n)
            if open_ones:
                assert row is not None
                room = int(row[2] if row[2] is not None else self.pulse_cap(session_id)) - int(
                    row[3]
                )
                cast = self.ballots.cast(
                    session_id,
                    [
                        Ballot(batch[n].response, batch[n].card_hash, batch[n].typed_in)
                        for n in open_ones
                    ],
                    room,
                )
                for n, kind in zip(open_ones, cast, strict=True):
                    outcomes[n] = PulseFull(FULL) if kind == Outcome.FULL else None
        except BaseException as exc:  # each waiting caller raises it, the writer included
            outcomes = [exc] * len(batch)
        for entry, error in zip(batch, outcomes, strict=True):
            entry.error = error
            entry.done = True

    def invitation_context(self, session_id: int) -> InvitationContext | None:
        """What a participant's invitation needs besides the window, in one query: the session's
        number, its cohort's curriculum version and that version's content hash, and the
        program's minimum group size. The participant page asks on every visit."""
        row = self._one(
            # min_cell_size: the minimum group size's column (see program/store/programs.py).
            "SELECT s.number, v.id, v.content_hash, p.min_cell_size FROM sessions s"
            " JOIN cohorts c ON c.id = s.cohort_id"
            " JOIN curriculum_versions v ON v.id = c.curriculum_version_id"
            " JOIN programs p ON p.id = c.program_id WHERE s.id = ?",
            [session_id],
        )
        if row is None:
            return None
        return InvitationContext(int(row[0]), int(row[1]), str(row[2]), int(row[3]))

    def pulse_cap(self, session_id: int) -> int:
        """The cap a pulse opening now would get."""
        row = self._one(_CAP, {"session": session_id})
        return int(row[0]) if row else 0

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
                "INSERT INTO pulse_windows (session_id, room_code, opened_at, closes_at, closed_at,"
                " cap, takes_room_code, typed_in) VALUES (?, NULL, ?, ?, ?, ?, TRUE, 0)",
                [session_id, opened_at, closed, closed, len(responses)],
            )
            _insert_shuffled(cur, session_id, responses)
            _summarize_cells(cur, session_id)
            self._audit(cur, actor, "store closed pulse", "session", session_id)

        self.write(unit)
