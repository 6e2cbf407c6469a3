"""The dashboards on both engines: the same synthetic database in a DuckDB file and in PostgreSQL.

    python -m benchmarks.engines [--scales 5000] [--seed 1] [--runs 5] [--no-write]

For each scale the cached synthetic database (databases.py) is copied into a PostgreSQL database
on a throwaway server (scripts/postgres_cluster.py) by the app's own backup and restore, then
ANALYZEd, as autovacuum would soon do on a real server. A fresh subprocess per engine measures:

- `program_results` and `cohort_results`, the domain functions of the two dashboards, and every
  store call the program dashboard makes (medians of several runs);
- the program and cohort dashboard pages in AppTest, signed in (an admin, a facilitator), with
  PROGRAM_DATABASE naming the engine's database: the first render, then reruns.

The engines are printed side by side with the ratio PostgreSQL ÷ DuckDB, and the page targets
at 5,000 cohorts: a rerender under 1 s and a first render under 3 s, on both engines. Nothing
asserts a time; the load average is recorded. Written into benchmarks/RESULTS.md between the
engines markers; the last lines are one per scale and engine:
`cohorts=N engine=E program_ms=… cohort_ms=… page_first_s=… page_rerender_s=…`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SCALES = (5000,)
START, END = "<!-- bench:engines:start -->", "<!-- bench:engines:end -->"
SESSION_SECRET = "benchmark-secret-not-for-production"
ENGINES = ("duckdb", "postgresql")
# The targets of the program dashboard page at 5,000 cohorts (seconds).
RERENDER_TARGET_S = 1.0
FIRST_RENDER_TARGET_S = 3.0


@dataclass
class EngineTimes:
    engine: str
    cohorts: int
    runs: int
    program_ms: float  # program_results, whole
    cohort_ms: float  # cohort_results, whole
    calls_ms: dict[str, float]  # each store call of the program dashboard
    pages: dict[str, tuple[float, float]]  # page: (first render s, rerun s)
    load: list[float]
    seconds: float
    cohort_id: int

    def page(self, name: str = "pages/program_dashboard.py") -> tuple[float, float]:
        first, rerun = self.pages[name]
        return first, rerun


@dataclass
class Scale:
    cohorts: int
    copy_s: float  # export from DuckDB, restore into PostgreSQL, ANALYZE
    rows: int
    engines: list[EngineTimes] = field(default_factory=list)

    def of(self, engine: str) -> EngineTimes:
        return next(e for e in self.engines if e.engine == engine)


# --------------------------------------------------------------------------- one engine


def _medians(calls: dict[str, Callable[[], Any]], runs: int) -> dict[str, float]:
    from benchmarks.queries import medians

    names = list(calls)
    return dict(zip(names, medians([calls[n] for n in names], runs), strict=True))


def measure(
    engine: str, database: str, cohorts: int, runs: int, cohort_id: int | None
) -> EngineTimes:
    """Everything for one engine; run in a subprocess of its own."""
    os.environ["PROGRAM_DATABASE"] = database
    os.environ["PROGRAM_SESSION_SECRET"] = SESSION_SECRET
    os.environ["PROGRAM_CURRICULA"] = str(ROOT / "curricula")
    os.environ.pop("PROGRAM_DEMO", None)

    from benchmarks import databases
    from benchmarks.queries import _a_cohort_with_results, _page
    from program.cells import plan as _plan
    from program.cohort_results import cohort_results
    from program.models import CohortStatus
    from program.program_results import Selection, program_results
    from program.settings import get_settings
    from program.store import Store

    get_settings.cache_clear()
    started = time.perf_counter()
    load = [os.getloadavg()[0]]
    store = Store(database)
    admin = store.staff_user_by_username(databases.ADMIN)
    assert admin is not None, "the benchmark database has no admin"
    (program,) = store.programs()
    selection = Selection(program.id)
    chosen = store.cohorts(program.id)
    if cohort_id is None:
        cohort, facilitator = _a_cohort_with_results(store, chosen, cohort_results)
    else:
        cohort = store.cohort(cohort_id)
        facilitator = store.staff_user(store.cohort_facilitator_ids(cohort_id)[0])
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
    calls: dict[str, Callable[[], Any]] = {
        "cohort_frame": lambda: store.cohort_frame(program.id),
        "program_cells": lambda: store.program_cells(ids, plan),
        "held_attendance": lambda: store.held_attendance(ids),
        "completers": lambda: store.completers(finished, min_sessions),
    }
    whole: dict[str, Callable[[], Any]] = {
        "program": lambda: program_results(store, admin, selection),
        "cohort": lambda: cohort_results(store, facilitator, cohort.id),
    }
    for call in [*calls.values(), *whole.values()]:
        call()  # once unmeasured: caches and the server's buffers warm
    calls_ms = {k: 1000 * v for k, v in _medians(calls, runs).items()}
    whole_ms = {k: 1000 * v for k, v in _medians(whole, runs).items()}
    for name, ms in [*calls_ms.items(), *whole_ms.items()]:
        print(f"    {engine:10} {name:16} {ms:9.1f} ms", file=sys.stderr)
    pages = {}
    for page, user, which in (
        ("pages/program_dashboard.py", admin, None),
        ("pages/cohort_dashboard.py", facilitator, cohort.id),
    ):
        timed = _page(store, user, page, Path(database), which)
        pages[page] = (timed.cold_s, timed.rerun_s)
    load.append(os.getloadavg()[0])
    store.close()
    return EngineTimes(
        engine,
        cohorts,
        runs,
        whole_ms["program"],
        whole_ms["cohort"],
        calls_ms,
        pages,
        load,
        time.perf_counter() - started,
        cohort.id,
    )


# --------------------------------------------------------------------------- PostgreSQL copy


def copy_into_postgres(duckdb_path: Path, url: str) -> tuple[float, int]:
    """The DuckDB database copied into PostgreSQL by backup and restore, then ANALYZEd: the
    seconds it took and the rows restored."""
    os.environ["PROGRAM_SESSION_SECRET"] = SESSION_SECRET
    os.environ["PROGRAM_CURRICULA"] = str(ROOT / "curricula")
    os.environ.pop("PROGRAM_DEMO", None)
    from benchmarks import databases
    from program import backup
    from program.settings import get_settings
    from program.store import Store

    get_settings.cache_clear()
    started = time.perf_counter()
    source = Store(duckdb_path)
    try:
        admin = source.staff_user_by_username(databases.ADMIN)
        assert admin is not None, "the benchmark database has no admin"
        data = backup.export_backup(source, admin)
    finally:
        source.close()
    target = Store(url)
    try:
        summary = backup.restore_backup(target, admin, data, backup.RESTORE_WORD, "benchmark")
        cur = target.cursor()
        try:
            cur.execute("ANALYZE")
        finally:
            cur.close()
    finally:
        target.close()
    return time.perf_counter() - started, summary.total


# --------------------------------------------------------------------------- report


def _mark(value: float, target: float) -> str:
    return "met" if value < target else "MISSED"


def table(scale: Scale) -> list[str]:
    duck, pg = scale.of("duckdb"), scale.of("postgresql")
    lines = [
        f"### {scale.cohorts:,} cohorts",
        "",
        f"The DuckDB database copied into PostgreSQL ({scale.rows:,} rows, backup + restore +"
        f" ANALYZE) in {scale.copy_s:.0f} s. Medians of {duck.runs} runs; load average"
        f" {duck.load[0]:.1f} → {duck.load[1]:.1f} (DuckDB), {pg.load[0]:.1f} → {pg.load[1]:.1f}"
        " (PostgreSQL).",
        "",
        "| measured | DuckDB | PostgreSQL | PostgreSQL ÷ DuckDB |",
        "|---|---:|---:|---:|",
    ]

    def row(name: str, a: float, b: float, unit: str) -> None:
        fmt = ",.1f" if unit == "ms" else ".2f"
        lines.append(f"| {name} | {a:{fmt}} {unit} | {b:{fmt}} {unit} | {b / a:.2f} |")

    row("`program_results`", duck.program_ms, pg.program_ms, "ms")
    for name in duck.calls_ms:
        row(f"… `{name}`", duck.calls_ms[name], pg.calls_ms[name], "ms")
    row(f"`cohort_results` (cohort {duck.cohort_id})", duck.cohort_ms, pg.cohort_ms, "ms")
    for page in duck.pages:
        (df, dr), (pf, pr) = duck.pages[page], pg.pages[page]
        row(f"`{page}` first render", df, pf, "s")
        row(f"`{page}` rerun (median of 3)", dr, pr, "s")
    lines += [""]
    if scale.cohorts == 5000:
        for e in (duck, pg):
            first, rerun = e.page()
            lines.append(
                f"Program dashboard targets on {e.engine}: rerender {rerun:.2f} s < 1 s"
                f" {_mark(rerun, RERENDER_TARGET_S)}; first render {first:.2f} s < 3 s"
                f" {_mark(first, FIRST_RENDER_TARGET_S)}."
            )
        lines.append("")
    return lines


def headline(e: EngineTimes) -> str:
    first, rerun = e.page()
    return (
        f"cohorts={e.cohorts} engine={e.engine} program_ms={e.program_ms:.0f}"
        f" cohort_ms={e.cohort_ms:.0f} page_first_s={first:.2f} page_rerender_s={rerun:.2f}"
    )


def write_results(scales: Sequence[Scale], before: float, after: float) -> None:
    from benchmarks.queries import machine

    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        START,
        f"Generated by `python -m benchmarks.engines` on {when};"
        f" {machine()['CPU']}. Load average (1 min) {before:.1f} before, {after:.1f} after.",
        "",
    ]
    for scale in scales:
        lines += table(scale)
    lines += ["```", *(headline(e) for s in scales for e in s.engines), "```", END]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else f"{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    RESULTS.write_text(head + "\n".join(lines) + tail, encoding="utf-8")


# --------------------------------------------------------------------------- command line


def _child(
    engine: str, database: str, cohorts: int, runs: int, cohort_id: int | None
) -> EngineTimes:
    command = [sys.executable, "-m", "benchmarks.engines", "--one", engine, "--database", database]
    command += ["--scales", str(cohorts), "--runs", str(runs)]
    if cohort_id is not None:
        command += ["--cohort", str(cohort_id)]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["pages"] = {k: tuple(v) for k, v in data["pages"].items()}
    return EngineTimes(**data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=list(SCALES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument(
        "--keep",
        type=Path,
        help="copy into PostgreSQL in this folder and leave"
        " the server running (for profiling); stop it with scripts.postgres_cluster",
    )
    parser.add_argument("--one", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--cohort", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        (cohorts,) = args.scales
        times = measure(args.one, args.database, cohorts, args.runs, args.cohort)
        print(json.dumps(asdict(times)))
        return 0

    from benchmarks import databases
    from scripts import postgres_cluster

    paths = {c: databases.ensure_database(c, args.seed) for c in args.scales}
    before = os.getloadavg()[0]
    scales = []
    for cohorts, path in paths.items():
        folder = args.keep or Path(tempfile.mkdtemp(prefix=f"bench-engines-{cohorts}-"))
        try:
            url = postgres_cluster.start(folder / "postgres")
            print(f"{cohorts:,} cohorts: copying into PostgreSQL …", file=sys.stderr)
            copy_s, rows = copy_into_postgres(path, url)
            scale = Scale(cohorts, copy_s, rows)
            print(f"  copied {rows:,} rows in {copy_s:.0f} s", file=sys.stderr)
            duck = _child("duckdb", str(path), cohorts, args.runs, None)
            scale.engines.append(duck)
            scale.engines.append(_child("postgresql", url, cohorts, args.runs, duck.cohort_id))
        finally:
            if args.keep is None:
                postgres_cluster.stop(folder / "postgres")
                shutil.rmtree(folder, ignore_errors=True)
        scales.append(scale)
        print("\n".join(table(scale)))
    after = os.getloadavg()[0]
    if not args.no_write:
        write_results(scales, before, after)
        print(f"Written to {RESULTS.relative_to(ROOT)}.")
    for scale in scales:
        for e in scale.engines:
            print(headline(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
