"""Programs: creating them, their leads and facilitators, their description, and their minimum
group size k, the privacy threshold every released figure rests on.

k may be any number of MIN_GROUP_SIZES (the first migration's CHECK says the same, and the release
engine refuses any other). It can change until the first pulse of the program's cohorts opens; from then
on it is locked, which the store enforces in the transaction of the change (program/store/
programs.py).

Every function takes the signed-in staff member and refuses anyone who is not an admin, whatever
the page showed them. The store audits every change in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from program.access import require_role
from program.errors import Conflict, InvalidInput
from program.models import Actor, Program, Role, StaffUser
from program.store import Store

MIN_GROUP_SIZES = range(3, 11)  # the minimum group sizes a program may choose: 3 to 10
DEFAULT_MIN_GROUP_SIZE = 5
MAX_NAME = 120
MAX_DESCRIPTION = 2000


def check_min_group_size(min_group_size: int) -> None:
    """Refuse a minimum group size outside MIN_GROUP_SIZES."""
    if min_group_size not in MIN_GROUP_SIZES:
        raise InvalidInput(
            f"The minimum group size must be between {MIN_GROUP_SIZES[0]} and"
            f" {MIN_GROUP_SIZES[-1]} (you gave {min_group_size})."
        )


def _clean_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"A description may have at most {MAX_DESCRIPTION} characters.")
    return description


def _by_name(users: list[StaffUser]) -> list[StaffUser]:
    return sorted(users, key=lambda u: u.display_name)


# --------------------------------------------------------------------------- programs


@dataclass(frozen=True)
class ProgramOverview:
    program: Program
    leads: list[StaffUser]
    cohorts: int
    pulse_opened: bool  # its minimum group size is locked

    @property
    def min_group_size_locked(self) -> bool:
        return self.pulse_opened


def programs_overview(store: Store, viewer: StaffUser) -> list[ProgramOverview]:
    require_role(viewer, Role.ADMIN)
    staff = {u.id: u for u in store.staff_users()}
    cohorts = store.program_cohort_counts()
    return [
        ProgramOverview(
            program=p,
            leads=_by_name([staff[i] for i in store.program_lead_ids(p.id) if i in staff]),
            cohorts=cohorts.get(p.id, 0),
            pulse_opened=store.program_pulse_opened(p.id),
        )
        for p in store.programs()
    ]


def program_names(store: Store, viewer: StaffUser) -> dict[int, str]:
    """Every program's name, by id."""
    require_role(viewer, Role.ADMIN)
    return {p.id: p.name for p in store.programs()}


