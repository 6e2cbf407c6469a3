"""The process's one store and its settings, shared by every browser session and HTTP route."""

from __future__ import annotations

from functools import lru_cache

from program.settings import Settings, get_settings
from program.store import Store


@lru_cache(maxsize=4)
def _store_at(path: str) -> Store:
    # One store per database path, so settings naming another database (as tests do) get their own.
    return Store(path)


def store() -> Store:
    """The process's one store (one DuckDB connection shared by every browser session)."""
    return _store_at(str(get_settings().database))


def settings() -> Settings:
    return get_settings()
