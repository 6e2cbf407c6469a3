"""The audit log: recording events that change nothing else, and reading the log, filtered.

Every other change is audited by the store method that makes it, in the same transaction
(`StoreBase._audit`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from program.models import Actor, AuditEvent, AuditFilter
from program.store.base import StoreBase
from program.store.engines import Cursor

_EVENT = "SELECT id, occurred_at, actor, action, object_type, object_id, detail FROM audit_events"
_EVENT_FIELDS = _EVENT.removeprefix("SELECT ").split(" FROM ")[0].split(", ")

# What the audit filter may show a list of: a fixed column per choice, never a name a person typed.
AUDIT_CHOICES = {
    "actor": "SELECT DISTINCT actor FROM audit_events ORDER BY actor",
    "action": "SELECT DISTINCT action FROM audit_events ORDER BY action",
    "object_type": "SELECT DISTINCT object_type FROM audit_events ORDER BY object_type",
}
# Each parameter is cast where it may be NULL: PostgreSQL cannot tell the type of a bare one.
_WHERE = (
    " WHERE (CAST($actor AS VARCHAR) IS NULL OR actor = $actor)"
    " AND (CAST($action AS VARCHAR) IS NULL OR action = $action)"
    " AND (CAST($object_type AS VARCHAR) IS NULL OR object_type = $object_type)"
    " AND (CAST($since AS TIMESTAMP) IS NULL OR occurred_at >= $since)"
    " AND (CAST($before AS TIMESTAMP) IS NULL OR occurred_at < $before)"
)


def audit_event(row: Sequence[object]) -> AuditEvent:
    """An audit event from a row of `_EVENT`."""
    return AuditEvent.model_validate(dict(zip(_EVENT_FIELDS, row, strict=True)))


def _filter(f: AuditFilter) -> dict[str, object]:
    """The named parameters of `_WHERE`; `until` is inclusive, so the bound is the next midnight."""
    since = dt.datetime.combine(f.since, dt.time()) if f.since else None
    before = dt.datetime.combine(f.until + dt.timedelta(days=1), dt.time()) if f.until else None
    return {
        "actor": f.actor,
        "action": f.action,
        "object_type": f.object_type,
        "since": since,
        "before": before,
    }


class AuditQueries(StoreBase):
    # ----------------------------------------------------------------------- recording

    def record_audit(
        self, actor: Actor, action: str, object_type: str, object_id: object, detail: str = ""
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

    def matching_audit_events(self, f: AuditFilter, limit: int | None = None) -> list[AuditEvent]:
        """The audit events `f` matches, newest first; the `limit` newest if given."""
        rows = self._rows(
            _EVENT + _WHERE + " ORDER BY id DESC LIMIT $limit", _filter(f) | {"limit": limit}
        )
        return [audit_event(r) for r in rows]

    def count_audit_events(self, f: AuditFilter) -> int:
        """How many audit events `f` matches."""
        rows = self._rows("SELECT count(*) FROM audit_events" + _WHERE, _filter(f))
        return int(rows[0][0])
