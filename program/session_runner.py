"""Running a session: its guide from the pinned curriculum, fidelity checklist and attendance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from program import access
from program.errors import NOTES_CHANGED, Conflict, InvalidInput, NotesChanged, NotYetDue
from program.models import (
    Actor,
    AttendanceMark,
    Cohort,
    CurriculumBundle,
    Mark,
    MemberStatus,
    RosterMember,
    Session,
    SessionRecord,
    SessionReport,
    SessionStatus,
    StaffUser,
)
from program.store import Store

# A session may be marked held on its day or after; a day's grace covers time zones and late nights.
HELD_GRACE = dt.timedelta(days=1)
MAX_NOTES = 4000


def too_early_to_hold(record: SessionRecord, today: dt.date) -> bool:
    """Whether the session's date is still to come (beyond a day's grace): it cannot be held or
    have its pulse opened yet, and the runner offers to move it to today instead."""
    return record.scheduled_date > today + HELD_GRACE


def check_holdable(record: SessionRecord, today: dt.date) -> None:
    """Refuse to hold a session (mark it held, or open its pulse) before its date: the runner
    offers to move it to today instead (cohorts.met_today)."""
    if too_early_to_hold(record, today):
        raise NotYetDue(
            f"This session is planned for {record.scheduled_date:%A %d %B %Y}. If the group met"
            " today instead, move it to today first."
        )


@dataclass(frozen=True)
class SessionSheet:
    """Everything the session runner shows: the guide and the current record, read together."""

    cohort: Cohort
    record: SessionRecord
    guide: Session
    bundle: CurriculumBundle
    members: list[RosterMember]  # active members, plus withdrawn ones marked for this session
    marks: dict[int, AttendanceMark]
    delivered: frozenset[int]
    revision: str


def my_cohorts(store: Store, viewer: StaffUser) -> list[Cohort]:
    return access.facilitated_cohorts(store, viewer)


def default_session(sessions: list[SessionRecord], today: dt.date) -> SessionRecord | None:
    """The session of a cohort to open when none is asked for: next_to_run, else the last one
    (a finished cohort's)."""
    live = [s for s in sessions if s.status != SessionStatus.CANCELLED]
    return next_to_run(sessions, today) or (live[-1] if live else None)


def next_to_run(sessions: list[SessionRecord], today: dt.date) -> SessionRecord | None:
    """The session a facilitator runs next: the one on today's date (held or not), else the
    first still planned (one whose day has passed without being marked held comes first, as it
    needs marking). None when every session is held or cancelled."""
    live = [s for s in sessions if s.status != SessionStatus.CANCELLED]
    for s in live:
        if s.scheduled_date == today:
            return s
    planned = [s for s in live if s.status == SessionStatus.PLANNED]
    return planned[0] if planned else None


def todays_session(
    store: Store, viewer: StaffUser, today: dt.date
) -> tuple[Cohort, SessionRecord] | None:
    """The one session, across all the viewer's cohorts, that "Run a session" opens on: one on
    today's date; else the soonest one still to come; else the one overdue the longest. Home's
    cards and the runner use this same rule (next_to_run for each cohort)."""
    cohorts = my_cohorts(store, viewer)
    sessions = store.sessions_of_cohorts([c.id for c in cohorts])
    found = [
        (c, s) for c in cohorts if (s := next_to_run(sessions.get(c.id, []), today)) is not None
    ]
    if not found:
        return None
    for cohort, session in found:
        if session.scheduled_date == today:
            return cohort, session
    coming = [(c, s) for c, s in found if s.scheduled_date > today]
    if coming:
        return min(coming, key=lambda cs: cs[1].scheduled_date)
    return min(found, key=lambda cs: cs[1].scheduled_date)


def open_sheet(store: Store, viewer: StaffUser, session_id: int) -> SessionSheet:
    record = store.session(session_id)
    cohort = access.require_facilitator(store, viewer, record.cohort_id)
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    marks = store.attendance_marks(session_id)
    members = [
        m for m in store.roster(cohort.id) if m.status == MemberStatus.ACTIVE or m.id in marks
    ]
    fidelity = store.fidelity(session_id)
    return SessionSheet(
        cohort=cohort,
        record=record,
        guide=bundle.curriculum.session(record.number),
        bundle=bundle,
        members=members,
        marks=marks,
        delivered=frozenset(i for i, done in fidelity.items() if done),
        revision=store.session_revision(session_id),
    )


def current_marks(store: Store, viewer: StaffUser, session_id: int) -> dict[int, AttendanceMark]:
    """The session's attendance as stored now (a co-facilitator's marks included)."""
    access.require_facilitator(store, viewer, store.session(session_id).cohort_id)
    return store.attendance_marks(session_id)


def current_delivered(store: Store, viewer: StaffUser, session_id: int) -> frozenset[int]:
    """The agenda items ticked as delivered, as stored now."""
    access.require_facilitator(store, viewer, store.session(session_id).cohort_id)
    return frozenset(i for i, done in store.fidelity(session_id).items() if done)


def save_sheet(
    store: Store,
    viewer: StaffUser,
    session_id: int,
    marks: dict[int, AttendanceMark],
    delivered: set[int],
    notes: str,
    held: bool,
    revision: str,
    today: dt.date | None = None,
) -> None:
    """Record attendance, fidelity and notes; optionally mark the session held.

    Editing a held session is allowed and audited as an edit. Refuses members of other cohorts,
    agenda items that don't exist, a cancelled session, and a session held before its date.
    """
    record = store.session(session_id)
    cohort = access.require_facilitator(store, viewer, record.cohort_id)
    if record.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled. Restore it on the Cohorts page to record it.")
    if held:
        check_holdable(record, today or dt.date.today())
    roster_ids = {m.id for m in store.roster(cohort.id)}
    strangers = set(marks) - roster_ids
    if strangers:
        raise InvalidInput("The attendance list includes someone who is not on this roster.")
    agenda = (
        store.curriculum_bundle(cohort.curriculum_version_id)
        .curriculum.session(record.number)
        .agenda
    )
    if any(not 0 <= i < len(agenda) for i in delivered):
        raise InvalidInput("The checklist names an agenda item that this session does not have.")
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"Notes may have at most {MAX_NOTES:,} characters.")
    if (held or record.status == SessionStatus.HELD) and not marks:
        raise InvalidInput(
            "A held session needs its attendance. Mark each person present, absent or excused."
        )
    report = SessionReport(
        attendance=marks,
        delivered=frozenset(delivered),
        agenda_length=len(agenda),
        notes=notes.strip(),
        held=held or record.status == SessionStatus.HELD,
    )
    store.record_session(Actor.of(viewer), session_id, report, revision)


