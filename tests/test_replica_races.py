"""Several app processes on one PostgreSQL database: every guarantee that holds for threads in one
process holds for processes too (docs/deploy.md).

Each race here runs in separate Python processes (spawned, each with its own Store and
connection pool), as app replicas behind a load balancer would, all released at once by a
barrier: the attendance cap, single-use cards, a close while answers arrive, the admin guard, the
lock on the minimum group size, and two people saving the same session sheet. Run with `--engine postgresql` (PostgreSQL only: a DuckDB file is
one process's).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

import pytest

from program import programs, pulse, session_runner, staff
from program.errors import Conflict, ProgramError, PulseFull, PulseUnavailable
from program.models import Actor, Role
from program.store import Store
from tests.factories import pulses
from tests.factories.pulses import LATER, NOW, fill, make_group

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]

store = pulses.store
template = pulses.template

PROCESSES = 6


def _race(work: Callable[..., Any], jobs: list[tuple[Any, ...]]) -> list[Any]:
    """Run `work(barrier, *job)` for every job, each in a process of its own, started together;
    their results in order."""
    return _race_of([(work, job) for job in jobs])


def _race_of(jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
    """Run each `work(barrier, *args)` in a process of its own, all released together by the
    barrier; their results in order."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(len(jobs))
        with context.Pool(len(jobs)) as pool:
            running = [pool.apply_async(work, (barrier, *args)) for work, args in jobs]
            return [r.get(timeout=120) for r in running]


def _submit(barrier: Any, url: str, code: str, answers: int, seed: int) -> list[str]:
    """One replica: `answers` answers with one code; what each one heard."""
    s = Store(url)
    try:
        invitation = pulse.resolve_code(s, code, NOW)
        barrier.wait()
        heard = []
        for n in range(answers):
            try:
                pulse.submit(s, invitation, fill(invitation, seed * 100 + n), NOW)
                heard.append("stored")
            except PulseFull:
                heard.append("full")
            except PulseUnavailable:
                heard.append("closed")
        return heard
    finally:
        s.close()


def _cards(barrier: Any, url: str, codes: list[str], seed: int) -> int:
    """One replica: answer with every card; how many were accepted (spent ones are too)."""
    s = Store(url)
    try:
        invitations = [pulse.resolve_code(s, code, NOW) for code in codes]
        barrier.wait()
        for n, invitation in enumerate(invitations):
            pulse.submit(s, invitation, fill(invitation, seed * 100 + n), NOW)
        return len(invitations)
    finally:
        s.close()


def _close(barrier: Any, url: str, session_id: int, facilitator: str) -> str:
    s = Store(url)
    try:
        viewer = s.staff_user_by_username(facilitator)
        assert viewer is not None
        barrier.wait()
        pulse.close_pulse(s, viewer, session_id, LATER)
        return "closed"
    finally:
        s.close()


def _responses(s: Store, session_id: int) -> int:
    (row,) = s._rows("SELECT count(*) FROM responses WHERE session_id = ?", [session_id])
    return int(row[0])


def _ballot_rows(s: Store) -> int:
    (row,) = s._rows(
        "SELECT (SELECT count(*) FROM ballots.answers) + (SELECT count(*) FROM ballots.used_cards)"
        " + (SELECT count(*) FROM ballots.tallies)"
    )
    return int(row[0])


@pytest.mark.parametrize("cap", [11, 12, 13])
def test_the_cap_holds_across_processes(store: Store, cap: int) -> None:
    """Six processes send 4 answers each (24) to a pulse that takes `cap`: exactly `cap` are
    stored, every other one hears "full", whatever the interleaving."""
    group = make_group(store, members=cap)
    code = group.open()
    heard = _race(_submit, [(store.path, code, 4, p) for p in range(PROCESSES)])
    flat = [h for replica in heard for h in replica]
    assert flat.count("stored") == cap
    assert flat.count("full") == len(flat) - cap
    group.close()
    assert _responses(store, group.session_id) == cap


def test_each_card_answers_once_across_processes(store: Store) -> None:
    """Ten cards, each sent by all six processes at once: ten answers stored, no more."""
    group = make_group(store, members=30)
    group.open()
    codes = group.cards(10, room_code_too=False)
    _race(_cards, [(store.path, codes, p) for p in range(PROCESSES)])
    group.close()
    assert _responses(store, group.session_id) == 10


