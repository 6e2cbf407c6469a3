"""The audit log for the admin: choosing which events to see, reading them, exporting them as CSV.

Every change is recorded by the store in the transaction that makes it; so is every export,
this one included.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from program.access import require_role
from program.errors import InvalidInput
from program.models import Actor, AuditEvent, Role, StaffUser
from program.store import Store

AUDIT_CSV_COLUMNS = ("when", "who", "action", "object type", "object id", "detail")


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
    events = store.matching_audit_events(f.actor, f.action, f.object_type, f.since, f.until, limit)
    total = store.count_audit_events(f.actor, f.action, f.object_type, f.since, f.until)
    return events, total


def _cell(value: str) -> str:
    """Defuse text a spreadsheet would run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_audit_csv(store: Store, viewer: StaffUser, f: AuditFilter) -> bytes:
    """Every matching audit event as CSV (UTF-8 with BOM for spreadsheets); the export is audited."""
    require_role(viewer, Role.ADMIN)
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
