"""The participant's pulse at /pulse: plain HTML from the app's own route, over HTTP.

Starlette's TestClient drives the app's ROUTES behind the same security-header middleware as
app.py, on each test's own temporary database. Nothing of program/ is mocked. The page is read
with html.parser, as a browser without scripts would: every path here works with no script.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

with warnings.catch_warnings():  # Starlette prefers httpx2, which is not installed; httpx works
    warnings.filterwarnings("ignore", "Using `httpx`")
    from starlette.testclient import TestClient

from headers import POLICY
from program import participant, pulse
from program.errors import PulseUnavailable
from program.store import Store, ballots
from tests.factories import pulse_page
from tests.factories.paths import ROOT
from tests.factories.pulse_page import APP, CLIENT, Page, choose, now, read, send, visit
from tests.factories.pulses import GENERIC, Group, count, make_group

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

FORM = {"content-type": "application/x-www-form-urlencoded"}


# The participant page's fixtures (tests/factories/pulse_page.py): each test has its own database,
# a group and a client.
template = pulse_page.template
store = pulse_page.store
group = pulse_page.group
http = pulse_page.http
fresh_memory = pulse_page.fresh_memory


def held(store: Store, group: Group) -> list[dict[tuple[str, str], int]]:
    """The answers the open pulse's ballot file holds."""
    return [r.answers for r in store.ballots.contents(group.session_id).responses]


# --------------------------------------------------------------------------- the code form


def test_with_no_code_the_page_asks_for_one(http: TestClient) -> None:
    page = visit(http)
    assert page.status == 200
    assert page.h1 == [participant.PAGE_TITLE]
    assert page.asks_for_code and not page.problem
    (box,) = page.visible_inputs
    # Phones: capitals, no suggestions, no remembered codes, the plain text keyboard.
    assert box["autocapitalize"] == "characters"
    assert box["autocomplete"] == "off"
    assert box["inputmode"] == "text"
    assert "autofocus" in box
    assert box["id"] in page.labels
    assert participant.ASK_FOR_CODE in page.text


def test_a_code_typed_into_the_form_leads_to_the_questions(http: TestClient, group: Group) -> None:
    code = group.open(at=now())
    # The form is a GET to /pulse, so what a person types arrives like a link's code.
    page = visit(http, f"  {code[:4].lower()}-{code[4:]} ")
    assert page.shows_questions
    assert page.hidden()["code"] == code


def test_a_room_code_in_the_link_shows_the_session_the_promise_and_every_question(
    http: TestClient, store: Store, group: Group
) -> None:
    code = group.open(at=now())
    page = visit(http, code)
    invitation = pulse.resolve_code(store, code, now())
    assert page.status == 200
    assert page.h1 == [f"Session 1: {invitation.session_title}"]
    assert page.shows_questions and not page.problem
    assert "9 short questions" in page.text
    assert "Your answers are anonymous: no name, device or time is kept." in page.text
    assert "only if at least 5 people answered" in page.text
    # The whole promise, one tap away, without a script.
    assert "<details>" in page.html and participant.PROMISE_MORE in page.text
    assert "put in a random order" in page.text
    assert page.names == [pulse.answer_key(i, item) for i, item in invitation.items]
    for instrument, item in invitation.items:
        values = page.values(pulse.answer_key(instrument, item))
        assert sorted(values[:-1], key=int) == [str(p) for p in instrument.scale.points]
        assert values[-1] == pulse.PREFER_NOT_TO_SAY
    assert page.checked() == {}  # nothing is chosen for the participant
    assert len(page.fieldsets) == page.legends == 9
    # Each question is a radio group named by its legend, for screen readers.
    assert page.html.count('role="radiogroup"') == 9
    # Each instrument's recall period is said once, above its questions.
    assert page.html.count("<h2>Over the last two weeks</h2>") == 1
    assert page.html.count("<h2>In the past seven days</h2>") == 1
    assert page.text.count("Please choose, for each of the five statements") == 1


