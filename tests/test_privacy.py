"""The release rules (docs/design.md, "Privacy rules"): no number about responses is shown unless
it rests on at least k responses from a closed pulse; a released mean is rounded to a step that
grows coarser as n falls, up or down at random by the cell's frozen draw; every per-cohort interval
assumes a spread of a quarter of the scale's range; and no shown number depends on a suppressed
cell, nor on a released one except through n and its released mean."""

from __future__ import annotations

import ast
import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from program.privacy import (
    NICE_STEPS,
    REFERENCE_SPREAD_SHARE,
    CellState,
    ReleasedCell,
    ReleasedSummary,
    StoredCell,
    format_value,
    pool_frame,
    pool_released,
    release_cells,
    release_change,
    release_frame,
    release_step,
    released_frame,
    released_means,
    round_to_step,
    rounding_outcomes,
    step_bands,
    step_decimals,
    suppression_reason,
)
from program.stats import reference_change, t_quantile
from tests.factories.paths import ROOT
from tests.factories.stores import NEAREST_DRAW

SCALE = {"m": (0.0, 10.0)}
draws = st.floats(0, 1, exclude_max=True)


def release(cells: list[StoredCell], k: int = 5):  # type: ignore[no-untyped-def]
    return release_cells(cells, k, SCALE)


def cell(
    n: int,
    *,
    state: CellState = CellState.CLOSED,
    cohort: int = 1,
    number: int = 1,
    value: float = 5.0,
    draw: float = NEAREST_DRAW,
) -> StoredCell:
    return StoredCell(cohort, cohort * 100 + number, number, "m", state, n, value * n, draw)


# --------------------------------------------------------------------------- the threshold


def test_a_cell_is_released_at_k_and_above_and_never_below():
    k = 5
    assert suppression_reason(cell(k - 1), k) == "fewer than 5 responses"
    assert suppression_reason(cell(k), k) is None
    assert suppression_reason(cell(k + 1), k) is None


def test_an_open_pulse_releases_nothing_however_many_answered():
    for n in (4, 5, 6, 40):
        reason = suppression_reason(cell(n, state=CellState.OPEN), 5)
        assert reason is not None and "still open" in reason


def test_a_suppressed_cell_carries_no_count_or_score():
    (suppressed,) = release([cell(4)]).suppressed
    fields = {f.name for f in dataclasses.fields(suppressed)}
    assert fields == {"cohort_id", "session_id", "session_number", "measure", "state", "reason"}


def test_a_released_cell_carries_n_the_rounded_mean_its_step_and_an_interval_only():
    (released,) = release([cell(6, value=3.4)]).released
    assert {f.name for f in dataclasses.fields(ReleasedCell)} == {
        "cohort_id",
        "session_id",
        "session_number",
        "measure",
        "summary",
    }
    assert {f.name for f in dataclasses.fields(ReleasedSummary)} == {"n", "mean", "step", "ci95"}
    assert released.summary.n == 6 and released.summary.mean == 3.0 and released.summary.step == 1
    for hidden in ("total", "total_sq", "draw", "sd", "counts", "values", "cell"):
        assert not hasattr(released, hidden) and not hasattr(released.summary, hidden), hidden


def test_k_outside_three_to_ten_is_refused():
    for k in (2, 11):
        with pytest.raises(ValueError):
            release_cells([], k, SCALE)
        with pytest.raises(ValueError):
            release_frame(pd.DataFrame({"closed": [], "n": []}), k)


def test_pooled_figures_use_released_rounded_means_and_count_the_rest():
    cells = [
        cell(4, cohort=1, value=1.0),
        cell(5, cohort=2, value=6.4, draw=0.5),  # 0.4 of the way from 6 to 7: released as 6
        cell(10, cohort=3, value=8.3, draw=0.5),  # ten answers: halves; 0.6 of the way: 8.5
    ]
    figure = pool_released(release(cells), "m", 1, SCALE["m"])
    assert (figure.pooled.G, figure.pooled.N, figure.left_out) == (2, 15, 1)
    assert figure.pooled.mean == pytest.approx((5 * 6.0 + 10 * 8.5) / 15, abs=1e-12)


# --------------------------------------------------------------------------- the step


