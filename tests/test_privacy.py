"""The release rules (DESIGN section 3): no number about responses is shown unless it rests on at
least k responses from a closed pulse, and no shown number depends on a suppressed cell."""

from __future__ import annotations

import ast
import dataclasses
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from program.privacy import (
    CellState,
    ReleasedCell,
    StoredCell,
    pool_released,
    pooled_distribution,
    release_cells,
    suppression_reason,
)
from tests.conftest import ROOT

SCALE = {"m": (0.0, 10.0)}


def cell(
    n: int,
    *,
    state: CellState = CellState.CLOSED,
    cohort: int = 1,
    number: int = 1,
    value: float = 5.0,
) -> StoredCell:
    return StoredCell(
        cohort,
        cohort * 100 + number,
        number,
        "m",
        state,
        n,
        value * n,
        value * value * n,
        ((value, n),) if n else (),
    )


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
    release = release_cells([cell(4)], 5, SCALE)
    (suppressed,) = release.suppressed
    fields = {f.name for f in dataclasses.fields(suppressed)}
    assert fields == {"cohort_id", "session_id", "session_number", "measure", "reason"}


def test_k_outside_three_to_ten_is_refused():
    for k in (2, 11):
        try:
            release_cells([], k, SCALE)
        except ValueError:
            continue
        raise AssertionError(f"k={k} was accepted")


def test_pooled_figures_use_released_cells_and_count_the_rest():
    cells = [
        cell(4, cohort=1, value=1.0),
        cell(5, cohort=2, value=6.0),
        cell(6, cohort=3, value=8.0),
    ]
    figure = pool_released(release_cells(cells, 5, SCALE), "m", 1, SCALE["m"])
    assert (figure.pooled.G, figure.pooled.N, figure.left_out) == (2, 11, 1)
    assert figure.pooled.mean is not None
    assert abs(figure.pooled.mean - (5 * 6.0 + 6 * 8.0) / 11) < 1e-9


def test_distributions_only_pooled_and_only_with_every_bucket_at_least_k():
    k = 5
    one = release_cells([cell(12, cohort=1, value=2.0)], k, SCALE).released
    assert pooled_distribution(one, k, [("low", 0, 5), ("high", 6, 10)]) is None
    two = release_cells(
        [cell(6, cohort=1, value=2.0), cell(k, cohort=2, value=8.0)], k, SCALE
    ).released
    assert pooled_distribution(two, k, [("low", 0, 5), ("high", 6, 10)]) == [
        ("low", 6),
        ("high", k),
    ]
    thin = release_cells(
        [
            cell(6, cohort=1, value=2.0),
            cell(k, cohort=2, value=8.0),
            cell(k, cohort=3, value=2.0),
        ],
        k,
        SCALE,
    ).released
    # a bucket with k - 1 responses hides the whole distribution
    assert pooled_distribution(thin, k, [("low", 0, 5), ("mid", 6, 7), ("high", 8, 10)]) is None


# --------------------------------------------------------------------------- the property

scores = st.lists(st.integers(0, 10), min_size=0, max_size=14)


def stored(cohort: int, number: int, values: list[int], state: CellState) -> StoredCell:
    counts: dict[float, int] = {}
    for v in values:
        counts[float(v)] = counts.get(float(v), 0) + 1
    return StoredCell(
        cohort,
        cohort * 100 + number,
        number,
        "m",
        state,
        len(values),
        float(sum(values)),
        float(sum(v * v for v in values)),
        tuple(sorted(counts.items())),
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
    release = release_cells(cells, k, SCALE)
    out: list[object] = [
        (c.cell.cohort_id, c.cell.session_number, c.summary) for c in release.released
    ]
    numbers = sorted({c.session_number for c in cells})
    out += [pool_released(release, "m", n, SCALE["m"]) for n in numbers]
    out.append(pooled_distribution(release.released, k, [("low", 0, 4), ("high", 5, 10)]))
    out.append([(s.cohort_id, s.session_number, s.reason) for s in release.suppressed])
    return out


@settings(max_examples=200, deadline=None)
@given(programs(), st.data())
def test_no_shown_number_depends_on_a_suppressed_cell(program, data):
    k, cells = program
    release = release_cells(cells, k, SCALE)
    assert all(c.n >= k and c.cell.state == CellState.CLOSED for c in release.released)
    suppressed = {(s.cohort_id, s.session_number) for s in release.suppressed}
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


def test_released_values_come_only_from_the_cell_itself():
    (released,) = release_cells([cell(6, value=3.0)], 5, SCALE).released
    assert isinstance(released, ReleasedCell)
    assert released.values() == [3.0] * 6


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


@settings(max_examples=150, deadline=None)
@given(programs())
def test_column_wise_release_agrees_with_cell_by_cell(program):
    """The program dashboard's column-wise path applies exactly the same rules."""
    import pandas as pd

    from program.privacy import pool_frame, release_frame

    k, cells = program
    frame = pd.DataFrame(
        {
            "cohort_id": [c.cohort_id for c in cells],
            "session_id": [c.session_id for c in cells],
            "session_number": [c.session_number for c in cells],
            "measure": [c.measure for c in cells],
            "closed": [c.state == CellState.CLOSED for c in cells],
            "n": [c.n for c in cells],
            "total": [c.total for c in cells],
            "total_sq": [c.total_sq for c in cells],
        }
    )
    released = release_frame(frame, k)
    release = release_cells(cells, k, SCALE)
    assert set(released.loc[released["released"], "session_id"]) == {
        c.cell.session_id for c in release.released
    }
    reasons = dict(zip(released["session_id"], released["reason"], strict=True))
    assert all(reasons[s.session_id] == s.reason for s in release.suppressed)
    by_frame = {(f.measure, f.session_number): f for f in pool_frame(released, SCALE)}
    for number in sorted({c.session_number for c in cells}):
        expected = pool_released(release, "m", number, SCALE["m"])
        got = by_frame[("m", number)]
        assert got.left_out == expected.left_out
        assert (got.pooled.G, got.pooled.N) == (expected.pooled.G, expected.pooled.N)
        if expected.pooled.mean is None:
            assert got.pooled.mean is None
        else:
            assert abs(got.pooled.mean - expected.pooled.mean) < 1e-9