def test_scales_are_drawn_by_their_kind(http: TestClient, group: Group) -> None:
    page = visit(http, group.open(at=now()))
    html = page.html
    # WHO-5: every point a full-width button with its words, in the published order.
    assert re.search(r'class="choices list"', html)
    who5 = re.findall(r'name="who5/cheerful" value="(\d)"><span>([^<]+)<', html)
    assert who5[0] == ("5", "All of the time") and who5[-1] == ("0", "At no time")
    # 0–10 and 1–7: one row of numbers, the end labels under the ends.
    assert 'class="choices row pts-11"' in html and 'class="choices row pts-7"' in html
    assert "<b>0</b> Not useful at all" in html and "<b>10</b> Extremely useful" in html
    # The words of a point are spoken with its number by a screen reader.
    assert '<span>10<span class="vh">, Extremely useful</span></span>' in html


def test_a_card_leads_to_the_questions_and_its_receipt_says_each_card_counts_once(
    http: TestClient, store: Store, group: Group
) -> None:
    group.open(at=now())
    (card,) = pulse.make_cards(store, group.facilitator, group.session_id, 1, now())
    page = visit(http, card)
    assert page.shows_questions
    assert 'id="answered"' not in page.html  # a card is its own bound: the phone keeps no note
    thanks = send(http, page, choose(page))
    assert thanks.h1 == [participant.THANK_YOU]
    assert participant.CARD_ANSWERS_IN in thanks.text
    assert "localStorage" not in thanks.html
    assert count(store, "responses", group.session_id) == 1
    # The same card again is offered the questions and thanked like any card: the page never
    # tells whether a card was used. Only its first answers count.
    again = visit(http, card)
    assert again.shows_questions and not again.problem
    assert send(http, again, choose(again, "first")).h1 == [participant.THANK_YOU]
    assert count(store, "responses", group.session_id) == 1


def test_a_wrong_code_a_closed_pulse_and_an_unknown_card_read_alike(
    http: TestClient, store: Store, group: Group
) -> None:
    code = group.open(at=now())
    (used, closed_card) = pulse.make_cards(store, group.facilitator, group.session_id, 2, now())
    unknown_card = pulse.new_card_code()
    wrong = visit(http, "ABCDEFGH")
    assert wrong.problem == GENERIC and wrong.asks_for_code
    assert visit(http, unknown_card).html == wrong.html
    pulse.close_pulse(store, group.facilitator, group.session_id, now())
    for typed in (code, used, closed_card):
        assert visit(http, typed).html == wrong.html, typed
    # What was typed is never drawn back into the page.
    assert "ABCDEFGH" not in wrong.html


def test_a_card_with_a_wrong_check_letter_is_a_typing_mistake(
    http: TestClient, store: Store, group: Group
) -> None:
    group.open(at=now())
    (card,) = pulse.make_cards(store, group.facilitator, group.session_id, 1, now())
    last = pulse.ALPHABET[(pulse.ALPHABET.index(card[-1]) + 1) % len(pulse.ALPHABET)]
    page = visit(http, card[:-1] + last)
    assert page.problem == pulse.CARD_TYPO
    assert page.asks_for_code


def test_the_room_code_on_a_cards_only_day_asks_for_the_card(
    http: TestClient, group: Group
) -> None:
    code = group.open(at=now())
    group.cards(3, room_code_too=False)
    page = visit(http, code)
    assert page.problem == pulse.CARDS_ONLY
    assert page.asks_for_code


# --------------------------------------------------------------------------- answering


def test_answering_everything_stores_one_response_and_thanks(
    http: TestClient, store: Store, group: Group
) -> None:
    page = visit(http, group.open(at=now()))
    answers = choose(page)
    thanks = send(http, page, answers)
    assert thanks.status == 200
    assert thanks.h1 == [participant.THANK_YOU]
    assert participant.ANSWERS_IN in thanks.text
    assert "without a name, device or time" in thanks.text
    assert "at least 5 people answered" in thanks.text
    (stored,) = held(store, group)
    assert stored == {tuple(k.split("/")): int(v) for k, v in answers.items()}
    # The phone notes in its own storage that it answered, under the key the questions page
    # reads to show the thank-you again instead of the questions.
    key = page.html.split('key = "')[1].split('"')[0]
    assert f'localStorage.setItem("{key}", "1")' in thanks.html
    assert 'id="answered" hidden' in page.html and participant.ANSWER_AGAIN in page.html


