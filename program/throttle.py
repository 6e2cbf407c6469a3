"""How often a password may be tried, kept in this process's memory only: never on disk or in logs.

Two limits, both counted before the password is checked. An attempt first takes its place, counted
as a failure in advance, and gives it back only if the password was right (or was never checked),
so attempts that race each other cannot get past either limit:

- **Per username and client** (the address the request came from): `limit` attempts in a row may
  fail. From then on that client waits before each further attempt: FIRST_PAUSE, then twice as
  long after each failure, up to `longest` (PROGRAM_FAILED_SIGNIN_PAUSE_MINUTES). The same username
  from another client is not held up by it, so a stranger cannot lock the owner out.
- **Per username, whatever the client**: once `limit` attempts in a row have failed, from any
  mix of clients, its password is checked at most once per ACCOUNT_INTERVAL. That slows guessing
  from many addresses at once and never locks: the next interval is open again.

Unknown usernames are counted exactly like real ones, so the limits say nothing about which
accounts exist. A right password clears its username's counts (the client's and the account's).
Usernames and clients are held only as keyed hashes, with a key drawn at random when the process
starts; a client or account with no failure for FORGET_AFTER is forgotten, and at most MAX_ENTRIES
of each are kept (the longest idle go first).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

FIRST_PAUSE = dt.timedelta(minutes=1)
ACCOUNT_INTERVAL = dt.timedelta(seconds=1)
FORGET_AFTER = dt.timedelta(days=1)
MAX_ENTRIES = 100_000
_MAX_DOUBLINGS = 20  # 2**20 minutes is two years: far past any allowed `longest`


class Refused(Exception):
    """Not now: the attempt was refused without checking the password."""


@dataclass
class _Count:
    failures: int = 0  # failed attempts in a row, counting those still being checked
    checking: int = 0  # attempts being checked right now
    wait_until: dt.datetime | None = None  # no attempt before this
    seen: dt.datetime = dt.datetime.min  # the last attempt


def backoff(failures: int, limit: int, longest: dt.timedelta) -> dt.timedelta | None:
    """How long a client waits after its `failures`-th failure in a row (None: not at all)."""
    if failures < limit:
        return None
    return min(longest, FIRST_PAUSE * (1 << min(failures - limit, _MAX_DOUBLINGS)))


class SigninThrottle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)
        # A client's key is (its account's key, the hash of username and client).
        self._clients: OrderedDict[tuple[bytes, bytes], _Count] = OrderedDict()
        self._accounts: OrderedDict[bytes, _Count] = OrderedDict()

    def _hash(self, *parts: str) -> bytes:
        text = "\x00".join(parts).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(text, key=self._key, digest_size=16).digest()

    def reserve(
        self, username: str, client: str, limit: int, longest: dt.timedelta, at: dt.datetime
    ) -> Attempt:
        """Take the place of one password check, counted as a failure; raise Refused if none is free.

        `username` should already be normalised (stripped, lower case).
        """
        account_key = self._hash(username)
        client_key = (account_key, self._hash(username, client))
        with self._lock:
            self._forget(at)
            mine = self._clients.get(client_key)
            account = self._accounts.get(account_key)
            for count in (mine, account):
                if count is not None and count.wait_until is not None and at < count.wait_until:
                    raise Refused
            if mine is None:
                mine = self._clients[client_key] = _Count()
            if account is None:
                account = self._accounts[account_key] = _Count()
            attempt = Attempt(self, client_key, account_key, mine.wait_until, account.wait_until)
            if account.failures >= limit:
                account.wait_until = at + ACCOUNT_INTERVAL
            for count in (mine, account):
                count.failures += 1
                count.checking += 1
                count.seen = max(count.seen, at)
            self._clients.move_to_end(client_key)
            self._accounts.move_to_end(account_key)
            for table in (self._clients, self._accounts):
                while len(table) > MAX_ENTRIES:
                    table.popitem(last=False)
            pause = backoff(mine.failures, limit, longest)
            if pause is not None:
                mine.wait_until = at + pause
            attempt.client_wait, attempt.account_wait = mine.wait_until, account.wait_until
            return attempt

    def _forget(self, at: dt.datetime) -> None:
        """Drop clients and accounts idle for FORGET_AFTER (the tables are in order of last use)."""
        for table in (self._clients, self._accounts):
            while table:
                count = next(iter(table.values()))
                if count.checking or at - count.seen < FORGET_AFTER:
                    break
                table.popitem(last=False)

    def _finish(self, attempt: Attempt, outcome: str) -> None:
        with self._lock:
            mine = self._clients.get(attempt.client_key)
            if mine is not None and _end(mine, outcome, attempt.client_before, attempt.client_wait):
                del self._clients[attempt.client_key]
            account = self._accounts.get(attempt.account_key)
            if account is not None and _end(
                account, outcome, attempt.account_before, attempt.account_wait
            ):
                del self._accounts[attempt.account_key]
            # None: forgotten to make room meanwhile; nothing to end.

    def clear(self, username: str | None = None) -> None:
        """Forget every count of one username (after a password reset), or of everyone."""
        with self._lock:
            if username is None:
                self._clients.clear()
                self._accounts.clear()
                return
            account_key = self._hash(username)
            self._accounts.pop(account_key, None)
            for key in [k for k in self._clients if k[0] == account_key]:
                del self._clients[key]


def _end(
    count: _Count, outcome: str, before: dt.datetime | None, set_to: dt.datetime | None
) -> bool:
    """End one counted attempt; True when nothing is left to remember."""
    count.checking = max(0, count.checking - 1)
    if outcome == "succeeded":
        # The password is known: forget the failures, keeping only the other attempts still
        # being checked (each stays counted until it ends).
        count.failures = count.checking
        count.wait_until = None
    elif outcome == "cancelled":
        count.failures = max(0, count.failures - 1)
        if count.wait_until == set_to:
            count.wait_until = before
    return not count.failures and not count.checking


@dataclass
class Attempt:
    """One password check's place: counted as a failure until it succeeds or is cancelled."""

    throttle: SigninThrottle
    client_key: tuple[bytes, bytes]
    account_key: bytes
    client_before: dt.datetime | None
    account_before: dt.datetime | None
    client_wait: dt.datetime | None = None
    account_wait: dt.datetime | None = None
    _done: bool = False

    def _end(self, outcome: str) -> None:
        if not self._done:
            self._done = True
            self.throttle._finish(self, outcome)

    def succeeded(self) -> None:
        """The password was right: clear the failures of this username, here and for the account."""
        self._end("succeeded")

    def failed(self) -> None:
        """The password was wrong: the failure counted in advance stands."""
        self._end("failed")

    def cancelled(self) -> None:
        """The password was never checked (the server was busy, or an error): give the place back."""
        self._end("cancelled")
