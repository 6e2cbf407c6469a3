"""The admin's work against a real temporary DuckDB: staff accounts (program.staff), programs and
the privacy threshold (program.programs), backup and restore (program.backup), cohort deletion
(program.deletion) and the audit log (program.audit). Nothing of program/ is mocked."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from program import audit, auth, backup, deletion, programs, staff
from program.errors import AccessDenied, Conflict, InvalidInput, NotFound
from program.library import load_curriculum
from program.models import (
    Actor,
    AttendanceMark,
    Mark,
    Role,
    ScoredResponse,
    SessionReport,
    StaffUser,
)
from program.settings import get_settings
from program.staff import password_matches
from program.store import Store
from tests.factories.paths import CURRICULA

SYSTEM = Actor.system()
PASSWORD = "a long enough password"
NEW_PASSWORD = "another long password"
OPENED = dt.datetime(2026, 3, 2, 19, 45)


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def ada(make_staff: Any) -> StaffUser:
    user: StaffUser = make_staff("ada", Role.ADMIN)
    return user


@pytest.fixture
def lee(make_staff: Any) -> StaffUser:
    user: StaffUser = make_staff("lee", Role.LEAD)
    return user


@pytest.fixture
def maya(make_staff: Any) -> StaffUser:
    user: StaffUser = make_staff("maya", Role.FACILITATOR)
    return user


@pytest.fixture
def version_id(store: Store) -> int:
    version, _ = load_curriculum(store, SYSTEM, CURRICULA / "collective-healing.yaml")
    return version.id


def make_cohort(
    store: Store, program_id: int, version_id: int, name: str, facilitator: StaffUser
) -> int:
    numbers = [s.number for s in store.curriculum_bundle(version_id).curriculum.sessions]
    dates = {n: dt.date(2026, 3, 2) + dt.timedelta(weeks=n) for n in numbers}
    cohort = store.create_cohort(
        SYSTEM, program_id, version_id, name, dates, [facilitator.id], ["Ana", "Ben", "Chloe"]
    )
    return cohort.id


def respond(store: Store, session_id: int, n: int = 1) -> None:
    response = ScoredResponse(answers={("who5", "cheerful"): 3}, scores={"who5": 12.0})
    store.store_closed_pulse(SYSTEM, session_id, OPENED, [response] * n)


def fill_session(store: Store, session_id: int, member_ids: list[int]) -> None:
    """Attendance, fidelity and card codes for a session (test setup beside the pulse)."""
    report = SessionReport(
        attendance={m: AttendanceMark(status=Mark.PRESENT) for m in member_ids},
        delivered=frozenset({0}),
        agenda_length=2,
        held=False,
    )
    store.record_session(Actor.system(), session_id, report, store.session_revision(session_id))
    cur = store.cursor()
    try:
        cur.execute(
            "INSERT INTO card_codes (code_hash, session_id) VALUES (?, ?), (?, ?)",
            [f"a{session_id}", session_id, f"b{session_id}", session_id],
        )
    finally:
        cur.close()


def count(store: Store, sql: str, params: list[Any] | None = None) -> int:
    row = store._one(sql, params or [])
    assert row is not None
    return int(row[0])


def last_event(store: Store) -> tuple[str, str, str, str, str]:
    e = store.audit_events(limit=1)[0]
    return (e.actor, e.action, e.object_type, e.object_id, e.detail)


def actions(store: Store) -> list[str]:
    return [e.action for e in store.audit_events(limit=1000)]


# --------------------------------------------------------------------------- who may do this


def test_every_admin_function_refuses_facilitators_and_leads(
    store: Store, ada: StaffUser, lee: StaffUser, maya: StaffUser
) -> None:
    program = programs.create_program(store, ada, "Pain collective")
    calls = [
        lambda v: staff.staff_accounts(store, v),
        lambda v: staff.create_staff(store, v, "zed", "Zed", Role.ADMIN, PASSWORD),
        lambda v: staff.reset_password(store, v, ada.id, NEW_PASSWORD),
        lambda v: staff.deactivate_staff(store, v, ada.id),
        lambda v: staff.reactivate_staff(store, v, ada.id),
        lambda v: staff.change_role(store, v, v.id, Role.ADMIN),
        lambda v: staff.set_staff_email(store, v, ada.id, "x@example.org"),
        lambda v: programs.programs_overview(store, v),
        lambda v: programs.create_program(store, v, "Mine"),
        lambda v: programs.assign_program_lead(store, v, program.id, lee.id),
        lambda v: programs.unassign_program_lead(store, v, program.id, lee.id),
        lambda v: programs.set_program_description(store, v, program.id, "changed"),
        lambda v: programs.privacy_status(store, v, program.id),
        lambda v: programs.set_min_group_size(store, v, program.id, 3),
        lambda v: backup.export_backup(store, v),
        lambda v: backup.restore_backup(store, v, b"", backup.RESTORE_WORD),
        lambda v: backup.table_row_counts(store, v),
        lambda v: deletion.cohort_data(store, v, 1),
        lambda v: deletion.delete_cohort_data(store, v, 1, "x"),
        lambda v: audit.audit_choices(store, v),
        lambda v: audit.audit_events(store, v, audit.AuditFilter()),
        lambda v: audit.export_audit_csv(store, v, audit.AuditFilter()),
    ]
    before = store.row_counts()
    for viewer in (lee, maya):
        for call in calls:
            with pytest.raises(AccessDenied, match="Only a admin"):
                call(viewer)
    assert store.row_counts() == before
    assert store.staff_user(ada.id).role == Role.ADMIN


# --------------------------------------------------------------------------- staff accounts


def test_staff_accounts_list_everyone_with_sign_in_method_and_never_a_hash(
    store: Store, ada: StaffUser, maya: StaffUser
) -> None:
    staff.create_staff(store, ada, "sso", "Single Sign", Role.LEAD, None, "sso@example.org")
    accounts = {a.user.username: a for a in staff.staff_accounts(store, ada)}
    assert set(accounts) == {"ada", "maya", "sso"}
    assert accounts["maya"].has_password and accounts["maya"].sign_in == "password"
    assert not accounts["sso"].has_password and accounts["sso"].sign_in == "single sign-on"
    assert "argon2" not in repr(accounts)


def test_create_staff_with_password_can_sign_in_and_is_audited(
    store: Store, ada: StaffUser
) -> None:
    user = staff.create_staff(store, ada, "  Noor ", "Noor N", Role.FACILITATOR, PASSWORD)
    assert (user.username, user.role, user.active) == ("noor", Role.FACILITATOR, True)
    assert last_event(store)[:4] == ("ada", "create staff user", "staff_user", str(user.id))
    assert auth.sign_in(store, get_settings(), "noor", PASSWORD)


def test_create_sso_only_staff_needs_an_email(store: Store, ada: StaffUser) -> None:
    with pytest.raises(InvalidInput, match="email address for an account"):
        staff.create_staff(store, ada, "sso", "Sso", Role.LEAD, "", "")
    with pytest.raises(InvalidInput, match="does not look like an email"):
        staff.create_staff(store, ada, "sso", "Sso", Role.LEAD, None, "not-an-email")
    user = staff.create_staff(store, ada, "sso", "Sso", Role.LEAD, None, " Sso@Example.org ")
    assert user.email == "sso@example.org"
    assert store.password_hash(user.id) is None


def test_create_staff_refusals_create_nothing(store: Store, ada: StaffUser) -> None:
    staff.create_staff(store, ada, "sso", "Sso", Role.LEAD, None, "sso@example.org")
    before = store.count_staff_users()
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        staff.create_staff(store, ada, "short", "Short", Role.LEAD, "123456789")
    with pytest.raises(Conflict, match="taken"):
        staff.create_staff(store, ada, "ADA", "Another Ada", Role.LEAD, PASSWORD)
    with pytest.raises(Conflict, match="already belongs to 'sso'"):
        staff.create_staff(store, ada, "other", "Other", Role.LEAD, PASSWORD, "SSO@example.org")
    with pytest.raises(InvalidInput, match="username"):
        staff.create_staff(store, ada, "no spaces please", "X", Role.LEAD, PASSWORD)
    assert store.count_staff_users() == before


def test_reset_password_replaces_it_and_ends_that_persons_sessions(
    store: Store, ada: StaffUser, maya: StaffUser
) -> None:
    settings = get_settings()
    token = auth.sign_in(store, settings, "maya", "correct horse battery")
    admins_token = auth.sign_in(store, settings, "ada", "correct horse battery")
    assert auth.resolve_signin(store, settings, token) == maya
    staff.reset_password(store, ada, maya.id, NEW_PASSWORD)
    assert auth.resolve_signin(store, settings, token) is None
    assert auth.resolve_signin(store, settings, admins_token) == ada
    assert password_matches(store.password_hash(maya.id), NEW_PASSWORD)
    assert not password_matches(store.password_hash(maya.id), "correct horse battery")
    assert {"reset password", "sign out everywhere"} <= set(actions(store)[:2])


def test_reset_password_refuses_a_short_one_and_keeps_the_old(
    store: Store, ada: StaffUser, maya: StaffUser
) -> None:
    with pytest.raises(InvalidInput, match="at least 10"):
        staff.reset_password(store, ada, maya.id, "short")
    assert password_matches(store.password_hash(maya.id), "correct horse battery")
    with pytest.raises(NotFound):
        staff.reset_password(store, ada, 999, NEW_PASSWORD)


def test_reset_password_lifts_a_sign_in_pause(
    store: Store, ada: StaffUser, maya: StaffUser
) -> None:
    settings = get_settings()
    for _ in range(settings.failed_signin_limit):
        with pytest.raises(AccessDenied):
            auth.sign_in(store, settings, "maya", "wrong password!")
    with pytest.raises(AccessDenied):  # paused: even the right password is refused
        auth.sign_in(store, settings, "maya", "correct horse battery")
    staff.reset_password(store, ada, maya.id, NEW_PASSWORD)
    assert auth.sign_in(store, settings, "maya", NEW_PASSWORD)


def test_deactivate_ends_sessions_and_blocks_sign_in_reactivate_restores(
    store: Store, ada: StaffUser, maya: StaffUser
) -> None:
    settings = get_settings()
    token = auth.sign_in(store, settings, "maya", "correct horse battery")
    user = staff.deactivate_staff(store, ada, maya.id)
    assert not user.active
    session = store.signin(auth.token_hash(token))
    assert session is not None and session[2]  # revoked on the server, not only refused
    assert auth.resolve_signin(store, settings, token) is None
    with pytest.raises(AccessDenied):
        auth.sign_in(store, settings, "maya", "correct horse battery")
    with pytest.raises(Conflict, match="already deactivated"):
        staff.deactivate_staff(store, ada, maya.id)
    assert "deactivate staff user" in actions(store)

    assert staff.reactivate_staff(store, ada, maya.id).active
    assert auth.sign_in(store, settings, "maya", "correct horse battery")
    with pytest.raises(Conflict, match="already active"):
        staff.reactivate_staff(store, ada, maya.id)
    assert "reactivate staff user" in actions(store)


def test_an_admin_cannot_deactivate_themselves(
    store: Store, ada: StaffUser, make_staff: Any
) -> None:
    make_staff("bea", Role.ADMIN)
    with pytest.raises(Conflict, match="your own account"):
        staff.deactivate_staff(store, ada, ada.id)
    assert store.staff_user(ada.id).active


def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(
    store: Store, ada: StaffUser, make_staff: Any
) -> None:
    bea = make_staff("bea", Role.ADMIN)
    # Two admins: one may go.
    staff.deactivate_staff(store, ada, bea.id)
    # Now ada is the last active admin: a deactivated admin does not count.
    with pytest.raises(Conflict, match="last active admin"):
        staff.change_role(store, ada, ada.id, Role.LEAD)
    assert store.staff_user(ada.id).role == Role.ADMIN
    # With bea active again, ada may step down to lead.
    staff.reactivate_staff(store, ada, bea.id)
    staff.change_role(store, ada, ada.id, Role.LEAD)
    assert store.staff_user(ada.id).role == Role.LEAD
    # bea is now the last one. No other admin could even ask, but the store's rule refuses by
    # itself, apart from the domain function's "not yourself" check.
    with pytest.raises(Conflict, match="last active admin"):
        store.set_staff_active(SYSTEM, bea.id, False)
    with pytest.raises(Conflict, match="last active admin"):
        store.set_staff_role(SYSTEM, bea.id, Role.FACILITATOR)
    assert store.staff_user(bea.id).active and store.staff_user(bea.id).role == Role.ADMIN


def test_deactivating_an_admin_while_another_remains_is_allowed(
    store: Store, ada: StaffUser, make_staff: Any
) -> None:
    bea = make_staff("bea", Role.ADMIN)
    cal = make_staff("cal", Role.ADMIN)
    staff.deactivate_staff(store, ada, bea.id)
    staff.deactivate_staff(store, ada, cal.id)
    assert [u.username for u in store.staff_users() if u.role == Role.ADMIN and u.active] == ["ada"]


def test_change_role_is_audited_and_leaving_lead_ends_program_leadership(
    store: Store, ada: StaffUser, lee: StaffUser
) -> None:
    program = programs.create_program(store, ada, "Pain collective")
    programs.assign_program_lead(store, ada, program.id, lee.id)
    user = staff.change_role(store, ada, lee.id, Role.FACILITATOR)
    assert user.role == Role.FACILITATOR
    assert store.program_lead_ids(program.id) == []
    actor, action, _, object_id, detail = last_event(store)
    assert (actor, action, object_id) == ("ada", "change role", str(lee.id))
    assert "lead → facilitator" in detail and "1 program" in detail
    with pytest.raises(Conflict, match="already a facilitator"):
        staff.change_role(store, ada, lee.id, Role.FACILITATOR)


def test_set_and_clear_email(store: Store, ada: StaffUser, maya: StaffUser) -> None:
    assert (
        staff.set_staff_email(store, ada, maya.id, "Maya@Example.org").email == "maya@example.org"
    )
    assert last_event(store)[1] == "set email"
    assert staff.set_staff_email(store, ada, maya.id, "  ").email is None
    assert last_event(store)[1] == "clear email"


def test_email_must_be_valid_and_unique(store: Store, ada: StaffUser, maya: StaffUser) -> None:
    staff.set_staff_email(store, ada, ada.id, "ada@example.org")
    with pytest.raises(Conflict, match="already belongs to 'ada'"):
        staff.set_staff_email(store, ada, maya.id, "ADA@example.org")
    with pytest.raises(InvalidInput, match="does not look like an email"):
        staff.set_staff_email(store, ada, maya.id, "maya@")
    assert store.staff_user(maya.id).email is None


def test_an_sso_only_account_keeps_its_email(store: Store, ada: StaffUser) -> None:
    sso = staff.create_staff(store, ada, "sso", "Sso", Role.LEAD, None, "sso@example.org")
    with pytest.raises(Conflict, match="could not sign in at all"):
        staff.set_staff_email(store, ada, sso.id, None)
    assert store.staff_user(sso.id).email == "sso@example.org"
    staff.reset_password(store, ada, sso.id, NEW_PASSWORD)
    assert staff.set_staff_email(store, ada, sso.id, None).email is None


# --------------------------------------------------------------------------- programs


def test_create_program_with_default_and_chosen_k(store: Store, ada: StaffUser) -> None:
    p = programs.create_program(store, ada, "  Pain collective ", "  City clinics ")
    assert (p.name, p.description, p.min_group_size) == ("Pain collective", "City clinics", 5)
    q = programs.create_program(store, ada, "Small groups", min_group_size=3)
    assert q.min_group_size == 3
    assert last_event(store)[:3] == ("ada", "create program", "program")
    with pytest.raises(Conflict, match="exists already"):
        programs.create_program(store, ada, "Pain collective")
    with pytest.raises(InvalidInput, match="name"):
        programs.create_program(store, ada, "   ")


@pytest.mark.parametrize(("k", "ok"), [(2, False), (3, True), (10, True), (11, False)])
def test_create_program_k_boundaries(store: Store, ada: StaffUser, k: int, ok: bool) -> None:
    if ok:
        assert programs.create_program(store, ada, "P", min_group_size=k).min_group_size == k
    else:
        with pytest.raises(InvalidInput, match="between 3 and 10"):
            programs.create_program(store, ada, "P", min_group_size=k)
        assert store.programs() == []


def test_the_range_of_k_is_the_one_the_schema_checks(store: Store) -> None:
    """programs.MIN_GROUP_SIZES (which the release engine uses too) and the CHECK of the first migration
    agree: the database takes both ends of the range and refuses the numbers just outside it."""
    first, last = programs.MIN_GROUP_SIZES[0], programs.MIN_GROUP_SIZES[-1]
    for k in (first, last):
        assert store.create_program(SYSTEM, f"k = {k}", "", k).min_group_size == k
    for k in (first - 1, last + 1):
        with pytest.raises(store.engine.errors, match="(?i)check"):
            store.create_program(SYSTEM, f"k = {k}", "", k)
    assert len(store.programs()) == 2


def test_assign_and_unassign_program_leads(
    store: Store, ada: StaffUser, lee: StaffUser, maya: StaffUser
) -> None:
    program = programs.create_program(store, ada, "Pain collective")
    programs.assign_program_lead(store, ada, program.id, lee.id)
    assert store.program_lead_ids(program.id) == [lee.id]
    assert [u.id for u in programs.programs_overview(store, ada)[0].leads] == [lee.id]
    with pytest.raises(Conflict, match="already leads"):
        programs.assign_program_lead(store, ada, program.id, lee.id)
    with pytest.raises(InvalidInput, match="only program leads"):
        programs.assign_program_lead(store, ada, program.id, maya.id)
    with pytest.raises(InvalidInput, match="only program leads"):
        programs.assign_program_lead(store, ada, program.id, ada.id)
    programs.unassign_program_lead(store, ada, program.id, lee.id)
    assert store.program_lead_ids(program.id) == []
    assert last_event(store)[:4] == ("ada", "unassign lead", "program", str(program.id))
    with pytest.raises(NotFound, match="does not lead"):
        programs.unassign_program_lead(store, ada, program.id, lee.id)


def test_a_deactivated_lead_cannot_be_assigned(
    store: Store, ada: StaffUser, lee: StaffUser
) -> None:
    program = programs.create_program(store, ada, "Pain collective")
    staff.deactivate_staff(store, ada, lee.id)
    with pytest.raises(Conflict, match="Reactivate"):
        programs.assign_program_lead(store, ada, program.id, lee.id)
    assert store.program_lead_ids(program.id) == []


def test_edit_program_description(store: Store, ada: StaffUser) -> None:
    program = programs.create_program(store, ada, "Pain collective", "old")
    assert programs.set_program_description(store, ada, program.id, " new ").description == "new"
    assert store.program(program.id).description == "new"
    assert last_event(store)[1] == "edit program description"
    with pytest.raises(InvalidInput, match="at most 2000"):
        programs.set_program_description(store, ada, program.id, "x" * 2001)
    with pytest.raises(NotFound):
        programs.set_program_description(store, ada, 999, "x")


# --------------------------------------------------------------------------- privacy


@pytest.mark.parametrize(("k", "ok"), [(2, False), (3, True), (10, True), (11, False)])
def test_change_k_boundaries(store: Store, ada: StaffUser, k: int, ok: bool) -> None:
    program = programs.create_program(store, ada, "Pain collective", min_group_size=5)
    if ok:
        assert programs.set_min_group_size(store, ada, program.id, k).min_group_size == k
        assert last_event(store)[1:] == (
            "change minimum group size",
            "program",
            str(program.id),
            f"k 5 → {k}",
        )
    else:
        with pytest.raises(InvalidInput, match="between 3 and 10"):
            programs.set_min_group_size(store, ada, program.id, k)
        assert store.program(program.id).min_group_size == 5


def test_k_locks_when_the_first_pulse_opens(
    store: Store, ada: StaffUser, maya: StaffUser, version_id: int
) -> None:
    program = programs.create_program(store, ada, "Pain collective")
    cohort_id = make_cohort(store, program.id, version_id, "Tuesday", maya)
    status = programs.privacy_status(store, ada, program.id)
    assert not status.locked and "can change" in status.explanation
    # A cohort and sessions but no response yet: still open.
    programs.set_min_group_size(store, ada, program.id, 4)

    first = store.sessions(cohort_id)[1]
    now = dt.datetime.now()
    store.open_pulse_window(SYSTEM, first.id, "ABCDEFGH", now, now + dt.timedelta(hours=2))
    status = programs.privacy_status(store, ada, program.id)
    assert status.locked and status.pulse_opened
    assert "Locked at 4" in status.explanation
    with pytest.raises(Conflict, match="locked at 4.*a pulse has opened"):
        programs.set_min_group_size(store, ada, program.id, 6)
    assert store.program(program.id).min_group_size == 4
    assert programs.programs_overview(store, ada)[0].min_group_size_locked


@pytest.mark.slow
@pytest.mark.parametrize("first", ["opening", "k change"])
def test_a_pulse_opening_during_a_k_change_conflicts_with_it(
    store: Store, ada: StaffUser, maya: StaffUser, version_id: int, first: str
) -> None:
    """Both write the program's row, so whichever commits second is refused: k can never change
    under a pulse whose participants were promised the old k.

    The other writer's uncommitted transaction is made here by hand, with the statement each
    side uses; DuckDB 2.0 sees a conflict only between statements of the same shape (UPDATE …
    RETURNING on both sides), which is what this test pins down."""
    program = programs.create_program(store, ada, "Pain collective")
    session = store.sessions(make_cohort(store, program.id, version_id, "Tuesday", maya))[1]
    now = dt.datetime.now()
    other = store.cursor()
    other.execute("BEGIN TRANSACTION")
    try:
        if first == "opening":
            other.execute(
                "UPDATE programs SET min_cell_size = min_cell_size WHERE id = ? RETURNING id",
                [program.id],
            ).fetchall()
            with pytest.raises(Conflict, match="at once"):
                programs.set_min_group_size(store, ada, program.id, 7)
            assert store.program(program.id).min_group_size == 5
        else:
            other.execute(
                "UPDATE programs SET min_cell_size = ? WHERE id = ? RETURNING id",
                [7, program.id],
            ).fetchall()
            with pytest.raises(Conflict, match="at once"):
                store.open_pulse_window(
                    SYSTEM, session.id, "ABCDEFGH", now, now + dt.timedelta(hours=2)
                )
            assert store.pulse_window(session.id) is None
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_responses_in_another_program_do_not_lock_this_one(
    store: Store, ada: StaffUser, maya: StaffUser, version_id: int
) -> None:
    busy = programs.create_program(store, ada, "Busy")
    quiet = programs.create_program(store, ada, "Quiet")
    cohort_id = make_cohort(store, busy.id, version_id, "Tuesday", maya)
    make_cohort(store, quiet.id, version_id, "Thursday", maya)
    respond(store, store.sessions(cohort_id)[1].id, n=3)
    assert programs.privacy_status(store, ada, busy.id).locked
    assert not programs.privacy_status(store, ada, quiet.id).locked
    assert programs.set_min_group_size(store, ada, quiet.id, 7).min_group_size == 7


# --------------------------------------------------------------------------- backup and restore


def populated(store: Store, ada: StaffUser, maya: StaffUser, version_id: int) -> list[int]:
    program = programs.create_program(store, ada, "Pain collective")
    a = make_cohort(store, program.id, version_id, "Tuesday", maya)
    b = make_cohort(store, program.id, version_id, "Thursday", maya)
    for cohort_id in (a, b):
        session = store.sessions(cohort_id)[1]
        fill_session(store, session.id, [m.id for m in store.roster(cohort_id)])
        respond(store, session.id, n=3)
    return [a, b]


def test_export_backup_is_a_zip_of_the_database_export_and_is_audited(
    store: Store, ada: StaffUser, maya: StaffUser, version_id: int
) -> None:
    populated(store, ada, maya, version_id)
    data = backup.export_backup(store, ada)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"schema.sql", "load.sql", "staff_users.parquet", "answers.parquet"} <= names
    assert {f"{t}.parquet" for t in store.base_tables()} <= names
    assert last_event(store)[:4] == ("ada", "export backup", "database", "backup")


def test_backup_and_restore_round_trip(
    store: Store, ada: StaffUser, maya: StaffUser, version_id: int
) -> None:
    populated(store, ada, maya, version_id)
    data = backup.export_backup(store, ada)
    saved = store.row_counts()
    saved_answers = store._rows("SELECT * FROM answers ORDER BY 1, 2, 3, 4")
    saved_staff = store._rows("SELECT * FROM staff_users ORDER BY id")

    # Change things after the backup: a new account, a new program, a deleted cohort.
    staff.create_staff(store, ada, "late", "Late Comer", Role.LEAD, PASSWORD)
    programs.create_program(store, ada, "After the backup")
    tuesday = store.cohorts()[0]
    deletion.delete_cohort_data(store, ada, tuesday.id, tuesday.name)
    assert store.row_counts() != saved

    summary = backup.restore_backup(store, ada, data, "RESTORE", "backup.zip")
    # Every table holds what it held at the backup, which includes the record of its own export;
    # the audit log then has one more event: the restore.
    assert summary.rows == saved
    assert store.row_counts() == {**saved, "audit_events": saved["audit_events"] + 1}
    assert actions(store)[:2] == ["restore backup", "export backup"]
    assert store._rows("SELECT * FROM answers ORDER BY 1, 2, 3, 4") == saved_answers
    assert store._rows("SELECT * FROM staff_users ORDER BY id") == saved_staff
    assert store.staff_user_by_username("late") is None
    assert last_event(store)[:2] == ("ada", "restore backup")

    # New rows after the restore get fresh ids that collide with nothing restored.
    ids_before = {
        "staff": {u.id for u in store.staff_users()},
        "program": {p.id for p in store.programs()},
        "cohort": {c.id for c in store.cohorts()},
        "audit": {e.id for e in store.audit_events(limit=10_000)},
    }
    user = staff.create_staff(store, ada, "fresh", "Fresh", Role.LEAD, PASSWORD)
    program = programs.create_program(store, ada, "Fresh program")
    cohort_id = make_cohort(store, program.id, version_id, "Fresh cohort", maya)
    assert user.id > max(ids_before["staff"])
    assert program.id > max(ids_before["program"])
    assert cohort_id > max(ids_before["cohort"])
    new_events = {e.id for e in store.audit_events(limit=10_000)} - ids_before["audit"]
    assert len(new_events) == 3 and min(new_events) > max(ids_before["audit"])


def test_restore_ends_every_sign_in_session(store: Store, ada: StaffUser, maya: StaffUser) -> None:
    settings = get_settings()
    token = auth.sign_in(store, settings, "maya", "correct horse battery")
    data = backup.export_backup(store, ada)
    backup.restore_backup(store, ada, data, "RESTORE")
    assert auth.resolve_signin(store, settings, token) is None
    assert count(store, "SELECT count(*) FROM staff_sessions WHERE NOT revoked") == 0


def test_restore_needs_the_typed_confirmation(
    store: Store, ada: StaffUser, maya: StaffUser
) -> None:
    data = backup.export_backup(store, ada)
    programs.create_program(store, ada, "Kept")
    for typed in ("", "restore", "RESTOR"):
        with pytest.raises(InvalidInput, match="Type RESTORE"):
            backup.restore_backup(store, ada, data, typed)
    assert [p.name for p in store.programs()] == ["Kept"]


def rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    """A copy of a zip with some members replaced (bytes) or removed (None)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name in change:
                if change[name] is not None:
                    target.writestr(name, change[name])  # type: ignore[arg-type]
            else:
                target.writestr(name, source.read(name))
    return out.getvalue()