@pytest.mark.parametrize(
    "scale, sizes",
    [
        ((0.0, 10.0), {3: 2, 4: 2, 5: 1, 9: 1, 10: 0.5, 19: 0.5, 20: 0.25, 24: 0.25, 25: 0.2}),
        ((0.0, 100.0), {5: 10, 9: 10, 10: 5, 19: 5, 20: 2.5, 24: 2.5, 25: 2, 49: 2, 50: 1}),
        ((1.0, 7.0), {3: 1, 5: 1, 6: 0.5, 11: 0.5, 12: 0.25, 14: 0.25, 15: 0.2, 30: 0.1}),
        ((0.0, 5.0), {5: 0.5, 9: 0.5, 10: 0.25, 12: 0.25, 13: 0.2, 24: 0.2, 25: 0.1}),
    ],
)
def test_release_step_at_its_boundaries(scale, sizes):
    low, high = scale
    for n, step in sizes.items():
        assert release_step(n, low, high) == step, (scale, n)


def test_a_step_exactly_meeting_the_rule_is_taken():
    # n · step = (high − low) / 2 exactly: 5 × 1 = 10 / 2, 10 × 0.5, 20 × 0.25, 6 × 0.5 = 6 / 2.
    assert release_step(5, 0, 10) == 1 and release_step(10, 0, 10) == 0.5
    assert release_step(20, 0, 10) == 0.25 and release_step(6, 1, 7) == 0.5


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 500),
    st.integers(0, 50),
    st.integers(1, 100),
    st.sampled_from([1.0, 4.0, 0.5]),
)
def test_release_step_is_the_smallest_nice_step_meeting_the_rule(n, low, width, unit):
    low, high = low * unit, (low + width) * unit
    step = release_step(n, low, high)
    assert n * step >= (high - low) / 2 - 1e-12
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, float(m)) for m in NICE_STEPS)
    smaller = max(
        float(m) * 10.0**p
        for m in NICE_STEPS
        for p in range(-6, 6)
        if float(m) * 10.0**p < step * (1 - 1e-12)
    )
    assert n * smaller < (high - low) / 2


def test_release_step_refuses_nonsense():
    with pytest.raises(ValueError):
        release_step(0, 0, 10)
    with pytest.raises(ValueError):
        release_step(5, 10, 10)


def test_figures_are_written_with_their_steps_decimals():
    assert [step_decimals(s) for s in (10, 5, 2.5, 2, 1, 0.5, 0.25, 0.2, 0.1)] == [
        0,
        0,
        1,
        0,
        0,
        1,
        2,
        1,
        1,
    ]
    assert [format_value(v, s) for v, s in ((6.0, 1), (6.5, 0.5), (6.25, 0.25), (80, 10))] == [
        "6",
        "6.5",
        "6.25",
        "80",
    ]
    assert format_value(-0.0, 0.5) == "0.0"
    assert step_bands(0, 10, 5, 25) == [(5, 9, 1.0), (10, 19, 0.5), (20, 24, 0.25), (25, 25, 0.2)]


# --------------------------------------------------------------------------- random rounding


def test_a_mean_rounds_to_the_grid_point_above_when_the_draw_is_below_its_distance_from_the_one_below():
    # 6.25 is a quarter of the way from 6 to 7: up for draws below 0.25, down from 0.25 on.
    assert [round_to_step(6.25, 1, 0, 10, d) for d in (0.0, 0.24, 0.25, 0.99)] == [7, 7, 6, 6]
    # The grid counts from the scale's low end: step 2 on 1–7 is 1, 3, 5, 7 (not 0, 2, 4, 6).
    assert [round_to_step(4.0, 2, 1, 7, d) for d in (0.49, 0.5)] == [5, 3]
    assert [round_to_step(v, 2, 1, 7, 0.0) for v in (1.0, 1.1, 6.9, 7.0)] == [1, 3, 7, 7]
    # 8.5 from sums (51 / 6), not 8.4999…: half way, so up for draws below a half.
    assert [round_to_step(51 / 6, 1, 0, 10, d) for d in (0.49, 0.5)] == [9, 8]
    # 0.1 + 0.2 is on the grid of 0.1: always 0.3, written as 0.3, not 0.30000000000000004.
    assert {round_to_step(0.1 + 0.2, 0.1, 0, 10, d) for d in (0.0, 0.5, 0.999)} == {0.3}
    # The ends of the scale are on the grid: all answers at an end always show that end.
    assert {round_to_step(v, 1, 0, 10, d) for v in (0.0, 10.0) for d in (0, 0.999)} == {0, 10}


