"""The statistics behind every released number: pure functions, checked against reference vectors.

Small-n reporting rules (docs/design.md, "Statistics"): t intervals rather than bootstrap, Wilson
intervals for proportions, first-vs-last comparisons as *independent* samples because responses are
unlinked by design, and cohort pooling with a cluster-robust standard error. Anything that cannot be
estimated from the data at hand (an SD from one value, an interval from one cohort) is `None`, never
a guess.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from program.errors import InvalidInput

CONFIDENCE = 0.95
Interval = tuple[float, float]
"""A (low, high) pair."""
Bounds = tuple[float, float]
"""The lowest and highest possible score of a scale, e.g. `Instrument.score_range`."""


# --------------------------------------------------------------------------- one cell


@dataclass(frozen=True, slots=True)
class CellSummary:
    """Mean and 95% t interval of one cell; fields that need ≥ 2 values are None below that."""

    n: int
    mean: float | None
    sd: float | None
    se: float | None
    t_crit: float | None
    ci95: Interval | None
    median: float | None


def summarize(values: Sequence[float], scale: Bounds) -> CellSummary:
    """Summarize raw scores; with n < 2 the SD, SE, t and interval are None (n = 0: all None)."""
    n = len(values)
    if n == 0:
        return _cell(0, None, None, scale, median=None)
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n >= 2 else None
    return _cell(n, mean, sd, scale, median=float(statistics.median(values)))


def summarize_sums(n: int, total: float, total_sq: float, scale: Bounds) -> CellSummary:
    """Summarize from (n, Σx, Σx²) alone, giving what `summarize` gives except the median (None)."""
    if n < 0:
        raise InvalidInput(f"a cell cannot hold {n} responses")
    if n == 0:
        return _cell(0, None, None, scale, median=None)
    mean = total / n
    sd = None
    if n >= 2:
        # Σx² − (Σx)²/n can come out a hair below zero for constant data through rounding.
        sd = math.sqrt(max(0.0, (total_sq - total * total / n) / (n - 1)))
    return _cell(n, mean, sd, scale, median=None)


def _cell(
    n: int, mean: float | None, sd: float | None, scale: Bounds, median: float | None
) -> CellSummary:
    if mean is None or sd is None:
        return CellSummary(n, mean, None, None, None, None, median)
    se = sd / math.sqrt(n)
    t = t_quantile(n - 1)
    return CellSummary(n, mean, sd, se, t, _clip((mean - t * se, mean + t * se), scale), median)


# --------------------------------------------------------------------------- proportions


@dataclass(frozen=True, slots=True)
class Proportion:
    """k of n with a Wilson 95% interval; p and the interval are None when n = 0."""

    k: int
    n: int
    p: float | None
    ci95: Interval | None


def proportion(k: int, n: int) -> Proportion:
    """Share k/n with its Wilson score interval, which keeps sensible coverage at small n."""
    if n < 0 or not 0 <= k <= n:
        raise InvalidInput(f"cannot take a share of {k} out of {n}")
    if n == 0:
        return Proportion(k, n, None, None)
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return Proportion(k, n, k / n, (float(ci.low), float(ci.high)))


# --------------------------------------------------------------------------- first vs last


@dataclass(frozen=True, slots=True)
class Welch:
    """Difference in means (last − first) with Welch SE, Welch–Satterthwaite df and 95% interval."""

    diff: float
    se: float
    df: float
    t_crit: float
    ci95: Interval


@dataclass(frozen=True, slots=True)
class Hedges:
    """Standardized difference (last − first): Cohen's d on the pooled SD, and Hedges' g = J·d."""

    pooled_sd: float
    d: float
    J: float
    g: float
    se_g: float
    ci95: Interval


@dataclass(frozen=True, slots=True)
class Cliffs:
    """Ordinal check over all (first, last) pairs: counts, Cliff's δ and Vargha–Delaney A."""

    greater: int
    less: int
    ties: int
    delta: float
    vargha_delaney_A: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Change in the group's average from the first to the last session, as independent samples.

    `welch` and `hedges` are None unless both sessions have ≥ 2 responses and some spread (Welch
    needs spread in either session, Hedges in the pooled SD); `cliffs` is None if either is empty.
    """

    n_first: int
    n_last: int
    welch: Welch | None
    hedges: Hedges | None
    cliffs: Cliffs | None


def compare(first: Sequence[float], last: Sequence[float]) -> Comparison:
    """Compare two unlinked samples; every difference is last − first."""
    return Comparison(
        len(first), len(last), welch(first, last), hedges(first, last), cliffs(first, last)
    )


def welch(first: Sequence[float], last: Sequence[float]) -> Welch | None:
    """Welch difference and interval, or None if a session has < 2 values or neither has spread."""
    if len(first) < 2 or len(last) < 2:
        return None
    a, b = _moments(first), _moments(last)
    w1, w2 = a.var / a.n, b.var / b.n
    if w1 + w2 == 0:
        return None
    se = math.sqrt(w1 + w2)
    df = (w1 + w2) ** 2 / (w1**2 / (a.n - 1) + w2**2 / (b.n - 1))
    t = t_quantile(df)
    diff = b.mean - a.mean
    return Welch(diff, se, df, t, (diff - t * se, diff + t * se))


def hedges(first: Sequence[float], last: Sequence[float]) -> Hedges | None:
    """Hedges' g with a normal 95% interval, or None if a session has < 2 values or no spread."""
    if len(first) < 2 or len(last) < 2:
        return None
    a, b = _moments(first), _moments(last)
    n1, n2 = a.n, b.n
    pooled_sd = math.sqrt(((n1 - 1) * a.var + (n2 - 1) * b.var) / (n1 + n2 - 2))
    if pooled_sd == 0:
        return None
    d = (b.mean - a.mean) / pooled_sd
    j = 1 - 3 / (4 * (n1 + n2 - 2) - 1)
    g = j * d
    # Var(g) = J²·Var(d), with d (not g) in the large-sample term: this is what the reference
    # vectors use, and the interval is normal, not t.
    se_g = j * math.sqrt((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2)))
    z = z_quantile()
    return Hedges(pooled_sd, d, j, g, se_g, (g - z * se_g, g + z * se_g))


