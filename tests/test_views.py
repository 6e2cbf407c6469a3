"""The views pages draw (program/views/): each checks the viewer's access before it reads, and
holds the rules the pages used to apply themselves (which sessions a runner offers, how a date
range is read, how completion is worded). On real temporary databases; nothing is mocked."""

from __future__ import annotations

import datetime as dt

import pytest

from program import auth, printing, pulse
from program.errors import AccessDenied
from program.models import Role, SessionStatus
from program.store import Store
from program.views import cache_key, curricula, home, program_dashboard, projector, session
from program.views import cohorts as cohort_views
from program.views.printing import printed_guide
from tests.factories import pulses
from tests.factories.pulses import Group, staff

# One pulse-ready database per process, copied for each test (tests/factories/pulses.py).
template = pulses.template
store = pulses.store
group = pulses.group


def test_a_facilitator_manages_only_their_cohorts_and_sees_only_their_rosters(
    store: Store, group: Group
) -> None:
    mine = cohort_views.manage(store, group.facilitator, group.cohort_id)
    assert mine.roster is not None and len(mine.roster) == 8
    assert group.facilitator.id in mine.current
    other = staff(store, "omar", Role.FACILITATOR)
    with pytest.raises(AccessDenied):
        cohort_views.manage(store, other, group.cohort_id)
    admin = staff(store, "ada", Role.ADMIN)
    # An admin manages the schedule and facilitators, but never sees roster names.
    assert cohort_views.manage(store, admin, group.cohort_id).roster is None
    page = cohort_views.cohorts_view(store, other)
    assert not page.overview and not page.programs and page.asks_roster


def test_the_runner_offers_live_sessions_to_the_cohorts_facilitators_only(
    store: Store, group: Group
) -> None:
    today = dt.date.today()
    choice = session.session_choice(store, group.facilitator, group.cohort_id, today)
    assert all(s.status != SessionStatus.CANCELLED for s in choice.sessions.values())
    first = next(iter(choice.sessions))
    assert choice.linked(str(first)).id == first
    assert choice.linked("not a session") == choice.default
    lead = staff(store, "lena", Role.LEAD)
    with pytest.raises(AccessDenied):
        session.session_choice(store, lead, group.cohort_id, today)


def test_the_dashboard_is_for_the_programs_leads_and_admins(store: Store, group: Group) -> None:
    with pytest.raises(AccessDenied):
        program_dashboard.choices(store, group.facilitator)
    lead = staff(store, "lena", Role.LEAD)
    assert program_dashboard.choices(store, lead).programs == ()
    with pytest.raises(AccessDenied):
        program_dashboard.scope(store, lead, group.program_id)
    with pytest.raises(AccessDenied):
        program_dashboard.record_export(store, lead, "program headline csv", group.program_id)
    admin = staff(store, "ada", Role.ADMIN)
    scope = program_dashboard.scope(store, admin, group.program_id)
    assert scope.cohort_count == 1 and len(scope.versions) == 1
    shown = program_dashboard.figures(store, admin, scope.selection(None, ()))
    assert shown.results.cohort_count == 1
    assert shown.completion_rule.startswith("attended at least ")


def test_a_date_range_reaching_past_the_programs_cohorts_is_no_limit(
    store: Store, group: Group
) -> None:
    admin = staff(store, "ada", Role.ADMIN)
    scope = program_dashboard.scope(store, admin, group.program_id)
    first, last = scope.first_start, scope.last_start
    assert first is not None and last is not None
    day = dt.timedelta(days=1)
    whole = scope.selection(None, (first - day, last + day))
    assert (whole.started_from, whole.started_to) == (None, None)
    # While a range is being picked the widget holds one date: from that date on.
    picking = scope.selection(None, (first + day,))
    assert (picking.started_from, picking.started_to) == (first + day, None)
    assert scope.curriculum_words(None) == program_dashboard.ALL_VERSIONS


def test_home_counts_what_the_viewer_may_see(store: Store, group: Group) -> None:
    today = dt.date.today()
    mine = home.home(store, group.facilitator, today)
    (card,) = mine.cards
    assert card.cohort.id == group.cohort_id and card.total >= card.held
    assert home.home(store, staff(store, "ada", Role.ADMIN), today).programs >= 1
    assert home.when(today, today) == "today"
    assert home.when(today + dt.timedelta(days=1), today) == "tomorrow"
    assert "not yet marked held" in home.when(today - dt.timedelta(days=1), today)


def test_the_library_is_for_staff_and_names_only_visible_cohorts(
    store: Store, group: Group
) -> None:
    other = staff(store, "omar", Role.FACILITATOR)
    (entry,) = curricula.versions(store, other)
    assert entry.cohorts == ["1 other cohort"]
    name, text = curricula.source(store, other, entry.version.id)
    assert name and text
    assert curricula.curriculum(store, other, entry.version.id).curriculum.sessions


def test_a_printed_guide_opens_only_with_its_key(store: Store, group: Group) -> None:
    version = store.cohort(group.cohort_id).curriculum_version_id
    secret = b"s" * 32
    key = printing.guide_key(secret, version, 1, group.cohort_id)
    html = printed_guide(store, secret, version, 1, group.cohort_id, key)
    assert html is not None and "C" in html
    assert printed_guide(store, secret, version, 1, group.cohort_id, key[:-1] + "x") is None
    assert printed_guide(store, secret, version, 1, None, key) is None


def test_the_projector_refuses_a_wrong_key_and_other_staff(store: Store, group: Group) -> None:
    now = dt.datetime.now()
    group.open(at=now)
    base = "http://example.org"
    secret = auth.session_secret(group.settings)
    window = store.pulse_window(group.session_id)
    assert window is not None
    key = pulse.projector_key(secret, window)
    assert projector.by_key(store, secret, group.session_id, key, base, now).state == "open"
    assert projector.by_key(store, secret, group.session_id, "x", base, now) == projector.REFUSED
    other = staff(store, "omar", Role.FACILITATOR)
    assert projector.for_staff(store, other, group.session_id, base, now) == projector.REFUSED
    mine = projector.for_staff(store, group.facilitator, group.session_id, base, now)
    assert mine.state == "open" and mine.code == pulse.format_code(window.room_code or "")


def test_the_cache_key_moves_with_every_audited_change(store: Store, group: Group) -> None:
    before = cache_key(store)
    group.open(at=dt.datetime.now())
    after = cache_key(store)
    assert after.database == before.database and after.data_version > before.data_version
