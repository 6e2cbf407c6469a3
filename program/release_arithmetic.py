"""What a released mean gives away, worked out by brute force: the tables of
docs/release-arithmetic.md. `python -m program.release_arithmetic` prints them as Markdown.

For every scale of the bundled instruments and every group size n from 5 (the default minimum
group size k) to 20, it takes every total the other n − 1 answers could have (however they came
to be known: typed in by a facilitator, or guessed right) and every possible last answer, rounds
each mean exactly as the release engine does (`privacy.released_means`), and groups the last
answers that give the same released mean. Someone who knows the other answers cannot tell the
answers of one group apart: that group is the *band* the last answer is narrowed to.

The rounded mean is all there is to go on: everything else released about a cell (its interval,
the change since the first session, the pooled figures) depends on its answers only through n
and the rounded mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from program.curriculum import INSTRUMENTS_FOLDER, load_instrument
from program.models import Instrument
from program.privacy import release_step, released_means
from program.settings import get_settings

FIRST_N = 5
LAST_N = 20


@dataclass(frozen=True)
class Scale:
    """A score range shared by one or more instruments, and the gap between possible scores."""

    low: float
    high: float
    grain: float
    titles: tuple[str, ...]

    @property
    def points(self) -> int:
        return round((self.high - self.low) / self.grain) + 1

    @property
    def scores(self) -> np.ndarray:
        scores: np.ndarray = self.low + self.grain * np.arange(self.points)
        return scores


@dataclass(frozen=True)
class Row:
    """Bands of one scale at one n, as numbers of possible last answers (None: no such band)."""

    n: int
    step: float
    middle: int | None  # the narrowest band holding neither the lowest nor the highest score
    end: int  # the narrowest band holding the lowest or the highest score
    top_of_top: int  # the others all at the top: the band of an answer at the top
    bottom_of_top: int  # the others all at the top: the band of an answer at the bottom


def grain(instrument: Instrument) -> float:
    """The smallest difference between two possible scores of an instrument."""
    per_item = len(instrument.items) if instrument.scoring.method == "mean" else 1
    return instrument.scoring.multiplier / per_item


def bundled_scales(folder: Path | None = None) -> list[Scale]:
    """The distinct scales of the instruments in the curricula folder, in file order."""
    folder = folder or get_settings().curricula
    found: dict[tuple[float, float, float], list[str]] = {}
    for path in sorted((folder / INSTRUMENTS_FOLDER).glob("*.yaml")):
        instrument = load_instrument(path)
        low, high = instrument.score_range
        found.setdefault((low, high, grain(instrument)), []).append(instrument.short_title)
    return [Scale(low, high, g, tuple(titles)) for (low, high, g), titles in found.items()]


def bands(scale: Scale, n: int, known: float) -> list[np.ndarray]:
    """The possible last answers grouped by the released mean they give, when the other n − 1
    answers add up to `known`: each group holds the answers that cannot be told apart."""
    scores = scale.scores
    means = released_means(n, known + scores, scale.low, scale.high)
    breaks = np.flatnonzero(np.diff(means) != 0) + 1
    return np.split(scores, breaks)


def row(scale: Scale, n: int) -> Row:
    """Every band of every total the other n − 1 answers could have."""
    knowns = (n - 1) * scale.low + scale.grain * np.arange((n - 1) * (scale.points - 1) + 1)
    middle: int | None = None
    end = scale.points
    for known in knowns.tolist():
        for band in bands(scale, n, known):
            size = len(band)
            if band[0] == scale.low or band[-1] == scale.high:
                end = min(end, size)
            else:
                middle = size if middle is None else min(middle, size)
    stuffed = bands(scale, n, (n - 1) * scale.high)
    return Row(
        n, release_step(n, scale.low, scale.high), middle, end, len(stuffed[-1]), len(stuffed[0])
    )


def rows(scale: Scale, first: int = FIRST_N, last: int = LAST_N) -> list[Row]:
    return [row(scale, n) for n in range(first, last + 1)]


def _answers(count: int | None, scale: Scale) -> str:
    if count is None:
        return "—"
    text = f"{count} of {scale.points}"
    if scale.grain != 1:
        text += f" ({count * scale.grain:g} points)"
    return text


def table(scale: Scale) -> str:
    """One scale's section of the report, as Markdown."""
    lines = [
        f"### {scale.low:g}–{scale.high:g}: {', '.join(scale.titles)}",
        "",
        f"{scale.points} possible scores, {scale.grain:g} apart; half the range is"
        f" {(scale.high - scale.low) / 2:g} points, a quarter {(scale.high - scale.low) / 4:g}.",
        "",
        "| n | rounded to | narrowest band in the middle | narrowest band at an end"
        " | others all at the top: top answer | others all at the top: bottom answer |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows(scale):
        lines.append(
            f"| {r.n} | {r.step:g} | {_answers(r.middle, scale)} | {_answers(r.end, scale)}"
            f" | {_answers(r.top_of_top, scale)} | {_answers(r.bottom_of_top, scale)} |"
        )
    return "\n".join(lines) + "\n"


def report(folder: Path | None = None) -> str:
    """Every bundled scale's table, as Markdown."""
    return "\n".join(table(scale) for scale in bundled_scales(folder))


def main() -> None:
    print(report(), end="")


if __name__ == "__main__":
    main()
