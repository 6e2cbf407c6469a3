"""The release rule against someone who knows every answer but one, on a real database.

The attack: a facilitator types in n − 1 paper answers (all at the top of the scale, say), one
real person answers, the pulse closes. Everything released is then read back as that facilitator
and the program's lead would read it (cohort results, both mirrors, the cohort CSV, the program
results, the comparison table and every program CSV), for every possible last answer and for
every region of the cell's secret rounding draw (within one region every answer shows the same).
The attacker sees what was released but not the draw, so the last answers that could have
released it are those that release it under *some* draw: a figure singles an answer out only if
no other answer releases it under any draw.

The engine-level arithmetic behind it is in tests/test_release_arithmetic.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import pickle
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from program.cohort_results import cohort_results
from program.exports import (
    cohort_comparison_csv,
    cohort_csv,
    pooled_trends_csv,
    program_headline_csv,
)
from program.mirror import mirror
from program.models import Role, StaffUser, score_answers
from program.privacy import (
    release_frame,
    release_step,
    released_frame,
    round_to_step,
    rounding_outcomes,
)
from program.release_arithmetic import Scale, rows
from program.staff import create_user
from program.stats import summarize_sums
from program.store import Store
from tests.factories.programs import (
    World,
    add_cohort,
    answers,
    closed_pulse,
    hold,
    make_world,
    results,
    roster,
    session_id,
)
from tests.factories.stores import SYSTEM, pin_draws

K = 5
TOP = 10
# Three other cohorts with released cells: what they show must not move with the target's answers.
OTHERS = {"A": [2, 3, 5, 6, 8], "B": [1, 4, 4, 7, 9, 9], "C": [3, 3, 5, 5, 6, 7]}
LAST_SESSION = [2, 3, 4, 4, 5, 6]  # the target cohort's session 2, the same in every build
TARGET = "Target"


# --------------------------------------------------------------------------- the program


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A program of four cohorts: three with released stress at session 1, and the target,
    whose session 1 is held and waits for its pulse and whose session 2 pulse has closed."""
    path = tmp_path_factory.mktemp("attacks") / "base.duckdb"
    store = Store(path)
    try:

        def make_staff(username: str, role: Role = Role.FACILITATOR) -> StaffUser:
            return create_user(store, SYSTEM, username, username.title(), role, "correct horse")

        world = make_world(store, make_staff, k=K)
        for name, values in OTHERS.items():
            closed_pulse(world, add_cohort(world, name, roster(name, 12)), 1, values)
        target = add_cohort(world, TARGET, roster("T", 24))
        hold(world, target, 1, roster("T", 24))
        pulse(world, target.id, 2, LAST_SESSION)
    finally:
        store.close()
    return path


def pulse(world: World, cohort_id: int, number: int, stress: Sequence[int]) -> int:
    """A closed pulse: one response per stress answer, every other question answered 5 (whose
    means sit on the grid, so only stress depends on the draw). Its cells keep the draws the
    store made."""
    cohort = world.store.cohort(cohort_id)
    members = [m.display_name for m in world.store.roster(cohort_id)]
    sid = hold(world, cohort, number, members)
    bundle = world.bundle(cohort.curriculum_version_id)
    items = bundle.pulse_items(number)
    responses = []
    for value in stress:
        chosen = answers(bundle, number, 5)
        chosen[("stress", "stress_week")] = value
        responses.append(score_answers(items, chosen))
    opened = dt.datetime.combine(world.store.session(sid).scheduled_date, dt.time(19, 0))
    world.store.store_closed_pulse(SYSTEM, sid, opened, responses)
    return sid


def with_target(
    base: Path, folder: Path, stress: Sequence[int], draws: Sequence[float]
) -> list[dict[str, bytes]]:
    """Copy the program, close the target's session 1 with these stress answers, and return
    everything released, as the target's facilitator and the program's lead see it, with the
    session's cells given each of these rounding draws in turn."""
    path = folder / f"{'-'.join(map(str, stress))}.duckdb"
    shutil.copyfile(base, path)
    store = Store(path)
    try:
        facilitator = store.staff_user_by_username("fac-test")
        lead = store.staff_user_by_username("lead-test")
        assert facilitator is not None and lead is not None
        (program,) = [p for p in store.programs() if p.name == "Test program"]
        world = World(store, program, lead, facilitator, store.curriculum_versions()[0].id)
        target = next(c for c in store.cohorts(program.id) if c.name == TARGET)
        sid = pulse(world, target.id, 1, stress)
        found = []
        for draw in draws:
            pin_draws(store, sid, draw)
            found.append(released(world, target.id))
        return found
    finally:
        store.close()
        path.unlink()


