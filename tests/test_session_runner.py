"""Running a session: the sheet, attendance, fidelity, notes, held status and stale forms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from program import cohorts, session_runner
from program.errors import AccessDenied, Conflict, InvalidInput, NotesChanged, NotYetDue
from program.models import (
    Actor,
    AttendanceMark,
    Cohort,
    CohortStatus,
    Mark,
    MemberStatus,
    Role,
    SessionRecord,
    SessionStatus,
    StaffUser,
)
from program.session_runner import open_sheet, save_sheet
from program.staff import create_user
from program.store import Store
from tests.factories.stores import load_bundled

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
    assert s.store.cohort(s.cohort.id).status == CohortStatus.RUNNING


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
    assert shown[ben] == MemberStatus.WITHDRAWN
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
    assert sorted((r.member_id, r.attended) for r in s.store.sessions_attended([s.cohort.id])) == [
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


# --------------------------------------------------------------------------- marks as they are made


def test_each_mark_is_saved_alone_and_two_facilitators_keep_each_others(s):
    """Maya and Sam (added as a second facilitator) mark the same session at once, each from
    a page drawn before the other's marks: both sets of marks are kept."""
    cohorts.assign_facilitators(s.store, s.maya, s.cohort.id, [s.maya.id, s.sam.id])
    sid = s.session(1).id
    ana, ben, chloe = (s.member_id(n) for n in ("Ana", "Ben", "Chloe"))
    session_runner.mark_attendance(s.store, s.maya, sid, {ana: PRESENT})
    session_runner.mark_attendance(s.store, s.sam, sid, {ben: ABSENT})
    session_runner.tick(s.store, s.maya, sid, 0, True)
    session_runner.tick(s.store, s.sam, sid, 2, True)
    assert s.store.attendance_marks(sid) == {ana: PRESENT, ben: ABSENT}
    assert {i for i, done in s.store.fidelity(sid).items() if done} == {0, 2}
    # The same person marked by both: the later mark is the one kept.
    late = AttendanceMark(status=Mark.PRESENT, late=True)
    session_runner.mark_attendance(s.store, s.maya, sid, {ana: late})
    session_runner.tick(s.store, s.sam, sid, 0, False)
    assert s.store.attendance_marks(sid)[ana] == late
    assert {i for i, done in s.store.fidelity(sid).items() if done} == {2}
    # "Everyone is here" marks only those without a mark.
    assert session_runner.mark_everyone_present(s.store, s.maya, sid) == 1
    assert s.store.attendance_marks(sid) == {ana: late, ben: ABSENT, chloe: PRESENT}
    assert s.store.attendance_totals_drift() == 0
    actions = [e.action for e in s.store.audit_events() if e.object_id == str(sid)]
    assert actions.count("mark attendance") == 4 and actions.count("tick agenda item") == 2


def test_notes_are_saved_only_over_the_version_their_writer_saw(s):
    sid = s.session(1).id
    session_runner.save_notes(s.store, s.maya, sid, "Room was cold.", seen="")
    # Sam wrote from the empty notes too: refused, with Maya's version to merge.
    with pytest.raises(NotesChanged) as refused:
        session_runner.save_notes(s.store, s.maya, sid, "Bring tea.", seen="")
    assert refused.value.theirs == "Room was cold."
    assert s.store.session(sid).notes == "Room was cold."
    # Having seen it, the merged text is saved.
    session_runner.save_notes(s.store, s.maya, sid, "Room was cold. Bring tea.", "Room was cold.")
    assert s.store.session(sid).notes == "Room was cold. Bring tea."


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (
            lambda s, sid: session_runner.mark_attendance(s.store, s.maya, sid, {10_000: PRESENT}),
            InvalidInput,
        ),
        (lambda s, sid: session_runner.tick(s.store, s.maya, sid, 99, True), InvalidInput),
        (lambda s, sid: session_runner.tick(s.store, s.maya, sid, -1, True), InvalidInput),
        (
            lambda s, sid: session_runner.save_notes(s.store, s.maya, sid, "x" * 4001, ""),
            InvalidInput,
        ),
        (lambda s, sid: session_runner.mark_attendance(s.store, s.sam, sid, {}), AccessDenied),
        (lambda s, sid: session_runner.tick(s.store, s.lead, sid, 0, True), AccessDenied),
    ],
)
def test_a_mark_that_does_not_fit_is_refused_and_nothing_changes(s, action, error):
    sid = s.session(1).id
    with pytest.raises(error):
        action(s, sid)
    assert s.store.attendance_marks(sid) == {} and s.store.fidelity(sid) == {}


def test_marking_held_needs_its_day_and_its_attendance(s):
    sid = s.session(2).id
    day = s.session(2).scheduled_date
    with pytest.raises(NotYetDue, match="If the group met today instead"):
        session_runner.mark_held(s.store, s.maya, sid, day - dt.timedelta(days=2))
    with pytest.raises(InvalidInput, match="needs its attendance"):
        session_runner.mark_held(s.store, s.maya, sid, day)
    session_runner.mark_everyone_present(s.store, s.maya, sid)
    session_runner.mark_held(s.store, s.maya, sid, day)
    assert s.store.session(sid).status == SessionStatus.HELD


# --------------------------------------------------------------------------- the real meeting day


