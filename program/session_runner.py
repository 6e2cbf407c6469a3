"""Running a session: its guide from the pinned curriculum, fidelity checklist and attendance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from program import access
from program.errors import Conflict, InvalidInput
from program.models import (
    Actor,
    AttendanceMark,
    Cohort,
    CurriculumBundle,
    Mark,
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
    """Today's session if there is one, else the next planned one, else the last."""
    live = [s for s in sessions if s.status != SessionStatus.CANCELLED]
    for s in live:
        if s.scheduled_date == today:
            return s
    planned = [s for s in live if s.status == SessionStatus.PLANNED]
    if planned:
        return planned[0]
    return live[-1] if live else None


def open_sheet(store: Store, viewer: StaffUser, session_id: int) -> SessionSheet:
    record = store.session(session_id)
    cohort = access.require_facilitator(store, viewer, record.cohort_id)
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    marks = store.attendance_marks(session_id)
    members = [m for m in store.roster(cohort.id) if m.status == "active" or m.id in marks]
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
    today = today or dt.date.today()
    if held and record.scheduled_date > today + HELD_GRACE:
        raise InvalidInput(
            f"This session is scheduled for {record.scheduled_date:%d %b %Y}. If it took place"
            " today, move its date on the Cohorts page first."
        )
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
    if len(notes) > 4000:
        raise InvalidInput("Notes may have at most 4,000 characters.")
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
    return {m.id: AttendanceMark(status=Mark.PRESENT) for m in members if m.status == "active"}
