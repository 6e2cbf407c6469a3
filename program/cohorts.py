"""Cohorts: creating them from a pinned curriculum version, their schedule, roster and facilitators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from program import access
from program.errors import AccessDenied, Conflict, InvalidInput
from program.models import (
    Actor,
    Cohort,
    CurriculumBundle,
    MemberStatus,
    Program,
    Role,
    RosterMember,
    SessionRecord,
    SessionStatus,
    StaffUser,
)
from program.store import Store

MAX_NAME = 60
MAX_COHORT_NAME = 120
MAX_ROSTER = 40
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def first_on_weekday(start: dt.date, weekday: int) -> dt.date:
    """The first date on or after `start` that falls on `weekday` (0 = Monday)."""
    return start + dt.timedelta(days=(weekday - start.weekday()) % 7)


def weekly_schedule(
    bundle: CurriculumBundle, start: dt.date, weekday: int, include_orientation: bool
) -> dict[int, dt.date]:
    """Dates for each session, a week apart on `weekday`, from the first such day after `start`.

    An orientation (session 0), when included, takes the first date and week 1 the next.
    """
    first = first_on_weekday(start, weekday)
    numbers = [s.number for s in bundle.curriculum.sessions if s.number >= 1 or include_orientation]
    return {n: first + dt.timedelta(weeks=i) for i, n in enumerate(numbers)}


def clean_name(name: str, what: str = "A name", limit: int = MAX_NAME) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput(f"{what} cannot be empty.")
    if len(cleaned) > limit:
        raise InvalidInput(f"{what} may have at most {limit} characters.")
    return cleaned


def parse_roster(text: str) -> list[str]:
    """Display names, one per line; refuses duplicates (ignoring case) and overlong names."""
    names = [clean_name(line, "A roster name") for line in text.splitlines() if line.strip()]
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise InvalidInput(
                f"{name!r} appears twice in the roster. Names must differ, for example add an"
                " initial."
            )
        seen[name.lower()] = name
    if len(names) > MAX_ROSTER:
        raise InvalidInput(f"A cohort may have at most {MAX_ROSTER} members.")
    return names


def _check_facilitators(store: Store, user_ids: Sequence[int]) -> None:
    if not user_ids:
        raise InvalidInput("Choose at least one facilitator.")
    for user_id in user_ids:
        user = store.staff_user(user_id)
        if user.role != Role.FACILITATOR or not user.active:
            raise InvalidInput(f"{user.display_name} is not an active facilitator.")


def _joining(
    store: Store, viewer: StaffUser, program: Program, user_ids: Sequence[int]
) -> list[int]:
    """Facilitators newly put on a cohort of `program` who do not belong to it yet.

    A lead or admin assigning them vouches for them, so they join the program with the
    assignment; a facilitator cannot bring someone into a program, so that is refused."""
    members = set(store.program_facilitator_ids(program.id))
    outside = [u for u in user_ids if u not in members]
    if outside and viewer.role == Role.FACILITATOR:
        names = ", ".join(store.staff_user(u).display_name for u in outside)
        raise AccessDenied(
            f"{names} {'does' if len(outside) == 1 else 'do'} not belong to the program"
            f" {program.name!r}. Ask an admin to add them to it first."
        )
    return outside


def create_cohort(
    store: Store,
    viewer: StaffUser,
    program_id: int,
    curriculum_version_id: int,
    name: str,
    start: dt.date,
    weekday: int,
    include_orientation: bool,
    facilitator_ids: Sequence[int],
    roster_text: str = "",
) -> Cohort:
    """Create a cohort pinned to a curriculum version, with its weekly schedule and roster.

    A facilitator creates cohorts only in programs they belong to."""
    program = access.require_cohort_creator(store, viewer, program_id)
    name = clean_name(name, "The cohort name", MAX_COHORT_NAME)
    if not 0 <= weekday <= 6:
        raise InvalidInput("Choose a weekday.")
    bundle = store.curriculum_bundle(curriculum_version_id)
    ids = list(dict.fromkeys(facilitator_ids))
    if viewer.role == Role.FACILITATOR and viewer.id not in ids:
        ids.insert(0, viewer.id)  # a facilitator creating a cohort runs it
    _check_facilitators(store, ids)
    joining = _joining(store, viewer, program, ids)
    roster = parse_roster(roster_text)
    if roster and viewer.role != Role.FACILITATOR:
        raise InvalidInput(
            "Only the cohort's facilitators keep its roster. Leave the roster empty; they can add"
            " names on the Cohorts page."
        )
    dates = weekly_schedule(bundle, start, weekday, include_orientation)
    return store.create_cohort(
        Actor.of(viewer), program_id, curriculum_version_id, name, dates, ids, roster, joining
    )


@dataclass(frozen=True)
class CohortOverview:
    """A cohort at a glance: no names, so leads and admins may see it."""

    cohort: Cohort
    program: str
    curriculum: str
    sessions_held: int
    sessions_total: int
    next_session: SessionRecord | None
    enrolled: int
    runs_it: bool


def overview(store: Store, viewer: StaffUser) -> list[CohortOverview]:
    """Every cohort the viewer may see, with its progress: a fixed number of queries however
    many cohorts an admin sees."""
    programs = {p.id: p.name for p in store.programs()}
    versions = {v.id: f"{v.title} {v.version}" for v in store.curriculum_versions()}
    cohorts = access.visible_cohorts(store, viewer)
    ids = [c.id for c in cohorts]
    sessions_of = store.sessions_of_cohorts(ids)
    enrolled = store.active_member_counts(ids)
    mine = set(store.facilitated_cohort_ids(viewer.id))
    out = []
    for cohort in cohorts:
        sessions = [s for s in sessions_of[cohort.id] if s.status != SessionStatus.CANCELLED]
        planned = [s for s in sessions if s.status == SessionStatus.PLANNED]
        out.append(
            CohortOverview(
                cohort=cohort,
                program=programs.get(cohort.program_id, "?"),
                curriculum=versions.get(cohort.curriculum_version_id, "?"),
                sessions_held=sum(s.status == SessionStatus.HELD for s in sessions),
                sessions_total=len(sessions),
                next_session=planned[0] if planned else None,
                enrolled=enrolled.get(cohort.id, 0),
                runs_it=cohort.id in mine,
            )
        )
    return out


# --------------------------------------------------------------------------- roster


def roster(store: Store, viewer: StaffUser, cohort_id: int) -> list[RosterMember]:
    access.require_facilitator(store, viewer, cohort_id)
    return store.roster(cohort_id)


def add_member(store: Store, viewer: StaffUser, cohort_id: int, name: str) -> RosterMember:
    access.require_facilitator(store, viewer, cohort_id)
    if len(store.roster(cohort_id)) >= MAX_ROSTER:
        raise InvalidInput(f"A cohort may have at most {MAX_ROSTER} members.")
    return store.add_roster_member(Actor.of(viewer), cohort_id, clean_name(name, "A roster name"))


def _own_member(store: Store, viewer: StaffUser, member_id: int) -> RosterMember:
    member = store.roster_member(member_id)
    access.require_facilitator(store, viewer, member.cohort_id)
    return member


def rename_member(store: Store, viewer: StaffUser, member_id: int, name: str) -> None:
    _own_member(store, viewer, member_id)
    store.rename_roster_member(Actor.of(viewer), member_id, clean_name(name, "A roster name"))


def withdraw_member(store: Store, viewer: StaffUser, member_id: int) -> None:
    """Withdrawn members keep their past attendance but leave future attendance lists."""
    if _own_member(store, viewer, member_id).status == MemberStatus.WITHDRAWN:
        raise Conflict("This member has already withdrawn.")
    store.set_roster_status(Actor.of(viewer), member_id, MemberStatus.WITHDRAWN)


def reinstate_member(store: Store, viewer: StaffUser, member_id: int) -> None:
    if _own_member(store, viewer, member_id).status == MemberStatus.ACTIVE:
        raise Conflict("This member is already active.")
    store.set_roster_status(Actor.of(viewer), member_id, MemberStatus.ACTIVE)


# --------------------------------------------------------------------------- schedule


def sessions(store: Store, viewer: StaffUser, cohort_id: int) -> list[SessionRecord]:
    access.require_cohort_manager(store, viewer, cohort_id)
    return store.sessions(cohort_id)


def session_in_cohort(store: Store, cohort_id: int, number: int) -> SessionRecord:
    for s in store.sessions(cohort_id):
        if s.number == number:
            return s
    raise InvalidInput(f"This cohort has no session {number}.")


def _check_order(store: Store, session: SessionRecord, date: dt.date) -> None:
    """Refuse a date that would put a session out of order with the other live sessions."""
    others = [
        s
        for s in store.sessions(session.cohort_id)
        if s.id != session.id and s.status != SessionStatus.CANCELLED
    ]
    before = [s for s in others if s.number < session.number]
    after = [s for s in others if s.number > session.number]
    if before and date <= before[-1].scheduled_date:
        raise InvalidInput(
            f"Session {session.number} must come after session {before[-1].number}"
            f" ({before[-1].scheduled_date:%d %b %Y})."
        )
    if after and date >= after[0].scheduled_date:
        raise InvalidInput(
            f"Session {session.number} must come before session {after[0].number}"
            f" ({after[0].scheduled_date:%d %b %Y}). Move that one first."
        )


def reschedule(store: Store, viewer: StaffUser, session_id: int, date: dt.date) -> None:
    """Move a session to another date, keeping the sessions in their order."""
    session = store.session(session_id)
    access.require_cohort_manager(store, viewer, session.cohort_id)
    if session.status == SessionStatus.HELD:
        raise Conflict("This session was held already; its date cannot change.")
    _check_order(store, session, date)
    store.set_session_date(Actor.of(viewer), session_id, date)


def cancel_session(store: Store, viewer: StaffUser, session_id: int) -> None:
    session = store.session(session_id)
    access.require_cohort_manager(store, viewer, session.cohort_id)
    if session.status != SessionStatus.PLANNED:
        raise Conflict(f"Only a planned session can be cancelled; this one is {session.status}.")
    store.set_session_status(Actor.of(viewer), session_id, SessionStatus.CANCELLED)


def restore_session(store: Store, viewer: StaffUser, session_id: int) -> None:
    session = store.session(session_id)
    access.require_cohort_manager(store, viewer, session.cohort_id)
    if session.status != SessionStatus.CANCELLED:
        raise Conflict("Only a cancelled session can be restored.")
    # Other sessions may have moved into its place while it was cancelled.
    _check_order(store, session, session.scheduled_date)
    store.set_session_status(Actor.of(viewer), session_id, SessionStatus.PLANNED)


def assign_facilitators(
    store: Store, viewer: StaffUser, cohort_id: int, user_ids: Sequence[int]
) -> None:
    cohort = access.require_cohort_manager(store, viewer, cohort_id)
    ids = list(dict.fromkeys(user_ids))
    _check_facilitators(store, ids)
    # Only those newly put on the cohort: someone an admin took out of the program keeps running
    # the cohorts they already run, and saving the cohort's list does not bring them back in.
    current = set(store.cohort_facilitator_ids(cohort_id))
    added = [u for u in ids if u not in current]
    joining = _joining(store, viewer, store.program(cohort.program_id), added)
    store.set_cohort_facilitators(Actor.of(viewer), cohort_id, ids, joining)


def facilitators(store: Store) -> list[StaffUser]:
    """Active facilitators, for choosing who runs a cohort."""
    return [u for u in store.staff_users() if u.role == Role.FACILITATOR and u.active]


# --------------------------------------------------------------------------- the real meeting day


@dataclass(frozen=True)
class MeetingMove:
    """What "We met today instead" changes: the session moves to `date`; earlier sessions still
    planned on or after that day did not take place before it and are cancelled (they can be
    restored); later sessions keep their dates, or all move by the same number of days when the
    facilitator asks for it (`shifted`)."""

    session: SessionRecord
    date: dt.date
    cancelled: tuple[SessionRecord, ...]
    shifted: tuple[tuple[SessionRecord, dt.date], ...]  # used only when shift_later

    @property
    def days(self) -> int:
        return (self.date - self.session.scheduled_date).days


def plan_met_today(store: Store, viewer: StaffUser, session_id: int, today: dt.date) -> MeetingMove:
    """What moving a planned session to `today` would change, for the facilitator to confirm."""
    session = store.session(session_id)
    access.require_cohort_manager(store, viewer, session.cohort_id)
    if session.status != SessionStatus.PLANNED:
        raise Conflict(f"Only a planned session can move; this one is {session.status}.")
    if session.scheduled_date <= today:
        raise InvalidInput("This session is planned for today or earlier already.")
    live = [
        s
        for s in store.sessions(session.cohort_id)
        if s.id != session.id and s.status != SessionStatus.CANCELLED
    ]
    earlier = [s for s in live if s.number < session.number]
    later = [s for s in live if s.number > session.number]
    in_the_way = [s for s in earlier if s.scheduled_date >= today]
    held = [s for s in in_the_way if s.status == SessionStatus.HELD]
    if held:
        raise InvalidInput(
            f"Session {held[-1].number} was held on {held[-1].scheduled_date:%d %b %Y}, so"
            f" session {session.number} cannot have been today."
        )
    # An earlier session with attendance or a pulse took place (or is taking place): it is not
    # one the group skipped, and it is never cancelled from here.
    started = [
        s
        for s in in_the_way
        if store.attendance_marks(s.id) or store.pulse_window(s.id) is not None
    ]
    if started:
        raise InvalidInput(
            f"Session {started[0].number} ({started[0].scheduled_date:%d %b %Y}) already has"
            f" attendance or a pulse. Mark it held first; session {session.number} can then move"
            " to a later day on the Cohorts page."
        )
    shift = today - session.scheduled_date
    shifted = tuple(
        (s, s.scheduled_date + shift) for s in later if s.status == SessionStatus.PLANNED
    )
    return MeetingMove(session, today, tuple(in_the_way), shifted)


def met_today(
    store: Store, viewer: StaffUser, session_id: int, today: dt.date, shift_later: bool
) -> MeetingMove:
    """Move a planned session to `today`, as plan_met_today says, in one change."""
    move = plan_met_today(store, viewer, session_id, today)
    dates = {move.session.id: move.date}
    if shift_later:
        held_later = [
            s
            for s in store.sessions(move.session.cohort_id)
            if s.number > move.session.number and s.status == SessionStatus.HELD
        ]
        for s, date in move.shifted:
            if any(h.scheduled_date >= date and h.number < s.number for h in held_later):
                raise InvalidInput(
                    f"Session {s.number} cannot move to {date:%d %b %Y}: a session before it was"
                    " held later than that."
                )
            dates[s.id] = date
    store.move_sessions(Actor.of(viewer), dates, [s.id for s in move.cancelled])
    return move
