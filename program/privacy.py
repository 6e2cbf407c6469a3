"""The release engine: which numbers about responses may be shown, how precisely, and why.

Pure functions. Every number about responses that a page shows or an export writes is built from
the cells this module releases, and only from them (docs/design.md, "Privacy rules"):

- nothing about a session until its pulse has closed;
- a cell (one cohort × session × measure) only when it rests on at least k responses, k being
  the program's minimum group size;
- a released cell's mean only rounded to a step that grows coarser as the cell gets smaller
  (`release_step`), up or down at random in proportion to how near the mean lies to each grid
  point (`round_to_step`), with a draw made once when the cell was summarised at close and kept
  secret in the store, so that someone who knows or chose every answer but one can neither work
  that one out nor place a rounding boundary beside an end of the scale;
- no spread of any cell: every per-cohort interval (a cell's, the first → last change's, Hedges'
  g) uses a fixed *reference spread* of a quarter of the scale's range, which holds no data;
- pooled figures only from released, rounded means, saying how many cells were left out.

So what a cell shows depends on its own answers only through n and the released mean, and the
released mean on them only through n, the mean's place between two grid points and the cell's
draw. The exact sum Σx and the draw stay in the store and in this module; `ReleasedCell` and
`ReleasedChange` carry nothing else out. docs/release-arithmetic.md works through what an attacker
can still learn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pandas as pd

from program.programs import MIN_GROUP_SIZES
from program.stats import (
    Bounds,
    Interval,
    Pooled,
    pool,
    pool_columns,
    reference_change,
    t_quantile,
)
from program.store.results import CELL_COLUMNS

# "Nice" steps: these times a power of ten.
NICE_STEPS = (Fraction(1), Fraction(2), Fraction(5, 2), Fraction(5))
# Every per-cohort interval assumes answers spread this share of the scale's range (as a
# standard deviation): typical of these scales, on the cautious (wide) side, and free of data.
REFERENCE_SPREAD_SHARE = 0.25
# Effect sizes are released to one decimal.
EFFECT_STEP = 0.1
# Slack for float error when a value should sit exactly on a step: 6.5 computed as
# 6.4999999999 is still on the grid, and an interval end on the grid is not pushed a step outward.
_SLACK = 1e-9
# What every page says, once, near released figures.
ROUNDING_NOTE = (
    "Averages are rounded more for small groups, so no single answer can be worked out from them."
)


class CellState(StrEnum):
    OPEN = "open"  # the pulse is still taking answers
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StoredCell:
    """One cohort × session × measure as the store holds it, before any release decision.

    `draw` is the cell's rounding draw: a secret uniform number in [0, 1), drawn once when the
    cell was summarised at close (NaN for a cell with no answers, which is never released)."""

    cohort_id: int
    session_id: int
    session_number: int
    measure: str
    state: CellState
    n: int
    total: float
    draw: float


@dataclass(frozen=True, slots=True)
class ReleasedSummary:
    """What may be shown of a released cell: n, the rounded mean, the step it was rounded to,
    and a 95% interval from the reference spread, its ends rounded outward to the step."""

    n: int
    mean: float
    step: float
    ci95: Interval

    def text(self, value: float) -> str:
        """A figure of this cell as text, with the step's decimals: "6", "6.5", "6.25"."""
        return format_value(value, self.step)


@dataclass(frozen=True, slots=True)
class ReleasedCell:
    cohort_id: int
    session_id: int
    session_number: int
    measure: str
    summary: ReleasedSummary

    @property
    def n(self) -> int:
        return self.summary.n


@dataclass(frozen=True, slots=True)
class SuppressedCell:
    """A cell that may not be shown: whether its pulse has closed (an open one shows later, a
    closed one never) and the reason in words. Holds no count and no score."""

    cohort_id: int
    session_id: int
    session_number: int
    measure: str
    state: CellState
    reason: str


@dataclass(frozen=True, slots=True)
class Release:
    min_group_size: int
    released: tuple[ReleasedCell, ...]
    suppressed: tuple[SuppressedCell, ...]

    def released_for(self, measure: str) -> list[ReleasedCell]:
        return [c for c in self.released if c.measure == measure]

    def suppressed_for(self, measure: str) -> list[SuppressedCell]:
        return [c for c in self.suppressed if c.measure == measure]


