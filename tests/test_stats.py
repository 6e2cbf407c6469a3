"""program.stats against the reference worked numbers (to 1e-4), plus the edge cases they skip."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from program.errors import InvalidInput
from program.models import Instrument
from program.stats import (
    CellSummary,
    attendance_rate,
    compare,
    completers,
    fidelity_share,
    pool,
    proportion,
    retention,
    share_columns,
    summarize,
    summarize_sums,
)

# Worked examples computed independently of this code (tests/data/stats-vectors.json, kept in
# the repository; every vector in it is tested, as test_every_vector_is_tested checks).
VECTORS_FILE = Path(__file__).parent / "data" / "stats-vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text())
TOL = 1e-4
WHO5_PERCENT = (0.0, 100.0)


def close(expected: Any) -> Any:
    """Match every number in a nested vector to 1e-4, and demand exactly the same keys."""
    return pytest.approx(flatten(expected), abs=TOL)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as one {"a.b.0": number} dict, so approx can compare them."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list | tuple):
        items = enumerate(tree)
    else:
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def instrument(n_items: int, low: int, high: int, method: str, multiplier: float) -> Instrument:
    """A neutral test instrument: items "item-1" … on one scale."""
    return Instrument.model_validate(
        {
            "id": "test-scale",
            "title": "Test scale",
            "short_title": "Test",
            "version": "1",
            "citation": "Made up for tests.",
            "licence": "Test only.",
            "recall": "Today",
            "scale": {"min": low, "max": high, "labels": {low: "lowest", high: "highest"}},
            "items": [{"id": f"item-{i}", "text": f"item {i}"} for i in range(1, n_items + 1)],
            "scoring": {"method": method, "multiplier": multiplier},
            "direction": "higher_is_better",
            "minimal_important_change": 1,
        }
    )


def cell_dict(values: list[float], scale: tuple[float, float]) -> dict[str, Any]:
    s = summarize(values, scale)
    return {"n": s.n, "mean": s.mean, "sd": s.sd, "se": s.se, "t_crit": s.t_crit, "ci95": s.ci95}


def comparison_dict(first: list[float], last: list[float]) -> dict[str, Any]:
    c = compare(first, last)
    assert c.welch is not None and c.hedges is not None and c.cliffs is not None
    w, h, cl = c.welch, c.hedges, c.cliffs
    return {
        "welch": {"diff": w.diff, "se": w.se, "df": w.df, "t_crit": w.t_crit, "ci95": w.ci95},
        "hedges_g": {
            "pooled_sd": h.pooled_sd,
            "d": h.d,
            "J": h.J,
            "g": h.g,
            "se_g": h.se_g,
            "ci95": h.ci95,
        },
        "cliffs": {
            "greater": cl.greater,
            "less": cl.less,
            "ties": cl.ties,
            "delta": cl.delta,
            "vargha_delaney_A": cl.vargha_delaney_A,
        },
    }


# --------------------------------------------------------------------------- the vectors


TESTED_VECTORS = {
    "who5_week1",
    "who5_week8",
    "who5_week8_minus_week1",
    "peg_week1",
    "peg_week6",
    "peg_week6_minus_week1",
    "pooled_week_4_groups",
}


def test_every_vector_is_tested() -> None:
    assert set(VECTORS) - {"_note"} == TESTED_VECTORS


def who5_percent(raw: list[int]) -> list[float]:
    # WHO-5: five 0–5 items summed to a raw 0–25, × 4; the vectors give raw totals only.
    totals = instrument(1, 0, 25, "sum", 4)
    return [totals.score({"item-1": r}) for r in raw]


@pytest.mark.parametrize("name", ["who5_week1", "who5_week8"])
def test_who5_cell(name: str) -> None:
    v = VECTORS[name]
    percent = who5_percent(v["raw"])
    actual = {"raw": v["raw"], "percent": percent, **cell_dict(percent, WHO5_PERCENT)}
    if "median" in v:
        actual["median"] = summarize(percent, WHO5_PERCENT).median
    low = proportion(sum(1 for p in percent if p <= 50), len(percent))
    actual["low_wellbeing_le50"] = {"k": low.k, "n": low.n, "p": low.p, "ci95": low.ci95}
    assert flatten(actual) == close(v)


def test_who5_first_vs_last() -> None:
    first = who5_percent(VECTORS["who5_week1"]["raw"])
    last = who5_percent(VECTORS["who5_week8"]["raw"])
    assert flatten(comparison_dict(first, last)) == close(VECTORS["who5_week8_minus_week1"])


def mean_scores(items: list[list[int]]) -> list[float]:
    three = instrument(3, 0, 10, "mean", 1)
    return [three.score({f"item-{i}": a for i, a in enumerate(row, 1)}) for row in items]


@pytest.mark.parametrize("name", ["peg_week1", "peg_week6"])
def test_three_item_mean_cell(name: str) -> None:
    v = VECTORS[name]
    scores = mean_scores(v["items"])
    scale = instrument(3, 0, 10, "mean", 1).score_range
    actual = {"items": v["items"], "scores": scores, **cell_dict(scores, scale)}
    assert flatten(actual) == close(v)


def test_three_item_mean_first_vs_last() -> None:
    first = mean_scores(VECTORS["peg_week1"]["items"])
    last = mean_scores(VECTORS["peg_week6"]["items"])
    actual = comparison_dict(first, last)
    del actual["cliffs"]  # this vector gives no ordinal check
    assert flatten(actual) == close(VECTORS["peg_week6_minus_week1"])


def test_pooled_four_cohorts() -> None:
    v = VECTORS["pooled_week_4_groups"]
    p = pool(list(zip(v["n"], v["means"], strict=True)))
    assert p.no_interval_reason is None
    actual = {
        "n": v["n"],
        "means": v["means"],
        "pooled_mean": p.mean,
        "N": p.N,
        "G": p.G,
        "cluster_se": p.se,
        "t_crit": p.t_crit,
        "ci95": p.ci95,
        # naive_se (SD of all 34 answers / √34) needs the members' answers, which the vector
        # does not give; it is there to show that ignoring clustering halves the SE.
        "naive_se": v["naive_se"],
    }
    assert flatten(actual) == close(v)
    assert p.se is not None and p.se > 1.9 * v["naive_se"]


def test_a_wrong_number_fails() -> None:
    """The tolerance bites: a value off by 2e-4 does not match."""
    expected = dict(VECTORS["who5_week1"], mean=46.5 + 2e-4)
    percent = who5_percent(expected["raw"])
    assert summarize(percent, WHO5_PERCENT).mean != pytest.approx(expected["mean"], abs=TOL)
    wrong_g = dict(VECTORS["who5_week8_minus_week1"]["hedges_g"], se_g=0.5357)  # d→g in Var(g)
    actual = comparison_dict(percent, who5_percent(VECTORS["who5_week8"]["raw"]))["hedges_g"]
    assert flatten(actual) != close(wrong_g)


# --------------------------------------------------------------------------- one cell


def test_summarize_no_values() -> None:
    s = summarize([], WHO5_PERCENT)
    assert (s.n, s.mean, s.sd, s.se, s.t_crit, s.ci95, s.median) == (0, *[None] * 6)
    assert summarize_sums(0, 0, 0, WHO5_PERCENT) == s


def test_summarize_one_value_has_mean_but_no_spread() -> None:
    s = summarize([40], WHO5_PERCENT)
    assert (s.n, s.mean, s.median) == (1, 40, 40)
    assert (s.sd, s.se, s.t_crit, s.ci95) == (None, None, None, None)
    assert numbers(summarize_sums(1, 40, 1600, WHO5_PERCENT)) == without_median(s)


def test_summarize_zero_variance() -> None:
    s = summarize([5, 5, 5], (0, 10))
    assert (s.sd, s.se, s.ci95) == (0, 0, (5, 5))
    assert s.t_crit == pytest.approx(4.3027, abs=TOL)
    assert numbers(summarize_sums(3, 15, 75, (0, 10))) == without_median(s)


def test_interval_is_clipped_to_the_scale() -> None:
    s = summarize([0, 0, 4], WHO5_PERCENT)
    assert s.ci95 is not None and s.ci95[0] == 0
    assert s.ci95[1] == pytest.approx(4 / 3 + 4.3027 * math.sqrt(16 / 3) / math.sqrt(3), abs=TOL)
    high = summarize([10, 10, 9], (0, 10))
    assert high.ci95 is not None and high.ci95[1] == 10


@pytest.mark.parametrize("name", ["who5_week1", "who5_week8"])
def test_sums_agree_with_values_on_the_vectors(name: str) -> None:
    percent = who5_percent(VECTORS[name]["raw"])
    from_values = summarize(percent, WHO5_PERCENT)
    from_sums = summarize_sums(
        len(percent), sum(percent), sum(x * x for x in percent), WHO5_PERCENT
    )
    assert numbers(from_sums) == without_median(from_values)


@pytest.mark.parametrize(
    "values",
    [
        [],
        [7],
        [100, 100, 100, 100],  # constant at the top of the scale: Σx² − (Σx)²/n rounds near 0
        [0, 100],
        [0.2, 0.4, 0.6, 9.8],
        [99.9, 100.0, 99.8, 99.95, 99.85] * 12,  # large mean, tiny spread: cancellation
        list(range(0, 101, 4)),
    ],
)
def test_sums_agree_with_values(values: list[float]) -> None:
    from_values = summarize(values, WHO5_PERCENT)
    from_sums = summarize_sums(len(values), sum(values), sum(x * x for x in values), WHO5_PERCENT)
    assert numbers(from_sums) == without_median(from_values)


def test_summarize_sums_rejects_negative_n() -> None:
    with pytest.raises(InvalidInput):
        summarize_sums(-1, 0, 0, WHO5_PERCENT)


def without_median(summary: CellSummary) -> Any:
    """The same summary's numbers, to 1e-9, with no median (sums cannot give one)."""
    fields = {name: getattr(summary, name) for name in summary.__slots__}
    return pytest.approx(flatten({**fields, "median": None}), abs=1e-9)


