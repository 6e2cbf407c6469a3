"""A demo program for a new database in demo mode, so a newcomer sees real pages at once.

Demo accounts exist only in a database seeded here; a production database starts with none.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from program.library import load_curriculum
from program.models import (
    Actor,
    AttendanceMark,
    CurriculumBundle,
    Instrument,
    Item,
    Mark,
    Role,
    SessionReport,
    score_answers,
)
from program.staff import create_user
from program.store import Store

DEMO_PASSWORD = "demo-password"
BUNDLED_CURRICULUM = "collective-healing.yaml"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role


DEMO_ACCOUNTS = (
    DemoAccount("admin", "Alex Admin", Role.ADMIN),
    DemoAccount("lead", "Lee Lead", Role.LEAD),
    DemoAccount("maya", "Maya Facilitator", Role.FACILITATOR),
    DemoAccount("sam", "Sam Facilitator", Role.FACILITATOR),
)

FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sol",
    "Tariq",
)


@dataclass(frozen=True)
class DemoCohort:
    name: str
    facilitator: str
    members: int
    weeks_ago: int  # when session 1 was held, counted back from today
    responders: float  # share of those present who answer the pulse


# Every cohort meets on the weekday the demo is seeded (session 1 was that many weeks ago), so
# the names say where and when in the day, never which weekday.
FINISHED_COHORT = "Evening group, Northside"  # Maya's: all six sessions held, results released
TODAYS_COHORT = "Morning group, Library"  # Maya's: its session 4 is today
DEMO_COHORTS = (
    DemoCohort(FINISHED_COHORT, "maya", 12, 9, 0.9),
    DemoCohort(TODAYS_COHORT, "maya", 11, 3, 0.85),
    DemoCohort("Riverside clinic group", "sam", 10, 7, 0.8),
    # Two more finished groups, so the lead's dashboard pools enough groups to say how sure.
    DemoCohort("Afternoon group, Harbour", "sam", 11, 12, 0.9),
    DemoCohort("Community hall group", "maya", 10, 16, 0.85),
    DemoCohort("Small group, Eastgate", "sam", 5, 6, 0.7),
    DemoCohort("Spring group", "sam", 9, -2, 0.0),
)


def is_seeded(store: Store) -> bool:
    return store.count_staff_users() > 0


def seed_demo(store: Store, curricula: Path, today: dt.date | None = None) -> list[DemoAccount]:
    """Fill an empty database with demo accounts, the bundled curriculum and a demo program."""
    if is_seeded(store):
        return []
    today = today or dt.date.today()
    rng = random.Random(2026)
    actor = Actor.system()
    # The curriculum first: if it cannot load, no account exists yet and a later try starts clean.
    version, _ = load_curriculum(store, actor, curricula / BUNDLED_CURRICULUM)
    users = {
        a.username: create_user(store, actor, a.username, a.display_name, a.role, DEMO_PASSWORD)
        for a in DEMO_ACCOUNTS
    }
    bundle = store.curriculum_bundle(version.id)
    program = store.create_program(
        actor, "Community pain collective", "Peer groups across the city's clinics.", 5
    )
    store.add_program_lead(actor, program.id, users["lead"].id)
    for facilitator in ("maya", "sam"):
        store.add_program_facilitator(actor, program.id, users[facilitator].id)
    names = list(FIRST_NAMES)
    for spec in DEMO_COHORTS:
        rng.shuffle(names)
        first_session = today - dt.timedelta(weeks=spec.weeks_ago)
        dates = {
            n: first_session + dt.timedelta(weeks=n - 1) - dt.timedelta(days=3 if n == 0 else 0)
            for n in [s.number for s in bundle.curriculum.sessions]
        }
        cohort = store.create_cohort(
            actor,
            program.id,
            version.id,
            spec.name,
            dates,
            [users[spec.facilitator].id],
            names[: spec.members],
        )
        _hold_past_sessions(store, actor, bundle, cohort.id, today, spec, rng)
    return list(DEMO_ACCOUNTS)


def _hold_past_sessions(
    store: Store,
    actor: Actor,
    bundle: CurriculumBundle,
    cohort_id: int,
    today: dt.date,
    spec: DemoCohort,
    rng: random.Random,
) -> None:
    members = store.roster(cohort_id)
    staying = {m.id: rng.random() for m in members}  # low values drop out first
    for session in store.sessions(cohort_id):
        if session.scheduled_date >= today:
            break
        dropout = 0.04 * session.number
        attendance = {
            m: AttendanceMark(
                status=Mark.PRESENT
                if keep > dropout + 0.08 * rng.random()
                else rng.choice([Mark.ABSENT, Mark.EXCUSED]),
                late=rng.random() < 0.05,
            )
            for m, keep in staying.items()
        }
        agenda = bundle.curriculum.session(session.number).agenda
        report = SessionReport(
            attendance=attendance,
            delivered=frozenset(i for i in range(len(agenda)) if rng.random() < 0.9),
            agenda_length=len(agenda),
            held=True,
        )
        store.record_session(actor, session.id, report, store.session_revision(session.id))
        answering = round(report.present * spec.responders)
        items = bundle.pulse_items(session.number)
        if not items or answering == 0:
            continue
        responses = [
            score_answers(items, _demo_answers(items, session.number, rng))
            for _ in range(answering)
        ]
        opened = dt.datetime.combine(session.scheduled_date, dt.time(19, 45))
        store.store_closed_pulse(actor, session.id, opened, responses)


def _demo_answers(
    items: list[tuple[Instrument, Item]], number: int, rng: random.Random
) -> dict[tuple[str, str], int]:
    """Plausible answers that drift a little toward better as the weeks go by."""
    answers = {}
    for instrument, item in items:
        low, high = instrument.scale.min, instrument.scale.max
        span = high - low
        better = 0.35 + 0.05 * number + rng.gauss(0, 0.18)
        share = better if instrument.direction == "higher_is_better" else 1 - better
        answers[(instrument.id, item.id)] = max(low, min(high, round(low + share * span)))
    return answers