# --------------------------------------------------------------------------- the step


@lru_cache(maxsize=4096)
def release_step(n: int, low: float, high: float) -> float:
    """The step a mean of n responses on the scale low–high is rounded to: the smallest of
    {1, 2, 2.5, 5} × 10^j with n · step ≥ (high − low) / 2.

    A released mean lies less than one step from the true mean, so someone who knows every answer
    but one sees the last answer only as lying in a window of 2 · n · step ≥ the scale's range of
    possible last answers, cut off where it passes an end of the scale
    (docs/release-arithmetic.md).
    """
    if n < 1:
        raise ValueError(f"a released mean needs at least one response, not {n}")
    if not high > low:
        raise ValueError(f"a scale needs high > low, got {low}–{high}")
    need = (Fraction(high) - Fraction(low)) / (2 * n)
    power = math.floor(math.log10(need)) - 1
    while True:
        for nice in NICE_STEPS:
            step = nice * Fraction(10) ** power
            if step >= need:
                return float(step)
        power += 1


def end_chance(n: int, low: float, high: float, grain: float) -> float:
    """The largest chance that a cell of n answers singles out a last answer at an end of the
    scale, for someone who knows the other answers and chose them to that end (averaged over the
    rounding draw): one answer step (`grain`) in n steps, capped at 1.

    An answer not at an end is never singled out, provided n · step is more than one answer step
    (`shields_the_middle`); release_arithmetic checks both by brute force for the bundled scales.
    """
    return min(1.0, grain / (n * release_step(n, low, high)))


def shields_the_middle(n: int, low: float, high: float, grain: float) -> bool:
    """Whether rounding keeps every answer not at an end of the scale from being singled out in a
    cell of n: a released mean fits every last answer within n · step of the one that gave it,
    which must reach past the next possible score. True for every n on any scale of more than
    three possible scores (n · step ≥ half the range > one answer step); on a yes/no or
    three-point question it can fail, and then any answer can be singled out."""
    return n * release_step(n, low, high) > grain * (1 + _SLACK)


def step_bands(low: float, high: float, first: int, last: int) -> list[tuple[int, int, float]]:
    """(from n, to n, step) for the group sizes first..last on a scale: where the step changes."""
    bands: list[tuple[int, int, float]] = []
    for n in range(first, last + 1):
        step = release_step(n, low, high)
        if bands and bands[-1][2] == step:
            bands[-1] = (bands[-1][0], n, step)
        else:
            bands.append((n, n, step))
    return bands


@lru_cache(maxsize=256)
def step_decimals(step: float) -> int:
    """How many decimals a multiple of `step` needs: 1 → 0, 0.5 → 1, 0.25 → 2, 2.5 → 1."""
    for places in range(16):
        scaled = step * 10**places
        if abs(scaled - round(scaled)) <= _SLACK * max(1.0, scaled):
            return places
    return 15


def format_value(value: float, step: float) -> str:
    """A released figure as text with its step's decimals (never "-0")."""
    text = f"{value:.{step_decimals(step)}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


# --------------------------------------------------------------------------- random rounding


