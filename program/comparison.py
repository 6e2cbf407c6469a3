"""The cohort comparison grid: cohorts as rows, measures as columns, first → last change in each.

Each figure is one cohort's change in one measure between the first and the last session at
which its cell was released, built from the two released (rounded) means and the reference
spread exactly as the cohort's own dashboard builds it (`privacy.release_change`). A change whose
interval reaches zero is marked unclear: the figures cannot tell it apart from no change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from program.models import Direction, Instrument
from program.privacy import measure_codes, release_changes
from program.store.cohorts import COHORT_COLUMNS

COHORT = "Cohort"
CURRICULUM = "Curriculum"
STARTED = "Started"
STATUS = "Status"


@dataclass(frozen=True)
class GridColumn:
    """One measure's column: where to find its figures in `ComparisonGrid.frame`."""

    measure: str
    title: str  # the column heading: the instrument's short title
    change: str  # float column: last − first, NaN when the cohort has no two released sessions
    clear: str  # bool column: the interval leaves zero out
    better_when_higher: bool


@dataclass(frozen=True, eq=False)
class ComparisonGrid:
    """One row per cohort of the selection with a figure at two sessions for some measure."""

    frame: pd.DataFrame
    columns: list[GridColumn]

    def __eq__(self, other: object) -> bool:
        # Two grids are equal when they would draw the same: tests compare whole results.
        if not isinstance(other, ComparisonGrid):
            return NotImplemented
        return self.columns == other.columns and self.frame.equals(other.frame)

    __hash__ = None  # type: ignore[assignment]

    def cohorts_with_figures(self) -> int:
        return len(self.frame)


def comparison_grid(
    cohorts: pd.DataFrame,
    released: pd.DataFrame,
    instruments: dict[str, Instrument],
    curriculum_names: dict[int, str],
) -> ComparisonGrid:
    """The grid for the cohorts of a selection (`Store.cohort_frame` rows) from their released
    cells (a `privacy.released_frame`), computed on whole columns: one sort of every released
    cell, then each (measure, cohort) run's first and last rows."""
    measures = sorted(instruments)
    columns = [
        GridColumn(
            measure=m,
            title=str(instruments[m].short_title),
            change=f"{m}:change",
            clear=f"{m}:clear",
            better_when_higher=instruments[m].direction == Direction.HIGHER_IS_BETTER,
        )
        for m in measures
    ]
    count = len(cohorts)
    change = np.full((len(measures), count), np.nan)
    clear = np.zeros((len(measures), count), dtype=bool)

    # Every released cell as columns: its measure's place in `measures`, its cohort's row.
    codes, names = measure_codes(released)
    place = np.array([measures.index(m) if m in instruments else -1 for m in names] or [0])
    which = place[codes] if len(codes) else np.array([], dtype=np.int64)
    ids = cohorts[COHORT_COLUMNS.id].to_numpy(dtype=np.int64)
    order_of_ids = np.argsort(ids)
    found = np.searchsorted(
        ids, released["cohort_id"].to_numpy(dtype=np.int64), sorter=order_of_ids
    )
    row = order_of_ids[np.minimum(found, max(count - 1, 0))] if count else found
    number = released["session_number"].to_numpy(dtype=np.int64)
    keep = which >= 0
    which, row, number = which[keep], row[keep], number[keep]
    n = released["n"].to_numpy(dtype=np.float64)[keep]
    mean = released["mean"].to_numpy(dtype=np.float64)[keep]
    step = released["step"].to_numpy(dtype=np.float64)[keep]

    # One int64 key per cell (measure, cohort row, session), sorted once: a third of the time of
    # sorting on three keys at 450,000 cells.
    group = which * max(count, 1) + row
    order = np.argsort(group * (int(number.max()) + 1 if len(number) else 1) + number)
    run = group[order]
    starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]]) if len(run) else run
    ends = np.r_[starts[1:], len(run)] - 1 if len(run) else run
    a, b = order[starts], order[ends]
    two = number[a] < number[b]
    a, b = a[two], b[two]
    if len(a):
        low = np.array([instruments[m].score_range[0] for m in measures])[which[a]]
        high = np.array([instruments[m].score_range[1] for m in measures])[which[a]]
        diff, ci_low, ci_high = release_changes(
            n[a], mean[a], step[a], n[b], mean[b], step[b], low, high
        )
        change[which[a], row[a]] = diff
        clear[which[a], row[a]] = (ci_low > 0) | (ci_high < 0)

    # Only groups with at least one figure: a held-back group is not named here at all.
    shown = ~np.isnan(change).all(axis=0) if count else np.zeros(0, dtype=bool)
    rows = cohorts[shown]
    frame = pd.DataFrame(
        {
            COHORT: rows[COHORT_COLUMNS.name].astype(str).to_numpy(),
            CURRICULUM: [
                curriculum_names[int(v)] for v in rows[COHORT_COLUMNS.curriculum_version_id]
            ],
            STARTED: rows[COHORT_COLUMNS.start_date].to_numpy(),
            STATUS: rows[COHORT_COLUMNS.status].astype(str).str.capitalize().to_numpy(),
        }
    )
    for i, column in enumerate(columns):
        frame[column.change] = change[i, shown]
        frame[column.clear] = clear[i, shown]
    frame = frame.sort_values([COHORT], kind="stable").reset_index(drop=True)
    return ComparisonGrid(frame, columns)