def test_a_high_end_off_the_grid_is_its_last_grid_point():
    # 0–7 in steps of 2 counts 0, 2, 4, 6 and then 7: 6.5 is half way from 6 to 7.
    assert [round_to_step(6.5, 2, 0, 7, d) for d in (0.49, 0.5)] == [7, 6]
    assert {round_to_step(7.0, 2, 0, 7, d) for d in (0.0, 0.999)} == {7}


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 40), st.integers(0, 400), st.sampled_from([(0.0, 10.0), (1.0, 7.0)]))
def test_random_rounding_is_unbiased_and_lands_less_than_a_step_away(n, total, scale):
    low, high = scale
    total = low * n + total % int((high - low) * n + 1)
    step = release_step(n, low, high)
    grid = (np.arange(20_000) + 0.5) / 20_000  # draws spread evenly over [0, 1)
    shown = released_means(n, np.full(grid.shape, float(total)), grid, low, high)
    mean = total / n
    assert np.all(np.abs(shown - mean) < step + 1e-9)
    assert len(set(shown.tolist())) <= 2
    assert shown.mean() == pytest.approx(mean, abs=step / 10_000)


def test_the_outcomes_are_the_two_grid_points_and_the_chance_of_the_upper():
    lower, upper, up = rounding_outcomes(5, np.array([0.0, 1.0, 32.0, 50.0]), 0, 10)
    # The one above is never shown when its chance is 0; at the top it is the top.
    assert lower.tolist() == [0, 0, 6, 10] and upper.tolist() == [1, 1, 7, 10]
    assert up.tolist() == pytest.approx([0, 0.2, 0.4, 0])


def test_a_released_cell_without_a_draw_is_refused():
    with pytest.raises(ValueError, match="rounding draw"):
        round_to_step(5.0, 1, 0, 10, math.nan)
    for draw in (math.nan, -0.1, 1.0):
        with pytest.raises(ValueError, match="rounding draw"):
            release([cell(5, draw=draw)])
    # A cell that is not released needs none.
    assert release([cell(4, draw=math.nan)]).released == ()


def test_the_same_cells_always_release_the_same_figures():
    cells = [cell(n, value=v, draw=d) for n, v, d in ((5, 6.4, 0.1), (7, 3.3, 0.8), (12, 8.7, 0.5))]
    assert release(cells) == release(list(cells))


# --------------------------------------------------------------------------- the interval


def stored_values(cohort: int, number: int, values: list[int], draw: float = NEAREST_DRAW):  # type: ignore[no-untyped-def]
    return stored(cohort, number, values, CellState.CLOSED, draw)


@pytest.mark.parametrize("n", [5, 6, 12, 20])
def test_the_interval_assumes_a_spread_of_a_quarter_of_the_range(n):
    (released,) = release([stored_values(1, 1, [5] * n)], k=3).released
    s = released.summary
    half = t_quantile(n - 1) * REFERENCE_SPREAD_SHARE * 10 / math.sqrt(n)
    assert s.mean == 5
    assert s.ci95 == (
        math.floor((5 - half) / s.step) * s.step,
        math.ceil((5 + half) / s.step) * s.step,
    )


def test_the_interval_is_the_same_whatever_the_cells_spread_or_the_other_cohorts():
    narrow = stored_values(1, 1, [5] * 12)
    wide = stored_values(1, 1, [0, 0, 0, 10, 10, 10, 0, 10, 5, 5, 5, 5])
    others = [stored_values(c, 1, [c % 10] * 5) for c in range(2, 9)]
    alone = release([narrow]).released[0].summary
    assert release([wide]).released[0].summary == alone
    assert release([narrow, *others]).released[0].summary == alone


def test_interval_ends_lie_on_the_step_and_inside_the_scale():
    for values in ([0] * 5, [10] * 5, [0, 0, 0, 0, 1], [10] * 19 + [9]):
        for draw in (0.0, 0.5, 0.99):
            (released,) = release([stored_values(1, 1, values, draw)]).released
            s = released.summary
            low, high = s.ci95
            assert 0 <= low <= s.mean <= high <= 10
            for end in (low, high, s.mean):
                assert abs(end / s.step - round(end / s.step)) < 1e-9


# --------------------------------------------------------------------------- first → last


