"""Every page × every staff role (AppTest): allowed pages render, refused ones show only a refusal,
and roster names never reach anyone but the cohort's own facilitators.

The guest case of every page is in test_pages_smoke.py; here only what it does not cover.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import ui
from program import auth, cohorts, pulse, session_runner
from program.models import (
    Actor,
    AttendanceMark,
    Cohort,
    Mark,
    Role,
    SessionStatus,
    StaffUser,
)
from program.settings import get_settings
from program.staff import create_user
from program.store import Store
from tests.factories.pages import app_test
from tests.factories.paths import ROOT
from tests.factories.stores import load_bundled

SECRET = "Zebedee-Secret"
OTHER_SECRET = "Yolanda-Other"
REFUSAL = "not part of your role"
PAGE_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))
ALL_PAGES = ["home.py", *PAGE_FILES]
TITLES = {
    "pages/cohort_dashboard.py": "Cohort results",
    "pages/program_dashboard.py": "Program dashboard",
    "pages/cohorts.py": "Cohorts",
    "pages/session.py": "Run a session",
    "pages/curricula.py": "Curriculum library",
    "pages/admin.py": "Admin",
    "pages/audit.py": "Audit log",
}
# The mirror is drawn as one block of its own markup (for the projector): its heading is there.
HEADINGS = {"pages/mirror.py": "How the group is doing"}
ROLES = {link.path: link.roles for link in ui.PAGES}


@dataclass
class Seeded:
    store: Store
    admin: StaffUser
    lead: StaffUser
    maya: StaffUser  # facilitator A, runs "Group A" whose roster holds SECRET
    sam: StaffUser  # facilitator B, runs "Group B" only
    group_a: Cohort
    group_b: Cohort

    def as_role(self, role: Role) -> StaffUser:
        return {Role.ADMIN: self.admin, Role.LEAD: self.lead, Role.FACILITATOR: self.maya}[role]


@pytest.fixture
def seeded(store: Store) -> Seeded:
    system = Actor.system()
    version = load_bundled(store)
    program = store.create_program(system, "Community pain collective")

    def staff(username: str, role: Role) -> StaffUser:
        return create_user(store, system, username, f"{username.title()} Person", role, None)

    admin, lead = staff("admin", Role.ADMIN), staff("lead", Role.LEAD)
    maya, sam = staff("maya", Role.FACILITATOR), staff("sam", Role.FACILITATOR)
    store.add_program_lead(system, program.id, lead.id)
    for facilitator in (maya, sam):
        store.add_program_facilitator(system, program.id, facilitator.id)
    today = dt.date.today()

    def cohort(viewer: StaffUser, name: str, roster: str) -> Cohort:
        # Starting today on today's weekday without orientation: session 1 is today.
        return cohorts.create_cohort(
            store, viewer, program.id, version.id, name, today, today.weekday(), False, [], roster
        )

    return Seeded(
        store=store,
        admin=admin,
        lead=lead,
        maya=maya,
        sam=sam,
        group_a=cohort(maya, "Group A", f"{SECRET}\nAna\nBen\n"),
        group_b=cohort(sam, "Group B", f"{OTHER_SECRET}\n"),
    )


def opened(path: str, store: Store, user: StaffUser | None) -> Any:
    at = app_test(path, store, user)
    at.run()
    return at


def nodes(at: Any) -> Iterator[Any]:
    stack = [at._tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(getattr(node, "children", {}).values())


def rendered_bytes(at: Any) -> bytes:
    """Everything the page sent to the browser: every element's message, dataframes included."""
    return b"".join(
        n.proto.SerializeToString() for n in nodes(at) if getattr(n, "proto", None) is not None
    )


def refusals(at: Any) -> list[str]:
    return [w.value for w in at.warning if REFUSAL in w.value]


def allowed(path: str, role: Role) -> bool:
    return role in ROLES[path]


