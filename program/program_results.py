"""The program dashboard: a lead's selection of cohorts, pooled from released cells only.

No names of people anywhere, and cohorts are named only beside their own released figures (the
comparison table and grid). Cells come through `program.cells`, the same way as on the cohort
dashboard, so a cell shows one figure everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import pandas as pd

from program import access, cells
from program.comparison import ComparisonGrid, comparison_grid
from program.errors import NotFound
from program.models import CohortStatus, Instrument, Program, StaffUser
from program.privacy import PooledFigure, measure_codes, pool_frame
from program.stats import attendance_rate, share_columns
from program.store import Store
from program.store.cohorts import COHORT_COLUMNS
from program.store.results import PLAN_COLUMNS
from program.trends import MeasureTrend, measure_trends


@dataclass(frozen=True)
class Selection:
    """The fixed dimensions a lead may choose: no free filters, no "all except X"."""

    program_id: int
    curriculum_version_id: int | None = None
    started_from: dt.date | None = None
    started_to: dt.date | None = None


@dataclass(frozen=True)
class Headline:
    cohorts_running: int
    cohorts_finished: int
    cohorts_scheduled: int
    enrolled: int
    attendance_rate: float | None
    completion_rate: float | None


@dataclass(frozen=True)
class ComparisonRow:
    """One released cell: n, its rounded mean, the step it was rounded to, and its interval."""

    cohort: str
    measure: str
    session_number: int
    n: int
    mean: float
    step: float
    ci_low: float
    ci_high: float
    response_rate: float | None


@dataclass(frozen=True)
class ProgramResults:
    program: Program
    selection: Selection
    cohort_count: int  # cohorts the selection covers
    version_ids: tuple[int, ...]  # the curriculum versions they are pinned to
    headline: Headline
    retention: dict[int, float]  # session number -> share of enrolled present, held sessions
    trends: dict[str, list[PooledFigure]]  # measure id -> by session number
    instruments: dict[str, Instrument]
    table: ComparisonTable
    left_out: int
    min_group_size: int
    measure_trends: dict[str, MeasureTrend] = field(default_factory=dict)  # the sentences, too
    grid: ComparisonGrid | None = None  # cohorts × measures
    notes: list[str] = field(default_factory=list)


class ComparisonTable(Sequence[ComparisonRow]):
    """The cohort comparison, one row per released cell: kept as columns, made into rows on use.

    A program has tens of thousands of released cells. The dashboard page caches its results
    with st.cache_data, which pickles them once and unpickles a copy on every rerun: tens of
    thousands of row objects made each rerun slow, a few arrays unpickle at once (the page's
    rerender time is in benchmarks/RESULTS.md).
    Each copy builds its rows once, the first time one is read; they are never pickled.
    """

    def __init__(
        self,
        cohorts: list[str],
        measures: list[str],
        codes: np.ndarray,  # (cohort, measure) codes into the lists above, one pair per row
        numbers: np.ndarray,  # session_number, n (int64 rows)
        values: np.ndarray,  # mean, step, ci_low, ci_high, response_rate (float64 rows)
        present: np.ndarray,  # response rate given (bool row)
    ) -> None:
        self._columns = (cohorts, measures, codes, numbers, values, present)
        self._rows: list[ComparisonRow] | None = None

    def __reduce__(self) -> tuple[type[ComparisonTable], tuple[object, ...]]:
        return (ComparisonTable, self._columns)

    def _made(self) -> list[ComparisonRow]:
        if self._rows is None:
            cohorts, measures, codes, numbers, values, present = self._columns
            self._rows = [
                ComparisonRow(
                    cohorts[c],
                    measures[m],
                    s,
                    n,
                    mean,
                    step,
                    low,
                    high,
                    rate if has_rate else None,
                )
                for c, m, s, n, mean, step, low, high, rate, has_rate in zip(
                    *codes.tolist(),
                    *numbers.tolist(),
                    *values.tolist(),
                    *present.tolist(),
                    strict=True,
                )
            ]
        return self._rows

    def __len__(self) -> int:
        return int(self._columns[2].shape[1])

    def frame(self) -> pd.DataFrame:
        """The table as a data frame, built column by column without making the rows: what the
        dashboard shows. A response rate that is not given is NaN."""
        cohorts, measures, codes, numbers, values, present = self._columns
        return pd.DataFrame(
            {
                "Cohort": np.asarray(cohorts, dtype=object)[codes[0]],
                "Measure": np.asarray(measures, dtype=object)[codes[1]],
                "Session": numbers[0],
                "n": numbers[1],
                "Mean": values[0],
                "CI low": values[2],
                "CI high": values[3],
                "Responses ÷ enrolled": np.where(present[0], 100 * values[4], np.nan),
            }
        )

    @overload
    def __getitem__(self, index: int) -> ComparisonRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[ComparisonRow]: ...

    def __getitem__(self, index: int | slice) -> ComparisonRow | list[ComparisonRow]:
        return self._made()[index]

    def __iter__(self) -> Iterator[ComparisonRow]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ComparisonTable | list | tuple):
            return self._made() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ComparisonTable({self._made()!r})"


def _ranks(values: list[str]) -> np.ndarray:
    """Each value's place among the distinct values in sorted order (equal values, equal place)."""
    place = {v: i for i, v in enumerate(sorted(set(values)))}
    return np.array([place[v] for v in values], dtype="int64")


