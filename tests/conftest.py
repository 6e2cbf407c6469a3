"""Shared fixtures: every test gets its own temporary database and settings pointing at it."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from program import staff
from program.settings import get_settings
from program.store import Store
from tests.factories.paths import CURRICULA

# Tests hash passwords with argon2id at its lowest cost (1 pass over 1 MiB): the same code and
# format, a thousandth of the time. A test about the real cost or memory of hashing is marked
# `real_hashing` (or runs the app in a process of its own, which hashes as in production).
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_passwords(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_hashing") is None:
        monkeypatch.setattr(staff, "_hasher", CHEAP_HASHER)


@pytest.fixture(autouse=True)
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point PROGRAM_* settings at a temporary folder, so no test touches data/."""
    database = tmp_path / "test.duckdb"
    monkeypatch.setenv("PROGRAM_DATABASE", str(database))
    monkeypatch.setenv("PROGRAM_CURRICULA", str(CURRICULA))
    monkeypatch.setenv("PROGRAM_SESSION_SECRET", "test-secret-not-for-production")
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def no_failed_signins() -> None:
    """Failed sign-ins are counted in the process's memory: each test starts with none."""
    from program import auth

    auth.forget_failed_signins()


@pytest.fixture(scope="session", autouse=True)
def components_scanned_once() -> Iterator[None]:
    """Every AppTest run scans each installed package's metadata for Streamlit components, about
    a third of a second each time, and the answer cannot change while the tests run: scan once.
    """
    from streamlit.components.v2 import manifest_scanner

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            manifest_scanner,
            "scan_component_manifests",
            functools.cache(manifest_scanner.scan_component_manifests),
        )
        yield


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One empty database with every migration applied, made once per test process. Copying it
    costs a fraction of migrating afresh, which every test with a store would otherwise pay."""
    path = tmp_path_factory.mktemp("template") / "migrated.duckdb"
    Store(path).close()
    return path


@pytest.fixture
def store(settings_env: Path, migrated_database: Path) -> Iterator[Store]:
    """A fresh, migrated database in a temporary file (a copy of `migrated_database`; opening
    it checks the migrations as any start does)."""
    shutil.copyfile(migrated_database, settings_env)
    s = Store(settings_env)
    yield s
    s.close()


@pytest.fixture
def make_staff(store: Store):  # type: ignore[no-untyped-def]
    """Create a staff member: make_staff("maya", Role.FACILITATOR) -> StaffUser."""
    from program.models import Actor, Role
    from program.staff import create_user

    def make(username: str, role: Role = Role.FACILITATOR, password: str = "correct horse battery"):  # type: ignore[no-untyped-def]
        return create_user(store, Actor.system(), username, username.title(), role, password)

    return make
