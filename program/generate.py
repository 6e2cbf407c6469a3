"""A realistic synthetic program for benchmarks and demos: `python -m program generate`.

Cohorts of 8–15 people follow the bundled curriculum; attendance drops off over the weeks;
pulse answers drift a little toward better; about one cohort in ten answers so sparsely that its
cells stay below the minimum group size. Everything goes in through the store's bulk path.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from program.library import load_curriculum
from program.models import Actor, CurriculumBundle, Direction, MemberStatus
from program.settings import Settings
from program.store import Store

Progress = Callable[[int, int], None]
BATCH = 500  # cohorts per transaction: memory stays flat, progress stays lively


@dataclass(frozen=True)
class Shape:
    """How answers move: each week a group's answers move `trend` of the scale's range toward
    better (negative: toward worse), give or take `group_spread` from one group to the next.
    `sparse_share` of the groups answer so rarely that their figures stay held back."""

    trend: float = 0.05
    group_spread: float = 0.0
    sparse_share: float = 0.1
    start_days: tuple[int, int] = (-60, 480)  # groups start this many days before today


@dataclass(frozen=True)
class Generated:
    program_id: int
    cohorts: int
    responses: int
    answers: int


def generate(
    store: Store,
    settings: Settings,
    cohorts: int,
    seed: int,
    today: dt.date | None = None,
    progress: Progress | None = None,
    shape: Shape | None = None,
) -> Generated:
    """Add a synthetic program of `cohorts` cohorts; deterministic for a given seed. `shape`
    sets the true change over the weeks (tests use it to know what the dashboard must say)."""
    shape = shape or Shape()
    today = today or dt.date.today()
    rng = np.random.default_rng(seed)
    actor = Actor.command_line()
    version, _ = load_curriculum(store, actor, settings.curricula / "collective-healing.yaml")
    bundle = store.curriculum_bundle(version.id)
    name = f"Synthetic program {seed}-{uuid.uuid4().hex[:6]}"
    program = store.create_program(actor, name, "Generated for benchmarks.", 5)
    facilitators = max(1, cohorts // 8)
    staff_ids = store.reserve_ids("staff_user_id", facilitators)
    store.bulk_load(
        {
            "staff_users": pd.DataFrame(
                {
                    "id": staff_ids,
                    "username": [f"synth-{program.id}-{i}" for i in staff_ids],
                    "display_name": [f"Synthetic facilitator {i}" for i in staff_ids],
                    "role": "facilitator",
                }
            ),
            # They belong to the program, as facilitators who run its cohorts do.
            "program_facilitators": pd.DataFrame({"program_id": program.id, "user_id": staff_ids}),
        }
    )
    totals = [0, 0]
    done = 0
    while done < cohorts:
        size = min(BATCH, cohorts - done)
        frames = _batch(store, bundle, version.id, program.id, staff_ids, size, today, rng, shape)
        store.bulk_load(frames)
        totals[0] += len(frames["responses"])
        totals[1] += len(frames["answers"])
        done += size
        if progress:
            progress(done, cohorts)
    return Generated(program.id, cohorts, totals[0], totals[1])


def _batch(
    store: Store,
    bundle: CurriculumBundle,
    version_id: int,
    program_id: int,
    staff_ids: list[int],
    count: int,
    today: dt.date,
    rng: np.random.Generator,
    shape: Shape,
) -> dict[str, pd.DataFrame]:
    curriculum = bundle.curriculum
    numbers = [s.number for s in curriculum.sessions]
    agenda_len = {s.number: len(s.agenda) for s in curriculum.sessions}
    cohort_ids = store.reserve_ids("cohort_id", count)
    sizes = rng.integers(8, 16, count)
    member_ids = store.reserve_ids("roster_member_id", int(sizes.sum()))
    session_ids = store.reserve_ids("session_id", count * len(numbers))
    # Cohorts start over the past 16 months and the next 2, on any weekday.
    starts = [today - dt.timedelta(days=int(d)) for d in rng.integers(*shape.start_days, count)]
    sparse = rng.random(count) < shape.sparse_share  # answer rarely: their cells stay suppressed
    slopes = (
        shape.trend + rng.normal(0, shape.group_spread, count)
        if shape.group_spread
        else (np.full(count, shape.trend))
    )

    cohorts = pd.DataFrame(
        {
            "id": cohort_ids,
            "program_id": program_id,
            "curriculum_version_id": version_id,
            "name": [f"Cohort {i}" for i in cohort_ids],
            "start_date": starts,
        }
    )
    facilitators = pd.DataFrame({"cohort_id": cohort_ids, "user_id": rng.choice(staff_ids, count)})
    roster_cohort = np.repeat(cohort_ids, sizes)
    roster = pd.DataFrame(
        {
            "id": member_ids,
            "cohort_id": roster_cohort,
            "display_name": [f"Member {m}" for m in member_ids],
            "status": MemberStatus.ACTIVE.value,
        }
    )
    session_rows: list[tuple[object, ...]] = []
    attendance: list[tuple[object, ...]] = []
    fidelity: list[tuple[object, ...]] = []
    windows: list[tuple[object, ...]] = []
    responses: list[tuple[object, ...]] = []
    answers: list[tuple[object, ...]] = []
    scores: list[tuple[object, ...]] = []
    member_start = 0
    sid = iter(session_ids)
    for c, cohort_id in enumerate(cohort_ids):
        members = member_ids[member_start : member_start + sizes[c]]
        member_start += sizes[c]
        keen = rng.random(len(members))  # who keeps coming
        for number in numbers:
            session_id = next(sid)
            date = starts[c] + dt.timedelta(weeks=number)
            held = date < today
            session_rows.append(
                (session_id, cohort_id, number, date, "held" if held else "planned")
            )
            if not held:
                continue
            present = keen > 0.05 * number + 0.1 * rng.random(len(members))
            for m, here in zip(members, present, strict=True):
                status = "present" if here else ("absent" if rng.random() < 0.7 else "excused")
                attendance.append((session_id, m, status))
            delivered = rng.random(agenda_len[number]) < 0.9
            fidelity.extend((session_id, i, bool(d)) for i, d in enumerate(delivered))
            items = bundle.pulse_items(number)
            if not items:
                continue
            opened = dt.datetime.combine(date, dt.time(19, 30))
            windows.append(
                (
                    session_id,
                    opened,
                    opened + dt.timedelta(hours=48),
                    opened + dt.timedelta(hours=1),
                )
            )
            rate = 0.3 if sparse[c] else 0.85
            answering = int(rng.binomial(int(present.sum()), rate))
            for _ in range(answering):
                rid = uuid.uuid4()
                responses.append((rid, session_id))
                raw: dict[str, dict[str, int]] = {}
                drift = 0.35 + slopes[c] * number + rng.normal(0, 0.18)
                for instrument, item in items:
                    share = (
                        drift if instrument.direction == Direction.HIGHER_IS_BETTER else 1 - drift
                    )
                    low, high = instrument.scale.min, instrument.scale.max
                    value = int(
                        np.clip(round(low + share * (high - low) + rng.normal(0, 0.8)), low, high)
                    )
                    answers.append((rid, instrument.id, item.id, value))
                    raw.setdefault(instrument.id, {})[item.id] = value
                for iid, values in raw.items():
                    scores.append((rid, iid, bundle.instruments[iid].score(values)))
    return {
        "cohorts": cohorts,
        "cohort_facilitators": facilitators,
        "roster_members": roster,
        "sessions": pd.DataFrame(
            session_rows, columns=["id", "cohort_id", "number", "scheduled_date", "status"]
        ),
        "attendance": pd.DataFrame(attendance, columns=["session_id", "member_id", "status"]),
        "fidelity": pd.DataFrame(fidelity, columns=["session_id", "agenda_index", "delivered"]),
        "pulse_windows": pd.DataFrame(
            windows, columns=["session_id", "opened_at", "closes_at", "closed_at"]
        ),
        "responses": pd.DataFrame(responses, columns=["id", "session_id"]),
        "answers": pd.DataFrame(
            answers, columns=["response_id", "instrument_id", "item_id", "value"]
        ),
        "scores": pd.DataFrame(scores, columns=["response_id", "instrument_id", "score"]),
    }
