"""The cohort dashboard page (AppTest) and its CSV export (program.exports.cohort_csv).

A facilitator sees their own cohort's results and who came; a cohort held back at every session
shows a kind explanation and no number about responses; no one else gets anything. The CSV holds
released aggregates only: no names, and no number from a held-back cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from program import pulse
from program.cohort_results import PointState
from program.exports import COHORT_CSV_HEADER, cohort_csv
from program.privacy import ROUNDING_NOTE
from program.settings import get_settings
from program.store import Store
from tests.factories.pages import app_test, rendered_bytes, store_calls
from tests.factories.results import (
    STRESS_FIRST,
    STRESS_LAST,
    WEEKS,
    Group,
    build_template,
    fresh_store,
    make_group,
    run_program,
    user,
)

PAGE = "pages/cohort_dashboard.py"
ROSTER = ["Zebedee Quill", "Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace"]
EXPLANATION = (
    "fewer than 5 responses at every session so far; nothing is shown so that nobody's answers"
    " can be singled out"
)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("dashboard-template"))


@pytest.fixture
def store(settings_env: Path, template: Path) -> Iterator[Store]:
    yield from fresh_store(settings_env, template)


def texts(at: Any) -> list[str]:
    """The words on the page: markdown, captions, callouts, metrics."""
    out = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error")
        for e in at.get(kind)
    ]
    out += [f"{m.label} {m.value}" for m in at.metric]
    return out


def opened(store, viewer) -> Any:  # type: ignore[no-untyped-def]
    at = app_test(PAGE, store, viewer)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def released(store) -> Group:  # type: ignore[no-untyped-def]
    group = make_group(store, members=len(ROSTER), roster=ROSTER)
    run_program(group, dict.fromkeys(WEEKS, 6), present=7)
    return group


@pytest.fixture
def suppressed(store) -> Group:  # type: ignore[no-untyped-def]
    group = make_group(store, members=len(ROSTER), roster=ROSTER, name="Saturday small group")
    run_program(group, dict.fromkeys(WEEKS, 4), present=6)
    return group


# --------------------------------------------------------------------------- the page


def choose_measure(at, name: str) -> None:  # type: ignore[no-untyped-def]
    """Choose a measure's tab: only the chosen one is drawn."""
    at.session_state[f"measure_tab_{at.selectbox(key='dash_cohort').value.id}"] = name
    at.run()
    assert not at.exception, at.exception


