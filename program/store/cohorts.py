"""Programs, cohorts, rosters, sessions, attendance and fidelity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from program.errors import Conflict, NotFound
from program.models import (
    Actor,
    Cohort,
    Program,
    RosterMember,
    SessionRecord,
)
from program.store.base import Cursor, StoreBase


class CohortQueries(StoreBase):
    # ----------------------------------------------------------------------- programs

    _PROGRAM = "SELECT id, name, description, min_cell_size FROM programs"

    @staticmethod
    def _program(row: tuple[Any, ...]) -> Program:
        return Program(id=row[0], name=row[1], description=row[2], min_cell_size=row[3])

    def create_program(
        self, actor: Actor, name: str, description: str = "", min_cell_size: int = 5
    ) -> Program:
        def unit(cur: Cursor) -> Program:
            if cur.execute("SELECT 1 FROM programs WHERE name = ?", [name]).fetchone():
                raise Conflict(f"A program named {name!r} exists already.")
            row = cur.execute(
                "INSERT INTO programs (name, description, min_cell_size) VALUES (?, ?, ?)"
                " RETURNING id, name, description, min_cell_size",
                [name, description, min_cell_size],
            ).fetchone()
            assert row is not None
            self._audit(cur, actor, "create program", "program", row[0], f"k={min_cell_size}")
            return self._program(row)

        return self.write(unit)

    def program(self, program_id: int) -> Program:
        row = self._one(f"{self._PROGRAM} WHERE id = ?", [program_id])
        if row is None:
            raise NotFound(f"No program with id {program_id}.")
        return self._program(row)

    def programs(self) -> list[Program]:
        return [self._program(r) for r in self._rows(f"{self._PROGRAM} ORDER BY name")]

    def add_program_lead(self, actor: Actor, program_id: int, user_id: int) -> None:
        def unit(cur: Cursor) -> None:
            cur.execute(
                "INSERT INTO program_leads VALUES (?, ?) ON CONFLICT DO NOTHING",
                [program_id, user_id],
            )
            self._audit(cur, actor, "assign lead", "program", program_id, f"user={user_id}")

        self.write(unit)

    def program_lead_ids(self, program_id: int) -> list[int]:
        rows = self._rows("SELECT user_id FROM program_leads WHERE program_id = ?", [program_id])
        return [r[0] for r in rows]

    # ----------------------------------------------------------------------- cohorts

    _COHORT = (
        "SELECT c.id, c.program_id, c.curriculum_version_id, c.name, c.start_date,"
        " CASE WHEN NOT EXISTS (SELECT 1 FROM sessions s WHERE s.cohort_id = c.id"
        "                       AND s.status = 'planned') THEN 'finished'"
        "      WHEN EXISTS (SELECT 1 FROM sessions s WHERE s.cohort_id = c.id"
        "                   AND s.status = 'held') THEN 'running'"
        "      ELSE 'scheduled' END"
        " FROM cohorts c"
    )

    @staticmethod
    def _cohort(row: tuple[Any, ...]) -> Cohort:
        return Cohort(
            id=row[0],
            program_id=row[1],
            curriculum_version_id=row[2],
            name=row[3],
            start_date=row[4],
            status=row[5],
        )

    def create_cohort(
        self,
        actor: Actor,
        program_id: int,
        curriculum_version_id: int,
        name: str,
        session_dates: dict[int, dt.date],
        facilitator_ids: Sequence[int],
        roster: Sequence[str],
    ) -> Cohort:
        """Create a cohort with its sessions, facilitators and roster in one transaction."""

        def unit(cur: Cursor) -> Cohort:
            if cur.execute(
                "SELECT 1 FROM cohorts WHERE program_id = ? AND name = ?", [program_id, name]
            ).fetchone():
                raise Conflict(f"This program already has a cohort named {name!r}.")
            start = min(session_dates.values())
            row = cur.execute(
                "INSERT INTO cohorts (program_id, curriculum_version_id, name, start_date)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                [program_id, curriculum_version_id, name, start],
            ).fetchone()
            assert row is not None
            cohort_id = int(row[0])
            cur.executemany(
                "INSERT INTO sessions (cohort_id, number, scheduled_date) VALUES (?, ?, ?)",
                [[cohort_id, n, d] for n, d in sorted(session_dates.items())],
            )
            cur.executemany(
                "INSERT INTO cohort_facilitators VALUES (?, ?)",
                [[cohort_id, u] for u in sorted(set(facilitator_ids))],
            )
            if roster:
                cur.executemany(
                    "INSERT INTO roster_members (cohort_id, display_name) VALUES (?, ?)",
                    [[cohort_id, n] for n in roster],
                )
            self._audit(cur, actor, "create cohort", "cohort", cohort_id, name)
            return self._cohort_in(cur, cohort_id)

        return self.write(unit)

    def _cohort_in(self, cur: Cursor, cohort_id: int) -> Cohort:
        row = cur.execute(f"{self._COHORT} WHERE c.id = ?", [cohort_id]).fetchone()
        if row is None:
            raise NotFound(f"No cohort with id {cohort_id}.")
        return self._cohort(row)

    def cohort(self, cohort_id: int) -> Cohort:
        cur = self.cursor()
        try:
            return self._cohort_in(cur, cohort_id)
        finally:
            cur.close()

    def cohorts(self, program_id: int | None = None) -> list[Cohort]:
        if program_id is None:
            rows = self._rows(f"{self._COHORT} ORDER BY c.start_date, c.id")
        else:
            rows = self._rows(
                f"{self._COHORT} WHERE c.program_id = ? ORDER BY c.start_date, c.id", [program_id]
            )
        return [self._cohort(r) for r in rows]

    def cohort_facilitator_ids(self, cohort_id: int) -> list[int]:
        rows = self._rows(
            "SELECT user_id FROM cohort_facilitators WHERE cohort_id = ?", [cohort_id]
        )
        return [r[0] for r in rows]

    # ----------------------------------------------------------------------- roster

    def roster(self, cohort_id: int) -> list[RosterMember]:
        rows = self._rows(
            "SELECT id, cohort_id, display_name, status FROM roster_members WHERE cohort_id = ?"
            " ORDER BY display_name",
            [cohort_id],
        )
        return [RosterMember(id=r[0], cohort_id=r[1], display_name=r[2], status=r[3]) for r in rows]

    # ----------------------------------------------------------------------- sessions

    _SESSION = "SELECT id, cohort_id, number, scheduled_date, status, notes FROM sessions"

    @staticmethod
    def _session(row: tuple[Any, ...]) -> SessionRecord:
        return SessionRecord(
            id=row[0],
            cohort_id=row[1],
            number=row[2],
            scheduled_date=row[3],
            status=row[4],
            notes=row[5],
        )

    def sessions(self, cohort_id: int) -> list[SessionRecord]:
        rows = self._rows(f"{self._SESSION} WHERE cohort_id = ? ORDER BY number", [cohort_id])
        return [self._session(r) for r in rows]

    def session(self, session_id: int) -> SessionRecord:
        row = self._one(f"{self._SESSION} WHERE id = ?", [session_id])
        if row is None:
            raise NotFound(f"No session with id {session_id}.")
        return self._session(row)

    def record_session(
        self,
        actor: Actor,
        session_id: int,
        attendance: dict[int, str],
        delivered: Sequence[int],
        agenda_length: int,
        held: bool,
    ) -> None:
        """Write a session's attendance and fidelity checklist, and mark it held if asked."""

        def unit(cur: Cursor) -> None:
            cur.execute("DELETE FROM attendance WHERE session_id = ?", [session_id])
            cur.executemany(
                "INSERT INTO attendance (session_id, member_id, status) VALUES (?, ?, ?)",
                [[session_id, m, s] for m, s in sorted(attendance.items())],
            )
            cur.execute("DELETE FROM fidelity WHERE session_id = ?", [session_id])
            cur.executemany(
                "INSERT INTO fidelity VALUES (?, ?, ?)",
                [[session_id, i, i in delivered] for i in range(agenda_length)],
            )
            if held:
                cur.execute("UPDATE sessions SET status = 'held' WHERE id = ?", [session_id])
            self._audit(
                cur,
                actor,
                "record session",
                "session",
                session_id,
                f"present={sum(s == 'present' for s in attendance.values())} held={held}",
            )

        self.write(unit)

    def attendance(self, session_id: int) -> dict[int, str]:
        rows = self._rows(
            "SELECT member_id, status FROM attendance WHERE session_id = ?", [session_id]
        )
        return {r[0]: r[1] for r in rows}
