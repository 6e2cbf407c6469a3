"""The audit log for the admin: choosing which events to see, reading them, exporting them as CSV.

Every change is recorded by the store in the transaction that makes it; so is every export,
this one included.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from program.access import require_role
from program.errors import InvalidInput
from program.models import Actor, AuditEvent, Role, StaffUser

# The audit page builds the filter from here; it is defined with the records, where the store,
# which reads the log by it, can take it too.
from program.models import AuditFilter as AuditFilter
from program.store import Store

AUDIT_CSV_COLUMNS = ("when", "who", "action", "object type", "object id", "detail")


@dataclass(frozen=True)
class AuditChoices:
    actors: list[str]
    actions: list[str]
    object_types: list[str]


def audit_choices(store: Store, viewer: StaffUser) -> AuditChoices:
    require_role(viewer, Role.ADMIN)
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
    require_role(viewer, Role.ADMIN)
    _check_dates(f)
    events = store.matching_audit_events(f, limit)
    total = store.count_audit_events(f)
    return events, total


def _cell(value: str) -> str:
    """Defuse text a spreadsheet would run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_audit_csv(store: Store, viewer: StaffUser, f: AuditFilter) -> bytes:
    """Every matching audit event as CSV (UTF-8 with BOM for spreadsheets); the export is audited."""
    require_role(viewer, Role.ADMIN)
    _check_dates(f)
    events = store.matching_audit_events(f)
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