@pytest.mark.parametrize("how", ["untouched", "prefer not to say"])
@pytest.mark.parametrize("skipped", [0, 8])
def test_a_question_may_be_skipped(
    http: TestClient, store: Store, group: Group, how: str, skipped: int
) -> None:
    page = visit(http, group.open(at=now()))
    answers = choose(page, skip=(skipped,))
    if how == "prefer not to say":
        answers[page.names[skipped]] = pulse.PREFER_NOT_TO_SAY
    thanks = send(http, page, answers)
    assert thanks.h1 == [participant.THANK_YOU] and not thanks.problem
    (stored,) = held(store, group)
    assert len(stored) == 8
    assert tuple(page.names[skipped].split("/")) not in stored


@pytest.mark.parametrize("how", ["untouched", "prefer not to say"])
def test_skipping_every_question_stores_nothing_and_thanks_all_the_same(
    http: TestClient, store: Store, group: Group, how: str
) -> None:
    page = visit(http, group.open(at=now()))
    answers = (
        dict.fromkeys(page.names, pulse.PREFER_NOT_TO_SAY) if how == "prefer not to say" else {}
    )
    thanks = send(http, page, answers)
    assert thanks.h1 == [participant.THANK_YOU]
    assert participant.ANSWERS_IN in thanks.text
    assert count(store, "responses", group.session_id) == 0


@pytest.mark.parametrize("bad", ["11", "-1", "abc", "3.5", "٣", "1e1"])
def test_a_value_off_the_scale_is_refused_at_its_question_and_nothing_is_stored(
    http: TestClient, store: Store, group: Group, bad: str
) -> None:
    page = visit(http, group.open(at=now()))
    answers = choose(page)
    target = page.names[6]  # question 7, stress 0–10
    answers[target] = bad
    again = send(http, page, answers)
    assert count(store, "responses", group.session_id) == 0
    assert again.shows_questions
    assert participant.SOME_NOT_A_CHOICE in again.problem
    assert "Go to question 7" in again.problem and 'href="#q7"' in again.html
    assert again.at_question == {"q7": participant.NOT_A_CHOICE}
    # The page opens at that question (no script needed): its first choice takes the focus.
    focused = [i for i in again.inputs if "autofocus" in i]
    assert [i["name"] for i in focused] == [target]
    # The other answers stay chosen, to be sent again with the same page's token.
    kept = dict(answers)
    del kept[target]
    assert again.checked() == kept
    assert again.hidden() == page.hidden()
    fixed = send(http, again, {**kept, target: "4"})
    assert fixed.h1 == [participant.THANK_YOU]
    assert count(store, "responses", group.session_id) == 1


def test_a_value_sent_twice_for_one_question_is_not_a_choice(
    http: TestClient, store: Store, group: Group
) -> None:
    page = visit(http, group.open(at=now()))
    name = page.names[8]
    data = [*page.hidden().items(), (name, "3"), (name, "9")]
    again = read(http.post("/pulse", content=urlencode(data), headers=FORM))
    assert again.at_question == {"q9": participant.NOT_A_CHOICE}
    assert count(store, "responses", group.session_id) == 0


def test_an_answer_to_no_question_of_this_pulse_refuses_the_whole_form(
    http: TestClient, store: Store, group: Group
) -> None:
    page = visit(http, group.open(at=now()))
    again = send(http, page, {**choose(page), "who5/unknown": "3"})
    assert "do not match today's questions" in again.problem
    assert again.shows_questions
    assert count(store, "responses", group.session_id) == 0


def test_the_same_form_sent_twice_is_stored_once_and_thanked_twice(
    http: TestClient, store: Store, group: Group
) -> None:
    page = visit(http, group.open(at=now()))
    answers = choose(page)
    first = send(http, page, answers)
    second = send(http, page, choose(page, "first"))  # the back button, other answers, send
    assert first.h1 == second.h1 == [participant.THANK_YOU]
    assert first.html == second.html
    assert count(store, "responses", group.session_id) == 1
    (stored,) = held(store, group)
    assert stored == {tuple(k.split("/")): int(v) for k, v in answers.items()}


