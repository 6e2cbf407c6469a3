"""The admin's work: staff accounts, programs and their privacy threshold, backups, cohort deletion
and the audit log.

Every function takes the signed-in staff member and refuses anyone who is not an admin, whatever the
page showed them. Every change is recorded in the audit log by the store, in the same transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from program import auth
from program.access import require_role
from program.accounts import check_new_password, clean_email, create_user, hash_password
from program.errors import Conflict, InvalidInput
from program.models import Actor, AuditEvent, Cohort, Program, Role, StaffUser
from program.store import Store
from program.store.admin import ANSWER_TABLES, UnreadableData, without_answer_counts

MIN_K, MAX_K, DEFAULT_K = 3, 10, 5
RESTORE_WORD = "RESTORE"
MAX_DESCRIPTION = 2000
# A backup is unpacked to disk before it is checked; refuse archives that would unpack to more.
MAX_RESTORE_BYTES = 4 * 1024**3
# One line of the load.sql that EXPORT DATABASE writes: COPY <table> FROM '<file>' (FORMAT ...);
_COPY = re.compile(r"""^COPY\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s+FROM\s+'((?:[^']|'')+)'""")


def _require_admin(viewer: StaffUser) -> None:
    require_role(viewer, Role.ADMIN)


# --------------------------------------------------------------------------- staff accounts


@dataclass(frozen=True)
class StaffAccount:
    """A staff member as the admin sees them: never the password hash, only whether one is set."""

    user: StaffUser
    has_password: bool
    open_sessions: int

    @property
    def sign_in(self) -> str:
        methods = ["password"] if self.has_password else []
        if self.user.email:
            methods.append("single sign-on")
        return " or ".join(methods) or "none"


def staff_accounts(store: Store, viewer: StaffUser) -> list[StaffAccount]:
    _require_admin(viewer)
    with_password = store.staff_with_password()
    sessions = store.open_staff_session_counts()
    return [
        StaffAccount(
            user=u, has_password=u.id in with_password, open_sessions=sessions.get(u.id, 0)
        )
        for u in store.staff_users()
    ]


def create_staff(
    store: Store,
    viewer: StaffUser,
    username: str,
    display_name: str,
    role: Role,
    password: str | None,
    email: str | None = None,
) -> StaffUser:
    """Create an account with an initial password, or (no password) a single-sign-on-only one."""
    _require_admin(viewer)
    password = password or None
    email = clean_email(email)
    if password is None and email is None:
        raise InvalidInput(
            "Give an initial password, or an email address for an account that signs in with"
            " single sign-on only."
        )
    return create_user(store, Actor.of(viewer), username, display_name, role, password, email)


def reset_password(store: Store, viewer: StaffUser, user_id: int, new_password: str) -> None:
    """Set a new password chosen by the admin, sign the person out everywhere, lift any pause."""
    _require_admin(viewer)
    user = store.staff_user(user_id)
    check_new_password(new_password)
    actor = Actor.of(viewer)
    store.set_staff_password(actor, user_id, hash_password(new_password))
    store.end_all_staff_sessions(actor, user_id)
    auth.forget_failed_signins(user.username)  # failures against the old password no longer count


def deactivate_staff(store: Store, viewer: StaffUser, user_id: int) -> StaffUser:
    """Stop an account from signing in and end its sessions; its history stays."""
    _require_admin(viewer)
    if user_id == viewer.id:
        raise Conflict("You cannot deactivate your own account. Ask another admin to do it.")
    user = store.staff_user(user_id)
    if not user.active:
        raise Conflict(f"{user.username!r} is already deactivated.")
    actor = Actor.of(viewer)
    changed = store.set_staff_active(actor, user_id, False)
    store.end_all_staff_sessions(actor, user_id)
    return changed


def reactivate_staff(store: Store, viewer: StaffUser, user_id: int) -> StaffUser:
    _require_admin(viewer)
    user = store.staff_user(user_id)
    if user.active:
        raise Conflict(f"{user.username!r} is already active.")
    return store.set_staff_active(Actor.of(viewer), user_id, True)


def change_role(store: Store, viewer: StaffUser, user_id: int, role: Role) -> StaffUser:
    """Give someone another role; the last active admin keeps theirs."""
    _require_admin(viewer)
    user = store.staff_user(user_id)
    if user.role == role:
        raise Conflict(f"{user.username!r} is already a {role.value}.")
    return store.set_staff_role(Actor.of(viewer), user_id, role)


def set_staff_email(store: Store, viewer: StaffUser, user_id: int, email: str | None) -> StaffUser:
    """Set (or with None/empty, clear) the email that links an account to single sign-on."""
    _require_admin(viewer)
    store.staff_user(user_id)
    cleaned = clean_email(email)
    if cleaned is None and user_id not in store.staff_with_password():
        raise Conflict(
            "This account has no password, so without an email it could not sign in at all."
            " Set a password first, or deactivate the account instead."
        )
    return store.set_staff_email(Actor.of(viewer), user_id, cleaned)


# --------------------------------------------------------------------------- programs


