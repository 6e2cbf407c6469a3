"""Dashboard queries at scale: ours, the same SQL bare on DuckDB, and the pandas way, side by side.

    python -m benchmarks.queries [--scales 1000 5000 20000] [--seed 1] [--runs 5]

For each scale (a cached synthetic database, see databases.py) a fresh subprocess measures, so peak
memory is per scale:

- every query behind the two dashboards: our store method, and the identical SQL run bare on a
  plain DuckDB cursor. The bare SQL is not copied: it is captured while our method runs (every
  statement, parameter and registered frame it hands DuckDB) and replayed as is;
- each dashboard whole (`program_results`, `cohort_results`) against the same numbers computed
  the pandas way (pandas_way.py), after checking that both give the same numbers;
- the program dashboard page in AppTest, signed in as an admin: first (cold) render, then reruns.

Times are medians of several runs, ours and bare alternating; the machine may be busy, so the
load average is recorded too. The last lines are one per scale:
`cohorts=N ratio_vs_bare=X.XX ratio_pandas_vs_ours=Y.Y page_rerender_s=Z.ZZ`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SCALES = (1000, 5000, 20000)
SESSION_SECRET = "benchmark-secret-not-for-production"
PAGE_RUNS = 3
QUERY_RUNS = 9  # single queries are cheap: more runs steady their medians on a busy machine
START, END = "<!-- bench:queries:start -->", "<!-- bench:queries:end -->"


# --------------------------------------------------------------------------- capture and replay


class _Recording:
    """A DuckDB cursor that notes everything it is handed (statements, parameters, registered
    frames, how results were fetched) before passing it on."""

    def __init__(self, cursor: Any, calls: list[tuple[Any, ...]]) -> None:
        self._cursor = cursor
        self._calls = calls

    def register(self, name: str, obj: Any) -> _Recording:
        self._calls.append(("register", name, obj))
        self._cursor.register(name, obj)
        return self

    def execute(self, sql: str, params: Any = None) -> _Recording:
        self._calls.append(("execute", sql, params))
        self._cursor.execute(sql, params)
        return self

    def _fetch(self, how: str) -> Any:
        self._calls.append(("fetch", how))
        return getattr(self._cursor, how)()

    def fetchall(self) -> Any:
        return self._fetch("fetchall")

    def fetchone(self) -> Any:
        return self._fetch("fetchone")

    def df(self) -> Any:
        return self._fetch("df")

    def close(self) -> None:
        self._cursor.close()


def capture(store: Any, call: Callable[[], Any]) -> tuple[Any, list[tuple[Any, ...]]]:
    """Run `call`, recording every cursor call the store makes meanwhile."""
    calls: list[tuple[Any, ...]] = []
    real = store.cursor
    store.cursor = lambda: _Recording(real(), calls)
    try:
        return call(), calls
    finally:
        del store.cursor


def statements(calls: Sequence[tuple[Any, ...]]) -> list[str]:
    return [c[1] for c in calls if c[0] == "execute"]


def replay(cursor: Any, calls: Sequence[tuple[Any, ...]]) -> Callable[[], Any]:
    """The captured calls, run straight on a DuckDB cursor: the bare SQL."""

    def bare() -> Any:
        result = None
        for kind, *args in calls:
            if kind == "register":
                cursor.register(args[0], args[1])
            elif kind == "execute":
                cursor.execute(args[0], args[1])
            else:
                result = getattr(cursor, args[0])()
        return result

    return bare


# --------------------------------------------------------------------------- timing


def medians(calls: Sequence[Callable[[], Any]], runs: int) -> list[float]:
    """Median seconds of each call over `runs` rounds; the order alternates between rounds so
    that neither side always runs right after the other."""
    times: list[list[float]] = [[] for _ in calls]
    for r in range(runs):
        order = range(len(calls)) if r % 2 == 0 else reversed(range(len(calls)))
        for i in order:
            started = time.perf_counter()
            calls[i]()
            times[i].append(time.perf_counter() - started)
    gc.collect()
    return [statistics.median(t) for t in times]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# --------------------------------------------------------------------------- correctness


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _order(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple((0, round(v, 6), "") if isinstance(v, float) else (1, 0.0, str(v)) for v in row)


def same_rows(name: str, ours: Sequence[Sequence[Any]], theirs: Sequence[Sequence[Any]]) -> None:
    """Same rows in any order; floats equal up to summation order."""
    mine = sorted((tuple(r) for r in ours), key=_order)
    other = sorted((tuple(r) for r in theirs), key=_order)
    if len(mine) != len(other):
        raise AssertionError(f"{name}: {len(mine)} rows ours, {len(other)} the pandas way")
    for a, b in zip(mine, other, strict=True):
        if len(a) != len(b) or not all(_close(x, y) for x, y in zip(a, b, strict=True)):
            raise AssertionError(f"{name}: ours {a} but the pandas way {b}")


def same_cells(ours: Any, theirs: Any) -> None:
    columns = ["cohort_id", "session_id", "session_number", "measure", "closed", "n", "total"]
    same_rows(
        "program_cells",
        list(ours[columns].itertuples(index=False, name=None)),
        list(theirs[columns].itertuples(index=False, name=None)),
    )


# --------------------------------------------------------------------------- one scale


@dataclass
class QueryTime:
    name: str
    dashboard: str
    ours_ms: float
    bare_ms: float
    pandas_ms: float | None
    rows: int


@dataclass
class DashboardTime:
    dashboard: str
    ours_ms: float  # the whole domain function
    queries_ours_ms: float
    queries_bare_ms: float
    pandas_ms: float  # read + aggregate, each table read once
    pandas_memory_ms: float  # the aggregation alone, rows already in memory
    statements: int


@dataclass
class PageTime:
    page: str
    cold_s: float
    rerun_s: float
    statements_per_rerun: int


@dataclass
class Scale:
    cohorts: int
    seed: int
    runs: int
    sizes: dict[str, int]
    queries: list[QueryTime]
    dashboards: list[DashboardTime]
    pages: list[PageTime]
    rss_mb: dict[str, float]
    load: list[float]
    seconds: float
    notes: list[str] = field(default_factory=list)
    report_s: float = 0.0  # the program report, HTML with its charts and then its PDF

    @property
    def ratio_vs_bare(self) -> float:
        return sum(q.ours_ms for q in self.queries) / sum(q.bare_ms for q in self.queries)

    @property
    def ratio_pandas_vs_ours(self) -> float:
        program = self.dashboards[0]
        return program.pandas_ms / program.ours_ms

    @property
    def page_rerender_s(self) -> float:
        return self.pages[0].rerun_s


def _size(result: Any) -> int:
    try:
        return len(result)
    except TypeError:
        return 1


def measure(cohorts: int, seed: int, runs: int) -> Scale:
    """Everything for one scale; run in a subprocess of its own."""
    from benchmarks import databases

    path = databases.ensure_database(cohorts, seed)
    os.environ["PROGRAM_DATABASE"] = str(path)
    os.environ["PROGRAM_SESSION_SECRET"] = SESSION_SECRET
    os.environ["PROGRAM_CURRICULA"] = str(ROOT / "curricula")
    os.environ.pop("PROGRAM_DEMO", None)

    from benchmarks import pandas_way
    from program.cells import plan as _plan
    from program.cohort_results import cohort_results
    from program.models import CohortStatus
    from program.program_results import Selection, program_results, select_cohorts
    from program.settings import get_settings
    from program.store import Store
    from program.store.cohorts import COHORT_COLUMNS

    get_settings.cache_clear()
    started = time.perf_counter()
    load = [os.getloadavg()[0]]
    store = Store(path)
    raw = store.cursor()  # the plain DuckDB cursor the bare SQL runs on
    admin = store.staff_user_by_username(databases.ADMIN)
    assert admin is not None, "the benchmark database has no admin"
    (program,) = store.programs()
    selection = Selection(program.id)
    chosen = store.cohorts(program.id)
    assert [c.id for c in chosen] == list(select_cohorts(store, selection)[COHORT_COLUMNS.id])
    ids = [c.id for c in chosen]
    versions = sorted({c.curriculum_version_id for c in chosen})
    bundles = {v: store.curriculum_bundle(v) for v in versions}
    plan = _plan(bundles)
    finished = [c.id for c in chosen if c.status == CohortStatus.FINISHED]
    min_sessions = [
        bundles[c.curriculum_version_id].curriculum.completion.min_sessions_attended
        for c in chosen
        if c.status == CohortStatus.FINISHED
    ]
    rules = pandas_way.scoring(bundles)
    cohort, facilitator = _a_cohort_with_results(store, chosen, cohort_results)
    tables = ("cohorts", "roster_members", "attendance", "responses", "answers", "cell_summaries")
    sizes = {t: int(raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}

    # Every store call each dashboard makes, as the dashboard makes it.
    program_calls: dict[str, Callable[[], Any]] = {
        "program": lambda: store.program(program.id),
        "cohort_frame": lambda: store.cohort_frame(program.id),
        "curriculum_bundle": lambda: [store.curriculum_bundle(v) for v in versions],
        "program_cells": lambda: store.program_cells(ids, plan),
        "held_attendance": lambda: store.held_attendance(ids),
        "completers": lambda: store.completers(finished, min_sessions),
    }
    one = [cohort.id]
    cohort_calls: dict[str, Callable[[], Any]] = {
        "cohort": lambda: store.cohort(cohort.id),
        "cohort_facilitator_ids": lambda: store.cohort_facilitator_ids(cohort.id),
        "program": lambda: store.program(cohort.program_id),
        "curriculum_bundle": lambda: store.curriculum_bundle(cohort.curriculum_version_id),
        "cell_summaries": lambda: store.cell_summaries(one),
        "pulse_states": lambda: store.pulse_states(one),
        "enrolled_counts": lambda: store.enrolled_counts(one),
        "sessions": lambda: store.sessions(cohort.id),
        "attendance_counts": lambda: store.attendance_counts(one),
        "roster": lambda: store.roster(cohort.id),
        "member_attendance": lambda: store.member_attendance(cohort.id),
        "sessions_attended": lambda: store.sessions_attended(one),
        "fidelity_counts": lambda: store.fidelity_counts(one),
    }
    whole = {
        "program": lambda: program_results(store, admin, selection),
        "cohort": lambda: cohort_results(store, facilitator, cohort.id),
    }

    queries: list[QueryTime] = []
    ours_results: dict[tuple[str, str], Any] = {}
    dashboard_statements: dict[str, int] = {}
    for dashboard, calls in (("program", program_calls), ("cohort", cohort_calls)):
        # The bench must time every statement the dashboard runs, and nothing else.
        _, whole_calls = capture(store, whole[dashboard])
        timed: Counter[str] = Counter()
        for name, call in calls.items():
            result, recorded = capture(store, call)
            ours_results[(dashboard, name)] = result
            timed.update(statements(recorded))
            pair = [call, replay(raw, recorded)]
            ours_ms, bare_ms = (1000 * t for t in medians(pair, max(runs, QUERY_RUNS)))
            queries.append(QueryTime(name, dashboard, ours_ms, bare_ms, None, _size(result)))
            print(
                f"    {dashboard:7} {name:24} ours {ours_ms:9.2f} ms  bare {bare_ms:9.2f} ms",
                file=sys.stderr,
            )
        ran = Counter(statements(whole_calls))
        if ran != timed:
            raise AssertionError(
                f"the {dashboard} dashboard runs statements the benchmark does not time, or the"
                f" other way round:\n  untimed: {list((ran - timed).elements())}\n"
                f"  timed but not run: {list((timed - ran).elements())}"
            )
        dashboard_statements[dashboard] = sum(ran.values())
    rss = {"queries": peak_rss_mb()}
    notes = [_table_note(whole["program"]())]

    # The program dashboard page, as a browser session reruns it.
    pages = [
        _page(store, admin, "pages/program_dashboard.py", path),
        _page(store, facilitator, "pages/cohort_dashboard.py", path, cohort.id),
    ]
    rss["queries + pages"] = peak_rss_mb()

    # The program report a lead makes from the dashboard: its HTML (charts drawn) and its PDF.
    from program import printing, reports

    shown = whole["program"]()
    made = dt.datetime.now()
    report_s = statistics.median(
        _timed(lambda: printing.pdf(reports.program_report(shown, "all versions", made)))
        for _ in range(3)
    )
    print(f"    report  html + pdf {report_s:9.2f} s", file=sys.stderr)
    rss["queries + pages + report"] = peak_rss_mb()

    # The pandas way, each dashboard against our whole function, alternating.
    dashboards = []
    pipelines = {
        "program": pandas_way.program_pipeline(
            raw, program.id, ids, plan, rules, finished, min_sessions
        ),
        "cohort": pandas_way.cohort_pipeline(raw, cohort.id, rules),
    }
    for dashboard, steps in pipelines.items():
        frames, _ = pandas_way.run(steps)
        _check(dashboard, frames, ours_results)
        del frames
        stage_times: list[dict[str, float]] = []

        def pandas_run(
            steps: Sequence[pandas_way.Step] = steps, into: list[dict[str, float]] = stage_times
        ) -> None:
            into.append(pandas_way.run(steps)[1])

        ours_s, pandas_s = medians([whole[dashboard], pandas_run], runs)
        stage = {s.name: statistics.median(t[s.name] for t in stage_times) for s in steps}
        for q in queries:
            if q.dashboard == dashboard and q.name in stage:
                need = pandas_way.depends_on(steps, q.name)
                q.pandas_ms = 1000 * sum(stage[n] for n in need)
        mine = [q for q in queries if q.dashboard == dashboard]
        dashboards.append(
            DashboardTime(
                dashboard,
                ours_ms=1000 * ours_s,
                queries_ours_ms=sum(q.ours_ms for q in mine),
                queries_bare_ms=sum(q.bare_ms for q in mine),
                pandas_ms=1000 * pandas_s,
                pandas_memory_ms=1000 * sum(stage[s.name] for s in steps if not s.read),
                statements=dashboard_statements[dashboard],
            )
        )
        print(
            f"    {dashboard:7} whole: ours {1000 * ours_s:9.1f} ms  pandas {1000 * pandas_s:9.1f} ms",
            file=sys.stderr,
        )
    rss["with the pandas way"] = peak_rss_mb()
    load.append(os.getloadavg()[0])
    store.close()
    return Scale(
        cohorts,
        seed,
        runs,
        sizes,
        queries,
        dashboards,
        pages,
        rss,
        load,
        time.perf_counter() - started,
        [
            *notes,
            f"the cohort dashboard is measured on {cohort.name} (id {cohort.id}), {cohort.status}",
        ],
        report_s,
    )


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _table_note(results: Any) -> str:
    """What the page pays for the program results after the computation: unpickling its cached
    copy (st.cache_data, every rerun) and making the comparison table's frame for st.dataframe."""
    data = pickle.dumps(results)
    loads, frames = [], []
    for _ in range(PAGE_RUNS):
        started = time.perf_counter()
        copy = pickle.loads(data)
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        copy.table.frame()
        frames.append(time.perf_counter() - started)
    return (
        f"`program_results` is cached by the page as {len(data) / 1e6:.1f} MB; unpickling a copy"
        f" takes {1000 * statistics.median(loads):.0f} ms and making the frame of its"
        f" {len(results.table):,} comparison rows {1000 * statistics.median(frames):.0f} ms (both"
        " on every rerun, inside the rerun time)"
    )


