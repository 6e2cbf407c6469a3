"""The anonymous pulse (program.pulse, program.store.pulse, program.cards) on a real temporary DuckDB.

Each privacy rule the pulse carries (docs/design.md, "Privacy rules") is tested exactly, at the
minimum group size k (k−1, k, k+1) and at the cap (P−1, P, P+1). Nothing of program/ is mocked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import markupsafe
import pytest

from program import cards, cohorts, pulse, session_runner
from program.errors import (
    AccessDenied,
    Conflict,
    InvalidInput,
    NotYetDue,
    PulseFull,
    PulseUnavailable,
)
from program.models import AttendanceMark, Mark, PulseWindow, Role
from program.store import Store
from tests.factories import pulses
from tests.factories.pulses import (
    GENERIC,
    LATER,
    NOW,
    Group,
    ballot_responses,
    count,
    expected_pattern,
    fill,
    make_group,
    pattern,
    query,
    staff,
    storage_key,
    storage_position,
    stored_patterns,
    submit_n,
    used_cards,
)

# --------------------------------------------------------------------------- set-up


# One pulse-ready database per process, copied for each test (tests/factories/pulses.py).
template = pulses.template
store = pulses.store
group = pulses.group


def unused_cards(store: Store, session_id: int) -> int:
    """Cards printed for an open pulse and not used yet (those used are in its ballots)."""
    return store.card_count(session_id) - used_cards(store, session_id)


# --------------------------------------------------------------------------- opening and closing


def test_open_pulse_gives_an_8_character_code_from_the_unambiguous_alphabet(group: Group) -> None:
    code = group.open()
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", code), code
    assert not set(code) & set("01OIL")


def test_room_codes_differ_between_sessions(group: Group) -> None:
    codes = {group.open(group.session(n)) for n in range(1, 7)}
    assert len(codes) == 6


def test_opening_again_while_open_returns_the_same_window(group: Group) -> None:
    first = pulse.open_pulse(group.store, group.settings, group.facilitator, group.session_id, NOW)
    again = pulse.open_pulse(
        group.store, group.settings, group.facilitator, group.session_id, LATER
    )
    assert again == first


def test_the_window_closes_by_itself_after_the_configured_hours(group: Group) -> None:
    window = pulse.open_pulse(group.store, group.settings, group.facilitator, group.session_id, NOW)
    assert window.opened_at == NOW
    assert window.closes_at == NOW + dt.timedelta(hours=group.settings.pulse_auto_close_hours)


def test_opening_after_close_is_a_conflict(group: Group) -> None:
    group.open()
    group.close()
    with pytest.raises(Conflict):
        group.open(at=LATER + dt.timedelta(minutes=1))


def test_another_facilitator_may_not_open_close_or_watch_the_pulse(
    group: Group,
) -> None:
    other = staff(group.store, "other", Role.FACILITATOR)
    with pytest.raises(AccessDenied):
        pulse.open_pulse(group.store, group.settings, other, group.session_id, NOW)
    group.open()
    with pytest.raises(AccessDenied):
        pulse.pulse_status(group.store, other, group.session_id, NOW)
    with pytest.raises(AccessDenied):
        pulse.make_cards(group.store, other, group.session_id, 3, NOW)
    with pytest.raises(AccessDenied):
        pulse.close_pulse(group.store, other, group.session_id, LATER)
    assert group.status().is_open


@pytest.mark.parametrize("role", [Role.LEAD, Role.ADMIN])
def test_leads_and_admins_may_not_open_the_pulse(group: Group, role: Role) -> None:
    with pytest.raises(AccessDenied):
        pulse.open_pulse(
            group.store, group.settings, staff(group.store, "boss", role), group.session_id, NOW
        )


def test_a_cancelled_session_cannot_open_its_pulse(group: Group) -> None:
    cohorts.cancel_session(group.store, group.facilitator, group.session_id)
    with pytest.raises(Conflict):
        group.open()
    assert group.store.pulse_window(group.session_id) is None


def test_a_session_without_questions_cannot_open_its_pulse(store: Store) -> None:
    group = make_group(store, members=2, include_orientation=True)
    orientation = store.session(group.session_id)
    assert orientation.number == 0
    with pytest.raises(InvalidInput):
        group.open()
    assert store.pulse_window(orientation.id) is None
    assert not group.status().has_questions


def test_closing_a_pulse_that_never_opened_or_closed_already_is_a_conflict(group: Group) -> None:
    with pytest.raises(Conflict):
        group.close()
    group.open()
    group.close()
    with pytest.raises(Conflict):
        group.close(at=LATER + dt.timedelta(minutes=1))


def test_opening_and_closing_are_audited(group: Group) -> None:
    group.open()
    group.close()
    actions = [e.action for e in group.store.audit_events()]
    assert "open pulse" in actions
    assert "close pulse" in actions


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c,
        lambda c: c.lower(),
        lambda c: f"{c[:4]}-{c[4:]}",
        lambda c: f"  {c[:4].lower()} - {c[4:]}  ",
        lambda c: " ".join(c),
    ],
    ids=["exact", "lowercase", "dash", "spaces-dash-lowercase", "spaced-letters"],
)
def test_a_room_code_typed_loosely_leads_to_the_pulse(
    group: Group, typed: Callable[[str], str]
) -> None:
    code = group.open()
    invitation = pulse.resolve_code(group.store, typed(code), NOW)
    assert invitation.session_id == group.session_id
    assert invitation.card_hash is None
    assert invitation.min_group_size == 5
    assert invitation.session_number == 1
    assert len(invitation.items) == 9


def _unavailable_message(store: Store, typed: str, at: dt.datetime) -> str:
    with pytest.raises(PulseUnavailable) as caught:
        pulse.resolve_code(store, typed, at)
    return str(caught.value)


def test_a_wrong_code_is_refused_with_the_generic_message(group: Group) -> None:
    code = group.open()
    wrong = ("2" if code[0] != "2" else "3") + code[1:]
    unknown_card = pulse.new_card_code()
    for typed in [wrong, "ABCDEFGH", "", "ABC", code + "X", unknown_card, "😀" * 8]:
        assert _unavailable_message(group.store, typed, NOW) == GENERIC, typed


def test_a_card_code_with_a_typo_is_caught_without_asking_the_database(group: Group) -> None:
    """The check letter catches one wrong letter or two swapped neighbours on the spot, so a
    typo never reads like an unknown card (and the answer says nothing of which cards exist)."""
    group.open()
    (card,) = group.cards(1)
    assert pulse.card_code_well_formed(card)
    for n in range(len(card)):
        for letter in pulse.ALPHABET:
            if letter != card[n]:
                typo = card[:n] + letter + card[n + 1 :]
                assert _unavailable_message(group.store, typo, NOW) == pulse.CARD_TYPO
    for n in range(len(card) - 1):
        if card[n] != card[n + 1]:
            swapped = card[:n] + card[n + 1] + card[n] + card[n + 2 :]
            assert _unavailable_message(group.store, swapped, NOW) == pulse.CARD_TYPO


def test_a_closed_code_reads_exactly_like_a_code_that_never_existed(group: Group) -> None:
    code = group.open()
    group.close()
    closed = _unavailable_message(group.store, code, LATER)
    never = _unavailable_message(group.store, "ABCDEFGH", LATER)
    assert closed == never == GENERIC


def test_an_expired_window_refuses_its_code_with_the_generic_message(group: Group) -> None:
    window = pulse.open_pulse(group.store, group.settings, group.facilitator, group.session_id, NOW)
    code = window.room_code
    assert code is not None
    just_before = window.closes_at - dt.timedelta(microseconds=1)
    assert pulse.resolve_code(group.store, code, just_before).session_id == group.session_id
    assert _unavailable_message(group.store, code, window.closes_at) == GENERIC
    assert _unavailable_message(group.store, code, window.closes_at + dt.timedelta(hours=1)) == (
        GENERIC
    )


def test_codes_of_closed_windows_and_their_cards_read_the_same(group: Group) -> None:
    group.open()
    (card,) = group.cards(1)
    group.close()
    assert _unavailable_message(group.store, card, LATER) == GENERIC
    assert _unavailable_message(group.store, pulse.new_card_code(), LATER) == GENERIC


def test_a_used_card_reads_exactly_like_an_unused_one_and_its_second_answer_is_dropped(
    group: Group,
) -> None:
    """No reply tells a used card from an unused one: both are offered the questions and both
    are thanked. Only the first answer with a card counts; later ones are dropped unseen."""
    group.open()
    (card, other) = group.cards(2)
    invitation = pulse.resolve_code(group.store, pulse.format_code(card).lower(), NOW)
    assert invitation.session_id == group.session_id
    assert invitation.card_hash == pulse.card_hash(card)
    pulse.submit(group.store, invitation, fill(invitation), NOW)
    again = pulse.resolve_code(group.store, card, NOW)
    unused = pulse.resolve_code(group.store, other, NOW)
    assert dataclasses.replace(again, card_hash=None) == dataclasses.replace(unused, card_hash=None)
    pulse.submit(group.store, again, fill(invitation, 1), NOW)  # thanked, like any answer
    assert count(group.store, "responses", group.session_id) == 1
    assert stored_patterns(group.store, group.session_id) == Counter(
        [expected_pattern(invitation, 0)]
    )


# --------------------------------------------------------------------------- answers


@pytest.fixture
def invitation(group: Group) -> pulse.Invitation:
    return pulse.resolve_code(group.store, group.open(), NOW)


def _refused_whole(
    group: Group, invitation: pulse.Invitation, raw: dict[str, object], match: str
) -> None:
    before = (count(group.store, "responses"), count(group.store, "answers"))
    accepted = group.store.pulse_window(group.session_id)
    with pytest.raises(InvalidInput, match=match):
        pulse.submit(group.store, invitation, raw, NOW)
    assert (count(group.store, "responses"), count(group.store, "answers")) == before
    assert group.store.pulse_window(group.session_id) == accepted
    assert query(group.store, "SELECT accepted FROM pulse_windows")[0][0] == 0


@pytest.mark.parametrize("skipped", [0, 4, 8])
@pytest.mark.parametrize("how", ["left out", "untouched", "prefer not to say"])
def test_any_question_may_be_skipped(
    group: Group, invitation: pulse.Invitation, skipped: int, how: str
) -> None:
    """Skipping is allowed three ways; the skipped item is not stored, and an instrument with
    too few items answered gets no score (WHO-5 needs all five), so it adds to no cell's n."""
    raw = fill(invitation)
    instrument, item = invitation.items[skipped]
    key = pulse.answer_key(instrument, item)
    if how == "left out":
        del raw[key]
    else:
        raw[key] = None if how == "untouched" else pulse.PREFER_NOT_TO_SAY
    pulse.submit(group.store, invitation, raw, NOW)
    (held,) = ballot_responses(group.store, group.session_id)
    assert (instrument.id, item.id) not in held.answers
    assert len(held.answers) == len(invitation.items) - 1
    scored = set(held.scores)
    assert scored == {i.id for i in invitation.instruments} - {instrument.id}


