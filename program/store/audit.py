"""The audit log."""

from __future__ import annotations

from program.models import (
    AuditEvent,
)
from program.store.base import StoreBase


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