def _a_cohort_with_results(store: Any, cohorts: Sequence[Any], cohort_results: Any) -> Any:
    """The first finished cohort with released pulse results, and one of its facilitators."""
    from program.models import CohortStatus

    for c in cohorts:
        if c.status != CohortStatus.FINISHED:
            continue
        facilitator = store.staff_user(store.cohort_facilitator_ids(c.id)[0])
        if cohort_results(store, facilitator, c.id).release.released:
            return c, facilitator
    raise AssertionError("no finished cohort with released results")


def _check(dashboard: str, frames: dict[str, Any], ours: dict[tuple[str, str], Any]) -> None:
    """The pandas way must give exactly our numbers (floats up to summation order)."""
    from program.store.cohorts import COHORT_COLUMNS

    for (board, name), result in ours.items():
        if board != dashboard or name not in frames:
            continue
        theirs = frames[name]
        if name == "program_cells":
            same_cells(result, theirs)
        elif name == "cohort_frame":
            ids, counts = result[COHORT_COLUMNS.id], result[COHORT_COLUMNS.enrolled]
            enrolled = {int(i): int(n) for i, n in zip(ids, counts, strict=True) if n}
            if enrolled != frames["enrolled_counts"]:
                raise AssertionError(f"{dashboard} enrolled counts differ")
        elif name == "cell_summaries":
            # The rounding draw is made at random at close: the pandas way has none to compare.
            summaries = [(r.session_id, r.instrument_id, r.n, r.total) for r in result]
            same_rows(f"{dashboard} {name}", summaries, theirs)
        elif name in ("enrolled_counts", "completers"):
            if result != theirs:
                raise AssertionError(f"{dashboard} enrolled_counts differ")
        else:
            same_rows(f"{dashboard} {name}", result, theirs)


