"""The release rules (DESIGN section 3): no number about responses is shown unless it rests on at
least k responses from a closed pulse; a released mean is rounded to a step that grows coarser as
n falls; its interval borrows its spread from other cohorts; and no shown number depends on a
suppressed cell, nor on a released one except through n and its rounded mean."""

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
    DEFAULT_SPREAD_SHARE,
    NICE_STEPS,
    SPREAD_QUANTA,
    CellState,
    ReleasedCell,
    ReleasedSummary,
    StoredCell,
    cell_spreads,
    format_value,
    pool_frame,
    pool_released,
    release_cells,
    release_change,
    release_frame,
    release_step,
    released_frame,
    round_to_step,
    step_bands,
    step_decimals,
    suppression_reason,
)
from program.stats import _t_quantile, reference_change
from tests.conftest import ROOT

SCALE = {"m": (0.0, 10.0)}


def release(cells: list[StoredCell], k: int = 5):  # type: ignore[no-untyped-def]
    """Release cells with reference spreads from those same cells, as one program."""
    return release_cells(cells, k, SCALE, cell_spreads(cells, k))


def cell(
    n: int,
    *,
    state: CellState = CellState.CLOSED,
    cohort: int = 1,
    number: int = 1,
    value: float = 5.0,
) -> StoredCell:
    return StoredCell(cohort, cohort * 100 + number, number, "m", state, n, value * n, value**2 * n)


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
    assert fields == {"cohort_id", "session_id", "session_number", "measure", "reason"}


def test_a_released_cell_carries_n_the_rounded_mean_its_step_and_an_interval_only():
    (released,) = release([cell(6, value=3.4)]).released
    assert {f.name for f in dataclasses.fields(ReleasedCell)} == {
        "cohort_id",
        "session_id",
        "session_number",
        "measure",
        "summary",
    }
    assert {f.name for f in dataclasses.fields(ReleasedSummary)} == {
        "n",
        "mean",
        "step",
        "ci95",
        "borrowed_spread",
    }
    assert released.summary.n == 6 and released.summary.mean == 3.0 and released.summary.step == 1
    for hidden in ("total", "total_sq", "sd", "counts", "values", "cell"):
        assert not hasattr(released, hidden) and not hasattr(released.summary, hidden), hidden


def test_k_outside_three_to_ten_is_refused():
    for k in (2, 11):
        with pytest.raises(ValueError):
            release_cells([], k, SCALE, cell_spreads([], 5))
        with pytest.raises(ValueError):
            release_frame(pd.DataFrame({"closed": [], "n": []}), k)


