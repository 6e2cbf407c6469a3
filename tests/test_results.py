"""Cohort results and the group mirror (program.cohort_results, program.mirror) on a real
temporary DuckDB.

Every release rule is checked at the minimum group size k (k−1, k, k+1), and a cell that is held
back must leave no trace in any number shown: the same results come out whatever its answers were.
The builder (tests/factories/results.py) is shared with the page tests of the cohort dashboard
and the mirror.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from program import cohort_results as results
from program import pulse
from program.cohort_results import CohortResults, cohort_results
from program.errors import AccessDenied
from program.exports import cohort_csv
from program.mirror import GroupChange, mirror
from program.privacy import EFFECT_STEP, release_step, round_to_step
from program.settings import get_settings
from program.stats import reference_change
from program.store import Store
from tests.factories import engines
from tests.factories.results import (
    STRESS_FIRST,
    STRESS_LAST,
    WEEKS,
    fill_template,
    make_group,
    run_program,
    series_from_means,
    user,
)
from tests.factories.stores import NEAREST_DRAW, pin_draws

# --------------------------------------------------------------------------- the builder


template, store = engines.template_fixtures("results_template", fill_template)


def series(results: CohortResults, measure: str):  # type: ignore[no-untyped-def]
    return next(s for s in results.measures if s.instrument.id == measure)


def rounded(
    values: list[int], low: float = 0.0, high: float = 10.0, draw: float = NEAREST_DRAW
) -> float:
    """The released mean of these answers: rounded to the step for their number by `draw`."""
    n = len(values)
    return round_to_step(sum(values) / n, release_step(n, low, high), low, high, draw)


# --------------------------------------------------------------------------- released, suppressed, at k


def test_an_all_released_cohort_shows_every_cell_and_the_first_last_change(store):
    group = make_group(store)
    run_program(group, dict.fromkeys(WEEKS, 8))
    results = group.results()
    assert results.min_group_size == 5 and results.enrolled == 12
    assert not results.release.suppressed
    for s in results.measures:
        assert all(p.cell is not None and p.reason is None for p in s.points)
        assert s.first_last is not None and s.first_last_reason is None
    stress = series(results, "stress")
    assert [p.session_number for p in stress.points] == list(WEEKS)
    assert [p.cell.n for p in stress.points if p.cell] == [8] * 6
    first, last = stress.points[0].cell, stress.points[-1].cell
    assert first is not None and last is not None
    # Eight answers on 0–10: rounded to whole points (7.75 → 8, 3.25 → 3).
    assert first.summary.mean == rounded(STRESS_FIRST[:8]) == 8.0
    assert last.summary.mean == rounded(STRESS_LAST[:8]) == 3.0
    assert first.summary.step == 1.0
    fl = stress.first_last
    assert fl is not None and (fl.first, fl.last, fl.n_first, fl.n_last) == (1, 6, 8, 8)
    # The change uses the rounded means and the reference spread of a quarter of the range for
    # both sessions; no Cliff's δ, which needs the answers.
    change = fl.change
    assert change.diff == -5.0
    expected = reference_change(8, 8.0, 8, 3.0, 2.5)
    assert change.ci95 == (
        math.floor(expected.ci95[0]),
        math.ceil(expected.ci95[1]),
    )
    assert expected.hedges is not None and change.g is not None
    assert change.g == pytest.approx(round(expected.hedges.g / EFFECT_STEP) * EFFECT_STEP)
    assert not hasattr(change, "cliffs")
    # WHO-5 is asked at the first, middle and last weekly sessions only.
    assert [p.session_number for p in series(results, "who5").points] == [1, 3, 6]


def test_an_all_suppressed_cohort_shows_no_cell_and_no_comparison(store):
    group = make_group(store)
    run_program(group, dict.fromkeys(WEEKS, group.k - 1))
    results = group.results()
    assert results.release.released == ()
    assert len(results.release.suppressed) == sum(len(s.points) for s in results.measures)
    for s in results.measures:
        assert s.points, s.instrument.id
        assert all(p.cell is None and p.reason == "fewer than 5 responses" for p in s.points)
        assert s.first_last is None
        assert s.first_last_reason == "session 1: fewer than 5 responses"


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("offset, shown", [(-1, False), (0, True), (1, True)])
def test_a_cell_is_released_from_exactly_k_responses(store, k, offset, shown):
    group = make_group(store, k=k)
    n = k + offset
    group.hold(1, present=11)
    group.answer(1, STRESS_FIRST[:n])
    (point,) = series(group.results(), "stress").points
    if shown:
        assert point.cell is not None and point.cell.n == n and point.reason is None
        assert point.cell.summary.mean == rounded(STRESS_FIRST[:n])
    else:
        assert point.cell is None and point.reason == f"fewer than {k} responses"


def test_each_cell_gets_its_own_rounding_draw_at_close_and_its_mean_rounds_by_it(store):
    group = make_group(store)
    group.hold(1, present=11)
    group.answer(1, STRESS_FIRST[:8], draw=None)  # stress 7.75: 8 for draws below 0.75, else 7
    rows = store.cell_summaries([group.cohort_id])
    draws = [row.draw for row in rows]
    assert len(rows) == 5 and all(0 <= d < 1 for d in draws)
    assert len(set(draws)) == 5  # one secret draw per cell, not one per session
    for draw, mean in ((0.0, 8.0), (0.7499, 8.0), (0.75, 7.0), (0.999, 7.0)):
        pin_draws(store, group.session_id(1), draw)
        (point,) = series(group.results(), "stress").points
        assert point.cell is not None and point.cell.summary.mean == mean, draw
        assert mean == rounded(STRESS_FIRST[:8], draw=draw)


def test_the_same_database_always_shows_the_same_figures(store):
    group = make_group(store)
    for number, n in ((1, 8), (2, 6), (6, 7)):  # with the draws the store made
        group.hold(number, present=11)
        group.answer(number, (STRESS_FIRST if number == 1 else STRESS_LAST)[:n], draw=None)
    before = [group.results() for _ in range(3)]
    assert before[0] == before[1] == before[2]
    assert [mirror(store, group.facilitator, group.session_id(6)) for _ in range(2)] == [
        mirror(store, group.facilitator, group.session_id(6))
    ] * 2
    store.close()
    again = Store(store.path)
    try:
        assert cohort_results(again, group.facilitator, group.cohort_id) == before[0]
    finally:
        again.close()


def test_an_open_pulse_shows_nothing_and_says_it_is_still_open(store):
    group = make_group(store)
    group.hold(1, present=11)
    group.answer(1, STRESS_FIRST[:6])
    group.hold(2, present=11)
    pulse.open_pulse(
        store, get_settings(), group.facilitator, group.session_id(2), dt.datetime.now()
    )
    stress = series(group.results(), "stress")
    first, second = stress.points
    assert first.cell is not None
    assert second.cell is None and second.reason is not None and "still open" in second.reason
    assert stress.first_last is None
    assert stress.first_last_reason is not None and "session 2" in stress.first_last_reason
    assert "still open" in stress.first_last_reason


@pytest.mark.parametrize("first_n, last_n", [(4, 5), (5, 4)])
def test_no_comparison_when_either_end_is_held_back(store, first_n, last_n):
    group = make_group(store)
    run_program(group, {1: first_n, 2: 6, 6: last_n})
    stress = series(group.results(), "stress")
    assert stress.first_last is None
    held = 1 if first_n < 5 else 6
    assert stress.first_last_reason == f"session {held}: fewer than 5 responses"


def test_a_held_back_middle_session_does_not_stop_the_comparison(store):
    group = make_group(store)
    run_program(group, {1: 6, 3: 4, 6: 7})
    stress = series(group.results(), "stress")
    assert [p.cell is not None for p in stress.points] == [True, False, True]
    assert stress.first_last is not None
    assert (stress.first_last.n_first, stress.first_last.n_last) == (6, 7)


def without_cohort_name(text: str) -> list[str]:
    return [line.split(",", 1)[1] for line in text.splitlines()]


@pytest.mark.parametrize("held_back", [1, 3, 6])
def test_a_held_back_cell_leaves_no_trace_in_any_number(store, held_back):
    """Two cohorts alike except for the answers in one held-back cell give identical results."""
    a = make_group(store, name="A")
    b = make_group(store, name="B", facilitator="sam")
    plan = {n: 6 for n in WEEKS} | {held_back: 4}
    run_program(a, plan)
    for number in WEEKS:
        b.hold(number, present=11)
        values = STRESS_FIRST if number == 1 else STRESS_LAST
        if number == held_back:
            b.answer(number, [0, 10, 10, 0], level=7)  # entirely different answers
        else:
            b.answer(number, (values * 2)[:6])
    ra, rb = a.results(), b.results()
    assert without_cohort_name(cohort_csv(ra)) == without_cohort_name(cohort_csv(rb))
    for sa, sb in zip(ra.measures, rb.measures, strict=True):
        assert [(p.session_number, p.cell and p.cell.summary, p.reason) for p in sa.points] == [
            (p.session_number, p.cell and p.cell.summary, p.reason) for p in sb.points
        ]
        assert sa.first_last == sb.first_last
        assert sa.first_last_reason == sb.first_last_reason
    for number in WEEKS:
        ma = mirror(store, a.facilitator, a.session_id(number))
        mb = mirror(store, b.facilitator, b.session_id(number))
        assert ma == mb


# --------------------------------------------------------------------------- attendance and names


def test_who_came_lists_every_member_by_name_with_their_marks(store):
    group = make_group(store, roster=["Ana", "Ben", "Chloe", "Dev"])
    group.hold(1, present=2, absent=1, excused=1, late=1)
    group.hold(2, present=3, absent=1)
    results = group.results()
    assert results.who_came == {
        "Ana": {1: "present (late)", 2: "present"},
        "Ben": {1: "present", 2: "present"},
        "Chloe": {1: "absent", 2: "present"},
        "Dev": {1: "excused", 2: "absent"},
    }
    rates = {a.number: a.rate for a in results.attendance}
    assert rates[1] == pytest.approx(2 / 4) and rates[2] == pytest.approx(3 / 4)
    assert rates[3] is None  # not held yet
    assert (results.fidelity[1], results.fidelity[2]) == (1.0, 1.0)


def test_completers_follow_the_curriculums_rule(store):
    group = make_group(store, roster=["Ana", "Ben", "Chloe"])
    rule = group.store.curriculum_bundle(
        group.store.cohort(group.cohort_id).curriculum_version_id
    ).curriculum.completion.min_sessions_attended
    assert rule == 4
    # Ana comes to all six, Ben to four (exactly the rule), Chloe to three.
    for number in WEEKS:
        group.hold(number, present={1: 3, 2: 3, 3: 3, 4: 2, 5: 1, 6: 1}[number])
    assert group.results().completers == 2


# --------------------------------------------------------------------------- who may see it


@pytest.mark.parametrize("who", ["sam", "lee", "alex"])
def test_only_the_cohorts_own_facilitators_see_its_results(store, who):
    group = make_group(store)
    run_program(group, dict.fromkeys(WEEKS, 6))
    viewer = user(store, who)
    with pytest.raises(AccessDenied):
        cohort_results(store, viewer, group.cohort_id)
    with pytest.raises(AccessDenied):
        mirror(store, viewer, group.session_id(1))


# --------------------------------------------------------------------------- the group mirror


def test_the_mirror_shows_lines_from_k_responses_and_holds_back_below(store):
    group = make_group(store)
    run_program(group, {1: 5, 2: 4, 3: 6})
    shown = mirror(store, group.facilitator, group.session_id(3))
    assert shown.session_number == 3 and shown.min_group_size == 5 and shown.held_back == []
    assert [line.instrument.id for line in shown.lines] == [
        "who5",
        "connection",
        "stress",
        "self-kindness",
        "usefulness",
    ]
    assert all(line.n == 6 for line in shown.lines)
    stress = next(line for line in shown.lines if line.instrument.id == "stress")
    # 3, 4, 2, 3, 5, 4: 3.5 exactly, and six answers round to whole points, halves up.
    assert (stress.mean, stress.step) == (4.0, 1.0) == (rounded(STRESS_LAST[:6]), 1.0)
    # Stress fell by four points (8 → 4), twice the smallest change that matters.
    assert stress.change == GroupChange.BETTER
    connection = next(line for line in shown.lines if line.instrument.id == "connection")
    assert connection.change == GroupChange.SAME

    held = mirror(store, group.facilitator, group.session_id(2))
    assert held.lines == []
    assert held.held_back == [
        f"{m}: fewer than 5 responses"
        for m in ("Connection to the group", "Stress this week", "Kindness toward myself")
        + ("Session usefulness",)
    ]

    first = mirror(store, group.facilitator, group.session_id(1))
    assert all(line.change is None for line in first.lines)  # nothing to compare with yet


def test_the_mirror_never_reports_fewer_than_k_answers(store):
    group = make_group(store, k=3)
    run_program(group, {1: 2, 2: 3, 3: 4})
    for number, expected in ((1, []), (2, [3] * 4), (3, [4] * 5)):
        view = mirror(store, group.facilitator, group.session_id(number))
        assert [line.n for line in view.lines] == expected
        assert all(line.n >= 3 and not math.isnan(line.mean) for line in view.lines)


# --------------------------------------------------------------------------- the change in words


@pytest.mark.parametrize(
    ("first", "last", "n", "what", "how_sure"),
    [
        (
            7.5,
            3.5,
            20,
            "went down from 7.5 at session 1 to 3.5 at session 6",
            "by more than 2 points",
        ),
        (7.5, 6.5, 200, "went down from 7.5 at session 1 to 6.5", "by less than 2 points"),
        (5.0, 6.0, 5, "went up from 5.0 at session 1 to 6.0 at session 6", "cannot tell it apart"),
        (5.5, 5.5, 10, "was the same at session 1 and session 6 (5.5", "cannot tell it apart"),
    ],
    ids=["clear-and-large", "clear-but-small", "too-uncertain", "no-change"],
)
def test_the_change_is_said_in_two_plain_sentences(first, last, n, what, how_sure):
    words = results.change_in_words(series_from_means(first, last, n))
    assert words is not None
    assert what in words.what and how_sure in words.how_sure, words
    better = "better" if last < first else "worse"
    assert (f"for the {better}" in words.what) == (first != last)
    for jargon in ("Hedges", "interval", "95%", "independent", "significan"):
        assert jargon not in words.what + words.how_sure
