"""Several app processes on one PostgreSQL database behind nginx, started by one command: the
recipe of docs/deploy.md, run on one machine from Debian's packages.

    python -m scripts.replicas start FOLDER [--replicas 2] [--port 8080] [--database URL] [--demo]
    python -m scripts.replicas stop FOLDER

`start` makes (or reuses) everything in FOLDER: a PostgreSQL server (unless --database names
one), the schema, the demo program if asked, N app processes on free loopback ports, and nginx
on --port in front of them, keeping each browser on one process. It prints the address and
returns once every part answers. `stop` stops all of it. Logs are in FOLDER.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from scripts import postgres_cluster

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
STARTUP_TIMEOUT = 120.0
# The cookie nginx keeps each browser on one app process with. Streamlit holds a page's state
# in the process its websocket reached, and uploads and media go to that process too.
ROUTE_COOKIE = "program_replica"

NGINX_CONF = """\
{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}

http {{
    # No access log: it would record when each participant's phone sent its answers, and from
    # which address.
    access_log off;
    client_body_temp_path {folder}/nginx-temp/body;
    proxy_temp_path {folder}/nginx-temp/proxy;
    fastcgi_temp_path {folder}/nginx-temp/fastcgi;
    uwsgi_temp_path {folder}/nginx-temp/uwsgi;
    scgi_temp_path {folder}/nginx-temp/scgi;

    # A browser without the cookie yet gets a random key (this request's id); with it, its own.
    map $cookie_{cookie} $replica_key {{
        ""      $request_id;
        default $cookie_{cookie};
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      close;
    }}

    upstream program {{
        hash $replica_key consistent;
{servers}
    }}

    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://program;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            # A pulse page stays open for a whole session: keep its websocket.
            proxy_read_timeout 1d;
            proxy_send_timeout 1d;
            proxy_buffering off;
            add_header Set-Cookie "{cookie}=$replica_key; Path=/; HttpOnly; SameSite=Lax" always;
        }}
    }}
}}
"""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait(url: str, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    started = time.monotonic()
    while not _answers(url):
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}; see its log.")
        if time.monotonic() - started > STARTUP_TIMEOUT:
            raise SystemExit(f"{what} did not answer at {url} within {STARTUP_TIMEOUT:.0f} s.")
        time.sleep(0.3)


def _program(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "program", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"python -m program {' '.join(args)} failed:\n{done.stderr}")


def start(folder: Path, replicas: int, port: int, database: str | None, demo: bool) -> str:
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    url = database or postgres_cluster.start(folder / "postgres")
    secret_file = folder / "session-secret"
    if not secret_file.exists():
        secret_file.write_text(
            os.environ.get("PROGRAM_SESSION_SECRET") or secrets.token_urlsafe(32)
        )
        secret_file.chmod(0o600)
    address = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PROGRAM_DATABASE": url,
        "PROGRAM_SESSION_SECRET": secret_file.read_text().strip(),
        "PROGRAM_BASE_URL": address,
    }
    env.pop("PROGRAM_DEMO", None)
    # Once, before any replica starts: the schema, and the demo if asked for.
    _program(env, "init")
    if demo:
        _program(env, "seed-demo")
    ports = []
    for n in range(replicas):
        replica_port = postgres_cluster.free_port()
        ports.append(replica_port)
        with (folder / f"replica-{n}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py"]
                + ["--server.address", "127.0.0.1", "--server.port", str(replica_port)]
                + ["--server.headless", "true"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (folder / f"replica-{n}.pid").write_text(str(process.pid))
        _wait(f"http://127.0.0.1:{replica_port}/health", f"replica {n}", process)
    (folder / "nginx-temp").mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user="user root;\n" if os.geteuid() == 0 else "",
            folder=folder,
            cookie=ROUTE_COOKIE,
            port=port,
            servers="\n".join(f"        server 127.0.0.1:{p};" for p in ports),
        )
    )
    subprocess.run([NGINX, "-p", str(folder), "-c", str(conf)], check=True)
    _wait(f"{address}/health", "nginx")
    (folder / "address").write_text(address)
    return address


def stop(folder: Path) -> None:
    folder = folder.resolve()
    if (folder / "nginx.pid").exists():
        subprocess.run([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-s", "stop"])
    for pid_file in folder.glob("replica-*.pid"):
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
        pid_file.unlink()
    postgres_cluster.stop(folder / "postgres")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    begin = sub.add_parser("start", help="start PostgreSQL, the app processes and nginx")
    begin.add_argument("folder", type=Path)
    begin.add_argument("--replicas", type=int, default=2)
    begin.add_argument("--port", type=int, default=8080)
    begin.add_argument("--database", help="a PostgreSQL URL to use instead of starting a server")
    begin.add_argument("--demo", action="store_true", help="seed the demo program first")
    end = sub.add_parser("stop", help="stop everything started in FOLDER")
    end.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "start":
        print(start(args.folder, args.replicas, args.port, args.database, args.demo))
    else:
        stop(args.folder)


if __name__ == "__main__":
    main()
