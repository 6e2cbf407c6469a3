"""Program membership of facilitators: a facilitator creates cohorts only in programs they belong to.

Without it any facilitator could create cohorts in any program, and made-up cohorts would pool
into that program's dashboard. Admins add and remove members (audited); a lead or admin who puts
a facilitator on a cohort adds them to its program; migration 0006 makes everyone who already
facilitates a cohort of a program a member of it.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from program import access, cohorts, programs
from program.errors import AccessDenied, Conflict, InvalidInput, NotFound
from program.models import Actor, CurriculumVersion, Program, Role, StaffUser
from program.staff import deactivate_staff
from program.store import Store
from tests.factories.pages import app_test
from tests.factories.stores import load_bundled

SYSTEM = Actor.system()
MONDAY = dt.date(2026, 3, 2)


@dataclass
class World:
    store: Store
    version: CurriculumVersion
    home: Program  # Maya belongs here
    foreign: Program  # and not here
    admin: StaffUser
    lead: StaffUser
    maya: StaffUser
    sam: StaffUser

    def create(self, viewer: StaffUser, program: Program, name: str = "Tuesday", **kw: Any):  # type: ignore[no-untyped-def]
        args: dict[str, Any] = {
            "start": MONDAY,
            "weekday": 0,
            "include_orientation": False,
            "facilitator_ids": [],
            "roster_text": "",
        }
        args.update(kw)
        return cohorts.create_cohort(self.store, viewer, program.id, self.version.id, name, **args)


def staff(store: Store, username: str, role: Role) -> StaffUser:
    return store.create_staff_user(SYSTEM, username, username.title(), role, None)


@pytest.fixture
def world(store: Store) -> World:
    version = load_bundled(store)
    home = store.create_program(SYSTEM, "Northside")
    foreign = store.create_program(SYSTEM, "Riverside")
    w = World(
        store=store,
        version=version,
        home=home,
        foreign=foreign,
        admin=staff(store, "admin", Role.ADMIN),
        lead=staff(store, "lead", Role.LEAD),
        maya=staff(store, "maya", Role.FACILITATOR),
        sam=staff(store, "sam", Role.FACILITATOR),
    )
    store.add_program_lead(SYSTEM, foreign.id, w.lead.id)
    programs.add_program_facilitator(store, w.admin, home.id, w.maya.id)
    return w


def cohort_names(store: Store, program: Program) -> list[str]:
    return [c.name for c in store.cohorts(program.id)]


# --------------------------------------------------------------------------- creating cohorts


def test_a_facilitator_creates_cohorts_in_their_own_program(world: World) -> None:
    made = world.create(world.maya, world.home)
    assert made.program_id == world.home.id
    assert world.store.cohort_facilitator_ids(made.id) == [world.maya.id]


def test_a_facilitator_cannot_create_a_cohort_in_a_foreign_program(world: World) -> None:
    with pytest.raises(AccessDenied) as refused:
        world.create(world.maya, world.foreign, roster_text="Ana\nBen\n")
    message = str(refused.value)
    assert "You do not belong to the program 'Riverside'" in message
    assert "Ask an admin to add you" in message
    assert cohort_names(world.store, world.foreign) == []
    assert world.store.row_counts()["cohorts"] == 0


def test_after_an_admin_adds_them_it_works_and_after_removal_it_does_not(world: World) -> None:
    store = world.store
    with pytest.raises(AccessDenied):
        world.create(world.sam, world.home)
    programs.add_program_facilitator(store, world.admin, world.home.id, world.sam.id)
    assert [
        u.username for u in programs.program_facilitators(store, world.admin, world.home.id)
    ] == [
        "maya",
        "sam",
    ]
    kept = world.create(world.sam, world.home, "Sam's group")
    assert cohort_names(store, world.home) == ["Sam's group"]

    programs.remove_program_facilitator(store, world.admin, world.home.id, world.sam.id)
    with pytest.raises(AccessDenied):
        world.create(world.sam, world.home, "Another")
    # The cohort Sam already runs stays his.
    assert store.cohort_facilitator_ids(kept.id) == [world.sam.id]
    actions = [(e.action, e.object_type, str(e.object_id), e.detail) for e in store.audit_events()]
    home, sam = str(world.home.id), f"user={world.sam.id}"
    assert ("add program facilitator", "program", home, sam) in actions
    assert ("remove program facilitator", "program", home, sam) in actions


def test_only_an_admin_manages_membership_and_only_of_active_facilitators(world: World) -> None:
    store = world.store
    for outsider in (world.lead, world.maya):
        with pytest.raises(AccessDenied):
            programs.add_program_facilitator(store, outsider, world.home.id, world.sam.id)
        with pytest.raises(AccessDenied):
            programs.remove_program_facilitator(store, outsider, world.home.id, world.maya.id)
        with pytest.raises(AccessDenied):
            programs.program_facilitators(store, outsider, world.home.id)
    with pytest.raises(InvalidInput):
        programs.add_program_facilitator(store, world.admin, world.home.id, world.lead.id)
    with pytest.raises(Conflict):
        programs.add_program_facilitator(store, world.admin, world.home.id, world.maya.id)
    with pytest.raises(NotFound):
        programs.remove_program_facilitator(store, world.admin, world.home.id, world.sam.id)
    deactivate_staff(store, world.admin, world.sam.id)
    with pytest.raises(Conflict):
        programs.add_program_facilitator(store, world.admin, world.home.id, world.sam.id)
    assert store.program_facilitator_ids(world.home.id) == [world.maya.id]


def test_facilitators_see_only_their_programs(world: World) -> None:
    store = world.store
    assert [p.name for p in access.visible_programs(store, world.maya)] == ["Northside"]
    assert access.visible_programs(store, world.sam) == []
    assert [p.name for p in access.visible_programs(store, world.admin)] == [
        "Northside",
        "Riverside",
    ]
    assert [p.name for p in access.visible_programs(store, world.lead)] == ["Riverside"]


# --------------------------------------------------------------------------- putting people on cohorts


def test_a_lead_putting_a_facilitator_on_a_cohort_adds_them_to_the_program(world: World) -> None:
    store = world.store
    made = world.create(world.lead, world.foreign, facilitator_ids=[world.sam.id])
    assert store.program_facilitator_ids(world.foreign.id) == [world.sam.id]
    cohorts.assign_facilitators(store, world.lead, made.id, [world.sam.id, world.maya.id])
    assert store.program_facilitator_ids(world.foreign.id) == sorted([world.sam.id, world.maya.id])
    # Now both may create cohorts there.
    world.create(world.maya, world.foreign, "Maya's Riverside group")


def test_a_facilitator_cannot_bring_someone_into_their_program(world: World) -> None:
    store = world.store
    with pytest.raises(AccessDenied, match="Sam does not belong to the program 'Northside'"):
        world.create(world.maya, world.home, facilitator_ids=[world.sam.id])
    made = world.create(world.maya, world.home)
    with pytest.raises(AccessDenied, match="Ask an admin"):
        cohorts.assign_facilitators(store, world.maya, made.id, [world.maya.id, world.sam.id])
    assert store.cohort_facilitator_ids(made.id) == [world.maya.id]
    assert store.program_facilitator_ids(world.home.id) == [world.maya.id]


def test_saving_a_cohorts_list_does_not_bring_a_removed_member_back(world: World) -> None:
    store = world.store
    made = world.create(world.maya, world.home)
    programs.remove_program_facilitator(store, world.admin, world.home.id, world.maya.id)
    cohorts.assign_facilitators(store, world.maya, made.id, [world.maya.id])
    assert store.program_facilitator_ids(world.home.id) == []


# --------------------------------------------------------------------------- the migration


def store_module() -> Any:
    return sys.modules[Store.migrate.__module__]


def test_migration_0006_makes_existing_facilitators_members_of_their_programs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = store_module()
    real = module._migrations()
    assert [n for n, _ in real if n.startswith("0006")] == ["0006_program_facilitators"]
    before = [(n, sql) for n, sql in real if n < "0006"]
    path = tmp_path / "old.duckdb"
    monkeypatch.setattr(module, "_migrations", lambda: before)
    old = Store(path)
    try:
        maya = staff(old, "maya", Role.FACILITATOR)
        sam = staff(old, "sam", Role.FACILITATOR)
        kim = staff(old, "kim", Role.FACILITATOR)  # runs nothing, so belongs nowhere
        north = old.create_program(SYSTEM, "Northside")
        river = old.create_program(SYSTEM, "Riverside")
        dates = {1: MONDAY}
        old.create_cohort(SYSTEM, north.id, 1, "A", dates, [maya.id, sam.id], [])
        old.create_cohort(SYSTEM, north.id, 1, "B", dates, [maya.id], [])
        old.create_cohort(SYSTEM, river.id, 1, "C", dates, [sam.id], [])
        assert "program_facilitators" not in old.row_counts()
    finally:
        old.close()

    monkeypatch.setattr(module, "_migrations", lambda: real)
    new = Store(path)
    try:
        assert "0006_program_facilitators" in new.applied_migrations()
        assert new.program_facilitator_ids(north.id) == sorted([maya.id, sam.id])
        assert new.program_facilitator_ids(river.id) == [sam.id]
        assert new.facilitator_program_ids(kim.id) == []
        assert new.row_counts()["program_facilitators"] == 3  # distinct pairs only
    finally:
        new.close()


@pytest.mark.slow
def test_demo_facilitators_belong_to_the_demo_program(store: Store, settings_env: Path) -> None:
    from program.demo import seed_demo
    from program.settings import get_settings

    seed_demo(store, get_settings().curricula)
    (program,) = store.programs()
    members = {store.staff_user(i).username for i in store.program_facilitator_ids(program.id)}
    assert members == {"maya", "sam"}


# --------------------------------------------------------------------------- the Cohorts page


def test_cohorts_page_tells_a_facilitator_without_a_program_to_ask_an_admin(
    world: World,
) -> None:
    at = app_test("pages/cohorts.py", world.store, world.sam).run()
    assert not at.exception
    infos = [i.value for i in at.info]
    assert any("Ask an admin to add you to a program" in text for text in infos), infos
    assert not [s for s in at.selectbox if s.label == "Program"]
    assert not [b for b in at.button if b.label == "Create cohort"]


def test_cohorts_page_offers_a_facilitator_only_their_programs(world: World) -> None:
    at = app_test("pages/cohorts.py", world.store, world.maya).run()
    assert not at.exception
    (program,) = [s for s in at.selectbox if s.label == "Program"]
    assert program.options == ["Northside"]
