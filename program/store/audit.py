"""The audit log."""

from __future__ import annotations

from program.models import (
    Actor,
    AuditEvent,
)
from program.store.base import Cursor, StoreBase


class AuditQueries(StoreBase):
    # ----------------------------------------------------------------------- audit

    def audit_events(self, limit: int = 500) -> list[AuditEvent]:
        rows = self._rows(
            "SELECT id, occurred_at, actor, action, object_type, object_id, detail"
            " FROM audit_events ORDER BY id DESC LIMIT ?",
            [limit],
        )
        return [
            AuditEvent(
                id=r[0],
                occurred_at=r[1],
                actor=r[2],
                action=r[3],
                object_type=r[4],
                object_id=r[5],
                detail=r[6],
            )
            for r in rows
        ]

    def record_export(self, actor: Actor, what: str, object_id: object) -> None:
        """Audit one download of released aggregates as the event "export <what>".

        `what` starts with the kind of object exported, e.g. "program pooled trends csv", which
        becomes the event's object type.
        """

        def unit(cur: Cursor) -> None:
            object_type = what.partition(" ")[0] or "export"
            self._audit(cur, actor, f"export {what}", object_type, object_id)

        self.write(unit)
