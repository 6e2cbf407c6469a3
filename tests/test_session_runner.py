"""Running a session: the sheet, attendance, fidelity, notes, held status and stale forms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from program import cohorts, session_runner
from program.accounts import create_user
from program.errors import AccessDenied, Conflict, InvalidInput
from program.models import (
    Actor,
    AttendanceMark,
    Cohort,
    Mark,
    Role,
    SessionRecord,
    SessionStatus,
    StaffUser,
)
from program.session_runner import open_sheet, save_sheet
from program.store import Store
from tests.conftest import load_bundled

DAY1 = dt.date(2026, 3, 9)  # a Monday: session 1 of the cohort below
PRESENT = AttendanceMark(status=Mark.PRESENT)
ABSENT = AttendanceMark(status=Mark.ABSENT)
EXCUSED = AttendanceMark(status=Mark.EXCUSED)


@dataclass
class Setup:
    store: Store
    maya: StaffUser
    sam: StaffUser
    lead: StaffUser
    admin: StaffUser
    cohort: Cohort
    sams_cohort: Cohort

    def session(self, number: int, cohort: Cohort | None = None) -> SessionRecord:
        cohort = cohort or self.cohort
        return next(s for s in self.store.sessions(cohort.id) if s.number == number)

    def member_id(self, name: str, cohort: Cohort | None = None) -> int:
        cohort = cohort or self.cohort
        return next(m.id for m in self.store.roster(cohort.id) if m.display_name == name)


def staff(store: Store, username: str, role: Role) -> StaffUser:
    return create_user(store, Actor.system(), username, username.title(), role, None)


@pytest.fixture
def s(store: Store) -> Setup:
    system = Actor.system()
    version = load_bundled(store)
    program = store.create_program(system, "Community pain collective")
    maya = staff(store, "maya", Role.FACILITATOR)
    sam = staff(store, "sam", Role.FACILITATOR)
    lead = staff(store, "lead", Role.LEAD)
    store.add_program_lead(system, program.id, lead.id)
    for facilitator in (maya, sam):
        store.add_program_facilitator(system, program.id, facilitator.id)

    def create(viewer: StaffUser, name: str, roster: str) -> Cohort:
        return cohorts.create_cohort(
            store, viewer, program.id, version.id, name, DAY1, 0, False, [], roster
        )

    return Setup(
        store=store,
        maya=maya,
        sam=sam,
        lead=lead,
        admin=staff(store, "admin", Role.ADMIN),
        cohort=create(maya, "Maya's group", "Ana\nBen\nChloe\n"),
        sams_cohort=create(sam, "Sam's group", "Zed\n"),
    )


def save(s: Setup, number: int = 1, *, marks=None, delivered=(), notes="", held=False, **kw):  # type: ignore[no-untyped-def]
    """Save the sheet of one of Maya's sessions from a freshly opened revision."""
    record = s.session(number)
    revision = kw.pop("revision", None) or open_sheet(s.store, s.maya, record.id).revision
    if marks is None:
        marks = {s.member_id(n): PRESENT for n in ("Ana", "Ben", "Chloe")}
    save_sheet(
        s.store,
        kw.pop("viewer", s.maya),
        record.id,
        marks,
        set(delivered),
        notes,
        held,
        revision,
        kw.pop("today", record.scheduled_date),
    )


# --------------------------------------------------------------------------- the sheet


def test_a_facilitator_opens_the_sheet_of_their_own_session(s):
    record = s.session(1)
    sheet = open_sheet(s.store, s.maya, record.id)
    assert record.scheduled_date == DAY1
    assert sheet.cohort.id == s.cohort.id
    assert sheet.record == record
    assert sheet.guide.number == 1
    assert sheet.guide == sheet.bundle.curriculum.session(1)
    assert [m.display_name for m in sheet.members] == ["Ana", "Ben", "Chloe"]
    assert sheet.marks == {} and sheet.delivered == frozenset()
    assert sheet.revision == s.store.session_revision(record.id)


@pytest.mark.parametrize("who", ["sam", "lead", "admin"])
def test_no_one_else_opens_or_saves_the_sheet(s, who):
    viewer = getattr(s, who)
    record = s.session(1)
    with pytest.raises(AccessDenied):
        open_sheet(s.store, viewer, record.id)
    revision = s.store.session_revision(record.id)
    with pytest.raises(AccessDenied):
        save(s, viewer=viewer, revision=revision)
    assert s.store.attendance_marks(record.id) == {}


