"""Programs of several cohorts, as the program-lead results tests build them: `World` (a program
with its lead and a facilitator, the bundled curriculum loaded), cohorts added to it
(`add_cohort`, `roster`), sessions held and closed pulses stored with chosen answers (`hold`,
`answers`, `closed_pulse`), the program's results (`results`) and a second curriculum version
(`second_version`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from program.cohorts import create_cohort
from program.library import load_curriculum, upload_curriculum
from program.models import (
    AttendanceMark,
    Cohort,
    CurriculumBundle,
    Mark,
    Program,
    Role,
    StaffUser,
    score_answers,
)
from program.program_results import ProgramResults, Selection, program_results
from program.session_runner import save_sheet
from program.store import Store
from tests.factories.paths import BUNDLED, INSTRUMENTS
from tests.factories.stores import NEAREST_DRAW, SYSTEM, pin_draws

PAST = dt.date(2025, 1, 6)  # a Monday: every session of these cohorts can be marked held


@dataclass
class World:
    """One program with its lead and a facilitator, and the bundled curriculum loaded."""

    store: Store
    program: Program
    lead: StaffUser
    facilitator: StaffUser
    version_id: int

    def bundle(self, version_id: int | None = None) -> CurriculumBundle:
        return self.store.curriculum_bundle(version_id or self.version_id)


def make_world(store: Store, make_staff, k: int = 5, name: str = "Test program") -> World:  # type: ignore[no-untyped-def]
    version, _ = load_curriculum(store, SYSTEM, BUNDLED)
    lead = make_staff(f"lead-{name.split()[0].lower()}", Role.LEAD)
    facilitator = make_staff(f"fac-{name.split()[0].lower()}", Role.FACILITATOR)
    program = store.create_program(SYSTEM, name, "", k)
    store.add_program_lead(SYSTEM, program.id, lead.id)
    return World(store, program, lead, facilitator, version.id)


def add_cohort(
    world: World,
    name: str,
    roster: Sequence[str],
    start: dt.date = PAST,
    version_id: int | None = None,
    program_id: int | None = None,
) -> Cohort:
    """A weekly cohort without orientation, so its sessions are numbered 1–6."""
    program = program_id or world.program.id
    world.store.add_program_facilitator(SYSTEM, program, world.facilitator.id)
    return create_cohort(
        world.store,
        world.facilitator,
        program_id or world.program.id,
        version_id or world.version_id,
        name,
        start,
        start.weekday(),
        False,
        [world.facilitator.id],
        "\n".join(roster),
    )


def roster(prefix: str, size: int) -> list[str]:
    return [f"{prefix} {i}" for i in range(1, size + 1)]


def session_id(world: World, cohort: Cohort, number: int) -> int:
    return next(s.id for s in world.store.sessions(cohort.id) if s.number == number)


def hold(world: World, cohort: Cohort, number: int, present: Sequence[str]) -> int:
    """Mark the session held with these roster members present and the others absent."""
    sid = session_id(world, cohort, number)
    marks = {
        m.id: AttendanceMark(status=Mark.PRESENT if m.display_name in present else Mark.ABSENT)
        for m in world.store.roster(cohort.id)
    }
    save_sheet(
        world.store,
        world.facilitator,
        sid,
        marks,
        set(),
        "",
        held=True,
        revision=world.store.session_revision(sid),
    )
    return sid


def answers(bundle: CurriculumBundle, number: int, value: int) -> dict[tuple[str, str], int]:
    """Every item of the session's pulse answered with `value`, clipped to the item's scale."""
    return {
        (instrument.id, item.id): max(instrument.scale.min, min(instrument.scale.max, value))
        for instrument, item in bundle.pulse_items(number)
    }


def closed_pulse(
    world: World,
    cohort: Cohort,
    number: int,
    values: Sequence[int],
    draw: float | None = NEAREST_DRAW,
) -> None:
    """Hold the session with enough people present and store a closed pulse, one answer each.
    Its cells' rounding draws are set to `draw` (by default: round to the nearest step, halves
    up), or left as the store drew them (None)."""
    members = [m.display_name for m in world.store.roster(cohort.id)]
    sid = hold(world, cohort, number, members)
    bundle = world.bundle(cohort.curriculum_version_id)
    responses = [
        score_answers(bundle.pulse_items(number), answers(bundle, number, v)) for v in values
    ]
    opened = dt.datetime.combine(world.store.session(sid).scheduled_date, dt.time(19, 0))
    world.store.store_closed_pulse(SYSTEM, sid, opened, responses)
    if draw is not None:
        pin_draws(world.store, sid, draw)


def results(world: World, viewer: StaffUser | None = None, **selection: object) -> ProgramResults:
    return program_results(
        world.store,
        viewer or world.lead,
        Selection(world.program.id, **selection),  # type: ignore[arg-type]
    )


def second_version(world: World) -> int:
    """The bundled curriculum edited to a new version: a cohort pinned to it is told apart."""
    text = BUNDLED.read_text(encoding="utf-8")
    version = world.bundle().curriculum.version
    edited = text.replace(f'\nversion: "{version}"', f'\nversion: "{version}-b"', 1)
    assert edited != text
    loaded, _ = upload_curriculum(world.store, SYSTEM, "edited.yaml", edited, INSTRUMENTS)
    assert loaded.id != world.version_id
    return loaded.id
