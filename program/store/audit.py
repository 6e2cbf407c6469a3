"""The audit log: recording events that change nothing else, and reading the log, filtered.

Every other change is audited by the store method that makes it, in the same transaction
(`StoreBase._audit`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from program.models import Actor, AuditEvent
from program.store.base import Cursor, StoreBase

_EVENT = "SELECT id, occurred_at, actor, action, object_type, object_id, detail FROM audit_events"

# What the audit filter may show a list of: a fixed column per choice, never a name a person typed.
AUDIT_CHOICES = {
    "actor": "SELECT DISTINCT actor FROM audit_events ORDER BY actor",
    "action": "SELECT DISTINCT action FROM audit_events ORDER BY action",
    "object_type": "SELECT DISTINCT object_type FROM audit_events ORDER BY object_type",
}
_WHERE = (
    " WHERE ($actor IS NULL OR actor = $actor)"
    " AND ($action IS NULL OR action = $action)"
    " AND ($object_type IS NULL OR object_type = $object_type)"
    " AND ($since IS NULL OR occurred_at >= $since)"
    " AND ($before IS NULL OR occurred_at < $before)"
)


def audit_event(row: tuple[Any, ...]) -> AuditEvent:
    """An audit event from a row of `_EVENT`."""
    return AuditEvent(
        id=row[0],
        occurred_at=row[1],
        actor=row[2],
        action=row[3],
        object_type=row[4],
        object_id=row[5],
        detail=row[6],
    )


def _filter(
    actor: str | None,
    action: str | None,
    object_type: str | None,
    since: dt.date | None,
    until: dt.date | None,
) -> dict[str, Any]:
    """The named parameters of `_WHERE`; `until` is inclusive, so the bound is the next midnight."""
    return {
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "since": dt.datetime.combine(since, dt.time()) if since else None,
        "before": dt.datetime.combine(until + dt.timedelta(days=1), dt.time()) if until else None,
    }


class AuditQueries(StoreBase):
    # ----------------------------------------------------------------------- recording

    def record_audit(
        self, actor: Actor, action: str, object_type: str, object_id: Any, detail: str = ""
    ) -> None:
        """An audit event for an action that changes nothing else, such as an export."""

        def unit(cur: Cursor) -> None:
            self._audit(cur, actor, action, object_type, object_id, detail)

        self.write(unit)

    def record_export(self, actor: Actor, what: str, object_id: object) -> None:
        """Audit one download of released aggregates as the event "export <what>".

        `what` starts with the kind of object exported, e.g. "program pooled trends csv", which
        becomes the event's object type.
        """

        def unit(cur: Cursor) -> None:
            object_type = what.partition(" ")[0] or "export"
            self._audit(cur, actor, f"export {what}", object_type, object_id)

        self.write(unit)

    # ----------------------------------------------------------------------- reading

    def audit_events(self, limit: int = 500) -> list[AuditEvent]:
        rows = self._rows(_EVENT + " ORDER BY id DESC LIMIT ?", [limit])
        return [audit_event(r) for r in rows]

    def audit_choices(self, column: str) -> list[str]:
        """The distinct values of one audit column (actor, action or object_type)."""
        return [r[0] for r in self._rows(AUDIT_CHOICES[column])]

    def matching_audit_events(
        self,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Audit events newest first; each filter left as None matches everything; dates inclusive."""
        params = _filter(actor, action, object_type, since, until)
        params["limit"] = limit
        rows = self._rows(_EVENT + _WHERE + " ORDER BY id DESC LIMIT $limit", params)
        return [audit_event(r) for r in rows]

    def count_audit_events(
        self,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> int:
        params = _filter(actor, action, object_type, since, until)
        rows = self._rows("SELECT count(*) FROM audit_events" + _WHERE, params)
        return int(rows[0][0])