def button(at: Any, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


# --------------------------------------------------------------------------- the page × role matrix


def test_every_page_is_covered():
    assert set(PAGE_FILES) <= set(ROLES)
    assert set(TITLES) | set(HEADINGS) | {"home.py"} == set(ALL_PAGES)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("path", ALL_PAGES)
def test_each_role_sees_its_pages_and_only_a_refusal_elsewhere(seeded, path, role):
    viewer = seeded.as_role(role)
    at = opened(path, seeded.store, viewer)
    titles = [t.value for t in at.title]
    assert "Sign in" not in titles
    if not allowed(path, role):
        assert not at.exception
        assert len(refusals(at)) == 1
        # Nothing of the page itself: the refusal is the only thing in the main area.
        assert [type(n).__name__ for n in at.main.children.values()] == ["Warning"]
        assert titles == []
        return
    assert refusals(at) == []
    assert not at.exception, at.exception
    if path in HEADINGS:
        drawn = [m.value for m in at.markdown] + [h.proto.body for h in at.get("html")]
        assert any(HEADINGS[path] in text for text in drawn), drawn
        return
    expected = f"Welcome, {viewer.display_name}" if path == "home.py" else TITLES[path]
    assert expected in titles


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_sidebar_lists_exactly_the_roles_pages(seeded, role):
    viewer = seeded.as_role(role)
    at = opened("home.py", seeded.store, viewer)
    links = [e.proto.label for e in at.sidebar.children.values() if type(e).__name__ == "PageLink"]
    assert links == [link.label for link in ui.PAGES if role in link.roles]
    assert viewer.display_name in [m.value.split("**")[1] for m in at.sidebar.markdown[:1]]


# --------------------------------------------------------------------------- guests (beyond the smoke test)


def signin_only(at: Any) -> bool:
    return (
        not at.exception
        and [t.value for t in at.title] == ["Sign in"]
        and not any(type(e).__name__ == "PageLink" and "cohorts" in e.proto.page for e in nodes(at))
        and SECRET.encode() not in rendered_bytes(at)
    )


def test_a_signed_out_token_shows_the_signin_screen(seeded):
    at = app_test("pages/cohorts.py", seeded.store)
    token = auth.start_signin(seeded.store, seeded.maya)
    auth.sign_out(seeded.store, seeded.maya, token)
    at.session_state[ui.TOKEN_KEY] = token
    at.run()
    assert signin_only(at)
    assert ui.TOKEN_KEY not in at.session_state


def test_a_made_up_token_shows_the_signin_screen(seeded):
    at = app_test("pages/session.py", seeded.store)
    at.session_state[ui.TOKEN_KEY] = "made-up-token"
    at.run()
    assert signin_only(at)


def test_a_deactivated_account_is_signed_out_on_the_next_page(seeded):
    at = opened("pages/cohorts.py", seeded.store, seeded.maya)
    assert [t.value for t in at.title] == ["Cohorts"]
    cur = seeded.store.cursor()
    try:
        cur.execute("UPDATE staff_users SET active = false WHERE id = ?", [seeded.maya.id])
    finally:
        cur.close()
    at.run()
    assert signin_only(at)


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_a_guest_may_open_the_participant_pulse_and_sees_no_roster_name(seeded, monkeypatch):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    import routes

    session = seeded.store.sessions(seeded.group_a.id)[0]
    window = pulse.open_pulse(
        seeded.store, get_settings(), seeded.maya, session.id, dt.datetime.now()
    )
    monkeypatch.setattr(ui, "store", lambda: seeded.store)
    with TestClient(Starlette(routes=routes.ROUTES)) as http:
        page = http.get("/pulse", params={"code": window.room_code})
    assert page.status_code == 200 and 'type="radio"' in page.text
    assert "Sign in" not in page.text
    assert SECRET not in page.text and "Zebedee" not in page.text


# --------------------------------------------------------------------------- roster names stay with their facilitators


def test_facilitator_a_sees_the_roster_on_cohorts_and_session_pages(seeded):
    # The control for the tests below: the same collector does find the name where it belongs.
    for path in ("pages/cohorts.py", "pages/session.py"):
        at = opened(path, seeded.store, seeded.maya)
        assert not at.exception
        assert SECRET.encode() in rendered_bytes(at), path
        assert OTHER_SECRET.encode() not in rendered_bytes(at), path


@pytest.mark.parametrize("who", ["sam", "lead", "admin"])
def test_no_one_else_ever_sees_a_roster_name(seeded, who):
    viewer = getattr(seeded, who)
    pages = [p for p in ALL_PAGES if viewer.role in ROLES[p]]
    assert "pages/cohorts.py" in pages
    for path in pages:
        at = opened(path, seeded.store, viewer)
        assert SECRET.encode() not in rendered_bytes(at), path
        assert "Zebedee" not in repr(at), path


def test_facilitator_b_opening_cohorts_and_session_sees_only_group_b(seeded):
    at = opened("pages/cohorts.py", seeded.store, seeded.sam)
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame["Cohort"]) == ["Group B"]
    assert [o for o in at.selectbox(key="cohort").options] == [
        "Group B (Community pain collective)"
    ]
    assert "Roster" in [t.label for t in at.tabs]

    at = opened("pages/session.py", seeded.store, seeded.sam)
    assert not at.exception
    assert at.selectbox(key="run_cohort").options == ["Group B"]
    assert SECRET.encode() not in rendered_bytes(at)
    assert OTHER_SECRET.encode() in rendered_bytes(at)


