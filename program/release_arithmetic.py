"""What a released mean gives away, worked out by brute force: the tables of
docs/release-arithmetic.md. `python -m program.release_arithmetic` prints them as Markdown.

For every scale of the bundled instruments and every group size n from 5 (the default minimum
group size k) to 20, it takes every total the other n − 1 answers could have (however they came
to be known: typed in by a facilitator, or guessed right) and every possible last answer, and
asks the release engine (`privacy.rounding_outcomes`) which released means that cell can show and
how likely each is over the cell's secret rounding draw. A released mean could have come from
every last answer that can show it: that group is the *band* the last answer is narrowed to,
and the attacker, who never sees the draw, cannot tell its answers apart for certain.

The released mean is all there is to go on: everything else released about a cell (its interval,
the change since the first session, the pooled figures) depends on its answers only through n
and the released mean.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from program.curriculum import INSTRUMENTS_FOLDER, load_instrument
from program.models import Instrument
from program.privacy import release_step, rounding_outcomes
from program.settings import get_settings

FIRST_N = 5
LAST_N = 20
# Probabilities within this of each other are the same (they are sums of a few floats).
_SLACK = 1e-9


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

    @property
    def from_nearer_end(self) -> np.ndarray:
        """How many answer steps each possible score lies from the nearer end of the scale."""
        at: np.ndarray = np.arange(self.points)
        out: np.ndarray = np.minimum(at, self.points - 1 - at)
        return out


@dataclass(frozen=True)
class Row:
    """One scale at one n. Bands are numbers of possible last answers; chances are the worst
    over every total the other answers could have, averaged over the rounding draw."""

    n: int
    step: float
    middle: int  # the narrowest band of an answer in the middle of the scale
    end: int  # the narrowest band of an answer at the lowest or highest score
    singled_out: float  # the chance that an answer at an end is the only one its band holds
    quarter: float  # the chance that its band spans a quarter of the scale's range or less


@dataclass(frozen=True)
class Worst:
    """Per possible last answer (in score order), the worst case over the others' totals."""

    narrowest: np.ndarray  # the narrowest band it can land in
    singled_out: np.ndarray  # the largest chance that it is the only answer of its band
    quarter: np.ndarray  # the largest chance that its band spans a quarter of the range or less


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


def knowns(scale: Scale, n: int) -> np.ndarray:
    """Every total the other n − 1 answers could have."""
    out: np.ndarray = (n - 1) * scale.low + scale.grain * np.arange(
        (n - 1) * (scale.points - 1) + 1
    )
    return out


def outcomes(scale: Scale, n: int, known: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (released mean, last answer's place in `scale.scores`, chance) the cell can show
    when the other n − 1 answers add up to `known`, leaving out those of chance 0."""
    lower, upper, up = rounding_outcomes(n, known + scale.scores, scale.low, scale.high)
    place = np.arange(scale.points)
    shown = np.concatenate([lower, upper])
    chance = np.concatenate([1 - up, up])
    at = np.concatenate([place, place])
    keep = chance > 0
    return shown[keep], at[keep], chance[keep]


def bands(scale: Scale, n: int, known: float) -> dict[float, list[float]]:
    """Each released mean the cell can show when the other answers add up to `known`, and the
    last answers that can show it: someone who knows the others cannot tell those apart."""
    shown, at, _ = outcomes(scale, n, known)
    found: dict[float, list[float]] = {}
    for value, place in sorted(zip(shown.tolist(), at.tolist(), strict=True)):
        found.setdefault(value, []).append(float(scale.scores[place]))
    return found


def worst(scale: Scale, n: int) -> Worst:
    """For every possible last answer, the worst the other answers' total can do to it."""
    narrowest = np.full(scale.points, scale.points)
    singled_out = np.zeros(scale.points)
    quarter = np.zeros(scale.points)
    span_limit = (scale.high - scale.low) / 4 + _SLACK
    for known in knowns(scale, n).tolist():
        shown, at, chance = outcomes(scale, n, known)
        values, band = np.unique(shown, return_inverse=True)
        band = band.reshape(-1)
        size = np.bincount(band, minlength=len(values))
        first = np.full(len(values), scale.points)
        last = np.full(len(values), -1)
        np.minimum.at(first, band, at)
        np.maximum.at(last, band, at)
        span = (last - first) * scale.grain
        np.minimum.at(narrowest, at, size[band])
        alone = np.bincount(at, weights=chance * (size[band] == 1), minlength=scale.points)
        close = np.bincount(at, weights=chance * (span[band] <= span_limit), minlength=scale.points)
        singled_out = np.maximum(singled_out, alone)
        quarter = np.maximum(quarter, close)
    return Worst(narrowest, singled_out, quarter)


@functools.cache
def row(scale: Scale, n: int) -> Row:
    found = worst(scale, n)
    distance = scale.from_nearer_end
    middle = distance == distance.max()
    end = distance == 0
    return Row(
        n,
        release_step(n, scale.low, scale.high),
        int(found.narrowest[middle].min()),
        int(found.narrowest[end].min()),
        float(found.singled_out[end].max()),
        float(found.quarter[end].max()),
    )


def rows(scale: Scale, first: int = FIRST_N, last: int = LAST_N) -> list[Row]:
    return [row(scale, n) for n in range(first, last + 1)]


def _answers(count: int, scale: Scale) -> str:
    text = f"{count} of {scale.points}"
    if scale.grain != 1:
        text += f" ({count * scale.grain:g} points)"
    return text


def percent(chance: float) -> str:
    """A chance as a percentage with at most one decimal: "20%", "16.7%"."""
    return f"{100 * chance:.1f}".removesuffix(".0") + "%"


def table(scale: Scale) -> str:
    """One scale's section of the report, as Markdown."""
    lines = [
        f"### {scale.low:g}–{scale.high:g}: {', '.join(scale.titles)}",
        "",
        f"{scale.points} possible scores, {scale.grain:g} apart; half the range is"
        f" {(scale.high - scale.low) / 2:g} points, a quarter {(scale.high - scale.low) / 4:g}.",
        "",
        "| n | rounded to | answer in the middle: narrowest band"
        " | answer at an end: narrowest band | answer at an end: chance it is singled out"
        " | answer at an end: chance its band is a quarter of the scale or less |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows(scale):
        lines.append(
            f"| {r.n} | {r.step:g} | {_answers(r.middle, scale)} | {_answers(r.end, scale)}"
            f" | {percent(r.singled_out)} | {percent(r.quarter)} |"
        )
    return "\n".join(lines) + "\n"


def report(folder: Path | None = None) -> str:
    """Every bundled scale's table, as Markdown."""
    return "\n".join(table(scale) for scale in bundled_scales(folder))


def main() -> None:
    print(report(), end="")


if __name__ == "__main__":
    main()