def _comparison_table(
    released: pd.DataFrame,
    names: dict[int, str],
    instruments: dict[str, Instrument],
    enrolled: dict[int, int],
) -> ComparisonTable:
    """One row per released cell (a `privacy.released_frame`), sorted by cohort, measure and
    session: the figures exactly as the release engine made them, and the response rate."""
    # Sorted by cohort name, measure id and session number, as text sorts. Each name and id
    # becomes its rank among the sorted distinct values, so the sort itself compares integers.
    cohort_codes, cohort_ids = pd.factorize(released["cohort_id"])
    cohort_names = [str(names.get(i, float("nan"))) for i in cohort_ids.tolist()]
    measure_code, measure_ids = measure_codes(released)
    cohort_rank = _ranks(cohort_names)[cohort_codes]
    measure_rank = _ranks(measure_ids)[measure_code]
    numbers = released["session_number"].to_numpy(dtype="int64")
    order = np.lexsort((numbers, measure_rank, cohort_rank))
    cohort_codes, measure_code, numbers = cohort_codes[order], measure_code[order], numbers[order]
    n = released["n"].to_numpy(dtype="int64")[order]
    columns = [
        released[c].to_numpy(dtype="float64")[order] for c in ("mean", "step", "ci_low", "ci_high")
    ]
    per_cohort = np.array([enrolled.get(i, 0) for i in cohort_ids.tolist()], dtype="int64")
    people = per_cohort[cohort_codes]
    rate = share_columns(n, people)
    return ComparisonTable(
        cohort_names,
        [instruments[m].short_title for m in measure_ids],
        np.vstack([cohort_codes, measure_code]).astype("int64"),
        np.vstack([numbers, n]),
        np.vstack([*columns, rate]),
        np.vstack([people != 0]),
    )


def select_cohorts(store: Store, selection: Selection) -> pd.DataFrame:
    """The cohorts a selection covers, one row each (see `Store.cohort_frame` for the columns)."""
    cohorts = store.cohort_frame(selection.program_id)
    keep = pd.Series(True, index=cohorts.index)
    if selection.curriculum_version_id is not None:
        keep &= cohorts[COHORT_COLUMNS.curriculum_version_id] == selection.curriculum_version_id
    if selection.started_from is not None:
        keep &= cohorts[COHORT_COLUMNS.start_date] >= pd.Timestamp(selection.started_from)
    if selection.started_to is not None:
        keep &= cohorts[COHORT_COLUMNS.start_date] <= pd.Timestamp(selection.started_to)
    return cohorts[keep].reset_index(drop=True)


