"""Read-only queries behind the dashboards: frozen cell summaries, attendance and fidelity.

They read summaries of closed cells, never raw answers, and aggregate in DuckDB, so a dashboard
over thousands of cohorts reads a few thousand rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pandas as pd

from program.models import Mark, SessionStatus
from program.store.base import StoreBase

_IN_COHORTS = "s.cohort_id IN (SELECT unnest(?::INTEGER[]))"
# Every pulse cell of some cohorts that their curricula schedule (`program_cells`).
_PROGRAM_CELLS = (
    "SELECT s.cohort_id, s.id AS session_id, s.number AS session_number, p.measure_code,"
    " pw.closed_at IS NOT NULL AS closed, coalesce(c.n, 0) AS n,"
    " coalesce(c.total, 0) AS total, c.rounding_draw AS draw"
    " FROM sessions s"
    " JOIN cohorts co ON co.id = s.cohort_id"
    " JOIN pulse_windows pw ON pw.session_id = s.id"
    " JOIN (SELECT unnest(?::INTEGER[]) AS version_id, unnest(?::INTEGER[]) AS session_number,"
    "   unnest(?::VARCHAR[]) AS measure, unnest(?::INTEGER[]) AS measure_code) p"
    "   ON p.version_id = co.curriculum_version_id AND p.session_number = s.number"
    " LEFT JOIN cell_summaries c ON c.session_id = s.id AND c.instrument_id = p.measure"
    " WHERE " + _IN_COHORTS
)


class PulseState(NamedTuple):
    """A session that has a pulse, and whether the pulse has closed."""

    cohort_id: int
    session_id: int
    session_number: int
    closed: bool


class CellSummary(NamedTuple):
    """A closed cell's frozen count and sum; `draw` is the secret uniform number that decides
    whether its released mean rounds up or down."""

    session_id: int
    instrument_id: str
    n: int
    total: float
    draw: float


class CellCount(NamedTuple):
    """How many of a closed cell's answers scored `score`."""

    session_id: int
    instrument_id: str
    score: int
    responses: int


class SessionCount(NamedTuple):
    """A session's attendance: members marked present, and members marked at all."""

    cohort_id: int
    session_id: int
    session_number: int
    status: SessionStatus
    present: int
    marked: int


class MemberSessions(NamedTuple):
    """How many weekly sessions a roster member attended."""

    cohort_id: int
    member_id: int
    attended: int


class HeldAttendance(NamedTuple):
    """Members present and members enrolled at one session number, summed over cohorts."""

    session_number: int
    present: int
    enrolled: int


class FidelityCount(NamedTuple):
    """A session's fidelity checklist: items delivered of the items on it."""

    cohort_id: int
    session_number: int
    delivered: int
    planned: int


class MemberMark(NamedTuple):
    """One member's attendance mark at one session."""

    member_id: int
    session_number: int
    status: Mark
    late: bool


class PlanColumns(NamedTuple):
    """The columns of a plan (`cells.plan`): what each curriculum version asks at each session.
    The instance `PLAN_COLUMNS` holds the names themselves, in order."""

    version_id: str = "version_id"
    session_number: str = "session_number"
    measure: str = "measure"


class CellColumns(NamedTuple):
    """The columns of `ResultQueries.program_cells`, one row per session × scheduled measure.
    The instance `CELL_COLUMNS` holds the names themselves, in the order the query selects
    them."""

    cohort_id: str = "cohort_id"
    session_id: str = "session_id"
    session_number: str = "session_number"
    measure: str = "measure"
    closed: str = "closed"
    n: str = "n"
    total: str = "total"
    draw: str = "draw"


PLAN_COLUMNS = PlanColumns()
CELL_COLUMNS = CellColumns()