def test_a_response_with_every_question_skipped_stores_nothing_and_takes_no_place(
    group: Group, invitation: pulse.Invitation
) -> None:
    group.attendance(1)
    code = pulse.resolve_code(group.store, group.open(), NOW)
    for raw in ({}, dict.fromkeys(fill(code)), dict.fromkeys(fill(code), pulse.PREFER_NOT_TO_SAY)):
        pulse.submit(group.store, code, raw, NOW)  # thanked, like any answer
    assert count(group.store, "responses", group.session_id) == 0
    pulse.submit(group.store, code, fill(code), NOW)  # the one place is still free
    assert count(group.store, "responses", group.session_id) == 1


def _bad_values(invitation: pulse.Invitation) -> list[tuple[int, object]]:
    """(item index, value) pairs outside the scale or of the wrong type."""
    out: list[tuple[int, object]] = []
    for index, (instrument, _) in enumerate(invitation.items):
        low, high = instrument.scale.min, instrument.scale.max
        out += [(index, low - 1), (index, high + 1)]
    out += [
        (0, True),
        (0, False),
        (6, "3"),
        (6, 3.0),
        (6, 3.5),
        (5, [4]),
        (5, {"value": 4}),
        (7, -1),
        (8, 11),
        (8, 10**12),
    ]
    return out