def numbers(summary: CellSummary) -> dict[str, Any]:
    return flatten({name: getattr(summary, name) for name in summary.__slots__})


# --------------------------------------------------------------------------- proportions


def test_proportion_of_nobody() -> None:
    p = proportion(0, 0)
    assert (p.p, p.ci95) == (None, None)


def test_proportion_extremes_stay_in_zero_one() -> None:
    none, every = proportion(0, 6), proportion(6, 6)
    assert none.ci95 is not None and none.ci95[0] == pytest.approx(0, abs=1e-12)
    assert every.ci95 is not None and every.ci95[1] == pytest.approx(1, abs=1e-12)
    assert 0 < none.ci95[1] < 0.5 and 0.5 < every.ci95[0] < 1


@pytest.mark.parametrize(("k", "n"), [(3, 2), (-1, 4), (0, -1)])
def test_proportion_rejects_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(InvalidInput):
        proportion(k, n)


# --------------------------------------------------------------------------- first vs last


def test_identical_groups_show_no_change() -> None:
    values = [3.0, 5.0, 6.0, 8.0]
    c = compare(values, values)
    assert c.welch is not None and c.hedges is not None and c.cliffs is not None
    assert (c.welch.diff, c.hedges.d, c.hedges.g, c.cliffs.delta) == (0, 0, 0, 0)
    assert c.cliffs.vargha_delaney_A == 0.5
    assert (c.cliffs.greater, c.cliffs.less, c.cliffs.ties) == (6, 6, 4)
    assert c.welch.ci95[0] == pytest.approx(-c.welch.ci95[1])
    assert c.welch.df == pytest.approx(6)


