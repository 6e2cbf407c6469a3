"""Read-only queries behind the dashboards: frozen cell summaries, attendance and fidelity.

They read summaries of closed cells, never raw answers, and aggregate in DuckDB, so a dashboard
over thousands of cohorts reads a few thousand rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from program.store.base import StoreBase

_IN_COHORTS = "s.cohort_id IN (SELECT unnest(?::INTEGER[]))"


class ResultQueries(StoreBase):
    def data_version(self) -> int:
        """Changes whenever anything a dashboard shows may have changed (every such change is
        audited), so cached dashboard queries can be keyed on it."""
        row = self._one("SELECT coalesce(max(id), 0) FROM audit_events")
        return int(row[0]) if row else 0

    def pulse_states(self, cohort_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """(cohort id, session id, session number, closed?) for each session with a pulse."""
        return self._rows(
            "SELECT s.cohort_id, s.id, s.number, pw.closed_at IS NOT NULL"
            " FROM sessions s JOIN pulse_windows pw ON pw.session_id = s.id"
            f" WHERE {_IN_COHORTS}",
            [list(cohort_ids)],
        )

    def cell_summaries(self, cohort_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """(session id, instrument id, n, Σscore, rounding draw) of every closed cell: the draw is
        the secret uniform number that decides whether its released mean rounds up or down."""
        return self._rows(
            "SELECT c.session_id, c.instrument_id, c.n, c.total, c.rounding_draw"
            " FROM cell_summaries c JOIN sessions s ON s.id = c.session_id"
            f" WHERE {_IN_COHORTS}",
            [list(cohort_ids)],
        )

    def cell_counts(self, cohort_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """(session id, instrument id, score, responses) of every closed cell."""
        return self._rows(
            "SELECT c.session_id, c.instrument_id, c.score, c.responses"
            " FROM cell_counts c JOIN sessions s ON s.id = c.session_id"
            f" WHERE {_IN_COHORTS} ORDER BY c.score",
            [list(cohort_ids)],
        )

    def attendance_counts(self, cohort_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """(cohort id, session id, number, status, present, marked) for every session."""
        return self._rows(
            "SELECT s.cohort_id, s.id, s.number, s.status,"
            " count(a.member_id) FILTER (WHERE a.status = 'present'), count(a.member_id)"
            " FROM sessions s LEFT JOIN attendance a ON a.session_id = s.id"
            f" WHERE {_IN_COHORTS} GROUP BY s.cohort_id, s.id, s.number, s.status"
            " ORDER BY s.cohort_id, s.number",
            [list(cohort_ids)],
        )

    def sessions_attended(self, cohort_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """(cohort id, member id, weekly sessions attended) for every roster member."""
        return self._rows(
            "SELECT r.cohort_id, r.id, coalesce(t.weekly_present, 0) FROM roster_members r"
            " LEFT JOIN member_attendance t ON t.member_id = r.id"
            " WHERE r.cohort_id IN (SELECT unnest(?::INTEGER[]))",
            [list(cohort_ids)],
        )

    def attendance_totals_drift(self) -> int:
        """How many rows of the attendance totals differ from a recount of the marks; 0 when
        every write kept them (tests call this after each kind of write)."""
        row = self._one(
            "WITH sessions_now AS (SELECT session_id, count(*) AS present FROM attendance"
            "   WHERE status = 'present' GROUP BY session_id),"
            " members_now AS (SELECT a.member_id, count(*) AS weekly_present FROM attendance a"
            "   JOIN sessions s ON s.id = a.session_id"
            "   WHERE a.status = 'present' AND s.number >= 1 GROUP BY a.member_id)"
            " SELECT (SELECT count(*) FROM (FROM sessions_now EXCEPT ALL FROM session_attendance"
            "   UNION ALL (FROM session_attendance EXCEPT ALL FROM sessions_now)))"
            " + (SELECT count(*) FROM (FROM members_now EXCEPT ALL FROM member_attendance"
            "   UNION ALL (FROM member_attendance EXCEPT ALL FROM members_now)))"
        )
        return int(row[0]) if row else 0

    def held_attendance(self, cohort_ids: Sequence[int]) -> list[tuple[int, int, int]]:
        """(session number, members present, members enrolled), summed over the held sessions
        of these cohorts: the program dashboard's attendance and retention, aggregated here
        rather than row by row in Python. Enrolled counts everyone who joined each roster, as
        `enrolled_counts` does."""
        rows = self._rows(
            "WITH chosen AS (SELECT unnest(?::INTEGER[]) AS id),"
            " held AS (SELECT id, cohort_id, number FROM sessions"
            "   WHERE status = 'held' AND cohort_id IN (SELECT id FROM chosen)),"
            " enrolled AS (SELECT cohort_id, count(*) AS n FROM roster_members"
            "   WHERE cohort_id IN (SELECT id FROM chosen) GROUP BY cohort_id)"
            " SELECT h.number, coalesce(sum(p.present), 0), coalesce(sum(e.n), 0)"
            " FROM held h LEFT JOIN session_attendance p ON p.session_id = h.id"
            " LEFT JOIN enrolled e ON e.cohort_id = h.cohort_id"
            " GROUP BY h.number ORDER BY h.number",
            [list(cohort_ids)],
        )
        return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]

    def completers(self, cohort_ids: Sequence[int], min_sessions: Sequence[int]) -> int:
        """Members of these cohorts who attended at least their cohort's minimum number of
        weekly sessions (`min_sessions[i]` for `cohort_ids[i]`): counted here, not member by
        member in Python. Sessions attended are counted as `sessions_attended` counts them."""
        row = self._one(
            "WITH rule AS (SELECT unnest(?::INTEGER[]) AS cohort_id,"
            "   unnest(?::INTEGER[]) AS min_sessions),"
            " members AS (SELECT r.id, rule.min_sessions FROM roster_members r"
            "   JOIN rule ON rule.cohort_id = r.cohort_id)"
            " SELECT count(*) FROM members m LEFT JOIN member_attendance t ON t.member_id = m.id"
            " WHERE coalesce(t.weekly_present, 0) >= m.min_sessions",
            [list(cohort_ids), list(min_sessions)],
        )
        return int(row[0]) if row else 0

    def enrolled_counts(self, cohort_ids: Sequence[int]) -> dict[int, int]:
        """Everyone who joined each roster, withdrawn or not: the denominator of attendance,
        retention and completion, so a withdrawal shows as a drop rather than vanishing."""
        rows = self._rows(
            "SELECT cohort_id, count(*) FROM roster_members"
            " WHERE cohort_id IN (SELECT unnest(?::INTEGER[])) GROUP BY cohort_id",
            [list(cohort_ids)],
        )
        return {r[0]: int(r[1]) for r in rows}

    def fidelity_counts(self, cohort_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """(cohort id, session number, items delivered, items on the checklist)."""
        return self._rows(
            "SELECT s.cohort_id, s.number, count(*) FILTER (WHERE f.delivered), count(*)"
            " FROM fidelity f JOIN sessions s ON s.id = f.session_id"
            f" WHERE {_IN_COHORTS} GROUP BY s.cohort_id, s.number ORDER BY s.number",
            [list(cohort_ids)],
        )

    def member_attendance(self, cohort_id: int) -> list[tuple[Any, ...]]:
        """(member id, session number, status, late) for one cohort: who came, for its facilitators."""
        return self._rows(
            "SELECT a.member_id, s.number, a.status, a.late FROM attendance a"
            " JOIN sessions s ON s.id = a.session_id WHERE s.cohort_id = ?",
            [cohort_id],
        )

    def program_cells(self, cohort_ids: Sequence[int], plan: Any) -> Any:
        """Every pulse cell of these cohorts as a data frame, one row per session × scheduled
        measure: cohort_id, session_id, session_number, measure, closed, n, total and draw (the
        cell's rounding draw, for the release engine only).

        `plan` is a data frame (version_id, session_number, measure) of what each curriculum
        version asks at each session; a closed cell nobody answered comes back with n = 0 and no
        draw (NaN).
        """
        cur = self.cursor()
        try:
            cur.register("plan", plan)
            return cur.execute(
                "SELECT s.cohort_id, s.id AS session_id, s.number AS session_number, p.measure,"
                " pw.closed_at IS NOT NULL AS closed, coalesce(c.n, 0) AS n,"
                " coalesce(c.total, 0) AS total, c.rounding_draw AS draw"
                " FROM sessions s"
                " JOIN cohorts co ON co.id = s.cohort_id"
                " JOIN pulse_windows pw ON pw.session_id = s.id"
                " JOIN plan p ON p.version_id = co.curriculum_version_id"
                "   AND p.session_number = s.number"
                " LEFT JOIN cell_summaries c ON c.session_id = s.id AND c.instrument_id = p.measure"
                f" WHERE {_IN_COHORTS}",
                [list(cohort_ids)],
            ).df()
        finally:
            cur.close()
