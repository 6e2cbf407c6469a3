"""`python -m program …` through program.cli.main: exit codes, messages, and what reaches the database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from program.cli import PASSWORD_ENV, main
from program.demo import DEMO_ACCOUNTS
from program.models import Role
from program.settings import get_settings
from program.staff import password_matches
from program.store import Store

ROOT = Path(__file__).resolve().parents[1]
CURRICULA = ROOT / "curricula"
INSTRUMENTS = CURRICULA / "instruments"
DEMO_CURRICULUM = CURRICULA / "collective-healing.yaml"
PASSWORD = "correct horse battery"

TINY_CURRICULUM = """\
id: tiny
title: A tiny test curriculum
version: "1"
summary: Two weekly sessions.
audience: Whoever runs the tests.
session_minutes: 60
sessions:
  - number: 1
    title: First
    theme: Starting
    intentions: [Meet each other]
    agenda:
      - title: Arrive
        kind: arrival
        minutes: 10
        notes: Welcome everyone.
    home_practice: Rest.
    safety_notes: Nothing special.
  - number: 2
    title: Second
    theme: Ending
    intentions: [Say goodbye]
    agenda:
      - title: Pulse
        kind: pulse
        minutes: 5
        notes: Hand out the cards.
    home_practice: Rest.
    safety_notes: Nothing special.
pulses:
  - instrument: who5
    at: [first, last]
completion:
  min_sessions_attended: 1
"""

# The same with `session_minutes` given as a word instead of a number.
BAD_CURRICULUM = TINY_CURRICULUM.replace("session_minutes: 60", "session_minutes: sixty")
BAD_LINE = BAD_CURRICULUM.splitlines().index("session_minutes: sixty") + 1


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A curricula folder with the tiny curriculum, a broken one and the who5 instrument."""
    folder = tmp_path / "curricula"
    (folder / "instruments").mkdir(parents=True)
    shutil.copy(INSTRUMENTS / "who5.yaml", folder / "instruments" / "who5.yaml")
    (folder / "tiny.yaml").write_text(TINY_CURRICULUM, encoding="utf-8")
    (folder / "bad.yaml").write_text(BAD_CURRICULUM, encoding="utf-8")
    return folder


def counts(path: Path) -> dict[str, int]:
    """Row counts of every table, read with a Store that is closed again at once."""
    store = Store(path)
    try:
        cur = store.cursor()
        try:
            names = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
            out = {}
            for name in names:
                assert name.isidentifier()  # catalog names, not input
                out[name] = cur.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # type: ignore[index]
            return out
        finally:
            cur.close()
    finally:
        store.close()


# --------------------------------------------------------------------------- validate