def test_a_value_outside_the_scale_or_not_a_whole_number_is_refused_whole(
    group: Group, invitation: pulse.Invitation
) -> None:
    for index, value in _bad_values(invitation):
        raw = fill(invitation)
        raw[pulse.answer_key(*invitation.items[index])] = value
        _refused_whole(group, invitation, raw, "not one of the choices")


def test_both_ends_of_every_scale_are_accepted(group: Group, invitation: pulse.Invitation) -> None:
    low = {pulse.answer_key(i, item): i.scale.min for i, item in invitation.items}
    high = {pulse.answer_key(i, item): i.scale.max for i, item in invitation.items}
    pulse.submit(group.store, invitation, low, NOW)
    pulse.submit(group.store, invitation, high, NOW)
    assert count(group.store, "responses", group.session_id) == 2
    assert count(group.store, "answers", group.session_id) == 2 * len(invitation.items)


@pytest.mark.parametrize(
    "extra",
    [
        "who5/unknown",
        "unknown/useful_today",
        "phq9/suicidal",
        "who5/cheerful ",
        "WHO5/CHEERFUL",
    ],
)
def test_an_unknown_answer_key_is_refused_whole(
    group: Group, invitation: pulse.Invitation, extra: str
) -> None:
    raw = fill(invitation)
    raw[extra] = 1
    _refused_whole(group, invitation, raw, "do not match today's questions")


def test_an_answer_to_a_question_of_another_session_is_refused(
    group: Group, invitation: pulse.Invitation
) -> None:
    # Session 1 asks the WHO-5; a tampered session-2 form could not add to it, and vice versa.
    session2 = pulse.resolve_code(group.store, group.open(group.session(2)), NOW)
    raw = fill(session2) | {pulse.answer_key(*invitation.items[0]): 3}
    before = count(group.store, "answers")
    with pytest.raises(InvalidInput):
        pulse.submit(group.store, session2, raw, NOW)
    assert count(group.store, "answers") == before


def test_a_valid_answer_stores_one_response_with_one_answer_per_question(
    group: Group, invitation: pulse.Invitation
) -> None:
    pulse.submit(group.store, invitation, fill(invitation, 7), NOW)
    assert count(group.store, "responses", group.session_id) == 1
    assert stored_patterns(group.store, group.session_id) == Counter(
        [expected_pattern(invitation, 7)]
    )


# --------------------------------------------------------------------------- the cap


@pytest.mark.parametrize("present", [3, 5, 6])
def test_with_attendance_the_cap_is_the_number_present(group: Group, present: int) -> None:
    group.attendance(present, absent=2)
    assert group.store.pulse_cap(group.session_id) == present
    code = group.open()
    submit_n(group, code, present - 1)  # P−1: room for one more
    submit_n(group, code, 1, first_seed=present - 1)  # P: the last one fits
    assert count(group.store, "responses", group.session_id) == present
    invitation = pulse.resolve_code(group.store, code, NOW)
    before = count(group.store, "answers")
    with pytest.raises(PulseFull) as caught:  # P+1
        pulse.submit(group.store, invitation, fill(invitation, 99), NOW)
    assert "marked present when it opened" in str(caught.value)
    assert count(group.store, "responses", group.session_id) == present
    assert count(group.store, "answers") == before


def test_without_attendance_the_cap_is_the_active_roster(
    store: Store,
) -> None:
    group = make_group(store, members=6)
    assert store.pulse_cap(group.session_id) == 6
    code = group.open()
    submit_n(group, code, 5)  # P−1
    submit_n(group, code, 1, first_seed=5)  # P
    with pytest.raises(PulseFull):  # P+1
        submit_n(group, code, 1, first_seed=6)
    assert count(store, "responses", group.session_id) == 6


def test_withdrawn_members_do_not_count_towards_the_cap(
    store: Store,
) -> None:
    group = make_group(store, members=7)
    withdrawn = store.roster(group.cohort_id)[:2]
    for member in withdrawn:
        cohorts.withdraw_member(store, group.facilitator, member.id)
    assert store.pulse_cap(group.session_id) == 5
    code = group.open()
    submit_n(group, code, 5)
    with pytest.raises(PulseFull):
        submit_n(group, code, 1, first_seed=5)
    assert count(store, "responses", group.session_id) == 5