def cliffs(first: Sequence[float], last: Sequence[float]) -> Cliffs | None:
    """Cliff's δ = P(last > first) − P(last < first) over all pairs; None if either is empty."""
    if not first or not last:
        return None
    ordered = sorted(first)
    greater = less = 0
    # Binary search per value of `last` instead of comparing every pair.
    for y in last:
        greater += bisect_left(ordered, y)
        less += len(ordered) - bisect_right(ordered, y)
    pairs = len(first) * len(last)
    ties = pairs - greater - less
    return Cliffs(greater, less, ties, (greater - less) / pairs, (greater + ties / 2) / pairs)


@dataclass(frozen=True, slots=True)
class ReferenceChange:
    """Difference in means (last − first) with a spread that is given rather than estimated from
    the two samples: t interval on n₁ + n₂ − 2 degrees of freedom, and Hedges' g on that spread
    (None when the spread is zero)."""

    diff: float
    se: float
    df: int
    t_crit: float
    ci95: Interval
    hedges: Hedges | None


def reference_change(n1: int, mean1: float, n2: int, mean2: float, sd: float) -> ReferenceChange:
    """Compare two unlinked means, each of n responses, using the reference SD `sd` for both."""
    if n1 < 1 or n2 < 1 or n1 + n2 < 3:
        raise InvalidInput(f"a comparison needs more responses than {n1} and {n2}")
    if sd < 0:
        raise InvalidInput(f"a spread cannot be negative, got {sd}")
    diff = mean2 - mean1
    df = n1 + n2 - 2
    se = sd * math.sqrt(1 / n1 + 1 / n2)
    t = t_quantile(df)
    effect = None
    if sd > 0:
        d = diff / sd
        j = 1 - 3 / (4 * df - 1)
        g = j * d
        # The same large-sample variance as `hedges`, with the reference SD as the pooled one.
        se_g = j * math.sqrt((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2)))
        z = z_quantile()
        effect = Hedges(sd, d, j, g, se_g, (g - z * se_g, g + z * se_g))
    return ReferenceChange(diff, se, df, t, (diff - t * se, diff + t * se), effect)