def create_program(
    store: Store,
    viewer: StaffUser,
    name: str,
    description: str = "",
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> Program:
    require_role(viewer, Role.ADMIN)
    name = name.strip()
    if not name:
        raise InvalidInput("Please give the program a name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A program name may have at most {MAX_NAME} characters.")
    check_min_group_size(min_group_size)
    return store.create_program(
        Actor.of(viewer), name, _clean_description(description), min_group_size
    )


def set_program_description(
    store: Store, viewer: StaffUser, program_id: int, description: str
) -> Program:
    require_role(viewer, Role.ADMIN)
    return store.set_program_description(
        Actor.of(viewer), program_id, _clean_description(description)
    )


# --------------------------------------------------------------------------- leads


def lead_candidates(store: Store, viewer: StaffUser, program_id: int) -> list[StaffUser]:
    """The active program leads who do not lead this program yet, by username."""
    require_role(viewer, Role.ADMIN)
    leading = set(store.program_lead_ids(program_id))
    return [
        u for u in store.staff_users() if u.role == Role.LEAD and u.active and u.id not in leading
    ]


def assign_program_lead(store: Store, viewer: StaffUser, program_id: int, user_id: int) -> None:
    only = "only program leads can lead a program. Change their role first."
    _check_newcomer(store, viewer, program_id, user_id, Role.LEAD, only, "already leads")
    store.add_program_lead(Actor.of(viewer), program_id, user_id)


def _check_newcomer(
    store: Store,
    viewer: StaffUser,
    program_id: int,
    user_id: int,
    role: Role,
    only: str,
    already: str,
) -> None:
    """Refuse the admin's choice of a new lead or facilitator of a program (`role`) unless the
    account has that role, is active and is not one yet; `only` and `already` word the
    refusals."""
    require_role(viewer, Role.ADMIN)
    program = store.program(program_id)
    user = store.staff_user(user_id)
    if user.role != role:
        raise InvalidInput(f"{user.display_name} is a {user.role.value}; {only}")
    if not user.active:
        raise Conflict(f"{user.display_name}'s account is deactivated. Reactivate it first.")
    members = (
        store.program_lead_ids(program_id)
        if role == Role.LEAD
        else store.program_facilitator_ids(program_id)
    )
    if user_id in members:
        raise Conflict(f"{user.display_name} {already} {program.name}.")


def unassign_program_lead(store: Store, viewer: StaffUser, program_id: int, user_id: int) -> None:
    require_role(viewer, Role.ADMIN)
    store.program(program_id)
    store.remove_program_lead(Actor.of(viewer), program_id, user_id)


# --------------------------------------------------------------------------- facilitators


def program_facilitators(store: Store, viewer: StaffUser, program_id: int) -> list[StaffUser]:
    """The facilitators who belong to a program (and may create cohorts in it), by name."""
    require_role(viewer, Role.ADMIN)
    store.program(program_id)
    staff = {u.id: u for u in store.staff_users()}
    return _by_name([staff[i] for i in store.program_facilitator_ids(program_id) if i in staff])


def facilitator_candidates(store: Store, viewer: StaffUser, program_id: int) -> list[StaffUser]:
    """The active facilitators who do not belong to this program yet, by username."""
    require_role(viewer, Role.ADMIN)
    members = set(store.program_facilitator_ids(program_id))
    return [
        u
        for u in store.staff_users()
        if u.role == Role.FACILITATOR and u.active and u.id not in members
    ]


def add_program_facilitator(store: Store, viewer: StaffUser, program_id: int, user_id: int) -> None:
    """Let a facilitator create cohorts in a program (and be put on its cohorts)."""
    only = "only facilitators belong to programs this way. Program leads are assigned as leads."
    _check_newcomer(
        store, viewer, program_id, user_id, Role.FACILITATOR, only, "already belongs to"
    )
    store.add_program_facilitator(Actor.of(viewer), program_id, user_id)


def remove_program_facilitator(
    store: Store, viewer: StaffUser, program_id: int, user_id: int
) -> None:
    """Stop a facilitator creating cohorts in a program. The cohorts they already run stay theirs."""
    require_role(viewer, Role.ADMIN)
    store.program(program_id)
    store.remove_program_facilitator(Actor.of(viewer), program_id, user_id)


# --------------------------------------------------------------------------- the minimum group size


@dataclass(frozen=True)
class PrivacyStatus:
    program: Program
    pulse_opened: bool

    @property
    def locked(self) -> bool:
        return self.pulse_opened

    @property
    def explanation(self) -> str:
        k = self.program.min_group_size
        if self.locked:
            return (
                f"Locked at {k}: a pulse has opened in this program's cohorts. Participants were"
                " promised this threshold, and released results rest on it, so it cannot change."
            )
        return (
            f"Set to {k}. It can change until the first pulse opens in one of this program's"
            " cohorts; from then on it is locked."
        )


def privacy_status(store: Store, viewer: StaffUser, program_id: int) -> PrivacyStatus:
    require_role(viewer, Role.ADMIN)
    return PrivacyStatus(
        program=store.program(program_id),
        pulse_opened=store.program_pulse_opened(program_id),
    )


def set_min_group_size(
    store: Store, viewer: StaffUser, program_id: int, min_group_size: int
) -> Program:
    """Change a program's minimum group size; refused once any pulse of the program opened.

    The store checks for pulses in the same transaction as the change, and opening a pulse
    touches the program's row, so a pulse opening at the same instant conflicts with the change
    and one of the two retries after the other.
    """
    require_role(viewer, Role.ADMIN)
    check_min_group_size(min_group_size)
    program = store.program(program_id)
    if program.min_group_size == min_group_size:
        raise Conflict(f"The minimum group size of {program.name} is already {min_group_size}.")
    return store.set_program_min_group_size(Actor.of(viewer), program_id, min_group_size)