@dataclass(frozen=True)
class ProgramOverview:
    program: Program
    leads: list[StaffUser]
    cohorts: int
    pulse_opened: bool  # its minimum group size is locked

    @property
    def k_locked(self) -> bool:
        return self.pulse_opened


def _check_k(k: int) -> None:
    if not MIN_K <= k <= MAX_K:
        raise InvalidInput(
            f"The minimum group size must be between {MIN_K} and {MAX_K} (you gave {k})."
        )


def _clean_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"A description may have at most {MAX_DESCRIPTION} characters.")
    return description


def programs_overview(store: Store, viewer: StaffUser) -> list[ProgramOverview]:
    _require_admin(viewer)
    staff = {u.id: u for u in store.staff_users()}
    cohorts = store.program_cohort_counts()
    return [
        ProgramOverview(
            program=p,
            leads=sorted(
                (staff[i] for i in store.program_lead_ids(p.id) if i in staff),
                key=lambda u: u.display_name,
            ),
            cohorts=cohorts.get(p.id, 0),
            pulse_opened=store.program_pulse_opened(p.id),
        )
        for p in store.programs()
    ]


def create_program(
    store: Store,
    viewer: StaffUser,
    name: str,
    description: str = "",
    min_cell_size: int = DEFAULT_K,
) -> Program:
    _require_admin(viewer)
    name = name.strip()
    if not name:
        raise InvalidInput("Please give the program a name.")
    if len(name) > 120:
        raise InvalidInput("A program name may have at most 120 characters.")
    _check_k(min_cell_size)
    return store.create_program(
        Actor.of(viewer), name, _clean_description(description), min_cell_size
    )


def assign_program_lead(store: Store, viewer: StaffUser, program_id: int, user_id: int) -> None:
    _require_admin(viewer)
    program = store.program(program_id)
    user = store.staff_user(user_id)
    if user.role != Role.LEAD:
        raise InvalidInput(
            f"{user.display_name} is a {user.role.value}; only program leads can lead a program."
            " Change their role first."
        )
    if not user.active:
        raise Conflict(f"{user.display_name}'s account is deactivated. Reactivate it first.")
    if user_id in store.program_lead_ids(program_id):
        raise Conflict(f"{user.display_name} already leads {program.name}.")
    store.add_program_lead(Actor.of(viewer), program_id, user_id)


def unassign_program_lead(store: Store, viewer: StaffUser, program_id: int, user_id: int) -> None:
    _require_admin(viewer)
    store.program(program_id)
    store.remove_program_lead(Actor.of(viewer), program_id, user_id)


def program_facilitators(store: Store, viewer: StaffUser, program_id: int) -> list[StaffUser]:
    """The facilitators who belong to a program (and may create cohorts in it), by name."""
    _require_admin(viewer)
    store.program(program_id)
    staff = {u.id: u for u in store.staff_users()}
    members = [staff[i] for i in store.program_facilitator_ids(program_id) if i in staff]
    return sorted(members, key=lambda u: u.display_name)


def add_program_facilitator(store: Store, viewer: StaffUser, program_id: int, user_id: int) -> None:
    """Let a facilitator create cohorts in a program (and be put on its cohorts)."""
    _require_admin(viewer)
    program = store.program(program_id)
    user = store.staff_user(user_id)
    if user.role != Role.FACILITATOR:
        raise InvalidInput(
            f"{user.display_name} is a {user.role.value}; only facilitators belong to programs"
            " this way. Program leads are assigned as leads."
        )
    if not user.active:
        raise Conflict(f"{user.display_name}'s account is deactivated. Reactivate it first.")
    if user_id in store.program_facilitator_ids(program_id):
        raise Conflict(f"{user.display_name} already belongs to {program.name}.")
    store.add_program_facilitator(Actor.of(viewer), program_id, user_id)


def remove_program_facilitator(
    store: Store, viewer: StaffUser, program_id: int, user_id: int
) -> None:
    """Stop a facilitator creating cohorts in a program. The cohorts they already run stay theirs."""
    _require_admin(viewer)
    store.program(program_id)
    store.remove_program_facilitator(Actor.of(viewer), program_id, user_id)


def set_program_description(
    store: Store, viewer: StaffUser, program_id: int, description: str
) -> Program:
    _require_admin(viewer)
    return store.set_program_description(
        Actor.of(viewer), program_id, _clean_description(description)
    )


# --------------------------------------------------------------------------- privacy settings


@dataclass(frozen=True)
class PrivacyStatus:
    program: Program
    pulse_opened: bool

    @property
    def locked(self) -> bool:
        return self.pulse_opened

    @property
    def explanation(self) -> str:
        k = self.program.min_cell_size
        if self.locked:
            return (
                f"Locked at {k}: a pulse has opened in this program's cohorts. Participants were"
                " promised this threshold, and released results rest on it, so it cannot change."
            )
        return (
            f"Set to {k}. It can change until the first pulse opens in one of this program's"
            " cohorts; from then on it is locked."
        )


def privacy_status(store: Store, viewer: StaffUser, program_id: int) -> PrivacyStatus:
    _require_admin(viewer)
    return PrivacyStatus(
        program=store.program(program_id),
        pulse_opened=store.program_pulse_opened(program_id),
    )