@dataclass(frozen=True, slots=True)
class _Moments:
    n: int
    mean: float
    var: float


def _moments(values: Sequence[float]) -> _Moments:
    n = len(values)
    mean = math.fsum(values) / n
    return _Moments(n, mean, math.fsum((v - mean) ** 2 for v in values) / (n - 1))


# --------------------------------------------------------------------------- across cohorts


@dataclass(frozen=True, slots=True)
class Pooled:
    """Cohort-weighted mean with a cluster-robust SE and t(G − 1) interval.

    With fewer than two cohorts there is no between-cohort spread, so se, t_crit and ci95 are None
    and `no_interval_reason` says why; with no cohorts the mean is None as well.
    """

    G: int
    N: int
    mean: float | None
    se: float | None
    t_crit: float | None
    ci95: Interval | None
    no_interval_reason: str | None


def pool(cells: Sequence[tuple[int, float]], scale: Bounds | None = None) -> Pooled:
    """Pool per-cohort (n, mean) cells; the interval is clipped to `scale` when one is given."""
    sizes = np.array([n for n, _ in cells], dtype=np.int64)
    means = np.array([m for _, m in cells], dtype=np.float64)
    return pool_columns(sizes, means, scale)


def pool_columns(sizes: np.ndarray, means: np.ndarray, scale: Bounds | None = None) -> Pooled:
    """`pool` for cells held as two columns, as a dashboard holds tens of thousands of them.

    `pool` calls this too, so both forms give the same figures to the bit. The sums are numpy's
    pairwise sums: within a few units in the last place of an exact sum for any realistic number
    of cohorts, and about ten times faster than `math.fsum` over a program's 100,000 cells.
    """
    g = len(sizes)
    if g == 0:
        return Pooled(0, 0, None, None, None, None, "no cohorts to pool")
    if int(sizes.min()) < 1:
        raise InvalidInput("every pooled cohort needs at least one response")
    total_n = int(sizes.sum())
    weights = sizes.astype(np.float64)
    mean = float(np.sum(weights * means)) / total_n
    if g == 1:
        reason = "only one cohort: an interval needs the spread between at least two"
        return Pooled(1, total_n, mean, None, None, None, reason)
    # Cohorts, not members, are the independent units: members of one group move together.
    spread = float(np.sum(weights * weights * (means - mean) ** 2))
    se = math.sqrt(g / (g - 1) * spread / total_n**2)
    t = t_quantile(g - 1)
    ci = (mean - t * se, mean + t * se)
    return Pooled(g, total_n, mean, se, t, _clip(ci, scale) if scale else ci, None)


@dataclass(frozen=True, slots=True)
class PooledChange:
    """The change in a pooled average between two sessions over one fixed set of cohorts (a
    balanced panel): `last - first`, each the n-weighted average of the cohorts' means, with a
    cluster-robust interval on G − 1 degrees of freedom (None below two cohorts)."""

    G: int
    n_first: int
    n_last: int
    first: float
    last: float
    change: float
    se: float | None
    ci95: Interval | None


