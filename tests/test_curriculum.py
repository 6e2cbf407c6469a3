"""Curriculum and instrument files: every kind of mistake is reported with its file, line and field;
valid files are stored as pinned versions; the pulse plan and instrument scoring behave as documented.

Bad inputs are built by editing one small valid curriculum (BASE) or instrument (MOOD) held here, so
each case shows exactly what was changed and where the problem must be reported.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from program.curriculum import (
    bundled_files,
    content_hash,
    load_curriculum_file,
    load_curriculum_text,
    load_instrument,
    parse_yaml,
    validate_files,
)
from program.errors import CurriculumError, Problem
from program.library import load_curriculum, upload_curriculum
from program.models import Actor, Curriculum, Instrument
from program.store import Store

# The same folders as tests/conftest.py, found from here so no package import is needed.
CURRICULA = Path(__file__).resolve().parent.parent / "curricula"
INSTRUMENTS = CURRICULA / "instruments"
NAME = "test-program.yaml"
ACTOR_NAME = "command line"

# Line numbers below refer to this text; keep it unchanged or update the case table.
BASE = """\
# A tiny two-week program for tests.
id: test-program
title: Test program
version: "1.0"
summary: Two short weeks.
audience: Adults in a peer group.
session_minutes: 60
sessions:
  - number: 1
    title: Arriving
    theme: Safety
    intentions:
      - Meet each other
    agenda:
      - title: Welcome
        kind: arrival
        minutes: 10
        notes: Say hello.
      - title: Talk
        kind: discussion
        minutes: 40
        notes: Share.
        prompts:
          - What brought you here?
    home_practice: Rest.
    safety_notes: Pause when needed.
  - number: 2
    title: Closing
    theme: Moving on
    intentions:
      - Say goodbye
    agenda:
      - title: Circle
        kind: discussion
        minutes: 45
        notes: Reflect.
      - title: Pulse
        kind: pulse
        minutes: 5
        notes: Quick check-in.
    home_practice: Keep going.
    safety_notes: Share resources.
pulses:
  - instrument: who5
    at: [first, last]
  - instrument: usefulness
    at: [every]
completion:
  min_sessions_attended: 1
"""

ORIENTATION = """\
  - number: 0
    title: Orientation
    theme: Getting ready
    intentions: [Learn how the group works]
    agenda:
      - {title: Welcome, kind: arrival, minutes: 30, notes: Hello.}
    home_practice: None.
    safety_notes: None.
"""

# A small instrument with one reversed item; stored as mood.yaml.
MOOD = """\
# An instrument written for these tests.
id: mood
title: Mood today
short_title: Mood
version: "1"
citation: Written for these tests.
licence: Free to use.
recall: Today
scale:
  min: 1
  max: 5
  labels:
    1: Not at all
    5: Completely
items:
  - id: low
    text: I felt low
    reversed: true
  - id: calm
    text: I felt calm
direction: higher_is_better
minimal_important_change: 1
cutoffs:
  - label: Low mood
    max: 4
"""


# --------------------------------------------------------------------------- helpers


def edit(text: str, *changes: tuple[str, str]) -> str:
    """Apply (old, new) replacements; each `old` must occur exactly once, so a case cannot go stale."""
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def instrument_text(instrument_id: str, items: int) -> str:
    """A valid instrument with `items` items on a 0–4 scale."""
    lines = "".join(f"  - id: q{n}\n    text: Question {n}\n" for n in range(1, items + 1))
    return edit(MOOD, ("id: mood", f"id: {instrument_id}")).split("items:\n")[0] + (
        "items:\n" + lines + "direction: higher_is_better\nminimal_important_change: 1\n"
    )


def problems_of(text: str, instruments_dir: Path, name: str = NAME) -> list[Problem]:
    with pytest.raises(CurriculumError) as caught:
        load_curriculum_text(text, name, instruments_dir)
    assert caught.value.problems, "a CurriculumError must list at least one problem"
    return caught.value.problems


def instrument_problems(folder: Path, text: str, file_name: str = "mood.yaml") -> list[Problem]:
    path = folder / file_name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CurriculumError) as caught:
        load_instrument(path)
    return caught.value.problems


def line(text: str, number: int) -> str:
    return text.splitlines()[number - 1]


def curriculum(numbers: list[int], pulses: list[dict[str, Any]]) -> Curriculum:
    """BASE's curriculum with sessions numbered `numbers` (all copies of session 1) and `pulses`."""
    data = yaml.safe_load(BASE)
    session = data["sessions"][0]
    data["sessions"] = [{**session, "number": n} for n in numbers]
    data["pulses"] = pulses
    return Curriculum.model_validate(data)


def row_counts(store: Store) -> dict[str, int]:
    tables = ["curriculum_versions", "instruments", "curriculum_instruments", "audit_events"]
    cur = store.cursor()
    return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.fixture
def instruments_dir(tmp_path: Path) -> Path:
    """The two instruments BASE schedules, plus a 6-item and a 5-item one for the pulse limit."""
    folder = tmp_path / "instruments"
    folder.mkdir()
    for name in ("who5", "usefulness"):
        shutil.copy(INSTRUMENTS / f"{name}.yaml", folder / f"{name}.yaml")
    (folder / "big-six.yaml").write_text(instrument_text("big-six", 6), encoding="utf-8")
    (folder / "big-five.yaml").write_text(instrument_text("big-five", 5), encoding="utf-8")
    return folder


@pytest.fixture
def actor() -> Actor:
    return Actor.command_line()


# --------------------------------------------------------------------------- the valid base


def test_base_curriculum_is_valid(instruments_dir: Path) -> None:
    bundle = load_curriculum_text(BASE, NAME, instruments_dir)
    assert bundle.curriculum.id == "test-program"
    assert [s.number for s in bundle.curriculum.sessions] == [1, 2]
    assert set(bundle.instruments) == {"who5", "usefulness"}


def test_base_instrument_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "mood.yaml"
    path.write_text(MOOD, encoding="utf-8")
    assert load_instrument(path).id == "mood"


