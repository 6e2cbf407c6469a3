"""The lead's view in plain words: each measure's sentence from generated programs whose truth is
known, intervals that never run past the scale, balanced panels, and the comparison grid."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from program.comparison import change_text, grid_view
from program.generate import Shape, generate
from program.models import Role
from program.privacy import (
    PooledFigure,
    ReleasedCell,
    ReleasedSummary,
    release_change,
    release_changes,
)
from program.program_results import Selection, program_results
from program.settings import get_settings
from program.stats import pool, pool_change
from program.trends import MIN_GROUPS, Change, composition_drops, shown_interval
from tests.factories.programs import add_cohort, closed_pulse, make_world, results, roster

TODAY = dt.date(2026, 11, 27)
FINISHED = (60, 480)  # every generated group started long enough ago to have finished


def generated(store, make_staff, cohorts: int, shape: Shape):  # type: ignore[no-untyped-def]
    admin = make_staff("admin-gen", Role.ADMIN)
    made = generate(store, get_settings(), cohorts, seed=11, today=TODAY, shape=shape)
    return program_results(store, admin, Selection(made.program_id))


# --------------------------------------------------------------------------- sentences


def test_growth_is_said_as_better_for_every_measure(store, make_staff):
    res = generated(store, make_staff, 12, Shape(trend=0.06, sparse_share=0, start_days=FINISHED))
    for trend in res.measure_trends.values():
        story = trend.story
        lower_is_better = trend.instrument.direction.value == "higher_is_worse"
        assert story.change == (Change.FELL if lower_is_better else Change.ROSE), story.sentence
        assert 8 <= trend.panel_size <= 12  # a few groups shrink below k by the last week
        assert story.sentence.startswith(f"Across {trend.panel_size} groups")
        assert "groups varied, so the true" in story.sentence
        assert story.pooled is not None and story.pooled.ci95 is not None
        assert min(abs(v) for v in story.pooled.ci95) > 0  # the whole range leaves zero out


def test_decline_is_said_as_worse(store, make_staff):
    res = generated(store, make_staff, 12, Shape(trend=-0.06, sparse_share=0, start_days=FINISHED))
    stress = res.measure_trends["stress"].story
    assert stress.change == Change.ROSE and "where lower is better" in stress.sentence
    wellbeing = res.measure_trends["who5"].story
    assert wellbeing.change == Change.FELL and "where higher is better" in wellbeing.sentence


def test_no_change_is_said_as_about_the_same(store, make_staff):
    res = generated(store, make_staff, 40, Shape(trend=0.0, sparse_share=0, start_days=FINISHED))
    said = {m: t.story.change for m, t in res.measure_trends.items()}
    # With forty groups and no true change, every measure's range sits inside the smallest change
    # that matters; none may be said to rise or fall by that much.
    assert set(said.values()) <= {Change.SAME, Change.ROSE, Change.FELL}
    assert list(said.values()).count(Change.SAME) >= 4, said
    same = next(t.story for t in res.measure_trends.values() if t.story.change == Change.SAME)
    assert "it stayed about the same" in same.sentence
    assert "the smallest change that matters on this scale" in same.sentence


def test_groups_that_differ_wildly_are_too_uncertain_to_read(store, make_staff):
    res = generated(
        store,
        make_staff,
        4,
        Shape(trend=0.05, group_spread=0.3, sparse_share=0, start_days=FINISHED),
    )
    for trend in res.measure_trends.values():
        assert trend.story.change == Change.UNCLEAR, trend.story.sentence
        assert "cannot say" in trend.story.sentence or "too much" in trend.story.sentence


def test_two_groups_give_a_change_but_no_range(store, make_staff):
    res = generated(store, make_staff, 2, Shape(trend=0.06, sparse_share=0, start_days=FINISHED))
    for trend in res.measure_trends.values():
        assert trend.story.change == Change.UNCLEAR
        assert "with only 2 groups we cannot say how sure that is" in trend.story.sentence


def test_too_few_finished_groups_say_so(store, make_staff):
    world = make_world(store, make_staff)
    closed_pulse(world, add_cohort(world, "North", roster("N", 6)), 1, [3, 4, 5, 6, 7])
    story = results(world).measure_trends["stress"].story
    assert story.change == Change.TOO_FEW
    assert story.sentence.startswith("Too few groups have answered at both session 1 and session 6")
    assert "(none;" in story.sentence


def test_a_held_back_cell_never_reaches_a_sentence(store, make_staff):
    """A group of four is held back at k = 5; adding it must not change any sentence."""
    world = make_world(store, make_staff)
    for name in ("North", "South"):
        cohort = add_cohort(world, name, roster(name[0], 6))
        closed_pulse(world, cohort, 1, [3, 4, 5, 6, 7])
        closed_pulse(world, cohort, 6, [5, 6, 7, 8, 9])
    before = {m: t.story.sentence for m, t in results(world).measure_trends.items()}
    small = add_cohort(world, "Small", roster("Q", 4))
    closed_pulse(world, small, 1, [0, 0, 0, 0])
    closed_pulse(world, small, 6, [10, 10, 10, 10])
    after = results(world).measure_trends
    assert {m: t.story.sentence for m, t in after.items()} == before
    assert after["stress"].panel_size == 2


# --------------------------------------------------------------------------- intervals


def figure(sizes: list[int], means: list[float]) -> PooledFigure:
    return PooledFigure("stress", 1, pool(list(zip(sizes, means, strict=True)), (0, 10)), 0)


@pytest.mark.parametrize("groups", [MIN_GROUPS - 1, MIN_GROUPS, MIN_GROUPS + 1])
def test_an_interval_needs_min_groups(groups):
    f = figure([8] * groups, [5.0 + 0.2 * i for i in range(groups)])
    assert (shown_interval(f, (0, 10)) is not None) == (groups >= MIN_GROUPS)


def test_an_interval_that_would_run_past_the_scale_is_not_drawn():
    wide = figure([8, 8, 8], [0.5, 9.5, 5.0])
    assert wide.pooled.ci95 is not None  # the statistics give one (clipped) ...
    assert shown_interval(wide, (0, 10)) is None  # ... but it is never drawn cut off


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(5, 40), st.floats(0, 10, allow_nan=False)), min_size=1, max_size=12
    )
)
def test_no_drawn_interval_is_ever_beyond_the_scale(cells):
    f = PooledFigure("stress", 1, pool(cells, (0, 10)), 0)
    shown = shown_interval(f, (0, 10))
    if shown is not None:
        assert 0 <= shown[0] <= shown[1] <= 10
        assert shown[1] - shown[0] <= 10


def test_the_pooled_chart_draws_no_interval_below_min_groups():
    from program import charts

    two, three = figure([8, 8], [3.0, 7.0]), figure([8, 8, 8], [4.0, 5.0, 6.0])
    three = PooledFigure("stress", 2, three.pooled, 0)
    spec = charts.pooled_trend([two, three], "Stress", (0, 10)).to_dict()
    rows = spec["data"]["values"]
    assert rows[0]["low"] is None and rows[0]["high"] is None
    assert rows[0]["groups"] == "2 groups" and "needs at least 3" in rows[0]["interval"]
    assert rows[1]["low"] is not None and 0 <= rows[1]["low"] < rows[1]["high"] <= 10
    assert "['1', '(2)']" in spec["layer"][0]["encoding"]["x"]["axis"]["labelExpr"]


# --------------------------------------------------------------------------- pooled change


def test_the_pooled_change_is_the_difference_of_the_pooled_figures():
    sizes1, means1 = np.array([8, 10, 6]), np.array([6.0, 5.5, 7.0])
    sizes2, means2 = np.array([7, 9, 5]), np.array([4.0, 4.5, 5.0])
    change = pool_change(sizes1, means1, sizes2, means2)
    first = pool(list(zip(sizes1.tolist(), means1.tolist(), strict=True)))
    last = pool(list(zip(sizes2.tolist(), means2.tolist(), strict=True)))
    assert change.first == pytest.approx(first.mean) and change.last == pytest.approx(last.mean)
    assert change.change == pytest.approx(last.mean - first.mean)  # type: ignore[operator]
    assert change.ci95 is not None and change.ci95[0] < change.change < change.ci95[1]


def test_a_level_difference_between_groups_adds_no_uncertainty_to_the_change():
    """Three groups that each fall by exactly 2 points, from very different levels: the change
    is certain, although the levels differ by 6 points."""
    sizes = np.array([8, 8, 8])
    change = pool_change(sizes, np.array([2.0, 5.0, 8.0]), sizes, np.array([0.0, 3.0, 6.0]))
    assert change.change == pytest.approx(-2)
    assert change.se == pytest.approx(0)


# --------------------------------------------------------------------------- balanced panel


def test_the_panel_counts_only_groups_with_both_ends(store, make_staff):
    world = make_world(store, make_staff)
    for name, sessions in (("A", (1, 6)), ("B", (1, 6)), ("C", (1,)), ("D", (1, 3))):
        cohort = add_cohort(world, name, roster(name, 6))
        for number in sessions:
            closed_pulse(world, cohort, number, [4, 5, 5, 6, 6])
    stress = results(world).measure_trends["stress"]
    assert stress.panel_size == 2
    by_session = {f.session_number: f.pooled.G for f in stress.panel}
    assert by_session == {1: 2, 6: 2}
    everyone = {f.session_number: f.pooled.G for f in stress.everyone if f.pooled.G}
    assert everyone[1] == 4 and everyone[6] == 2
    drawn = [f for f in stress.everyone if f.pooled.mean is not None]
    assert composition_drops(drawn) == [(3, 4, 1)]


def test_drops_are_found_where_the_count_falls():
    def at(number: int, groups: int) -> PooledFigure:
        return PooledFigure(
            "stress", number, pool([(8, 5.0)] * groups, (0, 10)) if groups else pool([]), 0
        )

    figures = [at(1, 4), at(2, 4), at(3, 3), at(4, 3), at(5, 2), at(6, 3)]
    assert composition_drops(figures) == [(3, 4, 3), (5, 3, 2)]


# --------------------------------------------------------------------------- the grid


def cell(cohort: int, number: int, n: int, mean: float, step: float) -> ReleasedCell:
    return ReleasedCell(cohort, number, number, "stress", ReleasedSummary(n, mean, step, (0, 10)))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(5, 40),
    st.integers(0, 20),
    st.integers(5, 40),
    st.integers(0, 20),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.sampled_from([0.5, 1.0, 2.0]),
)
def test_the_grid_changes_equal_the_cohort_dashboard_changes(n1, m1, n2, m2, s1, s2):
    a, b = cell(1, 1, n1, m1 * s1 / 2, s1), cell(1, 6, n2, m2 * s2 / 2, s2)
    one = release_change(a, b, (0, 10))
    diff, low, high = release_changes(
        *(np.array([v], dtype=float) for v in (n1, a.summary.mean, s1, n2, b.summary.mean, s2)),
        np.array([0.0]),
        np.array([10.0]),
    )
    assert (diff[0], low[0], high[0]) == (one.diff, one.ci95[0], one.ci95[1])


def test_the_grid_has_a_row_per_cohort_and_a_column_per_measure(store, make_staff):
    world = make_world(store, make_staff)
    north = add_cohort(world, "North", roster("N", 6))
    closed_pulse(world, north, 1, [8, 8, 9, 9, 9])
    closed_pulse(world, north, 6, [1, 1, 2, 2, 2])
    south = add_cohort(world, "South", roster("S", 6))
    closed_pulse(world, south, 1, [5, 5, 5, 6, 6])
    closed_pulse(world, south, 6, [5, 5, 5, 6, 6])
    add_cohort(world, "Waiting", roster("W", 6), start=TODAY + dt.timedelta(days=30))
    grid = results(world).grid
    assert grid is not None
    assert list(grid.frame["Cohort"]) == ["North", "South"]  # a group without figures: not named
    assert [c.measure for c in grid.columns] == sorted(world.bundle().instruments)
    stress = next(c for c in grid.columns if c.measure == "stress")
    north_row, south_row = grid.frame.to_dict("records")
    assert north_row[stress.change] == -7 and north_row[stress.clear]
    assert south_row[stress.change] == 0 and not south_row[stress.clear]
    assert grid.cohorts_with_figures() == 2

    view = grid_view(grid, "nor", ["Finished", "Running", "Scheduled"])
    assert list(view.frame["Cohort"]) == ["North"]
    assert grid_view(grid, "", ["Scheduled"]).frame.empty
    shown = view.styled.to_html()
    assert "−7" in shown


def test_a_held_back_group_has_no_figure_in_the_grid(store, make_staff):
    world = make_world(store, make_staff)
    small = add_cohort(world, "Small", roster("Q", 4))
    closed_pulse(world, small, 1, [0, 0, 0, 0])
    closed_pulse(world, small, 6, [10, 10, 10, 10])
    grid = results(world).grid
    assert grid is not None and grid.cohorts_with_figures() == 0
    assert "Small" not in repr(grid.frame)


@pytest.mark.parametrize(
    ("value", "clear", "text"),
    [(-1.5, True, "−1.5"), (2.0, False, "+2 ?"), (float("nan"), False, "—"), (0.0, False, "+0 ?")],
)
def test_change_text(value, clear, text):
    assert change_text(value, clear) == text


def test_a_long_grid_is_drawn_as_plain_numbers(store, make_staff, monkeypatch):
    import program.comparison as comparison

    world = make_world(store, make_staff)
    for name in ("North", "South"):
        cohort = add_cohort(world, name, roster(name[0], 6))
        closed_pulse(world, cohort, 1, [3, 4, 5, 6, 7])
        closed_pulse(world, cohort, 6, [5, 6, 7, 8, 9])
    grid = results(world).grid
    assert grid is not None
    assert grid_view(grid, "", ["Finished", "Running"]).marked
    monkeypatch.setattr(comparison, "MARKED_ROWS", 1)
    long = grid_view(grid, "", ["Finished", "Running"])
    assert not long.marked and long.styled is long.frame
    assert grid_view(grid, "North", ["Finished", "Running"]).marked