def change_text(value: float, clear: bool) -> str:
    """A grid figure as shown: signed, and "?" where the change is too uncertain to read."""
    if np.isnan(value):
        return "—"
    shown = f"{value:+g}".replace("-", "−")
    return shown if clear else f"{shown} ?"


MARKED_ROWS = 500
"""Rows up to which the grid is drawn with its "?" marks. Each marked cell is formatted one by
one when the page is drawn (pandas' Styler), which took seconds at thousands of rows; a longer
list is drawn as plain numbers and the page says how to narrow it."""


@dataclass(frozen=True)
class GridView:
    """The grid as drawn: `frame` holds the figures (sortable numbers), `styled` the same frame
    with each change shown signed and "?" after an unclear one (or `frame` itself when there are
    more than MARKED_ROWS rows: `marked` is then False)."""

    frame: pd.DataFrame
    styled: Any
    marked: bool


def grid_view(grid: ComparisonGrid, name_part: str, statuses: list[str]) -> GridView:
    """The rows a lead asked for: cohort names containing `name_part` (any case), of the chosen
    statuses."""
    frame = grid.frame
    keep = frame[STATUS].isin(statuses).to_numpy(copy=True)
    if name_part.strip():
        keep &= frame[COHORT].str.contains(name_part.strip(), case=False, regex=False).to_numpy()
    rows = frame[keep].reset_index(drop=True)
    # The curriculum column only when the program uses more than one version.
    several = grid.frame[CURRICULUM].nunique() > 1
    shown = rows[[COHORT, *([CURRICULUM] if several else []), STARTED, STATUS]].copy()
    for column in grid.columns:
        shown[column.title] = rows[column.change]
    if len(shown) > MARKED_ROWS:
        return GridView(shown, shown, marked=False)
    styler = shown.style
    for column in grid.columns:
        clear = rows[column.clear].to_numpy()
        for rows_of, is_clear in ((clear, True), (~clear, False)):
            if rows_of.any():
                styler = styler.format(
                    lambda v, c=is_clear: change_text(v, c),
                    subset=pd.IndexSlice[shown.index[rows_of], [column.title]],
                )
        unclear = ~clear & rows[column.change].notna().to_numpy()
        if unclear.any():
            styler = styler.map(
                lambda _: "color: #52606d",
                subset=pd.IndexSlice[shown.index[unclear], [column.title]],
            )
    return GridView(shown, styler, marked=True)