def test_two_constant_groups_have_no_interval_or_effect_size() -> None:
    c = compare([4, 4, 4], [6, 6])
    assert (c.welch, c.hedges) == (None, None)
    assert c.cliffs is not None and (c.cliffs.greater, c.cliffs.delta) == (6, 1)


def test_one_constant_group_takes_the_other_groups_df() -> None:
    c = compare([4, 4, 4], [5, 6, 7, 8])
    assert c.welch is not None
    assert c.welch.df == pytest.approx(3)
    assert c.welch.se == pytest.approx(math.sqrt(5 / 3 / 4))


def test_one_answer_in_a_session_gives_only_the_ordinal_check() -> None:
    c = compare([4], [5, 6, 7])
    assert (c.n_first, c.n_last, c.welch, c.hedges) == (1, 3, None, None)
    assert c.cliffs is not None and c.cliffs.delta == 1


def test_empty_session_gives_nothing() -> None:
    c = compare([], [5, 6, 7])
    assert (c.welch, c.hedges, c.cliffs) == (None, None, None)


# --------------------------------------------------------------------------- across cohorts


def test_one_cohort_says_it_cannot_give_an_interval() -> None:
    p = pool([(8, 46.5)])
    assert (p.G, p.N, p.mean) == (1, 8, 46.5)
    assert (p.se, p.t_crit, p.ci95) == (None, None, None)
    assert p.no_interval_reason is not None and "one cohort" in p.no_interval_reason


