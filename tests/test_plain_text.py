"""What people type is shown as text: no image, link, HTML or formatting reaches a browser from it.

A session title holding `![p](http://host/px.png)` would make every participant's phone fetch that
address (the host learns its IP, browser and the exact time); names and notes could do the same on
staff pages. program/markup.py makes such text inert: `plain` for names and titles, `guide_markdown`
for curriculum guides (formatting kept, images and links gone). These tests check the helpers, then
every Markdown-reading element of the pages where such text appears.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from markupsafe import escape
from streamlit.testing.v1 import AppTest

from program import cohorts, guides, pulse
from program.markup import WORD_JOINER, guide_markdown, plain
from program.models import Actor, Role, StaffUser
from program.settings import get_settings
from program.store import Store
from tests.factories.hostile import (
    COHORT,
    HOSTILE,
    INSTRUMENT_TITLE,
    ITEM,
    MEMBER,
    NOTES,
    PROGRAM,
    RECALL,
    SCALE_LABEL,
    STAFF_NAME,
    TITLE,
    hostile_version,
)
from tests.factories.pages import app_test

SYSTEM = Actor.system()

# --------------------------------------------------------------------------- what inert means

ESCAPED = re.compile(r"\\.", re.S)


def interpreted(markdown: str) -> str:
    """The characters Markdown would act on: backslash escapes removed."""
    return ESCAPED.sub("", markdown)


def assert_inert(markdown: str) -> None:
    """Nothing in `markdown` can become an image, a link, HTML or an address a browser follows."""
    live = interpreted(markdown)
    for start in ("![", "](", "<", "["):
        assert start not in live, f"{start!r} would take effect in {markdown!r}"
    for address in re.findall(r"(?i)https?://|www\.|\w@\w", markdown):
        raise AssertionError(f"{address!r} would become a link in {markdown!r}")


@pytest.mark.parametrize("text", [*HOSTILE, NOTES, "x" * 3 + "\\![a](http://e)", "<script>"])
def test_plain_text_is_inert_and_reads_the_same(text: str) -> None:
    shown = plain(text)
    assert_inert(shown)
    # What a reader sees: the escapes resolved and the invisible word joiners dropped.
    assert re.sub(r"\\(.)", r"\1", shown).replace(WORD_JOINER, "") == text


@pytest.mark.parametrize(
    ("text", "line_start"),
    [("# Heading", "\\#"), ("1. one", "1\\."), ("- item", "\\-"), ("> quote", "\\>")],
)
def test_plain_text_starts_no_block(text: str, line_start: str) -> None:
    assert plain(text).startswith(line_start)


def test_plain_text_breaks_streamlit_directives_icons_and_math() -> None:
    shown = plain(":red[alarm] :material/home: :smile: $x^2$ &amp; `code` **bold** _it_ ~s~")
    assert ":red[" not in shown and ":material/" not in shown and ":smile:" not in shown
    for mark in ("$", "`", "*", "_", "~", "&amp;"):
        assert mark not in interpreted(shown)


def test_guide_markdown_keeps_formatting_but_no_image_or_link() -> None:
    shown = guide_markdown(NOTES + "\n\n- [ ] a task box\n\n`[code](http://evil.test/c)`")
    assert "**Say** hello." in shown  # formatting kept
    assert "\n> A quote stays a quote." in shown  # so are quotes
    assert "- [ ] a task box" in shown
    assert "`[code](http://evil.test/c)`" in shown  # code is shown exactly, and links nothing
    prose = shown.split("`[code]")[0].replace("- [ ]", "")
    assert_inert(prose)
    assert "the sheet (https" in shown.replace("\\", "").replace(WORD_JOINER, "")
    assert "evil.test/i.png" not in shown  # an image is dropped, its alt text stays
    assert "Say** hello. i See" in shown


def test_session_guides_and_their_downloads_hold_no_image_or_link(store: Store) -> None:
    version = hostile_version(store)
    bundle = store.curriculum_bundle(version.id)
    session = bundle.curriculum.session(1)
    assert session.title == TITLE
    for text in (
        guides.session_markdown(bundle, 1),
        guides.curriculum_markdown(bundle),
        guides.agenda_table(session),
    ):
        for image in re.findall(r"!\[[^\]]*\]\([^)]*\)", interpreted(text)):
            raise AssertionError(f"image {image!r} in a guide")
        assert "](http" not in interpreted(text)
        assert "http://evil" not in text and "https://evil" not in text


# --------------------------------------------------------------------------- a hostile world


@dataclass
class World:
    store: Store
    maya: StaffUser
    admin: StaffUser
    lead: StaffUser
    cohort_id: int
    session_id: int
    code: str


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    version = hostile_version(store)
    maya = store.create_staff_user(SYSTEM, "maya", STAFF_NAME, Role.FACILITATOR, None)
    admin = store.create_staff_user(SYSTEM, "ada", "Ada", Role.ADMIN, None)
    lead = store.create_staff_user(SYSTEM, "lee", "Lee", Role.LEAD, None)
    program = store.create_program(SYSTEM, PROGRAM)
    store.add_program_lead(SYSTEM, program.id, lead.id)
    store.add_program_facilitator(SYSTEM, program.id, maya.id)
    today = dt.date.today()
    cohort = cohorts.create_cohort(
        store,
        maya,
        program.id,
        version.id,
        COHORT,
        today,
        today.weekday(),
        False,
        [maya.id],
        f"{MEMBER}\nAna\nBen\nChloe\nDev\nEve",
    )
    session = store.sessions(cohort.id)[0]
    assert session.number == 1
    window = pulse.open_pulse(store, get_settings(), maya, session.id, dt.datetime.now())
    assert window.room_code
    yield World(store, maya, admin, lead, cohort.id, session.id, window.room_code)


# --------------------------------------------------------------------------- reading a page

# Elements whose value Streamlit reads as Markdown; everything's label and help are Markdown too,
# and so are radio options and st.table cells. Selectbox options, dataframes, st.text and st.code
# show text as it is.
MARKDOWN_VALUES = {
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "error",
    "warning",
    "info",
    "success",
    "toast",
}


def markdown_texts(at: AppTest) -> list[str]:
    """Every string of the page that Streamlit renders as Markdown."""
    out: list[str] = []
    stack: list[Any] = [at._tree]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
        kind = getattr(node, "type", None)
        for attr in ("label", "help"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                out.append(value)
        if kind in MARKDOWN_VALUES:
            out.append(str(node.value))
        if kind == "alert" or (kind in MARKDOWN_VALUES and hasattr(node, "proto")):
            body = getattr(node.proto, "body", None)
            if isinstance(body, str):
                out.append(body)
        if kind == "radio":
            out.extend(str(o) for o in node.options)
        if kind == "table":
            frame = node.value
            out.extend(str(c) for c in frame.columns)
            out.extend(str(v) for v in frame.to_numpy().ravel())
    return out


def check_page(at: AppTest, *, must_show: tuple[str, ...]) -> list[str]:
    """The page ran, shows each of `must_show` literally, and nothing typed takes effect."""
    assert not at.exception, at.exception
    texts = markdown_texts(at)
    for text in texts:
        for hostile in HOSTILE:
            assert hostile not in text, f"{hostile!r} reaches Markdown as is in {text!r}"
        assert "](http" not in interpreted(text), text
        assert "![" not in interpreted(text), text
    joined = "\n".join(texts)
    for hostile in must_show:
        assert plain(hostile) in joined, f"{hostile!r} is not shown literally"
    return texts


def staff_page(world: World, path: str, user: StaffUser | None = None) -> AppTest:
    at = app_test(path, world.store, user or world.maya)
    at.run()
    return at


# --------------------------------------------------------------------------- the pages


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_participant_page_shows_curriculum_wording_as_text(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The participant's page is plain HTML (pulse_page.py), not Markdown: typed text arrives
    escaped, as characters, and no attribute of the page points anywhere but the app."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    import routes
    import ui

    monkeypatch.setattr(ui, "store", lambda: world.store)
    with TestClient(Starlette(routes=routes.ROUTES)) as http:
        page = http.get("/pulse", params={"code": world.code}).text
    for shown in (f"Session 1: {TITLE}", ITEM, SCALE_LABEL, RECALL, INSTRUMENT_TITLE):
        assert str(escape(shown)) in page, shown
    assert "<img" not in page and '<a href="http' not in page and "javascript:" not in page
    for address in re.findall(r'(?:src|href|action)="([^"]*)"', page):
        assert address in ("", "data:,") or address.startswith(("/", "#")), address


def test_home_shows_the_cohort_and_staff_names_as_text(world: World) -> None:
    at = staff_page(world, "home.py")
    check_page(at, must_show=(COHORT, STAFF_NAME))
    assert [t.value for t in at.title] == [f"Welcome, {plain(STAFF_NAME)}"]


def test_cohorts_page_shows_names_and_titles_as_text(world: World) -> None:
    at = staff_page(world, "pages/cohorts.py")
    check_page(at, must_show=(MEMBER, PROGRAM, TITLE, STAFF_NAME))
    # Selectbox options and the table are plain text already, so they keep the name as typed.
    assert any(COHORT in str(o) for s in at.selectbox for o in s.options)


def test_session_page_shows_roster_names_and_guide_without_images(world: World) -> None:
    at = staff_page(world, "pages/session.py")
    texts = check_page(at, must_show=(MEMBER, COHORT))
    joined = "\n".join(texts)
    assert "**Say** hello." in joined  # the guide keeps its formatting
    assert "evil.test/px.png" not in joined and "evil.test/i.png" not in joined
    assert any(plain(MEMBER) in r.label for r in at.radio)  # "Attendance of …"


def test_curriculum_library_shows_cohort_names_and_guides_safely(world: World) -> None:
    at = staff_page(world, "pages/curricula.py")
    check_page(at, must_show=(COHORT,))
    version_id = max(v.id for v in world.store.curriculum_versions())
    at.selectbox(key=f"guide-session-{version_id}").set_value(1).run()
    texts = check_page(at, must_show=(COHORT,))
    joined = "\n".join(texts)
    assert "Arriving p" in joined.replace("\\", "")  # the title's image became its alt text
    assert "evil.test/px.png" not in joined


def test_admin_toasts_and_tables_show_names_as_text(world: World) -> None:
    sam = world.store.create_staff_user(
        SYSTEM, "sam", "Sam [x](http://evil.test/s)", Role.FACILITATOR, None
    )
    at = app_test("pages/admin.py", world.store, world.admin)
    at.query_params["tab"] = "Programs"
    at.run()
    check_page(at, must_show=())
    at.selectbox(key="add_facilitator_1_value-0").set_value(sam).run()
    [b for b in at.button if b.label == "Add facilitator"][0].click().run()
    texts = check_page(at, must_show=(PROGRAM,))
    assert any("now belongs to" in t for t in texts)
    assert sam.id in world.store.program_facilitator_ids(1)


def test_program_dashboard_shows_the_program_name_as_text(store: Store) -> None:
    lead = store.create_staff_user(SYSTEM, "lee", "Lee", Role.LEAD, None)
    program = store.create_program(SYSTEM, PROGRAM)
    store.add_program_lead(SYSTEM, program.id, lead.id)
    at = app_test("pages/program_dashboard.py", store, lead).run()
    check_page(at, must_show=(PROGRAM,))