def test_attendance_fidelity_and_notes_are_stored(s):
    ana, ben, chloe = (s.member_id(n) for n in ("Ana", "Ben", "Chloe"))
    marks = {ana: PRESENT, ben: AttendanceMark(status=Mark.PRESENT, late=True), chloe: EXCUSED}
    save(s, marks=marks, delivered={0, 2}, notes="  Warm group tonight.  ")
    record = s.session(1)
    assert s.store.attendance_marks(record.id) == marks
    agenda_length = len(open_sheet(s.store, s.maya, record.id).guide.agenda)
    fidelity = s.store.fidelity(record.id)
    assert fidelity == {i: i in {0, 2} for i in range(agenda_length)}
    assert record.notes == "Warm group tonight."
    assert record.status == SessionStatus.PLANNED
    sheet = open_sheet(s.store, s.maya, record.id)
    assert sheet.marks == marks and sheet.delivered == {0, 2}
    assert "record session" in [e.action for e in s.store.audit_events()]


def test_mark_held(s):
    save(s, held=True)
    assert s.session(1).status == SessionStatus.HELD
    assert s.store.cohort(s.cohort.id).status == "running"


def test_held_on_the_day_before_counts_as_a_time_zone_grace(s):
    save(s, held=True, today=DAY1 - session_runner.HELD_GRACE)
    assert s.session(1).status == SessionStatus.HELD


@pytest.mark.parametrize("days_early", [2, 30])
def test_held_before_the_session_date_is_refused(s, days_early):
    with pytest.raises(InvalidInput):
        save(s, held=True, today=DAY1 - dt.timedelta(days=days_early))
    assert s.session(1).status == SessionStatus.PLANNED
    assert s.store.attendance_marks(s.session(1).id) == {}


def test_a_future_session_may_still_be_saved_without_marking_it_held(s):
    save(s, 3, today=DAY1)
    assert len(s.store.attendance_marks(s.session(3).id)) == 3
    assert s.session(3).status == SessionStatus.PLANNED


def test_held_without_attendance_is_refused(s):
    with pytest.raises(InvalidInput, match="attendance"):
        save(s, marks={}, held=True)
    assert s.session(1).status == SessionStatus.PLANNED


def test_a_stale_revision_is_a_conflict_and_changes_nothing(s):
    record = s.session(1)
    old = open_sheet(s.store, s.maya, record.id).revision
    first = {s.member_id("Ana"): PRESENT}
    save(s, marks=first, notes="first", revision=old)
    after_first = s.store.session_revision(record.id)
    with pytest.raises(Conflict):
        save(s, marks={s.member_id("Ben"): ABSENT}, notes="second", held=True, revision=old)
    assert s.store.attendance_marks(record.id) == first
    assert s.session(1).notes == "first"
    assert s.session(1).status == SessionStatus.PLANNED
    assert s.store.session_revision(record.id) == after_first


def test_editing_after_held_is_allowed_audited_and_keeps_it_held(s):
    save(s, held=True)
    record = s.session(1)
    changed = {s.member_id("Ana"): PRESENT, s.member_id("Ben"): ABSENT}
    save(s, marks=changed, notes="Corrected: Ben was away.")
    assert s.store.attendance_marks(record.id) == changed
    assert s.session(1).status == SessionStatus.HELD
    edits = [e for e in s.store.audit_events() if e.action == "edit held session"]
    assert len(edits) == 1 and edits[0].object_id == str(record.id)


def test_a_held_session_cannot_be_left_without_attendance(s):
    save(s, held=True)
    record = s.session(1)
    try:
        save(s, marks={})
    except InvalidInput:
        pass
    assert s.session(1).status == SessionStatus.HELD
    assert len(s.store.attendance_marks(record.id)) == 3


def test_a_member_of_another_cohort_is_refused(s):
    zed = s.member_id("Zed", s.sams_cohort)
    with pytest.raises(InvalidInput):
        save(s, marks={s.member_id("Ana"): PRESENT, zed: PRESENT})
    with pytest.raises(InvalidInput):
        save(s, marks={999_999: PRESENT})
    assert s.store.attendance_marks(s.session(1).id) == {}


def test_an_agenda_item_out_of_range_is_refused(s):
    agenda_length = len(open_sheet(s.store, s.maya, s.session(1).id).guide.agenda)
    for index in (agenda_length, -1):
        with pytest.raises(InvalidInput):
            save(s, delivered={0, index})
    assert s.store.fidelity(s.session(1).id) == {}
    save(s, delivered={agenda_length - 1})
    assert s.store.fidelity(s.session(1).id)[agenda_length - 1] is True


