"""Shared fixtures: every test gets its own temporary database and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from program.settings import get_settings
from program.store import Store

ROOT = Path(__file__).resolve().parent.parent
CURRICULA = ROOT / "curricula"
INSTRUMENTS = CURRICULA / "instruments"


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


@pytest.fixture
def store(settings_env: Path) -> Iterator[Store]:
    """A fresh, migrated database in a temporary file."""
    s = Store(settings_env)
    yield s
    s.close()
