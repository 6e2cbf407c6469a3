"""Pulse submissions under load: through the store from threads, through real browsers, and a crash.

    python -m benchmarks.submissions [--no-write] [--skip-browser]

(a) store: 200 concurrent `pulse.submit` calls from 32 threads into five rooms of 40 people, all
    marked present (so each pulse takes at most 40), then 225 more into five fresh rooms (45 per
    room of 40) to see the cap hold under contention;
(b) browser: the app's server on a fresh database with one open pulse; 30 participants in
    headless Chromium (one phone-sized context each) open the join link, answer and send;
(c) crash: the same with a new server, `kill -9` once about half the participants have seen
    "Thank you", restart, answer five more, stop, then read the database.

Every answer a participant sends has its own pattern (the option chosen at each question encodes
who sent it), so "every acknowledged response is stored, none twice" is checked pattern by
pattern, not only by count. Latency: (a) the `pulse.submit` call; (b) from the click on "Send my
answers" to "Thank you" on screen. Nothing here asserts a time; the script fails only when an
acknowledged answer is missing, doubled, or a room went over its cap.

The summary is printed and written into benchmarks/RESULTS.md (between its submissions markers).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from program import cohorts, pulse, session_runner
from program.errors import Conflict, PulseFull
from program.library import load_curriculum
from program.models import Actor, Role, StaffUser
from program.settings import get_settings
from program.staff import create_user
from program.store import Store
from scripts.appserver import CHROMIUM, CHROMIUM_ARGS, ROOT, Server

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
START, END = "<!-- bench:submissions:start -->", "<!-- bench:submissions:end -->"
ROOM = 40  # the largest roster a cohort may have; everyone present, so each pulse takes 40
THREADS = 32
PARTICIPANTS = 30
AFTER_RESTART = 5
PHONE = {"width": 390, "height": 844}
WAIT_MS = 90_000  # the machine may be busy; a slow answer is measured, not failed


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def latency_line(seconds: Sequence[float]) -> str:
    ms = [1000 * s for s in seconds]
    if not ms:
        return "no latencies (nothing acknowledged)"
    return (
        f"p50 {percentile(ms, 0.5):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms,"
        f" p99 {percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms"
    )


# --------------------------------------------------------------------------- rooms


@dataclass(frozen=True)
class Room:
    session_id: int
    code: str
    invitation: pulse.Invitation


def prepare(path: Path, rooms: int, present: int = ROOM) -> tuple[Store, list[Room]]:
    """A fresh database with `rooms` cohorts of ROOM, `present` of them marked present at their
    first session, and that session's pulse open."""
    store = Store(path)
    actor = Actor.command_line()
    version, _ = load_curriculum(store, actor, get_settings().curricula / "collective-healing.yaml")
    facilitator = create_user(store, actor, "load-fac", "Load facilitator", Role.FACILITATOR, None)
    program = store.create_program(actor, "Submission load", "", 5)
    store.add_program_facilitator(actor, program.id, facilitator.id)
    today = dt.date.today()
    now = dt.datetime.now()
    made = []
    for n in range(rooms):
        cohort = cohorts.create_cohort(
            store,
            facilitator,
            program.id,
            version.id,
            f"Room {n + 1}",
            start=today,
            weekday=today.weekday(),
            include_orientation=False,
            facilitator_ids=[facilitator.id],
            roster_text="\n".join(f"Member {i:02d}" for i in range(ROOM)),
        )
        session = store.sessions(cohort.id)[0]
        members = store.roster(cohort.id)[:present]
        session_runner.save_sheet(
            store,
            facilitator,
            session.id,
            session_runner.all_present(members),
            set(),
            "",
            False,
            store.session_revision(session.id),
        )
        made.append(_open(store, facilitator, session.id, now))
    return store, made


