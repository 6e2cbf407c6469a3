"""AppTests of the pulse pages: the participant page (no account) and the facilitator's Pulse tab."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from program import pulse
from program.models import Role
from program.store import Store, ballots
from tests.conftest import app_test
from tests.test_pulse import GENERIC, Group, build_template, count, fill, make_group, staff

STAFF_WORDS = ("Run a session", "Cohorts", "Cohort results", "Admin", "Audit", "Sign out", "Roster")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("pulse-pages-template"))


@pytest.fixture
def store(settings_env: Path, template: Path) -> Iterator[Store]:
    shutil.copyfile(template, settings_env)
    s = Store(settings_env)
    yield s
    s.close()


@pytest.fixture
def group(store: Store) -> Group:
    return make_group(store)


def now() -> dt.datetime:
    # The pages use the wall clock, so windows are opened at the wall clock too.
    return dt.datetime.now()


def texts(at: AppTest | Any) -> list[str]:
    """Every piece of text a page (or one block of it) rendered: values, labels, options."""
    out: list[str] = []
    stack: list[Any] = [at._tree if isinstance(at, AppTest) else at]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
        for attr in ("value", "label", "body", "caption", "help", "placeholder", "options"):
            try:
                v = getattr(node, attr, None)
            except Exception:  # a widget without a value yet
                continue
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, list):
                out.extend(str(x) for x in v)
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "body") and isinstance(proto.body, str):
            out.append(proto.body)
    return out


def page_text(at: AppTest | Any) -> str:
    return "\n".join(texts(at))


def participant(store: Store, code: str | None = None) -> AppTest:
    at = app_test("pages/pulse.py", store)
    if code is not None:
        at.query_params["code"] = code
    return at.run()


def type_code(at: AppTest, typed: str) -> AppTest:
    at.text_input[0].input(typed)
    return at.button[0].click().run()


def answer_all(at: AppTest, skip: int | None = None) -> AppTest:
    for index, radio in enumerate(at.radio):
        if index != skip:
            radio.set_value(radio.options and int(radio.options[-1].split()[0]))
    return send(at)


def send(at: AppTest) -> AppTest:
    (button,) = [b for b in at.button if b.label == "Send my answers"]
    return button.click().run()


def shows_code_form(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Code"] and [b.label for b in at.button] == [
        "Continue"
    ]


# --------------------------------------------------------------------------- participant page


def test_with_no_code_the_page_asks_for_one(store: Store) -> None:
    at = participant(store)
    assert not at.exception
    assert [t.value for t in at.title] == ["Today's pulse"]
    assert shows_code_form(at)
    assert not at.radio
    assert not at.error


def test_a_wrong_typed_code_shows_the_generic_error_and_the_form_again(
    store: Store, group: Group
) -> None:
    group.open(at=now())
    at = type_code(participant(store), "ABCD-EFGH")
    assert not at.exception
    assert [e.value for e in at.error] == [GENERIC]
    assert shows_code_form(at)
    assert not at.radio


def test_a_wrong_code_in_the_link_shows_the_generic_error_and_the_form(store: Store) -> None:
    at = participant(store, "ABCDEFGH")
    assert not at.exception
    assert [e.value for e in at.error] == [GENERIC]
    assert shows_code_form(at)


def test_a_closed_code_in_the_link_reads_like_a_wrong_one(store: Store, group: Group) -> None:
    code = group.open(at=now())
    pulse.close_pulse(store, group.facilitator, group.session_id, now())
    at = participant(store, code)
    assert [e.value for e in at.error] == [GENERIC]
    assert shows_code_form(at)


def test_a_valid_room_code_shows_the_session_the_promise_and_one_question_each(
    store: Store, group: Group
) -> None:
    code = group.open(at=now())
    at = participant(store, code)
    assert not at.exception
    invitation = pulse.resolve_code(store, code, now())
    assert [t.value for t in at.title] == [f"Session 1: {invitation.session_title}"]
    (promise,) = [i.value for i in at.info]
    assert re.search(r"at least 5 people", promise)
    assert "No name, device or time is kept" in promise
    assert "after the pulse closes" in promise and "voluntary" in promise
    # Every point in full, one tap away, so the summary can stay short on a phone.
    (details,) = at.expander
    assert details.label == "What happens to my answers?"
    full = details.markdown[0].value
    for point in ("What is asked", "Who sees what", "Minimum group size", "random order"):
        assert point in full, point
    assert "no name, no device, no time" in full
    assert [r.label for r in at.radio] == [
        f"{n}. {item.text}" for n, (_, item) in enumerate(invitation.items, start=1)
    ]
    for radio, (instrument, _) in zip(at.radio, invitation.items, strict=True):
        assert radio.value is None  # nothing is chosen for the participant
        assert len(radio.options) == instrument.scale.max - instrument.scale.min + 1
    assert not at.error


def test_the_participant_page_shows_no_staff_links(store: Store, group: Group) -> None:
    for at in (participant(store), participant(store, group.open(at=now()))):
        assert not at.sidebar.children or not page_text(at.sidebar)
        assert not at.get("page_link")
        text = page_text(at)
        for word in STAFF_WORDS:
            assert word not in text, word
        assert "Sign in" not in [t.value for t in at.title]


def test_a_code_typed_loosely_in_the_form_leads_to_the_questions(
    store: Store, group: Group
) -> None:
    code = group.open(at=now())
    at = type_code(participant(store), f" {code[:4].lower()}-{code[4:]} ")
    assert not at.exception
    assert len(at.radio) == 9


def test_answering_everything_stores_one_response_and_thanks(store: Store, group: Group) -> None:
    at = answer_all(participant(store, group.open(at=now())))
    assert not at.exception
    assert [t.value for t in at.title] == ["Thank you"]
    assert at.success
    (receipt,) = [i.value for i in at.info]
    assert "at least 5 people" in receipt
    assert "without your name, device or the time" in receipt
    assert "What is asked" not in page_text(at)
    assert count(store, "responses", group.session_id) == 1
    assert count(store, "answers", group.session_id) == 9
    # A second visit in the same browser session: still thanked, and nothing is added.
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Thank you"]
    assert not at.radio
    assert count(store, "responses", group.session_id) == 1


def test_the_chosen_options_are_stored(store: Store, group: Group) -> None:
    code = group.open(at=now())
    at = participant(store, code)
    invitation = pulse.resolve_code(store, code, now())
    raw = fill(invitation, 7)
    for radio, (instrument, item) in zip(at.radio, invitation.items, strict=True):
        radio.set_value(raw[pulse.answer_key(instrument, item)])
    send(at)
    (held,), _ = store.ballots.contents(group.session_id)
    assert held.answers == {tuple(k.split("/")): v for k, v in raw.items()}


@pytest.mark.parametrize("skip", [0, 8])
def test_a_question_left_unanswered_is_skipped(store: Store, group: Group, skip: int) -> None:
    at = answer_all(participant(store, group.open(at=now())), skip=skip)
    assert not at.exception
    assert not at.error
    assert [t.value for t in at.title] == ["Thank you"]
    assert count(store, "responses") == 1
    assert count(store, "answers") == 8


def test_a_full_room_gets_the_kind_message(store: Store, group: Group) -> None:
    group.attendance(1)
    code = group.open(at=now())
    answer_all(participant(store, code))
    at = answer_all(participant(store, code))
    assert not at.exception
    (message,) = [i.value for i in at.info]
    assert "Everyone who was here today seems to have answered already" in message
    assert not at.radio  # the form is gone, so nobody presses Send again
    assert count(store, "responses") == 1


def test_eight_wrong_codes_pause_the_form(store: Store, group: Group) -> None:
    code = group.open(at=now())
    at = participant(store)
    for attempt in range(1, 8):
        at = type_code(at, f"WRONG{attempt:03d}")
        assert shows_code_form(at), attempt
        assert not at.warning
    at = type_code(at, "WRONG008")
    assert not at.exception
    assert any("Too many codes" in w.value for w in at.warning)
    assert not at.text_input  # no form to type the next guess into
    assert not at.button
    at.run()
    assert any("Too many codes" in w.value for w in at.warning)
    assert not at.text_input
    assert code  # the right code exists; the pause is what keeps a guesser out


def test_a_code_typed_after_arriving_with_a_bad_link_is_used(store: Store, group: Group) -> None:
    code = group.open(at=now())
    at = participant(store, "OLDCODE1")
    assert at.error
    at = type_code(at, code)
    assert not at.error
    assert len(at.radio) == 9


def test_a_busy_moment_shows_a_message_not_a_traceback(
    store: Store, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds the pulse's ballot file past the wait: the phone is asked to send
    again, and nothing is stored."""
    monkeypatch.setattr(ballots, "LOCK_WAIT_SECONDS", 0.1)
    at = participant(store, group.open(at=now()))
    other = sqlite3.connect(store.ballots.path(group.session_id), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        at = answer_all(at)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert count(store, "responses") == 0
    assert not at.exception
    assert any("Send again" in e.value for e in at.error)


def test_a_card_code_in_the_link_works_once(store: Store, group: Group) -> None:
    group.open(at=now())
    (card,) = pulse.make_cards(store, group.facilitator, group.session_id, 1, now())
    at = answer_all(participant(store, card))
    assert [t.value for t in at.title] == ["Thank you"]
    # The card again: offered the questions and thanked like any card, so the page never tells
    # whether a card was used; only the first answer counts.
    again = participant(store, card)
    assert not again.error and again.radio
    again = answer_all(again)
    assert [t.value for t in again.title] == ["Thank you"]
    assert count(store, "responses") == 1


# --------------------------------------------------------------------------- facilitator Pulse tab


def session_page(store: Store, group: Group) -> AppTest:
    return app_test("pages/session.py", store, group.facilitator).run()


def pulse_tab_text(at: AppTest) -> str:
    (tab,) = [t for t in at.tabs if t.label == "Pulse"]
    return page_text(tab)


def open_from_page(store: Store, group: Group) -> tuple[AppTest, str]:
    at = session_page(store, group)
    assert not at.exception
    (opener,) = [b for b in at.button if b.label == "Open the pulse"]
    at = opener.click().run()
    assert not at.exception
    window = store.pulse_window(group.session_id)
    assert window is not None and window.room_code is not None
    return at, window.room_code


def test_opening_the_pulse_shows_the_room_code_and_not_yet(store: Store, group: Group) -> None:
    at, code = open_from_page(store, group)
    text = pulse_tab_text(at)
    assert pulse.format_code(code) in text
    assert "Enough responses to report: **not yet** (needs 5)." in text
    assert "yes" not in re.findall(r"\*\*(\w+)\*\*", text)
    assert not [b for b in at.button if b.label == "Open the pulse"]


def submit_seeds(store: Store, code: str, seeds: range) -> None:
    for seed in seeds:
        invitation = pulse.resolve_code(store, code, now())
        pulse.submit(store, invitation, fill(invitation, seed), now())


def test_the_pulse_tab_says_yes_at_k_and_not_yet_at_k_minus_1(store: Store, group: Group) -> None:
    at, code = open_from_page(store, group)
    submit_seeds(store, code, range(4))  # k−1
    assert "Enough responses to report: **not yet** (needs 5)." in pulse_tab_text(at.run())
    submit_seeds(store, code, range(4, 5))  # k
    text = pulse_tab_text(at.run())
    assert "Enough responses to report: **yes** (at least 5)." in text
    assert "not yet" not in text
    submit_seeds(store, code, range(5, 6))  # k+1
    assert "Enough responses to report: **yes** (at least 5)." in pulse_tab_text(at.run())


# A count of responses in any wording: "6 responses", "answers: 6", "6 of 8 answered".
COUNT_PATTERNS = (
    r"\b\d+\s+(?:responses?|answers?|people answered|have answered|answered|replies)\b",
    r"\b(?:responses?|answers?|answered|replies)\b\W{0,3}\d+",
    r"\b\d+\s*(?:of|/)\s*\d+\s+(?:answered|responded|responses|people)",
)


def assert_no_count(at: AppTest) -> None:
    for text in texts(at):
        for rule in COUNT_PATTERNS:
            assert not re.findall(rule, text, flags=re.IGNORECASE), (rule, text)


def test_the_session_page_never_shows_a_number_of_responses(store: Store, group: Group) -> None:
    at, code = open_from_page(store, group)
    assert_no_count(at)
    tabs = {}
    for n in (1, 4, 5, 6):  # 1 and k−1 below k; k and k+1 at or above it
        submit_seeds(store, code, range(len(tabs) and list(tabs)[-1], n))
        at.run()
        assert not at.exception
        assert_no_count(at)
        tabs[n] = page_text(at)
    # Below k, and again at or above k, the page reads word for word the same whatever n is.
    assert tabs[1] == tabs[4]
    assert tabs[5] == tabs[6]
    assert tabs[4] != tabs[5]


def test_the_pulse_tab_reads_the_same_at_1_and_k_minus_1_room_code_answers(
    store: Store, group: Group
) -> None:
    at, code = open_from_page(store, group)
    submit_seeds(store, code, range(1))
    one = pulse_tab_text(at.run())
    submit_seeds(store, code, range(1, 4))
    assert pulse_tab_text(at.run()) == one


def test_the_pulse_tab_reads_the_same_at_1_and_k_minus_1_card_answers(
    store: Store, group: Group
) -> None:
    at, _ = open_from_page(store, group)
    codes = pulse.make_cards(store, group.facilitator, group.session_id, 6, now())
    pulse.submit(
        store, pulse.resolve_code(store, codes[0], now()), fill_for(store, codes[0]), now()
    )
    one = pulse_tab_text(at.run())
    for card in codes[1:4]:
        pulse.submit(store, pulse.resolve_code(store, card, now()), fill_for(store, card), now())
    assert pulse_tab_text(at.run()) == one


def fill_for(store: Store, code: str) -> dict[str, object]:
    return fill(pulse.resolve_code(store, code, now()))


def test_closing_the_pulse_needs_the_confirmation(store: Store, group: Group) -> None:
    at, _ = open_from_page(store, group)
    (close,) = [b for b in at.button if b.label == "Close the pulse"]
    assert close.disabled  # a browser cannot press it (AppTest refuses to, too)
    (confirm,) = [c for c in at.checkbox if c.label == "Everyone who wants to answer has answered"]
    at = confirm.check().run()
    (close,) = [b for b in at.button if b.label == "Close the pulse"]
    assert not close.disabled
    at = close.click().run()
    assert not at.exception
    window = store.pulse_window(group.session_id)
    assert window is not None and window.closed_at is not None
    assert "The pulse closed on" in pulse_tab_text(at)


def test_another_facilitator_does_not_get_this_cohorts_pulse_tab(
    store: Store, group: Group
) -> None:
    group.open(at=now())
    stranger = staff(store, "stranger", Role.FACILITATOR)
    at = app_test("pages/session.py", store, stranger).run()
    assert not at.exception
    assert not [b for b in at.button if b.label in ("Open the pulse", "Close the pulse")]
    window = store.pulse_window(group.session_id)
    assert window is not None and window.room_code is not None
    assert pulse.format_code(window.room_code) not in page_text(at)
    assert "You are not running a cohort yet" in page_text(at)
