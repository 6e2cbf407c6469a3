"""The group mirror page (AppTest): the group's own released averages, in words, for the room.

Only sessions whose pulse has closed are offered; a session held back shows a kind explanation
and nothing else; no number ever rests on fewer than k answers; no one else gets anything.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from program import pulse
from program.privacy import ROUNDING_NOTE
from program.settings import get_settings
from program.store import Store
from tests.factories.pages import app_test, rendered_bytes, store_calls
from tests.factories.results import (
    Group,
    build_template,
    fresh_store,
    make_group,
    run_program,
    user,
)

PAGE = "pages/mirror.py"
ROSTER = ["Zebedee Quill", "Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace"]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("mirror-template"))


@pytest.fixture
def store(settings_env: Path, template: Path) -> Iterator[Store]:
    yield from fresh_store(settings_env, template)


def mirror_text(at: Any) -> str:
    """The words of the projected view (its HTML, tags removed)."""
    page = rendered_bytes(at).decode("utf-8", "replace")
    sections = re.findall(r'<section class="mirror">.*?</section>', page, re.DOTALL)
    assert len(sections) == 1, sections
    return html.unescape(re.sub(r"<[^>]+>", " ", sections[0]))


def session_box(at: Any, group: Group) -> Any:
    return at.selectbox(key=f"mirror_session_{group.cohort_id}")


@pytest.fixture
def group(store) -> Group:  # type: ignore[no-untyped-def]
    """Sessions 1 and 3 released (5 and 6 answers), 2 held back (4), 4 open, 5 and 6 not yet."""
    g = make_group(store, members=len(ROSTER), roster=ROSTER)
    run_program(g, {1: 5, 2: 4, 3: 6}, present=7)
    pulse.open_pulse(store, get_settings(), g.facilitator, g.session_id(4), dt.datetime.now())
    return g


def opened(group: Group, viewer=None) -> Any:  # type: ignore[no-untyped-def]
    at = app_test(PAGE, group.store, viewer or group.facilitator)
    at.run()
    assert not at.exception, at.exception
    return at


def test_only_sessions_whose_pulse_closed_are_offered(group):
    at = opened(group)
    box = session_box(at, group)
    assert [o.split(".")[0] for o in box.options] == ["1", "2", "3"]
    assert box.index == 2  # the latest closed session
    # The rounding rule is in the sidebar, away from the projected view.
    assert [e.label for e in at.sidebar.expander] == ["How the averages are rounded"]
    assert any(
        "Not yet: session 4 (pulse still open), 5 (no pulse yet), 6 (no pulse yet)" in c.value
        for c in at.sidebar.caption
    )


def test_the_facilitator_sees_the_groups_averages_in_words(group):
    at = opened(group)
    text = " ".join(mirror_text(at).split())
    assert "How the group is doing" in text
    assert "Session 3:" in text
    # Stress answers 3, 4, 2, 3, 5, 4: average 3.5, shown rounded to whole points for six
    # answers: 4, between two labelled points of the scale.
    assert (
        "On average, the group's stress this past week was between “no stress at all” and"
        " “moderate stress”." in text
    )
    assert "4 on 0–10, lower is better" in text and "3.5" not in text
    assert "Better than at the first session." in text  # down from 8 (7.6 rounded)
    assert "only the group’s average, and only when at least 5 people answered" in text
    assert ROUNDING_NOTE in text
    assert len(re.findall(r'class="line"', rendered_bytes(at).decode("utf-8", "replace"))) == 5
    assert "Zebedee" not in text


def test_a_held_back_session_shows_a_kind_explanation_and_nothing_else(group):
    at = opened(group)
    session_box(at, group).select_index(1).run()
    assert not at.exception
    text = " ".join(mirror_text(at).split())
    assert "Session 2:" in text
    assert "fewer than 5 people answered" in text
    assert "nobody’s answers can be singled out" in text
    assert "average" not in text.lower()
    # The only digits: the session number in its heading and k.
    assert re.findall(r"\d+", text) == ["2", "5"]


def test_at_exactly_k_answers_the_session_is_shown(group):
    at = opened(group)
    session_box(at, group).select_index(0).run()
    text = " ".join(mirror_text(at).split())
    assert "Session 1:" in text
    # Five answers: whole points on every scale (tens on WHO-5), so no decimals at all.
    page = rendered_bytes(at).decode("utf-8", "replace")
    assert re.findall(r"<strong>([^<]*)</strong>", page) == ["60", "3", "8", "3", "3"]
    assert not re.search(r"\d\.\d", text)
    assert "first session" not in text  # nothing to compare the first session with


def test_a_cohort_without_a_closed_pulse_has_nothing_to_show(store):
    make_group(store, members=len(ROSTER), roster=ROSTER)
    at = app_test(PAGE, store, user(store, "maya"))
    at.run()
    assert not at.exception
    assert "There is nothing to show yet" in mirror_text(at)


@pytest.mark.parametrize("who", ["sam", "lee", "alex"])
def test_no_one_else_sees_the_groups_mirror(group, who):
    at = opened(group, user(group.store, who))
    page = rendered_bytes(at).decode("utf-8", "replace")
    assert "Tuesday group" not in page and "Zebedee" not in page
    assert "How the group is doing" not in page
    if who == "sam":
        assert any("not running a cohort" in i.value for i in at.info)
    else:
        assert [w.value for w in at.warning if "not part of your role" in w.value]


def test_the_page_only_draws_what_the_mirror_view_returns():
    assert store_calls(PAGE) == []
