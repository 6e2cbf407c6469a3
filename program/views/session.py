"""Run a session: which sessions of a cohort the runner offers, and which it opens on.

The sheet itself (guide, marks, notes) is session_runner.open_sheet; this is the choice above it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from program import access, session_runner
from program.models import Cohort, SessionRecord, SessionStatus, StaffUser
from program.store import Store


@dataclass(frozen=True)
class SessionChoice:
    """A cohort's sessions to choose from, by id, and the one to open when none is asked for."""

    cohort: Cohort
    sessions: dict[int, SessionRecord]  # by id, in order; cancelled sessions are not run
    titles: dict[int, str]  # session number -> its title in the cohort's curriculum version
    default: SessionRecord | None

    def label(self, session_id: int) -> str:
        s = self.sessions[session_id]
        return f"{s.number} · {s.scheduled_date:%a %d %b} · {self.titles[s.number]}"

    def linked(self, session_id: str | None) -> SessionRecord | None:
        """The session a link names (its id as text), or the default when it names none here."""
        return next((s for i, s in self.sessions.items() if str(i) == session_id), self.default)


def session_choice(
    store: Store, viewer: StaffUser, cohort_id: int, today: dt.date
) -> SessionChoice:
    """Only a cohort's facilitators run its sessions."""
    cohort = access.require_facilitator(store, viewer, cohort_id)
    sessions = [s for s in store.sessions(cohort_id) if s.status != SessionStatus.CANCELLED]
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    return SessionChoice(
        cohort=cohort,
        sessions={s.id: s for s in sessions},
        titles={s.number: s.title for s in bundle.curriculum.sessions},
        default=session_runner.default_session(sessions, today),
    )
