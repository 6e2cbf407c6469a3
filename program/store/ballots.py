"""Ballot files: where an open pulse keeps its answers until it closes.

An answer written into the main database while its pulse is open would sit in DuckDB's
write-ahead log, and after a checkpoint in the database's blocks, in the order people answered,
between time-stamped writes (audit events, session changes) that date it. Shuffling at close
cannot reach those bytes. So an open pulse writes to a small SQLite file of its own instead:

- everything that changes as people answer lives there: the answers, which cards were used, and
  how many answered (the main database is not written at all by a submission);
- each batch of answers is one SQLite transaction with a full sync, so an answer the participant
  was thanked for survives a crash (kill -9, power loss);
- at close the answers move into the main database once, shuffled under fresh ids, and the
  ballot file is overwritten with zeros and deleted.

A ballot file holds arrival order while its pulse is open; nothing outlives the close. The file
is created readable by its owner only.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from program.errors import Conflict
from program.i18n import N_
from program.models import ScoredResponse

# How long a writer waits for another process holding the ballot file before giving up.
LOCK_WAIT_SECONDS = 10.0
BUSY = N_("Too many answers are arriving at this very moment. Please press Send again.")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ballots (payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used_cards (code_hash TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS tally (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    accepted INTEGER NOT NULL,
    typed_in INTEGER NOT NULL
);
INSERT OR IGNORE INTO tally VALUES (1, 0, 0);
"""


@dataclass(frozen=True)
class Ballot:
    """One answer waiting in a batch: the scored response, the card it used (if any), and whether
    the facilitator typed it in from a paper card."""

    response: ScoredResponse
    card_hash: str | None
    typed_in: bool


class BallotContents(NamedTuple):
    """Every answer in a ballot file, and how many of them were typed in from paper."""

    responses: list[ScoredResponse]
    typed_in: int


class Outcome:
    """What became of a ballot in a batch."""

    STORED = "stored"
    FULL = "full"
    CARD_SPENT = "card spent"  # the card had answered already: the ballot is dropped silently


class Sorted(NamedTuple):
    """A batch sorted by `sort_batch`: each ballot's outcome in order, the payloads to store,
    and how many of those were typed in from paper."""

    outcomes: list[str]
    stored: list[str]
    typed_in: int


def sort_batch(
    batch: Sequence[Ballot], accepted: int, cap: int, spend: Callable[[str], bool]
) -> Sorted:
    """The rule of every ballot store: the cap is checked first, so once the room is full every
    ballot hears the same answer whatever its card; then the card, which `spend` marks used
    (False if it was used already), and a spent card's ballot is dropped without a word, so that
    no answer tells a used card from an unused one."""
    outcomes: list[str] = []
    stored: list[str] = []
    typed_in = 0
    for ballot in batch:
        if accepted + len(stored) >= cap:
            outcomes.append(Outcome.FULL)
        elif ballot.card_hash is not None and not spend(ballot.card_hash):
            outcomes.append(Outcome.CARD_SPENT)
        else:
            stored.append(_payload(ballot.response))
            typed_in += ballot.typed_in
            outcomes.append(Outcome.STORED)
    return Sorted(outcomes, stored, typed_in)


def _payload(response: ScoredResponse) -> str:
    return json.dumps(
        {
            "answers": [[i, item, v] for (i, item), v in sorted(response.answers.items())],
            "scores": [[i, s] for i, s in sorted(response.scores.items())],
        }
    )


def _response(payload: str) -> ScoredResponse:
    data = json.loads(payload)
    return ScoredResponse(
        answers={(i, item): v for i, item, v in data["answers"]},
        scores={i: s for i, s in data["scores"]},
    )


def shred(path: Path) -> None:
    """Overwrite a file with zeros, sync it, and delete it. A missing file is fine."""
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
        path.unlink()


