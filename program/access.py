"""Who may see and change what. Pages hide what a role cannot use; these checks enforce it.

- Facilitators run the cohorts they are assigned to: only they see those rosters, attendance and
  cohort results. They create cohorts only in the programs they belong to (an admin adds them; a
  lead or admin assigning them to a cohort of a program adds them to it too).
- Program leads manage the programs they lead: cohorts, schedules and facilitators, and pooled
  results, but never roster names of cohorts they do not run.
- Admins manage accounts, programs and privacy settings, and see every cohort's status, but not
  roster names either unless they are assigned to the cohort as facilitator.
"""

from __future__ import annotations

from program.errors import AccessDenied
from program.models import Cohort, Program, Role, StaffUser
from program.store import Store


def require_role(viewer: StaffUser, *roles: Role) -> None:
    if viewer.role not in roles:
        names = " or ".join(r.value for r in roles)
        raise AccessDenied(f"Only a {names} may do this.")


def leads_program(store: Store, viewer: StaffUser, program_id: int) -> bool:
    return viewer.role == Role.LEAD and viewer.id in store.program_lead_ids(program_id)


def belongs_to_program(store: Store, viewer: StaffUser, program_id: int) -> bool:
    """Whether the viewer is a facilitator who belongs to the program."""
    return viewer.role == Role.FACILITATOR and viewer.id in store.program_facilitator_ids(
        program_id
    )


def runs_cohort(store: Store, viewer: StaffUser, cohort_id: int) -> bool:
    return viewer.id in store.cohort_facilitator_ids(cohort_id)


def require_program_lead(store: Store, viewer: StaffUser, program_id: int) -> Program:
    """The program, if the viewer leads it or is an admin."""
    program = store.program(program_id)
    if viewer.role == Role.ADMIN or leads_program(store, viewer, program_id):
        return program
    raise AccessDenied("You do not lead this program.")


def require_cohort_creator(store: Store, viewer: StaffUser, program_id: int) -> Program:
    """The program, if the viewer may create cohorts in it: admins, its leads, and the
    facilitators who belong to it."""
    program = store.program(program_id)
    if viewer.role == Role.LEAD:
        return require_program_lead(store, viewer, program_id)
    if viewer.role == Role.ADMIN or belongs_to_program(store, viewer, program_id):
        return program
    raise AccessDenied(
        f"You do not belong to the program {program.name!r}, so you cannot create cohorts in it."
        " Ask an admin to add you to the program."
    )


def require_facilitator(store: Store, viewer: StaffUser, cohort_id: int) -> Cohort:
    """The cohort, if the viewer is one of its facilitators (who alone see its roster)."""
    cohort = store.cohort(cohort_id)
    if runs_cohort(store, viewer, cohort_id):
        return cohort
    raise AccessDenied("You are not a facilitator of this cohort.")


def require_cohort_manager(store: Store, viewer: StaffUser, cohort_id: int) -> Cohort:
    """The cohort, if the viewer may change its schedule and facilitators."""
    cohort = store.cohort(cohort_id)
    if (
        viewer.role == Role.ADMIN
        or runs_cohort(store, viewer, cohort_id)
        or leads_program(store, viewer, cohort.program_id)
    ):
        return cohort
    raise AccessDenied("You do not run this cohort or lead its program.")


def visible_programs(store: Store, viewer: StaffUser) -> list[Program]:
    """Programs the viewer may create cohorts in or see dashboards of: all for admins, the ones
    they lead for leads, the ones they belong to for facilitators."""
    programs = store.programs()
    if viewer.role == Role.ADMIN:
        return programs
    if viewer.role == Role.FACILITATOR:
        mine = set(store.facilitator_program_ids(viewer.id))
        return [p for p in programs if p.id in mine]
    return [p for p in programs if viewer.id in store.program_lead_ids(p.id)]


def visible_cohorts(store: Store, viewer: StaffUser) -> list[Cohort]:
    """Cohorts whose status the viewer may see: run, led or (admins) all."""
    if viewer.role == Role.ADMIN:
        return store.cohorts()
    if viewer.role == Role.LEAD:
        led = {p.id for p in visible_programs(store, viewer)}
        return [c for c in store.cohorts() if c.program_id in led]
    return facilitated_cohorts(store, viewer)


def facilitated_cohorts(store: Store, viewer: StaffUser) -> list[Cohort]:
    """The cohorts the viewer is a facilitator of (one query, whatever the number of cohorts)."""
    mine = set(store.facilitated_cohort_ids(viewer.id))
    return [c for c in store.cohorts() if c.id in mine]
