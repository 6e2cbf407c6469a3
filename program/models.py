"""Pydantic models: the curriculum and instrument file format, and the records the store returns.

Everything read from a file forbids unknown fields, so a typo in a curriculum is an error, not a
silently ignored key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# A whole number written as a number: YAML's `true` or `1.0` are not accepted as 1.
Whole = Annotated[int, Strict()]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
# A language as a BCP 47 tag of a language and perhaps a region: "en", "es", "es-MX", "ar".
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2}|-[0-9]{3})?$")]
MAX_PULSE_ITEMS = 10
# The group mirror's sentence for an instrument that gives none of its own.
DEFAULT_MIRROR_SENTENCE = "On average, the group's answer was {words}."


class FileModel(BaseModel):
    """Base for anything a person writes in a file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- instruments


MIN_SCALE_STEPS = 4  # 0–4 or 1–5 at the least


class Scale(FileModel):
    """A response scale of whole-number points, with labels for at least both ends."""

    min: Whole = Field(ge=0, le=100, description="Lowest point on the scale.")
    max: Whole = Field(ge=1, le=100, description="Highest point on the scale.")
    labels: dict[int, Text] = Field(
        description="Words for points of the scale; both ends must be labelled."
    )

    @model_validator(mode="after")
    def _labels_cover_scale(self) -> Scale:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        if self.max - self.min < MIN_SCALE_STEPS:
            # A released average is rounded so that no single answer can be worked out from it
            # (program/privacy.py); on a scale of two to four points no rounding can do that.
            raise ValueError(
                f"a scale needs at least {MIN_SCALE_STEPS + 1} points so that the group's averages"
                f" cannot give one person's answer away; {self.min}–{self.max} has"
                f" {self.max - self.min + 1}"
            )
        outside = sorted(p for p in self.labels if not self.min <= p <= self.max)
        if outside:
            raise ValueError(
                f"labels for points {outside} lie outside the scale {self.min}–{self.max}"
            )
        missing = [p for p in (self.min, self.max) if p not in self.labels]
        if missing:
            raise ValueError(f"both ends of the scale need a label; missing {missing}")
        return self

    @property
    def points(self) -> list[int]:
        return list(range(self.min, self.max + 1))


class Item(FileModel):
    id: Slug
    text: Text
    reversed: bool = Field(False, description="Score as (min + max − answer) before summing.")


class Scoring(FileModel):
    method: Literal["sum", "mean"] = "sum"
    multiplier: float = Field(1.0, gt=0, description="Applied after summing, e.g. ×4 for WHO-5.")
    min_answered: int | None = Field(
        None,
        ge=1,
        description=(
            "Participants may skip any question. A response gets a score on this instrument only"
            " when at least this many of its items were answered; a sum is then prorated to all"
            " items (the mean of the answered items times their number). Leave it out when every"
            " item is needed, as for validated instruments such as the WHO-5."
        ),
    )


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    HIGHER_IS_WORSE = "higher_is_worse"


