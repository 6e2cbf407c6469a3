"""The group mirror: the group's own released averages for one closed session, said for the room.

Built on the cohort dashboard's view (`cohort_results`), so it shows exactly the figures the
facilitator's dashboard shows. What it says of each measure comes from the instrument itself
(`Instrument.mirror_sentence`), how the average moved since the first session from `GroupChange`;
the page only draws what `mirror` and `mirror_sessions` return.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from program import access
from program.cohort_results import cohort_results
from program.models import Direction, Instrument, SessionStatus, StaffUser
from program.store import Store


class GroupChange(StrEnum):
    """How a measure's released average at a session compares with the first session's, for
    the better or the harder by the instrument's direction, within its smallest change that
    matters "about the same"."""

    BETTER = "better"
    SAME = "same"
    HARDER = "harder"


# Said warmly, for the room: a harder stretch is part of healing, not a verdict.
CHANGE_SENTENCES = {
    GroupChange.SAME: "About the same as at the first session.",
    GroupChange.BETTER: "Better than at the first session.",
    GroupChange.HARDER: (
        "A harder stretch than at the first session. That is part of it: healing is not a"
        " straight line."
    ),
}


@dataclass(frozen=True)
class MirrorLine:
    instrument: Instrument
    mean: float  # the released, rounded mean
    step: float  # what it was rounded to
    n: int
    words: str  # the scale's words for the mean: “moderate stress”, or between two of them
    sentence: str  # the instrument's sentence with those words in it
    change: GroupChange | None  # compared with the first session; None at the first

    @property
    def change_sentence(self) -> str | None:
        return None if self.change is None else CHANGE_SENTENCES[self.change]


@dataclass(frozen=True)
class Mirror:
    session_number: int
    session_title: str
    min_group_size: int
    lines: list[MirrorLine]
    held_back: list[str]  # measures not shown, with the kind reason


@dataclass(frozen=True)
class MirrorSession:
    """A session whose pulse has closed, so the mirror can show it."""

    id: int
    number: int
    title: str


@dataclass(frozen=True)
class WaitingSession:
    """A session that asks a pulse but cannot be shown yet."""

    number: int
    pulse_open: bool  # False: no pulse yet


@dataclass(frozen=True)
class MirrorSessions:
    closed: list[MirrorSession]  # in session order
    waiting: list[WaitingSession]


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


def group_change(instrument: Instrument, diff: float) -> GroupChange:
    """How an average that moved by `diff` since the first session reads for the room."""
    if abs(diff) < instrument.minimal_important_change:
        return GroupChange.SAME
    better = diff > 0 if instrument.direction == Direction.HIGHER_IS_BETTER else diff < 0
    return GroupChange.BETTER if better else GroupChange.HARDER


def mirror_sessions(store: Store, viewer: StaffUser, cohort_id: int) -> MirrorSessions:
    """The cohort's sessions that ask a pulse: those the mirror can show, and those not yet."""
    cohort = access.require_facilitator(store, viewer, cohort_id)
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    closed, waiting = [], []
    for record in store.sessions(cohort.id):
        if record.status == SessionStatus.CANCELLED or not bundle.pulse_items(record.number):
            continue
        window = store.pulse_window(record.id)
        if window is not None and window.closed_at is not None:
            title = bundle.curriculum.session(record.number).title
            closed.append(MirrorSession(record.id, record.number, title))
        else:
            waiting.append(WaitingSession(record.number, pulse_open=window is not None))
    return MirrorSessions(closed, waiting)


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
        instrument = series.instrument
        summary = point.cell.summary
        first = series.points[0]
        change = None
        if first.session_number != record.number and first.cell is not None:
            change = group_change(instrument, summary.mean - first.cell.summary.mean)
        words = label_words(instrument, summary.mean)
        lines.append(
            MirrorLine(
                instrument,
                summary.mean,
                summary.step,
                summary.n,
                words,
                instrument.mirror_words(words),
                change,
            )
        )
    return Mirror(record.number, title, results.min_group_size, lines, held_back)
