"""The curriculum library page, and the upload handling behind it.

AppTest cannot drive st.file_uploader, so the upload is tested through
program.library.upload_curriculum_file, the one call the page makes with the uploaded name and bytes.
"""

from __future__ import annotations

import datetime as dt

import pytest

from program import auth, guides, printing
from program.errors import CurriculumError
from program.library import library_versions, load_curriculum, upload_curriculum_file
from program.models import Actor, CurriculumVersion, Role
from program.settings import get_settings
from program.store import Store
from tests.factories.pages import app_test
from tests.factories.paths import CURRICULA, INSTRUMENTS

BUNDLED = CURRICULA / "collective-healing.yaml"
PAGE = "pages/curricula.py"


@pytest.fixture
def loaded(store: Store) -> CurriculumVersion:
    version, _ = load_curriculum(store, Actor.system(), BUNDLED)
    return version


def opened(store, user):  # type: ignore[no-untyped-def]
    at = app_test(PAGE, store, user)
    at.run()
    assert not at.exception, at.exception
    return at


def selectbox(at, label: str):  # type: ignore[no-untyped-def]
    return next(s for s in at.selectbox if s.label == label)


def shown_markdown(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.value for m in at.markdown]


# --------------------------------------------------------------------------- who may open it


@pytest.mark.parametrize("role", [Role.FACILITATOR, Role.LEAD, Role.ADMIN])
def test_every_staff_role_can_open_the_library(store, make_staff, loaded, role):
    at = opened(store, make_staff("pat", role))
    assert [t.value for t in at.title] == ["Curriculum library"]
    assert [s.label for s in at.selectbox] == ["Curriculum version", "Session"]
    assert len(at.table) == 1


def test_guest_gets_the_signin_screen_and_no_curriculum(store, loaded):
    at = app_test(PAGE, store)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.selectbox and not at.table and not at.header


def test_empty_library_says_how_to_add_a_curriculum(store, make_staff):
    at = opened(store, make_staff("maya"))
    assert any("No curriculum is stored yet" in i.value for i in at.info)
    assert not at.selectbox


# --------------------------------------------------------------------------- session guides


def test_guide_opens_on_the_first_session_with_its_title_notes_and_safety(
    store, make_staff, loaded
):
    at = opened(store, make_staff("maya"))
    bundle = store.curriculum_bundle(loaded.id)
    first = bundle.curriculum.sessions[0]
    assert selectbox(at, "Session").value == first.number
    assert [h.value for h in at.header] == [guides.session_label(first)]
    markdown = shown_markdown(at)
    for activity in first.agenda:
        assert activity.notes in markdown
    assert guides.agenda_table(first) in markdown
    assert [w.value for w in at.warning] == [first.safety_notes]
    assert first.home_practice in markdown


def test_switching_the_session_shows_that_session(store, make_staff, loaded):
    at = opened(store, make_staff("maya"))
    bundle = store.curriculum_bundle(loaded.id)
    first, second = bundle.curriculum.sessions[0], bundle.curriculum.session(2)
    selectbox(at, "Session").select(2).run()
    assert not at.exception
    assert [h.value for h in at.header] == [guides.session_label(second)]
    markdown = shown_markdown(at)
    assert second.agenda[0].notes in markdown
    assert first.agenda[0].notes not in markdown
    assert [w.value for w in at.warning] == [second.safety_notes]
    # A weekly session asks the pulse: its instruments and question counts are shown.
    assert [i.value for i in at.info] == [guides.pulse_lines(bundle, 2)]
    for asked in guides.pulse_at(bundle, 2):
        assert asked.instrument.title in at.info[0].value


def test_prompts_of_each_activity_are_shown(store, make_staff, loaded):
    at = opened(store, make_staff("maya"))
    selectbox(at, "Session").select(1).run()
    markdown = "\n".join(shown_markdown(at))
    session = store.curriculum_bundle(loaded.id).curriculum.session(1)
    prompts = [p for a in session.agenda for p in a.prompts]
    assert prompts
    for prompt in prompts:
        assert f"- {prompt}" in markdown


def test_newest_version_is_chosen_first(store, make_staff, loaded):
    changed = BUNDLED.read_text(encoding="utf-8").replace(
        'version: "1.0"', 'version: "1.1-test"', 1
    )
    newer, created = upload_curriculum_file(
        store, Actor.system(), "changed.yaml", changed.encode(), INSTRUMENTS
    )
    assert created
    at = opened(store, make_staff("maya"))
    assert selectbox(at, "Curriculum version").value == newer.id
    assert selectbox(at, "Curriculum version").options[1].endswith(loaded.content_hash[:7])


def test_a_session_prints_and_downloads_as_pdf_and_the_curriculum_as_markdown(
    store, make_staff, loaded
):
    at = opened(store, make_staff("maya"))
    labels = [b.label for b in at.get("download_button")]
    assert "Whole curriculum as Markdown" in labels and "Source YAML" in labels
    links = {b.proto.label: b.proto.url for b in at.get("link_button")}
    secret = auth.session_secret(get_settings())
    number = at.selectbox(key=f"guide-session-{loaded.id}").value
    assert links["Print this session"] == printing.guide_link(secret, loaded.id, number)
    assert links["This session as PDF"] == printing.guide_link(secret, loaded.id, number, pdf=True)