def test_absent_and_excused_members_do_not_count_towards_the_cap(group: Group) -> None:
    members = group.store.roster(group.cohort_id)
    marks = {
        members[0].id: AttendanceMark(status=Mark.PRESENT, late=True),
        members[1].id: AttendanceMark(status=Mark.PRESENT),
        members[2].id: AttendanceMark(status=Mark.EXCUSED),
        members[3].id: AttendanceMark(status=Mark.ABSENT),
    }
    session_runner.save_sheet(
        group.store,
        group.facilitator,
        group.session_id,
        marks,
        set(),
        "",
        False,
        group.store.session_revision(group.session_id),
    )
    assert group.store.pulse_cap(group.session_id) == 2


def test_attendance_of_nobody_present_accepts_no_answer(group: Group) -> None:
    group.attendance(0, absent=4)
    code = group.open()
    with pytest.raises(PulseFull):
        submit_n(group, code, 1)
    assert count(group.store, "responses") == 0


@pytest.mark.parametrize("present_later", [2, 3, 4, 8])
def test_the_cap_is_frozen_when_the_pulse_opens(group: Group, present_later: int) -> None:
    """Attendance edited while the pulse is open moves nothing: it can neither make room for
    stuffed answers nor tell, by refusing an answer, how many have answered (P−1, P, P+1)."""
    group.attendance(3, absent=5)
    code = group.open()
    submit_n(group, code, 2)
    group.attendance(present_later, absent=8 - present_later)
    submit_n(group, code, 1, first_seed=2)
    with pytest.raises(PulseFull):
        submit_n(group, code, 1, first_seed=3)
    assert count(group.store, "responses", group.session_id) == 3
    window = group.store.pulse_window(group.session_id)
    assert window is not None and window.cap == 3


def test_card_answers_count_towards_the_same_cap(group: Group) -> None:
    group.attendance(3)
    code = group.open()
    card_codes = group.cards(5)
    submit_n(group, code, 2)
    submit_n(group, card_codes[0], 1, first_seed=2)
    invitation = pulse.resolve_code(group.store, card_codes[1], NOW)
    with pytest.raises(PulseFull):
        pulse.submit(group.store, invitation, fill(invitation, 3), NOW)
    # A refused card stays unused: the whole submission rolled back.
    assert unused_cards(group.store, group.session_id) == 4
    assert count(group.store, "responses", group.session_id) == 3


def submit_together(group: Group, codes_and_seeds: list[tuple[str, int]]) -> list[str]:
    """Submit several at once, so they are stored as one batch: each thread queues its answers
    while the window's writer lock is held here, then the first to get it stores them all.
    Returns each outcome in order: "stored" or the refusal's class name."""
    invitations = [pulse.resolve_code(group.store, code, NOW) for code, _ in codes_and_seeds]
    queue = group.store._window_queue(group.session_id)
    outcomes: list[str] = [""] * len(invitations)

    def one(index: int) -> None:
        invitation = invitations[index]
        try:
            pulse.submit(group.store, invitation, fill(invitation, codes_and_seeds[index][1]), NOW)
            outcomes[index] = "stored"
        except (PulseFull, PulseUnavailable, Conflict) as exc:
            outcomes[index] = type(exc).__name__

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(invitations))]
    with queue.writing:
        for queued, thread in enumerate(threads, start=1):
            thread.start()  # and wait until it has queued, so they queue in this order
            deadline = time.monotonic() + 10
            while len(queue.waiting) < queued and time.monotonic() < deadline:
                time.sleep(0.002)
        assert len(queue.waiting) == len(threads), "the submissions did not all queue"
    for thread in threads:
        thread.join(timeout=10)
    return outcomes


def test_a_batch_is_checked_answer_by_answer_like_single_submissions(group: Group) -> None:
    """One transaction for many submissions changes nothing about the rules: each card once, a
    card refused for a full room stays unused, never more than the people present."""
    group.attendance(3)
    code = group.open()
    card_a, card_b = group.cards(2)
    outcomes = submit_together(
        group, [(code, 0), (card_a, 1), (card_a, 2), (code, 3), (card_b, 4), (code, 5)]
    )
    # In arrival order: the room code, card A, card A again (used: thanked, and dropped), the
    # room code (the third of three present), card B and the room code (the room is full).
    assert outcomes == [
        "stored",
        "stored",
        "stored",
        "stored",
        "PulseFull",
        "PulseFull",
    ]
    assert count(group.store, "responses", group.session_id) == 3
    assert count(group.store, "answers", group.session_id) == 3 * len(
        pulse.resolve_code(group.store, code, NOW).items
    )
    # Card B came after the room filled: refused, and still unused.
    assert unused_cards(group.store, group.session_id) == 1
    # Nothing about the answers was written to the database itself while the pulse is open.
    assert query(
        group.store, "SELECT accepted FROM pulse_windows WHERE session_id = ?", [group.session_id]
    ) == [(0,)]


def test_an_answer_waiting_while_the_pulse_closes_is_either_in_its_results_or_refused(
    group: Group,
) -> None:
    """Closing takes the window's writer lock: an answer queued behind it is stored before the
    close reads the ballots, or refused as closed after. It is never acknowledged and lost."""
    code = group.open()
    invitation = pulse.resolve_code(group.store, code, NOW)
    queue = group.store._window_queue(group.session_id)
    done: list[str] = []

    def late() -> None:
        try:
            pulse.submit(group.store, invitation, fill(invitation), NOW)
            done.append("stored")
        except PulseUnavailable:
            done.append("closed")

    with queue.writing:
        submitter = threading.Thread(target=late)
        submitter.start()
        while not queue.waiting:
            time.sleep(0.005)
        closer = threading.Thread(target=group.close)
        closer.start()
        time.sleep(0.05)
    submitter.join(timeout=10)
    closer.join(timeout=10)
    assert done in (["stored"], ["closed"])
    assert count(group.store, "responses", group.session_id) == (1 if done == ["stored"] else 0)
    assert not group.store.ballots.exists(group.session_id)


