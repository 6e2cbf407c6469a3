"""Test databases on either engine: a template made once per test process, and a copy of it for
each test (a file copy on DuckDB; `CREATE DATABASE … TEMPLATE` on PostgreSQL).

`pytest --engine postgresql` picks PostgreSQL, on the server `PROGRAM_TEST_POSTGRES` names (the
Makefile starts a throwaway one: scripts/postgres_cluster.py).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from program.settings import get_settings
from program.store import Store

_COPIES = itertools.count()


def on_postgres(config: pytest.Config) -> bool:
    return config.getoption("--engine") == "postgresql"


def server() -> str:
    url = os.environ.get("PROGRAM_TEST_POSTGRES", "")
    if not url:
        pytest.exit(
            "--engine postgresql needs PROGRAM_TEST_POSTGRES, a PostgreSQL URL whose user may"
            " create databases (make test starts a throwaway server and sets it)",
            returncode=4,
        )
    return url


def database_url(name: str) -> str:
    """The test server's URL naming another database on it."""
    return server().rsplit("/", 1)[0] + "/" + name


def admin(*statements: str) -> None:
    """Statements run on the test server's own database (creating and dropping databases)."""
    with psycopg.connect(server(), autocommit=True) as con:
        for statement in statements:
            con.execute(statement)


def make_template(
    config: pytest.Config, folder: Path, name: str, fill: Callable[[Store], None] | None = None
) -> Path | str:
    """A migrated database, filled by `fill`: a file in `folder`, or a PostgreSQL database
    named for `name` and this test process."""
    if on_postgres(config):
        # This run's own names: two runs on one server (two checkouts) must not meet.
        database = f"{name}_{os.getpid()}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
        admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"CREATE DATABASE {database}")
        target: Path | str = database_url(database)
    else:
        target = folder / f"{name}.duckdb"
    store = Store(target)
    try:
        if fill is not None:
            fill(store)
    finally:
        store.close()
    return database if on_postgres(config) else target


def drop_template(config: pytest.Config, template: Path | str) -> None:
    if on_postgres(config):
        admin(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")


def template_fixtures(name: str, fill: Callable[[Store], None]) -> tuple[Any, Any]:
    """A `template` fixture (a database filled by `fill`, made once per test process) and a
    `store` fixture (a copy of it for each test), for a module to bind:
    `template, store = engines.template_fixtures("name", fill)`."""

    @pytest.fixture(scope="session")
    def template(
        tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
    ) -> Iterator[Path | str]:
        made = make_template(request.config, tmp_path_factory.mktemp(name), name, fill)
        yield made
        drop_template(request.config, made)

    @pytest.fixture
    def store(
        settings_env: Path,
        template: Path | str,
        request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch,
    ) -> Iterator[Store]:
        """A fresh database of this test's own, copied from the template."""
        with copy_of(request.config, template, settings_env, monkeypatch) as s:
            yield s

    return template, store


@contextlib.contextmanager
def copy_of(
    config: pytest.Config,
    template: Path | str,
    settings_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Store]:
    """A store on a fresh copy of `template`, with the settings pointing at it."""
    if not on_postgres(config):
        shutil.copyfile(template, settings_env)
        store = Store(settings_env)
        try:
            yield store
        finally:
            store.close()
        return
    name = f"{template}_{next(_COPIES)}"
    admin(
        f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
        f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY",
    )
    url = database_url(name)
    monkeypatch.setenv("PROGRAM_DATABASE", url)
    get_settings.cache_clear()
    store = Store(url)
    try:
        yield store
    finally:
        store.close()
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