def test_the_change_uses_released_means_and_a_quarter_of_the_range_for_both_sessions():
    first = stored_values(1, 1, [8, 7, 9, 8, 6, 7])  # 7.5, half way: 8 with a draw below 0.5
    last = stored_values(1, 6, [3, 4, 2, 3, 5, 4, 3, 2, 4, 3])  # 3.3: 3.5 (ten answers: halves)
    a, b = release([first, last]).released
    assert (a.summary.mean, b.summary.mean) == (8.0, 3.5)
    change = release_change(a, b, SCALE["m"])
    exact = reference_change(6, 8.0, 10, 3.5, 2.5)
    assert change.diff == -4.5 and change.diff_step == 0.5 and change.ci_step == 1.0
    assert change.ci95 == (math.floor(exact.ci95[0]), math.ceil(exact.ci95[1]))
    assert exact.hedges is not None
    assert change.g == pytest.approx(round(exact.hedges.g, 1))
    assert change.g_ci95 == (
        pytest.approx(math.floor(exact.hedges.ci95[0] * 10) / 10),
        pytest.approx(math.ceil(exact.hedges.ci95[1] * 10) / 10),
    )
    # Hedges' g with the reference spread and the usual small-sample correction.
    j = 1 - 3 / (4 * (6 + 10 - 2) - 1)
    assert exact.hedges.g == pytest.approx(j * -4.5 / 2.5)
    assert exact.df == 14 and exact.se == pytest.approx(2.5 * math.sqrt(1 / 6 + 1 / 10))
    # The same whatever else the program holds.
    others = [stored_values(c, n, [c, 10 - c, 5, 5, 5]) for c in (2, 3, 4) for n in (1, 6)]
    a2, b2 = [c for c in release([first, last, *others]).released if c.cohort_id == 1]
    assert release_change(a2, b2, SCALE["m"]) == change


def test_a_change_compares_one_cohorts_measure_only():
    a, b = release([stored_values(1, 1, [5] * 5), stored_values(2, 2, [5] * 5)]).released
    with pytest.raises(ValueError):
        release_change(a, b, SCALE["m"])


# --------------------------------------------------------------------------- the property

scores = st.lists(st.integers(0, 10), min_size=0, max_size=14)


def stored(
    cohort: int, number: int, values: list[int], state: CellState, draw: float = NEAREST_DRAW
) -> StoredCell:
    return StoredCell(
        cohort, cohort * 100 + number, number, "m", state, len(values), float(sum(values)), draw
    )


@st.composite
def programs(draw):  # type: ignore[no-untyped-def]
    """Cohorts × sessions, each cell with random answers, a random rounding draw, and an open or
    closed pulse."""
    k = draw(st.integers(3, 10))
    cells = []
    for cohort in range(1, draw(st.integers(1, 5)) + 1):
        for number in range(1, draw(st.integers(1, 4)) + 1):
            state = draw(st.sampled_from([CellState.CLOSED, CellState.CLOSED, CellState.OPEN]))
            cells.append(stored(cohort, number, draw(scores), state, draw(draws)))
    return k, cells


def changes(released: list[ReleasedCell]) -> list[object]:
    """First → last of every cohort with two released cells."""
    by_cohort: dict[int, list[ReleasedCell]] = {}
    for c in released:
        by_cohort.setdefault(c.cohort_id, []).append(c)
    return [
        release_change(mine[0], mine[-1], SCALE["m"])
        for mine in by_cohort.values()
        if len(mine) > 1
    ]


def shown_numbers(k: int, cells: list[StoredCell]) -> list[object]:
    """Every number a dashboard could show or export from these cells."""
    released = release_cells(cells, k, SCALE)
    out: list[object] = [(c.cohort_id, c.session_number, c.summary) for c in released.released]
    numbers = sorted({c.session_number for c in cells})
    out += [pool_released(released, "m", n, SCALE["m"]) for n in numbers]
    out += changes(list(released.released))
    out.append([(s.cohort_id, s.session_number, s.reason) for s in released.suppressed])
    return out


@settings(max_examples=200, deadline=None)
@given(programs(), st.data())
def test_no_shown_number_depends_on_a_suppressed_cell(program, data):
    k, cells = program
    released = release_cells(cells, k, SCALE)
    states = {(c.cohort_id, c.session_number): c.state for c in cells}
    assert all(
        c.n >= k and states[(c.cohort_id, c.session_number)] == CellState.CLOSED
        for c in released.released
    )
    suppressed = {(s.cohort_id, s.session_number) for s in released.suppressed}
    # Replace every suppressed cell's answers and draw with others that keep it suppressed.
    changed = []
    for c in cells:
        if (c.cohort_id, c.session_number) in suppressed:
            if c.state == CellState.OPEN:
                values = data.draw(scores)
            else:
                values = data.draw(st.lists(st.integers(0, 10), max_size=k - 1))
            changed.append(stored(c.cohort_id, c.session_number, values, c.state, data.draw(draws)))
        else:
            changed.append(c)
    assert shown_numbers(k, cells) == shown_numbers(k, changed)


