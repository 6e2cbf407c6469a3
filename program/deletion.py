"""Deleting a cohort's data: what it holds, and removing all of it once the admin confirms.

Counts only, never names; and never a count of pulse answers, which would tell how many people
answered a pulse still open or a group below the minimum group size.
"""

from __future__ import annotations

from dataclasses import dataclass

from program.access import require_role
from program.errors import InvalidInput
from program.models import Actor, Cohort, Role, StaffUser
from program.store import Store
from program.store.deletion import ANSWER_TABLES, without_answer_counts


@dataclass(frozen=True)
class CohortData:
    """How much a cohort holds, by table: what deleting it would remove. Counts only, no names,
    and no count of pulse answers (it would tell how many answered an open pulse)."""

    cohort: Cohort
    rows: dict[str, int]
    holds_answers: bool


def cohort_data(store: Store, viewer: StaffUser, cohort_id: int) -> CohortData:
    require_role(viewer, Role.ADMIN)
    counts = store.cohort_data_counts(cohort_id)
    return CohortData(
        cohort=store.cohort(cohort_id),
        rows=without_answer_counts(counts),
        # A pulse that ever opened may hold answers, in this database or (open) in a ballot file.
        holds_answers=bool(counts.get("pulse_windows"))
        or any(counts.get(t) for t in ANSWER_TABLES),
    )


def delete_cohort_data(
    store: Store, viewer: StaffUser, cohort_id: int, typed_name: str
) -> dict[str, int]:
    """Remove all of a cohort's data once the admin has typed its exact name; the audit event stays."""
    require_role(viewer, Role.ADMIN)
    cohort = store.cohort(cohort_id)
    if typed_name != cohort.name:
        raise InvalidInput(
            f"To confirm, type the cohort's name exactly as shown: {cohort.name}"
            " (capitals, spaces and punctuation included)."
        )
    sessions = [s.id for s in store.sessions(cohort_id)]
    counts = store.delete_cohort_data(Actor.of(viewer), cohort_id, cohort.name)
    # An open pulse's answers are in its ballot file, outside the transaction above.
    store.discard_ballots(sessions)
    return without_answer_counts(counts)
