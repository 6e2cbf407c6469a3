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
from program.privacy import release_changes

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
    sessions: str  # text column: "1 → 6"
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
    cells (a `privacy.released_frame`)."""
    frame = pd.DataFrame(
        {
            COHORT: cohorts["name"].astype(str).to_numpy(),
            CURRICULUM: [curriculum_names[int(v)] for v in cohorts["curriculum_version_id"]],
            STARTED: pd.to_datetime(cohorts["start_date"]).dt.date.to_numpy(),
            STATUS: cohorts["status"].astype(str).str.capitalize().to_numpy(),
        }
    )
    row_of = pd.Series(np.arange(len(cohorts)), index=cohorts["id"].to_numpy())
    measure_text = released["measure"].astype(str)
    columns = []
    for measure in sorted(instruments):
        instrument = instruments[measure]
        column = GridColumn(
            measure=measure,
            title=str(instrument.short_title),
            change=f"{measure}:change",
            clear=f"{measure}:clear",
            sessions=f"{measure}:sessions",
            better_when_higher=instrument.direction == Direction.HIGHER_IS_BETTER,
        )
        columns.append(column)
        change = np.full(len(cohorts), np.nan)
        clear = np.zeros(len(cohorts), dtype=bool)
        sessions = np.full(len(cohorts), "", dtype=object)
        rows = released[measure_text == measure].sort_values(["cohort_id", "session_number"])
        ends = rows.groupby("cohort_id", sort=False)
        first, last = ends.head(1).set_index("cohort_id"), ends.tail(1).set_index("cohort_id")
        two = first.index[first["session_number"] < last.loc[first.index, "session_number"]]
        if len(two):
            a, b = first.loc[two], last.loc[two]
            low, high = instrument.score_range
            diff, ci_low, ci_high = release_changes(
                a["n"].to_numpy(dtype=np.float64),
                a["mean"].to_numpy(dtype=np.float64),
                a["step"].to_numpy(dtype=np.float64),
                b["n"].to_numpy(dtype=np.float64),
                b["mean"].to_numpy(dtype=np.float64),
                b["step"].to_numpy(dtype=np.float64),
                np.full(len(two), low, dtype=np.float64),
                np.full(len(two), high, dtype=np.float64),
            )
            at = row_of.loc[two.to_numpy()].to_numpy()
            change[at] = diff
            clear[at] = (ci_low > 0) | (ci_high < 0)
            sessions[at] = [
                f"{s} → {e}"
                for s, e in zip(
                    a["session_number"].tolist(), b["session_number"].tolist(), strict=True
                )
            ]
        frame[column.change] = change
        frame[column.clear] = clear
        frame[column.sessions] = sessions
    # Only groups with at least one figure: a held-back group is not named here at all.
    has = np.zeros(len(frame), dtype=bool)
    for column in columns:
        has |= frame[column.change].notna().to_numpy()
    frame = frame[has].sort_values([COHORT], kind="stable").reset_index(drop=True)
    return ComparisonGrid(frame, columns)


def change_text(value: float, clear: bool) -> str:
    """A grid figure as shown: signed, and "?" where the change is too uncertain to read."""
    if np.isnan(value):
        return "—"
    shown = f"{value:+g}".replace("-", "−")
    return shown if clear else f"{shown} ?"


@dataclass(frozen=True)
class GridView:
    """The grid as drawn: `frame` holds the figures (sortable numbers), `styled` the same frame
    with each change shown signed and "?" after an unclear one."""

    frame: pd.DataFrame
    styled: Any


def grid_view(grid: ComparisonGrid, name_part: str, statuses: list[str]) -> GridView:
    """The rows a lead asked for: cohort names containing `name_part` (any case), of the chosen
    statuses."""
    frame = grid.frame
    keep = frame[STATUS].isin(statuses).to_numpy(copy=True)
    if name_part.strip():
        keep &= frame[COHORT].str.contains(name_part.strip(), case=False, regex=False).to_numpy()
    rows = frame[keep].reset_index(drop=True)
    shown = rows[[COHORT, CURRICULUM, STARTED, STATUS]].copy()
    for column in grid.columns:
        shown[column.title] = rows[column.change]
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
    return GridView(shown, styler)