def set_min_cell_size(store: Store, viewer: StaffUser, program_id: int, k: int) -> Program:
    """Change a program's minimum group size k; refused once any pulse of the program opened.

    The store checks for pulses in the same transaction as the change, and opening a pulse
    touches the program's row, so a pulse opening at the same instant conflicts with the change
    and one of the two retries after the other.
    """
    _require_admin(viewer)
    _check_k(k)
    program = store.program(program_id)
    if program.min_cell_size == k:
        raise Conflict(f"The minimum group size of {program.name} is already {k}.")
    return store.set_program_min_cell_size(Actor.of(viewer), program_id, k)


# --------------------------------------------------------------------------- backup and restore


def export_backup(store: Store, viewer: StaffUser) -> bytes:
    """The whole database as a zip of Parquet files (DuckDB's EXPORT DATABASE), audited."""
    _require_admin(viewer)
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
    changes nothing. Everyone (the admin too) must sign in again afterwards.
    """
    _require_admin(viewer)
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
    _require_admin(viewer)
    return store.row_counts()


# --------------------------------------------------------------------------- deleting a cohort


@dataclass(frozen=True)
class CohortData:
    """How much a cohort holds, by table: what deleting it would remove. Counts only, no names,
    and no count of pulse answers (it would tell how many answered an open pulse)."""

    cohort: Cohort
    rows: dict[str, int]
    holds_answers: bool


def cohort_data(store: Store, viewer: StaffUser, cohort_id: int) -> CohortData:
    _require_admin(viewer)
    counts = store.cohort_data_counts(cohort_id)
    return CohortData(
        cohort=store.cohort(cohort_id),
        rows=without_answer_counts(counts),
        # A pulse that ever opened may hold answers, in this database or (open) in a ballot file.
        holds_answers=bool(counts.get("pulse_windows"))
        or any(counts.get(t) for t in ANSWER_TABLES),
    )


def delete_cohort_data(
    store: Store, viewer: StaffUser, cohort_id: int, typed_name: str
) -> dict[str, int]:
    """Remove all of a cohort's data once the admin has typed its exact name; the audit event stays."""
    _require_admin(viewer)
    cohort = store.cohort(cohort_id)
    if typed_name != cohort.name:
        raise InvalidInput(
            f"To confirm, type the cohort's name exactly as shown: {cohort.name}"
            " (capitals, spaces and punctuation included)."
        )
    sessions = [s.id for s in store.sessions(cohort_id)]
    counts = store.delete_cohort_data(Actor.of(viewer), cohort_id, cohort.name)
    # An open pulse's answers are in its ballot file, outside the transaction above.
    store.discard_ballots(sessions)
    return without_answer_counts(counts)


# --------------------------------------------------------------------------- audit log


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events to show; None matches everything, dates are inclusive."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def describe(self) -> str:
        parts = [
            f"{name}={value}"
            for name, value in (
                ("actor", self.actor),
                ("action", self.action),
                ("object type", self.object_type),
                ("from", self.since),
                ("to", self.until),
            )
            if value is not None
        ]
        return ", ".join(parts) or "all events"


@dataclass(frozen=True)
class AuditChoices:
    actors: list[str]
    actions: list[str]
    object_types: list[str]


def audit_choices(store: Store, viewer: StaffUser) -> AuditChoices:
    _require_admin(viewer)
    return AuditChoices(
        actors=store.audit_choices("actor"),
        actions=store.audit_choices("action"),
        object_types=store.audit_choices("object_type"),
    )


def _check_dates(f: AuditFilter) -> None:
    if f.since and f.until and f.since > f.until:
        raise InvalidInput("The start date is after the end date.")


def audit_events(
    store: Store, viewer: StaffUser, f: AuditFilter, limit: int | None = 1000
) -> tuple[list[AuditEvent], int]:
    """The newest matching events (up to `limit`) and how many match in all."""
    _require_admin(viewer)
    _check_dates(f)
    events = store.matching_audit_events(f.actor, f.action, f.object_type, f.since, f.until, limit)
    total = store.count_audit_events(f.actor, f.action, f.object_type, f.since, f.until)
    return events, total


AUDIT_CSV_COLUMNS = ("when", "who", "action", "object type", "object id", "detail")


def _cell(value: str) -> str:
    """Defuse text a spreadsheet would run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_audit_csv(store: Store, viewer: StaffUser, f: AuditFilter) -> bytes:
    """Every matching audit event as CSV (UTF-8 with BOM for spreadsheets); the export is audited."""
    _require_admin(viewer)
    _check_dates(f)
    events = store.matching_audit_events(f.actor, f.action, f.object_type, f.since, f.until, None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.occurred_at.isoformat(sep=" "),
                _cell(e.actor),
                _cell(e.action),
                _cell(e.object_type),
                _cell(e.object_id),
                _cell(e.detail),
            ]
        )
    store.record_audit(
        Actor.of(viewer),
        "export audit log",
        "audit_log",
        "csv",
        f"{len(events)} events; {f.describe()}",
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