def released(world: World, target_id: int) -> dict[str, bytes]:
    """Everything released about the program, by channel, as bytes."""
    store, facilitator = world.store, world.facilitator
    target = store.cohort(target_id)
    own = cohort_results(store, facilitator, target.id)
    everyone = results(world)
    frame = everyone.table.frame()
    comparison = cohort_comparison_csv(everyone).splitlines()
    seen = {
        "cohort results": pickle.dumps(own),
        "cohort csv": cohort_csv(own).encode(),
        "program results": pickle.dumps((everyone.trends, everyone.headline, everyone.left_out)),
        "comparison frame": frame[frame["Cohort"] == TARGET].to_csv().encode(),
        "comparison csv": "\n".join(r for r in comparison if r.startswith(TARGET)).encode(),
        "pooled csv": pooled_trends_csv(everyone).encode(),
        "headline csv": program_headline_csv(everyone).encode(),
        "other cohorts' rows": frame[frame["Cohort"] != TARGET].to_csv().encode(),
    }
    for number in (1, 2):
        view = mirror(store, facilitator, session_id(world, target, number))
        seen[f"mirror {number}"] = pickle.dumps(view)
    return seen


OWN = (
    "cohort results",
    "cohort csv",
    "program results",
    "comparison frame",
    "comparison csv",
    "pooled csv",
    "headline csv",
    "mirror 1",
    "mirror 2",
)
STRESS = Scale(0, TOP, 1, ("Stress this week",))


