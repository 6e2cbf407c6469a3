"""Cohorts, rosters, sessions, attendance and fidelity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from program.errors import NOTES_CHANGED, Conflict, NotFound
from program.models import (
    Actor,
    AttendanceMark,
    Cohort,
    Mark,
    MemberStatus,
    RosterMember,
    SessionRecord,
    SessionReport,
    SessionStatus,
)
from program.store.base import StoreBase
from program.store.engines import Cursor
from program.store.programs import add_program_facilitators

if TYPE_CHECKING:
    import pandas as pd


class CohortColumns(NamedTuple):
    """The columns of `CohortQueries.cohort_frame`: a `Cohort`'s fields, then how many joined
    its roster. The instance `COHORT_COLUMNS` holds the names themselves, in order."""

    id: str = "id"
    program_id: str = "program_id"
    curriculum_version_id: str = "curriculum_version_id"
    name: str = "name"
    start_date: str = "start_date"
    status: str = "status"
    enrolled: str = "enrolled"


COHORT_COLUMNS = CohortColumns()
# What `_COHORT` selects, in order: every column of the frame but the roster count.
_COHORT_FIELDS = COHORT_COLUMNS[:-1]
_SESSION_FIELDS = ("id", "cohort_id", "number", "scheduled_date", "status", "notes")

# md5 of everything a session form shows; cheap, and only compared for equality.
_REVISION = (
    "SELECT md5(concat_ws('|',"
    " (SELECT concat_ws(',', status, notes, scheduled_date) FROM sessions WHERE id = ?),"
    " (SELECT string_agg(concat_ws(',', member_id, status, late), ';' ORDER BY member_id)"
    "  FROM attendance WHERE session_id = ?),"
    " (SELECT string_agg(concat_ws(',', agenda_index, delivered), ';' ORDER BY agenda_index)"
    "  FROM fidelity WHERE session_id = ?)))"
)


def refresh_attendance_totals(cur: Cursor, session_ids: Sequence[int]) -> None:
    """Recount the attendance totals (migration 0004) of these sessions and of every member of
    their cohorts, from the marks, inside the caller's transaction."""
    ids = {"ids": list(session_ids)}
    cur.execute("DELETE FROM session_attendance WHERE session_id IN (SELECT unnest($ids))", ids)
    cur.execute(
        "INSERT INTO session_attendance SELECT session_id, count(*) FROM attendance"
        " WHERE status = 'present' AND session_id IN (SELECT unnest($ids)) GROUP BY session_id",
        ids,
    )
    cur.execute(
        "DELETE FROM member_attendance WHERE member_id IN (SELECT id FROM roster_members"
        " WHERE cohort_id IN (SELECT cohort_id FROM sessions WHERE id IN (SELECT unnest($ids))))",
        ids,
    )
    cur.execute(
        "INSERT INTO member_attendance SELECT a.member_id, count(*) FROM attendance a"
        " JOIN sessions s ON s.id = a.session_id"
        " WHERE a.status = 'present' AND s.number >= 1 AND a.member_id IN (SELECT id"
        " FROM roster_members WHERE cohort_id IN (SELECT cohort_id FROM sessions"
        " WHERE id IN (SELECT unnest($ids))))"
        " GROUP BY a.member_id",
        ids,
    )


def _refuse_duplicate_name(cur: Cursor, cohort_id: int, name: str, member_id: int | None) -> None:
    clash = cur.execute(
        "SELECT 1 FROM roster_members WHERE cohort_id = ? AND lower(display_name) = lower(?)"
        " AND id IS DISTINCT FROM ?",
        [cohort_id, name, member_id],
    ).fetchone()
    if clash:
        raise Conflict(f"The roster already has someone called {name!r}. Use another name.")