def all_present(members: list[RosterMember]) -> dict[int, AttendanceMark]:
    return {
        m.id: AttendanceMark(status=Mark.PRESENT)
        for m in members
        if m.status == MemberStatus.ACTIVE
    }


# --------------------------------------------------------------------------- marks as they are made
#
# The runner saves each mark the moment it is made (attendance, a ticked agenda item, the notes),
# so leaving the page loses nothing and there is no Save button to forget. Each mark is its own
# row: two facilitators marking one session at once keep each other's marks, and the last one
# to mark the same person is the one kept. Notes are one text, so they are saved only over the
# version the writer last saw (NotesChanged otherwise, with both versions to merge).


def _live_session(store: Store, viewer: StaffUser, session_id: int) -> tuple[Cohort, SessionRecord]:
    record = store.session(session_id)
    cohort = access.require_facilitator(store, viewer, record.cohort_id)
    if record.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled. Restore it on the Cohorts page to record it.")
    return cohort, record


def mark_attendance(
    store: Store, viewer: StaffUser, session_id: int, marks: dict[int, AttendanceMark]
) -> None:
    """Save some members' attendance marks now, leaving everyone else's as they are."""
    cohort, _ = _live_session(store, viewer, session_id)
    roster_ids = {m.id for m in store.roster(cohort.id)}
    if set(marks) - roster_ids:
        raise InvalidInput("The attendance list includes someone who is not on this roster.")
    if marks:
        store.set_attendance(Actor.of(viewer), session_id, marks)


def mark_everyone_present(store: Store, viewer: StaffUser, session_id: int) -> int:
    """Mark every active member present who has no mark yet; how many were marked."""
    cohort, _ = _live_session(store, viewer, session_id)
    marked = store.attendance_marks(session_id)
    fresh = {
        m.id: AttendanceMark(status=Mark.PRESENT)
        for m in store.roster(cohort.id)
        if m.status == MemberStatus.ACTIVE and m.id not in marked
    }
    if fresh:
        store.set_attendance(Actor.of(viewer), session_id, fresh)
    return len(fresh)


def tick(store: Store, viewer: StaffUser, session_id: int, index: int, delivered: bool) -> None:
    """Tick one agenda item of the fidelity checklist as delivered, or untick it."""
    cohort, record = _live_session(store, viewer, session_id)
    agenda = (
        store.curriculum_bundle(cohort.curriculum_version_id)
        .curriculum.session(record.number)
        .agenda
    )
    if not 0 <= index < len(agenda):
        raise InvalidInput("The checklist names an agenda item that this session does not have.")
    store.set_delivered(Actor.of(viewer), session_id, index, len(agenda), delivered)


def save_notes(store: Store, viewer: StaffUser, session_id: int, notes: str, seen: str) -> None:
    """Save the notes over `seen`, the version the writer started from; NotesChanged carries the
    other version when someone saved theirs in between."""
    _, record = _live_session(store, viewer, session_id)
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"Notes may have at most {MAX_NOTES:,} characters.")
    if notes == record.notes:
        return
    try:
        store.set_session_notes(Actor.of(viewer), session_id, notes, seen)
    except Conflict as exc:
        if str(exc) != NOTES_CHANGED:
            raise
        raise NotesChanged(store.session(session_id).notes) from None


def mark_held(
    store: Store, viewer: StaffUser, session_id: int, today: dt.date | None = None
) -> None:
    """Mark a session held: on or after its date, and with its attendance taken."""
    _, record = _live_session(store, viewer, session_id)
    if record.status == SessionStatus.HELD:
        return
    check_holdable(record, today or dt.date.today())
    if not store.attendance_marks(session_id):
        raise InvalidInput(
            "A held session needs its attendance. Mark each person present, absent or excused."
        )
    store.set_session_status(Actor.of(viewer), session_id, SessionStatus.HELD)