def test_caps_are_per_session(group: Group) -> None:
    group.attendance(2)
    code1 = group.open()
    code2 = group.open(group.session(2))
    submit_n(group, code1, 2)
    with pytest.raises(PulseFull):
        submit_n(group, code1, 1, first_seed=2)
    submit_n(group, code2, 8)  # session 2 has no attendance: the roster of 8
    assert count(group.store, "responses", group.session_id) == 2
    assert count(group.store, "responses", group.session(2)) == 8


# --------------------------------------------------------------------------- nothing before close, k


@pytest.mark.parametrize("k", [3, 5, 10])
def test_enough_is_no_below_k_and_yes_at_k_and_above(store: Store, k: int) -> None:
    group = make_group(store, members=12, k=k)
    code = group.open()
    assert group.enough() is False
    submit_n(group, code, k - 1)
    assert group.enough() is False  # k−1
    submit_n(group, code, 1, first_seed=k - 1)
    assert group.enough() is True  # k
    submit_n(group, code, 1, first_seed=k)
    assert group.enough() is True  # k+1


def test_pulse_status_has_no_field_that_could_hold_a_count_of_responses() -> None:
    names = {f.name for f in dataclasses.fields(pulse.PulseStatus)}
    assert not {n for n in names if re.search(r"count|responses|answers|^n$|number|accepted", n)}
    assert {f.name: f.type for f in dataclasses.fields(pulse.PulseStatus)}["enough"] in (
        bool,
        "bool",
    )
    # The window it carries holds times, the code, the cap frozen at opening and how to join,
    # and no counter: how many were typed in from paper is known only once it closed.
    assert set(PulseWindow.model_fields) == {
        "cap",
        "takes_room_code",
        "typed_in",
        "session_id",
        "room_code",
        "opened_at",
        "closes_at",
        "closed_at",
    }


def test_pulse_status_with_room_codes_is_the_same_at_1_and_k_minus_1_responses(
    group: Group,
) -> None:
    code = group.open()
    submit_n(group, code, 1)
    one = group.status()
    submit_n(group, code, group.k - 2, first_seed=1)
    assert group.status() == one


def test_pulse_status_with_cards_is_the_same_at_1_and_k_minus_1_responses(group: Group) -> None:
    group.open()
    card_codes = group.cards(8)
    submit_n(group, card_codes[0], 1)
    one = group.status()
    for seed, card in enumerate(card_codes[1 : group.k - 1], start=1):
        submit_n(group, card, 1, first_seed=seed)
    assert count(group.store, "responses") == group.k - 1
    assert group.status() == one


def test_responses_of_another_session_do_not_make_enough(group: Group) -> None:
    submit_n(group, group.open(group.session(2)), group.k)
    group.open()
    assert group.enough() is False


# --------------------------------------------------------------------------- closing


def test_an_answer_after_close_is_refused_with_a_clear_message(group: Group) -> None:
    code = group.open()
    invitation = pulse.resolve_code(group.store, code, NOW)  # the page was loaded while open
    group.close()
    with pytest.raises(PulseUnavailable, match="closed") as caught:
        pulse.submit(group.store, invitation, fill(invitation), LATER)
    assert "no longer" in str(caught.value)
    assert count(group.store, "responses") == 0


def test_an_answer_sent_at_the_closing_time_is_refused(group: Group) -> None:
    window = pulse.open_pulse(group.store, group.settings, group.facilitator, group.session_id, NOW)
    invitation = pulse.resolve_code(group.store, window.room_code or "", NOW)
    last_moment = window.closes_at - dt.timedelta(microseconds=1)
    pulse.submit(group.store, invitation, fill(invitation), last_moment)
    with pytest.raises(PulseUnavailable, match="closed"):
        pulse.submit(group.store, invitation, fill(invitation, 1), window.closes_at)
    assert count(group.store, "responses") == 1


def test_close_due_closes_expired_windows_only(group: Group) -> None:
    window = pulse.open_pulse(group.store, group.settings, group.facilitator, group.session_id, NOW)
    other = group.session(2)
    group.open(other, at=NOW + dt.timedelta(hours=1))
    code = window.room_code or ""
    invitation = pulse.resolve_code(group.store, code, NOW)
    submit_n(group, code, 2)
    assert pulse.close_due(group.store, window.closes_at - dt.timedelta(seconds=1)) == []
    assert pulse.close_due(group.store, window.closes_at) == [group.session_id]
    closed = group.store.pulse_window(group.session_id)
    assert closed is not None
    assert closed.closed_at == window.closes_at
    assert closed.room_code is None
    still_open = group.store.pulse_window(other)
    assert still_open is not None
    assert still_open.closed_at is None
    # It then refuses answers, even at a time the window would have been open.
    with pytest.raises(PulseUnavailable, match="closed"):
        pulse.submit(group.store, invitation, fill(invitation), NOW)
    assert pulse.close_due(group.store, window.closes_at) == []
    assert count(group.store, "responses", group.session_id) == 2