def test_orientation_numbered_zero_then_weeks_one_two_is_valid(instruments_dir: Path) -> None:
    text = edit(BASE, ("sessions:\n", "sessions:\n" + ORIENTATION))
    c = load_curriculum_text(text, NAME, instruments_dir).curriculum
    assert [s.number for s in c.sessions] == [0, 1, 2]
    assert c.weekly_numbers == [1, 2]


# --------------------------------------------------------------------------- bad curricula


@dataclass(frozen=True)
class Bad:
    """One broken file and the single problem it must produce."""

    text: str
    line: int
    path: str
    message: str  # a part of the message that must appear
    on_line: str  # text the reported line of the file must contain


def bad(changes: list[tuple[str, str]], line: int, path: str, message: str, on_line: str) -> Bad:
    return Bad(edit(BASE, *changes), line, path, message, on_line)


SYNTAX = "YAML syntax: mapping values are not allowed"
SLUG = "must be lowercase letters, digits, '-' or '_', starting with a letter or digit"
NUMBERING = "sessions must be numbered 1, 2, 3, … in order (0 only for an orientation)"
AT_WORD = "must be every, first, middle, last or a session number"

BAD_CURRICULA = [
    pytest.param(
        bad([("    title: Arriving\n", "    title: Arriving: now\n")], 10, "", SYNTAX, "Arriving"),
        id="yaml-syntax-error-names-its-line",
    ),
    pytest.param(
        bad(
            [("      - Meet each other\n", "      - [Meet each other\n")],
            14,
            "",
            "YAML syntax",
            "agenda:",
        ),
        id="yaml-unclosed-bracket",
    ),
    pytest.param(
        Bad("", 1, "", "must hold a mapping of fields, got an empty file", ""),
        id="empty-file",
    ),
    pytest.param(
        Bad("# only a comment\n", 1, "", "got an empty file", "only a comment"),
        id="comment-only-file",
    ),
    pytest.param(
        Bad("- id: x\n- title: y\n", 1, "", "must hold a mapping of fields, got a list", "- id"),
        id="top-level-list",
    ),
    pytest.param(
        bad(
            [("    theme: Safety\n", "    theme: Safety\n    themee: Calm\n")],
            12,
            "sessions[0].themee",
            "is not a known field (check the spelling",
            "themee:",
        ),
        id="unknown-field-typo",
    ),
    pytest.param(
        bad(
            [("    theme: Safety\n", "")],
            9,
            "sessions[0].theme",
            "is required but missing",
            "number: 1",
        ),
        id="missing-required-field-in-session",
    ),
    pytest.param(
        bad([("summary: Two short weeks.\n", "")], 2, "summary", "is required but missing", "id:"),
        id="missing-required-top-level-field",
    ),
    pytest.param(
        bad(
            [("        minutes: 10\n", "        minutes: ten\n")],
            17,
            "sessions[0].agenda[0].minutes",
            "must be a whole number of minutes, got 'ten'",
            "minutes: ten",
        ),
        id="minutes-as-text",
    ),
    pytest.param(
        bad(
            [("        minutes: 10\n", "        minutes: 7.5\n")],
            17,
            "sessions[0].agenda[0].minutes",
            "must be a whole number of minutes, got 7.5",
            "minutes: 7.5",
        ),
        id="minutes-fractional",
    ),
    pytest.param(
        bad(
            [("        minutes: 10\n", "        minutes: 0\n")],
            17,
            "sessions[0].agenda[0].minutes",
            "must be more than 0",
            "minutes: 0",
        ),
        id="minutes-zero",
    ),
    pytest.param(
        bad(
            [("        minutes: 45\n", "        minutes: -5\n")],
            35,
            "sessions[1].agenda[0].minutes",
            "got -5",
            "minutes: -5",
        ),
        id="minutes-negative",
    ),
    pytest.param(
        bad(
            [("        minutes: 40\n", "        minutes: 55\n")],
            14,
            "sessions[0].agenda",
            "the agenda adds up to 65 minutes, more than the session length of 60 minutes",
            "agenda:",
        ),
        id="agenda-longer-than-session-first",
    ),
    pytest.param(
        bad(
            [("        minutes: 45\n", "        minutes: 56\n")],
            32,
            "sessions[1].agenda",
            "the agenda adds up to 61 minutes, more than the session length of 60 minutes",
            "agenda:",
        ),
        id="agenda-longer-than-session-second",
    ),
    pytest.param(
        bad(
            [("session_minutes: 60", "session_minutes: 10")],
            7,
            "session_minutes",
            "must be at least 15, got 10",
            "session_minutes: 10",
        ),
        id="session-minutes-too-short",
    ),
    pytest.param(
        bad(
            [("  - number: 2\n", "  - number: 3\n")],
            27,
            "sessions[1].number",
            f"{NUMBERING}; expected 2, got 3",
            "number: 3",
        ),
        id="session-numbers-with-gap",
    ),
    pytest.param(
        bad(
            [("  - number: 2\n", "  - number: 3\n"), ("  - number: 1\n", "  - number: 2\n")],
            9,
            "sessions[0].number",
            f"{NUMBERING}; expected 1, got 2",
            "number: 2",
        ),
        id="sessions-not-starting-at-0-or-1",
    ),
    pytest.param(
        bad(
            [("  - number: 2\n", "  - number: 1\n")],
            27,
            "sessions[1].number",
            "expected 2, got 1",
            "number: 1",
        ),
        id="session-number-repeated",
    ),
    pytest.param(
        bad(
            [
                ("sessions:\n", "sessions:\n" + ORIENTATION),
                ("  - number: 1\n", "  - number: 2\n"),
                ("  - number: 2\n    title: Closing", "  - number: 3\n    title: Closing"),
            ],
            17,
            "sessions[1].number",
            "expected 1, got 2",
            "number: 2",
        ),
        id="orientation-then-week-two",
    ),
    pytest.param(
        bad(
            [("  - number: 2\n", "  - number: 53\n")],
            27,
            "sessions[1].number",
            "must be at most 52, got 53",
            "number: 53",
        ),
        id="session-number-above-52",
    ),
    pytest.param(
        bad(
            [("kind: arrival", "kind: arival")],
            16,
            "sessions[0].agenda[0].kind",
            "must be one of 'arrival', 'teaching', 'practice', 'discussion', 'break', 'grounding'"
            " or 'pulse', got 'arival'",
            "kind: arival",
        ),
        id="unknown-activity-kind",
    ),
    pytest.param(
        bad(
            [("  - instrument: usefulness\n", "  - instrument: helpfulness\n")],
            46,
            "pulses[1].instrument",
            "instrument 'helpfulness' does not exist (no file instruments/helpfulness.yaml)",
            "helpfulness",
        ),
        id="pulse-instrument-does-not-exist",
    ),
    pytest.param(
        bad(
            [("at: [first, last]", "at: [first, 3]")],
            45,
            "pulses[0].at[1]",
            "session 3 does not exist (weekly sessions are 1–2)",
            "at: [first, 3]",
        ),
        id="pulse-at-missing-session-number",
    ),
    pytest.param(
        bad(
            [("at: [first, last]", "at: [fist, last]")],
            45,
            "pulses[0].at[0]",
            f"{AT_WORD}, got 'fist'",
            "fist",
        ),
        id="pulse-at-misspelt-word",
    ),
    pytest.param(
        bad([("at: [every]", "at: []")], 47, "pulses[1].at", "needs at least 1 entry", "at: []"),
        id="pulse-at-empty",
    ),
    pytest.param(
        bad(
            [
                (
                    "  - instrument: who5\n    at: [first, last]\n",
                    "  - instrument: big-six\n    at: [every]\n",
                ),
                (
                    "  - instrument: usefulness\n    at: [every]\n",
                    "  - instrument: big-five\n    at: [last]\n",
                ),
            ],
            43,
            "pulses",
            "session 2 would ask 11 questions (big-six, big-five); a pulse may ask at most 10",
            "pulses:",
        ),
        id="pulse-over-ten-items-in-one-session",
    ),
    pytest.param(
        bad(
            [("min_sessions_attended: 1", "min_sessions_attended: 3")],
            49,
            "completion.min_sessions_attended",
            "asks for 3 sessions attended, but there are only 2 weekly sessions",
            "min_sessions_attended: 3",
        ),
        id="completion-needs-more-sessions-than-exist",
    ),
    pytest.param(
        bad(
            [("min_sessions_attended: 1", "min_sessions_attended: 0")],
            49,
            "completion.min_sessions_attended",
            "must be at least 1, got 0",
            "min_sessions_attended: 0",
        ),
        id="completion-zero",
    ),
    pytest.param(
        bad(
            [("  - instrument: usefulness\n", "  - instrument: who5\n")],
            46,
            "pulses[1].instrument",
            "'who5' is scheduled twice",
            "instrument: who5",
        ),
        id="same-instrument-scheduled-twice",
    ),
    pytest.param(
        bad(
            [("    intentions:\n      - Meet each other\n", "    intentions: []\n")],
            12,
            "sessions[0].intentions",
            "needs at least 1 entry",
            "intentions: []",
        ),
        id="empty-intentions",
    ),
    pytest.param(
        bad(
            [("      - Say goodbye\n", "      - '   '\n")],
            31,
            "sessions[1].intentions[0]",
            "must not be empty",
            "'   '",
        ),
        id="blank-intention",
    ),
    pytest.param(
        bad(
            [("id: test-program", "id: Test-Program")],
            2,
            "id",
            f"{SLUG}, got 'Test-Program'",
            "Test-Program",
        ),
        id="id-slug-uppercase",
    ),
    pytest.param(
        bad(
            [("id: test-program", "id: test program")],
            2,
            "id",
            f"{SLUG}, got 'test program'",
            "test program",
        ),
        id="id-slug-with-space",
    ),
    pytest.param(
        bad(
            [("  - instrument: who5\n", "  - instrument: WHO5\n")],
            44,
            "pulses[0].instrument",
            f"{SLUG}, got 'WHO5'",
            "WHO5",
        ),
        id="instrument-slug-uppercase",
    ),
    pytest.param(
        bad(
            [('version: "1.0"', "version: 1.0")],
            4,
            "version",
            "must be text, got 1.0",
            "version: 1.0",
        ),
        id="unquoted-number-where-text-expected",
    ),
    pytest.param(
        bad(
            [("    intentions:\n      - Meet each other\n", "    intentions: Meet each other\n")],
            12,
            "sessions[0].intentions",
            "must be a list (lines starting with '- '), got 'Meet each other'",
            "intentions:",
        ),
        id="text-where-list-expected",
    ),
]