def released_mean(values: list[int], draw: float) -> float:
    n = len(values)
    return round_to_step(sum(values) / n, release_step(n, 0, 10), 0, 10, draw)


def same_released_mean(data, values: list[int], draw: float) -> tuple[list[int], float]:  # type: ignore[no-untyped-def]
    """Other answers, as many, and another draw, with the same released mean: drawn, then the
    answers nudged until the mean they release with that draw is the same."""
    n = len(values)
    target = released_mean(values, draw)
    other = data.draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    other_draw = data.draw(draws)
    for i in range(40 * n):
        mean = released_mean(other, other_draw)
        if mean == target:
            return other, other_draw
        j = i % n
        other[j] = max(0, min(10, other[j] + (1 if mean < target else -1)))
    raise AssertionError("no answers found with that released mean")


def own_view(cells: list[StoredCell], k: int, cohort_id: int) -> list[object]:
    """What one cohort's facilitator sees of its pulse results, and every pooled figure."""
    released = release_cells(cells, k, SCALE)
    mine = [c for c in released.released if c.cohort_id == cohort_id]
    numbers = sorted({c.session_number for c in cells})
    pooled = [pool_released(released, "m", n, SCALE["m"]) for n in numbers]
    return [mine, changes(mine), pooled]


def others_view(cells: list[StoredCell], k: int, cohort_id: int) -> list[object]:
    """What every other cohort's pages show of their own pulse results."""
    released = release_cells(cells, k, SCALE)
    theirs = [c for c in released.released if c.cohort_id != cohort_id]
    return [theirs, changes(theirs)]


def a_released_cell(data, program):  # type: ignore[no-untyped-def]
    k, cells = program
    released = [i for i, c in enumerate(cells) if suppression_reason(c, k) is None]
    assume(released)
    at = data.draw(st.sampled_from(released))
    return at, cells[at]


@settings(max_examples=200, deadline=None)
@given(programs(), st.data())
def test_a_cells_figures_depend_on_its_answers_and_draw_only_through_n_and_the_released_mean(
    program, data
):
    """Swap one released cell's answers and draw for others with the same n and the same
    released mean (the mean's place between two grid points and the draw may differ): nothing
    its own cohort shows changes, and no pooled figure changes."""
    k, cells = program
    at, chosen = a_released_cell(data, program)
    values = data.draw(st.lists(st.integers(0, 10), min_size=chosen.n, max_size=chosen.n))
    draw = data.draw(draws)
    other, other_draw = same_released_mean(data, values, draw)
    before, after = list(cells), list(cells)
    number = chosen.session_number
    before[at] = stored(chosen.cohort_id, number, values, CellState.CLOSED, draw)
    after[at] = stored(chosen.cohort_id, number, other, CellState.CLOSED, other_draw)
    assert own_view(before, k, chosen.cohort_id) == own_view(after, k, chosen.cohort_id)


@settings(max_examples=200, deadline=None)
@given(programs(), st.data())
def test_other_cohorts_figures_do_not_depend_on_a_cell_at_all(program, data):
    """Give one released cell any other answers (n − 1, n or n + 1 of them) and any other draw:
    what every other cohort shows of its own results stays the same."""
    k, cells = program
    at, chosen = a_released_cell(data, program)
    size = max(0, chosen.n + data.draw(st.sampled_from([-1, 0, 1])))
    values = data.draw(st.lists(st.integers(0, 10), min_size=size, max_size=size))
    changed = list(cells)
    changed[at] = stored(
        chosen.cohort_id, chosen.session_number, values, CellState.CLOSED, data.draw(draws)
    )
    assert others_view(cells, k, chosen.cohort_id) == others_view(changed, k, chosen.cohort_id)


# --------------------------------------------------------------------------- no way around it

RAW_TABLES = re.compile(
    r"\b(FROM|JOIN)\s+(responses|answers|scores|cell_summaries|cell_counts)\b", re.I
)


