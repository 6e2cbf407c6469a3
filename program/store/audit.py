"""The audit log."""

from __future__ import annotations

from typing import Any

from program.models import (
    Actor,
    AuditEvent,
)
from program.store.base import Cursor, StoreBase


def audit_event(row: tuple[Any, ...]) -> AuditEvent:
    """An audit event from a row of (id, occurred_at, actor, action, object_type, object_id, detail)."""
    return AuditEvent(
        id=row[0],
        occurred_at=row[1],
        actor=row[2],
        action=row[3],
        object_type=row[4],
        object_id=row[5],
        detail=row[6],
    )


class AuditQueries(StoreBase):
    # ----------------------------------------------------------------------- audit

    def audit_events(self, limit: int = 500) -> list[AuditEvent]:
        rows = self._rows(
            "SELECT id, occurred_at, actor, action, object_type, object_id, detail"
            " FROM audit_events ORDER BY id DESC LIMIT ?",
            [limit],
        )
        return [audit_event(r) for r in rows]

    def record_export(self, actor: Actor, what: str, object_id: object) -> None:
        """Audit one download of released aggregates as the event "export <what>".

        `what` starts with the kind of object exported, e.g. "program pooled trends csv", which
        becomes the event's object type.
        """

        def unit(cur: Cursor) -> None:
            object_type = what.partition(" ")[0] or "export"
            self._audit(cur, actor, f"export {what}", object_type, object_id)

        self.write(unit)
