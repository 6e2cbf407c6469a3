"""The program-lead results (program/program_results.py `program_results`, `select_cohorts`):
pooled figures built from released cells only, the k threshold, the fixed selection dimensions,
who may read them, and the headline figures, on small programs built through the domain API."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from program import pulse
from program.cells import plan as _plan
from program.cohort_results import PointState, cohort_results
from program.errors import AccessDenied
from program.models import MemberStatus, Role, StaffUser
from program.privacy import CellState, Release, release_step, round_to_step
from program.program_results import ProgramResults, Selection, select_cohorts
from program.settings import get_settings
from program.store import Store
from program.store.results import CELL_COLUMNS
from tests.cell_by_cell import cohort_release, stored_cells
from tests.factories.programs import (
    add_cohort,
    closed_pulse,
    hold,
    make_world,
    results,
    roster,
    second_version,
)
from tests.factories.stores import NEAREST_DRAW, SYSTEM


def figure(res: ProgramResults, measure: str, number: int):  # type: ignore[no-untyped-def]
    return next(f for f in res.trends[measure] if f.session_number == number)


def t_quantile(df: int) -> float:
    return float(scipy_stats.t.ppf(0.975, df))


def rounded(values: Sequence[int]) -> float:
    """The released mean of these stress answers (0–10), with the draw `closed_pulse` sets."""
    n = len(values)
    return round_to_step(sum(values) / n, release_step(n, 0, 10), 0, 10, NEAREST_DRAW)


# --------------------------------------------------------------------------- pooling by hand


def test_a_pooled_figure_is_the_cluster_robust_pool_of_exactly_the_released_cells(
    store, make_staff
):
    world = make_world(store, make_staff)
    # Stress is one 0–10 item, scored as given. Three released cells and one below k = 5.
    cells = {
        "North": [2, 3, 3, 4, 8],
        "South": [5, 5, 6, 6, 7, 9],
        "East": [1, 2, 2, 3, 3, 4, 6],
        "Small": [10, 10, 10, 10],  # n = 4: left out, and far from the others on purpose
    }
    for name, values in cells.items():
        cohort = add_cohort(world, name, roster(name, 8))
        closed_pulse(world, cohort, 1, values)

    pooled = figure(results(world), "stress", 1)

    # Pooled from the released, rounded means: 4, 6.33 → 6 and 3.
    released = [(len(v), rounded(v)) for name, v in cells.items() if name != "Small"]
    assert [m for _, m in released] == [4.0, 6.0, 3.0]
    big_n = sum(n for n, _ in released)
    mean = sum(n * m for n, m in released) / big_n
    g = len(released)
    se = math.sqrt(g / (g - 1) * sum(n * n * (m - mean) ** 2 for n, m in released) / big_n**2)
    t = t_quantile(g - 1)
    assert (pooled.pooled.G, pooled.pooled.N, pooled.left_out) == (3, 18, 1)
    assert pooled.pooled.mean == pytest.approx(mean, abs=1e-9)
    assert pooled.pooled.se == pytest.approx(se, abs=1e-9)
    low, high = pooled.pooled.ci95
    assert low == pytest.approx(max(0.0, mean - t * se), abs=1e-9)
    assert high == pytest.approx(min(10.0, mean + t * se), abs=1e-9)


def test_who5_is_pooled_on_its_0_to_100_score(store, make_staff):
    world = make_world(store, make_staff)
    # Every WHO-5 item answered 3 gives a raw 15, times 4: 60; items answered 2 give 40.
    for name, value, n in (("A", 3, 5), ("B", 2, 5)):
        closed_pulse(world, add_cohort(world, name, roster(name, 6)), 1, [value] * n)
    pooled = figure(results(world), "who5", 1).pooled
    assert (pooled.G, pooled.N, pooled.mean) == (2, 10, pytest.approx(50.0))


# --------------------------------------------------------------------------- the threshold


def test_cells_below_k_are_left_out_and_counted_and_k_and_k_plus_one_are_pooled(store, make_staff):
    world = make_world(store, make_staff, k=5)
    sizes = {"Four": 4, "Five": 5, "Six": 6}
    for name, n in sizes.items():
        closed_pulse(world, add_cohort(world, name, roster(name, 8)), 1, [5] * n)

    res = results(world)

    for measure, figures in res.trends.items():
        (only,) = figures  # only session 1 has a closed pulse
        assert (only.pooled.G, only.pooled.N, only.left_out) == (2, 11, 1), measure
    measures_at_1 = len(world.bundle().curriculum.instruments_at(1))
    assert res.left_out == measures_at_1  # the cohort of four, once per measure
    assert {row.cohort for row in res.table} == {"Five", "Six"}
    assert {(row.cohort, row.n) for row in res.table} == {("Five", 5), ("Six", 6)}
    assert len(res.table) == 2 * measures_at_1


def test_the_comparison_table_holds_rounded_means_steps_and_intervals_of_a_quarter_spread(
    store, make_staff
):
    world = make_world(store, make_staff)
    answers_by_cohort = {
        "A": [2, 3, 3, 4, 8],
        "B": [5, 5, 6, 6, 7, 9],
        "C": [1, 2, 2, 3, 3, 4, 6],
        "D": [4, 4, 5, 5, 6, 6, 7, 7, 3, 3],  # ten answers: halves
    }
    for name, values in answers_by_cohort.items():
        closed_pulse(world, add_cohort(world, name, roster(name, 12)), 1, values)
    rows = {r.cohort: r for r in results(world).table if r.measure == "Stress this week"}
    for name, values in answers_by_cohort.items():
        row = rows[name]
        assert (row.mean, row.step) == (rounded(values), release_step(len(values), 0, 10))
        # Every interval assumes a spread of a quarter of the range, whatever the answers.
        half = t_quantile(len(values) - 1) * 2.5 / math.sqrt(len(values))
        step = row.step
        assert (row.ci_low, row.ci_high) == (
            max(0.0, math.floor((row.mean - half) / step) * step),
            min(10.0, math.ceil((row.mean + half) / step) * step),
        )
    assert not hasattr(rows["A"], "sd")


def test_a_cohorts_rows_are_the_same_whatever_the_selection(store, make_staff):
    """Choosing a period changes which rows are shown, never another cohort's interval."""
    world = make_world(store, make_staff)
    starts = [dt.date(2025, 1, 6), dt.date(2025, 2, 3), dt.date(2025, 3, 3), dt.date(2025, 4, 7)]
    for i, start in enumerate(starts):
        cohort = add_cohort(world, f"C{i}", roster(f"C{i}", 8), start)
        closed_pulse(world, cohort, 1, [1, 3, 5, 7, 9][: 5 - (i % 2)] + [5] * (i % 2 + 1))
    everyone = {(r.cohort, r.measure): r for r in results(world).table}
    alone = results(world, started_from=dt.date(2025, 4, 1)).table
    assert {r.cohort for r in alone} == {"C3"}
    for row in alone:
        assert row == everyone[(row.cohort, row.measure)]