def damage_member(data: bytes, name: str) -> bytes:
    """The zip with bytes in the middle of one stored member flipped, so its CRC check fails."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    assert info.compress_type == zipfile.ZIP_STORED
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw = bytearray(data)
    middle = start + info.compress_size // 2
    raw[middle : middle + 8] = bytes(b ^ 0xFF for b in raw[middle : middle + 8])
    return bytes(raw)


def parquet_of(tmp_path: Path, sql: str, **tables: bytes) -> bytes:
    """The rows of `sql` as a Parquet file, written by an in-memory DuckDB whatever the store's
    engine; each of `tables` (a Parquet file's bytes) is a view of that name `sql` may read."""
    path = tmp_path / "made.parquet"
    con = duckdb.connect(":memory:")
    try:
        for name, data in tables.items():
            source = tmp_path / f"{name}.source.parquet"
            source.write_bytes(data)
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{source}')")
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    return path.read_bytes()


def foreign_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("holiday.jpg", b"\xff\xd8 not really")
    return out.getvalue()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("not a zip", "not a zip file"),
        ("foreign zip", "one schema.sql"),
        ("no load.sql", "no load.sql"),
        ("missing table file", "answers.parquet, which is missing"),
        ("garbage parquet", "not readable Parquet"),
        ("damaged zip member", "answers.parquet is damaged"),
        ("other migrations", "different version of the app"),
        ("other columns", "columns of programs differ"),
        ("rows that do not fit", "rows do not fit"),
        ("missing table", "lacks the table"),
    ],
)
def test_a_bad_archive_is_refused_and_changes_nothing(
    store: Store,
    ada: StaffUser,
    maya: StaffUser,
    version_id: int,
    tmp_path: Path,
    damage: str,
    message: str,
) -> None:
    populated(store, ada, maya, version_id)
    good = backup.export_backup(store, ada)
    load = zipfile.ZipFile(io.BytesIO(good)).read("load.sql").decode()
    bad = {
        "not a zip": lambda: b"PK\x03\x04 this is not really a zip",
        "foreign zip": foreign_zip,
        "no load.sql": lambda: rezip(good, {"load.sql": None}),
        "missing table file": lambda: rezip(good, {"answers.parquet": None}),
        "garbage parquet": lambda: rezip(good, {"answers.parquet": b"PAR1 nonsense"}),
        "damaged zip member": lambda: damage_member(rezip(good, {}), "answers.parquet"),
        "other migrations": lambda: rezip(
            good,
            {
                "schema_migrations.parquet": parquet_of(
                    tmp_path,
                    "SELECT '0001_initial' AS name, TIMESTAMP '2026-01-01' AS applied_at",
                )
            },
        ),
        "other columns": lambda: rezip(
            good,
            {"programs.parquet": parquet_of(tmp_path, "SELECT 1 AS id, 'x' AS title")},
        ),
        # Right columns, but a value the table's CHECK refuses: fails inside the restore
        # transaction after other tables were already replaced, so all of it must roll back.
        "rows that do not fit": lambda: rezip(
            good,
            {
                "programs.parquet": parquet_of(
                    tmp_path,
                    "SELECT id, name, description, 99 AS min_cell_size, created_at FROM programs",
                    programs=zipfile.ZipFile(io.BytesIO(good)).read("programs.parquet"),
                )
            },
        ),
        "missing table": lambda: rezip(
            good,
            {
                "load.sql": "\n".join(
                    line for line in load.splitlines() if "fidelity" not in line
                ).encode()
            },
        ),
    }[damage]()
    programs.create_program(store, ada, "Made after the backup")
    before = store.row_counts()
    programs_before = store.programs()
    with pytest.raises(InvalidInput, match=message) as refused:
        backup.restore_backup(store, ada, bad, "RESTORE")
    assert "Nothing changed" in str(refused.value)
    after = store.row_counts()
    assert after == before
    assert store.programs() == programs_before


