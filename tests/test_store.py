"""program.store against a real temporary DuckDB, through its public API; nothing is mocked.

Covers migrations, the schema's CHECK constraints and privacy shape, transactions with retry under
concurrent writers, the domain writes with their audit events, and the single-process file lock.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from psycopg import errors as pg_errors

from program.errors import Conflict, ProgramError
from program.models import Actor, AttendanceMark, CohortStatus, Mark, Role, SessionReport
from program.store import Store

ROOT = Path(__file__).resolve().parents[1]
ACTOR = Actor(user_id=1, name="Ada Admin")
DOMAIN_TABLES = {
    "programs",
    "curriculum_versions",
    "instruments",
    "cohorts",
    "cohort_facilitators",
    "roster_members",
    "sessions",
    "attendance",
    "fidelity",
    "pulse_windows",
    "card_codes",
    "responses",
    "answers",
    "staff_users",
    "staff_sessions",
    "audit_events",
    "program_leads",
}
TIME_TYPES = ("DATE", "TIME", "TIMESTAMP", "INTERVAL")
MONDAY = dt.date(2026, 3, 2)


def store_module() -> Any:
    """The module that defines Store.migrate/write, where `_migrations` and RETRIES are looked up."""
    return sys.modules[Store.migrate.__module__]


def query(store: Store, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = store.cursor()
    try:
        return cur.execute(sql, params or []).fetchall()
    finally:
        cur.close()


def count(store: Store, table: str) -> int:
    assert table.isidentifier()  # table names here are the test's own constants
    return int(query(store, f"SELECT count(*) FROM {table}")[0][0])


def tables(store: Store) -> set[str]:
    rows = query(store, "SELECT table_name FROM information_schema.tables")
    return {r[0] for r in rows}


def schema_snapshot(store: Store) -> tuple[list[tuple[Any, ...]], ...]:
    """Everything a migration could change: recorded migrations, columns, sequences, constraints."""
    return (
        query(store, "SELECT name, applied_at FROM schema_migrations ORDER BY name"),
        query(
            store,
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns ORDER BY table_name, ordinal_position",
        ),
        query(
            store,
            "SELECT sequence_name FROM information_schema.sequences ORDER BY 1"
            if store.on_postgres
            else "SELECT sequence_name FROM duckdb_sequences() ORDER BY 1",
        ),
        query(
            store,
            "SELECT conrelid::regclass::text, contype::text, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
            " ORDER BY 1, 2, 3"
            if store.on_postgres
            else "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints()"
            " ORDER BY 1, 2, 3",
        ),
    )


def make_cohort(
    store: Store,
    name: str = "Tuesday evening",
    roster: tuple[str, ...] = ("Ana", "Ben", "Chloe"),
    numbers: tuple[int, ...] = (0, 1, 2),
) -> tuple[int, int]:
    """A program with one cohort; returns (program id, cohort id)."""
    facilitator = store.create_staff_user(ACTOR, "maya", "Maya", Role.FACILITATOR, None)
    program = store.create_program(ACTOR, "Pain collective")
    dates = {n: MONDAY + dt.timedelta(weeks=n) for n in numbers}
    cohort = store.create_cohort(ACTOR, program.id, 1, name, dates, [facilitator.id], list(roster))
    return program.id, cohort.id


def record(
    store: Store,
    session_id: int,
    attendance: dict[int, str],
    delivered: list[int],
    agenda_length: int,
    held: bool,
) -> None:
    """Record a session as the session form does: against the revision it was drawn from."""
    report = SessionReport(
        attendance={m: AttendanceMark(status=Mark(s)) for m, s in attendance.items()},
        delivered=frozenset(delivered),
        agenda_length=agenda_length,
        held=held,
    )
    store.record_session(ACTOR, session_id, report, store.session_revision(session_id))


def attendance(store: Store, session_id: int) -> dict[int, str]:
    return {m: mark.status.value for m, mark in store.attendance_marks(session_id).items()}


def lost_race(store: Store) -> Exception:
    """An error by which the store's engine says a concurrent write won (Store.write retries)."""
    if store.on_postgres:
        return pg_errors.SerializationFailure("simulated: could not serialize access")
    return duckdb.TransactionException("simulated: Conflict on update!")


