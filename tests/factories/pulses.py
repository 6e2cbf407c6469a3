"""One cohort with an open pulse, as the pulse tests build it: `Group` (open, cards, close,
attendance, status), the template database copied for each test (`build_template`), `make_group`,
staff without a password, a whole set of answers (`fill`), and counting what the store holds
(`count`, `query`, `stored_patterns`, `submit_n`, `used_cards`, the order rows are stored in)."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from program import cohorts, library, pulse, session_runner
from program.models import (
    Actor,
    AttendanceMark,
    Mark,
    Role,
    ScoredResponse,
    StaffUser,
)
from program.settings import Settings, get_settings
from program.staff import create_user
from program.store import Store
from tests.factories import engines
from tests.factories.paths import CURRICULA

NOW = dt.datetime(2026, 3, 2, 19, 30)
LATER = NOW + dt.timedelta(minutes=5)
GENERIC = (
    "That code does not lead to an open pulse. Check the code on the screen or your card,"
    " or ask your facilitator. Codes work only while the pulse is open."
)
NAMES = [f"Member {i:02d}" for i in range(40)]


@dataclass
class Group:
    """One program, one facilitator and one cohort, with its first weekly session."""

    store: Store
    settings: Settings
    facilitator: StaffUser
    program_id: int
    cohort_id: int
    session_id: int
    k: int

    def session(self, number: int) -> int:
        return cohorts.session_in_cohort(self.store, self.cohort_id, number).id

    def open(self, session_id: int | None = None, at: dt.datetime = NOW) -> str:
        """Open the pulse; return its room code."""
        window = pulse.open_pulse(
            self.store, self.settings, self.facilitator, session_id or self.session_id, at
        )
        assert window.room_code is not None
        return window.room_code

    def cards(self, n: int, session_id: int | None = None, room_code_too: bool = True) -> list[str]:
        """Make n cards for an open pulse. Making cards switches the room code off; most tests
        here use both, so it is switched back on unless `room_code_too` is False."""
        sid = session_id or self.session_id
        codes = pulse.make_cards(self.store, self.facilitator, sid, n, NOW)
        if room_code_too:
            pulse.set_room_code(self.store, self.facilitator, sid, True, NOW)
        return codes

    def close(self, session_id: int | None = None, at: dt.datetime = LATER) -> None:
        pulse.close_pulse(self.store, self.facilitator, session_id or self.session_id, at)

    def attendance(self, present: int, absent: int = 0, session_id: int | None = None) -> None:
        """Mark the first `present` members present and the next `absent` absent."""
        sid = session_id or self.session_id
        members = self.store.roster(self.cohort_id)
        assert present + absent <= len(members)
        marks = {m.id: AttendanceMark(status=Mark.PRESENT) for m in members[:present]}
        marks |= {
            m.id: AttendanceMark(status=Mark.ABSENT) for m in members[present : present + absent]
        }
        session_runner.save_sheet(
            self.store,
            self.facilitator,
            sid,
            marks,
            set(),
            "",
            False,
            self.store.session_revision(sid),
        )

    def status(self, at: dt.datetime = LATER) -> pulse.PulseStatus:
        return pulse.pulse_status(self.store, self.facilitator, self.session_id, at)

    def enough(self, at: dt.datetime = LATER) -> bool:
        return self.status(at).enough


FACILITATOR = "fac"


def fill_template(store: Store) -> None:
    """The bundled curriculum and one facilitator: hashing a password and loading the curriculum
    take most of a second, so a template made once per process holds them and each test starts
    from its own copy."""
    library.load_curriculum(store, Actor.system(), CURRICULA / "collective-healing.yaml")
    create_user(
        store, Actor.system(), FACILITATOR, "Fac", Role.FACILITATOR, "correct horse battery"
    )


_TEMPLATE: Path | None = None  # built once per test run, shared by the page test modules


def build_template(folder: Path) -> Path:
    """A DuckDB file filled by `fill_template`, built once per run (page tests, which stay on
    DuckDB); the first folder given keeps the file for the whole run."""
    global _TEMPLATE
    if _TEMPLATE is not None and _TEMPLATE.exists():
        return _TEMPLATE
    path = folder / "template.duckdb"
    if not path.exists():
        s = Store(path)
        try:
            fill_template(s)
        finally:
            s.close()
    _TEMPLATE = path
    return path


# Fixtures for the modules that test pulses: bind them in a module (`store = pulses.store`) to
# use them there. Each test gets its own copy of one pulse-ready database made once per process.
template, store = engines.template_fixtures("pulse_template", fill_template)


@pytest.fixture
def group(store: Store) -> Group:
    """Minimum group size 5, eight members on the roster, no attendance taken yet."""
    return make_group(store)


def make_group(
    store: Store,
    members: int = 8,
    k: int = 5,
    name: str = "C",
    facilitator: StaffUser | None = None,
    program_id: int | None = None,
    include_orientation: bool = False,
) -> Group:
    """A cohort of `members` in a new program with minimum group size k (or in `program_id`)."""
    fac = facilitator or store.staff_user_by_username(FACILITATOR)
    assert fac is not None
    (version,) = store.curriculum_versions()
    if program_id is None:
        program_id = store.create_program(Actor.system(), f"Program {name}", "", k).id
    store.add_program_facilitator(Actor.system(), program_id, fac.id)
    # Every session is dated before NOW (and so before today): a pulse opens only on or after its
    # session's day, and these tests open them at NOW or at the wall clock.
    start = NOW.date() - dt.timedelta(weeks=8)
    cohort = cohorts.create_cohort(
        store,
        fac,
        program_id,
        version.id,
        name,
        start=start,
        weekday=start.weekday(),
        include_orientation=include_orientation,
        facilitator_ids=[fac.id],
        roster_text="\n".join(NAMES[:members]),
    )
    session = store.sessions(cohort.id)[0]
    return Group(store, get_settings(), fac, program_id, cohort.id, session.id, k)


def staff(store: Store, username: str, role: Role) -> StaffUser:
    """Another staff member (single-sign-on style, so no slow password hash)."""
    return store.create_staff_user(Actor.system(), username, username.title(), role, None)


def fill(invitation: pulse.Invitation, seed: int = 0) -> dict[str, object]:
    """Answers to every question; `seed` picks a pattern (distinct for seeds 0..120)."""
    raw: dict[str, object] = {}
    for instrument, item in invitation.items:
        low, high = instrument.scale.min, instrument.scale.max
        if (instrument.id, item.id) == ("usefulness", "useful_today"):
            value = seed % 11
        elif (instrument.id, item.id) == ("stress", "stress_week"):
            value = (seed // 11) % 11
        else:
            value = low + (seed % (high - low + 1))
        raw[pulse.answer_key(instrument, item)] = value
    return raw


def pattern(answers: dict[tuple[str, str], int]) -> tuple[tuple[str, str, int], ...]:
    return tuple(sorted((i, item, v) for (i, item), v in answers.items()))


def expected_pattern(invitation: pulse.Invitation, seed: int) -> tuple[tuple[str, str, int], ...]:
    return pattern(pulse.check_answers(invitation, fill(invitation, seed)))


def query(store: Store, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = store.cursor()
    try:
        return cur.execute(sql, params or []).fetchall()
    finally:
        cur.close()


def storage_position(store: Store, alias: str = "") -> str:
    """A column telling where a row sits in its table's storage, which `storage_key` sorts in
    that order: DuckDB's rowid, PostgreSQL's ctid."""
    return (f"{alias}." if alias else "") + ("ctid" if store.on_postgres else "rowid")


def storage_key(position: object) -> tuple[int, ...]:
    """A `storage_position` value as a key sorting in storage order: a rowid, or a ctid given as
    '(block,line)'."""
    if isinstance(position, str):
        return tuple(int(part) for part in position.strip("()").split(","))
    assert isinstance(position, int)
    return (position,)


def used_cards(store: Store, session_id: int) -> int:
    """How many of an open pulse's cards have answered: in its ballot file beside a DuckDB
    database, in the ballots schema on PostgreSQL."""
    if store.on_postgres:
        rows = query(
            store, "SELECT count(*) FROM ballots.used_cards WHERE session_id = ?", [session_id]
        )
        return int(rows[0][0])
    path = store.ballots.path(session_id)  # type: ignore[attr-defined]
    with contextlib.closing(sqlite3.connect(path)) as con:
        return int(con.execute("SELECT count(*) FROM used_cards").fetchone()[0])


def ballot_responses(store: Store, session_id: int | None = None) -> list[ScoredResponse]:
    """The answers held in open pulses' ballot files (all of them, or one session's)."""
    sessions = store.ballots.sessions() if session_id is None else [session_id]
    return [r for sid in sessions for r in store.ballots.contents(sid).responses]


def count(store: Store, table: str, session_id: int | None = None) -> int:
    """Rows of a table (for one session). For responses and answers, what an open pulse holds in
    its ballot file counts too: those are the answers taken so far, wherever they are kept."""
    assert table.isidentifier()
    held = 0
    if table in ("responses", "answers"):
        held = sum(
            1 if table == "responses" else len(r.answers)
            for r in ballot_responses(store, session_id)
        )
    if session_id is None:
        return held + int(query(store, f"SELECT count(*) FROM {table}")[0][0])
    if table == "answers":
        sql = (
            "SELECT count(*) FROM answers a JOIN responses r ON r.id = a.response_id"
            " WHERE r.session_id = ?"
        )
    else:
        sql = f"SELECT count(*) FROM {table} WHERE session_id = ?"
    return held + int(query(store, sql, [session_id])[0][0])


def stored_patterns(store: Store, session_id: int) -> Counter[tuple[tuple[str, str, int], ...]]:
    rows = query(
        store,
        "SELECT a.response_id, a.instrument_id, a.item_id, a.value FROM answers a"
        " JOIN responses r ON r.id = a.response_id WHERE r.session_id = ?",
        [session_id],
    )
    grouped: dict[object, dict[tuple[str, str], int]] = {}
    for rid, instrument, item, value in rows:
        grouped.setdefault(rid, {})[(instrument, item)] = value
    held = [r.answers for r in ballot_responses(store, session_id)]
    return Counter(pattern(a) for a in [*grouped.values(), *held])


def submit_n(group: Group, code: str, n: int, first_seed: int = 0) -> None:
    for seed in range(first_seed, first_seed + n):
        invitation = pulse.resolve_code(group.store, code, NOW)
        pulse.submit(group.store, invitation, fill(invitation, seed), NOW)
