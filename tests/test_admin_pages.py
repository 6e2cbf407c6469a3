"""The admin and audit pages in AppTest: who may open them, and what their forms do."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from program import programs
from program.library import load_curriculum
from program.models import Actor, Cohort, Role, ScoredResponse, StaffUser
from program.store import Store
from tests.factories.pages import app_test
from tests.factories.paths import CURRICULA

TABS = ["Staff", "Programs", "Privacy", "Backup", "Delete cohort data"]
REFUSAL = "not part of your role"


def by_label(elements: Any, label: str) -> Any:
    found = [e for e in elements if e.label == label]
    assert len(found) == 1, f"{label!r} among {[e.label for e in elements]}"
    return found[0]


def errors(at: Any) -> str:
    return "\n".join(e.value for e in at.error)


@pytest.fixture
def ada(make_staff: Any) -> StaffUser:
    user: StaffUser = make_staff("ada", Role.ADMIN)
    return user


def opened(
    store: Store, user: StaffUser, tab: str | None = None, page: str = "pages/admin.py"
) -> Any:
    at = app_test(page, store, user)
    if tab is not None:
        at.query_params["tab"] = tab
    at.run()
    assert not at.exception
    return at


# --------------------------------------------------------------------------- who may open it


def test_admin_sees_every_tab(store: Store, ada: StaffUser) -> None:
    at = opened(store, ada)
    assert [t.value for t in at.title] == ["Admin"]
    assert [t.label for t in at.tabs] == TABS
    assert by_label(at.button, "Create account")
    assert not at.warning


@pytest.mark.parametrize("role", [Role.FACILITATOR, Role.LEAD])
@pytest.mark.parametrize("page", ["pages/admin.py", "pages/audit.py"])
def test_facilitators_and_leads_are_refused(
    store: Store, ada: StaffUser, make_staff: Any, role: Role, page: str
) -> None:
    user = make_staff("someone", role)
    at = opened(store, user, page=page)
    assert any(REFUSAL in w.value for w in at.warning)
    assert not at.tabs and not at.title and not at.dataframe
    assert not at.text_input and not at.selectbox


# --------------------------------------------------------------------------- staff


def fill_new_staff(at: Any, username: str, password: str, role: Role = Role.LEAD) -> None:
    by_label(at.text_input, "Username").input(username)
    by_label(at.text_input, "Display name").input(username.title())
    by_label(at.selectbox, "Role").select(role)
    by_label(at.text_input, "Initial password").input(password)


def test_creating_a_staff_member_through_the_form(store: Store, ada: StaffUser) -> None:
    at = opened(store, ada)
    fill_new_staff(at, "noor", "a long enough password")
    by_label(at.button, "Create account").click().run()
    assert not at.exception and not at.error
    user = store.staff_user_by_username("noor")
    assert user is not None and user.role == Role.LEAD and user.display_name == "Noor"
    assert any("Created program lead account noor" in t.value for t in at.toast)
    # The form starts empty again, and the new account is listed.
    assert by_label(at.text_input, "Username").value == ""
    assert "noor" in at.dataframe[0].value["Username"].tolist()


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("noor", "short", "at least 10 characters"),
        ("ada", "a long enough password", "taken"),
        ("no spaces", "a long enough password", "username"),
    ],
)
def test_bad_staff_input_shows_an_error_and_creates_nothing(
    store: Store, ada: StaffUser, username: str, password: str, message: str
) -> None:
    at = opened(store, ada)
    fill_new_staff(at, username, password)
    by_label(at.button, "Create account").click().run()
    assert not at.exception
    assert message in errors(at)
    assert store.count_staff_users() == 1
    # What was typed is still there to correct.
    assert by_label(at.text_input, "Username").value == username
    assert by_label(at.text_input, "Initial password").value == password


def test_an_sso_account_without_email_is_refused_on_the_page(store: Store, ada: StaffUser) -> None:
    at = opened(store, ada)
    fill_new_staff(at, "sso", "")
    by_label(at.button, "Create account").click().run()
    assert "email address" in errors(at)
    by_label(at.text_input, "Email for single sign-on (optional)").input("sso@example.org")
    by_label(at.button, "Create account").click().run()
    assert not at.error
    user = store.staff_user_by_username("sso")
    assert user is not None and user.email == "sso@example.org"
    assert store.password_hash(user.id) is None


def test_the_page_never_shows_password_hashes(store: Store, ada: StaffUser) -> None:
    at = opened(store, ada)
    shown = str([d.value.to_dict() for d in at.dataframe])
    assert "argon2" not in shown and "$" not in shown


def test_an_admin_cannot_deactivate_themselves_on_the_page(store: Store, ada: StaffUser) -> None:
    at = opened(store, ada)
    assert by_label(at.button, "Deactivate ada").disabled


def test_deactivating_someone_through_the_page(
    store: Store, ada: StaffUser, make_staff: Any
) -> None:
    maya = make_staff("maya", Role.FACILITATOR)
    at = opened(store, ada)
    by_label(at.selectbox, "Staff member").select(maya.id).run()
    by_label(at.button, "Deactivate maya").click().run()
    assert not at.exception and not at.error
    assert not store.staff_user(maya.id).active
    assert by_label(at.button, "Reactivate maya")


def test_demoting_the_last_admin_shows_why_not(store: Store, ada: StaffUser) -> None:
    at = opened(store, ada)
    by_label(at.selectbox, "New role").select(Role.LEAD)
    by_label(at.button, "Change role").click().run()
    assert "last active admin" in errors(at)
    assert store.staff_user(ada.id).role == Role.ADMIN


# --------------------------------------------------------------------------- programs and privacy


def test_creating_a_program_through_the_form(store: Store, ada: StaffUser) -> None:
    at = opened(store, ada, "Programs")
    by_label(at.text_input, "Program name").input("Pain collective")
    by_label(at.text_area, "Description").input("City clinics")
    by_label(at.number_input, "Minimum group size (k)").set_value(7)
    by_label(at.button, "Create program").click().run()
    assert not at.exception and not at.error
    [program] = store.programs()
    assert (program.name, program.description, program.min_group_size) == (
        "Pain collective",
        "City clinics",
        7,
    )


def test_privacy_tab_shows_the_lock_and_why(store: Store, ada: StaffUser, make_staff: Any) -> None:
    maya = make_staff("maya", Role.FACILITATOR)
    program = programs.create_program(store, ada, "Pain collective")
    at = opened(store, ada, "Privacy")
    assert any("can change" in i.value for i in at.info)
    assert not by_label(at.number_input, "Minimum group size (k)").disabled

    version, _ = load_curriculum(store, Actor.system(), CURRICULA / "collective-healing.yaml")
    numbers = [s.number for s in store.curriculum_bundle(version.id).curriculum.sessions]
    cohort = store.create_cohort(
        Actor.system(),
        program.id,
        version.id,
        "Tuesday",
        {n: dt.date(2026, 3, 2) + dt.timedelta(weeks=n) for n in numbers},
        [maya.id],
        ["Ana"],
    )
    response = ScoredResponse(answers={("who5", "cheerful"): 3}, scores={"who5": 12.0})
    store.store_closed_pulse(
        Actor.system(), store.sessions(cohort.id)[1].id, dt.datetime(2026, 3, 9, 19), [response]
    )
    at.run()
    assert any("Locked at 5" in w.value and "a pulse has opened" in w.value for w in at.warning)
    assert by_label(at.number_input, "Minimum group size (k)").disabled
    assert by_label(at.button, "Save minimum group size").disabled


def test_backup_tab_offers_the_download_and_the_restore_form(store: Store, ada: StaffUser) -> None:
    at = opened(store, ada, "Backup")
    assert by_label(at.text_input, "Type RESTORE to confirm")
    assert by_label(at.button, "Restore from this backup")
    assert at.get("download_button")


def tuesday_cohort(store: Store, ada: StaffUser, make_staff: Any) -> Cohort:
    """A program with one cohort, "Tuesday", of one session, run by Maya."""
    maya = make_staff("maya", Role.FACILITATOR)
    program = programs.create_program(store, ada, "Pain collective")
    version, _ = load_curriculum(store, Actor.system(), CURRICULA / "collective-healing.yaml")
    return store.create_cohort(
        Actor.system(), program.id, version.id, "Tuesday", {1: dt.date(2026, 3, 2)}, [maya.id], []
    )


def test_delete_cohort_tab_needs_the_exact_name(
    store: Store, ada: StaffUser, make_staff: Any
) -> None:
    cohort = tuesday_cohort(store, ada, make_staff)
    at = opened(store, ada, "Delete cohort data")
    by_label(at.text_input, "Cohort name").input("tuesday")
    by_label(at.button, "Delete this cohort's data").click().run()
    assert "exactly" in errors(at)
    assert store.cohorts() == [store.cohort(cohort.id)]
    by_label(at.text_input, "Cohort name").input("Tuesday")
    by_label(at.button, "Delete this cohort's data").click().run()
    assert not at.exception and not at.error
    assert store.cohorts() == []
    assert any("There are no cohorts" in i.value for i in at.info)


def test_delete_cohort_tab_never_counts_pulse_answers(
    store: Store, ada: StaffUser, make_staff: Any
) -> None:
    cohort = tuesday_cohort(store, ada, make_staff)
    (session,) = store.sessions(cohort.id)
    response = ScoredResponse(answers={("who5", "cheerful"): 3}, scores={"who5": 12.0})
    opened_at = dt.datetime(2026, 3, 2, 19)
    store.store_closed_pulse(Actor.system(), session.id, opened_at, [response] * 3)
    at = opened(store, ada, "Delete cohort data")
    (table,) = at.dataframe
    shown = set(table.value["What is removed"])
    assert {"Sessions", "Facilitator assignments", "Pulse windows"} <= shown
    assert not any("respons" in s.lower() or "answer" in s.lower() for s in shown)
    assert any("not counted here" in c.value for c in at.caption)


# --------------------------------------------------------------------------- audit page


def test_audit_page_lists_events_newest_first_and_filters(store: Store, ada: StaffUser) -> None:
    programs.create_program(store, ada, "One")
    programs.create_program(store, ada, "Two")
    at = opened(store, ada, page="pages/audit.py")
    assert [t.value for t in at.title] == ["Audit log"]
    table = at.dataframe[0].value
    # Newest first: signing in to the test session, then the two programs, then the account.
    assert table["Action"].tolist() == [
        "sign in",
        "create program",
        "create program",
        "create staff user",
    ]
    assert table["Who"].tolist() == ["ada", "ada", "ada", "system"]

    by_label(at.selectbox, "Action").select("create staff user").run()
    table = at.dataframe[0].value
    assert table["Action"].tolist() == ["create staff user"]
    assert any("1 matching event." in c.value for c in at.caption)