def _open(store: Store, facilitator: StaffUser, session_id: int, now: dt.datetime) -> Room:
    window = pulse.open_pulse(store, get_settings(), facilitator, session_id, now)
    assert window.room_code is not None
    return Room(session_id, window.room_code, pulse.resolve_code(store, window.room_code, now))


def choices(invitation: pulse.Invitation, who: int) -> list[int]:
    """The option index chosen at each question: `who` written in mixed radix over the
    questions' scales, so that every sender's answers differ from every other's."""
    picked = []
    for instrument, _ in invitation.items:
        size = len(instrument.scale.points)
        picked.append(who % size)
        who //= size
    if who:
        raise ValueError("more senders than distinct answer patterns")
    return picked


def pattern(invitation: pulse.Invitation, who: int) -> tuple[tuple[str, str, int], ...]:
    return tuple(
        sorted(
            (instrument.id, item.id, instrument.scale.points[index])
            for (instrument, item), index in zip(
                invitation.items, choices(invitation, who), strict=True
            )
        )
    )


def raw_answers(invitation: pulse.Invitation, who: int) -> dict[str, object]:
    return {
        pulse.answer_key(instrument, item): instrument.scale.points[index]
        for (instrument, item), index in zip(
            invitation.items, choices(invitation, who), strict=True
        )
    }


def stored_patterns(con: Any, session_id: int) -> tuple[Counter[tuple[Any, ...]], int, int]:
    """Answer patterns stored for a session, the number of responses and of distinct ids."""
    rows = con.execute(
        "SELECT a.response_id, a.instrument_id, a.item_id, a.value FROM answers a"
        " JOIN responses r ON r.id = a.response_id WHERE r.session_id = ?",
        [session_id],
    ).fetchall()
    by_response: dict[Any, list[tuple[str, str, int]]] = {}
    for response_id, instrument, item, value in rows:
        by_response.setdefault(response_id, []).append((instrument, item, value))
    count, distinct = con.execute(
        "SELECT count(*), count(DISTINCT id) FROM responses WHERE session_id = ?", [session_id]
    ).fetchone()
    return Counter(tuple(sorted(v)) for v in by_response.values()), int(count), int(distinct)


def verify(
    con: Any,
    rooms: Sequence[Room],
    acknowledged: dict[int, list[int]],
    cap: int,
    exact: bool = True,
) -> list[str]:
    """Problems found: an acknowledged pattern missing or doubled, a duplicate id, a room over
    its cap. With `exact`, nothing may be stored beyond the acknowledged answers either."""
    problems = []
    for room in rooms:
        stored, count, distinct = stored_patterns(con, room.session_id)
        expected = Counter(pattern(room.invitation, who) for who in acknowledged[room.session_id])
        missing = expected - stored
        extra = stored - expected
        if missing:
            problems.append(f"session {room.session_id}: {sum(missing.values())} acknowledged lost")
        if exact and extra:
            problems.append(f"session {room.session_id}: {sum(extra.values())} stored unasked")
        if any(n > 1 for n in stored.values()):
            problems.append(f"session {room.session_id}: an answer is stored twice")
        if distinct != count:
            problems.append(f"session {room.session_id}: {count - distinct} duplicate ids")
        if count > cap:
            problems.append(f"session {room.session_id}: {count} stored, over its cap of {cap}")
    return problems


def close_rooms(database: Path, rooms: Sequence[Room]) -> None:
    """Close the rooms' pulses, so their answers move from the ballot files into the database
    where `verify` reads them."""
    store = Store(database)
    try:
        for room in rooms:
            store.close_pulse_window(Actor.system(), room.session_id, dt.datetime.now())
    finally:
        store.close()


# --------------------------------------------------------------------------- (a) threads