def rounding_outcomes(
    n: int, totals: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the release engine can show for cells of n responses with these totals Σx: the grid
    point at or below each mean, the one above it (both clipped into [low, high]), and the chance
    that the one above is shown (how far the mean lies from the lower point, in steps).

    Exactly the rule of `release_cells` and `released_frame`, for whole arrays of hypothetical
    cells: docs/release-arithmetic.md is worked out from it.
    """
    flat = np.asarray(totals, dtype=np.float64).ravel()
    steps = np.full(flat.shape, release_step(n, low, high))
    lower, upper, chance = _bracket(flat / n, steps, low, high)
    shape = np.shape(totals)
    return lower.reshape(shape), upper.reshape(shape), chance.reshape(shape)


def released_means(
    n: int, totals: np.ndarray, draws: np.ndarray | float, low: float, high: float
) -> np.ndarray:
    """The released means of cells of n responses with these totals Σx and rounding draws:
    exactly what `release_cells` and `released_frame` release."""
    lower, upper, chance = rounding_outcomes(n, totals, low, high)
    out: np.ndarray = np.where(np.asarray(draws) < chance, upper, lower)
    return out


def round_to_step(value: float, step: float, low: float, high: float, draw: float) -> float:
    """`value` rounded to a multiple of `step` counted from `low` (or to `high`): the released
    form of a mean. With g the multiple at or below the value and f = (value − g) / step, it is
    g + step when `draw` < f and g otherwise, so a uniform draw in [0, 1) rounds up with chance
    f: unbiased, and always to one of the two grid points around the value, less than a step
    from it. (Where high is not on the grid, g + step is high and f is measured against it.)"""
    _check_draws(np.array([draw]))
    lower, upper, chance = _bracket(np.array([value]), np.array([step]), low, high)
    return float(upper[0] if draw < chance[0] else lower[0])


def _bracket(
    values: np.ndarray, steps: np.ndarray, low: np.ndarray | float, high: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid points below and above each value (multiples of the step counted from low, the
    one above clipped to high, as clean floats) and the chance of rounding up: how far the value
    lies from the point below, as a share of the distance between the two. That share is
    (value − below) / step except in a last, shorter step up to a high end that is not on the
    grid, where it keeps the rounding unbiased (a mean at the very top shows the top). A value
    within float error of a grid point is on it: its chance is 0, so it is shown as it is."""
    place = (values - low) / steps
    whole = np.floor(place + _SLACK)
    below = np.clip(low + whole * steps, low, high)
    above = np.minimum(below + steps, high)
    with np.errstate(divide="ignore", invalid="ignore"):
        chance = np.where(above > below, (values - below) / (above - below), 0.0)
    chance = np.where(chance > _SLACK, np.minimum(chance, 1.0), 0.0)
    return _clean(below, steps), _clean(above, steps), chance


def _check_draws(draws: np.ndarray) -> None:
    """A released cell without a draw in [0, 1) is refused, never rounded some other way."""
    if not bool(np.all((draws >= 0) & (draws < 1))):
        raise ValueError("every released cell needs a rounding draw in [0, 1) from the store")


def _steps(n: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """`release_step` for whole columns: computed once per distinct (n, low, high), which are
    found by one-dimensional factorising (np.unique on rows is ten times slower)."""
    if n.size == 0:
        return np.array([], dtype=np.float64)
    sizes, n_at = np.unique(n, return_inverse=True)
    lows, low_at = np.unique(low, return_inverse=True)
    highs, high_at = np.unique(high, return_inverse=True)
    key = (n_at.reshape(-1) * len(lows) + low_at.reshape(-1)) * len(highs) + high_at.reshape(-1)
    keys, which = np.unique(key, return_inverse=True)
    steps = [
        release_step(
            int(sizes[k // (len(lows) * len(highs))]),
            float(lows[(k // len(highs)) % len(lows)]),
            float(highs[k % len(highs)]),
        )
        for k in keys.tolist()
    ]
    out: np.ndarray = np.array(steps, dtype=np.float64)[which.reshape(-1)]
    return out


def _clean(values: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Values on a step's grid as the nearest float to their decimal form (6.25, not 6.2500001)."""
    if values.size == 0:
        return values
    unique, which = np.unique(steps, return_inverse=True)
    scale = 10.0 ** np.array([step_decimals(float(s)) for s in unique])[which.reshape(-1)]
    cleaned: np.ndarray = np.round(values * scale) / scale
    return cleaned


def _grid(
    values: np.ndarray, steps: np.ndarray, origin: np.ndarray | float, how: str
) -> np.ndarray:
    """Multiples of the step counted from `origin`: the "nearest" (halves up), or "down" or "up"."""
    place = (values - origin) / steps
    if how == "nearest":
        whole = np.floor(place + 0.5 + _SLACK)
    elif how == "down":
        whole = np.floor(place + _SLACK)
    else:
        whole = np.ceil(place - _SLACK)
    out: np.ndarray = origin + whole * steps
    return out


def _on_grid(
    values: np.ndarray,
    steps: np.ndarray,
    low: np.ndarray | float,
    high: np.ndarray | float,
    how: str,
) -> np.ndarray:
    """Round to multiples of the step counted from low, clip into [low, high], clean the float."""
    return _clean(np.clip(_grid(values, steps, low, how), low, high), steps)


def reference_spread(scale: Bounds) -> float:
    """The spread every per-cohort interval assumes: a quarter of the scale's range."""
    low, high = scale
    return REFERENCE_SPREAD_SHARE * (high - low)


# --------------------------------------------------------------------------- releasing cells


def suppression_reason(cell: StoredCell, min_group_size: int) -> str | None:
    """Why a cell may not be shown, or None if it may."""
    if cell.state == CellState.OPEN:
        return "pulse still open: results appear after it closes"
    if cell.n < min_group_size:
        return f"fewer than {min_group_size} responses"
    return None


def _check_min_group_size(min_group_size: int) -> None:
    if min_group_size not in MIN_GROUP_SIZES:
        raise ValueError(
            f"the minimum group size must be {MIN_GROUP_SIZES[0]}–{MIN_GROUP_SIZES[-1]},"
            f" got {min_group_size}"
        )


def _summaries(
    n: np.ndarray, total: np.ndarray, draw: np.ndarray, low: np.ndarray, high: np.ndarray
) -> dict[str, np.ndarray]:
    """Released mean, step and interval of cells given as columns: the one place they are made."""
    _check_draws(draw)
    step = _steps(n, low, high)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower, upper, chance = _bracket(total / n, step, low, high)
        mean = np.where(draw < chance, upper, lower)
        unique, which = np.unique(n, return_inverse=True)
        t = np.array([t_quantile(int(u) - 1) for u in unique], dtype="float64")
        half = t[which.reshape(-1)] * REFERENCE_SPREAD_SHARE * (high - low) / np.sqrt(n)
    return {
        "mean": mean,
        "step": step,
        "ci_low": _on_grid(np.maximum(mean - half, low), step, low, high, "down"),
        "ci_high": _on_grid(np.minimum(mean + half, high), step, low, high, "up"),
    }


def release_cells(
    cells: Iterable[StoredCell], min_group_size: int, scales: Mapping[str, Bounds]
) -> Release:
    """Split cells into released (with their rounded summary) and suppressed (with a reason).

    The rules one cell at a time: no page or view uses this form (they read cells as columns,
    through `program.cells`); the tests hold the column path to it, as to an oracle."""
    _check_min_group_size(min_group_size)
    shown: list[StoredCell] = []
    suppressed: list[SuppressedCell] = []
    for cell in cells:
        reason = suppression_reason(cell, min_group_size)
        if reason is None:
            shown.append(cell)
        else:
            suppressed.append(
                SuppressedCell(
                    cell.cohort_id,
                    cell.session_id,
                    cell.session_number,
                    cell.measure,
                    cell.state,
                    reason,
                )
            )
    released: list[ReleasedCell] = []
    if shown:
        columns = _summaries(
            np.array([c.n for c in shown], dtype="int64"),
            np.array([c.total for c in shown], dtype="float64"),
            np.array([c.draw for c in shown], dtype="float64"),
            np.array([scales[c.measure][0] for c in shown], dtype="float64"),
            np.array([scales[c.measure][1] for c in shown], dtype="float64"),
        )
        for i, cell in enumerate(shown):
            summary = ReleasedSummary(
                n=cell.n,
                mean=float(columns["mean"][i]),
                step=float(columns["step"][i]),
                ci95=(float(columns["ci_low"][i]), float(columns["ci_high"][i])),
            )
            released.append(
                ReleasedCell(
                    cell.cohort_id, cell.session_id, cell.session_number, cell.measure, summary
                )
            )
    return Release(min_group_size, tuple(released), tuple(suppressed))


# --------------------------------------------------------------------------- first → last


@dataclass(frozen=True, slots=True)
class ReleasedChange:
    """The change in a group's average between two released cells (last − first), built from
    their released means and the reference spread (a quarter of the scale's range), never from
    the answers themselves.

    `diff` is exact on the finer of the two cells' grids (`diff_step`); the interval's ends are
    rounded outward to the coarser step (`ci_step`); Hedges' g and its interval are rounded to
    EFFECT_STEP.
    """

    n_first: int
    n_last: int
    diff: float
    diff_step: float
    ci95: Interval
    ci_step: float
    g: float | None
    g_ci95: Interval | None


def release_change(first: ReleasedCell, last: ReleasedCell, scale: Bounds) -> ReleasedChange:
    """First → last for one cohort and measure, from released figures and the reference spread:
    SE = ref · √(1/n₁ + 1/n₂) with t on n₁ + n₂ − 2 degrees of freedom, g = J · diff / ref."""
    if (first.cohort_id, first.measure) != (last.cohort_id, last.measure):
        raise ValueError("a change compares two sessions of one cohort's measure")
    low, high = scale
    a, b = first.summary, last.summary
    change = reference_change(a.n, a.mean, b.n, b.mean, reference_spread(scale))
    fine, coarse = min(a.step, b.step), max(a.step, b.step)
    span = high - low
    diff = float(_clean(np.array([change.diff]), np.array([fine]))[0])
    g = g_ci = None
    if change.hedges is not None:
        h = change.hedges
        g = _from_zero(h.g, EFFECT_STEP, "nearest")
        g_ci = (
            _from_zero(h.ci95[0], EFFECT_STEP, "down"),
            _from_zero(h.ci95[1], EFFECT_STEP, "up"),
        )
    ci = (
        max(_from_zero(change.ci95[0], coarse, "down"), -span),
        min(_from_zero(change.ci95[1], coarse, "up"), span),
    )
    return ReleasedChange(a.n, b.n, diff, fine, ci, coarse, g, g_ci)


def release_changes(
    n_first: np.ndarray,
    mean_first: np.ndarray,
    step_first: np.ndarray,
    n_last: np.ndarray,
    mean_last: np.ndarray,
    step_last: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`release_change` for whole columns (one row per cohort and measure): the change and its
    interval's two ends, the same figures to the bit (a property test checks it), without the
    effect size. The comparison grid needs thousands of these at once."""
    if n_first.size == 0:
        empty = np.array([], dtype=np.float64)
        return empty, empty, empty
    span = high - low
    spread = REFERENCE_SPREAD_SHARE * span
    df = n_first + n_last - 2
    unique, which = np.unique(df, return_inverse=True)
    t = np.array([t_quantile(int(d)) for d in unique.tolist()], dtype=np.float64)
    t = t[which.reshape(-1)]
    diff_raw = mean_last - mean_first
    se = spread * np.sqrt(1 / n_first + 1 / n_last)
    fine, coarse = np.minimum(step_first, step_last), np.maximum(step_first, step_last)
    diff = _clean(diff_raw, fine)
    ci_low = _clean(_grid(diff_raw - t * se, coarse, 0.0, "down"), coarse)
    ci_high = _clean(_grid(diff_raw + t * se, coarse, 0.0, "up"), coarse)
    return diff, np.maximum(ci_low, -span), np.minimum(ci_high, span)


def _from_zero(value: float, step: float, how: str) -> float:
    """`value` on the multiples of `step` counted from zero, rounded as `how` says."""
    steps = np.array([step])
    return float(_clean(_grid(np.array([value]), steps, 0.0, how), steps)[0])


# --------------------------------------------------------------------------- pooling


@dataclass(frozen=True, slots=True)
class PooledFigure:
    """A pooled mean from released cells only, with how many cells were left out of it."""

    measure: str
    session_number: int
    pooled: Pooled
    left_out: int


def pool_released(
    release: Release, measure: str, session_number: int, scale: Bounds
) -> PooledFigure:
    """Pool one measure at one session number across cohorts, from the released, rounded means
    only: differencing pooled figures can reveal no more than the released cells show."""
    cells = [c for c in release.released_for(measure) if c.session_number == session_number]
    left_out = sum(1 for s in release.suppressed_for(measure) if s.session_number == session_number)
    pooled = pool([(c.n, c.summary.mean) for c in cells], scale)
    return PooledFigure(measure, session_number, pooled, left_out)


# --------------------------------------------------------------------------- many cells at once
#
# The program dashboard releases and pools tens of thousands of cells. These are the same rules
# as `suppression_reason`, `release_cells` and `pool_released`, computed on whole columns; a
# property test checks the two forms agree on every generated program.


def release_frame(cells: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Add `released` (bool) and `reason` (text or None) to a frame of cells with columns
    closed and n, by the same rule as `suppression_reason`."""
    _check_min_group_size(min_group_size)
    out = cells.copy()
    closed = out[CELL_COLUMNS.closed].astype(bool)
    out["released"] = closed & (out[CELL_COLUMNS.n] >= min_group_size)
    reason = pd.Series(None, index=out.index, dtype=object)
    reason[out[CELL_COLUMNS.n] < min_group_size] = f"fewer than {min_group_size} responses"
    reason[~closed] = "pulse still open: results appear after it closes"
    out["reason"] = reason
    return out


RELEASED_COLUMNS = [
    "cohort_id",
    "session_id",
    "session_number",
    "measure",
    "n",
    "mean",
    "step",
    "ci_low",
    "ci_high",
]


def measure_codes(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each row's measure as an integer code, and the measure id of each code. `Store.
    program_cells` hands the measure back as a categorical, whose codes cost nothing; turning
    a hundred thousand of them into Python strings took a third of a dashboard's query time."""
    measure = frame["measure"]
    if isinstance(measure.dtype, pd.CategoricalDtype):
        return (
            measure.cat.codes.to_numpy(dtype=np.int64),
            [str(m) for m in measure.cat.categories],
        )
    codes, uniques = pd.factorize(measure.astype(str))
    return codes.astype(np.int64), [str(m) for m in uniques]


def released_frame(cells: pd.DataFrame, scales: Mapping[str, Bounds]) -> pd.DataFrame:
    """The released cells of a frame marked by `release_frame` (with columns total and draw, as
    `Store.program_cells` returns them), summarised as `release_cells` summarises them: the
    columns RELEASED_COLUMNS, and no sum and no draw."""
    kept = cells[cells["released"]]
    codes, names = measure_codes(kept)
    low = np.array([scales[m][0] for m in names], dtype="float64")[codes]
    high = np.array([scales[m][1] for m in names], dtype="float64")[codes]
    n = kept[CELL_COLUMNS.n].to_numpy(dtype="int64")
    columns = _summaries(
        n,
        kept[CELL_COLUMNS.total].to_numpy(dtype="float64"),
        kept[CELL_COLUMNS.draw].to_numpy(dtype="float64"),
        low,
        high,
    )
    return pd.DataFrame(
        {
            "cohort_id": kept[CELL_COLUMNS.cohort_id].to_numpy(dtype="int64"),
            "session_id": kept[CELL_COLUMNS.session_id].to_numpy(dtype="int64"),
            "session_number": kept[CELL_COLUMNS.session_number].to_numpy(dtype="int64"),
            "measure": kept[CELL_COLUMNS.measure].reset_index(drop=True),
            "n": n,
            **columns,
        },
        columns=RELEASED_COLUMNS,
    )


def pool_frame(
    released: pd.DataFrame, left_out: pd.DataFrame, scales: Mapping[str, Bounds]
) -> list[PooledFigure]:
    """`pool_released` for every (measure, session number) at once, from a `released_frame`
    and the frame of cells left out (measure and session_number columns)."""
    sizes = released["n"].to_numpy(dtype=np.int64)
    means = released["mean"].to_numpy(dtype=np.float64)
    rows = _groups(released)
    left = {key: len(at) for key, at in _groups(left_out).items()}
    empty = np.array([], dtype=np.int64)
    figures = []
    for measure, number in sorted(set(rows) | set(left)):
        at = rows.get((measure, number), empty)
        figures.append(
            PooledFigure(
                measure=str(measure),
                session_number=int(number),
                pooled=pool_columns(sizes[at], means[at], scales[str(measure)]),
                left_out=int(left.get((measure, number), 0)),
            )
        )
    return figures


def _groups(frame: pd.DataFrame) -> dict[tuple[str, int], np.ndarray]:
    """The row positions of each (measure, session number) in a frame of cells, found with one
    sort of an integer key (pandas' groupby on a categorical took most of the pooling time)."""
    codes, names = measure_codes(frame)
    if len(codes) == 0:
        return {}
    number = frame["session_number"].to_numpy(dtype=np.int64)
    span = int(number.max()) + 1
    key = codes * span + number
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    return {
        (names[int(k) // span], int(k) % span): order[a:b]
        for k, a, b in zip(ordered[starts].tolist(), starts.tolist(), ends.tolist(), strict=True)
    }