@pytest.mark.parametrize("case", BAD_CURRICULA)
def test_bad_curriculum_names_line_field_and_problem(case: Bad, instruments_dir: Path) -> None:
    problems = problems_of(case.text, instruments_dir)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.file == NAME
    assert problem.path == case.path
    assert case.message in problem.message
    assert problem.line == case.line
    # The line number really points at the offending text.
    if case.text:
        assert case.on_line in line(case.text, problem.line)


def test_misspelt_required_field_is_reported_as_unknown_and_as_missing(
    instruments_dir: Path,
) -> None:
    text = edit(BASE, ("  min_sessions_attended: 1\n", "  min_session: 1\n"))
    problems = problems_of(text, instruments_dir)
    assert [(p.line, p.path, p.message) for p in problems] == [
        (48, "completion.min_sessions_attended", "is required but missing"),
        (
            49,
            "completion.min_session",
            "is not a known field (check the spelling and the indentation)",
        ),
    ]
    assert line(text, 48) == "completion:"


def test_problem_reads_as_file_line_field_message(instruments_dir: Path) -> None:
    text = edit(BASE, ("        minutes: 10\n", "        minutes: ten\n"))
    (problem,) = problems_of(text, instruments_dir, name="collective-healing.yaml")
    assert str(problem) == (
        "collective-healing.yaml, line 17, sessions[0].agenda[0].minutes:"
        " must be a whole number of minutes, got 'ten'"
    )


