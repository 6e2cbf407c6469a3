"""The Cohorts page: every cohort at a glance, what creating one offers, and one cohort managed."""

from __future__ import annotations

from dataclasses import dataclass

from program import access, cohorts
from program.cohorts import CohortOverview
from program.models import (
    Cohort,
    CurriculumVersion,
    Program,
    Role,
    RosterMember,
    SessionRecord,
    StaffUser,
)
from program.store import Store

STAFF = (Role.FACILITATOR, Role.LEAD, Role.ADMIN)


@dataclass(frozen=True)
class CohortsView:
    """The page's top half: the overview and what the creation form offers."""

    overview: tuple[CohortOverview, ...]
    programs: tuple[Program, ...]  # where the viewer may create a cohort
    versions: tuple[CurriculumVersion, ...]  # newest first: a new cohort pins one of them
    facilitators: tuple[StaffUser, ...]  # active facilitators, to choose who runs it
    asks_roster: bool  # only a facilitator keeps a roster, so only they type one in

    @property
    def can_create(self) -> bool:
        return bool(self.programs and self.versions)


def cohorts_view(store: Store, viewer: StaffUser) -> CohortsView:
    access.require_role(viewer, *STAFF)
    return CohortsView(
        overview=tuple(cohorts.overview(store, viewer)),
        programs=tuple(access.visible_programs(store, viewer)),
        versions=tuple(reversed(store.curriculum_versions())),
        facilitators=tuple(cohorts.facilitators(store)),
        asks_roster=viewer.role == Role.FACILITATOR,
    )


@dataclass(frozen=True)
class CohortManagement:
    """One cohort's schedule, facilitators and (for those who run it) roster."""

    cohort: Cohort
    titles: dict[int, str]  # session number -> its title in the cohort's curriculum version
    sessions: tuple[SessionRecord, ...]
    facilitators: tuple[StaffUser, ...]  # everyone who could run it
    current: frozenset[int]  # who runs it now
    roster: tuple[RosterMember, ...] | None  # None: the viewer does not run it, so sees no names


def manage(store: Store, viewer: StaffUser, cohort_id: int) -> CohortManagement:
    """What managing one cohort shows; refused unless the viewer runs it or leads its program."""
    cohort = access.require_cohort_manager(store, viewer, cohort_id)
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    runs_it = access.runs_cohort(store, viewer, cohort_id)
    return CohortManagement(
        cohort=cohort,
        titles={s.number: s.title for s in bundle.curriculum.sessions},
        sessions=tuple(cohorts.sessions(store, viewer, cohort_id)),
        facilitators=tuple(cohorts.facilitators(store)),
        current=frozenset(store.cohort_facilitator_ids(cohort_id)),
        roster=tuple(cohorts.roster(store, viewer, cohort_id)) if runs_it else None,
    )