def draw_regions(known: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The regions of the rounding draw between the chances of rounding up of every possible
    last answer, as (a draw inside each, its width): inside one, every answer shows one figure."""
    n = len(known) + 1
    if n < K:  # nothing is released, whatever the draw: two draws show it
        return np.array([0.0, 0.999]), np.array([0.5, 0.5])
    _, _, up = rounding_outcomes(n, sum(known) + STRESS.scores, 0, TOP)
    edges = np.unique(np.concatenate([[0.0, 1.0], up]))
    return (edges[:-1] + edges[1:]) / 2, np.diff(edges)


@dataclass(frozen=True)
class Attack:
    """What the attacker can see, for every last answer and every region of the draw."""

    widths: np.ndarray  # how likely each region of the draw is
    seen: dict[int, list[dict[str, bytes]]]  # last answer -> what is released, region by region

    def figures(self, channels: Sequence[str] = OWN) -> dict[int, list[tuple[bytes, ...]]]:
        return {
            last: [tuple(s.get(c, b"") for c in channels) for s in seen]
            for last, seen in self.seen.items()
        }

    def could_be(self, channels: Sequence[str] = OWN) -> dict[tuple[bytes, ...], set[int]]:
        """Each figure released under some draw, and every last answer that releases it under
        some draw: the answers the attacker cannot rule out on seeing it."""
        found: dict[tuple[bytes, ...], set[int]] = {}
        for last, figures in self.figures(channels).items():
            for figure in figures:
                found.setdefault(figure, set()).add(last)
        return found

    def singled_out(self, channels: Sequence[str] = OWN) -> dict[int, float]:
        """For each last answer, the chance over the draw that what is released could have
        come from that answer alone."""
        could_be = self.could_be(channels)
        return {
            last: float(
                sum(w for w, f in zip(self.widths, figures, strict=True) if could_be[f] == {last})
            )
            for last, figures in self.figures(channels).items()
        }


@functools.cache
def _attack(base: Path, folder: Path, known: tuple[int, ...]) -> Attack:
    middles, widths = draw_regions(known)
    seen = {
        last: with_target(base, folder, [*known, last], middles.tolist())
        for last in range(0, TOP + 1)
    }
    return Attack(widths, seen)


def attack(base: Path, folder: Path, known: Sequence[int]) -> Attack:
    return _attack(base, folder, tuple(known))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("builds")


def table_chance(n: int) -> float:
    """The worst chance of singling out an answer at an end, as docs/release-arithmetic.md
    states it for the 0–10 scale."""
    return next(r.singled_out for r in rows(STRESS) if r.n == n)


# --------------------------------------------------------------------------- the attacks

ALL_AT_THE_TOP = {n: [TOP] * (n - 1) for n in (K - 1, K, K + 1)}
# The others chosen so that the rounding boundary sits right beside 0: with rounding to the
# nearest step, a 0 was singled out for certain.
BOUNDARY_AT_THE_BOTTOM = {K: [0, 0, 1, 1], K + 1: [TOP] * K}
# The attacker's best: a last 0 gives a mean just under the first step, so whenever the draw
# rounds it down, nothing but 0 could have shown it.
BEST = {K: [1] * (K - 1), K + 1: [1] * K}


@pytest.mark.slow
def test_below_k_nothing_tells_any_last_answer_apart(base, folder):
    found = attack(base, folder, ALL_AT_THE_TOP[K - 1]).could_be()
    assert list(found.values()) == [set(range(TOP + 1))]


@pytest.mark.slow
@pytest.mark.parametrize(
    "known",
    [
        ALL_AT_THE_TOP[K],
        BOUNDARY_AT_THE_BOTTOM[K],
        BOUNDARY_AT_THE_BOTTOM[K + 1],
        BEST[K],
        BEST[K + 1],
    ],
    ids=[
        "k, others at the top",
        "k, boundary beside the bottom",
        "k + 1, others at the top: boundary beside the bottom",
        "k, the attacker's best",
        "k + 1, the attacker's best",
    ],
)
def test_no_answer_is_ever_singled_out_but_one_at_an_end_and_that_one_by_chance(
    base, folder, known
):
    n = len(known) + 1
    found = attack(base, folder, known)
    could_be = found.could_be()
    assert set().union(*could_be.values()) == set(range(TOP + 1))
    for band in could_be.values():
        assert len(band) > 1 or band <= {0, TOP}, band
    chance = found.singled_out()
    assert all(chance[x] == 0 for x in range(1, TOP)), chance
    assert max(chance[0], chance[TOP]) <= table_chance(n) + 1e-9, chance
    # A rounding boundary beside an end no longer singles anything out.
    if known in BOUNDARY_AT_THE_BOTTOM.values():
        assert chance[0] == chance[TOP] == 0, chance


@pytest.mark.slow
@pytest.mark.parametrize("n", [K, K + 1])
def test_the_attackers_best_singles_out_a_last_0_as_often_as_the_table_says(base, folder, n):
    chance = attack(base, folder, BEST[n]).singled_out()
    assert chance[0] == pytest.approx(table_chance(n))
    assert chance[0] == pytest.approx(1 / (n * release_step(n, 0, TOP)))


@pytest.mark.slow
@pytest.mark.parametrize("n", [K, K + 1])
def test_with_the_others_at_the_top_an_answer_at_the_top_keeps_half_the_scale(base, folder, n):
    found = attack(base, folder, ALL_AT_THE_TOP[n]).could_be()
    for band in found.values():
        if TOP in band:
            assert len(band) >= TOP / 2, found


@pytest.mark.slow
@pytest.mark.parametrize("n", [K - 1, K, K + 1])
def test_other_cohorts_rows_do_not_move_with_this_cells_answers_or_draw(base, folder, n):
    found = attack(base, folder, ALL_AT_THE_TOP[n]).could_be(("other cohorts' rows",))
    assert list(found.values()) == [set(range(TOP + 1))]
    if n >= K:  # while the cell's own figures do
        assert len(attack(base, folder, ALL_AT_THE_TOP[n]).could_be()) > 1


def test_the_same_database_shows_the_same_figures_every_time(base, folder):
    first, second = with_target(base, folder, [1, 4, 6, 8, 9, 3], [0.3, 0.3])
    assert first == second


# --------------------------------------------------------------------------- the property


def released_mean(values: list[int], draw: float) -> float:
    n = len(values)
    return round_to_step(sum(values) / n, release_step(n, 0, TOP), 0, TOP, draw)


def same_released_mean(data, values: list[int], draw: float) -> tuple[list[int], float]:  # type: ignore[no-untyped-def]
    """Other answers, as many, and another draw, whose released mean is the same: drawn, then
    the answers nudged."""
    n = len(values)
    target = released_mean(values, draw)
    other = data.draw(st.lists(st.integers(0, TOP), min_size=n, max_size=n))
    other_draw = data.draw(st.floats(0, 1, exclude_max=True))
    for i in range(40 * n):
        mean = released_mean(other, other_draw)
        if mean == target:
            return sorted(other), other_draw
        other[i % n] = max(0, min(TOP, other[i % n] + (1 if mean < target else -1)))
    raise AssertionError("no answers found with that released mean")


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_cells_with_the_same_n_and_released_mean_release_byte_identical_figures(base, folder, data):
    """Different answers and different draws, the same n and released mean: the cohort's
    results, mirrors and CSV, its rows of the comparison table and every pooled figure are the
    same bytes."""
    n = data.draw(st.integers(K, 12), label="n")
    first = sorted(data.draw(st.lists(st.integers(0, TOP), min_size=n, max_size=n), label="a"))
    draw = data.draw(st.floats(0, 1, exclude_max=True), label="draw")
    second, second_draw = same_released_mean(data, first, draw)
    assume(first != second)
    (one,) = with_target(base, folder, first, [draw])
    (two,) = with_target(base, folder, second, [second_draw])
    for channel in (*OWN, "other cohorts' rows"):
        assert one[channel] == two[channel], channel


def test_the_property_test_can_see_a_difference(base, folder):
    """Its counterpart: a different released mean changes what the cohort's pages show."""
    (one,) = with_target(base, folder, [5] * 5, [0.5])
    (two,) = with_target(base, folder, [7] * 5, [0.5])
    assert all(one[c] != two[c] for c in ("cohort results", "cohort csv", "comparison frame"))


# --------------------------------------------------------------------------- every set of answers


SCALES = {"0–10": (0, 10, 1), "1–7": (1, 7, 1), "WHO-5": (0, 100, 4)}


def multisets(low: int, high: int, grain: int, n: int) -> np.ndarray:
    scores = range(low, high + 1, grain)
    return np.array(list(itertools.combinations_with_replacement(scores, n)), dtype="float64")


def as_cells(totals: np.ndarray, n: int, measure: str, draw: float) -> pd.DataFrame:
    """Closed cells of n answers with these sums, and one rounding draw for all of them."""
    count = len(totals)
    return pd.DataFrame(
        {
            "cohort_id": np.arange(100, 100 + count),
            "session_id": np.arange(count),
            "session_number": 1,
            "measure": measure,
            "closed": True,
            "n": n,
            "total": totals,
            "draw": draw,
        }
    )


@pytest.mark.parametrize("scale", list(SCALES))
@pytest.mark.parametrize("n", [3, 4, 5])
def test_the_released_figures_never_single_out_a_set_of_answers(scale, n):
    """Every set of n answers (k = 3), under every region of the draw, releases figures that
    some other set releases too under some draw, while the exact mean and SD that used to be
    released single many sets out."""
    low, high, grain = SCALES[scale]
    sets = multisets(low, high, grain, n)
    # What a cell releases depends on its answers only through their sum (tested above), so
    # each sum is released once, and counts as many sets as have it.
    totals, sets_with = np.unique(sets.sum(axis=1), return_counts=True)
    _, _, up = rounding_outcomes(n, totals, low, high)
    edges = np.unique(np.concatenate([[0.0, 1.0], up]))
    keys = ["n", "mean", "step", "ci_low", "ci_high"]
    could_be: dict[tuple[float, ...], set[int]] = {}
    for draw in ((edges[:-1] + edges[1:]) / 2).tolist():
        cells = release_frame(as_cells(totals, n, "m", draw), 3)
        figures = released_frame(cells, {"m": (low, high)})
        for i, figure in enumerate(figures[keys].itertuples(index=False, name=None)):
            could_be.setdefault(figure, set()).add(i)
    assert min(sets_with[list(found)].sum() for found in could_be.values()) >= 2
    exact = pd.Series(
        [
            (s.mean, s.sd)
            for s in (
                summarize_sums(n, float(t), float(q), (low, high))
                for t, q in zip(sets.sum(axis=1), (sets**2).sum(axis=1), strict=True)
            )
        ]
    ).value_counts()
    assert (exact == 1).sum() > 0  # the exact figures did single sets out
