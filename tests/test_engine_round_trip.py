"""A program moves from a DuckDB file to PostgreSQL and back by backup and restore, losing
nothing: both engines write and read the same archive (program/store/backup.py).

Run with `--engine postgresql`: the `store` fixture is then a PostgreSQL database.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from program import backup, demo
from program.models import Actor, Role
from program.store import Store
from tests.factories.paths import CURRICULA

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]

# Rows the round trip itself adds or changes: each backup and restore is audited, and a restore
# ends every sign-in.
CHANGED_BY_THE_TRIP = {"audit_events", "staff_sessions"}


def _rows(s: Store, table: str) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{c}"' for c in s.table_columns(table))
    return sorted(s._rows(f'SELECT {columns} FROM "{table}"'), key=repr)


def _everything(s: Store) -> dict[str, list[tuple[Any, ...]]]:
    return {t: _rows(s, t) for t in s.base_tables() if t != "schema_migrations"}


def test_duckdb_to_postgresql_to_duckdb_loses_nothing(store: Store, tmp_path: Path) -> None:
    assert store.on_postgres
    source = Store(tmp_path / "before.duckdb")
    try:
        demo.seed_demo(source, CURRICULA, today=dt.date(2026, 3, 2))
        admin = next(u for u in source.staff_users() if u.role == Role.ADMIN)
        before = _everything(source)
        first = backup.export_backup(source, admin)
    finally:
        source.close()

    backup.restore_backup(store, admin, first, backup.RESTORE_WORD, "from DuckDB")
    on_postgres = _everything(store)
    second = backup.export_backup(store, admin)

    back = Store(tmp_path / "after.duckdb")
    try:
        backup.restore_backup(back, admin, second, backup.RESTORE_WORD, "from PostgreSQL")
        after = _everything(back)
    finally:
        back.close()

    assert sum(len(rows) for rows in before.values()) > 1000  # a real program, not an empty one
    for table, rows in before.items():
        if table in CHANGED_BY_THE_TRIP:
            continue
        assert len(on_postgres[table]) == len(rows), table
        assert after[table] == rows, table
    # The audit log keeps every event of before, and adds the trip's own.
    was, now = (sorted(rows["audit_events"]) for rows in (before, after))
    assert now[: len(was)] == was
    trip = [e[4] for e in now[len(was) :]]
    assert trip.count("export backup") == 2 and trip.count("restore backup") == 2


def test_a_postgresql_backup_is_the_archive_a_duckdb_app_writes(store: Store) -> None:
    """The same members, the same Parquet tables: a backup does not say which engine made it."""
    admin = store.create_staff_user(Actor.system(), "ada", "Ada", Role.ADMIN, None)
    names = sorted(zipfile.ZipFile(io.BytesIO(backup.export_backup(store, admin))).namelist())
    assert "schema.sql" in names and "load.sql" in names
    assert {n.removesuffix(".parquet") for n in names if n.endswith(".parquet")} == set(
        store.base_tables()
    )
