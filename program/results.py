"""Results for the dashboards and the group mirror, built only from released cells.

Reads go through the store's frozen cell summaries and the release engine (privacy.py); nothing
here reads a response. Attendance and fidelity are about what facilitators recorded, not about
answers, so they need no minimum group size; who came is shown only to the cohort's facilitators.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import pandas as pd

from program import access
from program.comparison import ComparisonGrid, comparison_grid
from program.errors import NotFound
from program.models import (
    Cohort,
    CurriculumBundle,
    Direction,
    Instrument,
    Program,
    SessionStatus,
    StaffUser,
)
from program.privacy import (
    CellState,
    PooledFigure,
    Release,
    ReleasedCell,
    ReleasedChange,
    StoredCell,
    measure_codes,
    pool_frame,
    release_cells,
    release_change,
    release_frame,
    released_frame,
    step_decimals,
)
from program.stats import attendance_rate, fidelity_share
from program.store import Store
from program.trends import MeasureTrend, measure_trends

# --------------------------------------------------------------------------- cells from the store


def stored_cells(
    store: Store, cohorts: Sequence[Cohort], bundles: dict[int, CurriculumBundle]
) -> list[StoredCell]:
    """Every cell of these cohorts' pulses: one per session × scheduled measure."""
    ids = [c.id for c in cohorts]
    version_of = {c.id: c.curriculum_version_id for c in cohorts}
    sums = {(r[0], r[1]): r[2:] for r in store.cell_summaries(ids)}
    nothing = (0, 0.0, math.nan)  # a closed cell nobody answered, never released
    cells = []
    for cohort_id, session_id, number, closed in store.pulse_states(ids):
        curriculum = bundles[version_of[cohort_id]].curriculum
        for measure in curriculum.instruments_at(number):
            n, total, draw = sums.get((session_id, measure), nothing)
            cells.append(
                StoredCell(
                    cohort_id=cohort_id,
                    session_id=session_id,
                    session_number=number,
                    measure=measure,
                    state=CellState.CLOSED if closed else CellState.OPEN,
                    n=int(n),
                    total=float(total),
                    draw=math.nan if draw is None else float(draw),
                )
            )
    return cells


def _bundles(store: Store, cohorts: Sequence[Cohort]) -> dict[int, CurriculumBundle]:
    return {v: store.curriculum_bundle(v) for v in {c.curriculum_version_id for c in cohorts}}


def _scales(bundles: dict[int, CurriculumBundle]) -> dict[str, tuple[float, float]]:
    return {i.id: i.score_range for b in bundles.values() for i in b.instruments.values()}


# --------------------------------------------------------------------------- one cohort


@dataclass(frozen=True)
class SessionAttendance:
    number: int
    date: dt.date
    status: SessionStatus
    present: int
    enrolled: int
    rate: float | None


@dataclass(frozen=True)
class MeasurePoint:
    """A measure at one session: the released summary, or the reason there is none."""

    session_number: int
    cell: ReleasedCell | None
    reason: str | None


@dataclass(frozen=True)
class FirstLast:
    """Change in the group's average between the first and last sessions the measure was asked,
    from the two sessions' rounded averages and the reference spread (a quarter of the range)."""

    first: int
    last: int
    n_first: int
    n_last: int
    change: ReleasedChange


@dataclass(frozen=True)
class MeasureSeries:
    instrument: Instrument
    points: list[MeasurePoint]
    first_last: FirstLast | None
    first_last_reason: str | None


@dataclass(frozen=True)
class CohortResults:
    cohort: Cohort
    bundle: CurriculumBundle
    k: int
    enrolled: int
    attendance: list[SessionAttendance]
    who_came: dict[str, dict[int, str]]  # display name -> session number -> status
    completers: int
    fidelity: dict[int, float | None]
    measures: list[MeasureSeries]
    release: Release


def _first_last(
    points: list[MeasurePoint], scale: tuple[float, float]
) -> tuple[FirstLast | None, str | None]:
    if len(points) < 2:
        return None, "the measure is asked at fewer than two sessions so far"
    first, last = points[0], points[-1]
    if first.cell is None or last.cell is None:
        which = first if first.cell is None else last
        return None, f"session {which.session_number}: {which.reason}"
    change = release_change(first.cell, last.cell, scale)
    return (
        FirstLast(first.session_number, last.session_number, first.cell.n, last.cell.n, change),
        None,
    )


