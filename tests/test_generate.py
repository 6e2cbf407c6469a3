"""The synthetic program generator: realistic, consistent, and loaded through the bulk path."""

import datetime as dt

from program.cohorts import create_cohort
from program.generate import generate
from program.models import Actor, Role
from program.settings import get_settings

TODAY = dt.date(2026, 11, 25)


def test_generated_program_is_consistent(store, make_staff):
    result = generate(store, get_settings(), cohorts=30, seed=7, today=TODAY)
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM cohorts").fetchone()[0] == 30
    sizes = cur.execute("SELECT count(*) FROM roster_members GROUP BY cohort_id").fetchall()
    assert all(8 <= n <= 15 for (n,) in sizes)
    assert cur.execute("SELECT count(*) FROM responses").fetchone()[0] == result.responses
    # Frozen summaries agree with the scores they summarise.
    mismatch = cur.execute(
        "SELECT count(*) FROM cell_summaries c JOIN ("
        " SELECT r.session_id, s.instrument_id, count(*) AS n, sum(s.score) AS total"
        " FROM scores s JOIN responses r ON r.id = s.response_id"
        " GROUP BY r.session_id, s.instrument_id) raw"
        " ON raw.session_id = c.session_id AND raw.instrument_id = c.instrument_id"
        " WHERE raw.n <> c.n OR abs(raw.total - c.total) > 1e-9"
    ).fetchone()[0]
    assert mismatch == 0
    assert store.attendance_totals_drift() == 0
    assert store.held_attendance([]) == []
    # No session accepted more responses than people present.
    over = cur.execute(
        "SELECT count(*) FROM (SELECT r.session_id, count(*) AS n FROM responses r"
        " GROUP BY r.session_id) x"
        " JOIN (SELECT session_id, count(*) FILTER (WHERE status = 'present') AS p"
        "       FROM attendance GROUP BY session_id) a USING (session_id) WHERE x.n > a.p"
    ).fetchone()[0]
    assert over == 0
    # Some cells stay below the minimum group size, so suppression is exercised at scale.
    small = cur.execute("SELECT count(*) FROM cell_summaries WHERE n < 5").fetchone()[0]
    assert small > 0
    # Attendance drops off over the weeks.
    early, late = cur.execute(
        "SELECT avg((a.status = 'present')::INT) FILTER (WHERE s.number = 1),"
        " avg((a.status = 'present')::INT) FILTER (WHERE s.number = 6)"
        " FROM attendance a JOIN sessions s ON s.id = a.session_id"
    ).fetchone()
    assert early > late
    # Ids were taken from the sequences, so ordinary inserts still work afterwards.
    facilitator = make_staff("after", Role.FACILITATOR)
    store.add_program_facilitator(Actor.system(), result.program_id, facilitator.id)
    version = store.curriculum_versions()[0]
    create_cohort(
        store,
        facilitator,
        result.program_id,
        version.id,
        "After the generator",
        TODAY,
        0,
        False,
        [facilitator.id],
        "Ana\nBen",
    )


def test_same_seed_same_program(store):
    a = generate(store, get_settings(), cohorts=5, seed=11, today=TODAY)
    b = generate(store, get_settings(), cohorts=5, seed=11, today=TODAY)
    assert (a.responses, a.answers) == (b.responses, b.answers)