class BallotBox:
    """The ballot files of one database, in a folder beside it.

    Callers serialise writes to one session's file (the store's per-window writer lock); SQLite's
    own locking (BEGIN IMMEDIATE) guards against anything else."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path(self, session_id: int) -> Path:
        return self.folder / f"session-{int(session_id)}.ballots"

    def exists(self, session_id: int) -> bool:
        return self.path(session_id).exists()

    def sessions(self) -> list[int]:
        """Sessions that have a ballot file now."""
        out = []
        for f in self.folder.glob("session-*.ballots"):
            with contextlib.suppress(ValueError):
                out.append(int(f.name.removeprefix("session-").removesuffix(".ballots")))
        return sorted(out)

    @contextlib.contextmanager
    def _open(self, session_id: int, create: bool = False) -> Iterator[sqlite3.Connection]:
        path = self.path(session_id)
        if create and not path.exists():
            # Created by us with owner-only permissions before SQLite opens it; SQLite gives its
            # journal the same permissions.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        elif not path.exists():
            raise FileNotFoundError(path)
        con = sqlite3.connect(path, isolation_level=None, timeout=LOCK_WAIT_SECONDS)
        try:
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA secure_delete = ON")
            yield con
        finally:
            con.close()

    @staticmethod
    @contextlib.contextmanager
    def _transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # another writer held it past the wait
            raise Conflict(BUSY) from exc
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def create(self, session_id: int) -> None:
        """An empty ballot file for a pulse that opens (or still holds nothing)."""
        with self._open(session_id, create=True) as con:
            con.executescript(_SCHEMA)

    def cast(self, session_id: int, batch: Sequence[Ballot], cap: int) -> list[str]:
        """Store a batch of ballots in one transaction; the outcome of each, in order
        (`sort_batch` says the rule). The caller has checked that the pulse is open, so a
        missing file (a crash right after the pulse opened) is made here.
        """
        if not self.exists(session_id):
            self.create(session_id)
        with self._open(session_id) as con, self._transaction(con):
            accepted = int(con.execute("SELECT accepted FROM tally").fetchone()[0])

            def spend(card_hash: str) -> bool:
                added = con.execute("INSERT OR IGNORE INTO used_cards VALUES (?)", [card_hash])
                return bool(added.rowcount)

            outcomes, stored, typed_in = sort_batch(batch, accepted, cap, spend)
            if stored:
                con.executemany("INSERT INTO ballots VALUES (?)", [[p] for p in stored])
                con.execute(
                    "UPDATE tally SET accepted = accepted + ?, typed_in = typed_in + ?",
                    [len(stored), typed_in],
                )
            return outcomes

    def accepted(self, session_id: int) -> int:
        """How many answers the file holds (the store says only 'enough' or 'full' aloud)."""
        if not self.exists(session_id):
            return 0
        with self._open(session_id) as con:
            return int(con.execute("SELECT accepted FROM tally").fetchone()[0])

    def contents(self, session_id: int) -> BallotContents:
        """Every answer in the file and how many were typed in from paper."""
        if not self.exists(session_id):
            return BallotContents([], 0)
        with self._open(session_id) as con:
            payloads = [r[0] for r in con.execute("SELECT payload FROM ballots").fetchall()]
            typed_in = int(con.execute("SELECT typed_in FROM tally").fetchone()[0])
        return BallotContents([_response(p) for p in payloads], typed_in)

    def create_in(self, cur: object, session_id: int) -> None:
        """Nothing inside the opening transaction: the file is made once it commits (`create`),
        and a missing one is made by the first answer."""

    def take(self, cur: object, session_id: int) -> BallotContents:
        """Every answer in the file, for a close in progress (which holds the pulse's writer
        lock, so none arrives meanwhile); `discard` destroys the file once the close commits.
        The database cursor is not needed: the file is not in the database."""
        return self.contents(session_id)

    def discard(self, session_id: int) -> None:
        """Destroy a session's ballot file and any journal SQLite left beside it."""
        path = self.path(session_id)
        for leftover in (path, path.with_name(path.name + "-journal")):
            shred(leftover)