def cohort_results(store: Store, viewer: StaffUser, cohort_id: int) -> CohortResults:
    """The facilitator dashboard of one cohort (its facilitators only)."""
    cohort = access.require_facilitator(store, viewer, cohort_id)
    program = store.program(cohort.program_id)
    bundles = _bundles(store, [cohort])
    bundle = bundles[cohort.curriculum_version_id]
    k = program.min_cell_size
    scales = _scales(bundles)
    release = release_cells(stored_cells(store, [cohort], bundles), k, scales)
    enrolled = store.enrolled_counts([cohort.id]).get(cohort.id, 0)
    dates = {s.number: s for s in store.sessions(cohort.id)}
    attendance = [
        SessionAttendance(
            number=number,
            date=dates[number].scheduled_date,
            status=SessionStatus(status),
            present=present,
            enrolled=enrolled,
            rate=attendance_rate(present, enrolled) if status == "held" and enrolled else None,
        )
        for _, _, number, status, present, _ in store.attendance_counts([cohort.id])
    ]
    names = {m.id: m.display_name for m in store.roster(cohort.id)}
    who_came: dict[str, dict[int, str]] = {name: {} for name in sorted(names.values())}
    for member_id, number, status, late in store.member_attendance(cohort.id):
        who_came[names[member_id]][number] = f"{status} (late)" if late else status
    completers = sum(
        1
        for _, _, attended in store.sessions_attended([cohort.id])
        if attended >= bundle.curriculum.completion.min_sessions_attended
    )
    fidelity = {
        number: fidelity_share(delivered, planned)
        for _, number, delivered, planned in store.fidelity_counts([cohort.id])
    }
    measures = []
    for plan in bundle.curriculum.pulses:
        instrument = bundle.instruments[plan.instrument]
        released = {c.session_number: c for c in release.released_for(instrument.id)}
        suppressed = {s.session_number: s.reason for s in release.suppressed_for(instrument.id)}
        numbers = sorted(set(released) | set(suppressed))
        points = [MeasurePoint(n, released.get(n), suppressed.get(n)) for n in numbers]
        first_last, reason = _first_last(points, instrument.score_range)
        measures.append(MeasureSeries(instrument, points, first_last, reason))
    return CohortResults(
        cohort=cohort,
        bundle=bundle,
        k=k,
        enrolled=enrolled,
        attendance=attendance,
        who_came=who_came,
        completers=completers,
        fidelity=fidelity,
        measures=measures,
        release=release,
    )


# --------------------------------------------------------------------------- the group mirror


@dataclass(frozen=True)
class MirrorLine:
    instrument: Instrument
    mean: float  # the released, rounded mean
    step: float  # what it was rounded to
    n: int
    words: str  # "the group felt, on average, …"
    change: str | None  # compared with the first session, in words


@dataclass(frozen=True)
class Mirror:
    session_number: int
    session_title: str
    k: int
    lines: list[MirrorLine]
    held_back: list[str]  # measures not shown, with the kind reason


def label_words(instrument: Instrument, mean: float) -> str:
    """The scale's own words for an average: its nearest label, or "between" the two around it.

    Scales labelled only at a few points (0, 5, 10) would otherwise call a 2.4 "no stress at all".
    """
    raw = mean / instrument.scoring.multiplier
    if instrument.scoring.method == "sum":
        raw /= len(instrument.items)
    labels = instrument.scale.labels

    def quoted(point: int) -> str:
        text = labels[point].strip()
        return f"“{text[:1].lower() + text[1:]}”"

    nearest = min(labels, key=lambda p: abs(p - raw))
    if abs(nearest - raw) <= 0.5:
        return quoted(nearest)
    below = max(p for p in labels if p <= raw)
    above = min(p for p in labels if p >= raw)
    return f"between {quoted(below)} and {quoted(above)}"


def _change_words(instrument: Instrument, diff: float) -> str:
    mic = instrument.minimal_important_change
    better = diff > 0 if instrument.direction == Direction.HIGHER_IS_BETTER else diff < 0
    if abs(diff) < mic:
        return "about the same as at the first session"
    return "better than at the first session" if better else "harder than at the first session"