def test_validate_accepts_good_files(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [library / "tiny.yaml", *sorted(INSTRUMENTS.glob("*.yaml"))]
    assert main(["validate", *map(str, files)]) == 0
    out = capsys.readouterr()
    assert f"{len(files)} file(s) valid" in out.out
    assert out.err == ""


def test_validate_without_arguments_checks_every_bundled_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate"]) == 0, capsys.readouterr().err
    bundled = len(list(CURRICULA.glob("*.yaml"))) + len(list(INSTRUMENTS.glob("*.yaml")))
    assert f"{bundled} file(s) valid" in capsys.readouterr().out


def test_validate_names_the_file_and_line_of_a_problem(
    library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(library / "tiny.yaml"), str(library / "bad.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"bad.yaml, line {BAD_LINE}" in err
    assert "session_minutes" in err
    assert "whole number" in err
    assert "tiny.yaml" not in err  # the good file is not reported
    assert "Traceback" not in err


def test_validate_reports_a_yaml_syntax_error_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\ntitle: [unclosed\nversion: '1'\n", encoding="utf-8")
    assert main(["validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "broken.yaml, line" in err
    assert "YAML" in err


def test_validate_a_missing_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.yaml"
    assert main(["validate", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "nowhere.yaml" in err
    assert "not found" in err


# --------------------------------------------------------------------------- init


def test_init_creates_and_migrates_the_database(
    settings_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not settings_env.exists()
    assert main(["init"]) == 0
    assert settings_env.exists()
    assert "0001_initial" in capsys.readouterr().out
    store = Store(settings_env)
    try:
        assert "0001_initial" in store.applied_migrations()
    finally:
        store.close()


def test_init_twice_changes_nothing(settings_env: Path) -> None:
    assert main(["init"]) == 0
    before = counts(settings_env)
    assert main(["init"]) == 0
    assert counts(settings_env) == before


# --------------------------------------------------------------------------- create-user


def test_create_user_creates_an_account_with_the_password_from_the_environment(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert main(["create-user", "admin", "--role", "admin"]) == 0
    assert "admin" in capsys.readouterr().out
    store = Store(settings_env)
    try:
        user = store.staff_user_by_username("admin")
        assert user is not None
        assert user.role is Role.ADMIN
        assert user.active
        stored = store.password_hash(user.id)
        assert stored is not None
        assert PASSWORD not in stored
        assert password_matches(stored, PASSWORD)
        assert not password_matches(stored, "wrong password")
        event = store.audit_events()[0]
        assert (event.actor, event.action) == ("command line", "create staff user")
    finally:
        store.close()


def test_create_user_with_a_short_password_fails_and_creates_nothing(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "short")
    assert main(["create-user", "admin", "--role", "admin"]) == 1
    err = capsys.readouterr().err
    assert "10 characters" in err
    assert "Traceback" not in err
    assert counts(settings_env)["staff_users"] == 0


def test_create_user_twice_fails_the_second_time(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert main(["create-user", "maya", "--role", "facilitator"]) == 0
    capsys.readouterr()
    assert main(["create-user", "Maya", "--role", "admin"]) == 1
    assert "taken" in capsys.readouterr().err
    store = Store(settings_env)
    try:
        assert [(u.username, u.role) for u in store.staff_users()] == [("maya", Role.FACILITATOR)]
    finally:
        store.close()


def test_create_user_with_a_bad_username_fails_clearly(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert main(["create-user", "no spaces allowed", "--role", "lead"]) == 1
    assert "username" in capsys.readouterr().err.lower()
    assert counts(settings_env)["staff_users"] == 0


def test_create_user_with_an_address_that_is_not_an_email_fails_clearly(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert main(["create-user", "maya", "--role", "lead", "--email", "not-an-email"]) == 1
    assert "does not look like an email address" in capsys.readouterr().err
    assert counts(settings_env)["staff_users"] == 0


def test_create_user_with_an_email_already_in_use_says_whose_at_once(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert main(["create-user", "maya", "--role", "lead", "--email", "Maya@Example.org"]) == 0
    capsys.readouterr()
    assert main(["create-user", "sam", "--role", "lead", "--email", "maya@example.org"]) == 1
    err = capsys.readouterr().err
    assert "already belongs to 'maya'" in err
    assert "at once" not in err  # never the retry loop's "too many people changed …"
    assert counts(settings_env)["staff_users"] == 1


# --------------------------------------------------------------------------- load-curriculum


def test_load_curriculum_stores_a_version_once(
    settings_env: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["load-curriculum", str(library / "tiny.yaml")]) == 0
    assert "stored as a new version" in capsys.readouterr().out
    after_first = counts(settings_env)
    assert after_first["curriculum_versions"] == 1
    assert after_first["instruments"] == 1
    assert main(["load-curriculum", str(library / "tiny.yaml")]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert counts(settings_env) == after_first


def test_load_curriculum_of_a_bad_file_fails_and_leaves_the_database_unchanged(
    settings_env: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    before = counts(settings_env)
    capsys.readouterr()
    assert main(["load-curriculum", str(library / "bad.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"bad.yaml, line {BAD_LINE}" in err
    assert counts(settings_env) == before


def test_load_curriculum_with_a_missing_instrument_fails_and_stores_nothing(
    settings_env: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (library / "instruments" / "who5.yaml").unlink()
    assert main(["init"]) == 0
    before = counts(settings_env)
    assert main(["load-curriculum", str(library / "tiny.yaml")]) == 1
    assert "who5" in capsys.readouterr().err
    assert counts(settings_env) == before


# --------------------------------------------------------------------------- seed-demo


@pytest.mark.slow
def test_seed_demo_fills_an_empty_database_once(
    settings_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert DEMO_CURRICULUM.is_file(), f"seed-demo needs {DEMO_CURRICULUM}"
    assert main(["seed-demo"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    for username in ("admin", "lead", "maya", "sam"):
        assert username in out

    store = Store(settings_env)
    try:
        assert {u.username for u in store.staff_users()} == {"admin", "lead", "maya", "sam"}
        assert {u.username for u in store.staff_users()} == {a.username for a in DEMO_ACCOUNTS}
        programs = store.programs()
        assert len(programs) == 1
        assert len(store.cohorts(programs[0].id)) >= 2
        assert store.curriculum_versions()
    finally:
        store.close()
    before = counts(settings_env)

    assert main(["seed-demo"]) == 0
    assert "not added" in capsys.readouterr().out
    assert counts(settings_env) == before


def test_seed_demo_that_fails_leaves_the_database_empty_so_it_can_run_again(
    settings_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A demo half seeded (accounts but no program) would block every later seed-demo."""
    monkeypatch.setenv("PROGRAM_CURRICULA", str(tmp_path / "empty-curricula"))
    get_settings.cache_clear()
    assert main(["seed-demo"]) == 1
    assert "collective-healing.yaml" in capsys.readouterr().err
    after = counts(settings_env)
    assert after["staff_users"] == 0
    assert after["programs"] == 0


def test_seed_demo_does_not_touch_a_database_with_accounts(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert main(["create-user", "boss", "--role", "admin"]) == 0
    before = counts(settings_env)
    assert main(["seed-demo"]) == 0
    assert counts(settings_env) == before


# --------------------------------------------------------------------------- the file lock


HOLD_THE_DATABASE = """
import sys, time
from program.store import Store
store = Store(sys.argv[1])
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def database_held_elsewhere(settings_env: Path) -> Iterator[Path]:
    """Another process (as the running app would) with the database open."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_DATABASE, str(settings_env)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line.strip() == "ready", holder.stderr.read() if holder.stderr else line
        yield settings_env
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_commands_refuse_clearly_while_another_process_holds_the_database(
    database_held_elsewhere: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    for argv in (["init"], ["create-user", "maya", "--role", "facilitator"], ["seed-demo"]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "in use" in err, argv
        assert "Another process" in err, argv
        assert str(database_held_elsewhere) in err, argv
        assert "Traceback" not in err, argv


def test_a_postgresql_url_without_the_shared_secret_is_refused_in_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROGRAM_DATABASE", "postgresql://program@127.0.0.1:1/program")
    monkeypatch.delenv("PROGRAM_SESSION_SECRET", raising=False)
    get_settings.cache_clear()
    assert main(["init"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("PROGRAM_SESSION_SECRET must be set") and "Traceback" not in err


def test_an_unreachable_postgresql_database_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens on port 1: refused at once, with the reason, and the password hidden."""
    monkeypatch.setenv("PROGRAM_DATABASE", "postgresql://program:hunter2@127.0.0.1:1/program")
    get_settings.cache_clear()
    assert main(["init"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("The database cannot be reached: Cannot reach the PostgreSQL database")
    assert "postgresql://program:***@127.0.0.1:1/program" in err
    assert "hunter2" not in err
