"""The cohort dashboard: one cohort's attendance, fidelity and released pulse results.

`cohort_results` returns everything the page draws (the headline figures, retention, each cell's
state, the change in words), so the page makes no call on the store. Cells come through
`program.cells`, the same column path as the program dashboard's, so a cell shows one figure
everywhere. Attendance and fidelity are about what facilitators recorded, not about answers, so
they need no minimum group size; who came is shown only to the cohort's facilitators.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from program import access, cells
from program.models import (
    Actor,
    Cohort,
    CohortStatus,
    CurriculumBundle,
    Direction,
    Instrument,
    SessionStatus,
    StaffUser,
)
from program.privacy import (
    CellState,
    Release,
    ReleasedCell,
    ReleasedChange,
    ReleasedSummary,
    SuppressedCell,
    release_change,
    step_decimals,
)
from program.stats import attendance_rate, fidelity_share
from program.store import Store


@dataclass(frozen=True)
class SessionAttendance:
    number: int
    date: dt.date
    status: SessionStatus
    present: int
    enrolled: int
    rate: float | None


class PointState(StrEnum):
    """What a measure shows at one session."""

    RELEASED = "released"
    TOO_FEW = "too_few"  # closed with fewer than k answers: held back for good
    STILL_OPEN = "still_open"  # the pulse is still taking answers


@dataclass(frozen=True)
class MeasurePoint:
    """A measure at one session: the released summary, or the reason there is none."""

    session_number: int
    state: PointState
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
class ChangeInWords:
    """A measure's first-to-last change as a facilitator reads it: what changed, and how sure
    the figures let us be. Built from released (rounded) figures only."""

    what: str
    how_sure: str


@dataclass(frozen=True)
class MeasureSeries:
    instrument: Instrument
    points: list[MeasurePoint]
    first_last: FirstLast | None
    first_last_reason: str | None
    words: ChangeInWords | None = None  # `change_in_words` of this series


@dataclass(frozen=True)
class CohortHeadline:
    """The figures at the top of the cohort dashboard."""

    enrolled: int
    sessions_held: int
    sessions_scheduled: int  # every session not cancelled
    attendance_rate: float | None  # present ÷ enrolled, averaged over the held sessions
    completers: int
    completion_rule: int  # weekly sessions attended to count as completed
    weekly_sessions: int
    finished: bool


@dataclass(frozen=True)
class CohortResults:
    cohort: Cohort
    bundle: CurriculumBundle
    min_group_size: int
    enrolled: int
    attendance: list[SessionAttendance]
    who_came: dict[str, dict[int, str]]  # display name -> session number -> status
    completers: int
    fidelity: dict[int, float | None]
    measures: list[MeasureSeries]
    release: Release
    headline: CohortHeadline
    retention: list[SessionAttendance]  # held weekly sessions with a share present
    still_open: list[int]  # session numbers whose pulse is still taking answers
    held_back: list[int]  # session numbers with a closed cell of fewer than k answers
    not_marked: list[int]  # session numbers with a pulse but not marked held

    @property
    def released_any(self) -> bool:
        return bool(self.release.released)


# --------------------------------------------------------------------------- cells


def _release(frames: cells.Cells, min_group_size: int) -> Release:
    """The cohort's released and left-out cells as objects, in session and measure order."""
    released, left_out = frames
    shown = released.assign(measure=released["measure"].astype(str)).sort_values(
        ["session_number", "measure"], kind="stable"
    )
    hidden = left_out.assign(measure=left_out["measure"].astype(str)).sort_values(
        ["session_number", "measure"], kind="stable"
    )
    return Release(
        min_group_size,
        tuple(
            ReleasedCell(
                int(row.cohort_id),
                int(row.session_id),
                int(row.session_number),
                str(row.measure),
                ReleasedSummary(
                    n=int(row.n),
                    mean=float(row.mean),
                    step=float(row.step),
                    ci95=(float(row.ci_low), float(row.ci_high)),
                ),
            )
            for row in shown.itertuples(index=False)
        ),
        tuple(
            SuppressedCell(
                int(row.cohort_id),
                int(row.session_id),
                int(row.session_number),
                str(row.measure),
                CellState.CLOSED if bool(row.closed) else CellState.OPEN,
                str(row.reason),
            )
            for row in hidden.itertuples(index=False)
        ),
    )


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


