"""Home for staff: a facilitator's cohorts and the session each runs next; counts for the rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from program import access, session_runner
from program.models import Cohort, CohortStatus, Role, SessionRecord, SessionStatus, StaffUser
from program.store import Store

STAFF = (Role.FACILITATOR, Role.LEAD, Role.ADMIN)


@dataclass(frozen=True)
class CohortCard:
    """One of a facilitator's cohorts: how far it is, and the session to run next."""

    cohort: Cohort
    held: int
    total: int  # every session of the schedule, cancelled ones too
    next: SessionRecord | None  # the same rule as "Run a session" (session_runner.next_to_run)


@dataclass(frozen=True)
class HomeView:
    cards: tuple[CohortCard, ...]  # a facilitator's own cohorts; empty for leads and admins
    programs: int  # programs a lead leads, or all of them for an admin
    running: int
    finished: int
    scheduled: int


def home(store: Store, viewer: StaffUser, today: dt.date) -> HomeView:
    access.require_role(viewer, *STAFF)
    cohorts = access.visible_cohorts(store, viewer)
    cards: tuple[CohortCard, ...] = ()
    if viewer.role == Role.FACILITATOR:
        # A facilitator sees only the cohorts they run (access.visible_cohorts); one query for all.
        sessions = store.sessions_of_cohorts([c.id for c in cohorts])
        cards = tuple(
            CohortCard(
                cohort=c,
                held=sum(s.status == SessionStatus.HELD for s in sessions.get(c.id, [])),
                total=len(sessions.get(c.id, [])),
                next=session_runner.next_to_run(sessions.get(c.id, []), today),
            )
            for c in cohorts
        )
    return HomeView(
        cards=cards,
        programs=0
        if viewer.role == Role.FACILITATOR
        else len(access.visible_programs(store, viewer)),
        running=sum(c.status == CohortStatus.RUNNING for c in cohorts),
        finished=sum(c.status == CohortStatus.FINISHED for c in cohorts),
        scheduled=sum(c.status == CohortStatus.SCHEDULED for c in cohorts),
    )


def when(day: dt.date, today: dt.date) -> str:
    """'today', 'tomorrow', or the date in words: what a facilitator wants to know first."""
    if day == today:
        return "today"
    if day == today + dt.timedelta(days=1):
        return "tomorrow"
    late = " (not yet marked held)" if day < today else ""
    return f"on {day:%A %d %B %Y}{late}"
