"""Session guides: a curriculum session laid out for a facilitator, as data and as Markdown.

Pure functions of a CurriculumBundle. The page draws the same pieces with Streamlit elements, and
offers the Markdown here as a download that reads and prints well on its own. Curriculum text keeps
its formatting but goes through markup.guide_markdown first (here, and on the pages that draw it),
so a guide never shows an image or a link to anywhere, on screen or in a downloaded file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from program.markup import guide_markdown
from program.models import Activity, CurriculumBundle, Instrument, Session


@dataclass(frozen=True)
class TimedActivity:
    """An agenda activity with its start and end, in minutes from the start of the session."""

    activity: Activity
    start: int
    end: int

    @property
    def span(self) -> str:
        """'0:15–0:35'."""
        return f"{clock(self.start)}–{clock(self.end)}"


@dataclass(frozen=True)
class PulseAsked:
    """One instrument asked at a session, with how many of its questions."""

    instrument: Instrument
    items: int


@dataclass(frozen=True)
class PlannedPulse:
    """One instrument of the pulse plan and the weekly sessions it is asked at."""

    instrument: Instrument
    sessions: list[int]


def clock(minutes: int) -> str:
    """Minutes from the start as hours:minutes: 75 -> '1:15'."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def timed_agenda(session: Session) -> list[TimedActivity]:
    """The agenda with a running clock: each activity starts when the one before it ends."""
    out = []
    start = 0
    for activity in session.agenda:
        out.append(TimedActivity(activity, start, start + activity.minutes))
        start += activity.minutes
    return out


def session_label(session: Session) -> str:
    """'Session 2 · Title', or just the title when it already says 'Orientation…'."""
    prefix = "Orientation" if session.number == 0 else f"Session {session.number}"
    if session.title.lower().startswith(prefix.lower()):
        return session.title
    return f"{prefix} · {session.title}"


def pulse_at(bundle: CurriculumBundle, number: int) -> list[PulseAsked]:
    """The instruments asked at a session, in pulse-plan order, with their item counts."""
    counts: dict[str, int] = {}
    instruments: dict[str, Instrument] = {}
    for instrument, _item in bundle.pulse_items(number):
        counts[instrument.id] = counts.get(instrument.id, 0) + 1
        instruments[instrument.id] = instrument
    return [PulseAsked(instruments[i], n) for i, n in counts.items()]


def pulse_plan(bundle: CurriculumBundle) -> list[PlannedPulse]:
    """Every scheduled instrument with the weekly sessions it is asked at."""
    c = bundle.curriculum
    return [
        PlannedPulse(
            bundle.instruments[plan.instrument],
            [n for n in c.weekly_numbers if plan.instrument in c.instruments_at(n)],
        )
        for plan in c.pulses
    ]


def completion_rule(bundle: CurriculumBundle) -> str:
    """'Attend at least 4 of the 6 weekly sessions.'"""
    c = bundle.curriculum
    return (
        f"Attend at least {c.completion.min_sessions_attended} of the"
        f" {len(c.weekly_numbers)} weekly sessions."
    )


def questions(n: int) -> str:
    return f"{n} question{'' if n == 1 else 's'}"


def sessions_list(numbers: list[int]) -> str:
    """[1, 3, 6] -> 'sessions 1, 3 and 6'."""
    if len(numbers) == 1:
        return f"session {numbers[0]}"
    head = ", ".join(str(n) for n in numbers[:-1])
    return f"sessions {head} and {numbers[-1]}"


# --------------------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(guide_markdown(text).split()).replace("|", "\\|")


def agenda_table(session: Session) -> str:
    """The agenda as a Markdown table with the running clock and a total."""
    rows = [
        "| Time | Activity | Kind | Minutes |",
        "|---|---|---|--:|",
    ]
    for t in timed_agenda(session):
        a = t.activity
        rows.append(f"| {t.span} | {_cell(a.title)} | {a.kind.value} | {a.minutes} |")
    rows.append(f"| | **Total** | | **{session.minutes}** |")
    return "\n".join(rows)


def pulse_lines(bundle: CurriculumBundle, number: int) -> str:
    """What the pulse asks at this session, as Markdown list lines (or a sentence when nothing)."""
    asked = pulse_at(bundle, number)
    if not asked:
        if number == 0:
            return "No pulse: the orientation session is never surveyed."
        return "No pulse is scheduled at this session."
    total = sum(p.items for p in asked)
    lines = [f"{questions(total)} in all:", ""]
    lines += [f"- {guide_markdown(p.instrument.title)}: {questions(p.items)}" for p in asked]
    return "\n".join(lines)