def store_burst(
    folder: Path, per_room: int, out: list[str], threads: int = THREADS, over_s: float = 0.0
) -> bool:
    """Five rooms of 40 present; `per_room` phones per room submit at once from `threads`
    threads (one thread: one after another, the time a submission takes without contention).
    With `over_s`, each phone instead sends at a random moment within that many seconds, every
    one from a thread of its own, as phones in five rooms would."""
    store, rooms = prepare(folder / f"threads-{per_room}-{threads}-{over_s:g}.duckdb", 5)
    jobs = [(room, who) for who in range(per_room) for room in rooms]  # rooms interleaved
    random.Random(per_room).shuffle(jobs)
    moments = random.Random(7).choices(range(1000), k=len(jobs))
    send_at = {id(job): over_s * m / 1000 for job, m in zip(jobs, moments, strict=True)}
    now = dt.datetime.now()
    began = time.perf_counter()

    def one(job: tuple[Room, int]) -> tuple[Room, int, str, float]:
        room, who = job
        time.sleep(max(0.0, began + send_at[id(job)] - time.perf_counter()))
        started = time.perf_counter()
        try:
            pulse.submit(store, room.invitation, raw_answers(room.invitation, who), now)
            outcome = "stored"
        except PulseFull:
            outcome = "refused: room full"
        except Conflict:
            outcome = "refused: contention (Conflict)"
        return room, who, outcome, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, jobs))
    wall = time.perf_counter() - started
    acknowledged: dict[int, list[int]] = {r.session_id: [] for r in rooms}
    for room, who, outcome, _ in results:
        if outcome == "stored":
            acknowledged[room.session_id].append(who)
    for room in rooms:
        store.close_pulse_window(Actor.system(), room.session_id, dt.datetime.now())
    cur = store.cursor()
    try:
        problems = verify(cur, rooms, acknowledged, ROOM)
        stored = cur.execute("SELECT count(*) FROM responses").fetchone()[0]
    finally:
        cur.close()
        store.close()
    outcomes = Counter(outcome for _, _, outcome, _ in results)
    acked = outcomes["stored"]
    out += [
        f"  {len(jobs)} submissions ({per_room} per room) from {threads} thread(s) in"
        f" {wall:.2f} s ({len(jobs) / wall:.0f}/s)",
        "  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        f"  stored {stored}, acknowledged {acked}: "
        + (
            "every acknowledged answer stored exactly once, nothing else, no room over 40"
            if not problems
            else "PROBLEMS: " + "; ".join(problems)
        ),
        f"  latency of pulse.submit: {latency_line([t for *_, t in results])}",
    ]
    return not problems


# --------------------------------------------------------------------------- browsers


@dataclass
class Participant:
    who: int
    acknowledged: bool = False
    opening: float | None = None  # from opening the join link to the questions on screen
    latency: float | None = None
    error: str | None = None


async def participate(
    browser: Any, url: str, room: Room, person: Participant, acked: asyncio.Event | None = None
) -> None:
    """Open the join link on a phone-sized page, answer every question, send, wait for thanks."""
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        opened = time.perf_counter()
        await page.goto(f"{url}/pulse?code={room.code}")
        questions = page.locator("fieldset")
        await questions.first.wait_for()
        person.opening = time.perf_counter() - opened
        picks = choices(room.invitation, person.who)
        if await questions.count() != len(picks):
            raise AssertionError(
                f"{await questions.count()} questions on the page, {len(picks)} asked"
            )
        # Chosen by value: the page may draw a scale's points in another order (WHO-5 from
        # "All of the time" down), and the pattern is read back by value.
        for (instrument, item), pick in zip(room.invitation.items, picks, strict=True):
            name = pulse.answer_key(instrument, item)
            value = instrument.scale.points[pick]
            await page.locator(f'input[name="{name}"][value="{value}"]').check(force=True)
        started = time.perf_counter()
        await page.get_by_role("button", name="Send my answers").click()
        await page.get_by_role("heading", name="Thank you").wait_for()
        person.latency = time.perf_counter() - started
        person.acknowledged = True
        if acked is not None:
            acked.set()
    except asyncio.CancelledError:
        person.error = "cancelled: the server was killed"
        raise
    except Exception as exc:  # a participant's failure is a finding to report, not a crash
        person.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    finally:
        try:
            await asyncio.shield(context.close())
        except Exception:  # the browser may already have dropped the page
            pass


