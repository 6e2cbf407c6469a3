"""The app as a real server over a database of its own, for browser tests, screenshots and load runs.

One place for what all of them need: a free port, `streamlit run app.py` with the PROGRAM_*
settings pointing at one database file, waiting until the server answers, and stopping it gently
or with kill -9 (as a power cut would). Also the Chromium the browser work drives: Debian's, since
Playwright cannot download its own browsers on these machines.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT = 90.0  # seconds; the machine may be busy with other tests


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    """Whether a Streamlit server answers its health check at `url`."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def program_env(database: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a server (or `python -m program`) over `database`: never demo mode, a
    session secret of its own, the bundled curricula."""
    env = {
        **os.environ,
        "PROGRAM_DATABASE": str(database),
        "PROGRAM_SESSION_SECRET": "local-server-" + secrets.token_urlsafe(16),
        "PROGRAM_CURRICULA": str(ROOT / "curricula"),
        **(extra or {}),
    }
    env.pop("PROGRAM_DEMO", None)
    return env


def run_program(
    database: Path, *args: str, extra_env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m program ARGS` over `database`."""
    return subprocess.run(
        [sys.executable, "-m", "program", *args],
        cwd=ROOT,
        env=program_env(database, extra_env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def seed_demo(database: Path) -> None:
    """Fill `database` with the demo program and demo accounts, or fail with the reason."""
    seeded = run_program(database, "seed-demo")
    if seeded.returncode != 0:
        raise RuntimeError(f"seed-demo failed:\n{seeded.stderr}")


@dataclass
class Server:
    """`streamlit run app.py` over one database file; it can be stopped, killed and started again
    on the same port."""

    database: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: Sequence[str] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    root: Path = ROOT  # the checkout whose app.py runs (a benchmark may run an older one)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.database.with_suffix(".server.log")

    def start(self, timeout: float = STARTUP_TIMEOUT) -> float:
        """Start and wait until the server answers; return how many seconds that took."""
        started = time.perf_counter()
        env = program_env(self.database, {"PROGRAM_BASE_URL": self.url, **self.extra_env})
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    "app.py",
                    "--server.port",
                    str(self.port),
                    "--server.address",
                    "127.0.0.1",
                    "--server.headless",
                    "true",
                    *self.extra_args,
                ],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while not healthy(self.url):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"The server exited with {self.process.returncode}:\n"
                    + self.log.read_text(errors="replace")[-5000:]
                )
            if time.perf_counter() - started > timeout:
                raise RuntimeError(
                    f"The server did not answer within {timeout:.0f} s:\n"
                    + self.log.read_text(errors="replace")[-5000:]
                )
            time.sleep(0.2)
        return time.perf_counter() - started

    def kill(self) -> None:
        """kill -9: no shutdown code runs, as when the machine loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start `server`, and stop it however the block ends."""
    try:
        server.start()
        yield server
    finally:
        server.stop()