def test_a_double_tap_sends_twice_at_once_and_counts_once(
    http: TestClient, store: Store, group: Group
) -> None:
    page = visit(http, group.open(at=now()))
    answers = choose(page)
    replies: list[Page] = []
    start = threading.Barrier(2)

    def tap() -> None:
        start.wait()
        replies.append(send(http, page, answers))

    taps = [threading.Thread(target=tap) for _ in range(2)]
    for t in taps:
        t.start()
    for t in taps:
        t.join()
    assert [r.h1 for r in replies] == [[participant.THANK_YOU]] * 2
    assert count(store, "responses", group.session_id) == 1


def test_a_form_this_server_never_issued_stores_nothing_and_comes_back_to_be_sent_again(
    http: TestClient, store: Store, group: Group
) -> None:
    """After a restart the tokens in memory are gone: the person is asked to send again, with
    their answers still chosen, rather than thanked for answers that were not kept."""
    page = visit(http, group.open(at=now()))
    answers = choose(page)
    participant.forget()  # as a restart does
    again = send(http, page, answers)
    assert count(store, "responses", group.session_id) == 0
    assert again.shows_questions
    assert again.problem == participant.EXPIRED
    assert again.checked() == answers
    assert again.hidden()["token"] != page.hidden()["token"]
    assert send(http, again, answers).h1 == [participant.THANK_YOU]
    assert count(store, "responses", group.session_id) == 1
    # A token for another code is no token for this one.
    other = make_group(store, name="Other")
    elsewhere = visit(http, other.open(at=now()))
    forged = {**elsewhere.hidden(), "token": again.hidden()["token"]}
    assert read(http.post("/pulse", data={**forged, **answers})).problem == participant.EXPIRED
    assert count(store, "responses", other.session_id) == 0


def test_a_full_room_gets_the_kind_message_and_no_form(
    http: TestClient, store: Store, group: Group
) -> None:
    group.attendance(1)
    code = group.open(at=now())
    first, second = visit(http, code), visit(http, code)
    assert send(http, first, choose(first)).h1 == [participant.THANK_YOU]
    full = send(http, second, choose(second))
    assert full.h1 == [participant.FULL_TITLE]
    assert "Everyone who was here today seems to have answered already" in full.text
    assert not full.radios  # no form left to press Send on again
    assert count(store, "responses", group.session_id) == 1


def test_a_pulse_that_closed_while_the_page_was_open_says_so(
    http: TestClient, store: Store, group: Group
) -> None:
    page = visit(http, group.open(at=now()))
    pulse.close_pulse(store, group.facilitator, group.session_id, now())
    closed = send(http, page, choose(page))
    assert closed.h1 == [participant.CLOSED_TITLE]
    assert participant.CLOSED_MESSAGE in closed.text
    assert not closed.radios
    assert count(store, "responses", group.session_id) == 0


def _files(store: Store) -> dict[str, str]:
    """A checksum of every file the store keeps: the database, its log and the ballot files."""
    base = Path(store.path)
    found = [base, base.with_name(base.name + ".wal"), *sorted(store.ballots.folder.glob("*"))]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in found if p.is_file()}


def test_opening_a_link_only_reads_even_when_its_pulse_is_past_its_time(
    http: TestClient, store: Store, group: Group
) -> None:
    """Loading the page with a code writes nothing, not even to close a pulse whose time is up:
    that one is refused like a closed one, and closes when an answer comes for it."""
    hours = group.settings.pulse_auto_close_hours
    due = group.open(at=now() - dt.timedelta(hours=hours, minutes=1))
    running = group.open(group.session(2), at=now())
    store.checkpoint()
    version, files = store.data_version(), _files(store)
    assert store.ballots.exists(group.session_id)

    assert visit(http, due).problem == GENERIC
    assert visit(http, running).radios
    assert visit(http, "ABCDEFGH").problem == GENERIC

    assert store.data_version() == version and _files(store) == files
    window = store.pulse_window(group.session_id)
    assert window is not None and window.closed_at is None
    # An answer sent for it closes every pulse past its time, and is refused.
    with pytest.raises(PulseUnavailable):
        participant.answering(store, due, now())
    window = store.pulse_window(group.session_id)
    assert window is not None and window.closed_at is not None
    assert not store.ballots.exists(group.session_id)
    assert participant.answering(store, running, now()).session_id == group.session(2)


