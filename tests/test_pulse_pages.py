"""AppTests of the facilitator's Pulse tab on the session page.

The participant's page is plain HTML from the app's own route: tests/test_participant_page.py.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from streamlit.testing.v1 import AppTest

from program import pulse
from program.models import Role
from program.store import Store
from tests.factories import pulses
from tests.factories.pages import app_test
from tests.factories.pulses import Group, fill, staff

# One pulse-ready database per process, copied for each test (tests/factories/pulses.py).
template = pulses.template
store = pulses.store
group = pulses.group


def now() -> dt.datetime:
    # The page uses the wall clock, so windows are opened at the wall clock too.
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