async def crowd(
    url: str,
    room: Room,
    people: list[Participant],
    kill_after: int | None = None,
    server: Server | None = None,
) -> float | None:
    """Everyone at once, each in a browser context of their own. With `kill_after`, kill -9 the
    server once that many have been thanked; return when that happened (seconds from start)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            acked = asyncio.Event()
            tasks = [
                asyncio.create_task(participate(browser, url, room, person, acked))
                for person in people
            ]
            started = time.perf_counter()
            killed_at = None
            if kill_after is None:
                await asyncio.gather(*tasks)
            else:
                assert server is not None
                while sum(p.acknowledged for p in people) < kill_after:
                    if all(t.done() for t in tasks):
                        break
                    acked.clear()
                    try:
                        await asyncio.wait_for(acked.wait(), timeout=1)
                    except TimeoutError:
                        pass
                server.kill()
                killed_at = time.perf_counter() - started
                # Give answers already on the wire a moment to fail, then stop waiting: the
                # browsers cannot hear back from a dead server.
                await asyncio.sleep(2)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            return killed_at
        finally:
            await browser.close()


def browser_load(folder: Path, out: list[str]) -> bool:
    """(b) 30 participants against a running server."""
    database = folder / "browser.duckdb"
    store, (room,) = prepare(database, 1)
    store.close()
    server = Server(database)
    startup = server.start()
    people = [Participant(who) for who in range(PARTICIPANTS)]
    alone = Participant(PARTICIPANTS)  # first one phone on its own: the same steps uncrowded
    try:
        asyncio.run(crowd(server.url, room, [alone]))
        started = time.perf_counter()
        asyncio.run(crowd(server.url, room, people))
        wall = time.perf_counter() - started
    finally:
        server.stop()
    acknowledged = {room.session_id: [p.who for p in [alone, *people] if p.acknowledged]}
    close_rooms(database, [room])
    con = duckdb.connect(str(database), read_only=True)
    try:
        problems = verify(con, [room], acknowledged, ROOM)
        stored = stored_patterns(con, room.session_id)[1]
    finally:
        con.close()
    failed = [p for p in [alone, *people] if not p.acknowledged]
    out += [
        f"  server ready in {startup:.1f} s; {PARTICIPANTS} participants at once, one Chromium"
        f" context each ({PHONE['width']}×{PHONE['height']}), done in {wall:.1f} s",
        f'  acknowledged ("Thank you" shown) {len(acknowledged[room.session_id])}'
        f" (the {PARTICIPANTS} and the one alone), stored {stored}: "
        + (
            "every acknowledged answer stored exactly once, nothing else"
            if not problems
            else "PROBLEMS: " + "; ".join(problems)
        ),
        f'  latency, click on "Send my answers" to "Thank you": '
        f"{latency_line([p.latency for p in people if p.latency is not None])}",
        "  the same, one phone alone before the crowd: "
        + (f"{1000 * alone.latency:.0f} ms" if alone.latency is not None else str(alone.error)),
        "  opening the join link until the questions show (30 browsers on the same 2 cores as the"
        f" server): {latency_line([p.opening for p in people if p.opening is not None])}",
        *(f"  not acknowledged: participant {p.who}: {p.error}" for p in failed),
    ]
    return not problems and not failed


def crash_test(folder: Path, out: list[str]) -> bool:
    """(c) kill -9 the server while answers arrive; restart; nothing acknowledged may be lost."""
    database = folder / "crash.duckdb"
    store, (room,) = prepare(database, 1)
    store.close()
    server = Server(database)
    server.start()
    people = [Participant(who) for who in range(PARTICIPANTS)]
    try:
        killed_at = asyncio.run(crowd(server.url, room, people, PARTICIPANTS // 2, server))
    finally:
        server.stop()
    before = [p for p in people if p.acknowledged]
    cancelled = [p for p in people if not p.acknowledged]
    restart = server.start()
    later = [Participant(PARTICIPANTS + i) for i in range(AFTER_RESTART)]
    try:
        asyncio.run(crowd(server.url, room, later))
    finally:
        server.stop()
    thanked = before + [p for p in later if p.acknowledged]
    close_rooms(database, [room])
    con = duckdb.connect(str(database), read_only=True)
    try:
        # Answers committed just before the kill may never have reached their browser: stored,
        # not acknowledged. Those are not losses, so the check here is one-sided.
        problems = verify(con, [room], {room.session_id: [p.who for p in thanked]}, ROOM, False)
        stored_by_pattern, stored, _ = stored_patterns(con, room.session_id)
    finally:
        con.close()
    unacknowledged = stored - len(thanked)
    out += [
        f"  {PARTICIPANTS} participants at once; kill -9 after {len(before)} were thanked"
        f" ({killed_at:.1f} s in); {len(cancelled)} still waiting were dropped",
        f"  restart: healthy again in {restart:.1f} s (DuckDB replays its write-ahead log);"
        f" {sum(p.acknowledged for p in later)} of {AFTER_RESTART} more participants thanked",
        f"  after the server stopped: {stored} responses stored; acknowledged {len(thanked)}:"
        + (
            " every one of them is there, exactly once"
            if not problems
            else " PROBLEMS: " + "; ".join(problems)
        ),
        f"  stored but never acknowledged (committed as the server died): {unacknowledged}",
    ]
    del stored_by_pattern
    return not problems


# --------------------------------------------------------------------------- command line


def write_block(start: str, end: str, lines: Sequence[str]) -> None:
    """Put `lines` into RESULTS.md between the markers `start` and `end`, leaving the rest."""
    block = [start, "```", *lines, "```", end]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if start not in text or end not in text:
        text += f"\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    RESULTS.write_text(head + "\n".join(block) + tail, encoding="utf-8")


def write_results(lines: Sequence[str]) -> None:
    write_block(START, END, lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--skip-browser", action="store_true", help="only (a), the store")
    args = parser.parse_args(argv)
    os.environ.pop("PROGRAM_DEMO", None)
    os.environ["PROGRAM_CURRICULA"] = str(ROOT / "curricula")
    get_settings.cache_clear()
    out = [
        f"benchmarks/submissions.py, {dt.datetime.now():%Y-%m-%d %H:%M},"
        f" load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)",
    ]
    ok = True
    with tempfile.TemporaryDirectory(prefix="submissions-") as tmp:
        folder = Path(tmp)
        for label, run in [
            (
                "(a) store, the same 200 one after another (no contention), for comparison",
                lambda: store_burst(folder, 40, out, threads=1),
            ),
            (
                "(a) store, 200 at once into five rooms of 40 present",
                lambda: store_burst(folder, 40, out),
            ),
            ("(a) store, over the cap: 45 per room of 40", lambda: store_burst(folder, 45, out)),
            (
                "(a) store, 200 phones in five rooms each sending within the same 10 seconds",
                lambda: store_burst(folder, 40, out, threads=200, over_s=10.0),
            ),
            *(
                []
                if args.skip_browser
                else [
                    ("(b) browsers against a running server", lambda: browser_load(folder, out)),
                    ("(c) kill -9 mid-load, restart", lambda: crash_test(folder, out)),
                ]
            ),
        ]:
            out.append(label)
            print(label, file=sys.stderr, flush=True)
            ok = run() and ok
    out.append("RESULT: " + ("ok" if ok else "PROBLEMS, see above"))
    print("\n".join(out))
    if not args.no_write:
        write_results(out)
        print(f"Written to {RESULTS.relative_to(ROOT)}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
