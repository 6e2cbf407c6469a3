"""The participant's pulse page: its weight, its first question on a slow phone, and a crowd.

    python -m benchmarks.pulse_page [--participants 2000] [--rooms 100] [--old 200]
                                    [--skip-old] [--no-write]

For the page as it is now, and (unless --skip-old) for the Streamlit page it replaced, run from
an older checkout of this repository in a temporary git worktree, side by side in one run:

1. weight: one phone-sized Chromium context opens the join link; every request and the bytes on
   the wire (as Chromium counts them, compressed where the server compressed) until the first
   question is on screen;
2. slow 3G: the same under WebPageTest's "3G Slow" profile (400 ms round trip, 400 kbit/s each
   way), emulated by Chromium: seconds from opening the link to the first question on screen;
3. a crowd: the current page gets `--participants` people in `--rooms` rooms (everyone present),
   each loading the page and answering within 60 s, as plain HTTP clients (the page needs no
   script); the old page gets `--old` people as Chromium contexts (it cannot work without its
   websocket), at most 12 at a time. Page time is the GET (new) or link-to-first-question (old);
   submit time is the POST (new) or click-to-"Thank you" (old).

Afterwards every room is closed and the database is read: every acknowledged answer must be
stored exactly once, nothing else, and no room over its cap; the server's peak memory (VmHWM) is
read from /proc. One line per run is printed:

    page_kb=… requests=… slow3g_first_question_s=… p95_submit_ms=… participants=…

Nothing here asserts a time; the script fails only if an answer is lost, doubled or over a cap.
The summary goes into benchmarks/RESULTS.md between its pulse-page markers.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.submissions import latency_line, percentile, write_block
from scripts.appserver import CHROMIUM, CHROMIUM_ARGS, ROOT, Server

START, END = "<!-- bench:pulse-page:start -->", "<!-- bench:pulse-page:end -->"
PHONE = {"width": 390, "height": 844}
# WebPageTest's "3G Slow" profile: 400 ms round trip, 400 kbit/s each way. (Chromium's own "Slow 3G"
# preset adds 2 s to every request, so no page, however small, shows anything under 2 s there.)
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
}
WINDOW_S = 60.0
WAIT_MS = 180_000

# Rooms are made by the checkout under test, with its own code, so an old checkout's server
# reads a database its own migrations made. Prints the room codes as JSON.
_PREPARE = """
import json, sys
from pathlib import Path
from benchmarks.submissions import prepare
store, rooms = prepare(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
print(json.dumps([[r.session_id, r.code] for r in rooms]))
store.close()
"""

_CLOSE = """
import datetime as dt, sys
from program.models import Actor
from program.store import Store
store = Store(sys.argv[1])
for sid in sys.argv[2:]:
    store.close_pulse_window(Actor.system(), int(sid), dt.datetime.now())
store.close()
"""


@dataclass
class Room:
    session_id: int
    code: str
    present: int


@dataclass
class Person:
    room: Room
    answers: dict[str, str] = field(default_factory=dict)
    page_s: float | None = None
    submit_s: float | None = None
    acknowledged: bool = False
    error: str | None = None


def _python(root: Path, script: str, *args: str) -> str:
    env = {**os.environ, "PROGRAM_CURRICULA": str(root / "curricula")}
    env.pop("PROGRAM_DEMO", None)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return done.stdout


def prepare(root: Path, database: Path, rooms: int, present: int) -> list[Room]:
    made = json.loads(_python(root, _PREPARE, str(database), str(rooms), str(present)))
    return [Room(int(sid), str(code), present) for sid, code in made]


def close_rooms(root: Path, database: Path, rooms: Sequence[Room]) -> None:
    _python(root, _CLOSE, str(database), *(str(r.session_id) for r in rooms))


def peak_memory_mb(server: Server) -> float:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------- checking


def stored_answer_sets(database: Path, rooms: Sequence[Room]) -> dict[int, Counter[Any]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        out: dict[int, Counter[Any]] = {}
        for room in rooms:
            rows = con.execute(
                "SELECT a.response_id, a.instrument_id || '/' || a.item_id, a.value FROM answers a"
                " JOIN responses r ON r.id = a.response_id WHERE r.session_id = ?",
                [room.session_id],
            ).fetchall()
            per: dict[Any, list[tuple[str, int]]] = {}
            for rid, key, value in rows:
                per.setdefault(rid, []).append((key, int(value)))
            out[room.session_id] = Counter(tuple(sorted(v)) for v in per.values())
        return out
    finally:
        con.close()


def problems_with(database: Path, people: Sequence[Person], rooms: Sequence[Room]) -> list[str]:
    stored = stored_answer_sets(database, rooms)
    problems = []
    for room in rooms:
        expected: Counter[Any] = Counter(
            tuple(sorted((k, int(v)) for k, v in p.answers.items() if v.lstrip("-").isdigit()))
            for p in people
            if p.room is room and p.acknowledged
        )
        expected = Counter({k: n for k, n in expected.items() if k})  # all skipped: nothing kept
        got = stored[room.session_id]
        if expected - got:
            problems.append(f"room {room.session_id}: {sum((expected - got).values())} lost")
        if got - expected:
            problems.append(f"room {room.session_id}: {sum((got - expected).values())} unasked")
        if sum(got.values()) > room.present:
            problems.append(f"room {room.session_id}: over its cap")
    return problems


# --------------------------------------------------------------------------- the page in Chromium


async def weigh(
    browser: Any, url: str, first_question: str, throttle: bool
) -> tuple[int, int, float]:
    """(requests, bytes on the wire, seconds to the first question) for one phone opening `url`."""
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        if throttle:
            await cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        requests: list[str] = []
        wire: list[int] = []
        cdp.on("Network.requestWillBeSent", lambda e: requests.append(e["request"]["url"]))
        cdp.on("Network.webSocketCreated", lambda e: requests.append(e["url"]))
        cdp.on("Network.loadingFinished", lambda e: wire.append(int(e["encodedDataLength"])))
        started = time.perf_counter()
        await page.goto(url, wait_until="commit", timeout=WAIT_MS)
        await page.wait_for_selector(first_question, state="visible", timeout=WAIT_MS)
        seconds = time.perf_counter() - started
        await page.wait_for_timeout(500)  # what the page still fetches once it shows
        return len(requests), sum(wire), seconds
    finally:
        await context.close()


# --------------------------------------------------------------------------- the new page over HTTP


class _Form(HTMLParser):
    """The answer form of the page: its hidden fields and each question's choices."""

    def __init__(self) -> None:
        super().__init__()
        self.in_post_form = False
        self.hidden: dict[str, str] = {}
        self.choices: dict[str, list[str]] = {}
        self.action = "/pulse"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.in_post_form = True
            self.action = a.get("action") or "/pulse"
        elif tag == "input" and self.in_post_form:
            if a.get("type") == "hidden":
                self.hidden[a["name"]] = a.get("value", "")
            elif a.get("type") == "radio":
                self.choices.setdefault(a["name"], []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_post_form = False


async def answer_over_http(client: Any, url: str, person: Person, rng: random.Random) -> None:
    try:
        started = time.perf_counter()
        page = await client.get(f"{url}/pulse", params={"code": person.room.code})
        person.page_s = time.perf_counter() - started
        page.raise_for_status()
        form = _Form()
        form.feed(page.text)
        if not form.choices:
            raise AssertionError("no questions on the page")
        await asyncio.sleep(rng.uniform(3.0, 12.0))  # reading and tapping
        person.answers = {
            name: rng.choice([v for v in values if v.lstrip("-").isdigit()] or values)
            for name, values in form.choices.items()
        }
        started = time.perf_counter()
        sent = await client.post(f"{url}{form.action}", data={**form.hidden, **person.answers})
        person.submit_s = time.perf_counter() - started
        sent.raise_for_status()
        person.acknowledged = "Thank you" in sent.text
        if not person.acknowledged:
            person.error = "no thank-you"
    except Exception as exc:  # a participant's failure is a finding to report
        status = getattr(getattr(exc, "response", None), "status_code", None)
        person.error = f"HTTP {status}" if status else f"{type(exc).__name__}: {str(exc)[:80]}"


async def http_crowd(url: str, people: list[Person], seed: int) -> None:
    import httpx

    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one(person: Person, delay: float) -> None:
            await asyncio.sleep(delay)
            await answer_over_http(client, url, person, random.Random(rng.random()))

        await asyncio.gather(*(one(p, rng.uniform(0, WINDOW_S - 15)) for p in people))


# --------------------------------------------------------------------------- the old page in Chromium


async def answer_in_old_page(browser: Any, url: str, person: Person, rng: random.Random) -> None:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        started = time.perf_counter()
        await page.goto(f"{url}/pulse?code={person.room.code}")
        groups = page.get_by_test_id("stForm").get_by_role("radiogroup")
        await groups.first.wait_for()
        person.page_s = time.perf_counter() - started
        for index in range(await groups.count()):
            radios = groups.nth(index).get_by_role("radio")
            pick = rng.randrange(await radios.count())
            await radios.nth(pick).check(force=True)
            label = await radios.nth(pick).get_attribute("aria-label") or str(pick)
            person.answers[f"q{index}"] = label
        started = time.perf_counter()
        await page.get_by_role("button", name="Send my answers").click()
        await page.get_by_role("heading", name="Thank you").wait_for()
        person.submit_s = time.perf_counter() - started
        person.acknowledged = True
    except Exception as exc:
        person.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    finally:
        try:
            await context.close()
        except Exception:
            pass


async def browser_crowd(browser: Any, url: str, people: list[Person], seed: int) -> None:
    rng = random.Random(seed)
    gate = asyncio.Semaphore(12)

    async def one(person: Person, delay: float) -> None:
        await asyncio.sleep(delay)
        async with gate:
            await answer_in_old_page(browser, url, person, random.Random(rng.random()))

    await asyncio.gather(*(one(p, rng.uniform(0, WINDOW_S - 15)) for p in people))


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    label: str
    requests: int
    wire_bytes: int
    first_question_s: float
    slow3g_s: float
    people: list[Person]
    wall_s: float
    peak_mb: float
    problems: list[str]

    def line(self) -> str:
        submits = [p.submit_s for p in self.people if p.submit_s is not None]
        p95 = percentile(submits, 0.95) * 1000 if submits else float("nan")
        return (
            f"page_kb={self.wire_bytes / 1024:.1f} requests={self.requests}"
            f" slow3g_first_question_s={self.slow3g_s:.1f} p95_submit_ms={p95:.0f}"
            f" participants={len(self.people)}"
        )

    def report(self) -> list[str]:
        pages = [p.page_s for p in self.people if p.page_s is not None]
        submits = [p.submit_s for p in self.people if p.submit_s is not None]
        errors = Counter(p.error for p in self.people if p.error)
        acknowledged = sum(p.acknowledged for p in self.people)
        return [
            f"{self.label}",
            f"  {self.line()}",
            f"  one phone alone: {self.requests} requests, {self.wire_bytes / 1024:.1f} kB on the"
            f" wire, first question after {self.first_question_s:.2f} s"
            f" ({self.slow3g_s:.1f} s on slow 3G)",
            f"  crowd: {len(self.people)} participants in {self.wall_s:.0f} s;"
            f" acknowledged {acknowledged}; errors {sum(errors.values())}"
            + (f" ({dict(errors.most_common(3))})" if errors else ""),
            f"  page time: {latency_line(pages) if pages else 'n/a'}",
            f"  submit time: {latency_line(submits) if submits else 'n/a'}",
            f"  server peak memory (VmHWM) {self.peak_mb:.0f} MB; stored: "
            + (
                "every acknowledged answer exactly once, nothing else, no room over its cap"
                if not self.problems
                else "PROBLEMS: " + "; ".join(self.problems)
            ),
        ]


async def measure(
    label: str, root: Path, folder: Path, rooms: int, participants: int, old: bool, seed: int
) -> Run:
    from playwright.async_api import async_playwright

    database = folder / f"{'old' if old else 'new'}.duckdb"
    per_room = -(-participants // rooms)
    made = prepare(root, database, rooms, per_room)
    server = Server(database, root=root)
    server.start()
    first = "[data-testid=stForm] [role=radiogroup]" if old else "input[type=radio]"
    people = [Person(made[i % rooms]) for i in range(participants)]
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                link = f"{server.url}/pulse?code={made[0].code}"
                requests, wire, first_s = await weigh(browser, link, first, throttle=False)
                _, _, slow_s = await weigh(browser, link, first, throttle=True)
                started = time.perf_counter()
                if old:
                    await browser_crowd(browser, server.url, people, seed)
                else:
                    await http_crowd(server.url, people, seed)
                wall = time.perf_counter() - started
            finally:
                await browser.close()
        peak = peak_memory_mb(server)
    finally:
        server.stop()
    close_rooms(root, database, made)
    # The old page's answers are read as labels, not values; it is checked by count only.
    problems = [] if old else problems_with(database, people, made)
    failed = sum(p.error is not None for p in people)
    if failed:
        problems.append(f"{failed} participants met an error")
    if old:
        stored = stored_answer_sets(database, made)
        acknowledged = sum(p.acknowledged for p in people)
        kept = sum(sum(c.values()) for c in stored.values())
        if kept < acknowledged:
            problems.append(f"{acknowledged - kept} acknowledged answers missing")
    return Run(label, requests, wire, first_s, slow_s, people, wall, peak, problems)


def old_checkout(folder: Path) -> Path | None:
    """A worktree of the last commit that still had the Streamlit participant page."""
    last = subprocess.run(
        ["git", "rev-list", "-1", "HEAD", "--", "pages/pulse.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not last:
        return None
    rev = last if (ROOT / "pages" / "pulse.py").exists() else f"{last}^"
    tree = folder / "old-checkout"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), rev],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return tree


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--old", type=int, default=200, help="participants on the old page")
    parser.add_argument("--skip-old", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    out = [
        f"benchmarks/pulse_page.py, {dt.datetime.now():%Y-%m-%d %H:%M},"
        f" load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)",
    ]
    ok = True
    with tempfile.TemporaryDirectory(prefix="pulse-page-") as tmp:
        folder = Path(tmp)
        runs = [("the plain HTML page (now)", ROOT, args.participants, args.rooms, False)]
        tree = None if args.skip_old else old_checkout(folder)
        if tree is not None:
            runs.append(("the Streamlit page it replaced", tree, args.old, 10, True))
        try:
            for label, root, participants, rooms, old in runs:
                run = asyncio.run(measure(label, root, folder, rooms, participants, old, args.seed))
                out += run.report()
                print("\n".join(run.report()), flush=True)
                ok = ok and not run.problems
        finally:
            if tree is not None:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tree)],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
    out.append("RESULT: " + ("ok" if ok else "PROBLEMS (see above)"))
    print(out[-1])
    if not args.no_write:
        write_block(START, END, out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
