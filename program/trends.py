"""Pooled trends that compare like with like, and the sentence each measure opens with.

A pooled line that joins four cohorts at session 1 and two at session 6 can rise only because
the cohorts counted changed. So a measure's trend is pooled by default over its *balanced panel*:
the cohorts with released figures at both its first and its last session. The all-cohorts view
stays available, with the number of cohorts at each session stated.

Everything here is built from released cells only (a `privacy.released_frame`): the rounded
means and their n. An interval is drawn only when it is usable: at least `MIN_GROUPS` cohorts and
no wider than the scale itself; otherwise the figure carries the reason there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from program.models import Direction, Instrument
from program.privacy import PooledFigure, measure_codes, pool_frame
from program.stats import Bounds, Interval, PooledChange, pool_change

MIN_GROUPS = 3
"""Cohorts needed before a pooled interval is shown: with two, Student's t on one degree of
freedom (12.7) makes the interval several times wider than any scale."""


class Change(StrEnum):
    """What the figures let us say about a measure between its first and last session."""

    ROSE = "rose"
    FELL = "fell"
    SAME = "same"  # the interval sits inside the smallest change that matters, both ways
    UNCLEAR = "unclear"  # it moved, or not, but the interval is too wide to say
    TOO_FEW = "too_few"  # fewer than two cohorts answered at both ends
    NOTHING = "nothing"  # no released figure at all yet


def shown_interval(figure: PooledFigure, scale: Bounds) -> Interval | None:
    """A pooled figure's interval if it is worth drawing: at least MIN_GROUPS cohorts, and inside
    the scale (an interval reaching past an end would be drawn cut off, which misleads)."""
    pooled = figure.pooled
    if pooled.G < MIN_GROUPS or pooled.mean is None or pooled.se is None or pooled.t_crit is None:
        return None
    low, high = pooled.mean - pooled.t_crit * pooled.se, pooled.mean + pooled.t_crit * pooled.se
    if low < scale[0] or high > scale[1]:
        return None
    return (low, high)


def no_interval_reason(figure: PooledFigure, scale: Bounds) -> str | None:
    """Why a pooled figure is drawn without an interval, in words; None when it has one."""
    if shown_interval(figure, scale) is not None or figure.pooled.mean is None:
        return None
    if figure.pooled.G < MIN_GROUPS:
        return (
            f"{figure.pooled.G} {'group' if figure.pooled.G == 1 else 'groups'}: a range of likely"
            f" values needs at least {MIN_GROUPS}"
        )
    return "the groups differ so much that the range of likely values would run past the scale"


@dataclass(frozen=True)
class Story:
    """A measure's opening sentence (to be read under the measure's title) and what it rests
    on."""

    change: Change
    sentence: str
    first_session: int | None
    last_session: int | None
    pooled: PooledChange | None


@dataclass(frozen=True)
class MeasureTrend:
    """One measure across cohorts: the balanced-panel line (default), the all-cohorts line,
    and the sentence."""

    measure: str
    instrument: Instrument
    panel: list[PooledFigure]  # pooled over the balanced panel, by session number
    everyone: list[PooledFigure]  # pooled over every cohort with a released cell there
    panel_size: int  # cohorts in the balanced panel
    story: Story

    @property
    def left_out(self) -> int:
        return sum(f.left_out for f in self.everyone)


def _one_decimal(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _points(value: float) -> str:
    shown = _one_decimal(abs(value))
    return f"{shown} {'point' if shown == '1.0' else 'points'}"


def _end(value: float) -> str:
    """One end of an interval of change in words: "a fall of 0.5 points", "no change"."""
    if _one_decimal(abs(value)) == "0.0":
        return "no change"
    return f"a {'rise' if value > 0 else 'fall'} of {_points(value)}"


def story(
    instrument: Instrument, panel: pd.DataFrame, first: int | None, last: int | None
) -> Story:
    """The sentence for one measure from its balanced panel: released cells (cohort_id,
    session_number, n, mean) of the cohorts released at both `first` and `last`."""
    if first is None or last is None:
        return Story(Change.NOTHING, "No group has released figures yet.", first, last, None)
    at_first = panel[panel["session_number"] == first].sort_values("cohort_id")
    at_last = panel[panel["session_number"] == last].sort_values("cohort_id")
    groups = len(at_first)
    if groups < 2 or first == last:
        so_far = "none" if groups == 0 else ("1 so far" if groups == 1 else f"{groups} so far")
        return Story(
            Change.TOO_FEW,
            f"Too few groups have answered at both session {first} and session {last}"
            f" to say how it changed ({so_far}; at least 2 are needed for a change and"
            f" {MIN_GROUPS} to say how sure it is).",
            first,
            last,
            None,
        )
    pooled = pool_change(
        at_first["n"].to_numpy(dtype=np.int64),
        at_first["mean"].to_numpy(dtype=np.float64),
        at_last["n"].to_numpy(dtype=np.int64),
        at_last["mean"].to_numpy(dtype=np.float64),
    )
    low, high = instrument.score_range
    better = "higher" if instrument.direction == Direction.HIGHER_IS_BETTER else "lower"
    answers = f"{pooled.n_first} answers at the first, {pooled.n_last} at the last"
    went = (
        f"Across {groups} groups ({answers}), the average"
        f" {{verb}} from {_one_decimal(pooled.first)} at session {first} to"
        f" {_one_decimal(pooled.last)} at session {last}, on a {low:g}–{high:g} scale where"
        f" {better} is better"
    )
    ci = pooled.ci95
    if groups < MIN_GROUPS or ci is None or ci[1] - ci[0] > high - low:
        why = (
            f"with only {groups} groups we cannot say how sure that is"
            if groups < MIN_GROUPS
            else "the groups differ so much that we cannot say how sure that is"
        )
        return Story(Change.UNCLEAR, went.format(verb="went") + f"; {why}.", first, last, pooled)
    mic = instrument.minimal_important_change
    matters = (
        f"{mic:g} {'point' if mic == 1 else 'points'}, the smallest change that matters on this"
        " scale"
    )
    if ci[0] > 0 or ci[1] < 0:
        kind = Change.ROSE if ci[0] > 0 else Change.FELL
        size = sorted((abs(ci[0]), abs(ci[1])))
        small = f", less than {matters}" if size[1] < mic else ""
        moved = "rise" if kind == Change.ROSE else "fall"
        if _one_decimal(size[0]) == _one_decimal(size[1]):
            # Every group's rounded figures moved by the same amount: no spread to speak of.
            tail = f"; every group moved by about the same, a {moved} of {_points(size[1])}{small}."
        else:
            tail = (
                f"; groups varied, so the true {moved} could be anywhere from about"
                f" {_one_decimal(size[0])} to {_points(size[1])}{small}."
            )
        verb = "rose" if kind == Change.ROSE else "fell"
        return Story(kind, went.format(verb=verb) + tail, first, last, pooled)
    if -mic < ci[0] and ci[1] < mic:
        tail = (
            f"; it stayed about the same: the true change is most likely between {_end(ci[0])}"
            f" and {_end(ci[1])}, less than {matters}."
        )
        return Story(Change.SAME, went.format(verb="went") + tail, first, last, pooled)
    tail = (
        f"; groups varied too much to say whether it really changed: the true change could be"
        f" anywhere from {_end(ci[0])} to {_end(ci[1])}."
    )
    return Story(Change.UNCLEAR, went.format(verb="went") + tail, first, last, pooled)


def measure_trends(
    released: pd.DataFrame,
    everyone: dict[str, list[PooledFigure]],
    instruments: dict[str, Instrument],
    planned: dict[str, tuple[int, int]],
) -> dict[str, MeasureTrend]:
    """Every measure's trend from a `privacy.released_frame`, the all-cohorts figures already
    pooled from it (`privacy.pool_frame`, by measure), and each measure's first and last session
    number across the curricula. The panels are found and pooled for all measures at once."""
    scales = {m: i.score_range for m, i in instruments.items()}
    codes, names = measure_codes(released)
    cohort = released["cohort_id"].to_numpy(dtype=np.int64)
    number = released["session_number"].to_numpy(dtype=np.int64)
    # A cell is at its measure's first (or last) planned session: per-row ends from the codes.
    ends = np.array([planned.get(m, (-1, -1)) for m in names] or [(-1, -1)], dtype=np.int64)
    at_first = number == ends[codes, 0] if len(codes) else np.zeros(0, dtype=bool)
    at_last = number == ends[codes, 1] if len(codes) else np.zeros(0, dtype=bool)
    # (measure, cohort) pairs released at both ends, the balanced panels of all measures at once:
    # a table of flags by measure and cohort id (ids are dense row numbers in practice).
    width = int(cohort.max()) + 1 if len(cohort) else 1
    first_flag = np.zeros((len(names) or 1, width), dtype=bool)
    last_flag = np.zeros((len(names) or 1, width), dtype=bool)
    first_flag[codes[at_first], cohort[at_first]] = True
    last_flag[codes[at_last], cohort[at_last]] = True
    both = first_flag & last_flag
    in_panel = both[codes, cohort] if len(codes) else np.zeros(0, dtype=bool)
    panel_rows = released[in_panel]
    panel_codes = codes[in_panel]
    panels: dict[str, list[PooledFigure]] = {}
    for figure in pool_frame(panel_rows, panel_rows.iloc[0:0], scales) if in_panel.any() else []:
        panels.setdefault(figure.measure, []).append(figure)
    per_measure = both.sum(axis=1)
    sizes = {names[i]: int(per_measure[i]) for i in range(len(names)) if per_measure[i]}
    present = set(np.unique(codes).tolist())
    trends = {}
    for m in sorted(instruments):
        code = names.index(m) if m in names else -1
        first, last = planned.get(m, (None, None))
        if code not in present:
            first = last = None
        rows = panel_rows[panel_codes == code]
        trends[m] = MeasureTrend(
            measure=m,
            instrument=instruments[m],
            panel=panels.get(m, []),
            everyone=everyone.get(m, []),
            panel_size=sizes.get(m, 0),
            story=story(instruments[m], rows, first, last),
        )
    return trends


def composition_drops(figures: list[PooledFigure]) -> list[tuple[int, int, int]]:
    """Where the number of cohorts pooled falls from one session to the next: (session, before,
    after). A rise or fall across such a point may be a change in who is counted."""
    drops = []
    for before, after in zip(figures, figures[1:], strict=False):
        if after.pooled.G < before.pooled.G:
            drops.append((after.session_number, before.pooled.G, after.pooled.G))
    return drops
