"""The release engine: which numbers about responses may be shown, how precisely, and why.

Pure functions. Every number about responses that a page shows or an export writes is built from
the cells this module releases, and only from them (DESIGN section 3):

- nothing about a session until its pulse has closed;
- a cell (one cohort × session × measure) only when it rests on at least k responses;
- a released cell's mean only rounded to a step that grows coarser as the cell gets smaller
  (`release_step`), so that someone who knows every answer but one cannot work that one out;
- no spread of the cell's own: its 95% interval uses a *reference spread* borrowed from the other
  cohorts of the program, or a quarter of the scale's range when fewer than three other cohorts
  have released cells of that measure (`reference_spreads`);
- pooled figures only from released, rounded means, saying how many cells were left out.

So what a cell shows depends on its own answers only through n and the rounded mean. The exact
sums (n, Σx, Σx²) stay in the store and in this module; `ReleasedCell` and `ReleasedChange` carry
nothing else out. docs/release-arithmetic.md works through what an attacker can still learn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pandas as pd

from program.stats import (
    Bounds,
    Interval,
    Pooled,
    _t_quantile,
    pool,
    pool_columns,
    reference_change,
)

# "Nice" steps: these times a power of ten.
NICE_STEPS = (Fraction(1), Fraction(2), Fraction(5, 2), Fraction(5))
# A borrowed spread needs released cells from at least this many other cohorts.
MIN_REFERENCE_COHORTS = 3
# Without one, the spread is this share of the scale's range.
DEFAULT_SPREAD_SHARE = 0.25
# Sums of squares are added in whole units of 1/SPREAD_QUANTA, so totals are exact (see
# Store.released_spreads); 2^16 keeps a program of a million cells far inside int64.
SPREAD_QUANTA = 2**16
# Effect sizes are released to one decimal.
EFFECT_STEP = 0.1
# Slack for float error when a value should sit exactly on a step: 6.5 computed as
# 6.4999999999 still rounds up, and an interval end on the grid is not pushed a step outward.
_SLACK = 1e-9
SPREAD_COLUMNS = ["cohort_id", "measure", "ss", "df"]
# What every page says, once, near released figures.
ROUNDING_NOTE = (
    "Averages are rounded more for small groups, so no single answer can be worked out from them."
)


class CellState(StrEnum):
    OPEN = "open"  # the pulse is still taking answers
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StoredCell:
    """One cohort × session × measure as the store holds it, before any release decision."""

    cohort_id: int
    session_id: int
    session_number: int
    measure: str
    state: CellState
    n: int
    total: float
    total_sq: float


@dataclass(frozen=True, slots=True)
class ReleasedSummary:
    """What may be shown of a released cell: n, the rounded mean, the step it was rounded to,
    and a 95% interval from the reference spread, its ends rounded outward to the step."""

    n: int
    mean: float
    step: float
    ci95: Interval
    borrowed_spread: bool  # False: the interval uses the default spread (a quarter of the range)

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
    """A cell that may not be shown, and the reason in words. Holds no count and no score."""

    cohort_id: int
    session_id: int
    session_number: int
    measure: str
    reason: str


@dataclass(frozen=True, slots=True)
class Release:
    k: int
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

    Someone who knows every answer but one sees the last answer only through the rounded mean,
    which stays the same over a band of n · step ≥ half the scale's range of possible last
    answers, unless the band is cut off by an end of the scale (docs/release-arithmetic.md).
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


def released_means(n: int, totals: np.ndarray, low: float, high: float) -> np.ndarray:
    """The released (rounded) means of cells of n responses with these totals Σx: exactly what
    `release_cells` and `released_frame` release, for whole arrays of hypothetical cells."""
    flat = np.asarray(totals, dtype=np.float64).ravel()
    steps = np.full(flat.shape, release_step(n, low, high))
    return _on_grid(flat / n, steps, low, high, "nearest").reshape(np.shape(totals))


def round_to_step(value: float, step: float, low: float, high: float) -> float:
    """`value` rounded to the nearest multiple of `step` counted from `low` (halves up), then
    clipped into [low, high]: the released form of a mean."""
    return float(_on_grid(np.array([value]), np.array([step]), low, high, "nearest")[0])


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


# --------------------------------------------------------------------------- reference spreads


def cell_spreads(cells: Iterable[StoredCell], k: int) -> pd.DataFrame:
    """The spread inside released cells per cohort × measure (columns SPREAD_COLUMNS): what
    `Store.released_spreads` computes in SQL, from cells held in memory."""
    sums: dict[tuple[int, str], list[int]] = {}
    for cell in cells:
        if suppression_reason(cell, k) is not None:
            continue
        ss = max(cell.total_sq - cell.total * cell.total / cell.n, 0.0)
        entry = sums.setdefault((cell.cohort_id, cell.measure), [0, 0])
        entry[0] += math.floor(ss * SPREAD_QUANTA + 0.5)
        entry[1] += cell.n - 1
    rows = [(c, m, ss, df) for (c, m), (ss, df) in sorted(sums.items())]
    frame = pd.DataFrame(rows, columns=SPREAD_COLUMNS)
    return frame.astype({"cohort_id": "int64", "ss": "int64", "df": "int64"})


def reference_spreads(
    spreads: pd.DataFrame,
    cohort_ids: np.ndarray,
    measure_codes: np.ndarray,
    measure_names: Sequence[str],
    low: np.ndarray,
    high: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The reference spread of each (cohort, measure) pair, and whether it was borrowed; the
    pairs' measures are given as codes into `measure_names`.

    Borrowed: the pooled within-cell SD, √(Σ(Σx² − (Σx)²/n) / Σ(n − 1)), over the released cells
    of that measure from every *other* cohort of the program, when those come from at least
    MIN_REFERENCE_COHORTS cohorts. Otherwise a quarter of the scale's range. Computed as the
    program's totals minus the cohort's own share, in exact integers, so a cohort's own answers
    never reach its own reference spread, not even in the last bit.
    """
    default = DEFAULT_SPREAD_SHARE * (high - low)
    if len(cohort_ids) == 0:
        return np.array([], dtype=np.float64), np.array([], dtype=bool)
    names = sorted(set(spreads["measure"].astype(str).unique().tolist()) | set(measure_names))
    place = {name: i for i, name in enumerate(names)}
    pair_measure = np.array([place[m] for m in measure_names], dtype="int64")[measure_codes]
    spread_measure = pd.Categorical(spreads["measure"].astype(str), categories=names).codes
    spread_measure = spread_measure.astype("int64")
    ss = spreads["ss"].to_numpy(dtype="int64")
    df = spreads["df"].to_numpy(dtype="int64")
    total_ss = np.zeros(len(names), dtype="int64")
    np.add.at(total_ss, spread_measure, ss)
    total_df = np.zeros(len(names), dtype="int64")
    np.add.at(total_df, spread_measure, df)
    cohorts = np.bincount(spread_measure, minlength=len(names)).astype("int64")
    # Each cohort's own share, found by a hash lookup of (cohort, measure) keys.
    keys = spreads["cohort_id"].to_numpy(dtype="int64") * len(names) + spread_measure
    wanted = np.asarray(cohort_ids, dtype="int64") * len(names) + pair_measure
    at = pd.Index(keys).get_indexer(wanted)
    own = at >= 0
    own_ss = np.where(own, ss[at], 0)
    own_df = np.where(own, df[at], 0)
    other_ss = total_ss[pair_measure] - own_ss
    other_df = total_df[pair_measure] - own_df
    other_cohorts = cohorts[pair_measure] - own.astype("int64")
    borrowed = (other_cohorts >= MIN_REFERENCE_COHORTS) & (other_df > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.sqrt(other_ss / SPREAD_QUANTA / other_df)
    return np.where(borrowed, pooled, default), borrowed


# --------------------------------------------------------------------------- releasing cells


def suppression_reason(cell: StoredCell, k: int) -> str | None:
    """Why a cell may not be shown, or None if it may."""
    if cell.state == CellState.OPEN:
        return "pulse still open: results appear after it closes"
    if cell.n < k:
        return f"fewer than {k} responses"
    return None


def _check_k(k: int) -> None:
    if not 3 <= k <= 10:
        raise ValueError(f"the minimum group size must be 3–10, got {k}")


def _summaries(
    n: np.ndarray, total: np.ndarray, low: np.ndarray, high: np.ndarray, ref_sd: np.ndarray
) -> dict[str, np.ndarray]:
    """Rounded mean, step and interval of cells given as columns: the one place they are made."""
    step = _steps(n, low, high)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = _on_grid(total / n, step, low, high, "nearest")
        unique, which = np.unique(n, return_inverse=True)
        t = np.array([_t_quantile(int(u) - 1) for u in unique], dtype="float64")
        half = t[which.reshape(-1)] * ref_sd / np.sqrt(n)
    return {
        "mean": mean,
        "step": step,
        "ci_low": _on_grid(np.maximum(mean - half, low), step, low, high, "down"),
        "ci_high": _on_grid(np.minimum(mean + half, high), step, low, high, "up"),
    }


def release_cells(
    cells: Iterable[StoredCell], k: int, scales: Mapping[str, Bounds], spreads: pd.DataFrame
) -> Release:
    """Split cells into released (with their rounded summary) and suppressed (with a reason).

    `spreads` are the program's released spreads (`Store.released_spreads`, or `cell_spreads`),
    from which each cell's reference spread is borrowed.
    """
    _check_k(k)
    shown: list[StoredCell] = []
    suppressed: list[SuppressedCell] = []
    for cell in cells:
        reason = suppression_reason(cell, k)
        if reason is None:
            shown.append(cell)
        else:
            suppressed.append(
                SuppressedCell(
                    cell.cohort_id, cell.session_id, cell.session_number, cell.measure, reason
                )
            )
    released: list[ReleasedCell] = []
    if shown:
        n = np.array([c.n for c in shown], dtype="int64")
        low = np.array([scales[c.measure][0] for c in shown], dtype="float64")
        high = np.array([scales[c.measure][1] for c in shown], dtype="float64")
        cohorts = np.array([c.cohort_id for c in shown], dtype="int64")
        names = sorted({c.measure for c in shown})
        codes = np.array([names.index(c.measure) for c in shown], dtype="int64")
        ref_sd, borrowed = reference_spreads(spreads, cohorts, codes, names, low, high)
        total = np.array([c.total for c in shown], dtype="float64")
        columns = _summaries(n, total, low, high, ref_sd)
        for i, cell in enumerate(shown):
            summary = ReleasedSummary(
                n=cell.n,
                mean=float(columns["mean"][i]),
                step=float(columns["step"][i]),
                ci95=(float(columns["ci_low"][i]), float(columns["ci_high"][i])),
                borrowed_spread=bool(borrowed[i]),
            )
            released.append(
                ReleasedCell(
                    cell.cohort_id, cell.session_id, cell.session_number, cell.measure, summary
                )
            )
    return Release(k, tuple(released), tuple(suppressed))


# --------------------------------------------------------------------------- first → last


@dataclass(frozen=True, slots=True)
class ReleasedChange:
    """The change in a group's average between two released cells (last − first), built from
    their rounded means and the reference spread, never from the answers themselves.

    `diff` is exact on the finer of the two cells' grids (`diff_step`); the interval's ends are
    rounded outward to the coarser step (`ci_step`); Hedges' g and its interval are rounded to
    EFFECT_STEP, and g is None when the reference spread is zero.
    """

    n_first: int
    n_last: int
    diff: float
    diff_step: float
    ci95: Interval
    ci_step: float
    g: float | None
    g_ci95: Interval | None
    borrowed_spread: bool


def release_change(
    first: ReleasedCell, last: ReleasedCell, spreads: pd.DataFrame, scale: Bounds
) -> ReleasedChange:
    """First → last for one cohort and measure, from released figures and the reference spread:
    SE = ref · √(1/n₁ + 1/n₂) with t on n₁ + n₂ − 2 degrees of freedom, g = J · diff / ref."""
    if (first.cohort_id, first.measure) != (last.cohort_id, last.measure):
        raise ValueError("a change compares two sessions of one cohort's measure")
    low, high = scale
    ref_sd, borrowed = reference_spreads(
        spreads,
        np.array([first.cohort_id]),
        np.array([0]),
        [first.measure],
        np.array([low], dtype="float64"),
        np.array([high], dtype="float64"),
    )
    a, b = first.summary, last.summary
    change = reference_change(a.n, a.mean, b.n, b.mean, float(ref_sd[0]))
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
    return ReleasedChange(a.n, b.n, diff, fine, ci, coarse, g, g_ci, bool(borrowed[0]))


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


def release_frame(cells: pd.DataFrame, k: int) -> pd.DataFrame:
    """Add `released` (bool) and `reason` (text or None) to a frame of cells with columns
    closed and n, by the same rule as `suppression_reason`."""
    _check_k(k)
    out = cells.copy()
    closed = out["closed"].astype(bool)
    out["released"] = closed & (out["n"] >= k)
    reason = pd.Series(None, index=out.index, dtype=object)
    reason[out["n"] < k] = f"fewer than {k} responses"
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
    "borrowed_spread",
]