def test_a_link_naming_another_facilitators_cohort_opens_only_his_own(seeded):
    """Home's card links pass ?cohort=…&session=…; a made-up one changes nothing."""
    group_a_session = seeded.store.sessions(seeded.group_a.id)[0]
    at = app_test("pages/session.py", seeded.store, seeded.sam)
    at.query_params["cohort"] = str(seeded.group_a.id)
    at.query_params["session"] = str(group_a_session.id)
    at.run()
    assert not at.exception
    assert at.selectbox(key="run_cohort").value.name == "Group B"
    assert SECRET.encode() not in rendered_bytes(at)


def test_a_link_opens_the_named_cohort_and_session(seeded):
    store, maya = seeded.store, seeded.maya
    later = cohorts.create_cohort(
        store,
        maya,
        seeded.group_a.program_id,
        seeded.group_a.curriculum_version_id,
        "Group C",
        dt.date.today(),
        dt.date.today().weekday(),
        False,
        [],
        "Cleo\n",
    )
    third = store.sessions(later.id)[2]
    at = app_test("pages/session.py", store, maya)
    at.query_params["cohort"] = str(later.id)
    at.query_params["session"] = str(third.id)
    at.run()
    assert not at.exception
    assert at.selectbox(key="run_cohort").value.name == "Group C"
    assert at.selectbox(key=f"run_session_{later.id}").value == third.id
    # Read once: choosing another cohort afterwards is not undone by the link.
    at.selectbox(key="run_cohort").select(seeded.group_a).run()
    assert at.selectbox(key="run_cohort").value.name == "Group A"


@pytest.mark.parametrize("who", ["lead", "admin"])
def test_leads_and_admins_get_no_roster_tab(seeded, who):
    at = opened("pages/cohorts.py", seeded.store, getattr(seeded, who))
    assert not at.exception
    assert sorted(at.dataframe[0].value["Cohort"]) == ["Group A", "Group B"]
    assert [t.label for t in at.tabs] == ["Schedule", "Facilitators"]
    assert not any(b.label == "Add to roster" for b in at.button)


# --------------------------------------------------------------------------- running today's session