def session_markdown(bundle: CurriculumBundle, number: int, level: int = 1) -> str:
    """A printable guide to one session; `level` is the Markdown heading level of its title."""
    c = bundle.curriculum
    session = c.session(number)
    h = "#" * level
    md = guide_markdown
    parts = [
        f"{h} {md(session_label(session))}",
        f"*{md(c.title)}*, version {md(c.version)} · {session.minutes} of {c.session_minutes}"
        " minutes planned",
        f"**Theme:** {md(session.theme.strip())}",
        f"{h}# Intentions",
        "\n".join(f"- {md(i)}" for i in session.intentions),
        f"{h}# Agenda",
        agenda_table(session),
    ]
    for t in timed_agenda(session):
        a = t.activity
        parts.append(f"{h}## {t.span} · {md(a.title)} ({a.minutes} min, {a.kind.value})")
        parts.append(md(a.notes.strip()))
        if a.prompts:
            parts.append("**Prompts**\n\n" + "\n".join(f"- {md(p)}" for p in a.prompts))
    parts += [
        f"{h}# Home practice",
        md(session.home_practice.strip()),
        f"{h}# Safety notes",
        md(session.safety_notes.strip()),
        f"{h}# Pulse at this session",
        pulse_lines(bundle, number),
    ]
    return "\n\n".join(parts) + "\n"


def curriculum_markdown(bundle: CurriculumBundle) -> str:
    """The whole curriculum: overview, pulse plan, every session guide and the instruments."""
    c = bundle.curriculum
    parts = [
        f"# {guide_markdown(c.title)}",
        f"Curriculum `{c.id}`, version {guide_markdown(c.version)} · {len(c.sessions)} sessions"
        f" of up to {c.session_minutes} minutes",
        "## Summary",
        guide_markdown(c.summary.strip()),
        "## Audience",
        guide_markdown(c.audience.strip()),
        "## Completion",
        completion_rule(bundle),
        "## Pulse plan",
    ]
    plan = pulse_plan(bundle)
    if plan:
        rows = ["| Instrument | Questions | Asked at |", "|---|--:|---|"]
        rows += [
            f"| {_cell(p.instrument.title)} | {len(p.instrument.items)} |"
            f" {sessions_list(p.sessions)} |"
            for p in plan
        ]
        parts.append("\n".join(rows))
    else:
        parts.append("No pulse is scheduled.")
    overview = ["| Session | Title | Minutes |", "|--:|---|--:|"]
    overview += [f"| {s.number} | {_cell(s.title)} | {s.minutes} |" for s in c.sessions]
    parts += ["## Sessions", "\n".join(overview)]
    parts += [session_markdown(bundle, s.number, level=2).rstrip("\n") for s in c.sessions]
    if bundle.instruments:
        parts.append("## Instruments")
        for p in plan:
            parts.append(_instrument_markdown(p.instrument))
    return "\n\n".join(parts) + "\n"


def _instrument_markdown(instrument: Instrument) -> str:
    scale = instrument.scale
    md = guide_markdown
    labels = " · ".join(f"{point} = {md(label)}" for point, label in sorted(scale.labels.items()))
    lines = [
        f"### {md(instrument.title)} (version {md(instrument.version)})",
        "",
        f"*{md(instrument.recall)}*, answered on a scale from {scale.min} to {scale.max}"
        f" ({labels}).",
        "",
    ]
    lines += [f"{n}. {md(item.text)}" for n, item in enumerate(instrument.items, start=1)]
    lines += [
        "",
        f"Source: {md(instrument.citation.strip())}",
        "",
        f"Licence: {md(instrument.licence)}",
    ]
    return "\n".join(lines)


def markdown_filename(bundle: CurriculumBundle, number: int | None = None) -> str:
    """A safe download name: 'collective-healing-1.0-session-2.md' or 'collective-healing-1.0.md'."""
    c = bundle.curriculum
    version = re.sub(r"[^A-Za-z0-9._-]+", "-", c.version).strip("-.") or "version"
    stem = f"{c.id}-{version}" + ("" if number is None else f"-session-{number}")
    return f"{stem}.md"
