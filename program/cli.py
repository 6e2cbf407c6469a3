"""`python -m program …`: admin tasks from the command line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from program.curriculum import bundled_files, json_schemas, validate_files
from program.demo import DEMO_PASSWORD, is_seeded, seed_demo
from program.errors import CurriculumError, ProgramError
from program.generate import generate
from program.library import load_curriculum
from program.models import Actor, Role
from program.settings import get_settings
from program.staff import create_user
from program.store import Store

PASSWORD_ENV = "PROGRAM_NEW_PASSWORD"


def _store() -> Store:
    return Store(get_settings().database)


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.files] or bundled_files(get_settings().curricula)
    missing = [p for p in paths if not p.is_file()]
    for p in missing:
        print(f"{p}: file not found", file=sys.stderr)
    problems = validate_files(p for p in paths if p.is_file())
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems or missing:
        return 1
    print(f"{len(paths)} file(s) valid.")
    return 0


def cmd_write_schemas(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in json_schemas().items():
        (folder / name).write_text(text, encoding="utf-8")
        print(f"Wrote {folder / name}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    def progress(done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        print(f"\rGenerating [{bar}] {done}/{total} cohorts", end="", file=sys.stderr, flush=True)

    store = _store()
    try:
        result = generate(store, get_settings(), args.cohorts, args.seed, progress=progress)
    finally:
        store.close()
    print(file=sys.stderr)
    print(
        f"Program {result.program_id}: {result.cohorts} cohorts, {result.responses} responses,"
        f" {result.answers} answers."
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    store = _store()
    print(f"Database ready at {store.path} ({', '.join(store.applied_migrations())}).")
    store.close()
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    password = os.environ.get(PASSWORD_ENV)
    if password is None and not args.sso_only:
        password = getpass.getpass("Password (10 characters or more): ")
        if password != getpass.getpass("Again: "):
            print("The two passwords differ; nothing was created.", file=sys.stderr)
            return 1
    store = _store()
    try:
        user = create_user(
            store,
            Actor.command_line(),
            args.username,
            args.display_name or args.username,
            Role(args.role),
            None if args.sso_only else password,
            args.email,
        )
    finally:
        store.close()
    print(f"Created {user.role.value} {user.username!r}.")
    return 0


def cmd_load_curriculum(args: argparse.Namespace) -> int:
    store = _store()
    try:
        for name in args.files:
            version, created = load_curriculum(store, Actor.command_line(), Path(name))
            state = "stored as a new version" if created else "already stored; unchanged"
            print(
                f"{name}: {version.curriculum_id} {version.version} ({version.content_hash[:12]}) {state}."
            )
    finally:
        store.close()
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    store = _store()
    try:
        if is_seeded(store):
            print("The database already has staff accounts; the demo was not added.")
            return 0
        accounts = seed_demo(store, get_settings().curricula)
    finally:
        store.close()
    print_demo_accounts([(a.username, a.role.value) for a in accounts])
    return 0


def print_demo_accounts(accounts: Sequence[tuple[str, str]]) -> None:
    print(f"Demo accounts (password for each: {DEMO_PASSWORD}):")
    for username, role in accounts:
        print(f"  {username:<8} {role}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m program", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check curriculum and instrument files")
    p.add_argument("files", nargs="*", help="files to check (default: every bundled file)")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("write-schemas", help="write the JSON Schemas of the file formats")
    p.add_argument("--folder", default="schemas")
    p.set_defaults(run=cmd_write_schemas)

    p = sub.add_parser("generate", help="add a synthetic program for benchmarks")
    p.add_argument("--cohorts", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=cmd_generate)

    p = sub.add_parser("init", help="create or migrate the database")
    p.set_defaults(run=cmd_init)

    p = sub.add_parser(
        "create-user",
        help="create a staff account",
        description=f"The password is asked for, or read from ${PASSWORD_ENV}.",
    )
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--display-name")
    p.add_argument("--email", help="maps a single-sign-on identity to this account")
    p.add_argument("--sso-only", action="store_true", help="no password; sign in with SSO only")
    p.set_defaults(run=cmd_create_user)

    p = sub.add_parser("load-curriculum", help="validate and store curriculum files")
    p.add_argument("files", nargs="+")
    p.set_defaults(run=cmd_load_curriculum)

    p = sub.add_parser(
        "seed-demo", help="add demo accounts and a demo program to an empty database"
    )
    p.set_defaults(run=cmd_seed_demo)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CurriculumError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except ProgramError as exc:
        print(f"{exc.title}: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # the settings, read from PROGRAM_* variables
        for error in exc.errors():
            print(str(error["msg"]).removeprefix("Value error, "), file=sys.stderr)
        return 1