def test_pulse_status_closes_an_expired_window(group: Group) -> None:
    window = pulse.open_pulse(group.store, group.settings, group.facilitator, group.session_id, NOW)
    status = group.status(window.closes_at)
    assert not status.is_open
    assert status.window is not None
    assert status.window.closed_at == window.closes_at


# --------------------------------------------------------------------------- storage


def test_a_response_row_is_only_an_id_and_a_session(store: Store) -> None:
    assert store.table_columns("responses") == ["id", "session_id"]


def test_answer_rows_hold_no_time_device_or_address(store: Store) -> None:
    columns = store.table_columns("answers")
    assert columns == ["response_id", "instrument_id", "item_id", "value"]
    forbidden = ("time", "date", "_at", "created", "device", "ip", "agent", "address", "card")
    for column in columns:
        assert not any(w in column.lower() for w in forbidden), column


def test_score_rows_hold_no_time_device_or_address(store: Store) -> None:
    columns = store.table_columns("scores")
    assert columns == ["response_id", "instrument_id", "score"]


def test_card_codes_hold_only_a_hash_and_a_session(store: Store) -> None:
    """Whether a card was used changes as people answer, so it lives in the ballot file."""
    assert store.table_columns("card_codes") == ["code_hash", "session_id"]


def _physical_order(store: Store, session_id: int) -> list[tuple[Any, ...]]:
    """The session's responses, read in storage order (no ORDER BY), as (id, answer pattern)."""
    rows = query(
        store,
        f"SELECT {storage_position(store)}, id FROM responses WHERE session_id = ?",
        [session_id],
    )
    order = [rid for _, rid in sorted(rows, key=lambda r: storage_key(r[0]))]
    answers = query(
        store,
        "SELECT a.response_id, a.instrument_id, a.item_id, a.value FROM answers a"
        " JOIN responses r ON r.id = a.response_id WHERE r.session_id = ?",
        [session_id],
    )
    grouped: dict[object, dict[tuple[str, str], int]] = {}
    for rid, instrument, item, value in answers:
        grouped.setdefault(rid, {})[(instrument, item)] = value
    return [(rid, pattern(grouped[rid])) for rid in order]


def test_close_rewrites_responses_in_random_order_under_fresh_ids(
    store: Store,
) -> None:
    group = make_group(store, members=30)
    code = group.open()
    invitation = pulse.resolve_code(store, code, NOW)
    submit_n(group, code, 30)  # 30 distinguishable responses: same order by chance is 1/30!
    inserted = [expected_pattern(invitation, seed) for seed in range(30)]
    # Until close the answers are only in the ballot file (in arrival order), or PostgreSQL's
    # ballot tables (about so: a smaller row may fill a gap an earlier page left); the
    # database's own tables hold none of them.
    assert _physical_order(store, group.session_id) == []
    held = [pattern(r.answers) for r in store.ballots.contents(group.session_id).responses]
    assert Counter(held) == Counter(inserted)
    if not store.on_postgres:
        assert held == inserted
    group.close()
    after = _physical_order(store, group.session_id)
    assert [p for _, p in after] != inserted
    assert Counter(p for _, p in after) == Counter(inserted)
    assert count(store, "answers", group.session_id) == 30 * len(invitation.items)
    # A plain SELECT, as anyone with the file would read it, is not in insertion order either.
    plain = [r[0] for r in query(store, "SELECT id FROM responses")]
    assert plain == [rid for rid, _ in after]
    # The per-instrument scores moved to the new ids with their answers; none is left behind.
    score_ids = [r[0] for r in query(store, "SELECT response_id FROM scores")]
    assert set(score_ids) == {rid for rid, _ in after}
    assert len(score_ids) == 30 * len(invitation.instruments)
    assert not store.ballots.exists(group.session_id)


def test_close_leaves_other_sessions_responses_alone(group: Group) -> None:
    other = group.session(2)
    submit_n(group, group.open(other), 3)
    before = _physical_order(group.store, other)
    submit_n(group, group.open(), 3)
    group.close()
    assert _physical_order(group.store, other) == before
    assert count(group.store, "responses", group.session_id) == 3


def test_close_deletes_the_room_code_and_every_card_code(group: Group) -> None:
    group.open()
    group.cards(4)
    other = group.session(2)
    group.open(other)
    group.cards(2, other)
    group.close()
    assert count(group.store, "card_codes", group.session_id) == 0
    assert count(group.store, "card_codes", other) == 2
    window = group.store.pulse_window(group.session_id)
    assert window is not None
    assert window.room_code is None
    assert not group.store.ballots.exists(group.session_id)
    assert group.store.ballots.exists(other)


def test_auto_close_shuffles_and_forgets_cards_too(
    store: Store,
) -> None:
    group = make_group(store, members=30)
    window = pulse.open_pulse(store, group.settings, group.facilitator, group.session_id, NOW)
    group.cards(3)
    submit_n(group, window.room_code or "", 30)
    before = _physical_order(store, group.session_id)
    pulse.close_due(store, window.closes_at)
    after = _physical_order(store, group.session_id)
    assert [p for _, p in after] != [p for _, p in before]
    assert not {r for r, _ in after} & {r for r, _ in before}
    assert count(store, "card_codes") == 0


# --------------------------------------------------------------------------- cards


def _every_stored_text(store: Store) -> str:
    """Every value of every column of every table (on PostgreSQL, the ballots schema's too), as
    text."""
    out = []
    for schema, table in query(
        store,
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema NOT IN ('information_schema', 'pg_catalog')",
    ):
        assert re.fullmatch(r"[a-z_]+", schema) and re.fullmatch(r"[a-z_]+", table)
        for row in query(store, f"SELECT * FROM {schema}.{table}"):
            out.extend(str(v) for v in row)
    return "\n".join(out)