def test_problem_without_field_leaves_path_out() -> None:
    assert str(Problem("a.yaml", 3, "", "YAML syntax: oops")) == "a.yaml, line 3: YAML syntax: oops"


def test_curriculum_error_message_lists_every_problem(instruments_dir: Path) -> None:
    text = edit(
        BASE, ("kind: arrival", "kind: arival"), ("        minutes: 45\n", "        minutes: x\n")
    )
    with pytest.raises(CurriculumError) as caught:
        load_curriculum_text(text, NAME, instruments_dir)
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]
    assert len(caught.value.problems) == 2


def test_only_an_orientation_session_is_an_error(instruments_dir: Path) -> None:
    text = (
        BASE.split("sessions:\n")[0]
        + "sessions:\n"
        + ORIENTATION
        + "completion:\n  min_sessions_attended: 1\n"
    )
    (problem,) = problems_of(text, instruments_dir)
    assert problem.path == "sessions"
    assert "needs at least one weekly session" in problem.message
    assert line(text, problem.line) == "sessions:"


def test_pulse_at_zero_is_refused_because_orientation_is_never_surveyed(
    instruments_dir: Path,
) -> None:
    text = edit(BASE, ("sessions:\n", "sessions:\n" + ORIENTATION), ("at: [every]", "at: [0]"))
    (problem,) = problems_of(text, instruments_dir)
    assert problem.path == "pulses[1].at[0]"
    assert "got 0" in problem.message
    assert "at: [0]" in line(text, problem.line)


def test_pulse_of_exactly_ten_items_is_allowed(instruments_dir: Path) -> None:
    (instruments_dir / "big-four.yaml").write_text(instrument_text("big-four", 4), encoding="utf-8")
    text = edit(
        BASE,
        (
            "  - instrument: who5\n    at: [first, last]\n",
            "  - instrument: big-six\n    at: [every]\n",
        ),
        ("  - instrument: usefulness\n", "  - instrument: big-four\n"),
    )
    bundle = load_curriculum_text(text, NAME, instruments_dir)
    assert len(bundle.pulse_items(1)) == 10


def test_pulse_over_ten_items_is_reported_for_each_session(instruments_dir: Path) -> None:
    text = edit(
        BASE,
        (
            "  - instrument: who5\n    at: [first, last]\n",
            "  - instrument: big-six\n    at: [every]\n",
        ),
        ("  - instrument: usefulness\n", "  - instrument: big-five\n"),
    )
    problems = problems_of(text, instruments_dir)
    assert [p.message.split(" would")[0] for p in problems] == ["session 1", "session 2"]
    assert {p.line for p in problems} == {43}


# --------------------------------------------------------------------------- many problems at once


def test_every_shape_problem_is_reported_not_just_the_first(instruments_dir: Path) -> None:
    text = edit(
        BASE,
        ("id: test-program", "id: Test Program"),
        ("kind: arrival", "kind: arival"),
        ("        minutes: 10\n", "        minutes: ten\n"),
        ("  - number: 2\n", "  - number: two\n"),
        ("at: [first, last]", "at: [fist, last]"),
    )
    problems = problems_of(text, instruments_dir)
    found = {(p.line, p.path) for p in problems}
    assert found == {
        (2, "id"),
        (16, "sessions[0].agenda[0].kind"),
        (17, "sessions[0].agenda[0].minutes"),
        (27, "sessions[1].number"),
        (45, "pulses[0].at[0]"),
    }
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_every_cross_field_problem_is_reported_not_just_the_first(instruments_dir: Path) -> None:
    text = edit(
        BASE,
        ("        minutes: 40\n", "        minutes: 55\n"),
        ("        minutes: 45\n", "        minutes: 58\n"),
        ("at: [first, last]", "at: [first, 9]"),
        ("  - instrument: usefulness\n", "  - instrument: helpfulness\n"),
        ("min_sessions_attended: 1", "min_sessions_attended: 5"),
    )
    problems = problems_of(text, instruments_dir)
    assert [(p.line, p.path) for p in problems] == [
        (14, "sessions[0].agenda"),
        (32, "sessions[1].agenda"),
        (45, "pulses[0].at[1]"),
        (46, "pulses[1].instrument"),
        (49, "completion.min_sessions_attended"),
    ]


def test_problems_in_a_scheduled_instrument_file_are_reported_with_that_file(
    instruments_dir: Path,
) -> None:
    who5 = instruments_dir / "who5.yaml"
    who5.write_text(edit(who5.read_text(), ("  max: 5\n", "  max: 0\n")), encoding="utf-8")
    problems = problems_of(BASE, instruments_dir)
    from_instrument = [p for p in problems if p.file == "who5.yaml"]
    assert [(p.path, p.message) for p in from_instrument] == [
        ("scale.max", "must be at least 1, got 0")
    ]
    assert "max: 0" in line(who5.read_text(), from_instrument[0].line)
    # The curriculum's own problems come first.
    assert problems[-1].file == "who5.yaml"


def test_invalid_instrument_is_not_also_called_missing(instruments_dir: Path) -> None:
    who5 = instruments_dir / "who5.yaml"
    who5.write_text(edit(who5.read_text(), ("  max: 5\n", "  max: 0\n")), encoding="utf-8")
    problems = problems_of(BASE, instruments_dir)
    assert not [p for p in problems if "does not exist" in p.message], problems


def test_numbering_error_does_not_hide_a_later_agenda_overrun(instruments_dir: Path) -> None:
    text = edit(
        BASE,
        ("  - number: 2\n", "  - number: 5\n"),
        ("        minutes: 45\n", "        minutes: 99\n"),
    )
    paths = {p.path for p in problems_of(text, instruments_dir)}
    assert paths == {"sessions[1].number", "sessions[1].agenda"}


def test_duplicated_key_is_reported(instruments_dir: Path) -> None:
    text = edit(BASE, ("        minutes: 10\n", "        minutes: 10\n        minutes: 5\n"))
    problems_of(text, instruments_dir)


