"""The one way from the store to released cells, for every dashboard.

The cohort dashboard (one cohort), the group mirror (built on it) and the program dashboard
(thousands of cohorts) all read cells as columns through `release_cohorts`: the store's frozen
n, Σ and rounding draw of each cell (`Store.program_cells`), marked released or left out by
the program's minimum group size (`privacy.release_frame`), and the released ones summarised (`privacy.released_frame`). So one
cell shows the same figure on every page, by construction rather than by a test alone; the
sums and draws go no further than this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import pandas as pd

from program.models import CurriculumBundle
from program.privacy import release_frame, released_frame
from program.stats import Bounds
from program.store import Store
from program.store.results import CELL_COLUMNS, PLAN_COLUMNS

LEFT_OUT_COLUMNS = [
    CELL_COLUMNS.cohort_id,
    CELL_COLUMNS.session_id,
    CELL_COLUMNS.session_number,
    CELL_COLUMNS.measure,
    CELL_COLUMNS.closed,
    "reason",  # added by `privacy.release_frame`
]


class Cells(NamedTuple):
    """Some cohorts' cells after release: the released ones (`privacy.RELEASED_COLUMNS`) and
    the ones left out (`LEFT_OUT_COLUMNS`: where, whether the pulse has closed, and why), with
    no count, sum or draw of a cell left out."""

    released: pd.DataFrame
    left_out: pd.DataFrame


def plan(bundles: Mapping[int, CurriculumBundle]) -> pd.DataFrame:
    """What each curriculum version asks at each session, with the columns `PLAN_COLUMNS`.

    The measure is categorical, so DuckDB hands it back as a category too: turning a text column
    of a hundred thousand cells into Python strings took a third of the query's time at scale.
    """
    rows = [
        (version_id, number, measure)
        for version_id, bundle in bundles.items()
        for number in bundle.curriculum.weekly_numbers
        for measure in bundle.curriculum.instruments_at(number)
    ]
    frame = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    measures = frame[PLAN_COLUMNS.measure]
    frame[PLAN_COLUMNS.measure] = pd.Categorical(measures, categories=sorted(set(measures)))
    return frame


def scales(bundles: Mapping[int, CurriculumBundle]) -> dict[str, Bounds]:
    """Each measure's lowest and highest possible score."""
    return {i.id: i.score_range for b in bundles.values() for i in b.instruments.values()}


def release_cohorts(
    store: Store,
    cohort_ids: Sequence[int],
    asked: pd.DataFrame,
    min_group_size: int,
    bounds: Mapping[str, Bounds],
) -> Cells:
    """Every pulse cell of these cohorts that `asked` (a `plan`) schedules, released by the
    program's minimum group size."""
    marked = release_frame(store.program_cells(list(cohort_ids), asked), min_group_size)
    released = released_frame(marked, bounds)
    left_out = marked.loc[~marked["released"], LEFT_OUT_COLUMNS].reset_index(drop=True)
    return Cells(released, left_out)