def _page(store: Any, user: Any, page: str, path: Path, cohort_id: int | None = None) -> PageTime:
    """A page in AppTest: the first render, then the median of PAGE_RUNS reruns, and how many SQL
    statements one rerun sends (the same at every scale means no query per cohort or row)."""
    from streamlit.testing.v1 import AppTest

    import ui
    from program import auth
    from program.settings import get_settings

    get_settings.cache_clear()
    ui._store_at.cache_clear()
    at = AppTest.from_file(str(ROOT / "home.py"), default_timeout=900)
    at.switch_page(page)
    at.session_state[ui.TOKEN_KEY] = auth.start_signin(store, user)
    if cohort_id is not None:
        at.session_state["dash_cohort"] = store.cohort(cohort_id)
    started = time.perf_counter()
    at.run()
    cold = time.perf_counter() - started
    if at.exception:
        raise AssertionError(f"{page} failed: {at.exception[0].message}")
    if not at.title or at.title[0].value not in ("Program dashboard", "Cohort results"):
        raise AssertionError(f"{page} did not render its dashboard")
    reruns = []
    for _ in range(PAGE_RUNS):
        started = time.perf_counter()
        at.run()
        reruns.append(time.perf_counter() - started)
    _, calls = capture(ui.store(), at.run)
    if at.exception:
        raise AssertionError(f"{page} failed on a rerun: {at.exception[0].message}")
    print(
        f"    page {page}: cold {cold:.2f} s, rerun {statistics.median(reruns):.2f} s",
        file=sys.stderr,
    )
    return PageTime(page, cold, statistics.median(reruns), len(statements(calls)))