def test_minutes_true_is_refused(instruments_dir: Path) -> None:
    # YAML reads `true` as a boolean, which Python would happily count as 1 minute.
    text = edit(BASE, ("        minutes: 10\n", "        minutes: true\n"))
    (problem,) = problems_of(text, instruments_dir)
    assert problem.path == "sessions[0].agenda[0].minutes"
    assert problem.message == "must be a whole number of minutes, got True"


def test_zero_minutes_message_is_plain_english(instruments_dir: Path) -> None:
    text = edit(BASE, ("        minutes: 10\n", "        minutes: 0\n"))
    (problem,) = problems_of(text, instruments_dir)
    assert problem.message == "must be more than 0 minutes, got 0"


# --------------------------------------------------------------------------- bad instruments


@dataclass(frozen=True)
class BadInstrument:
    text: str
    line: int
    path: str
    message: str
    on_line: str
    file_name: str = "mood.yaml"


def bad_instrument(
    changes: list[tuple[str, str]], line: int, path: str, message: str, on_line: str, **kw: str
) -> BadInstrument:
    return BadInstrument(edit(MOOD, *changes), line, path, message, on_line, **kw)


BAD_INSTRUMENTS = [
    pytest.param(
        bad_instrument(
            [("    5: Completely\n", "")],
            9,
            "scale",
            "both ends of the scale need a label; missing [5]",
            "scale:",
        ),
        id="scale-label-missing-top-end",
    ),
    pytest.param(
        bad_instrument(
            [("    1: Not at all\n", "")],
            9,
            "scale",
            "both ends of the scale need a label; missing [1]",
            "scale:",
        ),
        id="scale-label-missing-bottom-end",
    ),
    pytest.param(
        bad_instrument(
            [("    5: Completely\n", "    5: Completely\n    7: Beyond\n")],
            9,
            "scale",
            "labels for points [7] lie outside the scale 1–5",
            "scale:",
        ),
        id="scale-label-outside-scale",
    ),
    pytest.param(
        bad_instrument(
            [("  min: 1\n  max: 5\n", "  min: 5\n  max: 5\n")],
            9,
            "scale",
            "max (5) must be greater than min (5)",
            "scale:",
        ),
        id="scale-max-equal-min",
    ),
    pytest.param(
        bad_instrument(
            [("  min: 1\n  max: 5\n", "  min: 5\n  max: 1\n")],
            9,
            "scale",
            "max (1) must be greater than min (5)",
            "scale:",
        ),
        id="scale-max-below-min",
    ),
    pytest.param(
        bad_instrument(
            [("    5: Completely\n", "    five: Completely\n")],
            14,
            "scale.labels.five",
            "must be a whole number, got 'five'",
            "five:",
        ),
        id="scale-label-point-not-a-number",
    ),
    pytest.param(
        bad_instrument(
            [],
            2,
            "id",
            "must match the file name: expected 'feelings', got 'mood'",
            "id: mood",
            file_name="feelings.yaml",
        ),
        id="id-not-matching-file-name",
    ),
    pytest.param(
        bad_instrument(
            [("    max: 4\n", "")],
            24,
            "cutoffs[0]",
            "a cut-off needs min, max or both",
            "label: Low mood",
        ),
        id="cutoff-without-min-or-max",
    ),
    pytest.param(
        bad_instrument(
            [("    max: 4\n", "    min: 6\n    max: 4\n")],
            24,
            "cutoffs[0]",
            "min (6.0) is above max (4.0)",
            "label: Low mood",
        ),
        id="cutoff-min-above-max",
    ),
    pytest.param(
        bad_instrument(
            [("  - id: calm\n", "  - id: Calm Down\n")],
            19,
            "items[1].id",
            f"{SLUG}, got 'Calm Down'",
            "Calm Down",
        ),
        id="item-id-not-a-slug",
    ),
    pytest.param(
        bad_instrument(
            [("    reversed: true\n", "    reversed: maybe\n")],
            18,
            "items[0].reversed",
            "must be true or false, got 'maybe'",
            "reversed: maybe",
        ),
        id="reversed-not-a-boolean",
    ),
    pytest.param(
        bad_instrument(
            [("direction: higher_is_better", "direction: up")],
            21,
            "direction",
            "must be one of 'higher_is_better' or 'higher_is_worse', got 'up'",
            "direction: up",
        ),
        id="unknown-direction",
    ),
    pytest.param(
        bad_instrument(
            [("minimal_important_change: 1", "minimal_important_change: 0")],
            22,
            "minimal_important_change",
            "must be more than 0",
            "minimal_important_change: 0",
        ),
        id="minimal-important-change-zero",
    ),
    pytest.param(
        bad_instrument(
            [("recall: Today\n", "")], 2, "recall", "is required but missing", "id: mood"
        ),
        id="instrument-missing-recall",
    ),
    pytest.param(
        bad_instrument(
            [("    text: I felt calm\n", "    text: I felt calm\n    txt: typo\n")],
            21,
            "items[1].txt",
            "is not a known field",
            "txt: typo",
        ),
        id="instrument-unknown-field",
    ),
]


@pytest.mark.parametrize("case", BAD_INSTRUMENTS)
def test_bad_instrument_names_line_field_and_problem(case: BadInstrument, tmp_path: Path) -> None:
    problems = instrument_problems(tmp_path, case.text, case.file_name)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.file == case.file_name
    assert problem.path == case.path
    assert case.message in problem.message
    assert problem.line == case.line
    assert case.on_line in line(case.text, problem.line)


def test_an_instrument_says_its_own_mirror_sentence_or_the_default(tmp_path: Path) -> None:
    path = tmp_path / "mood.yaml"
    path.write_text(MOOD, encoding="utf-8")
    assert load_instrument(path).mirror_words("“completely”") == (
        "On average, the group's answer was “completely”."
    )
    own = 'minimal_important_change: 1\nmirror_sentence: "The group felt {words} today."\n'
    path.write_text(edit(MOOD, ("minimal_important_change: 1\n", own)), encoding="utf-8")
    assert load_instrument(path).mirror_words("calm") == "The group felt calm today."