def run_threads(threads: int, work: Callable[[int], None]) -> None:
    """Run work(0..threads-1) in parallel threads that start together."""
    barrier = threading.Barrier(threads)

    def start(i: int) -> None:
        barrier.wait()
        work(i)

    pool = [threading.Thread(target=start, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in pool)


# --------------------------------------------------------------------------- migrations


def test_migrating_an_empty_database_creates_every_domain_table(store: Store) -> None:
    assert tables(store) >= DOMAIN_TABLES
    assert "0001_initial" in store.applied_migrations()
    assert store.applied_migrations() == [name for name, _ in store_module()._migrations()]


def test_migrate_again_applies_nothing_and_changes_nothing(store: Store) -> None:
    before = schema_snapshot(store)
    assert store.migrate() == []
    assert store.migrate() == []
    assert schema_snapshot(store) == before


def test_reopening_the_file_applies_nothing(store: Store) -> None:
    program = store.create_program(ACTOR, "Kept across reopen")
    before = schema_snapshot(store)
    store.close()
    again = Store(store.path)
    try:
        assert schema_snapshot(again) == before
        assert again.migrate() == []
        assert [p.name for p in again.programs()] == [program.name]
    finally:
        again.close()


def test_a_failing_migration_rolls_back_entirely_and_is_not_recorded(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = store_module()
    real = module._migrations()
    bad = ("9998_bad", "CREATE TABLE x (a INT); SELECT * FROM no_such_table;")
    later = ("9999_later", "CREATE TABLE y (a INT);")
    monkeypatch.setattr(module, "_migrations", lambda: [*real, bad, later])

    with pytest.raises(store.engine.errors):
        store.migrate()

    assert "x" not in tables(store)
    assert "y" not in tables(store)  # migrations after a failed one are not applied either
    assert store.applied_migrations() == [name for name, _ in real]


def test_a_new_database_whose_migration_fails_refuses_to_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = store_module()
    real = module._migrations()
    path = tmp_path / "fresh.duckdb"
    bad = ("9999_bad", "CREATE TABLE x (a INT); SELECT * FROM no_such_table;")
    monkeypatch.setattr(module, "_migrations", lambda: [*real, bad])
    with pytest.raises(duckdb.Error):
        Store(path)

    monkeypatch.setattr(module, "_migrations", lambda: real)
    store = Store(path)
    try:
        assert "x" not in tables(store)
        assert store.applied_migrations() == [name for name, _ in real]
    finally:
        store.close()


# --------------------------------------------------------------------------- CHECK constraints


def test_min_group_size_just_outside_3_to_10_is_refused(store: Store) -> None:
    for k in (2, 11):
        with pytest.raises(store.engine.errors, match="(?i)check"):
            store.create_program(ACTOR, f"Cell {k}", min_group_size=k)
    assert count(store, "programs") == 0
    assert count(store, "audit_events") == 0


def test_min_group_size_at_and_inside_3_to_10_is_accepted(store: Store) -> None:
    for k in (3, 4, 9, 10):
        program = store.create_program(ACTOR, f"Cell {k}", min_group_size=k)
        assert store.program(program.id).min_group_size == k


def test_attendance_statuses_in_the_list_are_accepted(store: Store) -> None:
    _, cohort_id = make_cohort(store)
    session = store.sessions(cohort_id)[1]
    ana, ben, chloe = store.roster(cohort_id)
    marks = {ana.id: "present", ben.id: "absent", chloe.id: "excused"}
    record(store, session.id, marks, [0], 1, held=True)
    assert attendance(store, session.id) == marks


def test_attendance_status_outside_the_list_is_refused(store: Store) -> None:
    """The CHECK holds even for a writer that skips the models (SessionReport validates too)."""
    cur = store.cursor()
    try:
        for status in ("late", "Present", ""):
            with pytest.raises(store.engine.errors, match="(?i)check"):
                cur.execute(
                    "INSERT INTO attendance (session_id, member_id, status) VALUES (1, 1, ?)",
                    [status],
                )
    finally:
        cur.close()
    assert count(store, "attendance") == 0


@pytest.mark.parametrize("number", [-1, 53])
def test_session_number_outside_0_to_52_is_refused(store: Store, number: int) -> None:
    with pytest.raises(store.engine.errors, match="(?i)check"):
        make_cohort(store, numbers=(number, 1))
    assert count(store, "cohorts") == 0
    assert count(store, "sessions") == 0


def test_session_numbers_0_and_52_are_accepted(store: Store) -> None:
    _, cohort_id = make_cohort(store, numbers=(0, 1, 52))
    assert [s.number for s in store.sessions(cohort_id)] == [0, 1, 52]


def test_staff_role_outside_admin_lead_facilitator_is_refused(store: Store) -> None:
    cur = store.cursor()
    try:
        for role in ("owner", "Admin", ""):
            with pytest.raises(store.engine.errors, match="(?i)check"):
                cur.execute(
                    "INSERT INTO staff_users (username, display_name, role) VALUES (?, ?, ?)",
                    ["someone", "Someone", role],
                )
    finally:
        cur.close()
    assert count(store, "staff_users") == 0


def test_every_role_is_accepted(store: Store) -> None:
    for role in Role:
        user = store.create_staff_user(ACTOR, f"user-{role.value}", "Someone", role, None)
        assert store.staff_user(user.id).role is role


# --------------------------------------------------------------------------- privacy shape


def test_a_response_is_only_an_id_and_a_session(store: Store) -> None:
    assert store.table_columns("responses") == ["id", "session_id"]


def test_responses_and_answers_carry_no_time(store: Store) -> None:
    rows = query(
        store,
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_name IN ('responses', 'answers')",
    )
    assert {r[0] for r in rows} == {"responses", "answers"}
    for table, column, data_type in rows:
        assert not data_type.upper().startswith(TIME_TYPES), (table, column, data_type)
        assert not any(w in column.lower() for w in ("time", "date", "_at", "created")), column


def test_answers_hold_only_the_response_the_item_and_the_value(store: Store) -> None:
    assert store.table_columns("answers") == ["response_id", "instrument_id", "item_id", "value"]


def test_card_codes_cannot_link_a_card_to_its_response(store: Store) -> None:
    assert not any("response" in c for c in store.table_columns("card_codes"))


# --------------------------------------------------------------------------- write and retry


@pytest.fixture
def counter(store: Store) -> Store:
    """A one-row table `counter(n)` for read-modify-write tests."""
    cur = store.cursor()
    try:
        cur.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        cur.execute("INSERT INTO counter VALUES (1, 0)")
    finally:
        cur.close()
    return store


def increment(cur: duckdb.DuckDBPyConnection) -> int:
    """Read, then write back one more: lost updates show if two of these interleave unchecked."""
    row = cur.execute("SELECT n FROM counter WHERE id = 1").fetchone()
    assert row is not None
    cur.execute("UPDATE counter SET n = ? WHERE id = 1", [row[0] + 1])
    return int(row[0]) + 1


def hammer_counter(store: Store, threads: int, units: int) -> tuple[int, list[BaseException]]:
    """Run threads × units increments at once; return how many succeeded and what escaped."""
    done: list[int] = []
    escaped: list[BaseException] = []
    lock = threading.Lock()

    def work(_: int) -> None:
        for _ in range(units):
            try:
                store.write(increment)
            except BaseException as exc:  # collected and asserted on below
                with lock:
                    escaped.append(exc)
            else:
                with lock:
                    done.append(1)

    run_threads(threads, work)
    return len(done), escaped


def test_concurrent_read_modify_write_never_loses_an_update(counter: Store) -> None:
    succeeded, escaped = hammer_counter(counter, threads=8, units=25)
    assert query(counter, "SELECT n FROM counter")[0][0] == succeeded
    assert all(isinstance(e, Conflict) for e in escaped), escaped


def test_concurrent_read_modify_write_all_units_complete(counter: Store) -> None:
    """8 writers on one row is ordinary load (one click each from a room of staff): no give-ups."""
    succeeded, escaped = hammer_counter(counter, threads=8, units=25)
    assert escaped == []
    assert succeeded == 200
    assert query(counter, "SELECT n FROM counter")[0][0] == 200


@pytest.mark.slow
def test_write_gives_up_with_conflict_after_repeated_transaction_conflicts(store: Store) -> None:
    calls = 0

    def unit(cur: duckdb.DuckDBPyConnection) -> None:
        nonlocal calls
        calls += 1
        cur.execute("INSERT INTO programs (name) VALUES (?)", [f"attempt {calls}"])
        raise lost_race(store)

    with pytest.raises(Conflict):
        store.write(unit)
    assert calls == store_module().RETRIES
    assert calls > 1
    assert count(store, "programs") == 0


def test_write_retries_the_whole_unit_and_keeps_only_the_last_attempt(store: Store) -> None:
    calls = 0

    def unit(cur: duckdb.DuckDBPyConnection) -> str:
        nonlocal calls
        calls += 1
        cur.execute("INSERT INTO programs (name) VALUES (?)", [f"attempt {calls}"])
        if calls < 3:
            raise lost_race(store)
        return "done"

    assert store.write(unit) == "done"
    assert calls == 3
    assert [p.name for p in store.programs()] == ["attempt 3"]


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug in the unit"),
        Conflict("a rule of the domain"),
        duckdb.ConstraintException("a constraint"),
    ],
    ids=["ValueError", "Conflict", "ConstraintException"],
)
def test_a_unit_raising_another_error_is_not_retried_and_rolls_back(
    store: Store, error: Exception
) -> None:
    calls = 0

    def unit(cur: duckdb.DuckDBPyConnection) -> None:
        nonlocal calls
        calls += 1
        cur.execute("INSERT INTO programs (name) VALUES ('half done')")
        raise error

    with pytest.raises(type(error)):
        store.write(unit)
    assert calls == 1
    assert count(store, "programs") == 0