def test_a_busy_moment_shows_a_message_not_a_traceback(
    http: TestClient, store: Store, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds the pulse's ballot file past the wait: the answers come back chosen,
    to be sent again, and nothing is stored; sent again, they count once."""
    monkeypatch.setattr(ballots, "LOCK_WAIT_SECONDS", 0.1)
    page = visit(http, group.open(at=now()))
    answers = choose(page)
    other = sqlite3.connect(store.ballots.path(group.session_id), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        busy = send(http, page, answers)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert busy.status == 200
    assert busy.problem == ballots.BUSY and "Send again" in busy.problem
    assert "Traceback" not in busy.html
    assert busy.checked() == answers and busy.shows_questions
    assert count(store, "responses", group.session_id) == 0
    assert send(http, busy, answers).h1 == [participant.THANK_YOU]
    assert count(store, "responses", group.session_id) == 1


def test_an_unexpected_failure_shows_an_apology_not_a_traceback(
    http: TestClient, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = visit(http, group.open(at=now()))

    def broken(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(pulse, "submit", broken)
    reply = send(http, page, choose(page))
    assert reply.status == 500
    assert reply.h1 == [participant.SOMETHING_WENT_WRONG_TITLE]
    assert participant.SOMETHING_WENT_WRONG_SENDING in reply.text
    assert "secret internals" not in reply.html and "Traceback" not in reply.html
    monkeypatch.setattr(pulse, "resolve_code", broken)
    looked = visit(http, "ABCDEFGH")
    assert looked.status == 500 and participant.SOMETHING_WENT_WRONG in looked.text
    assert "secret internals" not in looked.html


# --------------------------------------------------------------------------- wrong codes


def test_wrong_codes_pause_the_client_at_the_limit(http: TestClient, group: Group) -> None:
    code = group.open(at=now())
    limit = participant.WRONG_CODES.limit
    for attempt in range(1, limit):  # limit − 1 wrong codes: each one told, the form kept
        page = visit(http, f"WRONG{attempt:03d}")
        assert page.problem == GENERIC and page.asks_for_code, attempt
    assert visit(http, code).shows_questions  # the right code still works, and costs nothing
    paused = visit(http, "WRONG999")  # the limit-th wrong code
    assert paused.status == 429
    assert paused.h1 == [participant.PAUSED_TITLE]
    assert participant.PAUSED in paused.text
    assert not paused.inputs  # no form to type the next guess into
    after = visit(http, code)  # limit + 1: even the right code waits
    assert after.status == 429 and not after.radios
    assert visit(http).status == 429  # the bare form too
    # Another client address is not held up.
    with TestClient(APP, client=("198.51.100.9", 50000)) as elsewhere:
        assert read(elsewhere.get("/pulse", params={"code": code})).shows_questions


def test_typing_mistakes_the_check_letter_catches_are_not_counted(
    http: TestClient, store: Store, group: Group
) -> None:
    code = group.open(at=now())
    (card,) = pulse.make_cards(store, group.facilitator, group.session_id, 1, now())
    pulse.set_room_code(store, group.facilitator, group.session_id, True, now())
    typo = card[:-1] + ("2" if card[-1] != "2" else "3")
    for _ in range(participant.WRONG_CODES.limit + 2):
        assert visit(http, typo).problem == pulse.CARD_TYPO
    assert visit(http, code).shows_questions


def test_a_pause_ends_and_then_counts_from_nothing() -> None:
    wrong = participant.WrongCodes(limit=3, within=dt.timedelta(minutes=10))
    t0 = dt.datetime(2026, 3, 2, 19, 30)
    assert not wrong.wrong("a", t0) and not wrong.wrong("a", t0)
    assert not wrong.paused("a", t0)
    assert wrong.wrong("a", t0) and wrong.paused("a", t0)  # the third wrong one
    assert wrong.paused("a", t0 + wrong.pause - dt.timedelta(seconds=1))
    assert not wrong.paused("a", t0 + wrong.pause)
    assert not wrong.wrong("a", t0 + wrong.pause)  # a fresh start: one of three
    # Wrong codes spread out more than `within` apart never add up.
    spread = participant.WrongCodes(limit=3, within=dt.timedelta(minutes=10))
    for n in range(10):
        assert not spread.wrong("b", t0 + n * dt.timedelta(minutes=6))
    assert not spread.paused("b", t0 + dt.timedelta(hours=1))


def test_a_room_loading_the_page_at_once_from_one_address_is_never_paused(
    http: TestClient, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found under load: right codes counted in advance paused a whole hall behind one address
    when many were being looked up at the same moment. Only codes that led nowhere count. Each
    lookup is slowed here so that they all overlap."""
    code = group.open(at=now())
    look_up = pulse.resolve_code

    def slowly(*args: Any) -> pulse.Invitation:
        time.sleep(0.3)
        return look_up(*args)

    monkeypatch.setattr(pulse, "resolve_code", slowly)
    with ThreadPoolExecutor(32) as pool:
        pages = list(
            pool.map(lambda _: visit(http, code), range(participant.WRONG_CODES.limit + 2))
        )
    assert all(page.status == 200 and page.radios for page in pages)


def test_nothing_about_a_client_is_kept_but_a_keyed_hash(http: TestClient, group: Group) -> None:
    visit(http, "WRONG001")
    kept = repr(vars(participant.WRONG_CODES)) + repr(vars(participant.TOKENS))
    assert CLIENT[0] not in kept and "WRONG001" not in kept
    code = group.open(at=now())
    visit(http, code)
    assert code not in repr(vars(participant.TOKENS))


def test_form_tokens_are_bounded() -> None:
    tokens = participant.FormTokens(limit=5)
    invitation = pulse.Invitation(
        session_id=1,
        window_key="1:x",
        session_number=1,
        session_title="S",
        items=[],
        min_group_size=5,
        closes_at=dt.datetime(2026, 3, 2, 21, 0),
        card_hash=None,
    )
    t0 = dt.datetime(2026, 3, 2, 19, 30)
    issued = [tokens.issue(invitation, "ABCDEFGH", t0) for _ in range(8)]
    assert len(tokens) == 5
    assert tokens.claim(issued[0], "ABCDEFGH", t0).claim == participant.Claim.UNKNOWN
    assert tokens.claim(issued[-1], "ABCDEFGH", t0).claim == participant.Claim.FRESH
    # Hours after its pulse closed, a token is forgotten.
    tokens.settle(issued[-1], used=True)
    tokens.issue(invitation, "ABCDEFGH", dt.datetime(2026, 3, 3, 9, 0))
    assert len(tokens) == 1


# --------------------------------------------------------------------------- the page itself


def pages(http: TestClient, store: Store, group: Group) -> dict[str, Page]:
    """Every kind of page a participant can see."""
    code = group.open(at=now())
    questions = visit(http, code)
    thanks = send(http, questions, choose(questions))
    return {"code form": visit(http), "questions": questions, "thanks": thanks}


def test_every_page_is_light_and_loads_nothing_from_anywhere(
    http: TestClient, store: Store, group: Group
) -> None:
    for name, page in pages(http, store, group).items():
        raw = page.html.encode()
        assert len(raw) < 60_000, name
        assert len(gzip.compress(raw)) < 15_000, name
        assert "<script src" not in page.html, name
        assert not re.search(r"<(img|iframe|object|embed|video|audio)\b", page.html), name
        assert not re.search(r'<link[^>]+rel="?stylesheet', page.html), name
        assert "@import" not in page.html and "@font-face" not in page.html, name
        assert "url(" not in page.html, name
        # Every address in the page is the app's own path, an anchor, or an empty data: icon.
        for address in re.findall(r'(?:src|href|action)="([^"]*)"', page.html):
            assert address in ("", "data:,") or address.startswith(("/", "#")), (name, address)
            assert not address.startswith("//"), (name, address)
        assert not re.search(r"https?://", page.html), name


def test_every_input_has_a_label_and_every_question_a_legend(
    http: TestClient, store: Store, group: Group
) -> None:
    for name, page in pages(http, store, group).items():
        ids = [box["id"] for box in page.inputs if box.get("type") != "hidden"]
        assert len(ids) == len(set(ids)), name
        for box in page.inputs:
            if box.get("type") != "hidden":
                assert box.get("id") and box["id"] in page.labels, (name, box)
        assert len(page.fieldsets) == page.legends, name


def test_every_page_carries_the_policy_no_store_and_no_cookie(
    http: TestClient, store: Store, group: Group
) -> None:
    for name, page in pages(http, store, group).items():
        assert page.headers["cache-control"] == "no-store", name
        assert page.headers["content-security-policy"] == POLICY, name
        assert page.headers["content-type"].startswith("text/html"), name
        assert "set-cookie" not in page.headers, name
    assert visit(http, "WRONG001").headers["cache-control"] == "no-store"


def test_the_page_is_english_left_to_right_and_sized_for_phones(
    http: TestClient, store: Store, group: Group
) -> None:
    for name, page in pages(http, store, group).items():
        assert page.html.startswith('<!doctype html>\n<html lang="en" dir="ltr">'), name
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.html
        # Nothing in the style sheet sets a width that could push a 320 px screen sideways
        # (media queries and max-width only ever narrow things).
        style = page.html.split("<style>")[1].split("</style>")[0]
        style = re.sub(r"@media\s*\([^)]*\)", "", style)
        for number, unit in re.findall(
            r"(?<![-\w])(?:min-)?width:\s*(\d+(?:\.\d+)?)(px|r?em)", style
        ):
            assert float(number) * (1 if unit == "px" else 16) <= 320, (name, number, unit)


def test_curriculum_wording_is_shown_as_text(
    http: TestClient, store: Store, group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = group.open(at=now())
    invitation = pulse.resolve_code(store, code, now())
    hostile = '<img src="http://evil.test/x.png"> **bold** <script>alert(1)</script>'
    instrument, item = invitation.items[0]
    changed = item.model_copy(update={"text": hostile})
    items = [(instrument, changed), *invitation.items[1:]]
    monkeypatch.setattr(
        pulse,
        "resolve_code",
        lambda *a: dataclasses.replace(invitation, items=items, session_title=hostile),
    )
    page = visit(http, code)
    assert "<img" not in page.html and "<script>alert" not in page.html
    assert "&lt;img src=&#34;http://evil.test/x.png&#34;&gt; **bold**" in page.html
    assert page.h1 == [f"Session 1: {hostile}"]


# The whole app, Streamlit included, in a process of its own: starting Streamlit's runtime leaves
# a process-wide singleton behind that other tests here (AppTest) should not meet.
_REAL_APP = """
import datetime as dt, json, sys, warnings
warnings.filterwarnings("ignore")
from starlette.testclient import TestClient
from program.store import Store
from tests.factories.pulses import build_template, make_group
import shutil, pathlib
database = pathlib.Path(sys.argv[1])
shutil.copyfile(build_template(database.parent), database)
store = Store(database)
code = make_group(store).open(at=dt.datetime.now())
store.close()
import app
out = {}
with TestClient(app.app, follow_redirects=False) as http:
    for name, path in (("form", "/pulse"), ("questions", "/pulse?code=" + code), ("home", "/")):
        reply = http.get(path)
        out[name] = {"status": reply.status_code, "headers": dict(reply.headers),
                     "start": reply.text[:200], "radios": reply.text.count('type="radio"')}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_real_app_serves_the_plain_page_at_pulse_before_streamlit(tmp_path: Path) -> None:
    """app.py's st.App lists ROUTES before Streamlit's own routes, so /pulse is ours (with the
    security headers, no cookie, not stored) while every other path is still Streamlit's."""
    database = tmp_path / "real.duckdb"
    done = subprocess.run(
        [sys.executable, "-c", _REAL_APP, str(database)],
        cwd=ROOT,
        env={**os.environ, "PROGRAM_DATABASE": str(database)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("form", "questions"):
        reply = seen[name]
        assert reply["status"] == 200, name
        assert reply["start"].startswith('<!doctype html>\n<html lang="en" dir="ltr">'), name
        assert reply["headers"]["content-security-policy"] == POLICY, name
        assert reply["headers"]["cache-control"] == "no-store", name
        assert "set-cookie" not in reply["headers"], name
    assert seen["form"]["radios"] == 0
    assert seen["questions"]["radios"] == 9 * 1 + 5 * 6 + 7 + 3 * 11
    assert seen["home"]["status"] == 200 and "Streamlit" in seen["home"]["start"]