def test_make_cards_gives_distinct_10_character_codes(group: Group) -> None:
    group.open()
    codes = group.cards(60)
    assert len(codes) == len(set(codes)) == 60
    for code in codes:
        assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{10}", code), code
    assert unused_cards(group.store, group.session_id) == 60


@pytest.mark.parametrize("n", [0, -1, 61])
def test_make_cards_refuses_a_count_outside_1_to_60(group: Group, n: int) -> None:
    group.open()
    with pytest.raises(InvalidInput):
        pulse.make_cards(group.store, group.facilitator, group.session_id, n, NOW)
    assert count(group.store, "card_codes") == 0


def test_cards_need_an_open_pulse(group: Group) -> None:
    with pytest.raises(Conflict):
        pulse.make_cards(group.store, group.facilitator, group.session_id, 3, NOW)
    group.open()
    group.close()
    with pytest.raises(Conflict):
        pulse.make_cards(group.store, group.facilitator, group.session_id, 3, LATER)
    assert count(group.store, "card_codes") == 0


def test_only_hashes_of_card_codes_are_stored(group: Group) -> None:
    group.open()
    codes = group.cards(12)
    stored = {r[0] for r in query(group.store, "SELECT code_hash FROM card_codes")}
    assert stored == {pulse.card_hash(c) for c in codes}
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)
    text = _every_stored_text(group.store)
    for code in codes:
        assert code not in text
        assert pulse.format_code(code) not in text
    submit_n(group, codes[0], 1)
    text = _every_stored_text(group.store)
    assert codes[0] not in text


def test_each_card_works_once(group: Group) -> None:
    group.open()
    codes = group.cards(3)
    for seed, code in enumerate(codes):
        submit_n(group, code, 1, first_seed=seed)
    for seed, code in enumerate(codes):
        submit_n(group, code, 1, first_seed=10 + seed)  # thanked, and dropped
    assert unused_cards(group.store, group.session_id) == 0
    assert count(group.store, "responses") == 3
    assert stored_patterns(group.store, group.session_id) == Counter(
        expected_pattern(pulse.resolve_code(group.store, codes[0], NOW), seed) for seed in range(3)
    )


def test_a_card_refused_for_a_bad_answer_stays_unused(
    group: Group,
) -> None:
    group.open()
    (card,) = group.cards(1)
    invitation = pulse.resolve_code(group.store, card, NOW)
    raw = fill(invitation)
    raw[pulse.answer_key(*invitation.items[0])] = 99
    with pytest.raises(InvalidInput):
        pulse.submit(group.store, invitation, raw, NOW)
    pulse.submit(group.store, invitation, {}, NOW)  # nothing answered: the card stays unused
    assert unused_cards(group.store, group.session_id) == 1
    pulse.submit(group.store, invitation, fill(invitation), NOW)
    assert unused_cards(group.store, group.session_id) == 0


def test_a_card_and_the_room_code_lead_to_the_same_invitation_but_the_hash(group: Group) -> None:
    code = group.open()
    (card,) = group.cards(1)
    by_room = pulse.resolve_code(group.store, code, NOW)
    by_card = pulse.resolve_code(group.store, card, NOW)
    assert dataclasses.replace(by_card, card_hash=None) == by_room


def test_a_paper_card_is_entered_once_with_the_same_checks(group: Group) -> None:
    code = group.open()
    cards_made = group.cards(3)
    invitation = pulse.resolve_code(group.store, code, NOW)
    events = count(group.store, "audit_events")
    pulse.enter_paper_card(
        group.store, group.facilitator, group.session_id, cards_made[0], fill(invitation), NOW
    )
    assert count(group.store, "responses", group.session_id) == 1
    assert unused_cards(group.store, group.session_id) == 2
    # Typing the same card again is taken like any card and dropped: the facilitator cannot
    # tell, by typing in a card code, whether it has been used.
    pulse.enter_paper_card(
        group.store, group.facilitator, group.session_id, cards_made[0], fill(invitation, 1), NOW
    )
    assert count(group.store, "responses", group.session_id) == 1
    raw = fill(invitation)
    raw[pulse.answer_key(*invitation.items[2])] = 42
    with pytest.raises(InvalidInput, match="not one of the choices"):
        pulse.enter_paper_card(
            group.store, group.facilitator, group.session_id, cards_made[1], raw, NOW
        )
    raw[pulse.answer_key(*invitation.items[2])] = 6
    with pytest.raises(InvalidInput, match="not one of the choices"):
        pulse.enter_paper_card(
            group.store, group.facilitator, group.session_id, cards_made[1], raw, NOW
        )
    assert unused_cards(group.store, group.session_id) == 2
    assert count(group.store, "responses", group.session_id) == 1
    assert count(group.store, "audit_events") == events


def test_paper_cards_obey_the_cap(group: Group) -> None:
    group.attendance(1)
    code = group.open()
    (card,) = group.cards(1)
    submit_n(group, code, 1)
    invitation = pulse.resolve_code(group.store, code, NOW)
    with pytest.raises(PulseFull):
        pulse.enter_paper_card(
            group.store, group.facilitator, group.session_id, card, fill(invitation), NOW
        )
    assert unused_cards(group.store, group.session_id) == 1


