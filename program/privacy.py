"""The release engine: which numbers about responses may be shown, and why the others may not.

Pure functions. Every number about responses that a page shows or an export writes is built from
the cells this module releases, and only from them (DESIGN section 3):

- nothing about a session until its pulse has closed;
- a cell (one cohort × session × measure) only when it rests on at least k responses;
- pooled figures only from released cells, saying how many cells were left out;
- distributions only when pooled, and only when every shown bucket holds at least k responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from program.stats import Bounds, CellSummary, Pooled, pool, pool_columns, summarize_sums


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
    counts: tuple[tuple[float, int], ...]  # (score, responses giving it), ascending by score


@dataclass(frozen=True, slots=True)
class ReleasedCell:
    cell: StoredCell
    summary: CellSummary

    @property
    def n(self) -> int:
        return self.cell.n

    def values(self) -> list[float]:
        """The cell's scores, in ascending order (never in answer order, which is not kept)."""
        return [score for score, count in self.cell.counts for _ in range(count)]


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
        return [c for c in self.released if c.cell.measure == measure]

    def suppressed_for(self, measure: str) -> list[SuppressedCell]:
        return [c for c in self.suppressed if c.measure == measure]


def suppression_reason(cell: StoredCell, k: int) -> str | None:
    """Why a cell may not be shown, or None if it may."""
    if cell.state == CellState.OPEN:
        return "pulse still open: results appear after it closes"
    if cell.n < k:
        return f"fewer than {k} responses"
    return None


def release_cells(cells: Iterable[StoredCell], k: int, scales: dict[str, Bounds]) -> Release:
    """Split cells into released (with their summary) and suppressed (with a reason)."""
    if not 3 <= k <= 10:
        raise ValueError(f"the minimum group size must be 3–10, got {k}")
    released: list[ReleasedCell] = []
    suppressed: list[SuppressedCell] = []
    for cell in cells:
        reason = suppression_reason(cell, k)
        if reason is None:
            summary = summarize_sums(cell.n, cell.total, cell.total_sq, scales[cell.measure])
            released.append(ReleasedCell(cell, summary))
        else:
            suppressed.append(
                SuppressedCell(
                    cell.cohort_id, cell.session_id, cell.session_number, cell.measure, reason
                )
            )
    return Release(k, tuple(released), tuple(suppressed))


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
    """Pool one measure at one session number across cohorts, from released cells only."""
    cells = [
        c
        for c in release.released_for(measure)
        if c.cell.session_number == session_number and c.summary.mean is not None
    ]
    left_out = sum(1 for s in release.suppressed_for(measure) if s.session_number == session_number)
    pooled = pool([(c.n, c.summary.mean) for c in cells if c.summary.mean is not None], scale)
    return PooledFigure(measure, session_number, pooled, left_out)


def pooled_distribution(
    cells: Sequence[ReleasedCell], k: int, buckets: Sequence[tuple[str, float, float]]
) -> list[tuple[str, int]] | None:
    """Responses per bucket (label, low, high inclusive) pooled over several released cells.

    Only for pooled views (two or more cells), and only when every bucket shown has at least k
    responses; otherwise None, and the view shows no distribution.
    """
    if len(cells) < 2:
        return None
    out = []
    for label, low, high in buckets:
        count = sum(n for c in cells for score, n in c.cell.counts if low <= score <= high)
        if count < k:
            return None
        out.append((label, count))
    return out


# --------------------------------------------------------------------------- many cells at once
#
# The program dashboard releases and pools tens of thousands of cells. These are the same rules
# as `suppression_reason`, `release_cells` and `pool_released`, computed on whole columns; a
# property test checks the two forms agree on every generated program.


def release_frame(cells: pd.DataFrame, k: int) -> pd.DataFrame:
    """Add `released` (bool) and `reason` (text or None) to a frame of cells with columns
    closed and n, by the same rule as `suppression_reason`."""
    if not 3 <= k <= 10:
        raise ValueError(f"the minimum group size must be 3–10, got {k}")
    out = cells.copy()
    closed = out["closed"].astype(bool)
    out["released"] = closed & (out["n"] >= k)
    reason = pd.Series(None, index=out.index, dtype=object)
    reason[out["n"] < k] = f"fewer than {k} responses"
    reason[~closed] = "pulse still open: results appear after it closes"
    out["reason"] = reason
    return out


def pool_frame(released: pd.DataFrame, scales: dict[str, Bounds]) -> list[PooledFigure]:
    """`pool_released` for every (measure, session number) of a released frame at once."""
    kept = released[released["released"]]
    sizes = kept["n"].to_numpy(dtype=np.int64)
    means = kept["total"].to_numpy(dtype=np.float64) / sizes
    rows = kept.groupby(["measure", "session_number"]).indices
    left = released[~released["released"]].groupby(["measure", "session_number"]).size()
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
