"""Pulse windows, card codes and anonymous responses."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence

from program.errors import Conflict
from program.models import (
    Actor,
)
from program.store.base import Cursor, StoreBase


class PulseQueries(StoreBase):
    # ----------------------------------------------------------------------- pulse

    def store_closed_pulse(
        self,
        actor: Actor,
        session_id: int,
        opened_at: dt.datetime,
        responses: Sequence[dict[tuple[str, str], int]],
    ) -> None:
        """Record a pulse that already happened: a closed window and its responses, shuffled.

        Used to seed demo and synthetic data; live pulses go through the pulse window.
        """

        def unit(cur: Cursor) -> None:
            if cur.execute(
                "SELECT 1 FROM pulse_windows WHERE session_id = ?", [session_id]
            ).fetchone():
                raise Conflict("This session already has a pulse.")
            closed = opened_at + dt.timedelta(minutes=10)
            cur.execute(
                "INSERT INTO pulse_windows (session_id, room_code, opened_at, closes_at, closed_at)"
                " VALUES (?, NULL, ?, ?, ?)",
                [session_id, opened_at, closed, closed],
            )
            shuffled = list(responses)
            random.SystemRandom().shuffle(shuffled)
            ids = [uuid.uuid4() for _ in shuffled]
            cur.executemany(
                "INSERT INTO responses (id, session_id) VALUES (?, ?)",
                [[i, session_id] for i in ids],
            )
            cur.executemany(
                "INSERT INTO answers VALUES (?, ?, ?, ?)",
                [
                    [i, instrument, item, value]
                    for i, answers in zip(ids, shuffled, strict=True)
                    for (instrument, item), value in sorted(answers.items())
                ],
            )
            self._audit(cur, actor, "store closed pulse", "session", session_id)

        self.write(unit)