class CohortQueries(StoreBase):
    # ----------------------------------------------------------------------- cohorts

    # The status is a CohortStatus, worked out from the cohort's sessions.
    _COHORT = (
        "SELECT c.id, c.program_id, c.curriculum_version_id, c.name, c.start_date,"
        " CASE WHEN NOT EXISTS (SELECT 1 FROM sessions s WHERE s.cohort_id = c.id"
        "                       AND s.status = 'planned') THEN 'finished'"
        "      WHEN EXISTS (SELECT 1 FROM sessions s WHERE s.cohort_id = c.id"
        "                   AND s.status = 'held') THEN 'running'"
        "      ELSE 'scheduled' END AS status"
        " FROM cohorts c"
    )

    @staticmethod
    def _cohort(row: Sequence[object]) -> Cohort:
        return Cohort.model_validate(dict(zip(_COHORT_FIELDS, row, strict=True)))

    def create_cohort(
        self,
        actor: Actor,
        program_id: int,
        curriculum_version_id: int,
        name: str,
        session_dates: dict[int, dt.date],
        facilitator_ids: Sequence[int],
        roster: Sequence[str],
        new_program_facilitators: Sequence[int] = (),
    ) -> Cohort:
        """Create a cohort with its sessions, facilitators and roster in one transaction.

        `new_program_facilitators` join the cohort's program in the same transaction (a lead or
        admin assigning them vouches for them)."""

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
            if facilitator_ids:
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
            add_program_facilitators(cur, actor, program_id, new_program_facilitators)
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

    def cohort_frame(self, program_id: int) -> pd.DataFrame:
        """A program's cohorts as one data frame, for dashboards over thousands of them, with
        the columns `COHORT_COLUMNS` (enrolled: everyone who joined the roster, as
        `enrolled_counts` counts), ordered as `cohorts` orders them."""
        cur = self.cursor()
        try:
            cohorts = cur.execute(
                "WITH chosen AS (" + self._COHORT + " WHERE c.program_id = ?),"
                " enrolled AS (SELECT cohort_id, count(*) AS n FROM roster_members"
                "   WHERE cohort_id IN (SELECT id FROM cohorts WHERE program_id = ?)"
                "   GROUP BY cohort_id)"
                " SELECT ch.*, coalesce(e.n, 0) AS enrolled FROM chosen ch"
                " LEFT JOIN enrolled e ON e.cohort_id = ch.id ORDER BY ch.start_date, ch.id",
                [program_id, program_id],
            ).df()
        finally:
            cur.close()
        # The names are the constants' (in the order selected), so consumers name no column
        # the query does not make.
        cohorts.columns = list(COHORT_COLUMNS)
        return cohorts

    def facilitated_cohort_ids(self, user_id: int) -> list[int]:
        rows = self._rows("SELECT cohort_id FROM cohort_facilitators WHERE user_id = ?", [user_id])
        return [r[0] for r in rows]

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
    def _session(row: Sequence[object]) -> SessionRecord:
        return SessionRecord.model_validate(dict(zip(_SESSION_FIELDS, row, strict=True)))

    def sessions(self, cohort_id: int) -> list[SessionRecord]:
        rows = self._rows(f"{self._SESSION} WHERE cohort_id = ? ORDER BY number", [cohort_id])
        return [self._session(r) for r in rows]

    def sessions_of_cohorts(self, cohort_ids: Sequence[int]) -> dict[int, list[SessionRecord]]:
        """The sessions of many cohorts at once, by cohort id, each list in session order."""
        rows = self._rows(
            f"{self._SESSION} WHERE cohort_id IN (SELECT unnest(?::INTEGER[]))"
            " ORDER BY cohort_id, number",
            [list(cohort_ids)],
        )
        out: dict[int, list[SessionRecord]] = {i: [] for i in cohort_ids}
        for row in rows:
            out[row[1]].append(self._session(row))
        return out

    def session(self, session_id: int) -> SessionRecord:
        row = self._one(f"{self._SESSION} WHERE id = ?", [session_id])
        if row is None:
            raise NotFound(f"No session with id {session_id}.")
        return self._session(row)

    def session_revision(self, session_id: int) -> str:
        """A fingerprint of a session's record; a form drawn from an older one is stale."""
        row = self._one(_REVISION, [session_id, session_id, session_id])
        return str(row[0]) if row else ""

    def record_session(
        self, actor: Actor, session_id: int, report: SessionReport, expected_revision: str
    ) -> None:
        """Replace a session's attendance, fidelity checklist and notes; mark it held if asked.

        Refuses with Conflict when the session changed since `expected_revision` was read, so a
        form submitted twice, or from an old tab, cannot silently undo someone's edits.
        """

        def unit(cur: Cursor) -> None:
            row = cur.execute(_REVISION, [session_id, session_id, session_id]).fetchone()
            if row is None or str(row[0]) != expected_revision:
                raise Conflict(
                    "This session was changed since the page was loaded (perhaps in another tab)."
                    " Your changes were not saved; the page now shows the latest record."
                )
            status = cur.execute(
                "SELECT status FROM sessions WHERE id = ?", [session_id]
            ).fetchone()
            assert status is not None
            cur.execute("DELETE FROM attendance WHERE session_id = ?", [session_id])
            if report.attendance:
                cur.executemany(
                    "INSERT INTO attendance (session_id, member_id, status, late) VALUES (?, ?, ?, ?)",
                    [
                        [session_id, m, mark.status.value, mark.late]
                        for m, mark in sorted(report.attendance.items())
                    ],
                )
            refresh_attendance_totals(cur, [session_id])
            cur.execute("DELETE FROM fidelity WHERE session_id = ?", [session_id])
            if report.agenda_length:
                cur.executemany(
                    "INSERT INTO fidelity VALUES (?, ?, ?)",
                    [[session_id, i, i in report.delivered] for i in range(report.agenda_length)],
                )
            new_status = "held" if report.held else status[0]
            cur.execute(
                "UPDATE sessions SET status = ?, notes = ? WHERE id = ?",
                [new_status, report.notes, session_id],
            )
            action = "edit held session" if status[0] == "held" else "record session"
            self._audit(
                cur,
                actor,
                action,
                "session",
                session_id,
                f"present={report.present} of {len(report.attendance)};"
                f" delivered={len(report.delivered)} of {report.agenda_length}; status={new_status}",
            )

        self.write(unit)

    def set_attendance(
        self, actor: Actor, session_id: int, marks: Mapping[int, AttendanceMark]
    ) -> None:
        """Write some members' marks for a session as they are made, leaving the others as they
        are: two facilitators marking different people at once both keep their marks."""

        def unit(cur: Cursor) -> None:
            cur.executemany(
                "INSERT INTO attendance (session_id, member_id, status, late) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (session_id, member_id)"
                " DO UPDATE SET status = excluded.status, late = excluded.late",
                [
                    [session_id, m, mark.status.value, mark.late]
                    for m, mark in sorted(marks.items())
                ],
            )
            refresh_attendance_totals(cur, [session_id])
            detail = "; ".join(
                f"member {m}: {mark.status.value}{' late' if mark.late else ''}"
                for m, mark in sorted(marks.items())
            )
            self._audit(cur, actor, "mark attendance", "session", session_id, detail[:500])

        self.write(unit)

    def set_delivered(
        self, actor: Actor, session_id: int, index: int, agenda_length: int, delivered: bool
    ) -> None:
        """Tick one agenda item of the fidelity checklist, or untick it."""

        def unit(cur: Cursor) -> None:
            # The checklist has a row per agenda item once anything is recorded (see
            # record_session): the rows of the others are made unticked.
            cur.executemany(
                "INSERT INTO fidelity VALUES (?, ?, false) ON CONFLICT DO NOTHING",
                [[session_id, i] for i in range(agenda_length)],
            )
            cur.execute(
                "UPDATE fidelity SET delivered = ? WHERE session_id = ? AND agenda_index = ?"
                " RETURNING agenda_index",  # RETURNING: so that two writers of one row conflict
                [delivered, session_id, index],
            ).fetchall()
            self._audit(
                cur,
                actor,
                "tick agenda item" if delivered else "untick agenda item",
                "session",
                session_id,
                f"item {index + 1} of {agenda_length}",
            )

        self.write(unit)

    def set_session_notes(self, actor: Actor, session_id: int, notes: str, expected: str) -> None:
        """Replace a session's notes, if they are still `expected` (what the writer last saw);
        otherwise Conflict, so one facilitator's notes never silently replace another's."""

        def unit(cur: Cursor) -> None:
            row = cur.execute(
                "UPDATE sessions SET notes = ? WHERE id = ? AND notes = ? RETURNING id",
                [notes, session_id, expected],
            ).fetchall()
            if not row:
                raise Conflict(NOTES_CHANGED)
            self._audit(cur, actor, "edit session notes", "session", session_id)

        self.write(unit)

    def attendance_marks(self, session_id: int) -> dict[int, AttendanceMark]:
        rows = self._rows(
            "SELECT member_id, status, late FROM attendance WHERE session_id = ?", [session_id]
        )
        return {r[0]: AttendanceMark(status=Mark(r[1]), late=r[2]) for r in rows}

    def fidelity(self, session_id: int) -> dict[int, bool]:
        rows = self._rows(
            "SELECT agenda_index, delivered FROM fidelity WHERE session_id = ?", [session_id]
        )
        return {r[0]: r[1] for r in rows}

    def set_session_date(self, actor: Actor, session_id: int, date: dt.date) -> None:
        def unit(cur: Cursor) -> None:
            cur.execute("UPDATE sessions SET scheduled_date = ? WHERE id = ?", [date, session_id])
            self._audit(cur, actor, "reschedule session", "session", session_id, str(date))

        self.write(unit)

    def move_sessions(
        self, actor: Actor, dates: Mapping[int, dt.date], cancel: Sequence[int] = ()
    ) -> None:
        """Give sessions new dates and cancel others, in one change (cohorts.met_today)."""

        def unit(cur: Cursor) -> None:
            for session_id in cancel:
                cur.execute(
                    "UPDATE sessions SET status = 'cancelled' WHERE id = ? AND status = 'planned'"
                    " RETURNING id",
                    [session_id],
                ).fetchall()
                self._audit(cur, actor, "mark session cancelled", "session", session_id)
            for session_id, date in sorted(dates.items()):
                cur.execute(
                    "UPDATE sessions SET scheduled_date = ? WHERE id = ? RETURNING id",
                    [date, session_id],
                ).fetchall()
                self._audit(cur, actor, "reschedule session", "session", session_id, str(date))

        self.write(unit)

    def set_session_status(self, actor: Actor, session_id: int, status: SessionStatus) -> None:
        def unit(cur: Cursor) -> None:
            cur.execute("UPDATE sessions SET status = ? WHERE id = ?", [status.value, session_id])
            self._audit(cur, actor, f"mark session {status.value}", "session", session_id)

        self.write(unit)

    def set_cohort_facilitators(
        self,
        actor: Actor,
        cohort_id: int,
        user_ids: Sequence[int],
        new_program_facilitators: Sequence[int] = (),
    ) -> None:
        """Replace a cohort's facilitators; `new_program_facilitators` join its program too."""

        def unit(cur: Cursor) -> None:
            cur.execute("DELETE FROM cohort_facilitators WHERE cohort_id = ?", [cohort_id])
            if user_ids:
                cur.executemany(
                    "INSERT INTO cohort_facilitators VALUES (?, ?)",
                    [[cohort_id, u] for u in sorted(set(user_ids))],
                )
            self._audit(
                cur,
                actor,
                "assign facilitators",
                "cohort",
                cohort_id,
                "users=" + ",".join(str(u) for u in sorted(set(user_ids))),
            )
            if new_program_facilitators:
                program_id = self._cohort_in(cur, cohort_id).program_id
                add_program_facilitators(cur, actor, program_id, new_program_facilitators)

        self.write(unit)

    def add_roster_member(self, actor: Actor, cohort_id: int, name: str) -> RosterMember:
        def unit(cur: Cursor) -> RosterMember:
            _refuse_duplicate_name(cur, cohort_id, name, None)
            row = cur.execute(
                "INSERT INTO roster_members (cohort_id, display_name) VALUES (?, ?)"
                " RETURNING id, cohort_id, display_name, status",
                [cohort_id, name],
            ).fetchone()
            assert row is not None
            self._audit(cur, actor, "add roster member", "roster_member", row[0])
            return RosterMember(id=row[0], cohort_id=row[1], display_name=row[2], status=row[3])

        return self.write(unit)

    def rename_roster_member(self, actor: Actor, member_id: int, name: str) -> None:
        def unit(cur: Cursor) -> None:
            row = cur.execute(
                "SELECT cohort_id FROM roster_members WHERE id = ?", [member_id]
            ).fetchone()
            if row is None:
                raise NotFound("That roster member does not exist.")
            _refuse_duplicate_name(cur, row[0], name, member_id)
            cur.execute(
                "UPDATE roster_members SET display_name = ? WHERE id = ?", [name, member_id]
            )
            # The names themselves stay out of the audit log: it is read by admins.
            self._audit(cur, actor, "rename roster member", "roster_member", member_id)

        self.write(unit)

    def set_roster_status(self, actor: Actor, member_id: int, status: MemberStatus) -> None:
        def unit(cur: Cursor) -> None:
            cur.execute(
                "UPDATE roster_members SET status = ? WHERE id = ?", [status.value, member_id]
            )
            self._audit(cur, actor, f"roster member {status.value}", "roster_member", member_id)

        self.write(unit)

    def enrolled_count(self, cohort_id: int) -> int:
        """Active roster members: the denominator of attendance and response rates."""
        row = self._one(
            "SELECT count(*) FROM roster_members WHERE cohort_id = ? AND status = 'active'",
            [cohort_id],
        )
        return int(row[0]) if row else 0

    def active_member_counts(self, cohort_ids: Sequence[int]) -> dict[int, int]:
        """`enrolled_count` for many cohorts at once; a cohort with none is left out."""
        rows = self._rows(
            "SELECT cohort_id, count(*) FROM roster_members"
            " WHERE cohort_id IN (SELECT unnest(?::INTEGER[])) AND status = 'active'"
            " GROUP BY cohort_id",
            [list(cohort_ids)],
        )
        return {r[0]: int(r[1]) for r in rows}

    def roster_member(self, member_id: int) -> RosterMember:
        row = self._one(
            "SELECT id, cohort_id, display_name, status FROM roster_members WHERE id = ?",
            [member_id],
        )
        if row is None:
            raise NotFound("That roster member does not exist.")
        return RosterMember(id=row[0], cohort_id=row[1], display_name=row[2], status=row[3])
