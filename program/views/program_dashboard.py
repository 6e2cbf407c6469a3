"""The program dashboard: which program, curriculum version and start dates a lead may choose
(the selection), the pooled figures of that selection, and the audit of what they download.

Only leads of a program and admins get anything here (access.require_program_lead), and nothing
carries a roster name: cohort names, counts and released, pooled figures only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from program import access
from program.models import Actor, CurriculumVersion, Program, Role, StaffUser
from program.program_results import ProgramResults, Selection, program_results
from program.store import Store
from program.store.cohorts import COHORT_COLUMNS
from program.trends import MeasureTrend

ALL_VERSIONS = "all versions used in the program"


@dataclass(frozen=True)
class DashboardChoices:
    """The programs the viewer may look at (leads: the ones they lead; admins: all)."""

    programs: tuple[Program, ...]


def choices(store: Store, viewer: StaffUser) -> DashboardChoices:
    access.require_role(viewer, Role.LEAD, Role.ADMIN)
    return DashboardChoices(tuple(access.visible_programs(store, viewer)))


@dataclass(frozen=True)
class ProgramScope:
    """What a selection can be made of in one program: its curriculum versions and the range
    of its cohorts' start dates."""

    program: Program
    cohort_count: int
    versions: dict[int, CurriculumVersion]  # the versions its cohorts are pinned to, by id
    first_start: dt.date | None  # None: the program has no cohort yet
    last_start: dt.date | None

    def version_label(self, version_id: int | None) -> str:
        if version_id is None:
            return "All versions used in the program"
        v = self.versions[version_id]
        return f"{v.title} {v.version} · {v.content_hash[:8]}"

    def curriculum_words(self, version_id: int | None) -> str:
        """How a report and the headline CSV name the chosen curriculum."""
        if version_id is None:
            return ALL_VERSIONS
        v = self.versions[version_id]
        return f"{v.title} {v.version}"

    def selection(self, version_id: int | None, period: Sequence[dt.date | None]) -> Selection:
        """The selection a version and a date range make. While someone is picking a range the
        date widget holds one date: from that date on. A range reaching past the program's first
        or last start date is no limit at all, so it is left open (and stays open as cohorts
        are added)."""
        dates = [d for d in period if d is not None]
        started_from = dates[0] if dates else None
        started_to = dates[1] if len(dates) > 1 else None
        if started_from is not None and self.first_start and started_from <= self.first_start:
            started_from = None
        if started_to is not None and self.last_start and started_to >= self.last_start:
            started_to = None
        return Selection(self.program.id, version_id, started_from, started_to)


def scope(store: Store, viewer: StaffUser, program_id: int) -> ProgramScope:
    program = access.require_program_lead(store, viewer, program_id)
    cohorts = store.cohort_frame(program_id)
    if cohorts.empty:
        return ProgramScope(program, 0, {}, None, None)
    version_ids = sorted(int(v) for v in cohorts[COHORT_COLUMNS.curriculum_version_id].unique())
    return ProgramScope(
        program=program,
        cohort_count=len(cohorts),
        versions={v: store.curriculum_version(v) for v in version_ids},
        first_start=cohorts[COHORT_COLUMNS.start_date].min().date(),
        last_start=cohorts[COHORT_COLUMNS.start_date].max().date(),
    )


@dataclass(frozen=True)
class DashboardFigures:
    """The pooled figures of one selection, and the completion rule they were counted by."""

    results: ProgramResults
    completion_rule: str  # "attended at least 4 of the 6 weekly sessions", or a general phrase

    @property
    def trends(self) -> list[MeasureTrend]:
        """The measures with something to say: a pooled figure at one session at least."""
        return [
            t
            for t in self.results.measure_trends.values()
            if any(f.pooled.mean is not None for f in t.everyone)
        ]


def figures(store: Store, viewer: StaffUser, selection: Selection) -> DashboardFigures:
    """The figures of a selection (program_results checks the viewer leads the program)."""
    results = program_results(store, viewer, selection)
    bundles = [store.curriculum_bundle(v) for v in results.version_ids]
    rules = {
        (b.curriculum.completion.min_sessions_attended, len(b.curriculum.weekly_numbers))
        for b in bundles
    }
    if len(rules) == 1:
        least, weekly = next(iter(rules))
        rule = f"attended at least {least} of the {weekly} weekly sessions"
    else:
        # Cohorts on different versions may count completion differently.
        rule = "met their curriculum's completion rule"
    return DashboardFigures(results, rule)


def record_export(store: Store, viewer: StaffUser, what: str, program_id: int) -> None:
    """Write a download of the program's figures into the audit log."""
    access.require_program_lead(store, viewer, program_id)
    store.record_export(Actor.of(viewer), what, program_id)
