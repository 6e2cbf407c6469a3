"""Cohorts for the cohort results and the group mirror, as the results tests and the cohort
dashboard and mirror page tests build them: the template database with its staff
(`build_template`, `fresh_store`, `user`), a cohort in a program of its own (`Group`,
`make_group`) whose sessions are held and pulses closed with chosen answers (`run_program`), and
a stress series of two released cells (`series_from_means`)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from program import cohort_results as results
from program import cohorts, library, session_runner
from program.cohort_results import CohortResults, cohort_results
from program.models import Actor, AttendanceMark, Mark, Role, StaffUser, score_answers
from program.store import Store
from tests.factories.paths import CURRICULA, INSTRUMENTS
from tests.factories.stores import NEAREST_DRAW, pin_draws

WEEKS = (1, 2, 3, 4, 5, 6)
NAMES = [f"Member {i:02d}" for i in range(40)]
STRESS_FIRST = [8, 7, 9, 8, 6, 7, 8, 9, 7, 8, 6]  # first k..k+1 of these are used
STRESS_LAST = [3, 4, 2, 3, 5, 4, 3, 2, 4, 3, 5]


def fill_template(s: Store) -> None:
    """The bundled curriculum and the staff."""
    library.load_curriculum(s, Actor.system(), CURRICULA / "collective-healing.yaml")
    for username, role in (
        ("maya", Role.FACILITATOR),
        ("sam", Role.FACILITATOR),
        ("lee", Role.LEAD),
        ("alex", Role.ADMIN),
    ):
        # Single-sign-on style (no password), so no slow password hash.
        s.create_staff_user(Actor.system(), username, f"{username.title()} P", role, None)


def build_template(folder: Path) -> Path:
    """A migrated DuckDB file filled by `fill_template`, built once per test run."""
    path = folder / "template.duckdb"
    if not path.exists():
        s = Store(path)
        try:
            fill_template(s)
        finally:
            s.close()
    return path


def fresh_store(database: Path, template: Path) -> Iterator[Store]:
    """A fresh database of this test's own, copied from the template."""
    shutil.copyfile(template, database)
    s = Store(database)
    yield s
    s.close()


def user(store: Store, username: str) -> StaffUser:
    found = store.staff_user_by_username(username)
    assert found is not None
    return found


@dataclass
class Group:
    """One cohort in a program of its own, started eight weeks ago, so every session is past."""

    store: Store
    facilitator: StaffUser
    program_id: int
    cohort_id: int
    k: int

    def session_id(self, number: int) -> int:
        return cohorts.session_in_cohort(self.store, self.cohort_id, number).id

    def hold(
        self, number: int, present: int, absent: int = 0, excused: int = 0, late: int = 0
    ) -> None:
        """Mark the first `present` members present (the first `late` of them late), then absent
        and excused ones, tick the whole agenda, and mark the session held."""
        sid = self.session_id(number)
        members = self.store.roster(self.cohort_id)
        assert present + absent + excused <= len(members)
        marks = {
            m.id: AttendanceMark(status=Mark.PRESENT, late=i < late)
            for i, m in enumerate(members[:present])
        }
        rest = members[present:]
        marks |= {m.id: AttendanceMark(status=Mark.ABSENT) for m in rest[:absent]}
        marks |= {
            m.id: AttendanceMark(status=Mark.EXCUSED) for m in rest[absent : absent + excused]
        }
        bundle = self.store.curriculum_bundle(
            self.store.cohort(self.cohort_id).curriculum_version_id
        )
        agenda = bundle.curriculum.session(number).agenda
        session_runner.save_sheet(
            self.store,
            self.facilitator,
            sid,
            marks,
            set(range(len(agenda))),
            "",
            True,
            self.store.session_revision(sid),
        )

    def answer(
        self, number: int, stress: list[int], level: int = 3, draw: float | None = NEAREST_DRAW
    ) -> None:
        """A closed pulse at session `number`: one response per stress value; every other item
        is answered with `level` clipped to its scale. Its cells' rounding draws are set to
        `draw` (by default: round to the nearest step, halves up), or left as the store drew
        them (None)."""
        bundle = self.store.curriculum_bundle(
            self.store.cohort(self.cohort_id).curriculum_version_id
        )
        items = bundle.pulse_items(number)
        responses = []
        for value in stress:
            answers = {}
            for instrument, item in items:
                low, high = instrument.scale.min, instrument.scale.max
                chosen = value if instrument.id == "stress" else level
                answers[(instrument.id, item.id)] = max(low, min(high, chosen))
            responses.append(score_answers(items, answers))
        opened = dt.datetime.combine(
            self.store.session(self.session_id(number)).scheduled_date, dt.time(19, 30)
        )
        self.store.store_closed_pulse(Actor.system(), self.session_id(number), opened, responses)
        if draw is not None:
            pin_draws(self.store, self.session_id(number), draw)

    def results(self, viewer: StaffUser | None = None) -> CohortResults:
        return cohort_results(self.store, viewer or self.facilitator, self.cohort_id)


def make_group(
    store: Store,
    k: int = 5,
    members: int = 12,
    name: str = "Tuesday group",
    facilitator: str = "maya",
    roster: list[str] | None = None,
) -> Group:
    fac = user(store, facilitator)
    (version,) = store.curriculum_versions()
    program = store.create_program(Actor.system(), f"Program of {name}", "", k)
    store.add_program_facilitator(Actor.system(), program.id, fac.id)
    start = dt.date.today() - dt.timedelta(weeks=8)
    cohort = cohorts.create_cohort(
        store,
        fac,
        program.id,
        version.id,
        name,
        start=start,
        weekday=start.weekday(),
        include_orientation=False,
        facilitator_ids=[fac.id],
        roster_text="\n".join(roster or NAMES[:members]),
    )
    return Group(store, fac, program.id, cohort.id, k)


def run_program(group: Group, responses: dict[int, int], present: int = 11) -> None:
    """Hold every weekly session with `present` people and store a pulse with the given number
    of responses per session (stress falling from the first session to the last)."""
    for number in WEEKS:
        group.hold(number, present=present)
        n = responses.get(number, 0)
        if n:
            values = STRESS_FIRST if number == 1 else STRESS_LAST
            group.answer(number, (values * 4)[:n])


def series_from_means(first_mean: float, last_mean: float, n: int) -> results.MeasureSeries:
    """A stress series (0–10, lower is better, smallest change that matters 2) of two released
    cells with these rounded means and n answers each, through the real release_change."""
    from program.curriculum import load_instrument
    from program.privacy import ReleasedCell, ReleasedSummary, release_change

    stress = load_instrument(INSTRUMENTS / "stress.yaml")
    cells = [
        ReleasedCell(1, s, s, "stress", ReleasedSummary(n, mean, 0.5, (mean - 1, mean + 1)))
        for s, mean in ((1, first_mean), (6, last_mean))
    ]
    change = release_change(cells[0], cells[1], stress.score_range)
    points = [
        results.MeasurePoint(c.session_number, results.PointState.RELEASED, c, None) for c in cells
    ]
    return results.MeasureSeries(stress, points, results.FirstLast(1, 6, n, n, change), None)