def test_the_program_cells_carry_each_cells_own_draw_and_none_for_a_cell_not_summarised(
    store, make_staff
):
    world = make_world(store, make_staff, k=5)
    for name, values in {"A": [1, 5, 9, 2, 2], "B": [3, 3, 4], "C": [0, 10, 5, 5, 5, 6]}.items():
        closed_pulse(world, add_cohort(world, name, roster(name, 8)), 1, values, draw=None)
    open_one = add_cohort(world, "Open", roster("O", 8))
    sid = hold(world, open_one, 1, roster("O", 8))
    pulse.open_pulse(store, get_settings(), world.facilitator, sid, dt.datetime.now())
    cohorts = store.cohorts(world.program.id)
    ids = [c.id for c in cohorts]
    draws = {(r.session_id, r.instrument_id): r.draw for r in store.cell_summaries(ids)}
    plan = _plan({world.version_id: world.bundle()})
    cells = store.program_cells(ids, plan)
    assert list(cells.columns) == list(CELL_COLUMNS)
    assert len(draws) == 3 * 5 and all(0 <= d < 1 for d in draws.values())
    for row in cells.itertuples():
        if (row.session_id, row.measure) in draws:
            assert row.draw == draws[(row.session_id, row.measure)]
        else:
            assert row.session_id == sid and math.isnan(row.draw)
    stored = stored_cells(store, cohorts, {world.version_id: world.bundle()})
    assert {(c.session_id, c.measure): c.draw for c in stored if c.n} == draws


def test_the_cohort_and_program_dashboards_release_the_same_figures(store, make_staff):
    world = make_world(store, make_staff)
    for name, values in {"A": [2, 3, 5], "B": [4, 4, 6, 6, 7], "C": [1, 5, 5, 9, 9, 9]}.items():
        cohort = add_cohort(world, name, roster(name, 8))
        closed_pulse(world, cohort, 1, values + [5, 5], draw=None)  # the store's own draws
    table = {(r.cohort, r.measure): r for r in results(world).table}
    for cohort in store.cohorts(world.program.id):
        mine = cohort_results(store, world.facilitator, cohort.id)
        for series in mine.measures:
            (point,) = series.points
            assert point.cell is not None
            row = table[(cohort.name, series.instrument.short_title)]
            s = point.cell.summary
            assert (row.n, row.mean, row.step, (row.ci_low, row.ci_high)) == (
                s.n,
                s.mean,
                s.step,
                s.ci95,
            )