def test_every_mark_is_saved_as_it_is_made_and_nothing_is_lost_by_leaving(seeded):
    store = seeded.store
    session_one = next(s for s in store.sessions(seeded.group_a.id) if s.number == 1)
    assert session_one.scheduled_date == dt.date.today()

    at = opened("pages/session.py", store, seeded.maya)
    assert not at.exception, at.exception
    assert at.selectbox(key="run_cohort").value.id == seeded.group_a.id
    chosen = at.selectbox(key=f"run_session_{seeded.group_a.id}").value
    assert store.session(chosen).number == 1
    assert not any(b.label in ("Save", "Save and mark held") for b in at.button)

    # A tick and a mark are stored the moment they are made, with no Save button.
    at.checkbox(key=f"fid_{chosen}_0").check().run()
    assert not at.exception, at.exception
    assert store.fidelity(chosen)[0] is True
    first = store.roster(seeded.group_a.id)[0]
    at.radio(key=f"att_{chosen}_{first.id}").set_value(Mark.ABSENT.value).run()
    assert store.attendance_marks(chosen) == {first.id: AttendanceMark(status=Mark.ABSENT)}
    assert any("Saved at" in c.value for c in at.caption)
    at.text_area(key=f"notes_{chosen}").input("Room was cold.").run()
    assert store.session(chosen).notes == "Room was cold."

    # "Everyone is here" marks the others; the mark made already stays.
    button(at, "Everyone is here").click()
    at.run()
    assert not at.exception, at.exception
    assert any("**2 present**" in m.value for m in at.markdown)

    # Leave and come back (a new browser session): everything is there.
    again = opened("pages/session.py", store, seeded.maya)
    assert again.checkbox(key=f"fid_{chosen}_0").value is True
    assert again.radio(key=f"att_{chosen}_{first.id}").value == Mark.ABSENT.value
    assert again.text_area(key=f"notes_{chosen}").value == "Room was cold."

    # A mark someone else made since shows up on the next run of the first page.
    session_runner.mark_attendance(
        store, seeded.maya, chosen, {first.id: AttendanceMark(status=Mark.PRESENT, late=True)}
    )
    at.run()
    assert at.radio(key=f"att_{chosen}_{first.id}").value == Mark.PRESENT.value
    assert at.checkbox(key=f"late_{chosen}_{first.id}").value is True

    button(at, "Mark this session held").click()
    at.run()
    assert not at.exception, at.exception
    assert "Session marked held." in [t.value for t in at.toast]
    assert store.session(session_one.id).status == SessionStatus.HELD
    assert not any(b.label == "Mark this session held" for b in at.button)


def test_notes_saved_by_someone_else_meanwhile_are_shown_to_merge_not_overwritten(seeded):
    store = seeded.store
    at = opened("pages/session.py", store, seeded.maya)
    chosen = at.selectbox(key=f"run_session_{seeded.group_a.id}").value
    session_runner.save_notes(store, seeded.maya, chosen, "Theirs.", seen="")
    at.text_area(key=f"notes_{chosen}").input("Mine.").run()
    assert not at.exception, at.exception
    assert store.session(chosen).notes == "Theirs."  # not overwritten
    assert any("Someone else saved these notes" in w.value for w in at.warning)
    assert at.text_area(key=f"notes_{chosen}").value == "Mine."  # and nothing typed is lost
    at.text_area(key=f"notes_{chosen}").input("Theirs. Mine.").run()
    assert store.session(chosen).notes == "Theirs. Mine."
    assert not any("Someone else saved" in w.value for w in at.warning)


