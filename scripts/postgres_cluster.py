"""A throwaway PostgreSQL server in a folder, from Debian's packages: for the tests, the benchmarks
and the several-replica recipe in docs/deploy.md.

    python -m scripts.postgres_cluster start FOLDER [--port N]   # prints the database's URL
    python -m scripts.postgres_cluster stop FOLDER

The server listens on loopback only, on a free port, and trusts whoever connects there: it holds
test data. Durability is switched off (fsync, synchronous commit, full-page writes), which makes
it several times faster and is fine for a server whose folder is deleted afterwards. It is never
the way to run a real program's database (docs/deploy.md says how).

PostgreSQL refuses to run as root; when started by root (as CI is), the server runs as the
`postgres` user Debian's package creates, and owns its folder.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "program"
DATABASE = "program"
# Durability off: a throwaway server for tests. Statement and parameter logging stay at their
# defaults, which log no answers; the app refuses to start on a server that would.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "256MB",
}


def binary(name: str) -> str:
    """A PostgreSQL program: on the PATH, or where Debian installs the newest version."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise SystemExit(
            f"PostgreSQL's {name} was not found. Install Debian's package: apt-get install postgresql"
        )
    return str(versions[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _own(folder: Path) -> None:
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, owner.pw_uid, owner.pw_gid)


def _reachable_by_postgres(folder: Path) -> bool:
    """Whether the `postgres` user can get to `folder` (every folder above it lets others in)."""
    return all(os.stat(p).st_mode & 0o001 for p in [folder, *folder.parents])


def _home(folder: Path) -> Path:
    """Where the server keeps its files: `folder` itself, or, when root starts it inside a folder
    the `postgres` user cannot reach (pytest's temporary folders), a folder of its own in the
    temporary folder, named in `folder`/home so `stop` finds it."""
    named = folder / "home"
    if named.exists():
        return Path(named.read_text())
    if os.geteuid() != 0 or _reachable_by_postgres(folder):
        return folder
    shared = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    home = Path(tempfile.mkdtemp(prefix="program-postgres-", dir=shared))
    named.write_text(str(home))
    return home


def url(port: int) -> str:
    return f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"


def start(folder: Path, port: int | None = None) -> str:
    """Create (once) and start a server in `folder`; its database's URL."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    home = _home(folder)
    data = home / "data"
    home.chmod(0o755)
    _own(home)
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_owner(
                [binary("initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8"]
                + ["--no-instructions"]
            ),
            stdout=subprocess.DEVNULL,
            check=True,
        )
    port = port or free_port()
    options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
    options += f" -p {port} -k {home}"
    subprocess.run(
        _as_owner(
            [binary("pg_ctl"), "-D", str(data), "-l", str(home / "server.log"), "-w"]
            + ["-o", options, "start"]
        ),
        stdout=subprocess.DEVNULL,
        check=True,
    )
    (folder / "port").write_text(str(port))
    created = subprocess.run(
        [binary("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, "-d", "postgres"]
        + ["-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
        capture_output=True,
        text=True,
        check=True,
    )
    if not created.stdout.strip():
        subprocess.run(
            [binary("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE],
            check=True,
        )
    return url(port)


def stop(folder: Path) -> None:
    """Stop the server in `folder` at once; its data is thrown away if it lived elsewhere."""
    folder = folder.resolve()
    home = _home(folder) if folder.exists() else folder
    data = home / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_owner([binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            check=False,
        )
    if home != folder:  # a folder of its own, made by `start`: nothing else is in it
        shutil.rmtree(home, ignore_errors=True)
        (folder / "home").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    begin = sub.add_parser("start", help="start a server in FOLDER and print its URL")
    begin.add_argument("folder", type=Path)
    begin.add_argument("--port", type=int)
    end = sub.add_parser("stop", help="stop the server in FOLDER")
    end.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "start":
        print(start(args.folder, args.port))
    else:
        stop(args.folder)


if __name__ == "__main__":
    main()