def test_the_store_still_writes_after_a_failed_unit(store: Store) -> None:
    def failing(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("INSERT INTO programs (name) VALUES ('rolled back')")
        raise ValueError

    with pytest.raises(ValueError):
        store.write(failing)
    store.create_program(ACTOR, "After")
    assert [p.name for p in store.programs()] == ["After"]


def test_appends_from_many_threads_all_land(store: Store) -> None:
    threads, each = 8, 50
    escaped: list[BaseException] = []

    def work(t: int) -> None:
        for i in range(each):
            try:
                store.create_program(ACTOR, f"program-{t}-{i}")
            except BaseException as exc:  # asserted on below
                escaped.append(exc)

    run_threads(threads, work)
    assert escaped == []
    assert count(store, "programs") == threads * each
    assert query(store, "SELECT count(DISTINCT id) FROM programs")[0][0] == threads * each
    assert count(store, "audit_events") == threads * each


# --------------------------------------------------------------------------- staff users


def test_a_duplicate_username_in_any_case_is_a_conflict_and_writes_nothing(store: Store) -> None:
    store.create_staff_user(ACTOR, "maya", "Maya", Role.FACILITATOR, None)
    audit_before = count(store, "audit_events")
    for clash in ("maya", "Maya", "MAYA"):
        with pytest.raises(Conflict, match="taken"):
            store.create_staff_user(ACTOR, clash, "Another Maya", Role.ADMIN, None)
    assert [u.username for u in store.staff_users()] == ["maya"]
    assert count(store, "audit_events") == audit_before


def test_racing_creations_of_one_username_make_exactly_one_account(store: Store) -> None:
    """The losers of the race see the same Conflict as a later duplicate, not a database error."""
    for round_ in range(3):
        outcomes: list[str] = []

        def work(t: int, name: str = f"sam{round_}", outcomes: list[str] = outcomes) -> None:
            try:
                store.create_staff_user(ACTOR, name, f"Sam {t}", Role.FACILITATOR, None)
                outcomes.append("created")
            except Exception as exc:  # the kind of error is what is checked
                outcomes.append(type(exc).__name__)

        run_threads(8, work)
        assert sorted(outcomes) == ["Conflict"] * 7 + ["created"], (round_, sorted(outcomes))
    assert count(store, "staff_users") == 3


def test_racing_creations_of_one_username_in_different_cases_make_exactly_one_account(
    store: Store,
) -> None:
    """Usernames are unique ignoring case, also when two admins submit at the same moment."""
    for round_ in range(3):
        name = f"sam{round_}"

        errors: list[str] = []

        def work(t: int, name: str = name, errors: list[str] = errors) -> None:
            try:
                store.create_staff_user(
                    ACTOR, name if t % 2 else name.upper(), "Sam", Role.LEAD, None
                )
            except Conflict:
                pass
            except Exception as exc:  # reported below rather than lost in a thread
                errors.append(type(exc).__name__)

        run_threads(8, work)
        rows = query(store, "SELECT username FROM staff_users WHERE lower(username) = ?", [name])
        assert len(rows) == 1, f"round {round_}: {rows}"
        assert errors == [], f"round {round_}"


def test_creating_a_staff_user_is_audited(store: Store) -> None:
    user = store.create_staff_user(ACTOR, "lee", "Lee Lead", Role.LEAD, "hash", "lee@example.org")
    assert store.staff_user_by_username("LEE") == user
    assert store.password_hash(user.id) == "hash"
    event = store.audit_events()[0]
    assert (event.actor, event.action, event.object_type) == (
        ACTOR.name,
        "create staff user",
        "staff_user",
    )
    assert event.object_id == str(user.id)


# --------------------------------------------------------------------------- programs


def test_a_duplicate_program_name_is_a_conflict_and_writes_nothing(store: Store) -> None:
    store.create_program(ACTOR, "Pain collective", "first")
    audit_before = count(store, "audit_events")
    with pytest.raises(Conflict):
        store.create_program(ACTOR, "Pain collective", "second")
    assert [(p.name, p.description) for p in store.programs()] == [("Pain collective", "first")]
    assert count(store, "audit_events") == audit_before


def test_creating_a_program_is_audited(store: Store) -> None:
    program = store.create_program(ACTOR, "Pain collective", min_group_size=7)
    event = store.audit_events()[0]
    assert (event.actor, event.action, event.object_id) == (
        ACTOR.name,
        "create program",
        str(program.id),
    )


# --------------------------------------------------------------------------- cohorts


def test_create_cohort_writes_sessions_facilitators_and_roster(store: Store) -> None:
    program_id, cohort_id = make_cohort(store)
    cohort = store.cohort(cohort_id)
    assert cohort.program_id == program_id
    assert cohort.start_date == MONDAY
    assert cohort.status == CohortStatus.SCHEDULED
    assert [(s.number, s.scheduled_date, s.status) for s in store.sessions(cohort_id)] == [
        (n, MONDAY + dt.timedelta(weeks=n), "planned") for n in (0, 1, 2)
    ]
    maya = store.staff_user_by_username("maya")
    assert maya is not None
    assert store.cohort_facilitator_ids(cohort_id) == [maya.id]
    assert [m.display_name for m in store.roster(cohort_id)] == ["Ana", "Ben", "Chloe"]
    event = store.audit_events()[0]
    assert (event.actor, event.action, event.object_id) == (
        ACTOR.name,
        "create cohort",
        str(cohort_id),
    )


def snapshot_cohort_tables(store: Store) -> dict[str, int]:
    names = ["cohorts", "sessions", "cohort_facilitators", "roster_members", "audit_events"]
    return {t: count(store, t) for t in names}


def test_a_duplicate_cohort_name_fails_and_leaves_nothing_partial(store: Store) -> None:
    program_id, _ = make_cohort(store, name="Tuesday")
    before = snapshot_cohort_tables(store)
    with pytest.raises(Conflict):
        store.create_cohort(ACTOR, program_id, 1, "Tuesday", {1: MONDAY}, [1], ["Zed"])
    assert snapshot_cohort_tables(store) == before


def test_a_cohort_failing_halfway_leaves_nothing_partial(store: Store) -> None:
    """The roster is written last; a bad roster must undo the cohort, sessions and facilitators."""
    program = store.create_program(ACTOR, "Pain collective")
    before = snapshot_cohort_tables(store)
    with pytest.raises(store.engine.errors, match="(?i)check"):  # a name over 60 characters
        store.create_cohort(
            ACTOR, program.id, 1, "Too long", {1: MONDAY, 2: MONDAY}, [1], ["Ana", "A" * 61]
        )
    assert snapshot_cohort_tables(store) == before


def test_the_same_cohort_name_in_another_program_is_fine(store: Store) -> None:
    make_cohort(store, name="Tuesday")
    other = store.create_program(ACTOR, "Other program")
    cohort = store.create_cohort(ACTOR, other.id, 1, "Tuesday", {1: MONDAY}, [1], ["Ana"])
    assert store.cohort(cohort.id).program_id == other.id


def test_a_cohort_without_facilitators_gives_a_typed_error_or_succeeds(store: Store) -> None:
    """Whatever the rule is, a facilitator sees a ProgramError, never a raw database error."""
    program = store.create_program(ACTOR, "Pain collective")
    try:
        cohort = store.create_cohort(ACTOR, program.id, 1, "Unstaffed", {1: MONDAY}, [], ["Ana"])
    except ProgramError:
        assert count(store, "cohorts") == 0
    else:
        assert store.cohort_facilitator_ids(cohort.id) == []


def test_removing_every_facilitator_gives_a_typed_error_or_succeeds(store: Store) -> None:
    _, cohort_id = make_cohort(store)
    before = store.cohort_facilitator_ids(cohort_id)
    try:
        store.set_cohort_facilitators(ACTOR, cohort_id, [])
    except ProgramError:
        assert store.cohort_facilitator_ids(cohort_id) == before
    else:
        assert store.cohort_facilitator_ids(cohort_id) == []


# --------------------------------------------------------------------------- sessions


def test_record_session_writes_attendance_and_fidelity_and_marks_held(store: Store) -> None:
    _, cohort_id = make_cohort(store)
    session = store.sessions(cohort_id)[1]
    ana, ben, chloe = store.roster(cohort_id)
    marks = {ana.id: "present", ben.id: "absent", chloe.id: "excused"}

    record(store, session.id, marks, [0, 2], 4, held=True)

    assert attendance(store, session.id) == marks
    assert store.fidelity(session.id) == {0: True, 1: False, 2: True, 3: False}
    assert store.session(session.id).status == "held"
    assert store.cohort(cohort_id).status == CohortStatus.RUNNING
    event = store.audit_events()[0]
    assert (event.actor, event.action, event.object_type, event.object_id) == (
        ACTOR.name,
        "record session",
        "session",
        str(session.id),
    )


def test_recording_a_session_again_replaces_it(store: Store) -> None:
    _, cohort_id = make_cohort(store)
    session = store.sessions(cohort_id)[1]
    ana, ben, _ = store.roster(cohort_id)
    record(store, session.id, {ana.id: "present", ben.id: "present"}, [0, 1], 2, held=True)
    record(store, session.id, {ana.id: "absent"}, [1], 3, held=False)

    assert attendance(store, session.id) == {ana.id: "absent"}
    assert store.fidelity(session.id) == {0: False, 1: True, 2: False}
    assert store.session(session.id).status == "held"  # a later correction does not un-hold it
    assert len([e for e in store.audit_events() if e.object_type == "session"]) == 2


def test_a_stale_session_form_is_refused_and_writes_nothing(store: Store) -> None:
    _, cohort_id = make_cohort(store)
    session = store.sessions(cohort_id)[1]
    ana = store.roster(cohort_id)[0]
    stale = store.session_revision(session.id)
    record(store, session.id, {ana.id: "present"}, [0], 1, held=True)
    audit_before = count(store, "audit_events")
    report = SessionReport(
        attendance={ana.id: AttendanceMark(status=Mark.ABSENT)},
        delivered=frozenset(),
        agenda_length=1,
        held=True,
    )
    with pytest.raises(Conflict):
        store.record_session(ACTOR, session.id, report, stale)
    assert attendance(store, session.id) == {ana.id: "present"}
    assert count(store, "audit_events") == audit_before


def test_a_session_of_a_cohort_with_an_empty_roster_can_be_recorded(store: Store) -> None:
    """create_cohort accepts an empty roster, so its sessions must be recordable (no attendance)."""
    _, cohort_id = make_cohort(store, roster=())
    session = store.sessions(cohort_id)[1]
    record(store, session.id, {}, [0], 1, held=True)
    assert store.session(session.id).status == "held"
    assert attendance(store, session.id) == {}


def test_every_session_held_makes_the_cohort_finished(store: Store) -> None:
    _, cohort_id = make_cohort(store, numbers=(1, 2))
    ana = store.roster(cohort_id)[0]
    for session in store.sessions(cohort_id):
        record(store, session.id, {ana.id: "present"}, [0], 1, held=True)
    assert store.cohort(cohort_id).status == CohortStatus.FINISHED


# --------------------------------------------------------------------------- the file lock


OPEN_IN_ANOTHER_PROCESS = """
import sys
from program.errors import DatabaseLocked
from program.store import Store
try:
    Store(sys.argv[1]).close()
except DatabaseLocked as exc:
    print(type(exc).__name__)
    print(exc)
else:
    print("opened")
"""


def open_in_another_process(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", OPEN_IN_ANOTHER_PROCESS, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# One process holding the DuckDB file's lock; PostgreSQL serves many processes at once.
@pytest.mark.duckdb_only
def test_a_second_process_cannot_open_the_database_while_this_one_holds_it(
    store: Store, settings_env: Path
) -> None:
    out = open_in_another_process(settings_env)
    assert out.splitlines()[0] == "DatabaseLocked"
    assert str(settings_env) in out
    assert "Another process" in out


# The DuckDB file's lock, released on close.
@pytest.mark.duckdb_only
def test_closing_the_store_releases_the_file(store: Store, settings_env: Path) -> None:
    store.close()
    assert open_in_another_process(settings_env).strip() == "opened"
