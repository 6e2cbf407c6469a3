"""Synthetic benchmark databases, generated once and cached under data/bench/.

One file per (cohorts, seed). A database is generated into a temporary file and renamed only when
complete, so an interrupted run never leaves a half-filled cache behind. Each holds one synthetic
program (program.generate) and an admin account, the viewer of the program dashboard.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from program.generate import generate
from program.models import Actor, Role
from program.settings import get_settings
from program.staff import create_user
from program.store import Store

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data" / "bench"
# Fixed, so a (cohorts, seed) key always means the same data: which sessions are held, which
# pulses closed. Cohorts start over the 16 months before this date and the 2 after it.
TODAY = dt.date(2026, 11, 1)
ADMIN = "bench-admin"
ADMIN_PASSWORD = "bench-admin-password"


def database_path(cohorts: int, seed: int) -> Path:
    return FOLDER / f"cohorts-{cohorts}-seed-{seed}.duckdb"


def ensure_database(cohorts: int, seed: int) -> Path:
    """The cached database for (cohorts, seed), generated first if missing (with progress)."""
    path = database_path(cohorts, seed)
    if path.exists():
        return path
    FOLDER.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.duckdb")
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        width = 30
        bar = "#" * (width * done // total) + "-" * (width - width * done // total)
        elapsed = time.perf_counter() - started
        print(
            f"\r  generating {path.name} [{bar}] {done}/{total} cohorts, {elapsed:.0f} s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    store = Store(partial)
    try:
        result = generate(store, get_settings(), cohorts, seed, today=TODAY, progress=progress)
        create_user(store, Actor.command_line(), ADMIN, "Bench admin", Role.ADMIN, ADMIN_PASSWORD)
        cur = store.cursor()
        try:
            cur.execute("CHECKPOINT")
        finally:
            cur.close()
    finally:
        store.close()
    print(
        f"\n  {path.name}: {result.cohorts} cohorts, {result.responses:,} responses,"
        f" {result.answers:,} answers in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    partial.rename(path)
    return path


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["1000", "5000", "20000"]:
        print(ensure_database(int(arg), 1))
