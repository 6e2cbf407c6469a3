"""Results for the dashboards and the group mirror, built only from released cells.

Reads go through the store's frozen cell summaries and the release engine (privacy.py); nothing
here reads a response. Attendance and fidelity are about what facilitators recorded, not about
answers, so they need no minimum group size; who came is shown only to the cohort's facilitators.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from program import access
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
    StoredCell,
    pool_frame,
    release_cells,
    release_frame,
)
from program.stats import Comparison, attendance_rate, compare, fidelity_share, summarize_sums
from program.store import Store

# --------------------------------------------------------------------------- cells from the store


def stored_cells(
    store: Store, cohorts: Sequence[Cohort], bundles: dict[int, CurriculumBundle]
) -> list[StoredCell]:
    """Every cell of these cohorts' pulses: one per session × scheduled measure."""
    ids = [c.id for c in cohorts]
    version_of = {c.id: c.curriculum_version_id for c in cohorts}
    sums = {(r[0], r[1]): r[2:] for r in store.cell_summaries(ids)}
    counts: dict[tuple[int, str], list[tuple[float, int]]] = defaultdict(list)
    for session_id, measure, score, responses in store.cell_counts(ids):
        counts[(session_id, measure)].append((float(score), int(responses)))
    cells = []
    for cohort_id, session_id, number, closed in store.pulse_states(ids):
        curriculum = bundles[version_of[cohort_id]].curriculum
        for measure in curriculum.instruments_at(number):
            n, total, total_sq = sums.get((session_id, measure), (0, 0.0, 0.0))
            cells.append(
                StoredCell(
                    cohort_id=cohort_id,
                    session_id=session_id,
                    session_number=number,
                    measure=measure,
                    state=CellState.CLOSED if closed else CellState.OPEN,
                    n=int(n),
                    total=float(total),
                    total_sq=float(total_sq),
                    counts=tuple(counts.get((session_id, measure), [])),
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
    """Change in the group's average between the first and last sessions the measure was asked."""

    first: int
    last: int
    n_first: int
    n_last: int
    comparison: Comparison


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


def _first_last(points: list[MeasurePoint]) -> tuple[FirstLast | None, str | None]:
    asked = [p for p in points]
    if len(asked) < 2:
        return None, "the measure is asked at fewer than two sessions so far"
    first, last = asked[0], asked[-1]
    if first.cell is None or last.cell is None:
        which = first if first.cell is None else last
        return None, f"session {which.session_number}: {which.reason}"
    comparison = compare(first.cell.values(), last.cell.values())
    return (
        FirstLast(first.session_number, last.session_number, first.cell.n, last.cell.n, comparison),
        None,
    )


def cohort_results(store: Store, viewer: StaffUser, cohort_id: int) -> CohortResults:
    """The facilitator dashboard of one cohort (its facilitators only)."""
    cohort = access.require_facilitator(store, viewer, cohort_id)
    program = store.program(cohort.program_id)
    bundles = _bundles(store, [cohort])
    bundle = bundles[cohort.curriculum_version_id]
    release = release_cells(
        stored_cells(store, [cohort], bundles), program.min_cell_size, _scales(bundles)
    )
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
        released = {c.cell.session_number: c for c in release.released_for(instrument.id)}
        suppressed = {s.session_number: s.reason for s in release.suppressed_for(instrument.id)}
        numbers = sorted(set(released) | set(suppressed))
        points = [MeasurePoint(n, released.get(n), suppressed.get(n)) for n in numbers]
        first_last, reason = _first_last(points)
        measures.append(MeasureSeries(instrument, points, first_last, reason))
    return CohortResults(
        cohort=cohort,
        bundle=bundle,
        k=program.min_cell_size,
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
    mean: float
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


def mirror(store: Store, viewer: StaffUser, session_id: int) -> Mirror:
    """The group's own released averages for one closed session, in plain words."""
    record = store.session(session_id)
    results = cohort_results(store, viewer, record.cohort_id)
    title = results.bundle.curriculum.session(record.number).title
    lines, held_back = [], []
    for series in results.measures:
        point = next((p for p in series.points if p.session_number == record.number), None)
        if point is None:
            continue
        if point.cell is None or point.cell.summary.mean is None:
            held_back.append(f"{series.instrument.short_title}: {point.reason}")
            continue
        mean = point.cell.summary.mean
        first = series.points[0]
        change = None
        if (
            first.session_number != record.number
            and first.cell
            and first.cell.summary.mean is not None
        ):
            change = _change_words(series.instrument, mean - first.cell.summary.mean)
        lines.append(
            MirrorLine(
                series.instrument,
                mean,
                point.cell.n,
                label_words(series.instrument, mean),
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
    cohort: str
    measure: str
    session_number: int
    n: int
    mean: float
    ci_low: float | None
    ci_high: float | None
    response_rate: float | None


@dataclass(frozen=True)
class ProgramResults:
    program: Program
    selection: Selection
    cohorts: list[Cohort]
    headline: Headline
    retention: dict[int, float]  # session number -> share of enrolled present, held sessions
    trends: dict[str, list[PooledFigure]]  # measure id -> by session number
    instruments: dict[str, Instrument]
    table: list[ComparisonRow]
    left_out: int
    k: int
    notes: list[str] = field(default_factory=list)


def _plan(bundles: dict[int, CurriculumBundle]) -> pd.DataFrame:
    """What each curriculum version asks at each session: (version_id, session_number, measure)."""
    rows = [
        (version_id, number, measure)
        for version_id, bundle in bundles.items()
        for number in bundle.curriculum.weekly_numbers
        for measure in bundle.curriculum.instruments_at(number)
    ]
    return pd.DataFrame(rows, columns=["version_id", "session_number", "measure"])


def _comparison_rows(
    released: pd.DataFrame,
    cohorts: Sequence[Cohort],
    instruments: dict[str, Instrument],
    enrolled: dict[int, int],
    scales: dict[str, tuple[float, float]],
) -> list[ComparisonRow]:
    """One row per released cell, with its mean and 95% interval (the same numbers
    `summarize_sums` gives; built column-wise because a program can have many thousands)."""
    if released.empty:
        return []
    names = {c.id: c.name for c in cohorts}
    frame = released.assign(cohort=released["cohort_id"].map(names)).sort_values(
        ["cohort", "measure", "session_number"]
    )
    rows = []
    for cell in frame.itertuples(index=False):
        summary = summarize_sums(int(cell.n), cell.total, cell.total_sq, scales[cell.measure])
        people = enrolled.get(int(cell.cohort_id))
        rows.append(
            ComparisonRow(
                cohort=str(cell.cohort),
                measure=instruments[str(cell.measure)].short_title,
                session_number=int(cell.session_number),
                n=int(cell.n),
                mean=summary.mean if summary.mean is not None else float("nan"),
                ci_low=summary.ci95[0] if summary.ci95 else None,
                ci_high=summary.ci95[1] if summary.ci95 else None,
                response_rate=int(cell.n) / people if people else None,
            )
        )
    return rows


def select_cohorts(store: Store, selection: Selection) -> list[Cohort]:
    cohorts = store.cohorts(selection.program_id)
    if selection.curriculum_version_id is not None:
        cohorts = [c for c in cohorts if c.curriculum_version_id == selection.curriculum_version_id]
    if selection.started_from is not None:
        cohorts = [c for c in cohorts if c.start_date >= selection.started_from]
    if selection.started_to is not None:
        cohorts = [c for c in cohorts if c.start_date <= selection.started_to]
    return cohorts


def program_results(store: Store, viewer: StaffUser, selection: Selection) -> ProgramResults:
    """The program-lead dashboard: pooled, released figures only, and no names anywhere."""
    program = access.require_program_lead(store, viewer, selection.program_id)
    cohorts = select_cohorts(store, selection)
    bundles = _bundles(store, cohorts)
    scales = _scales(bundles)
    k = program.min_cell_size
    cells = release_frame(store.program_cells([c.id for c in cohorts], _plan(bundles)), k)
    ids = [c.id for c in cohorts]
    enrolled = store.enrolled_counts(ids)
    present_by_number: dict[int, int] = defaultdict(int)
    enrolled_by_number: dict[int, int] = defaultdict(int)
    present_total = possible_total = 0
    for cohort_id, _, number, status, present, _ in store.attendance_counts(ids):
        if status != "held":
            continue
        present_total += present
        possible_total += enrolled.get(cohort_id, 0)
        present_by_number[number] += present
        enrolled_by_number[number] += enrolled.get(cohort_id, 0)
    rule = {
        c.id: bundles[c.curriculum_version_id].curriculum.completion.min_sessions_attended
        for c in cohorts
    }
    finished = {c.id for c in cohorts if c.status == "finished"}
    completed = sum(
        1
        for cohort_id, _, attended in store.sessions_attended(ids)
        if cohort_id in finished and attended >= rule[cohort_id]
    )
    finished_enrolled = sum(enrolled.get(c, 0) for c in finished)
    headline = Headline(
        cohorts_running=sum(c.status == "running" for c in cohorts),
        cohorts_finished=len(finished),
        cohorts_scheduled=sum(c.status == "scheduled" for c in cohorts),
        enrolled=sum(enrolled.values()),
        attendance_rate=attendance_rate(present_total, possible_total) if possible_total else None,
        completion_rate=(completed / finished_enrolled) if finished_enrolled else None,
    )
    retention = {
        n: present_by_number[n] / enrolled_by_number[n]
        for n in sorted(present_by_number)
        if enrolled_by_number[n]
    }
    instruments = {i.id: i for b in bundles.values() for i in b.instruments.values()}
    trends: dict[str, list[PooledFigure]] = {measure: [] for measure in sorted(instruments)}
    for figure in pool_frame(cells, scales):
        trends.setdefault(figure.measure, []).append(figure)
    table = _comparison_rows(cells[cells["released"]], cohorts, instruments, enrolled, scales)
    return ProgramResults(
        program=program,
        selection=selection,
        cohorts=cohorts,
        headline=headline,
        retention=retention,
        trends=trends,
        instruments=instruments,
        table=table,
        left_out=int((~cells["released"]).sum()),
        k=k,
    )


def lead_programs(store: Store, viewer: StaffUser) -> list[Program]:
    programs = access.visible_programs(store, viewer)
    if not programs:
        raise NotFound("You do not lead a program yet. An admin assigns programs to leads.")
    return programs