class Cutoff(FileModel):
    label: Text
    min: float | None = Field(None, description="Score at or above this value.")
    max: float | None = Field(None, description="Score at or below this value.")

    @model_validator(mode="after")
    def _has_bound(self) -> Cutoff:
        if self.min is None and self.max is None:
            raise ValueError("a cut-off needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class InstrumentTranslation(FileModel):
    """An instrument's words in another language. The scale points, and so the scores, are the
    instrument's own: only the words change. It must cover every item and every labelled point
    (curriculum.load_instrument checks that, naming what is missing)."""

    source: Text | None = Field(
        None,
        description=(
            "Who translated it and how it was checked; for a validated instrument, the official"
            " translation it is copied from. Required when the instrument is validated."
        ),
    )
    title: Text
    recall: Text
    instructions: Text | None = None
    scale: dict[int, Text] = Field(description="Words for the same points as the scale's labels.")
    items: dict[str, Text] = Field(description="Item id -> the item's text.")


@dataclass(frozen=True)
class Wording:
    """What a participant reads of an instrument in one language."""

    language: str
    title: str
    recall: str
    instructions: str | None
    labels: dict[int, str]  # in the file's order (the WHO-5 lists its words from the top)
    items: dict[str, str]  # item id -> text


class Instrument(FileModel):
    """One measure: a set of items on one scale, scored into one number per response.

    Item ids must differ; curriculum.load_instrument checks that, pointing at the repeated id."""

    id: Slug
    title: Text
    short_title: Text = Field(description="A few words for chart labels.")
    version: Text
    citation: Text
    licence: Text = Field(description="Who may use this wording, and on what terms.")
    language: LanguageTag = Field("en", description="The language the instrument is written in.")
    validated: bool = Field(
        False,
        description=(
            "A published, validated instrument: its wording must not change, and a translation"
            " must name the official translation it comes from."
        ),
    )
    recall: Text = Field(description="The time window the items ask about, shown to participants.")
    instructions: Text | None = None
    scale: Scale
    items: list[Item] = Field(min_length=1, max_length=MAX_PULSE_ITEMS)
    scoring: Scoring = Scoring()
    direction: Direction
    minimal_important_change: float = Field(gt=0)
    cutoffs: list[Cutoff] = []
    mirror_sentence: Text | None = Field(
        None,
        description=(
            "What the group mirror says of the group's average, with {words} where the scale's"
            " words for it go, e.g. \"On average, the group's stress this past week was"
            ' {words}." Without one the mirror says "On average, the group\'s answer was'
            ' {words}."'
        ),
        # Left out of the stored form when not given, so an instrument without one keeps the
        # content hash it had before the field existed.
        exclude_if=lambda value: value is None,
    )
    translations: dict[LanguageTag, InstrumentTranslation] = Field(
        {},
        description=(
            "The instrument's words in other languages, by language tag. Answers in every"
            " language are scored and pooled together."
        ),
    )

    def wording(self, language: str | None = None) -> Wording | None:
        """The instrument's words in `language` (its own language when None), or None when it has
        no translation into it. A tag with a region falls back to its language ("es-MX" → "es")."""
        if language is None or _same_language(language, self.language):
            return Wording(
                self.language,
                self.title,
                self.recall,
                self.instructions,
                dict(self.scale.labels),
                {item.id: item.text for item in self.items},
            )
        for tag in (language, language.split("-")[0]):
            translation = self.translations.get(tag)
            if translation is not None:
                return Wording(
                    tag,
                    translation.title,
                    translation.recall,
                    translation.instructions,
                    dict(translation.scale),
                    dict(translation.items),
                )
        return None

    @property
    def score_range(self) -> tuple[float, float]:
        """The lowest and highest possible score."""
        n = 1 if self.scoring.method == "mean" else len(self.items)
        m = self.scoring.multiplier
        return (self.scale.min * n * m, self.scale.max * n * m)

    def mirror_words(self, words: str) -> str:
        """The group mirror's sentence about an average, `words` being the scale's words for it."""
        return (self.mirror_sentence or DEFAULT_MIRROR_SENTENCE).replace("{words}", words)

    @property
    def needed(self) -> int:
        """How many of its items must be answered for a response to get a score."""
        return self.scoring.min_answered or len(self.items)

    def score(self, answers: dict[str, int]) -> float | None:
        """Score one response's answers to this instrument; None when too few were answered
        (skipped items are simply missing from `answers`)."""
        values = []
        for item in self.items:
            if item.id in answers:
                v = answers[item.id]
                values.append(self.scale.min + self.scale.max - v if item.reversed else v)
        if not values or len(values) < self.needed:
            return None
        total = float(sum(values))
        if self.scoring.method == "mean":
            total /= len(values)
        elif len(values) < len(self.items):
            total *= len(self.items) / len(values)  # prorated: the answered items' mean × all
        return total * self.scoring.multiplier


def _same_language(a: str, b: str) -> bool:
    return a.lower() == b.lower() or a.lower().split("-")[0] == b.lower()


# --------------------------------------------------------------------------- curricula


class ActivityKind(StrEnum):
    ARRIVAL = "arrival"
    TEACHING = "teaching"
    PRACTICE = "practice"
    DISCUSSION = "discussion"
    BREAK = "break"
    GROUNDING = "grounding"
    PULSE = "pulse"


class Activity(FileModel):
    """One timed step of a session's agenda."""

    title: Text
    kind: ActivityKind
    minutes: Whole = Field(gt=0, le=240)
    notes: Text = Field(description="Facilitator notes in Markdown.")
    prompts: list[Text] = []


class SessionTranslation(FileModel):
    """A session's words that participants see (its title heads the pulse page), in another
    language. The facilitator's guide stays in the curriculum's own language."""

    title: Text


class Session(FileModel):
    number: Whole = Field(
        ge=0, le=52, description="0 is an optional orientation; weeks count from 1."
    )
    title: Text
    translations: dict[LanguageTag, SessionTranslation] = Field(
        {}, description="The session's title in other languages, by language tag."
    )
    theme: Text
    intentions: list[Text] = Field(min_length=1)
    agenda: list[Activity] = Field(min_length=1)
    home_practice: Text = Field(description="Markdown.")
    safety_notes: Text = Field(description="Markdown.")

    @property
    def minutes(self) -> int:
        return sum(a.minutes for a in self.agenda)


PulseWhen = Literal["every", "first", "middle", "last"] | Annotated[Whole, Field(ge=1, le=52)]


class PulsePlan(FileModel):
    """Which instrument is asked at which weekly sessions (orientation is never surveyed)."""

    instrument: Slug
    at: list[PulseWhen] = Field(min_length=1)


class CompletionRule(FileModel):
    """A member completes the program by attending at least this many weekly sessions."""

    min_sessions_attended: Whole = Field(ge=1)


class Curriculum(FileModel):
    """A program's sessions and pulse plan. Checks across fields live in curriculum.check_curriculum,
    which can point at the exact entry that is wrong."""

    id: Slug
    title: Text
    version: Text
    summary: Text
    audience: Text
    session_minutes: Whole = Field(ge=15, le=480)
    sessions: list[Session] = Field(min_length=1)
    pulses: list[PulsePlan] = []
    completion: CompletionRule

    @property
    def weekly_numbers(self) -> list[int]:
        return [s.number for s in self.sessions if s.number >= 1]

    def session(self, number: int) -> Session:
        for s in self.sessions:
            if s.number == number:
                return s
        raise KeyError(number)

    def instruments_at(self, number: int) -> list[str]:
        """Ids of the instruments scheduled at a session, in file order."""
        weekly = self.weekly_numbers
        if number not in weekly:
            return []
        middle = weekly[(len(weekly) - 1) // 2]
        named = {"every": weekly, "first": [weekly[0]], "middle": [middle], "last": [weekly[-1]]}
        out = []
        for plan in self.pulses:
            sessions: set[int] = set()
            for when in plan.at:
                sessions.update(named[when] if isinstance(when, str) else [when])
            if number in sessions:
                out.append(plan.instrument)
        return out


class CurriculumBundle(BaseModel):
    """A curriculum with the exact instruments it schedules: what a cohort pins."""

    model_config = ConfigDict(frozen=True)

    curriculum: Curriculum
    instruments: dict[str, Instrument]

    def pulse_items(self, number: int) -> list[tuple[Instrument, Item]]:
        return [
            (self.instruments[i], item)
            for i in self.curriculum.instruments_at(number)
            for item in self.instruments[i].items
        ]


# --------------------------------------------------------------------------- store records


class Role(StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    FACILITATOR = "facilitator"


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class StaffUser(Record):
    id: int
    username: str
    display_name: str
    role: Role
    email: str | None
    active: bool


class CurriculumVersion(Record):
    id: int
    curriculum_id: str
    version: str
    title: str
    content_hash: str
    source_name: str
    loaded_at: dt.datetime


class Program(Record):
    id: int
    name: str
    description: str
    min_group_size: int


class CohortStatus(StrEnum):
    """Where a cohort is, worked out from its sessions (never stored): no session held yet,
    some held, or none left planned."""

    SCHEDULED = "scheduled"
    RUNNING = "running"
    FINISHED = "finished"


class Cohort(Record):
    id: int
    program_id: int
    curriculum_version_id: int
    name: str
    start_date: dt.date
    status: CohortStatus


class MemberStatus(StrEnum):
    """A roster member's standing: a withdrawn member keeps their past attendance."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class RosterMember(Record):
    id: int
    cohort_id: int
    display_name: str
    status: MemberStatus


class SessionStatus(StrEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class SessionRecord(Record):
    id: int
    cohort_id: int
    number: int
    scheduled_date: dt.date
    status: SessionStatus
    notes: str


class AuditEvent(Record):
    id: int
    occurred_at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: str


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events to show; None matches everything, dates are inclusive."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def describe(self) -> str:
        parts = [
            f"{name}={value}"
            for name, value in (
                ("actor", self.actor),
                ("action", self.action),
                ("object type", self.object_type),
                ("from", self.since),
                ("to", self.until),
            )
            if value is not None
        ]
        return ", ".join(parts) or "all events"


class Actor(Record):
    """Who is doing something, for the audit log: a staff member, the command line or the system."""

    user_id: int | None
    name: str

    @classmethod
    def of(cls, user: StaffUser) -> Actor:
        return cls(user_id=user.id, name=user.username)

    @classmethod
    def command_line(cls) -> Actor:
        return cls(user_id=None, name="command line")

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, name="system")


class Mark(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    EXCUSED = "excused"


class AttendanceMark(Record):
    status: Mark
    late: bool = False


class SessionReport(Record):
    """What a facilitator records for a session: attendance, the fidelity checklist, notes."""

    attendance: dict[int, AttendanceMark]
    delivered: frozenset[int]
    agenda_length: int = Field(ge=0)
    notes: str = Field("", max_length=4000)
    held: bool

    @property
    def present(self) -> int:
        return sum(m.status == Mark.PRESENT for m in self.attendance.values())


class PulseWindow(Record):
    session_id: int
    room_code: str | None
    opened_at: dt.datetime
    closes_at: dt.datetime
    closed_at: dt.datetime | None
    cap: int | None = None  # answers it may take, frozen when it opened
    takes_room_code: bool = True  # False: cards only, the room code leads nowhere
    typed_in: int | None = None  # answers typed in from paper cards, known once it closed

    def is_open(self, at: dt.datetime) -> bool:
        return self.closed_at is None and at < self.closes_at


class ScoredResponse(Record):
    """One participant's answers, keyed by (instrument id, item id), and each instrument's score."""

    answers: dict[tuple[str, str], int]
    scores: dict[str, float]


def score_answers(
    items: list[tuple[Instrument, Item]], answers: dict[tuple[str, str], int]
) -> ScoredResponse:
    """Score the answers given to a pulse's items, instrument by instrument. Skipped items are
    missing from `answers`; an instrument with too few of its items answered gets no score."""
    by_instrument: dict[str, Instrument] = {}
    for instrument, _ in items:
        by_instrument.setdefault(instrument.id, instrument)
    scores = {}
    for iid, instrument in by_instrument.items():
        score = instrument.score({item: v for (i, item), v in answers.items() if i == iid})
        if score is not None:
            scores[iid] = score
    return ScoredResponse(answers=answers, scores=scores)