def test_restore_accepts_a_backup_rezipped_inside_a_folder(
    store: Store, ada: StaffUser, maya: StaffUser, version_id: int
) -> None:
    populated(store, ada, maya, version_id)
    good = zipfile.ZipFile(io.BytesIO(backup.export_backup(store, ada)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in good.namelist():
            z.writestr(f"program-backup/{name}", good.read(name))
    saved = store.row_counts()
    programs.create_program(store, ada, "After")
    backup.restore_backup(store, ada, out.getvalue(), "RESTORE")
    assert store.row_counts()["programs"] == saved["programs"]


# --------------------------------------------------------------------------- deleting a cohort


def cohort_rows(store: Store, cohort_id: int) -> dict[str, int]:
    """Every row anywhere that belongs to the cohort, found through any column that links to it."""
    sessions = "SELECT id FROM sessions WHERE cohort_id = ?"
    links = {
        "cohort_id": "= ?",
        "session_id": f"IN ({sessions})",
        "member_id": "IN (SELECT id FROM roster_members WHERE cohort_id = ?)",
        "response_id": f"IN (SELECT id FROM responses WHERE session_id IN ({sessions}))",
    }
    out = {"cohorts": count(store, "SELECT count(*) FROM cohorts WHERE id = ?", [cohort_id])}
    for table in store.base_tables():
        columns = set(store.table_columns(table))
        for column, condition in links.items():
            if column in columns:
                out[f"{table}.{column}"] = count(
                    store, f"SELECT count(*) FROM {table} WHERE {column} {condition}", [cohort_id]
                )
    return out


def test_delete_cohort_data_removes_exactly_that_cohort(
    store: Store, ada: StaffUser, maya: StaffUser, version_id: int
) -> None:
    gone, kept = populated(store, ada, maya, version_id)
    kept_before = cohort_rows(store, kept)
    assert all(n > 0 for n in cohort_rows(store, gone).values())
    counts_before = store.row_counts()
    preview = deletion.cohort_data(store, ada, gone)
    assert preview.cohort.name == "Tuesday"
    assert preview.rows["roster_members"] == 3 and preview.rows["attendance"] == 3
    # Answers are removed but never counted aloud: a count could tell how many answered a
    # pulse that is still open.
    assert preview.holds_answers
    assert not set(preview.rows) & {"responses", "answers", "scores", "card_codes"}

    removed = deletion.delete_cohort_data(store, ada, gone, "Tuesday")

    assert removed == preview.rows
    assert removed["session_attendance"] > 0 and removed["member_attendance"] > 0
    assert store.attendance_totals_drift() == 0
    assert all(n == 0 for n in cohort_rows(store, gone).values())
    assert cohort_rows(store, kept) == kept_before
    after = store.row_counts()
    for table, n in removed.items():
        assert after[table] == counts_before[table] - n
    with pytest.raises(NotFound):
        store.cohort(gone)
    actor, action, object_type, object_id, detail = last_event(store)
    assert (actor, action, object_type, object_id) == (
        "ada",
        "delete cohort data",
        "cohort",
        str(gone),
    )
    assert "'Tuesday'" in detail and "roster_members=3" in detail
    assert "responses" not in detail and "anonymous pulse answers (not counted)" in detail


def test_delete_cohort_data_needs_the_exact_name(
    store: Store, ada: StaffUser, maya: StaffUser, version_id: int
) -> None:
    cohort_id, _ = populated(store, ada, maya, version_id)
    before = store.row_counts()
    for typed in ("", "tuesday", "Tuesday ", "Thursday"):
        with pytest.raises(InvalidInput, match="type the cohort's name exactly"):
            deletion.delete_cohort_data(store, ada, cohort_id, typed)
    assert store.row_counts() == before
    with pytest.raises(NotFound):
        deletion.delete_cohort_data(store, ada, 999, "Tuesday")


# --------------------------------------------------------------------------- audit log


def test_audit_events_filter_by_actor_action_object_and_dates(
    store: Store, ada: StaffUser, lee: StaffUser
) -> None:
    programs.create_program(store, ada, "One")
    programs.create_program(store, ada, "Two")
    programs.assign_program_lead(store, ada, store.programs()[0].id, lee.id)
    everything, total = audit.audit_events(store, ada, audit.AuditFilter())
    assert total == len(everything) == 5
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)

    events, total = audit.audit_events(store, ada, audit.AuditFilter(action="create program"))
    assert total == 2 and {e.action for e in events} == {"create program"}
    events, _ = audit.audit_events(store, ada, audit.AuditFilter(actor="system"))
    assert {e.actor for e in events} == {"system"} and len(events) == 2
    events, _ = audit.audit_events(
        store, ada, audit.AuditFilter(actor="ada", object_type="program")
    )
    assert len(events) == 3
    today = dt.date.today()
    all_today = audit.AuditFilter(since=today, until=today)
    assert audit.audit_events(store, ada, all_today)[1] == len(everything)
    assert audit.audit_events(store, ada, audit.AuditFilter(until=today - dt.timedelta(1)))[1] == 0
    assert audit.audit_events(store, ada, audit.AuditFilter(since=today + dt.timedelta(1)))[1] == 0
    with pytest.raises(InvalidInput, match="start date is after"):
        audit.audit_events(
            store, ada, audit.AuditFilter(since=today, until=today - dt.timedelta(1))
        )
    # A value typed to look like SQL is only ever a parameter.
    assert audit.audit_events(store, ada, audit.AuditFilter(actor="x' OR '1'='1"))[1] == 0

    events, total = audit.audit_events(store, ada, audit.AuditFilter(), limit=2)
    assert len(events) == 2 and total > 2


def test_audit_choices_list_distinct_values(store: Store, ada: StaffUser) -> None:
    programs.create_program(store, ada, "One")
    choices = audit.audit_choices(store, ada)
    assert choices.actors == ["ada", "system"]
    assert choices.actions == ["create program", "create staff user"]
    assert choices.object_types == ["program", "staff_user"]


def test_export_audit_csv_has_the_filtered_rows_and_is_audited(
    store: Store, ada: StaffUser
) -> None:
    programs.create_program(store, ada, '=HYPERLINK("http://evil")')
    data = audit.export_audit_csv(store, ada, audit.AuditFilter(action="create program"))
    text = data.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "when,who,action,object type,object id,detail"
    assert len(lines) == 2 and ",ada,create program,program," in lines[1]
    actor, action, object_type, _, detail = last_event(store)
    assert (actor, action, object_type) == ("ada", "export audit log", "audit_log")
    assert "1 events" in detail and "action=create program" in detail


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(store: Store, ada: StaffUser) -> None:
    store.record_audit(SYSTEM, "=cmd|' /C calc'!A0", "x", "1", "@SUM(1+1)")
    text = audit.export_audit_csv(store, ada, audit.AuditFilter(object_type="x")).decode(
        "utf-8-sig"
    )
    row = text.splitlines()[1]
    assert "'=cmd" in row and "'@SUM" in row


def test_two_admins_removing_each_other_at_once_cannot_both_succeed(
    store: Store, ada: StaffUser, make_staff: Any
) -> None:
    """Both engines detect only write-write conflicts (DuckDB, and PostgreSQL at REPEATABLE READ);
    the admin_guard row turns this write skew into one."""

    bea = make_staff("bea", Role.ADMIN)
    first, second = store.cursor(), store.cursor()
    try:
        first.execute(store.engine.begin)
        second.execute(store.engine.begin)
        second.execute("SELECT count(*) FROM staff_users").fetchall()  # its snapshot starts now
        store._keep_an_admin(first, bea.id, "deactivated")  # ada remains: allowed
        first.execute("COMMIT")
        with pytest.raises(store.engine.errors) as refused:
            store._keep_an_admin(second, ada.id, "deactivated")  # bea remains, as far as it sees
        assert store.engine.lost_race(refused.value)  # Store.write would run it again
    finally:
        for cur in (first, second):
            with contextlib.suppress(*store.engine.errors):
                cur.execute("ROLLBACK")
            cur.close()