def test_only_the_store_reads_response_tables():
    """Raw response tables are read in SQL only inside program/store/."""
    offenders = []
    for path in [*ROOT.glob("*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("program/*.py")]:
        if RAW_TABLES.search(path.read_text(encoding="utf-8")):
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_no_page_or_view_reads_cells_one_by_one():
    """Pages, views and exports reach response figures only through the column path
    (program/cells.py: `Store.program_cells` and the release engine); the cell-by-cell reads
    are left to the oracle in tests/cell_by_cell.py."""
    readers = {"cell_summaries", "cell_counts", "pulse_states"}
    offenders = []
    views = [*ROOT.glob("program/*.py"), *ROOT.glob("program/views/*.py")]
    for path in [*ROOT.glob("*.py"), *ROOT.glob("pages/*.py"), *views]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in readers:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def program_cells_calls(tree: ast.Module) -> list[tuple[int, bool]]:
    """Each call of `.program_cells(...)`: its line, and whether its result goes straight into
    `release_frame(...)` as the first argument (the only way its n and sums may be read)."""
    released = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            == "release_frame"
            and node.args
        ):
            released.add(id(node.args[0]))
    return sorted(
        (node.lineno, id(node) in released)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "program_cells"
    )


def test_the_program_cells_rule_catches_a_read_that_skips_the_release_engine():
    source = (
        "marked = release_frame(store.program_cells(ids, plan), k)\n"
        "raw = store.program_cells(ids, plan)\n"
        "print(raw['total'].sum())\n"
    )
    assert program_cells_calls(ast.parse(source)) == [(1, True), (2, False)]


def test_program_cells_is_read_only_through_the_release_engine():
    """`Store.program_cells` hands back n and the sum of every cell, held back or not. Outside
    the store it is called in one place, program/cells.py, straight into `release_frame`, which
    drops what may not be shown before anything else sees it."""
    callers = {}
    for path in [*ROOT.glob("*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]:
        callers[path] = program_cells_calls(ast.parse(path.read_text(encoding="utf-8")))
    for path in ROOT.glob("program/**/*.py"):
        if "store" not in path.relative_to(ROOT).parts:
            callers[path] = program_cells_calls(ast.parse(path.read_text(encoding="utf-8")))
    found = {p.relative_to(ROOT).as_posix(): c for p, c in callers.items() if c}
    assert list(found) == ["program/cells.py"]
    assert all(straight for _, straight in found["program/cells.py"])


def frame_of(cells: list[StoredCell]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort_id": [c.cohort_id for c in cells],
            "session_id": [c.session_id for c in cells],
            "session_number": [c.session_number for c in cells],
            "measure": pd.Categorical([c.measure for c in cells]),
            "closed": [c.state == CellState.CLOSED for c in cells],
            "n": [c.n for c in cells],
            "total": [c.total for c in cells],
            "draw": [c.draw for c in cells],
        }
    )


@settings(max_examples=150, deadline=None)
@given(programs())
def test_column_wise_release_agrees_with_cell_by_cell(program):
    """The program dashboard's column-wise path applies exactly the same rules, and gives the
    same released means and intervals to the bit."""
    k, cells = program
    marked = release_frame(frame_of(cells), k)
    shown = released_frame(marked, SCALE)
    released = release_cells(cells, k, SCALE)
    assert not {"total", "total_sq", "draw"} & set(shown.columns)
    assert list(shown["session_id"]) == [c.session_id for c in released.released]
    for row, cell in zip(shown.itertuples(), released.released, strict=True):
        s = cell.summary
        assert (row.n, row.mean, row.step, (row.ci_low, row.ci_high)) == (
            s.n,
            s.mean,
            s.step,
            s.ci95,
        )
    reasons = dict(zip(marked["session_id"], marked["reason"], strict=True))
    assert all(reasons[s.session_id] == s.reason for s in released.suppressed)
    left_out = marked.loc[~marked["released"], ["measure", "session_number"]]
    by_frame = {(f.measure, f.session_number): f for f in pool_frame(shown, left_out, SCALE)}
    for number in sorted({c.session_number for c in cells}):
        expected = pool_released(released, "m", number, SCALE["m"])
        got = by_frame[("m", number)]
        assert got.left_out == expected.left_out
        assert (got.pooled.G, got.pooled.N) == (expected.pooled.G, expected.pooled.N)
        if expected.pooled.mean is None:
            assert got.pooled.mean is None
        else:
            assert abs(got.pooled.mean - expected.pooled.mean) < 1e-9


def test_the_column_wise_path_refuses_a_released_cell_without_a_draw():
    frame = frame_of([cell(5, draw=0.5), cell(6, cohort=2)])
    frame.loc[1, "draw"] = math.nan
    with pytest.raises(ValueError, match="rounding draw"):
        released_frame(release_frame(frame, 5), SCALE)
    frame.loc[1, "n"] = 4  # suppressed: no draw needed
    assert len(released_frame(release_frame(frame, 5), SCALE)) == 1
