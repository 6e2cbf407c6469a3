"""Attacks by staff who act, against how the pulse keeps answers (docs/threat-model.md).

Each test plays one move a facilitator or an admin can make with what their role allows, and
checks that it learns nothing: arrival order on disk, live counts, the cap, card oracles, the
room code beside cards, restoring an edited backup, file permissions. A real temporary DuckDB
throughout; crashes are real processes killed with SIGKILL.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from program import backup, deletion, programs, pulse
from program.errors import InvalidInput, PulseFull, PulseUnavailable
from program.models import Actor, AuditFilter, Role
from program.store import Store
from tests.factories import pulses
from tests.factories.pulses import (
    NOW,
    Group,
    count,
    fill,
    make_group,
    query,
    staff,
    storage_key,
    storage_position,
    submit_n,
)

# One pulse-ready database per process, copied for each test (tests/factories/pulses.py).
template = pulses.template
store = pulses.store
group = pulses.group


# A pulse of 30 answers, each a different pattern, so arrival order can be read back.
ROOM = 30


def _arrival_index(usefulness: int, stress: int) -> int:
    """Which answer this was: `fill(seed)` answers usefulness = seed % 11, stress = seed // 11."""
    return stress * 11 + usefulness


def _stored_order(store: Store, session_id: int) -> list[int]:
    """The arrival index of each stored response, in the order the database keeps them."""
    rows = query(
        store,
        f"SELECT {storage_position(store, 'r')}, a.item_id, a.value FROM responses r JOIN answers a"
        " ON a.response_id = r.id WHERE r.session_id = ?"
        " AND a.item_id IN ('useful_today', 'stress_week')",
        [session_id],
    )
    per_row: dict[tuple[int, ...], dict[str, int]] = {}
    for position, item, value in rows:
        per_row.setdefault(storage_key(position), {})[item] = value
    return [_arrival_index(v["useful_today"], v["stress_week"]) for _, v in sorted(per_row.items())]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- order on disk


def test_no_file_in_the_data_folder_keeps_arrival_order_after_close(store: Store) -> None:
    """Over repeated pulses, the order in which the database file keeps responses does not follow
    the order they arrived in; no ballot file, log or journal is left; no file holds an answer
    in the ballot format."""
    folder = Path(store.path).parent
    correlations = []
    for trial in range(12):
        group = make_group(store, members=ROOM, name=f"Order {trial}")
        code = group.open()
        submit_n(group, code, ROOM)
        group.close()
        order = _stored_order(store, group.session_id)
        assert sorted(order) == list(range(ROOM))
        correlations.append(spearmanr(order, range(ROOM)).statistic)
        left = [p.name for p in _files(folder) if "ballots" in str(p) or p.suffix == ".wal"]
        assert left == [], left
        for path in _files(folder):
            assert b'"answers": [[' not in path.read_bytes(), path
    # One pulse in arrival order would give 1.0; shuffled, the correlations scatter around 0
    # (sd about 1/sqrt(29) = 0.19 each; the mean of 12 has sd 0.05).
    assert abs(float(np.mean(correlations))) < 0.25
    assert max(correlations) < 0.9


def test_while_open_the_database_holds_no_answer_and_its_log_no_trace_of_one(
    store: Store,
) -> None:
    group = make_group(store, members=10)
    code = group.open()
    store.checkpoint()
    wal = Path(store.path + ".wal")
    before = wal.read_bytes() if wal.exists() else b""
    rows_before = store.row_counts()
    submit_n(group, code, 6)
    after = wal.read_bytes() if wal.exists() else b""
    assert after == before  # not one byte written to the database's log by six answers
    assert store.row_counts() == rows_before  # the admin's table counts do not move either
    assert query(store, "SELECT count(*) FROM responses")[0][0] == 0