def test_a_close_on_one_replica_keeps_every_answer_another_stored(store: Store) -> None:
    """Five processes answer while a sixth closes the pulse: every answer a participant was
    thanked for is in the closed pulse, none after the close is, and no ballot row is left."""
    group = make_group(store, members=40)
    code = group.open()
    submitters = [(_submit, (store.path, code, 6, p)) for p in range(PROCESSES - 1)]
    closer = (_close, (store.path, group.session_id, pulses.FACILITATOR))
    results = _race_of([*submitters, closer])
    stored = sum(r.count("stored") for r in results[:-1])
    assert results[-1] == "closed"
    assert _responses(store, group.session_id) == stored
    assert _ballot_rows(store) == 0


def _deactivate(barrier: Any, url: str, actor: str, target: str) -> str:
    s = Store(url)
    try:
        viewer = s.staff_user_by_username(actor)
        other = s.staff_user_by_username(target)
        assert viewer is not None and other is not None
        barrier.wait()
        try:
            staff.deactivate_staff(s, viewer, other.id)
        except (Conflict, ProgramError):
            return "refused"
        return "done"
    finally:
        s.close()


def test_two_admins_deactivating_each_other_from_two_replicas_leave_one(store: Store) -> None:
    for name in ("ada", "bea"):
        store.create_staff_user(Actor.system(), name, name.title(), Role.ADMIN, None)
    outcome = _race(_deactivate, [(store.path, "ada", "bea"), (store.path, "bea", "ada")])
    assert sorted(outcome) == ["done", "refused"]
    active = [u for u in store.staff_users() if u.role == Role.ADMIN and u.active]
    assert len(active) == 1


def _open(barrier: Any, url: str, session_id: int) -> str:
    s = Store(url)
    try:
        fac = s.staff_user_by_username(pulses.FACILITATOR)
        assert fac is not None
        from program.settings import get_settings

        barrier.wait()
        try:
            pulse.open_pulse(s, get_settings(), fac, session_id, NOW)
        except ProgramError:
            return "refused"
        return "opened"
    finally:
        s.close()


def _change_k(barrier: Any, url: str, program_id: int) -> str:
    s = Store(url)
    try:
        admin = s.staff_user_by_username("ada")
        assert admin is not None
        barrier.wait()
        try:
            programs.set_min_group_size(s, admin, program_id, 7)
        except ProgramError:
            return "refused"
        return "changed"
    finally:
        s.close()


def test_k_never_changes_under_a_pulse_opened_at_the_same_moment_elsewhere(store: Store) -> None:
    """One replica opens the program's first pulse while another changes its minimum group
    size: either the change lands first (and the pulse opens under the new k) or the pulse
    opens and the change is refused. Never a pulse promised 5 under a program now at 7."""
    store.create_staff_user(Actor.system(), "ada", "Ada", Role.ADMIN, None)
    group = make_group(store)
    opened, changed = _race_of(
        [(_open, (store.path, group.session_id)), (_change_k, (store.path, group.program_id))]
    )
    assert opened == "opened"  # an opening is never refused for this
    events = [
        e.action
        for e in sorted(store.audit_events(), key=lambda e: e.id)
        if e.action in ("open pulse", "change minimum group size")
    ]
    if changed == "changed":
        # Both succeeded: only in this order, so the pulse was promised the new k.
        assert events == ["change minimum group size", "open pulse"]
        assert store.program(group.program_id).min_group_size == 7
    else:
        assert events == ["open pulse"]
        assert store.program(group.program_id).min_group_size == 5


def _save_notes(barrier: Any, url: str, session_id: int, revision: str, notes: str) -> str:
    """One replica: save the session sheet drawn at `revision` with these notes."""
    s = Store(url)
    try:
        fac = s.staff_user_by_username(pulses.FACILITATOR)
        assert fac is not None
        barrier.wait()
        try:
            session_runner.save_sheet(s, fac, session_id, {}, set(), notes, False, revision)
        except Conflict:
            return "refused"
        return "saved"
    finally:
        s.close()


def test_two_replicas_saving_one_drawn_sheet_keep_one_and_refuse_the_other(store: Store) -> None:
    """Two facilitators saved the same session sheet, drawn at the same moment, on two replicas
    at once: one is saved, the other is told it changed meanwhile, and no note is lost unseen."""
    group = make_group(store)
    revision = store.session_revision(group.session_id)
    outcome = _race(
        _save_notes,
        [
            (store.path, group.session_id, revision, "Notes from the first laptop"),
            (store.path, group.session_id, revision, "Notes from the second laptop"),
        ],
    )
    assert sorted(outcome) == ["refused", "saved"]
    kept = store.session(group.session_id).notes
    winner = ["Notes from the first laptop", "Notes from the second laptop"][outcome.index("saved")]
    assert kept == winner