@pytest.mark.parametrize("sentence", ["The group felt fine.", "{words} and {words}."])
def test_a_mirror_sentence_must_say_words_once(tmp_path: Path, sentence: str) -> None:
    own = f'minimal_important_change: 1\nmirror_sentence: "{sentence}"\n'
    text = edit(MOOD, ("minimal_important_change: 1\n", own))
    (problem,) = instrument_problems(tmp_path, text)
    assert (problem.path, problem.line) == ("mirror_sentence", 23)
    assert "{words} once" in problem.message


def test_an_instrument_stored_before_mirror_sentences_still_loads_and_hashes_the_same(
    tmp_path: Path,
) -> None:
    """A stored bundle's JSON from before the field existed has no `mirror_sentence`: it reads
    with the default, and an instrument without one hashes as it did, so reloading an unchanged
    curriculum makes no new version."""
    path = tmp_path / "mood.yaml"
    path.write_text(MOOD, encoding="utf-8")
    instrument = load_instrument(path)
    stored = instrument.model_dump(mode="json")
    assert "mirror_sentence" not in stored
    again = Instrument.model_validate(stored)
    assert again == instrument and again.mirror_sentence is None


def test_instrument_with_eleven_items_is_refused(tmp_path: Path) -> None:
    (problem,) = instrument_problems(tmp_path, instrument_text("mood", 11))
    assert problem.path == "items"
    assert problem.message == "may have at most 10 entries, got 11"


def test_duplicate_item_ids_are_refused(tmp_path: Path) -> None:
    text = edit(MOOD, ("  - id: calm\n", "  - id: low\n"))
    (problem,) = instrument_problems(tmp_path, text)
    assert problem.message == "item id 'low' appears twice"


def test_duplicate_item_id_points_at_the_repeated_item(tmp_path: Path) -> None:
    text = edit(MOOD, ("  - id: calm\n", "  - id: low\n"))
    (problem,) = instrument_problems(tmp_path, text)
    assert (problem.line, problem.path) == (19, "items[1].id")


def test_every_instrument_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = edit(
        MOOD,
        ("  max: 5\n", "  max: 0\n"),
        ("  - id: calm\n", "  - id: Calm\n"),
        ("direction: higher_is_better", "direction: up"),
    )
    problems = instrument_problems(tmp_path, text)
    assert [(p.line, p.path) for p in problems] == [
        (11, "scale.max"),
        (19, "items[1].id"),
        (21, "direction"),
    ]


# --------------------------------------------------------------------------- parse_yaml and files


def test_parse_yaml_records_the_line_of_each_key() -> None:
    parsed = parse_yaml(BASE, NAME)
    assert parsed.line_of(("sessions", 1, "agenda", 0, "minutes")) == 35
    assert parsed.line_of(("pulses", 1, "at", 0)) == 47
    # A path that does not exist falls back to the deepest part that does.
    assert parsed.line_of(("sessions", 1, "nonexistent")) == 27


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(CurriculumError) as caught:
        load_curriculum_file(tmp_path / "nope.yaml")
    assert [str(p) for p in caught.value.problems] == ["nope.yaml, line 1: file not found"]


def test_non_utf8_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(BASE.replace("Two short weeks.", "Caf\xe9 weeks.").encode("latin-1"))
    with pytest.raises(CurriculumError) as caught:
        load_curriculum_file(path)
    (problem,) = caught.value.problems
    assert "not UTF-8" in problem.message


def test_curriculum_file_finds_instruments_in_the_folder_beside_it(
    tmp_path: Path, instruments_dir: Path
) -> None:
    path = tmp_path / "program.yaml"  # instruments_dir is tmp_path / "instruments"
    path.write_text(BASE, encoding="utf-8")
    assert set(load_curriculum_file(path).instruments) == {"who5", "usefulness"}
    (instruments_dir / "who5.yaml").unlink()
    with pytest.raises(CurriculumError, match="instrument 'who5' does not exist"):
        load_curriculum_file(path)


