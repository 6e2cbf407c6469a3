"""Every SQL statement of the app, one module per part of the domain, joined into one Store.

A DuckDB file or a PostgreSQL database (engines.py), and a fresh cursor per call (base.py). Writes run as whole units
of work inside explicit transactions, retried from the start when a concurrent write wins.
"""

from pathlib import Path

from program.store.audit import AuditQueries
from program.store.backup import BackupQueries
from program.store.base import StoreBase, _migrations
from program.store.bulk import BulkQueries
from program.store.cohorts import CohortQueries
from program.store.curricula import CurriculumQueries
from program.store.deletion import DeletionQueries
from program.store.duckdb_engine import CONNECT_CONFIG
from program.store.engines import Cursor, is_postgres
from program.store.programs import ProgramQueries
from program.store.pulse import PulseQueries
from program.store.results import ResultQueries
from program.store.staff import StaffQueries


class Store(
    StaffQueries,
    ProgramQueries,
    CurriculumQueries,
    CohortQueries,
    PulseQueries,
    ResultQueries,
    AuditQueries,
    BackupQueries,
    DeletionQueries,
    BulkQueries,
    StoreBase,
):
    """The app's database. Safe to share between threads: each call takes its own cursor."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        try:
            self.reconcile_ballots()
        except BaseException:
            self.close()
            raise


__all__ = ["CONNECT_CONFIG", "Cursor", "Store", "StoreBase", "_migrations", "is_postgres"]