def _series(bundle: CurriculumBundle, release: Release) -> list[MeasureSeries]:
    measures = []
    for plan in bundle.curriculum.pulses:
        instrument = bundle.instruments[plan.instrument]
        points = {
            c.session_number: MeasurePoint(c.session_number, PointState.RELEASED, c, None)
            for c in release.released_for(instrument.id)
        }
        for s in release.suppressed_for(instrument.id):
            state = PointState.STILL_OPEN if s.state == CellState.OPEN else PointState.TOO_FEW
            points[s.session_number] = MeasurePoint(s.session_number, state, None, s.reason)
        ordered = [points[n] for n in sorted(points)]
        first_last, reason = _first_last(ordered, instrument.score_range)
        series = MeasureSeries(instrument, ordered, first_last, reason)
        measures.append(replace(series, words=change_in_words(series)))
    return measures


# --------------------------------------------------------------------------- the view


def cohort_results(store: Store, viewer: StaffUser, cohort_id: int) -> CohortResults:
    """The facilitator dashboard of one cohort (its facilitators only)."""
    cohort = access.require_facilitator(store, viewer, cohort_id)
    program = store.program(cohort.program_id)
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    bundles = {cohort.curriculum_version_id: bundle}
    min_group_size = program.min_group_size
    release = _release(
        cells.release_cohorts(
            store, [cohort.id], cells.plan(bundles), min_group_size, cells.scales(bundles)
        ),
        min_group_size,
    )
    enrolled = store.enrolled_counts([cohort.id]).get(cohort.id, 0)
    dates = {s.number: s for s in store.sessions(cohort.id)}
    attendance = [
        SessionAttendance(
            number=counted.session_number,
            date=dates[counted.session_number].scheduled_date,
            status=counted.status,
            present=counted.present,
            enrolled=enrolled,
            rate=attendance_rate(counted.present, enrolled)
            if counted.status == SessionStatus.HELD and enrolled
            else None,
        )
        for counted in store.attendance_counts([cohort.id])
    ]
    names = {m.id: m.display_name for m in store.roster(cohort.id)}
    who_came: dict[str, dict[int, str]] = {name: {} for name in sorted(names.values())}
    for mark in store.member_attendance(cohort.id):
        shown = f"{mark.status.value} (late)" if mark.late else mark.status.value
        who_came[names[mark.member_id]][mark.session_number] = shown
    rule = bundle.curriculum.completion.min_sessions_attended
    completers = sum(
        1 for member in store.sessions_attended([cohort.id]) if member.attended >= rule
    )
    fidelity = {
        checklist.session_number: fidelity_share(checklist.delivered, checklist.planned)
        for checklist in store.fidelity_counts([cohort.id])
    }
    held = [a for a in attendance if a.status == SessionStatus.HELD]
    rates = [a.rate for a in held if a.rate is not None]
    headline = CohortHeadline(
        enrolled=enrolled,
        sessions_held=len(held),
        sessions_scheduled=sum(1 for a in attendance if a.status != SessionStatus.CANCELLED),
        attendance_rate=sum(rates) / len(rates) if rates else None,
        completers=completers,
        completion_rule=rule,
        weekly_sessions=len(bundle.curriculum.weekly_numbers),
        finished=cohort.status == CohortStatus.FINISHED,
    )
    # A pulse opens only on or after its session's day, so a session with results could be
    # held: the page asks for it to be marked held, so that its attendance counts too.
    with_pulse = {c.session_number for c in release.released} | {
        c.session_number for c in release.suppressed
    }
    return CohortResults(
        cohort=cohort,
        bundle=bundle,
        min_group_size=min_group_size,
        enrolled=enrolled,
        attendance=attendance,
        who_came=who_came,
        completers=completers,
        fidelity=fidelity,
        measures=_series(bundle, release),
        release=release,
        headline=headline,
        retention=[a for a in held if a.rate is not None and a.number >= 1],
        still_open=sorted(
            {s.session_number for s in release.suppressed if s.state == CellState.OPEN}
        ),
        held_back=sorted(
            {s.session_number for s in release.suppressed if s.state == CellState.CLOSED}
        ),
        not_marked=sorted(with_pulse - {a.number for a in held}),
    )


def record_export(store: Store, viewer: StaffUser, cohort_id: int, what: str) -> None:
    """Audit one download from the cohort dashboard ("export cohort results csv", …), by one
    of the cohort's facilitators."""
    cohort = access.require_facilitator(store, viewer, cohort_id)
    store.record_export(Actor.of(viewer), what, cohort.id)


# --------------------------------------------------------------------------- the change in words


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