@dataclass(frozen=True)
class ChangeInWords:
    """A measure's first-to-last change as a facilitator reads it: what changed, and how sure
    the figures let us be. Built from released (rounded) figures only."""

    what: str
    how_sure: str


def change_in_words(series: MeasureSeries) -> ChangeInWords | None:
    """Two plain sentences on the change in the group's average, or None when there is none."""
    fl = series.first_last
    if fl is None:
        return None
    first = next(p.cell for p in series.points if p.session_number == fl.first)
    last = next(p.cell for p in series.points if p.session_number == fl.last)
    assert first is not None and last is not None
    instrument = series.instrument
    low, high = instrument.score_range
    c = fl.change
    places = step_decimals(c.diff_step)
    name = instrument.short_title
    scale = f"on a {low:g}–{high:g} scale"
    was, now = first.summary.text(first.summary.mean), last.summary.text(last.summary.mean)
    if round(c.diff, places) == 0:
        what = (
            f"{name}: the group's average was the same at session {fl.first} and session"
            f" {fl.last} ({was} {scale})."
        )
    else:
        better = (c.diff > 0) == (instrument.direction == Direction.HIGHER_IS_BETTER)
        what = (
            f"{name}: the group's average went {'up' if c.diff > 0 else 'down'} from {was} at"
            f" session {fl.first} to {now} at session {fl.last} {scale}, a change for the"
            f" {'better' if better else 'worse'}."
        )
    lo, hi = (f"{abs(v):.{step_decimals(c.ci_step)}f}" for v in c.ci95)
    mic = instrument.minimal_important_change
    if c.ci95[0] <= 0 <= c.ci95[1]:
        how_sure = (
            "With this many answers we cannot tell it apart from no change: the true change"
            f" could be anywhere between {_signed_words(c.ci95[0], lo)} and"
            f" {_signed_words(c.ci95[1], hi)}."
        )
    elif abs(c.diff) < mic:
        how_sure = (
            f"The figures are clear that it moved, but by less than {mic:g}"
            f" {'point' if mic == 1 else 'points'}, the smallest change that matters on this"
            " scale."
        )
    else:
        how_sure = (
            f"The figures are clear that it moved, by more than {mic:g}"
            f" {'point' if mic == 1 else 'points'}, the smallest"
            " change that matters on this scale: the true change is likely between"
            f" {lo if c.diff > 0 else hi} and {hi if c.diff > 0 else lo} points."
        )
    return ChangeInWords(what, how_sure)


def _signed_words(value: float, shown: str) -> str:
    """An end of an interval in words: "3 points down", "no change at all", "1 point up"."""
    if float(shown) == 0:
        return "no change at all"
    points = "point" if float(shown) == 1 else "points"
    return f"{shown} {points} {'down' if value < 0 else 'up'}"


def mirror(store: Store, viewer: StaffUser, session_id: int) -> Mirror:
    """The group's own released (rounded) averages for one closed session, in plain words."""
    record = store.session(session_id)
    results = cohort_results(store, viewer, record.cohort_id)
    title = results.bundle.curriculum.session(record.number).title
    lines, held_back = [], []
    for series in results.measures:
        point = next((p for p in series.points if p.session_number == record.number), None)
        if point is None:
            continue
        if point.cell is None:
            held_back.append(f"{series.instrument.short_title}: {point.reason}")
            continue
        summary = point.cell.summary
        first = series.points[0]
        change = None
        if first.session_number != record.number and first.cell is not None:
            change = _change_words(series.instrument, summary.mean - first.cell.summary.mean)
        lines.append(
            MirrorLine(
                series.instrument,
                summary.mean,
                summary.step,
                summary.n,
                label_words(series.instrument, summary.mean),
                change,
            )
        )
    return Mirror(record.number, title, results.k, lines, held_back)


# --------------------------------------------------------------------------- program level


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
    table: Sequence[ComparisonRow]  # a ComparisonTable
    left_out: int
    k: int
    measure_trends: dict[str, MeasureTrend] = field(default_factory=dict)  # the sentences, too
    grid: ComparisonGrid | None = None  # cohorts × measures
    notes: list[str] = field(default_factory=list)