def test_pooled_figures_use_released_rounded_means_and_count_the_rest():
    cells = [
        cell(4, cohort=1, value=1.0),
        cell(5, cohort=2, value=6.4),  # released as 6
        cell(10, cohort=3, value=8.3),  # ten answers: halves, released as 8.5
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


def test_rounding_counts_from_the_scales_low_end_halves_up_and_clips():
    assert [round_to_step(v, 1, 1, 7) for v in (1.2, 2.5, 3.49, 6.9)] == [1, 3, 3, 7]
    # Step 2 on 1–7 counts 1, 3, 5, 7 (not 0, 2, 4, 6).
    assert [round_to_step(v, 2, 1, 7) for v in (1.9, 2.1, 4.0, 6.2)] == [1, 3, 5, 7]
    # 0–7 in steps of 2 would reach 8: clipped into the scale.
    assert round_to_step(7.0, 2, 0, 7) == 7
    assert round_to_step(6.375, 0.25, 0, 10) == 6.5  # a half step rounds up
    assert round_to_step(51 / 6, 1, 0, 10) == 9  # 8.5 from sums, not 8.4999…
    assert (
        round_to_step(0.1 + 0.2, 0.1, 0, 10) == 0.3
    )  # and written as 0.3, not 0.30000000000000004


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


# --------------------------------------------------------------------------- the interval


def stored_values(cohort: int, number: int, values: list[int]) -> StoredCell:
    return stored(cohort, number, values, CellState.CLOSED)


def test_with_fewer_than_three_other_cohorts_the_interval_uses_a_quarter_of_the_range():
    cells = [stored_values(c, 1, [1, 2, 3, 9, 9]) for c in (1, 2, 3)]
    for released in release(cells).released:
        s = released.summary
        assert not s.borrowed_spread
        half = _t_quantile(4) * DEFAULT_SPREAD_SHARE * 10 / math.sqrt(5)
        assert s.ci95 == (math.floor(s.mean - half), math.ceil(s.mean + half))


def test_the_interval_borrows_the_pooled_spread_of_the_other_cohorts_only():
    others = {2: [0, 5, 10, 5, 5], 3: [1, 2, 3, 4, 5, 6], 4: [2, 2, 8, 8, 5]}
    mine = [4, 4, 5, 5, 6, 6, 5, 5, 5, 5, 4, 6]  # twelve answers: halves
    cells = [stored_values(1, 1, mine)] + [stored_values(c, 1, v) for c, v in others.items()]
    ss = sum(sum((x - sum(v) / len(v)) ** 2 for x in v) for v in others.values())
    df = sum(len(v) - 1 for v in others.values())
    ref = math.sqrt(ss / df)
    (own,) = [c for c in release(cells).released if c.cohort_id == 1]
    s = own.summary
    assert s.borrowed_spread and s.mean == 5.0 and s.step == 0.5
    half = _t_quantile(11) * ref / math.sqrt(12)
    assert s.ci95 == (
        math.floor((5 - half) / 0.5) * 0.5,
        math.ceil((5 + half) / 0.5) * 0.5,
    )
    # The cohort's own spread is not part of its own interval, however wide it is.
    wide = [stored_values(1, 1, [0, 0, 0, 10, 10, 10, 0, 10, 5, 5, 5, 5])] + cells[1:]
    (again,) = [c for c in release(wide).released if c.cohort_id == 1]
    assert again.summary == s


def test_a_borrowed_spread_counts_other_cohorts_not_other_cells():
    # Two other cohorts with three sessions each: six cells, but only two cohorts.
    cells = [stored_values(1, 1, [5] * 5)]
    cells += [stored_values(c, n, [1, 9, 5, 5, 5]) for c in (2, 3) for n in (1, 2, 3)]
    (own,) = [c for c in release(cells).released if c.cohort_id == 1]
    assert not own.summary.borrowed_spread
    cells.append(stored_values(4, 1, [1, 9, 5, 5, 5]))
    (own,) = [c for c in release(cells).released if c.cohort_id == 1]
    assert own.summary.borrowed_spread


def test_interval_ends_lie_on_the_step_and_inside_the_scale():
    for values in ([0] * 5, [10] * 5, [0, 0, 0, 0, 1], [10] * 19 + [9]):
        (released,) = release([stored_values(1, 1, values)]).released
        s = released.summary
        low, high = s.ci95
        assert 0 <= low <= s.mean <= high <= 10
        for end in (low, high, s.mean):
            assert abs(end / s.step - round(end / s.step)) < 1e-9


def test_the_reference_spread_is_exactly_the_others_sum_whatever_the_order():
    cells = [stored_values(c, 1, [c % 3, 5, 10 - c % 4, 7, 2]) for c in range(1, 9)]
    spreads = cell_spreads(cells, 5)
    assert list(spreads.columns) == ["cohort_id", "measure", "ss", "df"]
    assert spreads["ss"].dtype == np.int64
    one = release_cells(cells, 5, SCALE, spreads)
    two = release_cells(cells, 5, SCALE, spreads.iloc[::-1].reset_index(drop=True))
    assert one == two
    ss = spreads["ss"].to_numpy() / SPREAD_QUANTA
    exact = [
        sum((x - sum(v) / 5) ** 2 for x in v)
        for v in ([c % 3, 5, 10 - c % 4, 7, 2] for c in range(1, 9))
    ]
    assert ss == pytest.approx(exact, abs=1e-4)


# --------------------------------------------------------------------------- first → last


def test_the_change_uses_rounded_means_and_the_reference_spread_for_both_sessions():
    first = stored_values(1, 1, [8, 7, 9, 8, 6, 7])  # 7.5 → 8 (six answers: whole points)
    last = stored_values(1, 6, [3, 4, 2, 3, 5, 4, 3, 2, 4, 3])  # 3.3 → 3.5 (ten: halves)
    a, b = release([first, last]).released
    assert (a.summary.mean, b.summary.mean) == (8.0, 3.5)
    change = release_change(a, b, cell_spreads([first, last], 5), SCALE["m"])
    exact = reference_change(6, 8.0, 10, 3.5, 2.5)  # only one cohort: the default spread
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


def test_a_change_compares_one_cohorts_measure_only():
    a, b = release([stored_values(1, 1, [5] * 5), stored_values(2, 2, [5] * 5)]).released
    with pytest.raises(ValueError):
        release_change(a, b, cell_spreads([], 5), SCALE["m"])


# --------------------------------------------------------------------------- the property

scores = st.lists(st.integers(0, 10), min_size=0, max_size=14)


def stored(cohort: int, number: int, values: list[int], state: CellState) -> StoredCell:
    return StoredCell(
        cohort,
        cohort * 100 + number,
        number,
        "m",
        state,
        len(values),
        float(sum(values)),
        float(sum(v * v for v in values)),
    )


@st.composite
def programs(draw):  # type: ignore[no-untyped-def]
    """Cohorts × sessions, each cell with random answers and an open or closed pulse."""
    k = draw(st.integers(3, 10))
    cells = []
    for cohort in range(1, draw(st.integers(1, 5)) + 1):
        for number in range(1, draw(st.integers(1, 4)) + 1):
            state = draw(st.sampled_from([CellState.CLOSED, CellState.CLOSED, CellState.OPEN]))
            cells.append(stored(cohort, number, draw(scores), state))
    return k, cells


def shown_numbers(k: int, cells: list[StoredCell]) -> list[object]:
    """Every number a dashboard could show or export from these cells."""
    spreads = cell_spreads(cells, k)
    released = release_cells(cells, k, SCALE, spreads)
    out: list[object] = [(c.cohort_id, c.session_number, c.summary) for c in released.released]
    numbers = sorted({c.session_number for c in cells})
    out += [pool_released(released, "m", n, SCALE["m"]) for n in numbers]
    by_cohort: dict[int, list[ReleasedCell]] = {}
    for c in released.released:
        by_cohort.setdefault(c.cohort_id, []).append(c)
    out += [
        release_change(mine[0], mine[-1], spreads, SCALE["m"])
        for mine in by_cohort.values()
        if len(mine) > 1
    ]
    out.append([(s.cohort_id, s.session_number, s.reason) for s in released.suppressed])
    return out


@settings(max_examples=200, deadline=None)
@given(programs(), st.data())
def test_no_shown_number_depends_on_a_suppressed_cell(program, data):
    k, cells = program
    released = release_cells(cells, k, SCALE, cell_spreads(cells, k))
    states = {(c.cohort_id, c.session_number): c.state for c in cells}
    assert all(
        c.n >= k and states[(c.cohort_id, c.session_number)] == CellState.CLOSED
        for c in released.released
    )
    suppressed = {(s.cohort_id, s.session_number) for s in released.suppressed}
    # Replace every suppressed cell's answers with other answers that keep it suppressed.
    changed = []
    for c in cells:
        if (c.cohort_id, c.session_number) in suppressed:
            if c.state == CellState.OPEN:
                values = data.draw(scores)
            else:
                values = data.draw(st.lists(st.integers(0, 10), max_size=k - 1))
            changed.append(stored(c.cohort_id, c.session_number, values, c.state))
        else:
            changed.append(c)
    assert shown_numbers(k, cells) == shown_numbers(k, changed)


def same_rounded_mean(draw, values: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    """Other answers, as many, with the same rounded mean: drawn, then nudged into its band."""
    n = len(values)
    step = release_step(n, 0, 10)
    target = round_to_step(sum(values) / n, step, 0, 10)
    other = draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    for i in range(40 * n):
        mean = round_to_step(sum(other) / n, step, 0, 10)
        if mean == target:
            return other
        j = i % n
        other[j] = max(0, min(10, other[j] + (1 if mean < target else -1)))
    raise AssertionError("no answers found with that rounded mean")


def own_view(cells: list[StoredCell], k: int, cohort_id: int) -> list[object]:
    """What one cohort's facilitator sees of its pulse results, and every pooled figure."""
    spreads = cell_spreads(cells, k)
    released = release_cells(cells, k, SCALE, spreads)
    mine = [c for c in released.released if c.cohort_id == cohort_id]
    numbers = sorted({c.session_number for c in cells})
    pooled = [pool_released(released, "m", n, SCALE["m"]) for n in numbers]
    changes = [release_change(mine[0], mine[-1], spreads, SCALE["m"])] if len(mine) > 1 else []
    return [mine, changes, pooled]


@settings(max_examples=200, deadline=None)
@given(programs(), st.data())
def test_a_cells_figures_depend_on_its_answers_only_through_n_and_the_rounded_mean(program, data):
    """Swap one released cell's answers for others with the same n and rounded mean: nothing
    its own cohort shows changes, and no pooled figure changes."""
    k, cells = program
    released = [i for i, c in enumerate(cells) if suppression_reason(c, k) is None]
    assume(released)
    at = data.draw(st.sampled_from(released))
    chosen = cells[at]
    values = data.draw(st.lists(st.integers(0, 10), min_size=chosen.n, max_size=chosen.n))
    other = same_rounded_mean(data.draw, values)
    before, after = list(cells), list(cells)
    before[at] = stored(chosen.cohort_id, chosen.session_number, values, CellState.CLOSED)
    after[at] = stored(chosen.cohort_id, chosen.session_number, other, CellState.CLOSED)
    assert own_view(before, k, chosen.cohort_id) == own_view(after, k, chosen.cohort_id)


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


def test_only_the_results_module_reads_cell_summaries():
    """Pages and exports reach response figures only through results.py, which releases them."""
    readers = {"cell_summaries", "cell_counts", "pulse_states"}
    offenders = []
    for path in [*ROOT.glob("*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("program/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in readers:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert all(o.startswith("program/results.py") for o in offenders), offenders


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
            "total_sq": [c.total_sq for c in cells],
        }
    )


@settings(max_examples=150, deadline=None)
@given(programs())
def test_column_wise_release_agrees_with_cell_by_cell(program):
    """The program dashboard's column-wise path applies exactly the same rules, and gives the
    same rounded means and intervals to the bit."""
    k, cells = program
    spreads = cell_spreads(cells, k)
    marked = release_frame(frame_of(cells), k)
    shown = released_frame(marked, SCALE, spreads)
    released = release_cells(cells, k, SCALE, spreads)
    assert "total" not in shown.columns and "total_sq" not in shown.columns
    assert list(shown["session_id"]) == [c.session_id for c in released.released]
    for row, cell in zip(shown.itertuples(), released.released, strict=True):
        s = cell.summary
        assert (row.n, row.mean, row.step, (row.ci_low, row.ci_high), row.borrowed_spread) == (
            s.n,
            s.mean,
            s.step,
            s.ci95,
            s.borrowed_spread,
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
