"""The dashboards' numbers computed the way a typical Streamlit app computes them.

Such an app keeps no summaries: it reads the raw rows into pandas with `.df()` (answers and
responses, sessions, attendance, rosters), scores the answers, then merges and groups there. Each
function below produces exactly what one store query returns, so the benchmark can check that the
two agree before comparing their times.

Reads:
- program dashboard: whole tables (the benchmark database holds one program), filtered to the
  selected cohorts in pandas;
- cohort dashboard: only the rows of that one cohort (filtered in SQL; joins and groups in pandas).
Ids that DuckDB stores as UUID are read as text: `.df()` turns a UUID column into Python objects,
which took about three times as long again, so this is the kinder choice for pandas.

A pipeline is a list of steps run in order; each step names the steps it needs, so the cost of one
query the pandas way is the sum of the steps it depends on (reads included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from program.models import CurriculumBundle

Frames = dict[str, Any]


@dataclass(frozen=True)
class Step:
    name: str
    needs: tuple[str, ...]
    run: Callable[[Frames], Any]
    read: bool = False  # reads rows from DuckDB (the rest works on frames in memory)


def _read(sql: str, params: Callable[[], list[Any]]) -> Callable[[Any], Callable[[Frames], Any]]:
    def bind(cur: Any) -> Callable[[Frames], Any]:
        return lambda _frames: cur.execute(sql, params()).df()

    return bind


@dataclass(frozen=True)
class Scoring:
    """How answers become scores, as frames (the same rule as Instrument.score)."""

    items: pd.DataFrame  # instrument_id, item_id, flip, low, high
    instruments: pd.DataFrame  # instrument_id, divisor, multiplier


def scoring(bundles: dict[int, CurriculumBundle]) -> Scoring:
    items, instruments = [], {}
    for bundle in bundles.values():
        for inst in bundle.instruments.values():
            divisor = float(len(inst.items)) if inst.scoring.method == "mean" else 1.0
            instruments[inst.id] = (inst.id, divisor, float(inst.scoring.multiplier))
            items += [
                (inst.id, item.id, bool(item.reversed), inst.scale.min, inst.scale.max)
                for item in inst.items
            ]
    return Scoring(
        pd.DataFrame(items, columns=["instrument_id", "item_id", "flip", "low", "high"]),
        pd.DataFrame(
            list(instruments.values()), columns=["instrument_id", "divisor", "multiplier"]
        ),
    )


# --------------------------------------------------------------------------- aggregations


def closed_scores(f: Frames, ids: Sequence[int], rules: Scoring) -> pd.DataFrame:
    """One row per response × instrument of a closed pulse: session_id, instrument_id, score."""
    sessions = f["read sessions"][f["read sessions"]["cohort_id"].isin(ids)]
    windows = f["read pulse_windows"]
    closed = windows.loc[windows["closed_at"].notna(), "session_id"]
    responses = f["read responses"]
    responses = responses[
        responses["session_id"].isin(sessions["id"]) & responses["session_id"].isin(closed)
    ]
    answers = f["read answers"].merge(responses, left_on="response_id", right_on="id")
    answers = answers.merge(rules.items, on=["instrument_id", "item_id"])
    answers["v"] = np.where(
        answers["flip"], answers["low"] + answers["high"] - answers["value"], answers["value"]
    )
    per = (
        answers.groupby(["response_id", "session_id", "instrument_id"], sort=False)["v"]
        .sum()
        .reset_index()
        .merge(rules.instruments, on="instrument_id")
    )
    per["score"] = per["v"].astype("float64") / per["divisor"] * per["multiplier"]
    return per[["session_id", "instrument_id", "score"]]


def cell_sums(scores: pd.DataFrame) -> pd.DataFrame:
    """session_id, instrument_id, n, total of every closed cell with answers. (The store also
    keeps each cell's rounding draw, made at random at close: there is nothing to recompute.)"""
    return (
        scores.groupby(["session_id", "instrument_id"])
        .agg(n=("score", "size"), total=("score", "sum"))
        .reset_index()
    )


def program_cells(
    f: Frames, ids: Sequence[int], plan: pd.DataFrame, sums: pd.DataFrame
) -> pd.DataFrame:
    """What store.program_cells returns: one row per session × scheduled measure."""
    sessions = f["read sessions"][f["read sessions"]["cohort_id"].isin(ids)]
    cells = (
        sessions.merge(f["read cohorts"], left_on="cohort_id", right_on="id", suffixes=("", "_c"))
        .merge(f["read pulse_windows"], left_on="id", right_on="session_id")
        .merge(
            plan,
            left_on=["curriculum_version_id", "number"],
            right_on=["version_id", "session_number"],
        )
        .merge(
            sums,
            how="left",
            left_on=["session_id", "measure"],
            right_on=["session_id", "instrument_id"],
        )
    )
    cells["closed"] = cells["closed_at"].notna()
    return pd.DataFrame(
        {
            "cohort_id": cells["cohort_id"],
            "session_id": cells["session_id"],
            "session_number": cells["number"],
            "measure": cells["measure"],
            "closed": cells["closed"],
            "n": cells["n"].fillna(0).astype("int64"),
            "total": cells["total"].fillna(0.0),
        }
    )


def enrolled_counts(f: Frames, ids: Sequence[int]) -> dict[int, int]:
    roster = f["read roster"][f["read roster"]["cohort_id"].isin(ids)]
    return {
        int(k): int(v)
        for k, v in roster.groupby(
            "cohort_id",
        )
        .size()
        .items()
    }


def attendance_counts(f: Frames, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    sessions = f["read sessions"][f["read sessions"]["cohort_id"].isin(ids)]
    marks = sessions.merge(
        f["read attendance"], how="left", left_on="id", right_on="session_id", suffixes=("", "_a")
    )
    marks["present"] = marks["status_a"] == "present"
    counts = (
        marks.groupby(["cohort_id", "id", "number", "status"])
        .agg(present=("present", "sum"), marked=("member_id", "count"))
        .reset_index()
        .sort_values(["cohort_id", "number"])
    )
    return list(counts.itertuples(index=False, name=None))


def sessions_attended(f: Frames, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    roster = f["read roster"][f["read roster"]["cohort_id"].isin(ids)]
    weekly = f["read sessions"].loc[f["read sessions"]["number"] >= 1, "id"]
    attendance = f["read attendance"]
    present = attendance[
        (attendance["status"] == "present") & attendance["session_id"].isin(weekly)
    ]
    per_member = (
        present.groupby(
            "member_id",
        )
        .size()
        .rename(
            "attended",
        )
    )
    out = roster.merge(per_member, how="left", left_on="id", right_index=True)
    out["attended"] = out["attended"].fillna(0).astype("int64")
    return list(out[["cohort_id", "id", "attended"]].itertuples(index=False, name=None))


def held_attendance(f: Frames, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    sessions = f["read sessions"]
    held = sessions[sessions["cohort_id"].isin(ids) & (sessions["status"] == "held")]
    attendance = f["read attendance"]
    present = attendance[attendance["status"] == "present"].groupby("session_id").size()
    roster = f["read roster"]
    enrolled = roster[roster["cohort_id"].isin(ids)].groupby("cohort_id").size()
    held = held.assign(
        present=held["id"].map(present).fillna(0).astype("int64"),
        enrolled=held["cohort_id"].map(enrolled).fillna(0).astype("int64"),
    )
    sums = held.groupby("number")[["present", "enrolled"]].sum().reset_index()
    return list(sums.itertuples(index=False, name=None))


def completers(f: Frames, ids: Sequence[int], min_sessions: Sequence[int]) -> int:
    rule = pd.DataFrame({"cohort_id": list(ids), "min_sessions": list(min_sessions)})
    members = f["read roster"].merge(rule, on="cohort_id")
    weekly = f["read sessions"].loc[f["read sessions"]["number"] >= 1, "id"]
    attendance = f["read attendance"]
    present = attendance[
        (attendance["status"] == "present") & attendance["session_id"].isin(weekly)
    ]
    attended = present.groupby("member_id").size()
    counts = members["id"].map(attended).fillna(0)
    return int((counts >= members["min_sessions"]).sum())


def pulse_states(f: Frames, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    sessions = f["read sessions"][f["read sessions"]["cohort_id"].isin(ids)]
    states = sessions.merge(f["read pulse_windows"], left_on="id", right_on="session_id")
    states["closed"] = states["closed_at"].notna()
    return list(states[["cohort_id", "id", "number", "closed"]].itertuples(index=False, name=None))


def cell_summaries(sums: pd.DataFrame) -> list[tuple[Any, ...]]:
    return list(sums.itertuples(index=False, name=None))


def cell_counts(scores: pd.DataFrame) -> list[tuple[Any, ...]]:
    counts = (
        scores.groupby(["session_id", "instrument_id", "score"])
        .size()
        .rename("responses")
        .reset_index()
        .sort_values(
            "score",
        )
    )
    return list(counts.itertuples(index=False, name=None))


def fidelity_counts(f: Frames, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    sessions = f["read sessions"][f["read sessions"]["cohort_id"].isin(ids)]
    ticks = f["read fidelity"].merge(sessions, left_on="session_id", right_on="id")
    counts = (
        ticks.groupby(["cohort_id", "number"])
        .agg(delivered=("delivered", "sum"), planned=("delivered", "size"))
        .reset_index()
        .sort_values(
            "number",
        )
    )
    return list(counts.itertuples(index=False, name=None))


def member_attendance(f: Frames, cohort_id: int) -> list[tuple[Any, ...]]:
    sessions = f["read sessions"][f["read sessions"]["cohort_id"] == cohort_id]
    marks = f["read attendance"].merge(
        sessions, left_on="session_id", right_on="id", suffixes=("", "_s")
    )
    return list(marks[["member_id", "number", "status", "late"]].itertuples(index=False, name=None))


# --------------------------------------------------------------------------- pipelines

_PROGRAM_READS = {
    "cohorts": "SELECT id, curriculum_version_id FROM cohorts WHERE program_id = ?",
    "sessions": "SELECT id, cohort_id, number, status FROM sessions",
    "pulse_windows": "SELECT session_id, closed_at FROM pulse_windows",
    "responses": "SELECT id::VARCHAR AS id, session_id FROM responses",
    "answers": "SELECT response_id::VARCHAR AS response_id, instrument_id, item_id, value"
    " FROM answers",
    "roster": "SELECT id, cohort_id FROM roster_members",
    "attendance": "SELECT session_id, member_id, status FROM attendance",
}

_OF_COHORT = "SELECT id FROM sessions WHERE cohort_id = ?"
_COHORT_READS = {
    "sessions": "SELECT id, cohort_id, number, status FROM sessions WHERE cohort_id = ?",
    "pulse_windows": "SELECT session_id, closed_at FROM pulse_windows"
    f" WHERE session_id IN ({_OF_COHORT})",
    "responses": f"SELECT id::VARCHAR AS id, session_id FROM responses WHERE session_id IN ({_OF_COHORT})",
    "answers": "SELECT response_id::VARCHAR AS response_id, instrument_id, item_id, value"
    f" FROM answers WHERE response_id IN (SELECT id FROM responses WHERE session_id IN ({_OF_COHORT}))",
    "roster": "SELECT id, cohort_id FROM roster_members WHERE cohort_id = ?",
    "attendance": "SELECT session_id, member_id, status, late FROM attendance"
    f" WHERE session_id IN ({_OF_COHORT})",
    "fidelity": f"SELECT session_id, delivered FROM fidelity WHERE session_id IN ({_OF_COHORT})",
}


def program_pipeline(
    cur: Any,
    program_id: int,
    ids: Sequence[int],
    plan: pd.DataFrame,
    rules: Scoring,
    finished: Sequence[int],
    min_sessions: Sequence[int],
) -> list[Step]:
    """The program dashboard's numbers: cells, enrolment, attendance, completion."""
    reads = [
        Step(
            f"read {name}",
            (),
            _read(sql, (lambda: [program_id]) if "?" in sql else (lambda: []))(cur),
            read=True,
        )
        for name, sql in _PROGRAM_READS.items()
    ]
    return [
        *reads,
        Step(
            "scores",
            ("read sessions", "read pulse_windows", "read responses", "read answers"),
            lambda f: closed_scores(f, ids, rules),
        ),
        Step("cell_sums", ("scores",), lambda f: cell_sums(f["scores"])),
        Step(
            "program_cells",
            ("cell_sums", "read cohorts", "read sessions", "read pulse_windows"),
            lambda f: program_cells(f, ids, plan, f["cell_sums"]),
        ),
        Step("enrolled_counts", ("read roster",), lambda f: enrolled_counts(f, ids)),
        Step(
            "held_attendance",
            ("read sessions", "read attendance", "read roster"),
            lambda f: held_attendance(f, ids),
        ),
        Step(
            "completers",
            ("read roster", "read sessions", "read attendance"),
            lambda f: completers(f, finished, min_sessions),
        ),
    ]


def cohort_pipeline(cur: Any, cohort_id: int, rules: Scoring) -> list[Step]:
    """The cohort dashboard's numbers, from that cohort's rows only."""
    ids = [cohort_id]
    reads = [
        Step(f"read {name}", (), _read(sql, lambda: [cohort_id])(cur), read=True)
        for name, sql in _COHORT_READS.items()
    ]
    return [
        *reads,
        Step(
            "scores",
            ("read sessions", "read pulse_windows", "read responses", "read answers"),
            lambda f: closed_scores(f, ids, rules),
        ),
        Step("cell_sums", ("scores",), lambda f: cell_sums(f["scores"])),
        Step("cell_summaries", ("cell_sums",), lambda f: cell_summaries(f["cell_sums"])),
        Step("cell_counts", ("scores",), lambda f: cell_counts(f["scores"])),
        Step(
            "pulse_states", ("read sessions", "read pulse_windows"), lambda f: pulse_states(f, ids)
        ),
        Step("enrolled_counts", ("read roster",), lambda f: enrolled_counts(f, ids)),
        Step(
            "attendance_counts",
            ("read sessions", "read attendance"),
            lambda f: attendance_counts(f, ids),
        ),
        Step(
            "sessions_attended",
            ("read roster", "read sessions", "read attendance"),
            lambda f: sessions_attended(f, ids),
        ),
        Step(
            "fidelity_counts", ("read sessions", "read fidelity"), lambda f: fidelity_counts(f, ids)
        ),
        Step(
            "member_attendance",
            ("read sessions", "read attendance"),
            lambda f: member_attendance(f, cohort_id),
        ),
    ]


def run(steps: Sequence[Step]) -> tuple[Frames, dict[str, float]]:
    """Run every step in order; return their results and how long each took."""
    frames: Frames = {}
    seconds: dict[str, float] = {}
    for step in steps:
        started = time.perf_counter()
        frames[step.name] = step.run(frames)
        seconds[step.name] = time.perf_counter() - started
    return frames, seconds


def depends_on(steps: Sequence[Step], name: str) -> set[str]:
    """The step and every step it needs, directly or not."""
    by_name = {s.name: s for s in steps}
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(by_name[current].needs)
    return seen