def _plan(bundles: dict[int, CurriculumBundle]) -> pd.DataFrame:
    """What each curriculum version asks at each session: (version_id, session_number, measure).

    The measure is categorical, so DuckDB hands it back as a category too: turning a text column
    of a hundred thousand cells into Python strings took a third of the query's time at scale.
    """
    rows = [
        (version_id, number, measure)
        for version_id, bundle in bundles.items()
        for number in bundle.curriculum.weekly_numbers
        for measure in bundle.curriculum.instruments_at(number)
    ]
    plan = pd.DataFrame(rows, columns=["version_id", "session_number", "measure"])
    plan["measure"] = pd.Categorical(plan["measure"], categories=sorted(set(plan["measure"])))
    return plan


class ComparisonTable(Sequence[ComparisonRow]):
    """The cohort comparison, one row per released cell: kept as columns, made into rows on use.

    A program has tens of thousands of released cells. The dashboard page caches its results
    with st.cache_data, which pickles them once and unpickles a copy on every rerun: as 90,000
    row objects that took 0.6–0.9 s at 5,000 cohorts, as a few arrays it takes milliseconds.
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
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = n / people
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
        keep &= cohorts["curriculum_version_id"] == selection.curriculum_version_id
    if selection.started_from is not None:
        keep &= cohorts["start_date"] >= pd.Timestamp(selection.started_from)
    if selection.started_to is not None:
        keep &= cohorts["start_date"] <= pd.Timestamp(selection.started_to)
    return cohorts[keep].reset_index(drop=True)


def program_results(store: Store, viewer: StaffUser, selection: Selection) -> ProgramResults:
    """The program-lead dashboard: pooled, released figures only, and no names anywhere."""
    program = access.require_program_lead(store, viewer, selection.program_id)
    cohorts = select_cohorts(store, selection)
    # .tolist() turns whole columns into Python values at once; iterating a text column of
    # thousands of names value by value took a fifth of this function's time.
    ids: list[int] = cohorts["id"].tolist()
    versions = tuple(sorted(int(v) for v in cohorts["curriculum_version_id"].unique()))
    bundles = {v: store.curriculum_bundle(v) for v in versions}
    scales = _scales(bundles)
    k = program.min_cell_size
    plan = _plan(bundles)
    cells = release_frame(store.program_cells(ids, plan), k)
    released = released_frame(cells, scales)
    left_out = cells.loc[~cells["released"], ["measure", "session_number"]]
    del cells  # the sums and draws go no further
    enrolled = dict(zip(ids, cohorts["enrolled"].tolist(), strict=True))
    attendance = store.held_attendance(ids)
    present_total = sum(present for _, present, _ in attendance)
    possible_total = sum(possible for _, _, possible in attendance)
    finished = cohorts[cohorts["status"] == "finished"]
    rule = {v: b.curriculum.completion.min_sessions_attended for v, b in bundles.items()}
    completed = store.completers(
        finished["id"].tolist(), [rule[v] for v in finished["curriculum_version_id"].tolist()]
    )
    finished_enrolled = int(finished["enrolled"].sum())
    status = cohorts["status"]
    headline = Headline(
        cohorts_running=int((status == "running").sum()),
        cohorts_finished=len(finished),
        cohorts_scheduled=int((status == "scheduled").sum()),
        enrolled=int(cohorts["enrolled"].sum()),
        attendance_rate=attendance_rate(present_total, possible_total) if possible_total else None,
        completion_rate=(completed / finished_enrolled) if finished_enrolled else None,
    )
    retention = {number: present / possible for number, present, possible in attendance if possible}
    instruments = {i.id: i for b in bundles.values() for i in b.instruments.values()}
    trends: dict[str, list[PooledFigure]] = {measure: [] for measure in sorted(instruments)}
    for figure in pool_frame(released, left_out, scales):
        trends.setdefault(figure.measure, []).append(figure)
    names = dict(zip(ids, cohorts["name"].tolist(), strict=True))
    table = _comparison_table(released, names, instruments, enrolled)
    ends = plan.groupby("measure", observed=True)["session_number"].agg(["min", "max"])
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
        k=k,
        measure_trends=measure_trends(released, trends, instruments, planned),
        grid=comparison_grid(cohorts, released, instruments, curriculum_names),
    )


def lead_programs(store: Store, viewer: StaffUser) -> list[Program]:
    programs = access.visible_programs(store, viewer)
    if not programs:
        raise NotFound("You do not lead a program yet. An admin assigns programs to leads.")
    return programs