def test_a_session_planned_for_later_offers_we_met_today_instead(seeded):
    store, maya = seeded.store, seeded.maya
    later = cohorts.create_cohort(
        store,
        maya,
        seeded.group_a.program_id,
        seeded.group_a.curriculum_version_id,
        "Group D",
        dt.date.today() + dt.timedelta(days=7),
        (dt.date.today() + dt.timedelta(days=7)).weekday(),
        False,
        [],
        "Dee\nEd\n",
    )
    first = store.sessions(later.id)[0]
    at = app_test("pages/session.py", store, maya)
    at.query_params["cohort"] = str(later.id)
    at.query_params["session"] = str(first.id)
    at.run()
    assert not at.exception, at.exception
    assert not any(b.label == "Mark this session held" for b in at.button)
    assert not any(b.label == "Open the pulse" for b in at.button)
    assert any("If the group met today instead" in i.value for i in at.info)
    at.checkbox(key=f"shift_later_{first.id}").check()
    button(at, "Move this session to today").click()
    at.run()
    assert not at.exception, at.exception
    moved = store.sessions(later.id)
    assert moved[0].scheduled_date == dt.date.today()
    assert moved[1].scheduled_date == dt.date.today() + dt.timedelta(weeks=1)
    assert any(b.label == "Mark this session held" for b in at.button)
    assert any(b.label == "Open the pulse" for b in at.button)


def test_the_sidebar_opens_todays_session_not_a_finished_cohorts_last(seeded):
    """Opened without a link (the sidebar), the runner picks today's session across cohorts."""
    store, maya = seeded.store, seeded.maya
    done = cohorts.create_cohort(
        store,
        maya,
        seeded.group_a.program_id,
        seeded.group_a.curriculum_version_id,
        "A finished group",
        dt.date.today() - dt.timedelta(weeks=10),
        (dt.date.today() - dt.timedelta(weeks=10)).weekday(),
        False,
        [],
        "Fay\n",
    )
    for record in store.sessions(done.id):
        session_runner.mark_everyone_present(store, maya, record.id)
        session_runner.mark_held(store, maya, record.id, record.scheduled_date)
    at = opened("pages/session.py", store, maya)
    assert not at.exception, at.exception
    assert at.selectbox(key="run_cohort").value.id == seeded.group_a.id
    chosen = at.selectbox(key=f"run_session_{seeded.group_a.id}").value
    assert store.session(chosen).scheduled_date == dt.date.today()


def test_home_says_today_and_links_the_cards_own_session(seeded):
    """Seeded cohorts meet today: the card says so, and its link names that cohort's session."""
    at = opened("home.py", seeded.store, seeded.maya)
    assert not at.exception
    assert "Next: session 1 today" in [m.value for m in at.markdown]
    (link,) = [p for p in at.get("page_link") if p.proto.label == "Run session 1"]
    first = seeded.store.sessions(seeded.group_a.id)[0]
    assert link.proto.page == "session"
    assert link.proto.query_string == f"cohort={seeded.group_a.id}&session={first.id}"


def test_cancelling_a_session_asks_once_and_can_be_undone(seeded):
    store = seeded.store
    at = opened("pages/cohorts.py", store, seeded.maya)
    assert not at.exception, at.exception
    two = next(s for s in store.sessions(seeded.group_a.id) if s.number == 2)
    # The new-cohort form names versions by when they were loaded, not by a hash.
    (version,) = store.curriculum_versions()
    (picker,) = [b for b in at.selectbox if b.label.startswith("Curriculum version")]
    assert picker.options == [
        f"{version.title}, version {version.version}, loaded {version.loaded_at:%d %b %Y}"
    ]
    # The Cancel beside the date only asks; the session changes with the answer.
    assert not [b for b in at.button if b.key == f"cancel_{two.id}" and b.label == "Cancel"]
    at.button(key=f"cancel_{two.id}").click().run()
    assert not at.exception, at.exception
    assert store.session(two.id).status == SessionStatus.CANCELLED
    undo = [b for b in at.button if b.label == "Undo"]
    assert len(undo) == 1
    undo[0].click().run()
    assert not at.exception, at.exception
    assert store.session(two.id).status == SessionStatus.PLANNED
    assert "Session restored." in [t.value for t in at.toast]
    assert not [b for b in at.button if b.label == "Undo"]