def program_results(store: Store, viewer: StaffUser, selection: Selection) -> ProgramResults:
    """The program-lead dashboard: pooled, released figures only, and no names anywhere."""
    program = access.require_program_lead(store, viewer, selection.program_id)
    cohorts = select_cohorts(store, selection)
    # .tolist() turns whole columns into Python values at once; iterating a text column of
    # thousands of names value by value took a fifth of this function's time.
    ids: list[int] = cohorts[COHORT_COLUMNS.id].tolist()
    versions = tuple(sorted(int(v) for v in cohorts[COHORT_COLUMNS.curriculum_version_id].unique()))
    bundles = {v: store.curriculum_bundle(v) for v in versions}
    scales = cells.scales(bundles)
    min_group_size = program.min_group_size
    plan = cells.plan(bundles)
    released, left_out = cells.release_cohorts(store, ids, plan, min_group_size, scales)
    enrolled = dict(zip(ids, cohorts[COHORT_COLUMNS.enrolled].tolist(), strict=True))
    attendance = store.held_attendance(ids)
    present_total = sum(held.present for held in attendance)
    possible_total = sum(held.enrolled for held in attendance)
    status = cohorts[COHORT_COLUMNS.status]
    finished = cohorts[status == CohortStatus.FINISHED]
    rule = {v: b.curriculum.completion.min_sessions_attended for v, b in bundles.items()}
    completed = store.completers(
        finished[COHORT_COLUMNS.id].tolist(),
        [rule[v] for v in finished[COHORT_COLUMNS.curriculum_version_id].tolist()],
    )
    finished_enrolled = int(finished[COHORT_COLUMNS.enrolled].sum())
    headline = Headline(
        cohorts_running=int((status == CohortStatus.RUNNING).sum()),
        cohorts_finished=len(finished),
        cohorts_scheduled=int((status == CohortStatus.SCHEDULED).sum()),
        enrolled=int(cohorts[COHORT_COLUMNS.enrolled].sum()),
        attendance_rate=attendance_rate(present_total, possible_total) if possible_total else None,
        completion_rate=(completed / finished_enrolled) if finished_enrolled else None,
    )
    retention = {
        held.session_number: held.present / held.enrolled for held in attendance if held.enrolled
    }
    instruments = {i.id: i for b in bundles.values() for i in b.instruments.values()}
    trends: dict[str, list[PooledFigure]] = {measure: [] for measure in sorted(instruments)}
    for figure in pool_frame(released, left_out, scales):
        trends.setdefault(figure.measure, []).append(figure)
    names = dict(zip(ids, cohorts[COHORT_COLUMNS.name].tolist(), strict=True))
    table = _comparison_table(released, names, instruments, enrolled)
    ends = plan.groupby(PLAN_COLUMNS.measure, observed=True)[PLAN_COLUMNS.session_number].agg(
        ["min", "max"]
    )
    planned = {str(m): (int(lo), int(hi)) for m, lo, hi in ends.itertuples()}
    curriculum_names = {
        v: f"{b.curriculum.title} {b.curriculum.version}" for v, b in bundles.items()
    }
    return ProgramResults(
        program=program,
        selection=selection,
        cohort_count=len(ids),
        version_ids=versions,
        headline=headline,
        retention=retention,
        trends=trends,
        instruments=instruments,
        table=table,
        left_out=len(left_out),
        min_group_size=min_group_size,
        measure_trends=measure_trends(released, trends, instruments, planned),
        grid=comparison_grid(cohorts, released, instruments, curriculum_names),
    )


def lead_programs(store: Store, viewer: StaffUser) -> list[Program]:
    programs = access.visible_programs(store, viewer)
    if not programs:
        raise NotFound("You do not lead a program yet. An admin assigns programs to leads.")
    return programs