# --------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        kb = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    versions = ", ".join(
        f"{p} {metadata.version(p)}" for p in ("duckdb", "pandas", "numpy", "streamlit")
    )
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "Memory": f"{kb / 1024 / 1024:.1f} GB",
        "System": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_version()}; {versions}",
    }


def table(scale: Scale) -> list[str]:
    """The side-by-side table of one scale, as Markdown."""
    s = scale.sizes
    lines = [
        f"### {scale.cohorts:,} cohorts",
        "",
        f"{s['roster_members']:,} members, {s['attendance']:,} attendance rows,"
        f" {s['responses']:,} responses, {s['answers']:,} answers, {s['cell_summaries']:,} cell"
        f" summaries. Median of {scale.runs} runs; load average {scale.load[0]:.1f} at the start,"
        f" {scale.load[1]:.1f} at the end; {scale.seconds:.0f} s in all.",
        "",
        "| dashboard | query | rows | ours ms | bare SQL ms | ours ÷ bare | pandas ms | pandas ÷ ours |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for q in scale.queries:
        pandas = "—" if q.pandas_ms is None else f"{q.pandas_ms:,.1f}"
        times = "—" if q.pandas_ms is None else f"{q.pandas_ms / q.ours_ms:,.1f}×"
        lines.append(
            f"| {q.dashboard} | `{q.name}` | {q.rows:,} | {q.ours_ms:,.2f} | {q.bare_ms:,.2f} |"
            f" {q.ours_ms / q.bare_ms:.2f} | {pandas} | {times} |"
        )
    lines += [
        "",
        "| dashboard | Σ queries ours ÷ bare | whole function ms | pandas ms (read + aggregate) |"
        " pandas ÷ ours | pandas in memory ms | in memory ÷ ours | statements |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in scale.dashboards:
        function = "program_results" if d.dashboard == "program" else "cohort_results"
        lines.append(
            f"| {d.dashboard} | {d.queries_ours_ms / d.queries_bare_ms:.2f}"
            f" | `{function}` {d.ours_ms:,.1f} | {d.pandas_ms:,.1f} | {d.pandas_ms / d.ours_ms:,.1f}×"
            f" | {d.pandas_memory_ms:,.1f} | {d.pandas_memory_ms / d.ours_ms:,.1f}× | {d.statements} |"
        )
    lines += [
        "",
        "| page (AppTest) | first render s | rerun s (median of 3) | SQL statements per rerun |",
        "|---|---:|---:|---:|",
    ]
    for p in scale.pages:
        lines.append(
            f"| `{p.page}` | {p.cold_s:.2f} | {p.rerun_s:.2f} | {p.statements_per_rerun} |"
        )
    lines += ["", f"Program report (HTML with its charts, then its PDF): {scale.report_s:.2f} s."]
    rss = "; ".join(f"{k} {v:,.0f} MB" for k, v in scale.rss_mb.items())
    lines += ["", f"Peak RSS: {rss}.", *(f"Note: {n}." for n in scale.notes), ""]
    return lines


def headline(scale: Scale) -> str:
    return (
        f"cohorts={scale.cohorts} ratio_vs_bare={scale.ratio_vs_bare:.2f}"
        f" ratio_pandas_vs_ours={scale.ratio_pandas_vs_ours:.1f}"
        f" page_rerender_s={scale.page_rerender_s:.2f} report_s={scale.report_s:.2f}"
    )


def write_results(scales: Sequence[Scale], before: float, after: float) -> None:
    """Replace the generated section of RESULTS.md, keeping everything written by hand."""
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        START,
        f"Generated by `make bench` on {when}. Machine:",
        "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        f"- Load average (1 min) {before:.1f} before the run, {after:.1f} after: other work"
        " shared the machine, so read the medians, not single runs.",
        "",
    ]
    for scale in scales:
        lines += table(scale)
    lines += ["```", *(headline(s) for s in scales), "```", END]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else f"{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    RESULTS.write_text(head + "\n".join(lines) + tail, encoding="utf-8")


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=list(SCALES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", action="store_true", help="measure one scale, print JSON")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.one:
        (cohorts,) = args.scales
        print(json.dumps(asdict(measure(cohorts, args.seed, args.runs))))
        return 0

    from benchmarks import databases

    print("Benchmark databases (generated once, cached in data/bench/):", file=sys.stderr)
    for cohorts in args.scales:
        print(f"  {databases.ensure_database(cohorts, args.seed)}", file=sys.stderr)
    before = os.getloadavg()[0]
    scales = []
    for cohorts in args.scales:
        print(f"Measuring {cohorts:,} cohorts …", file=sys.stderr)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.queries",
                "--one",
                "--scales",
                str(cohorts),
                "--seed",
                str(args.seed),
                "--runs",
                str(args.runs),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        data = json.loads(done.stdout.strip().splitlines()[-1])
        scale = Scale(
            **{
                **data,
                "queries": [QueryTime(**q) for q in data["queries"]],
                "dashboards": [DashboardTime(**d) for d in data["dashboards"]],
                "pages": [PageTime(**p) for p in data["pages"]],
            }
        )
        scales.append(scale)
        print("\n".join(table(scale)))
    after = os.getloadavg()[0]
    if not args.no_write:
        write_results(scales, before, after)
        print(f"Written to {RESULTS.relative_to(ROOT)}.")
    for scale in scales:
        print(headline(scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