def pool_change(
    sizes_first: np.ndarray,
    means_first: np.ndarray,
    sizes_last: np.ndarray,
    means_last: np.ndarray,
) -> PooledChange:
    """Pool the same G cohorts at two sessions (row i is one cohort in all four columns).

    Each pooled average is the one `pool_columns` gives, so the change is exactly the difference
    of the two figures shown. Its standard error is the cluster-robust one of that difference:
    each cohort contributes its weighted residual at the last session minus the one at the first,
    so a cohort that is high at both ends (a between-group difference) adds nothing to it.
    """
    g = len(sizes_first)
    if g == 0 or len(sizes_last) != g or len(means_first) != g or len(means_last) != g:
        raise InvalidInput("a pooled change needs the same cohorts, at least one, at both ends")
    if int(min(sizes_first.min(), sizes_last.min())) < 1:
        raise InvalidInput("every pooled cohort needs at least one response at both ends")
    n1, n2 = int(sizes_first.sum()), int(sizes_last.sum())
    w1, w2 = sizes_first.astype(np.float64), sizes_last.astype(np.float64)
    first = float(np.sum(w1 * means_first)) / n1
    last = float(np.sum(w2 * means_last)) / n2
    change = last - first
    if g == 1:
        return PooledChange(1, n1, n2, first, last, change, None, None)
    residual = w2 * (means_last - last) / n2 - w1 * (means_first - first) / n1
    se = math.sqrt(g / (g - 1) * float(np.sum(residual * residual)))
    t = t_quantile(g - 1)
    return PooledChange(g, n1, n2, first, last, change, se, (change - t * se, change + t * se))


# --------------------------------------------------------------------------- attendance


def attendance_rate(present: int, enrolled: int) -> float | None:
    """Share of enrolled members present; None when nobody is enrolled."""
    _check_share(present, enrolled, "present", "enrolled")
    return present / enrolled if enrolled else None


def retention(counts_by_session: Mapping[int, int], enrolled: int) -> dict[int, float] | None:
    """Attendance share per session number, in session order; None when nobody is enrolled."""
    for count in counts_by_session.values():
        _check_share(count, enrolled, "present", "enrolled")
    if enrolled == 0:
        return None
    return {s: counts_by_session[s] / enrolled for s in sorted(counts_by_session)}


def completers(sessions_attended_by_member: Mapping[int, int], rule_min: int) -> int:
    """Number of members who attended at least `rule_min` sessions (the curriculum's rule)."""
    if rule_min < 1:
        raise InvalidInput(f"a completion rule needs at least one session, not {rule_min}")
    return sum(1 for attended in sessions_attended_by_member.values() if attended >= rule_min)


def fidelity_share(delivered: int, planned: int) -> float | None:
    """Share of planned agenda items delivered; None when nothing was planned."""
    _check_share(delivered, planned, "delivered", "planned")
    return delivered / planned if planned else None


def share_columns(parts: np.ndarray, wholes: np.ndarray) -> np.ndarray:
    """Each part ÷ its whole for whole columns (response rates of thousands of cells at once),
    NaN where the whole is 0, as `attendance_rate` gives None for one."""
    part = np.asarray(parts, dtype=np.float64)
    whole = np.asarray(wholes, dtype=np.float64)
    out = np.full(np.broadcast(part, whole).shape, np.nan)
    # Divide only where there is a whole: 0 ÷ 0 and n ÷ 0 are "not given", never inf.
    np.divide(part, whole, out=out, where=whole != 0)
    return out


def _check_share(part: int, whole: int, part_name: str, whole_name: str) -> None:
    if part < 0 or whole < 0 or part > whole:
        raise InvalidInput(f"{part_name} ({part}) must be between 0 and {whole_name} ({whole})")


# --------------------------------------------------------------------------- quantiles


@lru_cache(maxsize=4096)
def t_quantile(df: float) -> float:
    """The two-sided 95% critical value of Student's t with `df` degrees of freedom."""
    # scipy's ppf is slow for a number asked so often: dashboards ask for the same few df
    # thousands of times a render.
    return float(scipy_stats.t.ppf((1 + CONFIDENCE) / 2, df))


def z_quantile() -> float:
    """The two-sided 95% critical value of the normal distribution."""
    return float(scipy_stats.norm.ppf((1 + CONFIDENCE) / 2))


def _clip(interval: Interval, scale: Bounds) -> Interval:
    low, high = scale
    return (max(interval[0], low), min(interval[1], high))