def test_validate_files_checks_every_file_and_collects_all_problems(
    tmp_path: Path, instruments_dir: Path
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(BASE, encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(edit(BASE, ("kind: arrival", "kind: arival")), encoding="utf-8")
    bad_instrument_file = instruments_dir / "mood.yaml"
    bad_instrument_file.write_text(edit(MOOD, ("    1: Not at all\n", "")), encoding="utf-8")
    problems = validate_files([broken, good, bad_instrument_file])
    assert [(p.file, p.line, p.path) for p in problems] == [
        ("broken.yaml", 16, "sessions[0].agenda[0].kind"),
        ("mood.yaml", 9, "scale"),
    ]
    assert validate_files([good]) == []


# --------------------------------------------------------------------------- bundled files


def test_bundled_collective_healing_curriculum_exists() -> None:
    assert (CURRICULA / "collective-healing.yaml").is_file()


def test_bundled_files_include_curricula_and_instruments() -> None:
    names = {p.name for p in bundled_files(CURRICULA)}
    assert {"who5.yaml", "usefulness.yaml", "stress.yaml"} <= names


def test_every_bundled_file_validates_with_no_problems() -> None:
    files = [p for p in bundled_files(CURRICULA) if p.is_file()]
    assert files
    problems = validate_files(files)
    assert problems == [], "\n".join(str(p) for p in problems)


# --------------------------------------------------------------------------- storing versions


def test_loading_the_same_file_twice_gives_one_version(
    store: Store, actor: Actor, tmp_path: Path, instruments_dir: Path
) -> None:
    path = tmp_path / NAME
    path.write_text(BASE, encoding="utf-8")
    first, created_first = load_curriculum(store, actor, path)
    second, created_second = load_curriculum(store, actor, path)
    assert (created_first, created_second) == (True, False)
    assert second == first
    assert len(store.curriculum_versions()) == 1
    counts = row_counts(store)
    assert counts["curriculum_versions"] == 1
    assert counts["instruments"] == 2  # who5 and usefulness


def test_comments_and_layout_do_not_make_a_new_version(
    store: Store, actor: Actor, instruments_dir: Path
) -> None:
    relaid = edit(
        BASE,
        ("# A tiny two-week program for tests.\n", "# Reworded comment.\n\n"),
        ("at: [first, last]", "at:\n      - first   # baseline\n      - last"),
        ('version: "1.0"', "version: '1.0'"),
    )
    a = load_curriculum_text(BASE, NAME, instruments_dir)
    b = load_curriculum_text(relaid, NAME, instruments_dir)
    assert content_hash(a) == content_hash(b)
    first, _ = upload_curriculum(store, actor, NAME, BASE, instruments_dir)
    again, created = upload_curriculum(store, actor, "renamed.yaml", relaid, instruments_dir)
    assert created is False
    assert again.id == first.id
    assert len(store.curriculum_versions()) == 1


def test_changing_a_session_title_makes_a_new_version(
    store: Store, actor: Actor, instruments_dir: Path
) -> None:
    changed = edit(BASE, ("    title: Closing\n", "    title: Closing circle\n"))
    a = load_curriculum_text(BASE, NAME, instruments_dir)
    b = load_curriculum_text(changed, NAME, instruments_dir)
    assert content_hash(a) != content_hash(b)
    first, _ = upload_curriculum(store, actor, NAME, BASE, instruments_dir)
    second, created = upload_curriculum(store, actor, NAME, changed, instruments_dir)
    assert created is True
    assert second.id != first.id
    assert second.content_hash == content_hash(b)
    counts = row_counts(store)
    assert counts["curriculum_versions"] == 2
    assert counts["instruments"] == 2  # unchanged instruments are shared, not copied
    assert counts["curriculum_instruments"] == 4


def test_changing_an_instrument_changes_the_curriculum_hash(instruments_dir: Path) -> None:
    before = content_hash(load_curriculum_text(BASE, NAME, instruments_dir))
    usefulness = instruments_dir / "usefulness.yaml"
    usefulness.write_text(
        edit(usefulness.read_text(), ("10: Extremely useful", "10: Very useful")), encoding="utf-8"
    )
    assert content_hash(load_curriculum_text(BASE, NAME, instruments_dir)) != before


def test_bad_upload_raises_and_leaves_the_database_unchanged(
    store: Store, actor: Actor, instruments_dir: Path
) -> None:
    upload_curriculum(store, actor, NAME, BASE, instruments_dir)
    before = row_counts(store)
    broken = edit(
        BASE,
        ("    title: Closing\n", "    title: Something new\n"),
        ("        minutes: 10\n", "        minutes: ten\n"),
    )
    with pytest.raises(CurriculumError) as caught:
        upload_curriculum(store, actor, "broken.yaml", broken, instruments_dir)
    assert [p.path for p in caught.value.problems] == ["sessions[0].agenda[0].minutes"]
    assert row_counts(store) == before
    assert before["curriculum_versions"] == 1


def test_bad_file_via_load_curriculum_stores_nothing(
    store: Store, actor: Actor, tmp_path: Path, instruments_dir: Path
) -> None:
    path = tmp_path / NAME
    path.write_text(edit(BASE, ("min_sessions_attended: 1", "min_sessions_attended: 9")))
    before = row_counts(store)
    with pytest.raises(CurriculumError) as caught:
        load_curriculum(store, actor, path)
    assert [p.path for p in caught.value.problems] == ["completion.min_sessions_attended"]
    assert row_counts(store) == before


def test_stored_version_round_trips(store: Store, actor: Actor, instruments_dir: Path) -> None:
    bundle = load_curriculum_text(BASE, NAME, instruments_dir)
    version, created = upload_curriculum(store, actor, NAME, BASE, instruments_dir)
    assert created
    assert store.curriculum_bundle(version.id) == bundle
    assert store.curriculum_source(version.id) == (NAME, BASE)
    assert (version.curriculum_id, version.version, version.title) == (
        "test-program",
        "1.0",
        "Test program",
    )
    assert version.content_hash == content_hash(bundle)


def test_loading_a_version_is_audited(store: Store, actor: Actor, instruments_dir: Path) -> None:
    version, _ = upload_curriculum(store, actor, NAME, BASE, instruments_dir)
    upload_curriculum(store, actor, NAME, BASE, instruments_dir)  # same content: no new event
    events = [e for e in store.audit_events() if e.action == "load curriculum"]
    assert len(events) == 1
    assert events[0].object_id == str(version.id)
    assert events[0].actor == ACTOR_NAME


# --------------------------------------------------------------------------- the pulse plan


def test_instruments_at_every_first_last_and_explicit_numbers() -> None:
    c = curriculum(
        [1, 2, 3, 4],
        [
            {"instrument": "who5", "at": ["first", "last"]},
            {"instrument": "usefulness", "at": ["every"]},
            {"instrument": "stress", "at": [2, 4]},
        ],
    )
    assert [c.instruments_at(n) for n in (1, 2, 3, 4)] == [
        ["who5", "usefulness"],
        ["usefulness", "stress"],
        ["usefulness"],
        ["who5", "usefulness", "stress"],
    ]


def test_instruments_at_keeps_file_order_of_the_pulse_plan() -> None:
    c = curriculum(
        [1, 2],
        [{"instrument": "usefulness", "at": ["every"]}, {"instrument": "who5", "at": ["every"]}],
    )
    assert c.instruments_at(1) == ["usefulness", "who5"]


def test_middle_of_six_weekly_sessions_is_session_three() -> None:
    c = curriculum([1, 2, 3, 4, 5, 6], [{"instrument": "who5", "at": ["middle"]}])
    assert [n for n in range(0, 8) if c.instruments_at(n)] == [3]


def test_middle_of_six_weekly_sessions_after_orientation_is_still_session_three() -> None:
    c = curriculum([0, 1, 2, 3, 4, 5, 6], [{"instrument": "who5", "at": ["middle"]}])
    assert [n for n in range(0, 8) if c.instruments_at(n)] == [3]


@pytest.mark.parametrize(
    ("weeks", "middle"), [(1, 1), (2, 1), (3, 2), (5, 3), (7, 4), (8, 4)], ids=lambda v: str(v)
)
def test_middle_is_the_lower_middle_weekly_session(weeks: int, middle: int) -> None:
    c = curriculum(list(range(1, weeks + 1)), [{"instrument": "who5", "at": ["middle"]}])
    assert [n for n in range(1, weeks + 1) if c.instruments_at(n)] == [middle]


def test_orientation_session_zero_never_gets_a_pulse() -> None:
    c = curriculum(
        [0, 1, 2],
        [{"instrument": "who5", "at": ["every", "first"]}, {"instrument": "stress", "at": [1]}],
    )
    assert c.instruments_at(0) == []
    assert c.instruments_at(1) == ["who5", "stress"]
    assert c.weekly_numbers == [1, 2]


def test_instruments_at_a_session_that_does_not_exist_is_empty() -> None:
    c = curriculum([1, 2], [{"instrument": "who5", "at": ["every"]}])
    assert c.instruments_at(3) == []
    assert c.instruments_at(-1) == []


def test_pulse_items_of_the_loaded_bundle_follow_the_plan(instruments_dir: Path) -> None:
    bundle = load_curriculum_text(BASE, NAME, instruments_dir)
    first = [(i.id, item.id) for i, item in bundle.pulse_items(1)]
    assert first == [
        ("who5", "cheerful"),
        ("who5", "calm"),
        ("who5", "active"),
        ("who5", "rested"),
        ("who5", "interest"),
        ("usefulness", "useful_today"),
    ]


# --------------------------------------------------------------------------- scoring


@pytest.fixture
def who5() -> Instrument:
    return load_instrument(INSTRUMENTS / "who5.yaml")


@pytest.fixture
def mood(tmp_path: Path) -> Instrument:
    path = tmp_path / "mood.yaml"
    path.write_text(MOOD, encoding="utf-8")
    return load_instrument(path)


def answers(instrument: Instrument, value: int) -> dict[str, int]:
    return {item.id: value for item in instrument.items}


@pytest.mark.parametrize(("value", "score"), [(0, 0.0), (3, 60.0), (5, 100.0)])
def test_who5_is_the_raw_sum_times_four(who5: Instrument, value: int, score: float) -> None:
    assert who5.score(answers(who5, value)) == score


def test_who5_mixed_answers(who5: Instrument) -> None:
    given = {"cheerful": 5, "calm": 4, "active": 0, "rested": 1, "interest": 2}
    assert who5.score(given) == 48.0  # (5 + 4 + 0 + 1 + 2) × 4


def test_who5_score_range_is_0_to_100(who5: Instrument) -> None:
    assert who5.score_range == (0.0, 100.0)
    assert not any(item.reversed for item in who5.items)


def test_reversed_item_is_scored_as_min_plus_max_minus_answer(mood: Instrument) -> None:
    assert mood.score({"low": 5, "calm": 2}) == 3.0  # (1 + 5 − 5) + 2
    assert mood.score({"low": 1, "calm": 5}) == 10.0  # (1 + 5 − 1) + 5
    assert mood.score({"low": 3, "calm": 3}) == 6.0  # the midpoint is unchanged


def test_score_range_of_a_plain_sum(mood: Instrument) -> None:
    assert mood.score_range == (2.0, 10.0)


def test_mean_scoring_with_multiplier(tmp_path: Path) -> None:
    text = edit(MOOD, ("direction:", "scoring:\n  method: mean\n  multiplier: 2\ndirection:"))
    path = tmp_path / "mood.yaml"
    path.write_text(text, encoding="utf-8")
    mood = load_instrument(path)
    assert mood.score({"low": 2, "calm": 5}) == 9.0  # ((1 + 5 − 2) + 5) / 2 × 2
    assert mood.score_range == (2.0, 10.0)


def test_scoring_needs_every_item_unless_the_instrument_says_otherwise(
    mood: Instrument, tmp_path: Path
) -> None:
    assert mood.score({"low": 3}) is None
    assert mood.score({}) is None
    text = edit(MOOD, ("direction:", "scoring:\n  min_answered: 1\ndirection:"))
    path = tmp_path / "mood.yaml"
    path.write_text(text, encoding="utf-8")
    lenient = load_instrument(path)
    assert lenient.score({"calm": 4}) == 8.0  # one of two answered: prorated, 4 × 2
    assert lenient.score({"low": 5, "calm": 2}) == mood.score({"low": 5, "calm": 2})
    assert lenient.score({}) is None


@pytest.mark.parametrize("needed", [0, 3])
def test_min_answered_must_fit_the_instrument(tmp_path: Path, needed: int) -> None:
    text = edit(MOOD, ("direction:", f"scoring:\n  min_answered: {needed}\ndirection:"))
    path = tmp_path / "mood.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CurriculumError) as caught:
        load_instrument(path)
    (problem,) = caught.value.problems
    assert problem.path == "scoring.min_answered"
    assert problem.line == text.splitlines().index(f"  min_answered: {needed}") + 1


@pytest.mark.parametrize(("top", "allowed"), [(4, False), (5, True), (6, True)])
def test_a_scale_needs_five_points_so_rounding_can_hide_an_answer(
    tmp_path: Path, top: int, allowed: bool
) -> None:
    """Four points (1–4), five (1–5) and six (1–6): below five, no rounding of a small group's
    average keeps one person's answer from being worked out."""
    text = edit(
        MOOD, ("  max: 5\n", f"  max: {top}\n"), ("    5: Completely", f"    {top}: Completely")
    )
    path = tmp_path / "mood.yaml"
    path.write_text(text, encoding="utf-8")
    if allowed:
        assert load_instrument(path).scale.max == top
        return
    with pytest.raises(CurriculumError) as caught:
        load_instrument(path)
    assert any("at least 5 points" in p.message for p in caught.value.problems)
