"""Backup and restore of the whole database, and what it holds now, for the admin.

A backup is DuckDB's EXPORT DATABASE (a Parquet file per table, schema.sql and load.sql) in a zip.
A restore checks the archive before it changes anything, then replaces every table in one
transaction. Answers to a pulse still open are never in a backup: they wait in ballot files
outside the database until the pulse closes.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from program.access import require_role
from program.errors import InvalidInput, UnreadableData
from program.models import Actor, Role, StaffUser
from program.store import Store

RESTORE_WORD = "RESTORE"
# A backup is unpacked to disk before it is checked; refuse archives that would unpack to more.
MAX_RESTORE_BYTES = 4 * 1024**3
# One line of the load.sql that EXPORT DATABASE writes: COPY <table> FROM '<file>' (FORMAT ...);
_COPY = re.compile(r"""^COPY\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s+FROM\s+'((?:[^']|'')+)'""")


def export_backup(store: Store, viewer: StaffUser) -> bytes:
    """The whole database as a zip of Parquet files (DuckDB's EXPORT DATABASE), audited."""
    require_role(viewer, Role.ADMIN)
    with tempfile.TemporaryDirectory(prefix="program-backup-") as tmp:
        folder = Path(tmp) / "export"
        store.export_database(Actor.of(viewer), folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for f in sorted(folder.iterdir()):
                archive.write(f, f.name)
    return buffer.getvalue()


@dataclass(frozen=True)
class RestoreSummary:
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _not_ours(reason: str) -> InvalidInput:
    return InvalidInput(
        f"This file is not a backup this app can restore: {reason} Nothing changed."
    )


def _archive_tables(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each exported table's member name in the zip, as load.sql (beside schema.sql) lists them."""
    names = [n for n in archive.namelist() if not n.endswith("/")]
    schemas = [n for n in names if PurePosixPath(n).name == "schema.sql"]
    if len(schemas) != 1:
        raise _not_ours("it should hold one schema.sql from a database export.")
    folder = str(PurePosixPath(schemas[0]).parent)
    prefix = "" if folder == "." else folder + "/"
    if prefix + "load.sql" not in names:
        raise _not_ours("it has no load.sql beside schema.sql.")
    try:
        load = archive.read(prefix + "load.sql").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _not_ours(f"its load.sql is damaged ({exc}).") from None
    tables: dict[str, str] = {}
    for line in load.splitlines():
        found = _COPY.match(line.strip())
        if found is None:
            continue
        table = found.group(1)
        if table.startswith('"'):
            table = table[1:-1].replace('""', '"')
        member = prefix + PurePosixPath(found.group(2).replace("''", "'")).name
        if member not in names:
            raise _not_ours(f"load.sql names {PurePosixPath(member).name}, which is missing.")
        tables[table] = member
    return tables


def restore_backup(
    store: Store, viewer: StaffUser, data: bytes, confirmation: str, source: str = "upload"
) -> RestoreSummary:
    """Replace the whole database with a backup made by export_backup, in one transaction.

    The archive is checked first: it must come from EXPORT DATABASE, hold every table of this
    app's schema with the same columns, and record exactly this app's migrations. A bad archive
    changes nothing, and neither does one that would change a locked minimum group size. Everyone
    (the admin too) must sign in again afterwards.
    """
    require_role(viewer, Role.ADMIN)
    if confirmation.strip() != RESTORE_WORD:
        raise InvalidInput(f"Type {RESTORE_WORD} in capitals to confirm replacing all data.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _not_ours("it is not a zip file.") from None
    with archive, tempfile.TemporaryDirectory(prefix="program-restore-") as tmp:
        if sum(i.file_size for i in archive.infolist()) > MAX_RESTORE_BYTES:
            raise _not_ours("it would unpack to more than 4 GB.")
        members = _archive_tables(archive)
        ours = store.base_tables()
        missing = sorted(set(ours) - set(members))
        extra = sorted(set(members) - set(ours))
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"it lacks the table(s) {', '.join(missing)}")
            if extra:
                parts.append(f"it has table(s) this app does not know: {', '.join(extra)}")
            raise _not_ours("; ".join(parts) + ".")
        # Unpack only the members load.sql names, under names of our choosing, never the
        # archive's own paths.
        files: dict[str, Path] = {}
        for i, table in enumerate(ours):
            path = Path(tmp) / f"{i}.parquet"
            try:
                with archive.open(members[table]) as src, path.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise _not_ours(f"{members[table]} is damaged ({exc}).") from None
            files[table] = path
        try:
            _check_parquet(store, files)
            counts = store.restore_tables(Actor.of(viewer), files, source)
        except UnreadableData as exc:
            raise _not_ours(str(exc)) from None
    # Open pulses' answers are not in backups: the restored data's open pulses start empty.
    store.reset_ballots()
    return RestoreSummary(rows=counts)


def _check_parquet(store: Store, files: dict[str, Path]) -> None:
    for table, path in files.items():
        found = store.parquet_columns(path, table)
        expected = store.table_columns(table)
        if sorted(found) != sorted(expected):
            raise _not_ours(
                f"the columns of {table} differ from this app's"
                f" (backup: {', '.join(found)}; app: {', '.join(expected)})."
            )
    theirs = store.parquet_migrations(files["schema_migrations"])
    mine = store.applied_migrations()
    if theirs != mine:
        raise _not_ours(
            "it was made by a different version of the app"
            f" (its migrations: {', '.join(theirs) or 'none'}; this app's: {', '.join(mine)})."
        )


def table_row_counts(store: Store, viewer: StaffUser) -> dict[str, int]:
    """How many rows every table holds now."""
    require_role(viewer, Role.ADMIN)
    return store.row_counts()
