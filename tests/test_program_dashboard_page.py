"""The program dashboard page (AppTest) and its CSV exports (pure functions in program/exports.py):
who may open it, what a lead sees, its empty states, and that no roster name or suppressed cell
reaches the page or a download."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from program import exports
from program.models import Actor, Role
from program.program_results import ProgramResults
from tests.factories.pages import app_test
from tests.factories.program_dashboard import PAGE, SECRET, opened, page_text, populated
from tests.factories.programs import (
    add_cohort,
    closed_pulse,
    make_world,
    results,
    roster,
    second_version,
)

METRICS = ["Running", "Finished", "Scheduled", "Enrolled", "Attendance", "Completion"]


def charts(at):  # type: ignore[no-untyped-def]
    return at.get("vega_lite_chart")


def captions(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.value for c in at.caption]


# --------------------------------------------------------------------------- who may open it


def test_a_lead_sees_sentences_charts_and_the_groups_side_by_side(store, make_staff):
    world = populated(store, make_staff)
    at = opened(store, world.lead)

    assert [t.value for t in at.title] == ["Program dashboard"]
    assert [m.label for m in at.metric] == METRICS
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Running"] == "3"
    assert metrics["Enrolled"] == str(7 + 7 + 5)
    assert metrics["Attendance"] == "100%"
    # Every measure's sentence; retention and the chosen measure's chart.
    res = results(world)
    measures = list(res.measure_trends.values())
    assert len(measures) == len(world.bundle().instruments)
    assert len(charts(at)) == 2
    markdown = [m.value for m in at.markdown]
    for trend in measures:
        assert trend.story.sentence in markdown
        assert trend.story.sentence.startswith("Across 2 groups")
        assert "with only 2 groups we cannot say how sure that is" in trend.story.sentence
    # No jargon in the main view; the technical words live in "How these figures are made".
    (method,) = at.expander
    behind = {m.value for m in method.markdown}
    assert any("cluster-robust" in m for m in behind)
    shown = " ".join([m for m in markdown if m not in behind] + captions(at))
    for word in ("cells", "k =", "G=", "cluster-robust", "degrees of freedom"):
        assert word not in shown, word
    assert "a group's figures appear once at least 5 people answered" in " ".join(captions(at))

    (table,) = at.dataframe
    assert list(table.value["Cohort"]) == ["North", "South"]
    titles = [c.title for c in res.grid.columns]  # type: ignore[union-attr]
    assert list(table.value.columns) == ["Cohort", "Started", "Status", *titles]
    stress = next(c for c in res.grid.columns if c.measure == "stress")  # type: ignore[union-attr]
    north = res.grid.frame.iloc[0]  # type: ignore[union-attr]
    assert table.value.iloc[0][stress.title] == north[stress.change]
    assert [e.label for e in at.expander] == ["How these figures are made"]


def test_every_group_view_says_where_fewer_groups_are_counted(store, make_staff):
    world = make_world(store, make_staff)
    for name, sessions in (("A", (1, 6)), ("B", (1, 6)), ("C", (1,)), ("D", (1,))):
        cohort = add_cohort(world, name, roster(name, 6))
        for number in sessions:
            closed_pulse(world, cohort, number, [4, 5, 5, 6, 6])
    at = opened(store, world.lead)
    next(s for s in at.selectbox if s.label == "Measure").set_value("stress").run()
    assert "Stress this week" in str(charts(at)[-1].proto.spec)
    assert not any("Fewer groups are counted" in c for c in captions(at))
    counted = at.get("button_group")[0]
    counted.set_value("every").run()
    assert not at.exception
    assert any("Fewer groups are counted from session 6 (4 → 2 groups)" in c for c in captions(at))


def test_the_report_is_made_audited_and_linked(store, make_staff):
    world = populated(store, make_staff)
    at = opened(store, world.lead)
    assert not [b for b in at.get("link_button") if "report" in str(b.proto.label).lower()]
    next(b for b in at.button if b.label == "Make the report").click().run()
    assert not at.exception
    latest = store.audit_events(limit=1)[0]
    assert latest.action == "export program report"
    assert (latest.object_type, latest.object_id) == ("program", str(world.program.id))
    links = [b.proto.url for b in at.get("link_button")]
    assert any(u.startswith("/print/report?token=") and "format=pdf" not in u for u in links)
    assert any(u.endswith("&format=pdf") for u in links)
    at.run()  # the next rerun (the audit event moved the data version): the links stay
    assert [b.proto.url for b in at.get("link_button")] == links


def test_an_admin_sees_every_program(store, make_staff):
    world = populated(store, make_staff)
    store.create_program(Actor.system(), "Another program", "", 5)
    at = opened(store, make_staff("root", Role.ADMIN))
    program = next(s for s in at.selectbox if s.label == "Program")
    assert program.options == ["Another program", world.program.name]


def test_a_facilitator_is_refused(store, make_staff):
    world = populated(store, make_staff)
    at = opened(store, world.facilitator)
    assert any("not part of your role" in w.value for w in at.warning)
    assert not at.metric and not charts(at) and not at.dataframe


def test_a_guest_gets_the_signin_screen(store, make_staff):
    populated(store, make_staff)
    at = app_test(PAGE, store)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.metric and not at.dataframe


# --------------------------------------------------------------------------- empty states


def test_a_lead_without_a_program_gets_a_kind_message(store, make_staff):
    at = opened(store, make_staff("new-lead", Role.LEAD))
    assert any("You do not lead a program yet" in i.value for i in at.info)
    assert not at.selectbox and not at.metric


def test_a_program_without_cohorts_says_so(store, make_staff):
    world = make_world(store, make_staff)
    at = opened(store, world.lead)
    assert any("has no cohorts yet" in i.value for i in at.info)
    assert not at.metric and not charts(at)


def test_a_program_with_no_released_cells_says_so(store, make_staff):
    world = make_world(store, make_staff)
    closed_pulse(world, add_cohort(world, "Small", roster("S", 6)), 1, [5] * 4)
    at = opened(store, world.lead)
    assert [m.label for m in at.metric] == METRICS
    assert any("Nothing to say yet" in i.value for i in at.info)
    assert any("No group has figures at two sessions yet" in i.value for i in at.info)
    assert not at.dataframe
    assert len(charts(at)) == 1  # retention only: attendance is not about answers


def test_cohorts_with_no_pulse_yet_say_so(store, make_staff):
    world = make_world(store, make_staff)
    add_cohort(world, "Later", roster("L", 6), dt.date.today() + dt.timedelta(days=14))
    at = opened(store, world.lead)
    assert {m.label: m.value for m in at.metric}["Scheduled"] == "1"
    assert any("Nothing to say yet" in i.value for i in at.info)
    assert any("No session has been held yet" in i.value for i in at.info)


# --------------------------------------------------------------------------- selection


def test_choosing_a_curriculum_version_narrows_the_view(store, make_staff):
    world = populated(store, make_staff)
    v2 = second_version(world)
    edited = add_cohort(world, "Edited", roster("E", 6), version_id=v2)
    closed_pulse(world, edited, 1, [5] * 5)
    closed_pulse(world, edited, 6, [6] * 5)
    at = opened(store, world.lead)
    assert any("4 of 4 cohorts in this view" in c for c in captions(at))
    assert "Curriculum" in at.dataframe[0].value.columns  # two versions: the grid says which

    version = next(s for s in at.selectbox if s.label == "Curriculum version")
    assert version.options[0] == "All versions used in the program"
    version.set_value(v2).run()
    assert not at.exception
    assert any("1 of 4 cohorts in this view" in c for c in captions(at))
    assert set(at.dataframe[0].value["Cohort"]) == {"Edited"}


def test_a_period_with_no_cohort_says_so(store, make_staff):
    world = populated(store, make_staff)
    at = opened(store, world.lead)
    period = next(d for d in at.date_input if d.label == "Cohorts starting between")
    period.set_value((dt.date(2030, 1, 1), dt.date(2030, 12, 31))).run()
    assert any("No cohort of this program started in the chosen period" in i.value for i in at.info)
    assert not at.metric


# --------------------------------------------------------------------------- no names, audited


def test_no_roster_name_appears_anywhere_on_the_page(store, make_staff):
    world = populated(store, make_staff)
    for viewer in (world.lead, make_staff("root", Role.ADMIN)):
        text = page_text(opened(store, viewer))
        assert "North" in text  # the check reads the page, cohort names included
        assert SECRET not in text
        assert "Quiet-Name" not in text


def test_a_csv_download_is_audited(store, make_staff):
    world = populated(store, make_staff)
    at = opened(store, world.lead)
    button = next(b for b in at.get("download_button") if b.label == "Pooled trends (CSV)")
    button.click().run()
    assert not at.exception
    latest = store.audit_events(limit=1)[0]
    assert latest.action == "export program pooled trends csv"
    assert (latest.object_type, latest.object_id) == ("program", str(world.program.id))
    assert latest.actor == world.lead.username


# --------------------------------------------------------------------------- CSV exports


@pytest.fixture
def shown(store, make_staff) -> ProgramResults:
    return results(populated(store, make_staff))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def all_csvs(res: ProgramResults) -> list[str]:
    return [
        exports.program_headline_csv(res),
        exports.pooled_trends_csv(res),
        exports.cohort_comparison_csv(res),
    ]


def test_no_csv_holds_a_roster_name(shown):
    for text in all_csvs(shown):
        assert SECRET not in text and "Quiet-Name" not in text


def test_the_comparison_csv_holds_released_cells_only(shown):
    table = rows(exports.cohort_comparison_csv(shown))
    assert {r["cohort"] for r in table} == {"North", "South"}  # never the cohort of four
    assert len(table) == len(shown.table)
    assert all(int(r["n"]) >= shown.min_group_size for r in table)
    north_stress = next(
        r for r in table if r["cohort"] == "North" and r["measure"] == "Stress this week"
    )
    assert (north_stress["n"], north_stress["mean"], north_stress["rounded_to"]) == ("5", "5", "1")
    assert "sd" not in north_stress
    assert north_stress["responses_per_enrolled"] == f"{5 / 7:.4f}"


def test_the_pooled_csv_matches_the_figures_and_counts_what_was_left_out(shown):
    table = rows(exports.pooled_trends_csv(shown))
    assert len(table) == sum(len(f) for f in shown.trends.values())
    for r in table:
        assert (r["cohorts_G"], r["cells_left_out"]) == ("2", "1")
        assert r["responses_N"] == "11"  # 5 + 6 answers at both sessions
    assert {r["session"] for r in table} == {"1", "6"}
    stress = next(r for r in table if r["measure"] == "Stress this week" and r["session"] == "1")
    # From the released, rounded means: North 3..7 (5, n 5) and South (32/6 released as 5, n 6):
    # (25 + 30) / 11; Small's 9s are not in.
    assert stress["mean"] == f"{55 / 11:.3f}"
    assert stress["ci95_low"] and stress["ci95_high"]


def test_the_headline_csv_states_the_selection_and_the_figures(shown):
    figures = {r["figure"]: r["value"] for r in rows(exports.program_headline_csv(shown, "v1"))}
    assert figures["Program"] == shown.program.name
    assert figures["Curriculum version"] == "v1"
    assert figures["Cohorts starting from"] == "any date"
    assert figures["Minimum group size k"] == "5"
    assert figures["People enrolled"] == "19"
    assert figures["Cells left out (fewer than k responses, or still open)"] == str(shown.left_out)
    assert figures["Present at session 1 (share of enrolled)"] == "1.0000"


def test_a_cohort_name_cannot_become_a_spreadsheet_formula(store, make_staff):
    world = make_world(store, make_staff)
    closed_pulse(world, add_cohort(world, "=HYPERLINK(1)", roster("H", 6)), 1, [5] * 5)
    table = rows(exports.cohort_comparison_csv(results(world)))
    assert {r["cohort"] for r in table} == {"'=HYPERLINK(1)"}


def test_empty_results_give_a_header_only(store, make_staff):
    res = results(make_world(store, make_staff))
    assert exports.pooled_trends_csv(res).splitlines() == [
        "measure,session,cohorts_G,responses_N,mean,ci95_low,ci95_high,cells_left_out"
    ]
    assert len(exports.cohort_comparison_csv(res).splitlines()) == 1