def released_frame(
    cells: pd.DataFrame, scales: Mapping[str, Bounds], spreads: pd.DataFrame
) -> pd.DataFrame:
    """The released cells of a frame marked by `release_frame`, summarised as `release_cells`
    summarises them: the columns RELEASED_COLUMNS, and no sum of any kind."""
    kept = cells[cells["released"]]
    measure = kept["measure"]
    if isinstance(measure.dtype, pd.CategoricalDtype):  # as Store.program_cells returns it
        codes = measure.cat.codes.to_numpy(dtype="int64")
        names = [str(m) for m in measure.cat.categories]
    else:
        codes, uniques = pd.factorize(measure.astype(str))
        names = [str(m) for m in uniques]
    low = np.array([scales[m][0] for m in names], dtype="float64")[codes]
    high = np.array([scales[m][1] for m in names], dtype="float64")[codes]
    n = kept["n"].to_numpy(dtype="int64")
    cohorts = kept["cohort_id"].to_numpy(dtype="int64")
    ref_sd, borrowed = reference_spreads(spreads, cohorts, codes, names, low, high)
    columns = _summaries(n, kept["total"].to_numpy(dtype="float64"), low, high, ref_sd)
    return pd.DataFrame(
        {
            "cohort_id": cohorts,
            "session_id": kept["session_id"].to_numpy(dtype="int64"),
            "session_number": kept["session_number"].to_numpy(dtype="int64"),
            "measure": kept["measure"].reset_index(drop=True),
            "n": n,
            **columns,
            "borrowed_spread": borrowed,
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
    rows = released.groupby(["measure", "session_number"], observed=True).indices
    left = left_out.groupby(["measure", "session_number"], observed=True).size()
    empty = np.array([], dtype=np.int64)
    figures = []
    for measure, number in sorted(set(rows) | set(left.index)):
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
