"""Pulse answers over HTTP through nginx to 2 and 4 app processes on one PostgreSQL database.

    python -m benchmarks.replica_load [--replicas 2 4] [--rooms 50] [--clients 48] [--no-duckdb]
                                      [--no-write]

One throwaway PostgreSQL server (scripts/postgres_cluster.py) serves every run. For each replica
count, scripts/replicas.py starts that many app processes and nginx in front (a sticky cookie
keeps each participant on one process, as the page's single-use token needs). Through the domain
API, on a Store of the same URL, `--rooms` fresh cohorts of 40 are all marked present at their
first session and their pulses opened. Then every participant, as a plain HTTP client with
cookies of its own, GETs /pulse?code=… (the questions, with the form's hidden fields), and POSTs
the answers back: 41 per room, interleaved at random, from `--clients` threads at once, so 40 per
room should be thanked and one per room told the pulse is full. Then the pulses close and every
room is checked: each acknowledged answer stored exactly once (each sender's answers have their
own pattern, see submissions.py), nothing else, none over the cap of 40.

For comparison, the same runs against one app process on a DuckDB file (scripts/appserver.py),
unless --no-duckdb. Latency is the POST, answers sent to the page that answers back; throughput
is answers acknowledged per second over the whole burst (GET and POST). The load generator runs
on the same cores as the servers. Nothing asserts a time; the script fails only when an
acknowledged answer is missing or doubled, or a room went over its cap. The summary is written
into benchmarks/RESULTS.md (between its replica-load markers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.submissions import ROOM, Room, latency_line, raw_answers, verify, write_block
from program import cohorts, pulse, session_runner
from program.library import load_curriculum
from program.models import Actor, Role
from program.settings import get_settings
from program.staff import create_user
from program.store import Store
from scripts import postgres_cluster, replicas
from scripts.appserver import Server

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:replica-load:start -->", "<!-- bench:replica-load:end -->"
SESSION_SECRET = "benchmark-secret-not-for-production"
PER_ROOM = ROOM + 1  # one more than the room holds: the cap is tested across processes
RETRIES = 3  # a phone sends again when told "too many answers at this very moment"
TIMEOUT_S = 120.0
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


# --------------------------------------------------------------------------- rooms


def prepare(store: Store, rooms: int, tag: str) -> list[Room]:
    """`rooms` fresh cohorts of ROOM, everyone marked present at the first session, its pulse
    open."""
    actor = Actor.command_line()
    version, _ = load_curriculum(store, actor, get_settings().curricula / "collective-healing.yaml")
    facilitator = create_user(
        store, actor, f"load-{tag}", f"Load facilitator {tag}", Role.FACILITATOR, None
    )
    program = store.create_program(actor, f"Replica load {tag}", "", 5)
    store.add_program_facilitator(actor, program.id, facilitator.id)
    today = dt.date.today()
    made = []
    for n in range(rooms):
        cohort = cohorts.create_cohort(
            store,
            facilitator,
            program.id,
            version.id,
            f"Room {tag}-{n + 1}",
            start=today,
            weekday=today.weekday(),
            include_orientation=False,
            facilitator_ids=[facilitator.id],
            roster_text="\n".join(f"Member {i:02d}" for i in range(ROOM)),
        )
        session = store.sessions(cohort.id)[0]
        session_runner.save_sheet(
            store,
            facilitator,
            session.id,
            session_runner.all_present(store.roster(cohort.id)),
            set(),
            "",
            False,
            store.session_revision(session.id),
        )
        now = dt.datetime.now()
        window = pulse.open_pulse(store, get_settings(), facilitator, session.id, now)
        assert window.room_code is not None
        code = window.room_code
        made.append(Room(session.id, code, pulse.resolve_code(store, code, now)))
    return made


def close_and_verify(
    store: Store, rooms: Sequence[Room], acknowledged: dict[int, list[int]]
) -> tuple[list[str], int]:
    for room in rooms:
        store.close_pulse_window(Actor.system(), room.session_id, dt.datetime.now())
    cur = store.cursor()
    try:
        problems = verify(cur, rooms, acknowledged, ROOM)
        stored = sum(
            int(
                cur.execute(
                    "SELECT count(*) FROM responses WHERE session_id = ?", [r.session_id]
                ).fetchone()[0]
            )
            for r in rooms
        )
    finally:
        cur.close()
    return problems, stored


# --------------------------------------------------------------------------- participants


@dataclass
class Sent:
    room: Room
    who: int
    outcome: str = "not sent"
    opening: float | None = None  # GET /pulse?code=… until the questions arrived
    latency: float | None = None  # POST of the answers until the page answering it arrived
    retries: int = 0


def _title(html: str) -> str:
    found = _TITLE.search(html)
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip() if found else "(no heading)"


def participate(address: str, job: Sent, transport: httpx.HTTPTransport) -> Sent:
    """One phone: open the link, answer, send; its own cookies (nginx's sticky one). The
    connections are pooled in `transport`, shared by all phones, so the load generator spends
    its CPU on requests rather than on setting up clients."""
    try:
        # Not closed: closing a client closes the shared transport too.
        client = httpx.Client(base_url=address, timeout=TIMEOUT_S, transport=transport)
        started = time.perf_counter()
        page = client.get("/pulse", params={"code": job.room.code})
        job.opening = time.perf_counter() - started
        fields = dict(_HIDDEN.findall(page.text))
        if page.status_code != 200 or "token" not in fields:
            job.outcome = f"no questions: {page.status_code} {_title(page.text)}"
            return job
        answers = {k: str(v) for k, v in raw_answers(job.room.invitation, job.who).items()}
        for attempt in range(RETRIES + 1):
            started = time.perf_counter()
            reply = client.post("/pulse", data={**fields, **answers})
            job.latency = time.perf_counter() - started
            title = _title(reply.text)
            if reply.status_code == 200 and title == "Thank you":
                job.outcome = "thanked"
            elif reply.status_code == 200 and title == "All answers are in":
                job.outcome = "refused: room full"
            else:
                job.outcome = f"other: {reply.status_code} {title}"
                fields = dict(_HIDDEN.findall(reply.text)) or fields
                if attempt < RETRIES and reply.status_code == 200 and "token" in fields:
                    job.retries += 1
                    time.sleep(0.5)
                    continue
            break
    except httpx.HTTPError as exc:
        job.outcome = f"error: {type(exc).__name__}"
    return job


def burst(address: str, rooms: Sequence[Room], clients: int, seed: int) -> tuple[list[Sent], float]:
    """PER_ROOM phones per room, rooms interleaved at random, `clients` at a time."""
    jobs = [Sent(room, who) for who in range(PER_ROOM) for room in rooms]
    random.Random(seed).shuffle(jobs)
    lock = threading.Lock()
    done = [0]
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=clients))

    def one(job: Sent) -> Sent:
        participate(address, job, transport)
        with lock:
            done[0] += 1
            if done[0] % 500 == 0:
                print(f"    {done[0]} of {len(jobs)} sent", file=sys.stderr, flush=True)
        return job

    started = time.perf_counter()
    with transport, ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, jobs))
    return results, time.perf_counter() - started


def report(
    label: str, rooms: Sequence[Room], sent: list[Sent], wall: float, store: Store
) -> tuple[list[str], bool]:
    acknowledged: dict[int, list[int]] = {r.session_id: [] for r in rooms}
    for job in sent:
        if job.outcome == "thanked":
            acknowledged[job.room.session_id].append(job.who)
    problems, stored = close_and_verify(store, rooms, acknowledged)
    outcomes = Counter(job.outcome for job in sent)
    acked = outcomes["thanked"]
    retried = sum(job.retries for job in sent)
    lines = [
        label,
        f"  {len(sent)} phones ({PER_ROOM} per room of {ROOM} present, {len(rooms)} rooms) in"
        f" {wall:.1f} s: {acked / wall:.0f} answers acknowledged per second",
        "  outcomes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
        + (f"; {retried} sends repeated after 'too many at this moment'" if retried else ""),
        f"  stored {stored}, acknowledged {acked}: "
        + (
            f"every acknowledged answer stored exactly once, nothing else, no room over {ROOM}"
            if not problems
            else "PROBLEMS: " + "; ".join(problems[:10])
        ),
        "  latency, POST of the answers to the page back: "
        + latency_line([j.latency for j in sent if j.latency is not None]),
        "  opening the link (GET, the questions): "
        + latency_line([j.opening for j in sent if j.opening is not None]),
    ]
    return lines, not problems and acked == ROOM * len(rooms)


# --------------------------------------------------------------------------- runs


def on_replicas(
    url: str, count: int, rooms: int, clients: int, folder: Path
) -> tuple[list[str], bool]:
    store = Store(url)
    try:
        made = prepare(store, rooms, f"r{count}")
        here = folder / f"replicas-{count}"
        try:
            started = time.perf_counter()
            address = replicas.start(here, count, postgres_cluster.free_port(), url, False)
            ready = time.perf_counter() - started
            print(f"  {count} replicas ready in {ready:.0f} s; sending …", file=sys.stderr)
            load = os.getloadavg()[0]
            sent, wall = burst(address, made, clients, seed=count)
        finally:
            replicas.stop(here)
        lines, ok = report(
            f"{count} app processes behind nginx, one PostgreSQL (load average {load:.1f} at the"
            " start)",
            made,
            sent,
            wall,
            store,
        )
    finally:
        store.close()
    return lines, ok


def on_duckdb(rooms: int, clients: int, folder: Path) -> tuple[list[str], bool]:
    database = folder / "one.duckdb"
    store = Store(database)
    try:
        made = prepare(store, rooms, "duckdb")
    finally:
        store.close()  # the app process holds the file alone
    server = Server(database, extra_env={"PROGRAM_SESSION_SECRET": SESSION_SECRET})
    server.start()
    try:
        load = os.getloadavg()[0]
        sent, wall = burst(server.url, made, clients, seed=1)
    finally:
        server.stop()
    store = Store(database)
    try:
        return report(
            f"1 app process on a DuckDB file, no nginx (load average {load:.1f} at the start)",
            made,
            sent,
            wall,
            store,
        )
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--clients", type=int, default=48, help="phones sending at once")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB comparison")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    args = parser.parse_args(argv)
    os.environ.pop("PROGRAM_DEMO", None)
    os.environ["PROGRAM_CURRICULA"] = str(ROOT / "curricula")
    os.environ["PROGRAM_SESSION_SECRET"] = SESSION_SECRET
    get_settings.cache_clear()
    out = [
        f"benchmarks/replica_load.py, {dt.datetime.now():%Y-%m-%d %H:%M}, load average"
        f" {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores; the {args.clients} sending clients"
        " run on the same cores)",
    ]
    ok = True
    folder = Path(tempfile.mkdtemp(prefix="replica-load-"))
    runs: list[Callable[[], tuple[list[str], bool]]] = []
    try:
        url = postgres_cluster.start(folder / "postgres")
        for count in args.replicas:
            runs.append(
                lambda count=count: on_replicas(url, count, args.rooms, args.clients, folder)
            )  # type: ignore[misc]
        if not args.no_duckdb:
            runs.append(lambda: on_duckdb(args.rooms, args.clients, folder))
        for run in runs:
            lines, good = run()
            print("\n".join(lines), file=sys.stderr, flush=True)
            out += lines
            ok = ok and good
    finally:
        postgres_cluster.stop(folder / "postgres")
        shutil.rmtree(folder, ignore_errors=True)
    out.append(f"load average at the end {os.getloadavg()[0]:.1f}")
    out.append("RESULT: " + ("ok" if ok else "PROBLEMS, see above"))
    print("\n".join(out))
    if not args.no_write:
        write_block(START, END, out)
        print(f"Written to {ROOT.joinpath('benchmarks', 'RESULTS.md').relative_to(ROOT)}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
