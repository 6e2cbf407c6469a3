"""Deleting one cohort's data: every row that belongs to it, in one transaction.

The tables to clear are found in the database's own catalog (information_schema), so the
statements here name tables and columns, which SQL cannot take as parameters. Those names come
only from the catalog and are quoted with `_name` before use; the cohort's keys go in as named
parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from program.errors import Conflict, NotFound
from program.models import Actor
from program.store.base import StoreBase
from program.store.engines import Cursor

# How a row belongs to a cohort: through one of these columns. Every table is searched for them,
# so a table added by a later migration (scores, cell summaries, ...) is covered without a change
# here, and nothing keyed to a deleted cohort can be left behind.
COHORT_LINKS = ("cohort_id", "session_id", "member_id", "response_id")

# Tables whose row counts would tell how many people answered a pulse, even one still open or
# below the minimum group size (card codes: how many cards were used). Deletion removes them but
# never counts them aloud, in the preview or the audit log: nothing about answers is shown before
# close or below k (docs/design.md, "Privacy rules").
ANSWER_TABLES = frozenset(
    {"responses", "answers", "scores", "cell_summaries", "cell_counts", "card_codes"}
)


# The statement for each thing done to a cohort's rows, around the table and condition: fixed
# text, never a caller's. A DELETE returns a row per row removed, so both say how many.
_VERBS = {"count": ("SELECT count(*) FROM ", ""), "delete": ("DELETE FROM ", " RETURNING 1")}
# Each key list's type, so an empty list is typed too (PostgreSQL cannot tell it otherwise).
_KEY_TYPES = {
    "cohort_id": "INTEGER[]",
    "session_id": "INTEGER[]",
    "member_id": "INTEGER[]",
    "response_id": "UUID[]",
}


class CohortRows(NamedTuple):
    """The rows of one table that belong to a cohort: a condition and its named parameters."""

    table: str
    condition: str
    params: dict[str, Any]


def without_answer_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """`counts` with the tables of `ANSWER_TABLES` left out."""
    return {t: n for t, n in counts.items() if t not in ANSWER_TABLES}


def _name(identifier: str) -> str:
    """A quoted SQL identifier. (tests/test_boundaries.py trusts only quoting functions defined
    in the module it checks, so this module keeps its own.)"""
    return '"' + identifier.replace('"', '""') + '"'


class DeletionQueries(StoreBase):
    @staticmethod
    def _cohort_rows(cur: Cursor, cohort_id: int) -> list[CohortRows]:
        """For each table holding rows of the cohort: its name, the condition and its parameters.

        The cohort's session, roster member and response ids are read first, so the rows can be
        deleted in any order within the transaction."""
        keys: dict[str, list[Any]] = {
            "cohort_id": [cohort_id],
            "session_id": [
                r[0]
                for r in cur.execute(
                    "SELECT id FROM sessions WHERE cohort_id = ?", [cohort_id]
                ).fetchall()
            ],
            "member_id": [
                r[0]
                for r in cur.execute(
                    "SELECT id FROM roster_members WHERE cohort_id = ?", [cohort_id]
                ).fetchall()
            ],
            "response_id": [
                r[0]
                for r in cur.execute(
                    "SELECT r.id FROM responses r JOIN sessions s ON s.id = r.session_id"
                    " WHERE s.cohort_id = ?",
                    [cohort_id],
                ).fetchall()
            ],
        }
        linked: dict[str, list[str]] = {}
        for table, column in cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name = ANY(?::VARCHAR[])"
            " ORDER BY table_name, ordinal_position",
            [list(COHORT_LINKS)],
        ).fetchall():
            linked.setdefault(table, []).append(column)
        out = [CohortRows("cohorts", "id = $cohort_id", {"cohort_id": cohort_id})]
        for table, columns in sorted(linked.items()):
            condition = " OR ".join(
                f"{_name(c)} IN (SELECT unnest(CAST(${c} AS {_KEY_TYPES[c]})))" for c in columns
            )
            out.append(CohortRows(table, condition, {c: keys[c] for c in columns}))
        return out

    @classmethod
    def _on_cohort_rows(
        cls, cur: Cursor, cohort_id: int, action: Literal["count", "delete"]
    ) -> dict[str, int]:
        """Count ("count") or remove ("delete") the cohort's rows in each table holding any.
        Table name -> that number."""
        head, tail = _VERBS[action]
        counts = {}
        for rows in cls._cohort_rows(cur, cohort_id):
            found = cur.execute(
                f"{head}{_name(rows.table)} WHERE {rows.condition}{tail}", rows.params
            ).fetchall()
            counts[rows.table] = int(found[0][0]) if action == "count" else len(found)
        return counts

    def cohort_data_counts(self, cohort_id: int) -> dict[str, int]:
        """How many rows of each table deleting the cohort's data would remove."""
        cur = self.cursor()
        try:
            return self._on_cohort_rows(cur, cohort_id, "count")
        finally:
            cur.close()

    def delete_cohort_data(self, actor: Actor, cohort_id: int, name: str) -> dict[str, int]:
        """Remove every row of one cohort in one transaction; the audit event stays.

        `name` is the name the admin confirmed: if the cohort was renamed meanwhile, nothing is
        deleted."""

        def unit(cur: Cursor) -> dict[str, int]:
            row = cur.execute(
                "SELECT name, program_id FROM cohorts WHERE id = ?", [cohort_id]
            ).fetchone()
            if row is None:
                raise NotFound(f"No cohort with id {cohort_id}; it may have been deleted already.")
            if row[0] != name:
                raise Conflict("The cohort was renamed meanwhile. Check the name and try again.")
            counts = self._on_cohort_rows(cur, cohort_id, "delete")
            summary = ", ".join(f"{t}={n}" for t, n in without_answer_counts(counts).items() if n)
            if any(counts.get(t) for t in ANSWER_TABLES):
                summary += ", and its anonymous pulse answers (not counted)"
            self._audit(
                cur,
                actor,
                "delete cohort data",
                "cohort",
                cohort_id,
                f"{name!r} (program {row[1]}): {summary}",
            )
            return counts

        return self.write(unit)