def test_no_cohorts() -> None:
    p = pool([])
    assert (p.G, p.N, p.mean, p.ci95) == (0, 0, None, None)
    assert p.no_interval_reason


def test_cohorts_with_equal_means_have_zero_spread() -> None:
    p = pool([(5, 60.0), (9, 60.0)])
    assert (p.mean, p.se, p.ci95) == (60, 0, (60, 60))


def test_pooled_interval_is_clipped_when_a_scale_is_given() -> None:
    p = pool([(5, 2.0), (6, 9.5)], scale=(0, 10))
    assert p.ci95 is not None and p.ci95 == (0, 10)
    unclipped = pool([(5, 2.0), (6, 9.5)])
    assert unclipped.ci95 is not None and unclipped.ci95[0] < 0


def test_pool_rejects_an_empty_cohort_cell() -> None:
    with pytest.raises(InvalidInput):
        pool([(0, 50.0), (4, 40.0)])


# --------------------------------------------------------------------------- attendance


def test_attendance_rate() -> None:
    assert attendance_rate(6, 8) == 0.75
    assert attendance_rate(0, 8) == 0
    assert attendance_rate(0, 0) is None


@pytest.mark.parametrize(("present", "enrolled"), [(9, 8), (-1, 8), (0, -1)])
def test_attendance_rate_rejects_impossible_counts(present: int, enrolled: int) -> None:
    with pytest.raises(InvalidInput):
        attendance_rate(present, enrolled)


def test_retention_is_in_session_order() -> None:
    curve = retention({3: 5, 1: 10, 2: 8}, 10)
    assert curve == {1: 1.0, 2: 0.8, 3: 0.5}
    assert list(curve) == [1, 2, 3]
    assert retention({}, 10) == {}
    assert retention({1: 0}, 0) is None
    with pytest.raises(InvalidInput):
        retention({1: 11}, 10)


def test_completers_at_the_rule_boundary() -> None:
    attended = {1: 4, 2: 5, 3: 6, 4: 0}
    assert completers(attended, 5) == 2
    assert completers(attended, 6) == 1
    assert completers(attended, 7) == 0
    assert completers({}, 5) == 0
    with pytest.raises(InvalidInput):
        completers(attended, 0)


def test_share_columns_divides_each_part_by_its_whole_and_gives_nan_without_one() -> None:
    got = share_columns(np.array([3, 0, 4, 2]), np.array([4, 5, 0, 0]))
    assert got[:2].tolist() == [0.75, 0.0]
    assert np.isnan(got[2:]).all()  # "not given", as attendance_rate gives None, never inf
    for present, enrolled in ((3, 4), (0, 5), (7, 7)):
        assert share_columns(np.array([present]), np.array([enrolled]))[0] == attendance_rate(
            present, enrolled
        )
    assert share_columns(np.array([], dtype=int), np.array([], dtype=int)).shape == (0,)


def test_fidelity_share() -> None:
    assert fidelity_share(5, 6) == pytest.approx(5 / 6)
    assert fidelity_share(0, 0) is None
    with pytest.raises(InvalidInput):
        fidelity_share(7, 6)
