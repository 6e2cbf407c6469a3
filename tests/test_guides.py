"""Session guides as Markdown: every agenda item with its minutes and running clock, the prompts,
home practice, safety notes and pulse; the whole curriculum holds every session."""

from __future__ import annotations

from typing import Any

import pytest

from program import guides
from program.curriculum import load_curriculum_file, load_instrument
from program.models import Curriculum, CurriculumBundle
from tests.factories.paths import CURRICULA, INSTRUMENTS


def small_bundle() -> CurriculumBundle:
    """A two-week program plus orientation, with times chosen so the clock crosses the hour."""

    def activity(title: str, minutes: int, **more: Any) -> dict[str, Any]:
        return {"title": title, "kind": "discussion", "minutes": minutes, "notes": "Notes.", **more}

    data = {
        "id": "small",
        "title": "Small program",
        "version": "2 beta/test",
        "summary": "A summary of the small program.",
        "audience": "Adults in a peer group.",
        "session_minutes": 90,
        "sessions": [
            {
                "number": 0,
                "title": "Orientation: Meeting",
                "theme": "Getting to know the group.",
                "intentions": ["Meet each other"],
                "agenda": [activity("Hello", 30)],
                "home_practice": "Nothing yet.",
                "safety_notes": "Point out the exits.",
            },
            {
                "number": 1,
                "title": "Arriving",
                "theme": "Safety first.",
                "intentions": ["Feel welcome", "Agree how we talk"],
                "agenda": [
                    activity(
                        "Welcome round",
                        15,
                        kind="arrival",
                        notes="**Say** hello to everyone.",
                        prompts=["What brought you here?", "What do you hope for?"],
                    ),
                    activity("Pain | stress map", 50, kind="teaching"),
                    activity("Breathing space", 10, kind="grounding"),
                    activity("Pulse", 5, kind="pulse"),
                ],
                "home_practice": "Notice one moment of ease each day.\n\n- Write it down.",
                "safety_notes": "Share the crisis line.\n\n- Check in with anyone upset.",
            },
            {
                "number": 2,
                "title": "Closing",
                "theme": "Moving on.",
                "intentions": ["Say goodbye"],
                "agenda": [activity("Closing circle", 60, prompts=["What will you take away?"])],
                "home_practice": "Keep going.",
                "safety_notes": "Hand out the support list.",
            },
        ],
        "pulses": [
            {"instrument": "who5", "at": ["first", "last"]},
            {"instrument": "usefulness", "at": ["every"]},
        ],
        "completion": {"min_sessions_attended": 1},
    }
    instruments = {i: load_instrument(INSTRUMENTS / f"{i}.yaml") for i in ("who5", "usefulness")}
    return CurriculumBundle(curriculum=Curriculum.model_validate(data), instruments=instruments)


@pytest.fixture(scope="module")
def bundled() -> CurriculumBundle:
    return load_curriculum_file(CURRICULA / "collective-healing.yaml")


# --------------------------------------------------------------------------- the clock


@pytest.mark.parametrize(
    ("minutes", "shown"), [(0, "0:00"), (5, "0:05"), (59, "0:59"), (60, "1:00"), (135, "2:15")]
)
def test_clock_shows_hours_and_two_digit_minutes(minutes: int, shown: str) -> None:
    assert guides.clock(minutes) == shown


def test_running_clock_of_a_session() -> None:
    session = small_bundle().curriculum.session(1)
    spans = [t.span for t in guides.timed_agenda(session)]
    assert spans == ["0:00–0:15", "0:15–1:05", "1:05–1:15", "1:15–1:20"]


def test_clock_times_add_up_for_every_bundled_session(bundled: CurriculumBundle) -> None:
    for session in bundled.curriculum.sessions:
        timed = guides.timed_agenda(session)
        assert timed[0].start == 0
        for before, after in zip(timed, timed[1:], strict=False):
            assert after.start == before.end
        for t in timed:
            assert t.end - t.start == t.activity.minutes
        assert timed[-1].end == session.minutes
        assert session.minutes <= bundled.curriculum.session_minutes


# --------------------------------------------------------------------------- one session


def test_session_markdown_has_every_agenda_row_with_minutes_and_clock() -> None:
    md = guides.session_markdown(small_bundle(), 1)
    assert "| 0:00–0:15 | Welcome round | arrival | 15 |" in md
    assert "| 0:15–1:05 | Pain \\| stress map | teaching | 50 |" in md  # '|' cannot break the table
    assert "| 1:05–1:15 | Breathing space | grounding | 10 |" in md
    assert "| 1:15–1:20 | Pulse | pulse | 5 |" in md
    assert "| | **Total** | | **80** |" in md