def test_overlong_notes_are_refused(s):
    with pytest.raises(InvalidInput):
        save(s, notes="x" * 4001)
    save(s, notes="x" * 4000)
    assert len(s.session(1).notes) == 4000


def test_a_cancelled_session_is_a_conflict(s):
    record = s.session(2)
    revision = s.store.session_revision(record.id)
    cohorts.cancel_session(s.store, s.maya, record.id)
    with pytest.raises(Conflict):
        save(s, 2, revision=s.store.session_revision(record.id))
    with pytest.raises(Conflict):
        save(s, 2, revision=revision)
    assert s.store.attendance_marks(record.id) == {}


def test_withdrawn_members_keep_past_attendance(s):
    ana, ben = s.member_id("Ana"), s.member_id("Ben")
    save(s, held=True)
    cohorts.withdraw_member(s.store, s.maya, ben)

    past = open_sheet(s.store, s.maya, s.session(1).id)
    assert ben in past.marks and past.marks[ben] == PRESENT
    shown = {m.id: m.status for m in past.members}
    assert shown[ben] == "withdrawn"
    assert s.store.attendance_marks(s.session(1).id)[ben] == PRESENT

    future = open_sheet(s.store, s.maya, s.session(2).id)
    assert ben not in {m.id for m in future.members}
    assert ana in {m.id for m in future.members}
    assert session_runner.all_present(future.members) == {m.id: PRESENT for m in future.members}
    assert ben not in session_runner.all_present(past.members)


def test_my_cohorts_lists_only_the_viewers_own(s):
    assert [c.name for c in session_runner.my_cohorts(s.store, s.maya)] == ["Maya's group"]
    assert [c.name for c in session_runner.my_cohorts(s.store, s.sam)] == ["Sam's group"]
    assert session_runner.my_cohorts(s.store, s.lead) == []


# --------------------------------------------------------------------------- default session


def test_default_session_is_todays_then_the_next_planned_then_the_last(s):
    sessions = s.store.sessions(s.cohort.id)
    by_number = {r.number: r for r in sessions}
    assert session_runner.default_session(sessions, DAY1 + dt.timedelta(weeks=2)) == by_number[3]
    assert session_runner.default_session(sessions, DAY1 + dt.timedelta(days=3)) == by_number[1]
    save(s, held=True)
    sessions = s.store.sessions(s.cohort.id)
    assert session_runner.default_session(sessions, DAY1 + dt.timedelta(days=3)).number == 2
    assert session_runner.default_session([], DAY1) is None


def test_default_session_skips_cancelled_and_falls_back_to_the_last(s):
    store = s.store
    sessions = store.sessions(s.cohort.id)
    cohorts.cancel_session(store, s.maya, sessions[1].id)
    sessions = store.sessions(s.cohort.id)
    # Session 2 is cancelled: on its date the first session still planned is offered.
    assert session_runner.default_session(sessions, sessions[1].scheduled_date).number == 1
    held = [r.model_copy(update={"status": SessionStatus.HELD}) for r in sessions]
    assert session_runner.default_session(held, DAY1 + dt.timedelta(weeks=52)).number == 6


# --------------------------------------------------------------------------- attendance totals


def test_attendance_totals_follow_every_save(s):
    """The dashboards read per-session and per-member totals; each save recounts them."""
    ana, ben, chloe = (s.member_id(n) for n in ("Ana", "Ben", "Chloe"))
    save(s, 1, held=True)
    save(s, 2, marks={ana: PRESENT, ben: ABSENT, chloe: EXCUSED}, held=True)
    assert s.store.held_attendance([s.cohort.id]) == [(1, 3, 3), (2, 1, 3)]
    assert sorted(r[1:] for r in s.store.sessions_attended([s.cohort.id])) == [
        (ana, 2),
        (ben, 1),
        (chloe, 1),
    ]
    # An edit after the fact moves both totals, down as well as up.
    save(s, 1, marks={ana: PRESENT, ben: ABSENT, chloe: ABSENT})
    assert s.store.held_attendance([s.cohort.id]) == [(1, 1, 3), (2, 1, 3)]
    assert s.store.completers([s.cohort.id], [2]) == 1
    assert s.store.attendance_totals_drift() == 0


def test_the_drift_check_sees_a_wrong_total(s):
    """The control for every `attendance_totals_drift() == 0` in the suite."""
    save(s, 1, held=True)
    assert s.store.attendance_totals_drift() == 0
    cur = s.store.cursor()
    try:
        cur.execute("UPDATE member_attendance SET weekly_present = weekly_present + 1")
    finally:
        cur.close()
    assert s.store.attendance_totals_drift() == 2 * 3  # each of three rows, seen from both sides
