"""Cohorts through the domain API: schedule, creation, roster, rescheduling, facilitators, overview."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pytest

from program import cohorts
from program.errors import AccessDenied, Conflict, InvalidInput
from program.models import (
    Actor,
    AttendanceMark,
    Cohort,
    CohortStatus,
    CurriculumVersion,
    Mark,
    MemberStatus,
    Program,
    Role,
    SessionStatus,
    StaffUser,
)
from program.session_runner import open_sheet, save_sheet
from program.staff import create_user
from program.store import Store
from tests.factories.stores import load_bundled

WEDNESDAY = dt.date(2026, 3, 4)
MONDAY = dt.date(2026, 3, 9)
ROSTER = "Ana\nBen\nChloe\n"
TABLES = ("cohorts", "sessions", "cohort_facilitators", "roster_members")


@dataclass
class World:
    store: Store
    version: CurriculumVersion
    program: Program
    other_program: Program
    admin: StaffUser
    lead: StaffUser
    other_lead: StaffUser
    maya: StaffUser
    sam: StaffUser

    def create(self, viewer: StaffUser | None = None, **changes: object) -> Cohort:
        args: dict[str, object] = {
            "program_id": self.program.id,
            "curriculum_version_id": self.version.id,
            "name": "Tuesday evening",
            "start": WEDNESDAY,
            "weekday": 0,
            "include_orientation": True,
            "facilitator_ids": [],
            "roster_text": ROSTER,
        }
        args.update(changes)
        return cohorts.create_cohort(self.store, viewer or self.maya, **args)  # type: ignore[arg-type]


def staff(store: Store, username: str, role: Role) -> StaffUser:
    # No password: hashing one is slow, and these tests never sign in.
    return create_user(store, Actor.system(), username, username.title(), role, None)


@pytest.fixture
def world(store: Store) -> World:
    system = Actor.system()
    version = load_bundled(store)
    program = store.create_program(system, "Community pain collective")
    other_program = store.create_program(system, "Another city")
    w = World(
        store=store,
        version=version,
        program=program,
        other_program=other_program,
        admin=staff(store, "admin", Role.ADMIN),
        lead=staff(store, "lead", Role.LEAD),
        other_lead=staff(store, "otherlead", Role.LEAD),
        maya=staff(store, "maya", Role.FACILITATOR),
        sam=staff(store, "sam", Role.FACILITATOR),
    )
    store.add_program_lead(system, program.id, w.lead.id)
    store.add_program_lead(system, other_program.id, w.other_lead.id)
    for facilitator in (w.maya, w.sam):
        store.add_program_facilitator(system, program.id, facilitator.id)
    store.add_program_facilitator(system, other_program.id, w.sam.id)  # Sam works in both cities
    return w


def count(store: Store, table: str) -> int:
    cur = store.cursor()
    try:
        row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()  # table names are ours
    finally:
        cur.close()
    assert row is not None
    return int(row[0])


def counts(store: Store) -> dict[str, int]:
    return {t: count(store, t) for t in TABLES}


def names(store: Store, cohort: Cohort) -> list[str]:
    return sorted(m.display_name for m in store.roster(cohort.id))


def member(store: Store, cohort: Cohort, name: str):  # type: ignore[no-untyped-def]
    return next(m for m in store.roster(cohort.id) if m.display_name == name)


def session_no(store: Store, cohort: Cohort, number: int):  # type: ignore[no-untyped-def]
    return next(s for s in store.sessions(cohort.id) if s.number == number)


# --------------------------------------------------------------------------- the weekly schedule


def test_schedule_with_orientation_starts_on_the_first_matching_weekday(world):
    bundle = world.store.curriculum_bundle(world.version.id)
    dates = cohorts.weekly_schedule(bundle, WEDNESDAY, 0, include_orientation=True)
    assert list(dates) == [0, 1, 2, 3, 4, 5, 6]
    assert dates[0] == MONDAY
    assert dates[1] == MONDAY + dt.timedelta(weeks=1)
    assert dates[6] == MONDAY + dt.timedelta(weeks=6)
    assert all(d.weekday() == 0 for d in dates.values())


def test_schedule_without_orientation_puts_week_one_first(world):
    bundle = world.store.curriculum_bundle(world.version.id)
    dates = cohorts.weekly_schedule(bundle, WEDNESDAY, 0, include_orientation=False)
    assert list(dates) == [1, 2, 3, 4, 5, 6]
    assert dates[1] == MONDAY
    assert [dates[n] - dates[n - 1] for n in range(2, 7)] == [dt.timedelta(weeks=1)] * 5


def test_schedule_starting_on_the_weekday_itself_uses_that_day(world):
    bundle = world.store.curriculum_bundle(world.version.id)
    assert cohorts.weekly_schedule(bundle, WEDNESDAY, 2, False)[1] == WEDNESDAY
    assert cohorts.weekly_schedule(bundle, WEDNESDAY, 1, False)[1] == dt.date(2026, 3, 10)
    assert cohorts.first_on_weekday(WEDNESDAY, 6) == dt.date(2026, 3, 8)


# --------------------------------------------------------------------------- creating a cohort


def test_a_facilitator_creating_a_cohort_runs_it_and_keeps_its_roster(world):
    cohort = world.create()
    assert cohort.name == "Tuesday evening"
    assert cohort.curriculum_version_id == world.version.id
    assert cohort.start_date == MONDAY
    assert cohort.status == CohortStatus.SCHEDULED
    assert world.store.cohort_facilitator_ids(cohort.id) == [world.maya.id]
    assert names(world.store, cohort) == ["Ana", "Ben", "Chloe"]
    assert [s.number for s in world.store.sessions(cohort.id)] == [0, 1, 2, 3, 4, 5, 6]
    assert all(s.status == SessionStatus.PLANNED for s in world.store.sessions(cohort.id))
    assert "create cohort" in [e.action for e in world.store.audit_events()]


def test_a_facilitator_may_add_a_colleague(world):
    cohort = world.create(facilitator_ids=[world.sam.id])
    assert sorted(world.store.cohort_facilitator_ids(cohort.id)) == sorted(
        [world.maya.id, world.sam.id]
    )


def test_the_roster_is_cleaned_of_blank_lines_and_extra_spaces(world):
    cohort = world.create(roster_text="  Ana   Lee \n\n\t\nBen\n")
    assert names(world.store, cohort) == ["Ana Lee", "Ben"]


def test_the_lead_of_the_program_creates_a_cohort_with_an_empty_roster(world):
    cohort = world.create(world.lead, facilitator_ids=[world.maya.id], roster_text="")
    assert world.store.cohort_facilitator_ids(cohort.id) == [world.maya.id]
    assert world.store.roster(cohort.id) == []


def test_a_lead_may_not_fill_the_roster(world):
    before = counts(world.store)
    with pytest.raises(InvalidInput, match="roster"):
        world.create(world.lead, facilitator_ids=[world.maya.id], roster_text=ROSTER)
    assert counts(world.store) == before


def test_an_admin_may_not_fill_the_roster_either(world):
    with pytest.raises(InvalidInput):
        world.create(world.admin, facilitator_ids=[world.maya.id], roster_text=ROSTER)
    assert count(world.store, "cohorts") == 0


def test_a_lead_or_admin_must_name_a_facilitator(world):
    with pytest.raises(InvalidInput, match="facilitator"):
        world.create(world.lead, facilitator_ids=[], roster_text="")
    with pytest.raises(InvalidInput, match="facilitator"):
        world.create(world.lead, facilitator_ids=[world.lead.id], roster_text="")
    assert count(world.store, "cohorts") == 0


def test_the_lead_of_another_program_is_refused(world):
    before = counts(world.store)
    with pytest.raises(AccessDenied):
        world.create(world.other_lead, facilitator_ids=[world.maya.id], roster_text="")
    assert counts(world.store) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"name": ""},
        {"name": "   \t "},
        {"name": "x" * (cohorts.MAX_COHORT_NAME + 1)},
        {"roster_text": "Ana\nBen\nana\n"},
        {"roster_text": "Ana Lee\nAna  LEE\n"},
        {"roster_text": "Ana\n" + "y" * (cohorts.MAX_NAME + 1)},
        {"roster_text": "\n".join(f"Person {i}" for i in range(cohorts.MAX_ROSTER + 1))},
        {"weekday": 7},
        {"weekday": -1},
    ],
    ids=[
        "empty-name",
        "blank-name",
        "long-name",
        "duplicate-roster-name",
        "duplicate-ignoring-spaces",
        "long-roster-name",
        "roster-too-big",
        "weekday-7",
        "weekday-minus-1",
    ],
)
def test_invalid_input_is_refused_and_nothing_is_written(world, changes):
    before = counts(world.store)
    with pytest.raises(InvalidInput):
        world.create(**changes)
    assert counts(world.store) == before == dict.fromkeys(TABLES, 0)


def test_names_at_the_length_limits_are_accepted(world):
    long_member = "y" * cohorts.MAX_NAME
    cohort = world.create(name="x" * cohorts.MAX_COHORT_NAME, roster_text=long_member)
    assert len(cohort.name) == cohorts.MAX_COHORT_NAME
    assert names(world.store, cohort) == [long_member]


def test_a_second_cohort_with_the_same_name_in_the_program_is_a_conflict(world):
    world.create()
    before = counts(world.store)
    with pytest.raises(Conflict):
        world.create(roster_text="Dev\n")
    assert counts(world.store) == before


def test_the_same_cohort_name_in_another_program_is_fine(world):
    world.create()
    world.create(world.sam, program_id=world.other_program.id)
    assert count(world.store, "cohorts") == 2


# --------------------------------------------------------------------------- the roster


def test_roster_add_rename_withdraw_reinstate(world):
    store, cohort = world.store, world.create()
    added = cohorts.add_member(store, world.maya, cohort.id, "  Dev  ")
    assert added.display_name == "Dev" and added.status == MemberStatus.ACTIVE
    assert store.enrolled_count(cohort.id) == 4

    cohorts.rename_member(store, world.maya, added.id, "Devi")
    assert store.roster_member(added.id).display_name == "Devi"

    cohorts.withdraw_member(store, world.maya, added.id)
    assert store.roster_member(added.id).status == MemberStatus.WITHDRAWN
    assert store.enrolled_count(cohort.id) == 3
    with pytest.raises(Conflict):
        cohorts.withdraw_member(store, world.maya, added.id)

    cohorts.reinstate_member(store, world.maya, added.id)
    assert store.roster_member(added.id).status == MemberStatus.ACTIVE
    with pytest.raises(Conflict):
        cohorts.reinstate_member(store, world.maya, added.id)
    assert [m.display_name for m in cohorts.roster(store, world.maya, cohort.id)] == [
        "Ana",
        "Ben",
        "Chloe",
        "Devi",
    ]


def test_a_rename_to_someone_elses_name_is_refused(world):
    store, cohort = world.store, world.create()
    ben = member(store, cohort, "Ben")
    with pytest.raises(Conflict):
        cohorts.rename_member(store, world.maya, ben.id, "ana")
    assert store.roster_member(ben.id).display_name == "Ben"
    # Changing only the case of one's own name is fine.
    cohorts.rename_member(store, world.maya, ben.id, "BEN")
    assert store.roster_member(ben.id).display_name == "BEN"


def test_adding_a_duplicate_or_empty_name_is_refused(world):
    store, cohort = world.store, world.create()
    with pytest.raises(Conflict):
        cohorts.add_member(store, world.maya, cohort.id, "CHLOE")
    with pytest.raises(InvalidInput):
        cohorts.add_member(store, world.maya, cohort.id, "   ")
    with pytest.raises(InvalidInput):
        cohorts.rename_member(store, world.maya, member(store, cohort, "Ana").id, "z" * 61)
    assert names(store, cohort) == ["Ana", "Ben", "Chloe"]


def test_the_roster_has_a_size_limit(world):
    store = world.store
    cohort = world.create(roster_text="\n".join(f"P{i}" for i in range(cohorts.MAX_ROSTER)))
    with pytest.raises(InvalidInput):
        cohorts.add_member(store, world.maya, cohort.id, "One too many")
    assert len(store.roster(cohort.id)) == cohorts.MAX_ROSTER


def test_a_facilitator_of_another_cohort_cannot_touch_the_roster(world):
    store, cohort = world.store, world.create()
    world.create(world.sam, name="Sam's group", roster_text="Zed\n")
    ana = member(store, cohort, "Ana")
    with pytest.raises(AccessDenied):
        cohorts.roster(store, world.sam, cohort.id)
    with pytest.raises(AccessDenied):
        cohorts.add_member(store, world.sam, cohort.id, "Intruder")
    with pytest.raises(AccessDenied):
        cohorts.rename_member(store, world.sam, ana.id, "Renamed")
    with pytest.raises(AccessDenied):
        cohorts.withdraw_member(store, world.sam, ana.id)
    assert names(store, cohort) == ["Ana", "Ben", "Chloe"]
    assert store.roster_member(ana.id).status == MemberStatus.ACTIVE


@pytest.mark.parametrize("who", ["lead", "admin", "other_lead"])
def test_leads_and_admins_never_get_a_roster(world, who):
    store, cohort = world.store, world.create()
    viewer = getattr(world, who)
    with pytest.raises(AccessDenied):
        cohorts.roster(store, viewer, cohort.id)
    with pytest.raises(AccessDenied):
        cohorts.add_member(store, viewer, cohort.id, "Someone")
    with pytest.raises(AccessDenied):
        cohorts.rename_member(store, viewer, member(store, cohort, "Ana").id, "Other")
    assert names(store, cohort) == ["Ana", "Ben", "Chloe"]


# --------------------------------------------------------------------------- the schedule


def test_reschedule_within_its_neighbours(world):
    store, cohort = world.store, world.create()
    two = session_no(store, cohort, 2)
    new_date = two.scheduled_date + dt.timedelta(days=2)
    cohorts.reschedule(store, world.maya, two.id, new_date)
    assert store.session(two.id).scheduled_date == new_date
    assert "reschedule session" in [e.action for e in store.audit_events()]


def test_reschedule_refuses_to_change_the_order(world):
    store, cohort = world.store, world.create()
    one, two, three = (session_no(store, cohort, n) for n in (1, 2, 3))
    with pytest.raises(InvalidInput, match="after session 1"):
        cohorts.reschedule(store, world.maya, two.id, one.scheduled_date)
    with pytest.raises(InvalidInput, match="after session 1"):
        cohorts.reschedule(store, world.maya, two.id, one.scheduled_date - dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match="before session 3"):
        cohorts.reschedule(store, world.maya, two.id, three.scheduled_date)
    with pytest.raises(InvalidInput, match="before session 3"):
        cohorts.reschedule(store, world.maya, two.id, three.scheduled_date + dt.timedelta(days=9))
    assert store.session(two.id).scheduled_date == two.scheduled_date


def test_first_and_last_sessions_may_move_outward(world):
    store, cohort = world.store, world.create()
    first, last = session_no(store, cohort, 0), session_no(store, cohort, 6)
    cohorts.reschedule(store, world.maya, first.id, first.scheduled_date - dt.timedelta(days=30))
    cohorts.reschedule(store, world.maya, last.id, last.scheduled_date + dt.timedelta(days=30))
    dates = [s.scheduled_date for s in store.sessions(cohort.id)]
    assert dates == sorted(dates)


def test_a_held_session_cannot_move(world):
    store, cohort = world.store, world.create()
    one = session_no(store, cohort, 1)
    sheet = open_sheet(store, world.maya, one.id)
    marks = {m.id: AttendanceMark(status=Mark.PRESENT) for m in sheet.members}
    save_sheet(
        store, world.maya, one.id, marks, set(), "", True, sheet.revision, one.scheduled_date
    )
    with pytest.raises(Conflict):
        cohorts.reschedule(store, world.maya, one.id, one.scheduled_date + dt.timedelta(days=1))
    assert store.session(one.id).scheduled_date == one.scheduled_date


def test_the_programs_lead_may_reschedule_others_may_not(world):
    store, cohort = world.store, world.create()
    world.create(world.sam, name="Sam's group", roster_text="")
    two = session_no(store, cohort, 2)
    later = two.scheduled_date + dt.timedelta(days=1)
    for outsider in (world.sam, world.other_lead):
        with pytest.raises(AccessDenied):
            cohorts.reschedule(store, outsider, two.id, later)
        with pytest.raises(AccessDenied):
            cohorts.cancel_session(store, outsider, two.id)
    cohorts.reschedule(store, world.lead, two.id, later)
    assert store.session(two.id).scheduled_date == later


def test_cancel_and_restore(world):
    store, cohort = world.store, world.create()
    three = session_no(store, cohort, 3)
    cohorts.cancel_session(store, world.maya, three.id)
    assert store.session(three.id).status == SessionStatus.CANCELLED
    with pytest.raises(Conflict):
        cohorts.cancel_session(store, world.maya, three.id)
    cohorts.restore_session(store, world.maya, three.id)
    assert store.session(three.id).status == SessionStatus.PLANNED
    with pytest.raises(Conflict):
        cohorts.restore_session(store, world.maya, three.id)
    actions = [e.action for e in store.audit_events()]
    assert "mark session cancelled" in actions and "mark session planned" in actions


def test_a_cancelled_session_does_not_bound_its_neighbours(world):
    store, cohort = world.store, world.create()
    two, three = session_no(store, cohort, 2), session_no(store, cohort, 3)
    cohorts.cancel_session(store, world.maya, three.id)
    cohorts.reschedule(store, world.maya, two.id, three.scheduled_date + dt.timedelta(days=1))
    assert store.session(two.id).scheduled_date == three.scheduled_date + dt.timedelta(days=1)


def test_restoring_a_session_never_leaves_the_schedule_out_of_order(world):
    store, cohort = world.store, world.create()
    two, three = session_no(store, cohort, 2), session_no(store, cohort, 3)
    cohorts.cancel_session(store, world.maya, three.id)
    cohorts.reschedule(store, world.maya, two.id, three.scheduled_date + dt.timedelta(days=1))
    try:
        cohorts.restore_session(store, world.maya, three.id)
    except (InvalidInput, Conflict):
        return  # refusing is one acceptable answer
    live = [s for s in store.sessions(cohort.id) if s.status != SessionStatus.CANCELLED]
    dates = [s.scheduled_date for s in live]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)


def test_a_held_session_cannot_be_cancelled(world):
    store, cohort = world.store, world.create()
    one = session_no(store, cohort, 1)
    sheet = open_sheet(store, world.maya, one.id)
    marks = {m.id: AttendanceMark(status=Mark.PRESENT) for m in sheet.members}
    save_sheet(
        store, world.maya, one.id, marks, set(), "", True, sheet.revision, one.scheduled_date
    )
    with pytest.raises(Conflict):
        cohorts.cancel_session(store, world.maya, one.id)
    assert store.session(one.id).status == SessionStatus.HELD


# --------------------------------------------------------------------------- facilitators


def test_assign_facilitators(world):
    store, cohort = world.store, world.create()
    cohorts.assign_facilitators(store, world.lead, cohort.id, [world.sam.id, world.maya.id])
    assert sorted(store.cohort_facilitator_ids(cohort.id)) == sorted([world.maya.id, world.sam.id])
    cohorts.assign_facilitators(store, world.admin, cohort.id, [world.sam.id])
    assert store.cohort_facilitator_ids(cohort.id) == [world.sam.id]
    assert "assign facilitators" in [e.action for e in store.audit_events()]


@pytest.mark.parametrize("who", ["lead", "admin", "nobody"])
def test_assign_facilitators_refuses_non_facilitators_and_an_empty_list(world, who):
    store, cohort = world.store, world.create()
    ids = [] if who == "nobody" else [world.maya.id, getattr(world, who).id]
    with pytest.raises(InvalidInput):
        cohorts.assign_facilitators(store, world.lead, cohort.id, ids)
    assert store.cohort_facilitator_ids(cohort.id) == [world.maya.id]


def test_assign_facilitators_refuses_an_inactive_facilitator(world):
    store, cohort = world.store, world.create()
    cur = store.cursor()
    try:
        cur.execute("UPDATE staff_users SET active = false WHERE id = ?", [world.sam.id])
    finally:
        cur.close()
    with pytest.raises(InvalidInput):
        cohorts.assign_facilitators(store, world.maya, cohort.id, [world.sam.id])
    assert cohorts.facilitators(store) == [store.staff_user(world.maya.id)]


def test_assign_facilitators_by_an_outsider_is_refused(world):
    store, cohort = world.store, world.create()
    for outsider in (world.sam, world.other_lead):
        with pytest.raises(AccessDenied):
            cohorts.assign_facilitators(store, outsider, cohort.id, [outsider.id])
    assert store.cohort_facilitator_ids(cohort.id) == [world.maya.id]


# --------------------------------------------------------------------------- overview


@pytest.fixture
def three_cohorts(world):  # type: ignore[no-untyped-def]
    mine = world.create(name="Maya's group", roster_text="Zebedee-Secret\nAna\n")
    sams = world.create(world.sam, name="Sam's group", roster_text="Other-Secret\n")
    elsewhere = world.create(
        world.sam, name="Elsewhere", program_id=world.other_program.id, roster_text="Far-Secret\n"
    )
    return mine, sams, elsewhere


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("maya", {"Maya's group"}),
        ("sam", {"Sam's group", "Elsewhere"}),
        ("lead", {"Maya's group", "Sam's group"}),
        ("other_lead", {"Elsewhere"}),
        ("admin", {"Maya's group", "Sam's group", "Elsewhere"}),
    ],
)
def test_overview_shows_only_the_cohorts_each_role_may_see(world, three_cohorts, who, expected):
    seen = cohorts.overview(world.store, getattr(world, who))
    assert {o.cohort.name for o in seen} == expected


def test_overview_counts_and_who_runs_it(world, three_cohorts):
    mine = three_cohorts[0]
    one = session_no(world.store, mine, 1)
    sheet = open_sheet(world.store, world.maya, one.id)
    marks = {m.id: AttendanceMark(status=Mark.PRESENT) for m in sheet.members}
    save_sheet(
        world.store, world.maya, one.id, marks, set(), "", True, sheet.revision, one.scheduled_date
    )
    cohorts.cancel_session(world.store, world.maya, session_no(world.store, mine, 6).id)
    (row,) = [o for o in cohorts.overview(world.store, world.maya) if o.cohort.id == mine.id]
    assert row.program == "Community pain collective"
    assert row.sessions_held == 1 and row.sessions_total == 6
    assert row.next_session is not None and row.next_session.number == 0
    assert row.enrolled == 2 and row.runs_it
    (lead_row,) = [o for o in cohorts.overview(world.store, world.lead) if o.cohort.id == mine.id]
    assert not lead_row.runs_it


def test_overview_asks_the_store_once_not_once_per_cohort(world, three_cohorts, monkeypatch):
    """An admin sees every cohort: per-cohort queries would make the page slow at thousands."""
    expected = {
        (o.cohort.id, o.sessions_held, o.enrolled)
        for o in cohorts.overview(world.store, world.admin)
    }

    def per_cohort(*args: object) -> None:
        raise AssertionError("a query per cohort")

    for name in ("sessions", "enrolled_count", "cohort_facilitator_ids"):
        monkeypatch.setattr(world.store, name, per_cohort)
    rows = cohorts.overview(world.store, world.admin)
    assert len(rows) == len(three_cohorts)
    assert {(o.cohort.id, o.sessions_held, o.enrolled) for o in rows} == expected


def test_overview_has_no_name_fields_and_holds_no_roster_name(world, three_cohorts):
    fields = {f.name for f in dataclasses.fields(cohorts.CohortOverview)}
    assert fields == {
        "cohort",
        "program",
        "curriculum",
        "sessions_held",
        "sessions_total",
        "next_session",
        "enrolled",
        "runs_it",
    }
    assert set(Cohort.model_fields) == {
        "id",
        "program_id",
        "curriculum_version_id",
        "name",
        "start_date",
        "status",
    }
    for viewer in (world.admin, world.lead, world.maya, world.sam):
        shown = repr(cohorts.overview(world.store, viewer))
        for secret in ("Zebedee-Secret", "Other-Secret", "Far-Secret"):
            assert secret not in shown