def test_session_markdown_has_title_theme_intentions_notes_and_prompts() -> None:
    md = guides.session_markdown(small_bundle(), 1)
    assert md.startswith("# Session 1 · Arriving\n")
    assert "**Theme:** Safety first." in md
    assert "- Feel welcome\n- Agree how we talk" in md
    assert "### 0:00–0:15 · Welcome round (15 min, arrival)" in md
    assert "**Say** hello to everyone." in md
    assert "- What brought you here?\n- What do you hope for?" in md


def test_session_markdown_has_home_practice_safety_notes_and_pulse() -> None:
    md = guides.session_markdown(small_bundle(), 1)
    home = md.index("## Home practice")
    safety = md.index("## Safety notes")
    pulse = md.index("## Pulse at this session")
    assert home < safety < pulse
    assert "Notice one moment of ease each day.\n\n- Write it down." in md[home:safety]
    assert "Share the crisis line.\n\n- Check in with anyone upset." in md[safety:pulse]
    assert "6 questions in all" in md[pulse:]
    assert "- WHO-5 Well-Being Index: 5 questions" in md[pulse:]
    assert "- Usefulness of today's session: 1 question" in md[pulse:]


def test_orientation_is_labelled_once_and_has_no_pulse() -> None:
    md = guides.session_markdown(small_bundle(), 0)
    assert md.startswith("# Orientation: Meeting\n")
    assert "No pulse: the orientation session is never surveyed." in md


def test_every_bundled_session_guide_holds_its_whole_agenda(bundled: CurriculumBundle) -> None:
    for session in bundled.curriculum.sessions:
        md = guides.session_markdown(bundled, session.number)
        for t in guides.timed_agenda(session):
            a = t.activity
            assert f"| {t.span} | {a.title} | {a.kind.value} | {a.minutes} |" in md
            assert a.notes.strip() in md
            for prompt in a.prompts:
                assert f"- {prompt}" in md
        assert session.home_practice.strip() in md
        assert session.safety_notes.strip() in md


# --------------------------------------------------------------------------- pulse


def test_pulse_at_counts_questions_per_instrument_in_plan_order() -> None:
    bundle = small_bundle()
    first = [(p.instrument.id, p.items) for p in guides.pulse_at(bundle, 1)]
    assert first == [("who5", 5), ("usefulness", 1)]
    assert [(p.instrument.id, p.items) for p in guides.pulse_at(bundle, 0)] == []


def test_pulse_plan_lists_the_sessions_of_each_instrument() -> None:
    plan = [(p.instrument.id, p.sessions) for p in guides.pulse_plan(small_bundle())]
    assert plan == [("who5", [1, 2]), ("usefulness", [1, 2])]


def test_bundled_pulse_lines_match_the_pulse_items(bundled: CurriculumBundle) -> None:
    for number in bundled.curriculum.weekly_numbers:
        total = len(bundled.pulse_items(number))
        assert f"{guides.questions(total)} in all" in guides.pulse_lines(bundled, number)


@pytest.mark.parametrize(
    ("numbers", "text"),
    [([3], "session 3"), ([1, 6], "sessions 1 and 6"), ([1, 3, 6], "sessions 1, 3 and 6")],
)
def test_sessions_list_reads_as_a_sentence(numbers: list[int], text: str) -> None:
    assert guides.sessions_list(numbers) == text


# --------------------------------------------------------------------------- whole curriculum


def test_curriculum_markdown_has_overview_and_every_session() -> None:
    bundle = small_bundle()
    md = guides.curriculum_markdown(bundle)
    assert md.startswith("# Small program\n")
    assert "A summary of the small program." in md
    assert "Adults in a peer group." in md
    assert "Attend at least 1 of the 2 weekly sessions." in md
    assert "| WHO-5 Well-Being Index | 5 | sessions 1 and 2 |" in md
    for title in ("## Orientation: Meeting", "## Session 1 · Arriving", "## Session 2 · Closing"):
        assert f"\n{title}\n" in md
    assert "### Agenda" in md and "#### 0:00–1:00 · Closing circle (60 min, discussion)" in md
    assert "- What will you take away?" in md
    assert "I have felt cheerful and in good spirits" in md  # the instrument wording, for print


def test_whole_bundled_curriculum_holds_every_session_guide(bundled: CurriculumBundle) -> None:
    md = guides.curriculum_markdown(bundled)
    for session in bundled.curriculum.sessions:
        guide = guides.session_markdown(bundled, session.number, level=2)
        assert guide.rstrip("\n") in md


def test_markdown_file_names_are_safe() -> None:
    bundle = small_bundle()
    assert guides.markdown_filename(bundle) == "small-2-beta-test.md"
    assert guides.markdown_filename(bundle, 0) == "small-2-beta-test-session-0.md"