def test_the_facilitator_sees_their_cohorts_results(released):
    at = opened(released.store, released.facilitator)
    assert [t.value for t in at.title] == ["Cohort results"]
    assert at.selectbox(key="dash_cohort").options == ["Tuesday group"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Enrolled"] == "8"
    assert metrics["Sessions held"] == "6 of 6"
    assert metrics["Attendance"] == "88%"
    assert metrics["Completed"] == "7 of 8"  # every session held: the cohort has finished
    # One tab per measure, each with its chart and the change in the group's average.
    assert [t.label for t in at.tabs] == [
        "Wellbeing (WHO-5)",
        "Connection to the group",
        "Stress this week",
        "Kindness toward myself",
        "Session usefulness",
    ]
    # Only the chosen measure is drawn: the first, until another is chosen.
    assert [m.value for m in at.markdown].count("**What changed**") == 1
    choose_measure(at, "Stress this week")
    words = "\n".join(texts(at))
    cards = [m.value for m in at.markdown if m.value == "**What changed**"]
    assert len(cards) == 1
    # Six answers a session: whole points. Stress 7.5 → 8 at session 1, 3.5 → 4 at session 6.
    # First in a sentence, then the figures for evaluators one click away.
    assert (
        "Stress this week: the group's average went down from 8 at session 1 to 4 at session 6"
        " on a 0–10 scale, a change for the better. With this many answers we cannot tell it"
        " apart from no change: the true change could be anywhere between 8 points down and no"
        " change at all."
    ) in words
    assert "Difference (last − first): −4 points" in words
    assert "Hedges' g" in words and "Cliff" not in words
    assert "session 1: 6 of 8 enrolled (75%)" in words
    assert "members improved" not in words
    assert "independent samples" in words
    # Who came: names × sessions, only here, and only sent to the browser when opened.
    assert "Zebedee Quill" not in rendered_bytes(at).decode("utf-8", "replace")
    at.session_state[f"who_came_{released.cohort_id}"] = True
    at.run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    (frame,) = [f for f in frames if "Name" in f.columns]
    # Retention and fidelity as figures: share present at each weekly session, agenda delivered.
    (retention,) = [f for f in frames if "Share" in f.columns]
    assert list(retention["Session"]) == list(WEEKS)
    assert all(0 <= v <= 1 for v in retention["Share"])
    (fidelity,) = [f for f in frames if "Delivered" in f.columns]
    assert list(fidelity["Session"]) == list(WEEKS)
    assert list(frame["Name"]) == sorted(ROSTER)
    assert list(frame.columns) == ["Name"] + [f"Session {n}" for n in WEEKS]
    page = rendered_bytes(at).decode("utf-8", "replace")
    assert "Zebedee Quill" in page
    # The control for the held-back test below: charts carry "n=6" and "Group average".
    assert re.search(r"\bn=6", page) and "Group average" in page
    assert any("Only this cohort's facilitators see names" in c.value for c in at.caption)
    # Said once, in plain words, near the figures; the technical detail in an expander.
    assert [c.value for c in at.caption].count(ROUNDING_NOTE) == 1
    assert [e.label for e in at.expander] == [
        "Who came",
        "How to read this",
        "How the averages are rounded",
        "Details for evaluators",
    ]
    assert "n × step is at least half the scale's range" in words
    assert "SD" not in words and "standard deviation" not in words.replace(
        "No standard deviation", ""
    )


def test_figures_are_shown_with_the_decimals_of_their_step(store):
    group = make_group(store, members=len(ROSTER) + 4, roster=[*ROSTER, "W", "X", "Y", "Z"])
    group.hold(1, present=11)
    group.answer(1, STRESS_FIRST[:10])  # 7.7 from ten answers: halves, 7.5
    group.hold(6, present=11)
    group.answer(6, STRESS_LAST[:5])  # 3.4 from five: whole points, 3
    at = opened(group.store, group.facilitator)
    choose_measure(at, "Stress this week")
    words = "\n".join(texts(at))
    assert "Difference (last − first): −4.5 points" in words
    assert "−4.5 points" in words and "−4.50" not in words
    page = rendered_bytes(at).decode("utf-8", "replace")
    assert re.search(r'"mean_text": ?"7.5"', page) and re.search(r'"mean_text": ?"3"', page)
    table = rows(cohort_csv(group.results()))
    stress = {
        r["session"]: r
        for r in table
        if r["kind"] == "measure" and r["measure"] == "Stress this week"
    }
    assert (stress["1"]["mean"], stress["1"]["rounded_to"]) == ("7.5", "0.5")
    assert (stress["6"]["mean"], stress["6"]["rounded_to"]) == ("3", "1")


def test_a_cohort_held_back_everywhere_shows_a_kind_explanation_and_no_numbers(suppressed):
    at = opened(suppressed.store, suppressed.facilitator)
    assert any(EXPLANATION in i.value for i in at.info)
    assert len(at.tabs) == 0
    for text in texts(at):
        # No digit anywhere near a mean or an average.
        assert not re.search(r"(mean|average)[^.\n]{0,40}\d", text, re.IGNORECASE), text
        assert not re.search(r"\d[^.\n]{0,20}(mean|average)", text, re.IGNORECASE), text
        assert "n=" not in text and "Hedges" not in text
    page = rendered_bytes(at).decode("utf-8", "replace")
    assert "Group average" not in page and not re.search(r"\bn=\d", page)
    # Attendance is what the facilitator recorded, not an answer: it stays.
    assert {m.label for m in at.metric} >= {"Enrolled", "Attendance"}


@pytest.mark.parametrize("who", ["sam", "lee", "alex"])
def test_no_one_else_sees_the_cohort(released, who):
    viewer = user(released.store, who)
    at = app_test(PAGE, released.store, viewer)
    at.run()
    assert not at.exception
    page = rendered_bytes(at).decode("utf-8", "replace")
    assert "Zebedee" not in page and "Tuesday group" not in page
    assert len(at.metric) == 0
    if who == "sam":
        assert any("not running a cohort" in i.value for i in at.info)
    else:
        assert [w.value for w in at.warning if "not part of your role" in w.value]


def test_downloading_the_csv_is_audited(released):
    at = opened(released.store, released.facilitator)
    before = len(released.store.audit_events())
    (button,) = [b for b in at.get("download_button") if b.label == "Download results (CSV)"]
    button.click()
    at.run()
    assert not at.exception
    events = released.store.audit_events()
    assert len(events) == before + 1
    latest = events[0]
    assert latest.action == "export cohort results csv"
    assert (latest.object_type, latest.object_id) == ("cohort", str(released.cohort_id))
    assert latest.actor == "maya"


def test_downloading_a_chart_is_audited(released):
    at = opened(released.store, released.facilitator)
    choose_measure(at, "Stress this week")
    labels = [b.label for b in at.get("download_button")]
    assert "Chart as PNG: attendance" in labels and "Chart as PNG: Stress this week" in labels
    (button,) = [
        b for b in at.get("download_button") if b.label == "Chart as PNG: Stress this week"
    ]
    button.click()
    at.run()
    assert released.store.audit_events()[0].action == "export cohort chart png stress"


# --------------------------------------------------------------------------- the CSV


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_holds_released_aggregates_and_no_names(released):
    text = cohort_csv(released.results())
    assert text.splitlines()[0] == ",".join(COHORT_CSV_HEADER)
    for name in ROSTER:
        assert name not in text
    table = rows(text)
    attendance = [r for r in table if r["kind"] == "attendance"]
    assert [r["session"] for r in attendance] == [str(n) for n in WEEKS]
    assert {(r["present"], r["enrolled"], r["attendance_rate"]) for r in attendance} == {
        ("7", "8", "0.8750")
    }
    assert {r["agenda_delivered"] for r in attendance} == {"1.0000"}
    stress = [r for r in table if r["kind"] == "measure" and r["measure"] == "Stress this week"]
    assert [r["session"] for r in stress] == [str(n) for n in WEEKS]
    first = stress[0]
    assert first["n"] == "6"
    # 7.5 exactly from six answers, released rounded to whole points (halves up): 8.
    assert sum(STRESS_FIRST[:6]) / 6 == 7.5
    assert (first["mean"], first["rounded_to"]) == ("8", "1")
    assert all(first[c] for c in ("ci95_low", "ci95_high"))
    assert "sd" not in first and "sd" not in COHORT_CSV_HEADER
    assert first["note"] == ""


def test_the_csv_has_no_number_from_a_held_back_cell(suppressed):
    table = rows(cohort_csv(suppressed.results()))
    measures = [r for r in table if r["kind"] == "measure"]
    assert measures, "every asked measure is listed, with its reason"
    for r in measures:
        assert [r[c] for c in ("n", "mean", "rounded_to", "ci95_low", "ci95_high")] == [""] * 5
        assert r["note"] == "not shown: fewer than 5 responses"


def test_the_csv_guards_against_spreadsheet_formulas(store):
    group = make_group(store, name="=HYPERLINK(1)", roster=["Ana", "Ben", "Chloe"])
    group.hold(1, present=3)
    table = rows(cohort_csv(group.results()))
    assert {r["cohort"] for r in table} == {"'=HYPERLINK(1)"}


def test_the_sponsor_report_is_made_audited_and_linked(released):
    at = opened(released.store, released.facilitator)
    next(b for b in at.button if b.label == "Make the report").click().run()
    assert not at.exception
    latest = released.store.audit_events(limit=1)[0]
    assert latest.action == "export cohort report"
    assert (latest.object_type, latest.object_id) == ("cohort", str(released.cohort_id))
    links = [b.proto.url for b in at.get("link_button")]
    assert any(u.startswith("/print/report?token=") and not u.endswith("format=pdf") for u in links)
    assert any(u.endswith("&format=pdf") for u in links)
    at.run()  # the next rerun (the audit event moved the data version): the links stay
    assert [b.proto.url for b in at.get("link_button")] == links


def test_the_page_only_draws_what_the_cohort_view_returns():
    assert store_calls(PAGE) == []


def test_a_held_back_cell_and_a_still_open_one_are_told_apart_without_asking_the_store(store):
    """The view keeps each cell's state: the page says which sessions are still open from it."""
    group = make_group(store, members=len(ROSTER), roster=ROSTER)
    run_program(group, {1: 6, 2: 4}, present=7)
    pulse.open_pulse(
        store, get_settings(), group.facilitator, group.session_id(3), dt.datetime.now()
    )
    data = group.results()
    assert (data.still_open, data.held_back) == ([3], [2])
    stress = next(s for s in data.measures if s.instrument.id == "stress")
    assert [(p.session_number, p.state) for p in stress.points] == [
        (1, PointState.RELEASED),
        (2, PointState.TOO_FEW),
        (3, PointState.STILL_OPEN),
    ]
    at = opened(store, group.facilitator)
    assert any("session 3 is still open" in c.value for c in at.caption)