def test_paper_entry_refuses_a_room_code_and_a_card_of_another_session(group: Group) -> None:
    code = group.open()
    other = group.session(2)
    group.open(other)
    (foreign,) = group.cards(1, other)
    invitation = pulse.resolve_code(group.store, code, NOW)
    for typed in (code, foreign):
        with pytest.raises(InvalidInput, match="not a card code of this session"):
            pulse.enter_paper_card(
                group.store, group.facilitator, group.session_id, typed, fill(invitation), NOW
            )
    assert count(group.store, "responses") == 0
    assert unused_cards(group.store, other) == 1
    with pytest.raises(PulseUnavailable):
        pulse.enter_paper_card(
            group.store, group.facilitator, group.session_id, "ABCDEFGHJK", fill(invitation), NOW
        )


def test_paper_entry_is_for_the_cohorts_facilitators_only(
    group: Group,
) -> None:
    group.open()
    (card,) = group.cards(1)
    other = staff(group.store, "other", Role.FACILITATOR)
    with pytest.raises(AccessDenied):
        pulse.enter_paper_card(group.store, other, group.session_id, card, {}, NOW)
    assert unused_cards(group.store, group.session_id) == 1


def test_no_audit_event_is_written_for_an_answer(group: Group) -> None:
    code = group.open()
    (card,) = group.cards(1)
    events = count(group.store, "audit_events")
    submit_n(group, code, 2)
    submit_n(group, card, 1, first_seed=2)
    invitation = pulse.resolve_code(group.store, code, NOW)
    with pytest.raises(InvalidInput):
        pulse.submit(group.store, invitation, {"nonsense/item": 1}, NOW)
    assert count(group.store, "audit_events") == events


def test_paper_phone_and_card_responses_are_stored_alike(group: Group) -> None:
    code = group.open()
    card_phone, card_paper = group.cards(2)
    invitation = pulse.resolve_code(group.store, code, NOW)
    raw = fill(invitation, 4)
    pulse.submit(group.store, invitation, raw, NOW)
    pulse.submit(group.store, pulse.resolve_code(group.store, card_phone, NOW), raw, NOW)
    pulse.enter_paper_card(group.store, group.facilitator, group.session_id, card_paper, raw, NOW)
    group.close()
    responses = query(group.store, "SELECT * FROM responses")
    assert len(responses) == 3
    assert {r[1:] for r in responses} == {(group.session_id,)}
    per_response: dict[object, list[tuple[Any, ...]]] = {}
    for row in query(group.store, "SELECT * FROM answers ORDER BY instrument_id, item_id"):
        per_response.setdefault(row[0], []).append(row[1:])
    shapes = list(per_response.values())
    assert len(shapes) == 3
    assert shapes[0] == shapes[1] == shapes[2]
    assert not any("used" in c or "card" in c for c in group.store.table_columns("answers"))


# --------------------------------------------------------------------------- the card sheet


def test_the_card_sheet_has_every_code_a_qr_code_per_card_and_the_questions(group: Group) -> None:
    group.open()
    codes = group.cards(7)
    links = [(c, pulse.join_link("http://192.168.1.20:8501", c)) for c in codes]
    bundle = group.store.curriculum_bundle(
        group.store.cohort(group.cohort_id).curriculum_version_id
    )
    items = bundle.pulse_items(1)
    html = cards.card_sheet("Session 1: Arriving", links, items, 5)
    for code in codes:
        assert pulse.format_code(code) in html
    assert html.count("<svg") == 7
    assert html.count('<div class="card">') == 7
    # The questions once, on the paper form, with a box for every point of every scale.
    for _, item in items:
        assert html.count(str(markupsafe.escape(item.text))) == 1, item.text
    assert html.count('class="tick"') == sum(i.scale.max - i.scale.min + 1 for i, _ in items)
    assert len(re.findall(r"at least\s+5\s+people answer", html)) == 7
    assert "<title>Session 1: Arriving: pulse cards</title>" in html


def test_the_card_sheet_shows_the_programs_minimum_group_size(
    store: Store,
) -> None:
    group = make_group(store, k=7)
    group.open()
    (code,) = group.cards(1)
    status = group.status()
    html = cards.card_sheet(
        "S", [(code, pulse.join_link("http://192.168.1.20:8501", code))], [], status.min_group_size
    )
    assert re.search(r"at least\s+7\s+people", html)


def test_the_card_sheet_escapes_its_title(group: Group) -> None:
    html = cards.card_sheet("<script>x</script>", [], [], 5)
    assert "<script>" not in html


def test_a_join_link_carries_the_code_to_the_pulse_page() -> None:
    assert (
        pulse.join_link("http://192.168.1.20:8501", "ABCDEFGH")
        == "http://192.168.1.20:8501/pulse?code=ABCDEFGH"
    )


def test_a_pulse_opens_only_when_its_session_could_be_held(store: Store, group: Group) -> None:
    """The same date rule as marking a session held, so no results exist for a session that
    cannot be held; "we met today instead" moves the session, and then it opens."""
    five, six = (store.session(group.session(n)) for n in (5, 6))
    early = dt.datetime.combine(six.scheduled_date - dt.timedelta(days=3), dt.time(19))
    with pytest.raises(NotYetDue):
        pulse.open_pulse(store, group.settings, group.facilitator, six.id, early)
    assert store.pulse_window(six.id) is None
    cohorts.met_today(store, group.facilitator, six.id, early.date(), shift_later=False)
    assert pulse.open_pulse(store, group.settings, group.facilitator, six.id, early).room_code
    # The day before a session's date still counts (time zones, late nights).
    eve = dt.datetime.combine(five.scheduled_date - dt.timedelta(days=1), dt.time(23))
    assert pulse.open_pulse(store, group.settings, group.facilitator, five.id, eve).room_code