@pytest.mark.parametrize("seed", range(6))
def test_the_cohort_dashboard_releases_what_the_cell_by_cell_oracle_releases(
    store, make_staff, seed
):
    """A random cohort (random k, random numbers of answers per session, one pulse perhaps still
    open): the cohort dashboard's column path releases, rounds and holds back exactly the cells
    the cell-by-cell release does, with the same figures to the bit and the same reasons."""
    rng = random.Random(seed)
    world = make_world(store, make_staff, k=rng.randint(3, 10))
    cohort = add_cohort(world, "Random", roster("R", 14))
    numbers = sorted(rng.sample(range(1, 7), rng.randint(1, 6)))
    still_open = numbers.pop() if numbers and rng.random() < 0.5 else None
    for number in numbers:
        values = [rng.randint(0, 10) for _ in range(rng.randint(1, 14))]
        closed_pulse(world, cohort, number, values, draw=None)  # the store's own draws
    if still_open is not None:
        sid = hold(world, cohort, still_open, roster("R", 14))
        pulse.open_pulse(store, get_settings(), world.facilitator, sid, dt.datetime.now())

    view = cohort_results(store, world.facilitator, cohort.id)
    oracle = cohort_release(store, cohort.id)

    def figures(release: Release) -> dict[tuple[int, str], object]:
        shown = {(c.session_id, c.measure): c.summary for c in release.released}
        hidden = {(c.session_id, c.measure): (c.state, c.reason) for c in release.suppressed}
        assert not shown.keys() & hidden.keys()
        return shown | hidden

    assert figures(view.release) == figures(oracle)
    assert view.still_open == ([] if still_open is None else [still_open])
    states = {
        (p.session_number, series.instrument.id): p.state
        for series in view.measures
        for p in series.points
    }
    for c in oracle.released:
        assert states[(c.session_number, c.measure)] == PointState.RELEASED
    for s in oracle.suppressed:
        expected = PointState.STILL_OPEN if s.state == CellState.OPEN else PointState.TOO_FEW
        assert states[(s.session_number, s.measure)] == expected


def test_the_threshold_follows_the_programs_k(store, make_staff):
    world = make_world(store, make_staff, k=3)
    closed_pulse(world, add_cohort(world, "Two", roster("Two", 5)), 1, [4, 6])
    closed_pulse(world, add_cohort(world, "Three", roster("Three", 5)), 1, [4, 5, 6])
    res = results(world)
    assert res.min_group_size == 3
    assert figure(res, "stress", 1).pooled.N == 3
    assert {row.cohort for row in res.table} == {"Three"}


def test_an_open_pulse_is_left_out_however_many_answered(store, make_staff):
    world = make_world(store, make_staff)
    closed_pulse(world, add_cohort(world, "Closed", roster("Closed", 8)), 1, [5] * 6)
    open_cohort = add_cohort(world, "Open", roster("Open", 8))
    sid = hold(world, open_cohort, 1, roster("Open", 8))
    now = dt.datetime.now()
    window = pulse.open_pulse(store, get_settings(), world.facilitator, sid, now)
    assert window.room_code is not None
    for _ in range(7):
        invitation = pulse.resolve_code(store, window.room_code, now)
        raw = {pulse.answer_key(i, item): i.scale.max for i, item in invitation.items}
        pulse.submit(store, invitation, raw, now)

    stress = figure(results(world), "stress", 1)
    assert (stress.pooled.G, stress.pooled.N, stress.left_out) == (1, 6, 1)
    assert stress.pooled.mean == pytest.approx(5.0)
    assert {row.cohort for row in results(world).table} == {"Closed"}


# --------------------------------------------------------------------------- no derivation


def build_with_small_cell(
    path: Path, small_values: Sequence[int], big_values: Sequence[int] = (3, 4, 5, 6, 7)
) -> ProgramResults:
    """A program whose cohort "Small" has a suppressed cell (n = 4) holding `small_values`."""
    from program.staff import create_user

    store = Store(path)
    try:

        def make_staff(username: str, role: Role = Role.FACILITATOR) -> StaffUser:
            return create_user(
                store, SYSTEM, username, username.title(), role, "correct horse battery"
            )

        world = make_world(store, make_staff)
        closed_pulse(world, add_cohort(world, "Big A", roster("A", 8)), 1, big_values)
        closed_pulse(world, add_cohort(world, "Big B", roster("B", 8)), 1, [2, 2, 5, 8, 9, 9])
        closed_pulse(world, add_cohort(world, "Small", roster("S", 8)), 1, small_values)
        return results(world)
    finally:
        store.close()