# --------------------------------------------------------------------------- the versions table


def test_versions_table_shows_short_hash_source_and_cohorts_using_it(store, make_staff, loaded):
    maya = make_staff("maya")
    program = store.create_program(Actor.system(), "Spring programme")
    start = dt.date(2026, 3, 2)
    for name in ("Tuesday evening group", "Monday morning group"):
        store.create_cohort(
            Actor.system(), program.id, loaded.id, name, {1: start}, [maya.id], ["Ana"]
        )
    at = opened(store, maya)
    table = at.table[0].value
    assert list(table["Content hash"]) == [loaded.content_hash[:12]]
    assert list(table["Source file"]) == ["collective-healing.yaml"]
    assert list(table["Curriculum"]) == ["collective-healing"]
    assert list(table["Used by cohorts"]) == ["Monday morning group, Tuesday evening group"]
    assert loaded.content_hash in [c.value for c in at.code]


def test_library_versions_are_newest_first_with_their_cohorts(store, make_staff, loaded):
    sam = make_staff("sam")
    program = store.create_program(Actor.system(), "P")
    store.create_cohort(
        Actor.system(),
        program.id,
        loaded.id,
        "Autumn group",
        {1: dt.date(2026, 9, 1)},
        [sam.id],
        [],
    )
    changed = BUNDLED.read_text(encoding="utf-8").replace('version: "1.0"', 'version: "2"', 1)
    newer, _ = upload_curriculum_file(
        store, Actor.system(), "v2.yml", changed.encode(), INSTRUMENTS
    )
    entries = library_versions(store, sam)
    assert [(e.version.id, e.cohorts) for e in entries] == [
        (newer.id, []),
        (loaded.id, ["Autumn group"]),
    ]
    # Another facilitator learns only that the version is in use, not by which cohort.
    other = make_staff("olga", Role.FACILITATOR)
    assert [e.cohorts for e in library_versions(store, other)] == [[], ["1 other cohort"]]


# --------------------------------------------------------------------------- uploading


def test_uploading_a_good_file_stores_it_once(store):
    data = BUNDLED.read_bytes()
    version, created = upload_curriculum_file(store, Actor.system(), "mine.yaml", data, INSTRUMENTS)
    assert created
    assert store.curriculum_source(version.id) == ("mine.yaml", data.decode("utf-8"))
    again, created_again = upload_curriculum_file(
        store, Actor.system(), "copy.yaml", data, INSTRUMENTS
    )
    assert not created_again
    assert again.id == version.id
    assert [v.id for v in store.curriculum_versions()] == [version.id]


def test_uploading_a_bad_file_lists_every_problem_and_stores_nothing(store):
    text = BUNDLED.read_text(encoding="utf-8")
    broken = text.replace("session_minutes: 120", "session_minutes: lots", 1).replace(
        "  min_sessions_attended: 4", "  min_sessions_attended: 0", 1
    )
    with pytest.raises(CurriculumError) as caught:
        upload_curriculum_file(store, Actor.system(), "broken.yaml", broken.encode(), INSTRUMENTS)
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == 2
    assert lines[0].startswith("broken.yaml, line ") and "session_minutes:" in lines[0]
    assert "completion.min_sessions_attended: must be at least 1" in lines[1]
    assert store.curriculum_versions() == []
    assert store.curriculum_usage() == {}


def test_uploading_a_non_utf8_file_says_so_with_its_line(store):
    data = b"id: x\ntitle: Caf\xe9\n"
    with pytest.raises(CurriculumError) as caught:
        upload_curriculum_file(store, Actor.system(), "latin1.yaml", data, INSTRUMENTS)
    assert [str(p) for p in caught.value.problems] == [
        "latin1.yaml, line 2: the file is not UTF-8 text; save it as UTF-8 and upload again"
    ]
    assert store.curriculum_versions() == []


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"id: x\n", "must be a YAML file ending in .yaml or .yml"),
        ("empty.yaml", b"", "got an empty file"),
        ("big.yaml", b"#" * 1_000_001, "must be under 1 MB"),
    ],
)
def test_uploading_the_wrong_kind_of_file_is_refused(store, name, data, message):
    with pytest.raises(CurriculumError) as caught:
        upload_curriculum_file(store, Actor.system(), name, data, INSTRUMENTS)
    assert message in str(caught.value)
    assert store.curriculum_versions() == []


def test_an_uploaded_path_keeps_only_the_file_name(store):
    data = BUNDLED.read_bytes()
    version, _ = upload_curriculum_file(
        store, Actor.system(), "C:\\Users\\maya\\collective.yaml", data, INSTRUMENTS
    )
    assert version.source_name == "collective.yaml"