class ResultQueries(StoreBase):
    def data_version(self) -> int:
        """Changes whenever anything a dashboard shows may have changed (every such change is
        audited), so cached dashboard queries can be keyed on it."""
        row = self._one("SELECT coalesce(max(id), 0) FROM audit_events")
        return int(row[0]) if row else 0

    def pulse_states(self, cohort_ids: Sequence[int]) -> list[PulseState]:
        """Each session of these cohorts that has a pulse, and whether it has closed."""
        rows = self._rows(
            "SELECT s.cohort_id, s.id, s.number, pw.closed_at IS NOT NULL"
            " FROM sessions s JOIN pulse_windows pw ON pw.session_id = s.id"
            f" WHERE {_IN_COHORTS}",
            [list(cohort_ids)],
        )
        return [PulseState._make(r) for r in rows]

    def cell_summaries(self, cohort_ids: Sequence[int]) -> list[CellSummary]:
        """The frozen n, Σscore and rounding draw of every closed cell of these cohorts."""
        rows = self._rows(
            "SELECT c.session_id, c.instrument_id, c.n, c.total, c.rounding_draw"
            " FROM cell_summaries c JOIN sessions s ON s.id = c.session_id"
            f" WHERE {_IN_COHORTS}",
            [list(cohort_ids)],
        )
        return [CellSummary._make(r) for r in rows]

    def cell_counts(self, cohort_ids: Sequence[int]) -> list[CellCount]:
        """How many answers had each score, in every closed cell of these cohorts."""
        rows = self._rows(
            "SELECT c.session_id, c.instrument_id, c.score, c.responses"
            " FROM cell_counts c JOIN sessions s ON s.id = c.session_id"
            f" WHERE {_IN_COHORTS} ORDER BY c.score",
            [list(cohort_ids)],
        )
        return [CellCount._make(r) for r in rows]

    def attendance_counts(self, cohort_ids: Sequence[int]) -> list[SessionCount]:
        """Every session of these cohorts with its status and how many were present and marked,
        in session order."""
        rows = self._rows(
            "SELECT s.cohort_id, s.id, s.number, s.status,"
            " count(a.member_id) FILTER (WHERE a.status = 'present'), count(a.member_id)"
            " FROM sessions s LEFT JOIN attendance a ON a.session_id = s.id"
            f" WHERE {_IN_COHORTS} GROUP BY s.cohort_id, s.id, s.number, s.status"
            " ORDER BY s.cohort_id, s.number",
            [list(cohort_ids)],
        )
        return [
            SessionCount(cohort, session, number, SessionStatus(status), present, marked)
            for cohort, session, number, status, present, marked in rows
        ]

    def sessions_attended(self, cohort_ids: Sequence[int]) -> list[MemberSessions]:
        """The weekly sessions every roster member of these cohorts attended."""
        rows = self._rows(
            "SELECT r.cohort_id, r.id, coalesce(t.weekly_present, 0) FROM roster_members r"
            " LEFT JOIN member_attendance t ON t.member_id = r.id"
            " WHERE r.cohort_id IN (SELECT unnest(?::INTEGER[]))",
            [list(cohort_ids)],
        )
        return [MemberSessions._make(r) for r in rows]

    def attendance_totals_drift(self) -> int:
        """How many rows of the attendance totals differ from a recount of the marks; 0 when
        every write kept them (tests call this after each kind of write)."""
        row = self._one(
            "WITH sessions_now AS (SELECT session_id, count(*) AS present FROM attendance"
            "   WHERE status = 'present' GROUP BY session_id),"
            " members_now AS (SELECT a.member_id, count(*) AS weekly_present FROM attendance a"
            "   JOIN sessions s ON s.id = a.session_id"
            "   WHERE a.status = 'present' AND s.number >= 1 GROUP BY a.member_id)"
            " SELECT (SELECT count(*) FROM ("
            "   (SELECT * FROM sessions_now EXCEPT ALL SELECT * FROM session_attendance)"
            "   UNION ALL (SELECT * FROM session_attendance EXCEPT ALL SELECT * FROM sessions_now)"
            " ) AS d1) + (SELECT count(*) FROM ("
            "   (SELECT * FROM members_now EXCEPT ALL SELECT * FROM member_attendance)"
            "   UNION ALL (SELECT * FROM member_attendance EXCEPT ALL SELECT * FROM members_now)"
            " ) AS d2)"
        )
        return int(row[0]) if row else 0

    def held_attendance(self, cohort_ids: Sequence[int]) -> list[HeldAttendance]:
        """Members present and members enrolled at each session number, summed over the held
        sessions of these cohorts: the program dashboard's attendance and retention, aggregated here
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
        return [HeldAttendance(int(r[0]), int(r[1]), int(r[2])) for r in rows]

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

    def fidelity_counts(self, cohort_ids: Sequence[int]) -> list[FidelityCount]:
        """Each checklist of these cohorts' sessions: items delivered of the items on it."""
        rows = self._rows(
            "SELECT s.cohort_id, s.number, count(*) FILTER (WHERE f.delivered), count(*)"
            " FROM fidelity f JOIN sessions s ON s.id = f.session_id"
            f" WHERE {_IN_COHORTS} GROUP BY s.cohort_id, s.number ORDER BY s.number",
            [list(cohort_ids)],
        )
        return [FidelityCount._make(r) for r in rows]

    def member_attendance(self, cohort_id: int) -> list[MemberMark]:
        """Every attendance mark of one cohort: who came, for its facilitators."""
        rows = self._rows(
            "SELECT a.member_id, s.number, a.status, a.late FROM attendance a"
            " JOIN sessions s ON s.id = a.session_id WHERE s.cohort_id = ?",
            [cohort_id],
        )
        return [
            MemberMark(member, number, Mark(status), late) for member, number, status, late in rows
        ]

    def program_cells(self, cohort_ids: Sequence[int], plan: pd.DataFrame) -> pd.DataFrame:
        """Every pulse cell of these cohorts as a data frame, one row per session × scheduled
        measure, with the columns `CELL_COLUMNS`: where the cell is, whether its pulse has
        closed, n, total and draw (the cell's rounding draw, for the release engine only).

        `plan` is a data frame (`PLAN_COLUMNS`) of what each curriculum version asks at each
        session; a closed cell nobody answered comes back with n = 0 and no draw (NaN).
        """
        # The plan travels as arrays zipped back into rows (both engines zip unnests side by
        # side), not as a registered frame, which only DuckDB can join. Each measure comes back
        # as its number among the plan's measures: a column of small integers fetches far faster
        # than a hundred thousand strings, on either engine, and becomes the same categorical.
        measures = pd.Categorical(plan[PLAN_COLUMNS.measure])
        with self._report() as cur:
            cells = cur.execute(
                _PROGRAM_CELLS,
                [
                    [int(v) for v in plan[PLAN_COLUMNS.version_id]],
                    [int(n) for n in plan[PLAN_COLUMNS.session_number]],
                    [str(m) for m in measures],
                    [int(code) for code in measures.codes],
                    list(cohort_ids),
                ],
            ).df()
        cells["measure_code"] = pd.Categorical.from_codes(
            cells["measure_code"].astype("int64"), categories=measures.categories
        )
        # The names are the constants' (in the order selected), so consumers name no column
        # the query does not make.
        cells.columns = list(CELL_COLUMNS)
        return cells