@pytest.mark.parametrize(
    "other", [[0, 0, 0, 0], [10, 10, 10, 10], [1, 9, 2, 8]], ids=["all low", "all high", "mixed"]
)
def test_changing_a_suppressed_cells_answers_changes_no_number_shown(tmp_path, other):
    baseline = build_with_small_cell(tmp_path / "a.duckdb", [5, 5, 5, 5])
    changed = build_with_small_cell(tmp_path / "b.duckdb", other)
    assert changed == baseline  # every field: headline, trends, table, left out, ...


def test_changing_a_released_cells_answers_does_change_the_pooled_figures(tmp_path):
    """The counterpart of the test above, so that it cannot pass by comparing nothing."""
    baseline = build_with_small_cell(tmp_path / "a.duckdb", [5, 5, 5, 5])
    changed = build_with_small_cell(tmp_path / "b.duckdb", [5, 5, 5, 5], [9, 9, 9, 9, 9])
    assert changed.trends != baseline.trends
    assert changed.table != baseline.table


def test_no_field_of_the_results_holds_a_suppressed_cells_count_or_score(store, make_staff):
    world = make_world(store, make_staff)
    closed_pulse(world, add_cohort(world, "Released", roster("R", 8)), 1, [5] * 5)
    closed_pulse(world, add_cohort(world, "Suppressed", roster("S", 8)), 1, [7, 7, 7, 7])
    res = results(world)
    assert all(row.cohort == "Released" for row in res.table)
    for figures in res.trends.values():
        for f in figures:
            assert f.pooled.N == 5 and f.pooled.G == 1
    # Nothing in the results mentions the suppressed cohort other than its place in the list.
    assert res.cohort_count == 2
    flat = repr(res)
    assert "Suppressed" not in flat


# --------------------------------------------------------------------------- selection


def test_selection_by_curriculum_version_and_period(store, make_staff):
    world = make_world(store, make_staff)
    v2 = second_version(world)
    january = add_cohort(world, "January", roster("J", 6), dt.date(2025, 1, 6))
    february = add_cohort(world, "February v2", roster("F", 6), dt.date(2025, 2, 3), v2)
    march = add_cohort(world, "March", roster("M", 6), dt.date(2025, 3, 3))
    for cohort in (january, february, march):
        closed_pulse(world, cohort, 1, [5] * 5)

    def chosen(**fields: object) -> list[str]:
        selection = Selection(world.program.id, **fields)  # type: ignore[arg-type]
        names = list(select_cohorts(store, selection)["name"])
        res = results(world, **fields)
        assert res.cohort_count == len(names)
        assert {row.cohort for row in res.table} == set(names)
        if names:
            pooled_cohorts = figure(res, "stress", 1).pooled.G
            assert pooled_cohorts == len(names)
        else:
            assert res.trends == {} and res.left_out == 0
        return names

    assert chosen() == ["January", "February v2", "March"]
    assert chosen(curriculum_version_id=world.version_id) == ["January", "March"]
    assert chosen(curriculum_version_id=v2) == ["February v2"]
    # Both ends of the period are inclusive.
    assert chosen(started_from=dt.date(2025, 2, 3)) == ["February v2", "March"]
    assert chosen(started_to=dt.date(2025, 2, 3)) == ["January", "February v2"]
    assert chosen(started_from=dt.date(2025, 1, 7), started_to=dt.date(2025, 3, 2)) == [
        "February v2"
    ]
    assert chosen(curriculum_version_id=world.version_id, started_from=dt.date(2025, 2, 1)) == [
        "March"
    ]
    assert chosen(started_from=dt.date(2026, 1, 1)) == []


def test_an_empty_selection_gives_empty_results_not_an_error(store, make_staff):
    world = make_world(store, make_staff)
    res = results(world)
    assert res.cohort_count == 0 and res.table == [] and res.left_out == 0
    assert res.headline.enrolled == 0
    assert res.headline.attendance_rate is None and res.headline.completion_rate is None
    assert res.retention == {}


