"""What each screen draws, read in one place: one module per page, one typed view per screen.

A page asks its view module for a frozen view (everything it draws, already checked against the
viewer's access) and draws it; the rules (who may see what, which sessions count, how a date
range is read) live here and in the domain modules, never in the page. Pages never call the
store themselves: the few things a page needs from it (a cache key) come through this package.
"""

from __future__ import annotations

from typing import NamedTuple

from program.store import Store


class CacheKey(NamedTuple):
    """What a page's cached read is keyed on besides its own arguments: the database (one process
    may serve several, as the tests do) and its data version, which moves with every audited
    change, so a cached figure is never older than the data it came from."""

    database: str
    data_version: int


def cache_key(store: Store) -> CacheKey:
    return CacheKey(store.path, store.data_version())