def test_a_backup_taken_while_a_pulse_is_open_holds_none_of_its_answers(
    store: Store,
) -> None:
    group = make_group(store, members=10)
    code = group.open()
    submit_n(group, code, 6)
    admin_user = staff(store, "root", Role.ADMIN)
    archive = zipfile.ZipFile(io.BytesIO(backup.export_backup(store, admin_user)))
    with archive:
        names = archive.namelist()
        for table in ("responses", "answers", "scores"):
            (member,) = [n for n in names if Path(n).stem == table]
            data = archive.read(member)
            frame = __import__("pandas").read_parquet(io.BytesIO(data))
            assert len(frame) == 0, table


# --------------------------------------------------------------------------- crashes


_CRASH = """
import os, sys
from program import pulse
from program.store import Store
from tests.factories.pulses import NOW, fill
store = Store(sys.argv[1])
invitation = pulse.resolve_code(store, sys.argv[2], NOW)
for seed in range(int(sys.argv[3])):
    pulse.submit(store, invitation, fill(invitation, seed), NOW)
    print("thanked", flush=True)
os.kill(os.getpid(), 9)
"""


def test_answers_acknowledged_before_a_crash_are_kept_and_move_in_at_close(
    store: Store,
) -> None:
    group = make_group(store, members=10)
    code = group.open()
    path = store.path
    store.close()
    done = subprocess.run(
        [sys.executable, "-c", _CRASH, path, code, "4"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert done.returncode == -9, done.stderr
    assert done.stdout.count("thanked") == 4
    again = Store(path)
    try:
        group.store = again
        assert count(again, "responses", group.session_id) == 4
        group.close()
        assert query(again, "SELECT count(*) FROM responses")[0][0] == 4
        assert not again.ballots.exists(group.session_id)
    finally:
        again.close()


# A ballot file left beside the DuckDB file; on PostgreSQL a close removes its ballots in the
# transaction that commits it.
@pytest.mark.duckdb_only
def test_a_close_cut_short_after_it_committed_finishes_on_the_next_start(store: Store) -> None:
    """If the process dies between committing the close and deleting the ballot file, the next
    start deletes the file: the answers are in the database already."""
    group = make_group(store, members=10)
    code = group.open()
    submit_n(group, code, 5)
    ballot = store.ballots.path(group.session_id)
    kept = ballot.read_bytes()
    group.close()
    ballot.write_bytes(kept)  # as if the process had died before deleting it
    path = store.path
    store.close()
    again = Store(path)
    try:
        assert not again.ballots.exists(group.session_id)
        assert query(again, "SELECT count(*) FROM responses")[0][0] == 5
    finally:
        again.close()


# --------------------------------------------------------------------------- the facilitator


@pytest.mark.parametrize("answered", [3, 4, 5])
def test_editing_attendance_cannot_probe_how_many_answered(group: Group, answered: int) -> None:
    """Probe: set present = c, then try one card; refused would mean c answered already. With the
    cap frozen at opening, every c gives the same outcome (k−1, k, k+1 answers so far)."""
    group.attendance(8)
    code = group.open()
    probe = group.cards(1)[0]
    submit_n(group, code, answered)
    outcomes = []
    for present in range(1, 9):
        group.attendance(present, absent=8 - present)
        status = group.status()
        outcomes.append((status.full, status.enough))
    assert len(set(outcomes)) == 1
    pulse.enter_paper_card(  # still room: the cap did not follow attendance down
        group.store,
        group.facilitator,
        group.session_id,
        probe,
        fill(pulse.resolve_code(group.store, code, NOW)),
        NOW,
    )


def test_typing_card_codes_tells_nothing_about_which_cards_were_used(group: Group) -> None:
    """The facilitator noted who got which card and types each into the paper form, or into the
    participant page. Used, unused, unknown and another pulse's cards: replies cannot be told
    apart (used and unused are both thanked; unknown ones are refused for used and unused alike
    only when they are not this pulse's)."""
    code = group.open()
    used, unused = group.cards(2)
    invitation = pulse.resolve_code(group.store, code, NOW)
    pulse.submit(group.store, pulse.resolve_code(group.store, used, NOW), fill(invitation), NOW)
    replies = []
    for card in (used, unused):
        found = pulse.resolve_code(group.store, card, NOW)
        replies.append((found.session_id, found.items, found.min_group_size))
        pulse.enter_paper_card(
            group.store, group.facilitator, group.session_id, card, fill(invitation, 3), NOW
        )
    assert replies[0] == replies[1]
    assert count(group.store, "responses", group.session_id) == 2


def test_cards_switch_the_room_code_off_so_it_cannot_fill_the_pulse(group: Group) -> None:
    """Found: with 13 cards printed, 40 room-code answers filled the pulse and a card holder was
    then told everyone had answered."""
    group.attendance(8)
    code = group.open()
    cards_made = pulse.make_cards(group.store, group.facilitator, group.session_id, 8, NOW)
    assert group.status().cards_only
    for _ in range(40):
        with pytest.raises(PulseUnavailable, match="printed cards"):
            pulse.resolve_code(group.store, code, NOW)
    for seed, card in enumerate(cards_made):
        invitation = pulse.resolve_code(group.store, card, NOW)
        pulse.submit(group.store, invitation, fill(invitation, seed), NOW)
    assert count(group.store, "responses", group.session_id) == 8
    assert group.status().full
    actions = [
        e.action for e in group.store.matching_audit_events(AuditFilter(object_type="session"))
    ]
    assert "room code off (cards only)" in actions


def test_the_facilitator_can_let_the_room_code_in_again(group: Group) -> None:
    code = group.open()
    group.cards(2, room_code_too=False)
    with pytest.raises(PulseUnavailable):
        pulse.resolve_code(group.store, code, NOW)
    pulse.set_room_code(group.store, group.facilitator, group.session_id, True, NOW)
    assert not group.status().cards_only
    assert pulse.resolve_code(group.store, code, NOW).session_id == group.session_id
    # More cards later do not switch it off again behind the facilitator's back.
    group.cards(1, room_code_too=False)
    assert not group.status().cards_only


@pytest.mark.parametrize("answers", [7, 8])
def test_everyone_present_has_answered_shows_only_at_the_cap(group: Group, answers: int) -> None:
    group.attendance(8)
    code = group.open()
    submit_n(group, code, answers)
    assert group.status().full == (answers == 8)
    if answers == 8:
        with pytest.raises(PulseFull):
            submit_n(group, code, 1, first_seed=answers)


def test_answers_typed_in_from_paper_are_counted_after_close_and_audited(group: Group) -> None:
    group.attendance(8)
    code = group.open()
    paper = group.cards(3)
    invitation = pulse.resolve_code(group.store, code, NOW)
    submit_n(group, code, 2)
    for seed, card in enumerate(paper[:2]):
        pulse.enter_paper_card(
            group.store, group.facilitator, group.session_id, card, fill(invitation, seed), NOW
        )
    window = group.store.pulse_window(group.session_id)
    assert window is not None and window.typed_in is None  # nothing to see while open
    group.close()
    window = group.store.pulse_window(group.session_id)
    assert window is not None and window.typed_in == 2
    (event,) = group.store.matching_audit_events(AuditFilter(action="close pulse"))
    assert event.detail == "2 typed in from paper cards"


# --------------------------------------------------------------------------- the admin


def test_deleting_a_cohort_with_an_open_pulse_destroys_its_ballot_file(store: Store) -> None:
    group = make_group(store, members=8)
    code = group.open()
    submit_n(group, code, 5)
    root = staff(store, "root", Role.ADMIN)
    preview = deletion.cohort_data(store, root, group.cohort_id)
    assert preview.holds_answers
    assert not any(t in preview.rows for t in ("responses", "answers", "card_codes"))
    deletion.delete_cohort_data(store, root, group.cohort_id, "C")
    assert store.ballots.sessions() == []


def _backup_with_k(store: Store, root: object, program_id: int, k: int) -> bytes:
    """The app's own backup, with one program's minimum group size edited in its Parquet file."""
    import pandas as pd

    original = zipfile.ZipFile(io.BytesIO(backup.export_backup(store, root)))  # type: ignore[arg-type]
    out = io.BytesIO()
    with original, zipfile.ZipFile(out, "w") as edited:
        for info in original.infolist():
            data = original.read(info)
            if Path(info.filename).stem == "programs":
                frame = pd.read_parquet(io.BytesIO(data))
                frame.loc[frame["id"] == program_id, "min_cell_size"] = k
                buffer = io.BytesIO()
                frame.to_parquet(buffer, index=False)
                data = buffer.getvalue()
            edited.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("new_k", [4, 6])
def test_a_backup_that_changes_a_locked_minimum_group_size_is_refused(
    store: Store, new_k: int
) -> None:
    group = make_group(store, members=8)
    group.open()
    root = staff(store, "root", Role.ADMIN)
    edited = _backup_with_k(store, root, group.program_id, new_k)
    with pytest.raises(InvalidInput, match="locked at 5"):
        backup.restore_backup(store, root, edited, backup.RESTORE_WORD)
    assert store.program(group.program_id).min_group_size == 5


def test_a_restore_that_changes_an_unlocked_size_says_so_in_the_audit_log(store: Store) -> None:
    group = make_group(store, members=8)  # no pulse opened: k can still change
    root = staff(store, "root", Role.ADMIN)
    edited = _backup_with_k(store, root, group.program_id, 7)
    backup.restore_backup(store, root, edited, backup.RESTORE_WORD)
    assert store.program(group.program_id).min_group_size == 7
    (event,) = store.matching_audit_events(AuditFilter(action="restore backup"))
    assert "minimum group size of 'Program C' 5 → 7" in event.detail


def test_a_restore_empties_open_pulses_and_leaves_no_stray_ballot_file(store: Store) -> None:
    group = make_group(store, members=8)
    code = group.open()
    root = staff(store, "root", Role.ADMIN)
    saved = backup.export_backup(store, root)
    submit_n(group, code, 3)
    backup.restore_backup(store, root, saved, backup.RESTORE_WORD)
    assert store.ballots.sessions() == [group.session_id]
    assert count(store, "responses", group.session_id) == 0


def test_the_minimum_group_size_locks_when_the_first_pulse_opens(store: Store) -> None:
    group = make_group(store, members=8)
    root = staff(store, "root", Role.ADMIN)
    programs.set_min_group_size(store, root, group.program_id, 6)
    group.open()
    assert programs.privacy_status(store, root, group.program_id).locked
    with pytest.raises(Exception, match="locked at 6"):
        programs.set_min_group_size(store, root, group.program_id, 3)


# --------------------------------------------------------------------------- files


# File permissions of the DuckDB file, its log and ballot files.
@pytest.mark.duckdb_only
def test_database_log_and_ballot_files_are_readable_by_their_owner_only(store: Store) -> None:
    group = make_group(store, members=8)
    code = group.open()
    submit_n(group, code, 2)
    store.record_audit(Actor.system(), "test", "database", "x")  # something in the log
    folder = Path(store.path).parent
    files = _files(folder)
    assert any(p.name.endswith(".ballots") for p in files)
    for path in [*files, *[p for p in folder.rglob("*") if p.is_dir()]]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))


def test_a_pulse_whose_ballot_file_went_missing_still_takes_answers(
    group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between opening the pulse and making its ballot file: the first answer makes it
    (on PostgreSQL the pulse's tally was made in the opening's own transaction)."""

    class Died(Exception):
        pass

    def die(session_id: int) -> None:
        raise Died

    with monkeypatch.context() as patched:
        patched.setattr(group.store.ballots, "create", die)
        with pytest.raises(Died):
            group.open()
    window = group.store.pulse_window(group.session_id)
    assert window is not None and window.room_code is not None
    code = window.room_code
    submit_n(group, code, 1)
    assert count(group.store, "responses", group.session_id) == 1
