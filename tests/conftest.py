"""Shared fixtures: every test gets its own temporary database and settings pointing at it.

`--engine postgresql` runs the store and domain tests (those taking the `store` fixture, pages
and browsers aside) against PostgreSQL instead of a DuckDB file: each test gets a database of its
own, copied from one migrated template, on the server `PROGRAM_TEST_POSTGRES` names (the Makefile
starts a throwaway one; scripts/postgres_cluster.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from program import staff
from program.settings import get_settings
from program.store import Store
from tests.factories import engines
from tests.factories.paths import CURRICULA

# Tests hash passwords with argon2id at its lowest cost (1 pass over 1 MiB): the same code and
# format, a thousandth of the time. A test about the real cost or memory of hashing is marked
# `real_hashing` (or runs the app in a process of its own, which hashes as in production).
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=("duckdb", "postgresql"),
        default="duckdb",
        help="the database engine the store and domain tests run on",
    )


@functools.cache
def _draws_pages(path: Path) -> bool:
    """Whether a test module drives pages or a browser (those stay on DuckDB)."""
    text = path.read_text(encoding="utf-8")
    return "AppTest" in text or "factories import pages" in text or "factories.pages" in text


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    postgres = engines.on_postgres(config)
    chosen, dropped = [], []
    for item in items:
        if postgres:
            keep = (
                "store" in getattr(item, "fixturenames", ())
                and item.get_closest_marker("duckdb_only") is None
                and item.get_closest_marker("browser") is None
                and not _draws_pages(Path(str(item.fspath)))
            )
        else:
            keep = item.get_closest_marker("postgresql") is None
        (chosen if keep else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen


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
def migrated_database(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Path | str]:
    """One empty database with every migration applied, made once per test process. Copying it
    costs a fraction of migrating afresh, which every test with a store would otherwise pay."""
    template = engines.make_template(
        request.config, tmp_path_factory.mktemp("template"), "migrated"
    )
    yield template
    engines.drop_template(request.config, template)


@pytest.fixture
def store(
    settings_env: Path,
    migrated_database: Path | str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Store]:
    """A fresh, migrated database (a copy of `migrated_database`; opening it checks the
    migrations as any start does): a temporary file, or a PostgreSQL database of its own."""
    with engines.copy_of(request.config, migrated_database, settings_env, monkeypatch) as s:
        yield s


@pytest.fixture
def make_staff(store: Store):  # type: ignore[no-untyped-def]
    """Create a staff member: make_staff("maya", Role.FACILITATOR) -> StaffUser."""
    from program.models import Actor, Role
    from program.staff import create_user

    def make(username: str, role: Role = Role.FACILITATOR, password: str = "correct horse battery"):  # type: ignore[no-untyped-def]
        return create_user(store, Actor.system(), username, username.title(), role, password)

    return make