def test_other_programs_cohorts_never_enter_the_results(store, make_staff):
    world = make_world(store, make_staff)
    other = store.create_program(SYSTEM, "Other program", "", 5)
    mine = add_cohort(world, "Mine", roster("M", 6))
    closed_pulse(world, mine, 1, [5] * 5)
    theirs = add_cohort(world, "Theirs", roster("T", 6), program_id=other.id)
    closed_pulse(world, theirs, 1, [9] * 6)
    res = results(world)
    assert res.cohort_count == 1 and {row.cohort for row in res.table} == {"Mine"}
    assert res.headline.enrolled == 6
    assert figure(res, "stress", 1).pooled.N == 5


# --------------------------------------------------------------------------- who may read


def test_a_lead_of_another_program_is_refused(store, make_staff):
    world = make_world(store, make_staff)
    stranger = make_staff("other-lead", Role.LEAD)
    elsewhere = store.create_program(SYSTEM, "Elsewhere", "", 5)
    store.add_program_lead(SYSTEM, elsewhere.id, stranger.id)
    with pytest.raises(AccessDenied):
        results(world, stranger)


def test_facilitators_are_refused_even_for_the_program_they_facilitate_in(store, make_staff):
    world = make_world(store, make_staff)
    closed_pulse(world, add_cohort(world, "Theirs", roster("T", 6)), 1, [5] * 5)
    with pytest.raises(AccessDenied):
        results(world, world.facilitator)
    with pytest.raises(AccessDenied):
        results(world, make_staff("someone-else", Role.FACILITATOR))


def test_the_lead_and_admins_may_read(store, make_staff):
    world = make_world(store, make_staff)
    assert results(world).program == world.program
    assert results(world, make_staff("root", Role.ADMIN)).program == world.program


# --------------------------------------------------------------------------- headline


def test_headline_figures_of_a_small_hand_made_program(store, make_staff):
    world = make_world(store, make_staff)
    # Finished: four members; Ana comes to all six weekly sessions, Ben to 1–4, Cai to 1–3,
    # Dee to none. Completion (4 of 6): Ana and Ben.
    finished = add_cohort(world, "Finished", ["Ana", "Ben", "Cai", "Dee"])
    came = {1: "Ana Ben Cai", 2: "Ana Ben Cai", 3: "Ana Ben Cai", 4: "Ana Ben", 5: "Ana", 6: "Ana"}
    for number, present in came.items():
        hold(world, finished, number, present.split())
    # Running: three members, two at session 1. Scheduled: two members, in the future.
    running = add_cohort(world, "Running", ["Eve", "Fay", "Gus"])
    hold(world, running, 1, ["Eve", "Fay"])
    add_cohort(world, "Scheduled", ["Hal", "Ida"], dt.date.today() + dt.timedelta(days=30))

    res = results(world)
    h = res.headline
    assert (h.cohorts_running, h.cohorts_finished, h.cohorts_scheduled) == (1, 1, 1)
    assert h.enrolled == 4 + 3 + 2
    assert h.attendance_rate == pytest.approx((3 + 3 + 3 + 2 + 1 + 1 + 2) / (4 * 6 + 3))
    assert h.completion_rate == pytest.approx(2 / 4)  # finished cohorts only
    assert res.retention == pytest.approx(
        {1: 5 / 7, 2: 3 / 4, 3: 3 / 4, 4: 2 / 4, 5: 1 / 4, 6: 1 / 4}
    )
    assert res.table == [] and res.left_out == 0  # no pulse anywhere


def test_completion_is_none_until_a_cohort_finishes(store, make_staff):
    world = make_world(store, make_staff)
    running = add_cohort(world, "Running", ["Eve", "Fay", "Gus"])
    hold(world, running, 1, ["Eve"])
    h = results(world).headline
    assert h.completion_rate is None
    assert h.attendance_rate == pytest.approx(1 / 3)


def test_a_member_who_withdraws_after_attending_keeps_every_rate_within_0_and_1(store, make_staff):
    world = make_world(store, make_staff)
    cohort = add_cohort(world, "Finished", ["Ana", "Ben"])
    for number in range(1, 7):
        hold(world, cohort, number, ["Ana", "Ben"])
    ben = next(m for m in store.roster(cohort.id) if m.display_name == "Ben")
    store.set_roster_status(SYSTEM, ben.id, MemberStatus.WITHDRAWN)
    res = results(world)
    h = res.headline
    assert h.attendance_rate is not None and 0 <= h.attendance_rate <= 1
    assert h.completion_rate is not None and 0 <= h.completion_rate <= 1
    assert all(0 <= r <= 1 for r in res.retention.values())