def test_we_met_today_instead_moves_the_session_and_keeps_the_later_ones(s):
    today = DAY1 + dt.timedelta(days=9)  # between session 2 (DAY1 + 7) and session 3 (DAY1 + 14)
    three = s.session(3)
    move = cohorts.met_today(s.store, s.maya, three.id, today, shift_later=False)
    assert move.days == -5 and not move.cancelled
    assert s.store.session(three.id).scheduled_date == today
    # Later sessions keep their dates and order.
    assert s.session(4).scheduled_date == DAY1 + dt.timedelta(weeks=3)
    # Now it can be held, and its pulse could open.
    session_runner.mark_everyone_present(s.store, s.maya, three.id)
    session_runner.mark_held(s.store, s.maya, three.id, today)


def test_we_met_today_instead_can_shift_the_later_sessions_by_as_many_days(s):
    today = DAY1 + dt.timedelta(days=9)
    before = {r.number: r.scheduled_date for r in s.store.sessions(s.cohort.id)}
    cohorts.met_today(s.store, s.maya, s.session(3).id, today, shift_later=True)
    after = {r.number: r.scheduled_date for r in s.store.sessions(s.cohort.id)}
    assert after[3] == today
    for n in (4, 5, 6):
        assert after[n] == before[n] - dt.timedelta(days=5)
    assert after[1] == before[1] and after[2] == before[2]


def test_sessions_skipped_before_the_real_day_are_cancelled_and_can_be_restored(s):
    """The reported dead end: session 1 of a new cohort met before its date; an earlier session
    (here session 1, when session 2 meets early) is still planned on or after that day."""
    today = DAY1 - dt.timedelta(days=1)  # before session 1's date
    two = s.session(2)
    plan = cohorts.plan_met_today(s.store, s.maya, two.id, today)
    assert [r.number for r in plan.cancelled] == [1]
    cohorts.met_today(s.store, s.maya, two.id, today, shift_later=False)
    assert s.session(1).status == SessionStatus.CANCELLED
    assert s.session(2).scheduled_date == today
    with pytest.raises(InvalidInput, match="must come before session 2"):
        cohorts.restore_session(s.store, s.maya, s.session(1).id)  # its date is after session 2's
    cohorts.reschedule(s.store, s.maya, s.session(1).id, today - dt.timedelta(days=1))


def test_we_met_today_is_refused_for_a_held_or_past_session_and_for_others(s):
    save(s, 1, held=True)
    with pytest.raises(Conflict):
        cohorts.plan_met_today(s.store, s.maya, s.session(1).id, DAY1 - dt.timedelta(days=3))
    with pytest.raises(InvalidInput, match="today or earlier already"):
        cohorts.plan_met_today(s.store, s.maya, s.session(2).id, DAY1 + dt.timedelta(weeks=3))
    with pytest.raises(AccessDenied):
        cohorts.plan_met_today(s.store, s.sam, s.session(2).id, DAY1)
    # A session held after the day asked for: this one cannot have met before it.
    with pytest.raises(InvalidInput, match="was held on"):
        cohorts.plan_met_today(s.store, s.maya, s.session(2).id, DAY1 - dt.timedelta(days=1))


# --------------------------------------------------------------------------- today's session


def test_todays_session_is_the_same_everywhere(s):
    """Sidebar, Home and the runner open the same session: today's, else the soonest to come,
    else the longest overdue; a finished cohort never wins over a running one."""
    store = s.store
    finished = cohorts.create_cohort(
        store,
        s.maya,
        s.cohort.program_id,
        s.cohort.curriculum_version_id,
        "Finished",
        DAY1 - dt.timedelta(weeks=10),
        0,
        False,
        [],
        "Dee\n",
    )
    for r in store.sessions(finished.id):
        session_runner.mark_everyone_present(store, s.maya, r.id)
        session_runner.mark_held(store, s.maya, r.id, r.scheduled_date)
    for number in (1, 2, 3):
        save(s, number, held=True)
    on_day = DAY1 + dt.timedelta(weeks=3)
    cohort, session = session_runner.todays_session(store, s.maya, on_day)
    assert (cohort.id, session.number) == (s.cohort.id, 4)
    assert session_runner.next_to_run(store.sessions(s.cohort.id), on_day).number == 4
    between = on_day + dt.timedelta(days=2)  # session 4 passed without being marked held
    assert session_runner.todays_session(store, s.maya, between)[1].number == 4
    assert session_runner.todays_session(store, s.sam, on_day)[1].number == 4  # Sam's own cohort
    assert session_runner.next_to_run(store.sessions(finished.id), on_day) is None


def test_we_met_today_never_cancels_a_session_that_took_place(s):
    """Session 1 is dated today and has its attendance (or an open pulse): session 2 cannot
    have met today instead, and session 1 is not cancelled for it."""
    one, two = s.session(1), s.session(2)
    session_runner.mark_attendance(s.store, s.maya, one.id, {s.member_id("Ana"): PRESENT})
    with pytest.raises(InvalidInput, match="already has attendance or a pulse"):
        cohorts.met_today(s.store, s.maya, two.id, one.scheduled_date, shift_later=False)
    assert s.session(1).status == SessionStatus.PLANNED
    assert s.session(2).scheduled_date == two.scheduled_date


def test_the_runners_fresh_reads_check_who_asks(s):
    sid = s.session(1).id
    session_runner.mark_attendance(s.store, s.maya, sid, {s.member_id("Ana"): PRESENT})
    session_runner.tick(s.store, s.maya, sid, 1, True)
    assert session_runner.current_marks(s.store, s.maya, sid) == {s.member_id("Ana"): PRESENT}
    assert session_runner.current_delivered(s.store, s.maya, sid) == {1}
    for read in (session_runner.current_marks, session_runner.current_delivered):
        with pytest.raises(AccessDenied):
            read(s.store, s.sam, sid)
