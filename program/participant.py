"""The participant's pulse page in plain Python: what it shows, and what it keeps in memory.

The page itself is plain HTML served by the app's own route (pulse_page.py) from the templates in
templates/pulse/; everything it needs to decide lives here, away from the web framework:

- **Views**: an invitation as the page shows it (the session, the questions grouped by what they
  ask about, with their scale points and end labels), the receipt, and every sentence the page
  says, in the language the request chose (program/i18n.py). Sentences are written here whole,
  in English, with named placeholders, marked `N_` for the catalogs and translated as a view is
  built; the templates translate the fixed ones with `_()`.
- **Form tokens**: each question page carries a token for one use. A POST whose token was used
  already shows the receipt again and stores nothing, so a double tap or a resent form counts
  once. Tokens live in this process's memory only, a bounded number of them, until their pulse
  closes.
- **Wrong codes**: a client (the address a request came from) that sends several codes leading
  nowhere within a short time waits a little before the next one is even looked up. Counted in
  memory only, with the address held as a keyed hash; nothing about it is written anywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError

from program import pulse
from program.errors import PulseUnavailable
from program.i18n import N_, Language, Nn_
from program.models import Instrument, Item, Scale, Wording
from program.store import Store
from program.store.ballots import BUSY
from program.store.pulse import CLOSED, FULL

# --------------------------------------------------------------------------- what the page says

PAGE_TITLE = N_("Today's pulse")
ASK_FOR_CODE = N_("Type the code your facilitator shows on the screen, or the code on your card.")
CODE_LABEL = N_("Code")
CODE_EXAMPLE = N_("For example ABCD-EFGH")
CONTINUE = N_("Continue")
PAUSED_TITLE = N_("Please wait a moment")
PAUSED = N_(
    "Several codes in a row did not work. Please wait a couple of minutes, then try again. If"
    " your code still does not work, ask your facilitator."
)

SESSION_HEADING = N_("Session {number}: {title}")
QUESTIONS = Nn_(
    "One short question. You may skip it.", "{count} short questions. Skip any you like."
)
PROMISE = N_(
    "Your answers are anonymous: no name, device or time is kept. Staff see only the group's"
    " averages, and only if at least {k} people answered."
)
PROMISE_MORE = N_("What happens to my answers?")
PROMISE_POINTS = (
    N_("Staff see only the group's averages, never anyone's answers."),
    N_("Nothing is shown unless at least {k} people answer."),
    N_("Results appear only after the pulse closes."),
    N_(
        "Nothing about you is kept: no name, no device, no time. When the pulse closes, the answers"
        " are put in a random order, so they cannot be traced back to you."
    ),
    N_("Answering is voluntary. You may skip any question, or close this page."),
)
PHONE_NOTE = N_(
    "This phone keeps a note that it answered this pulse, so it is not asked twice. The note"
    " stays on the phone and is never sent to anyone."
)
ASKED_FROM = N_("The questions come from: {titles}.")
NOT_TRANSLATED = N_("These questions are in {language}: they have no checked translation yet.")
LANGUAGES = N_("Language")
PREFER_NOT_TO_SAY = N_("Prefer not to say")
SEND = N_("Send my answers")
NOT_A_CHOICE = N_("This answer was not one of the choices. Please choose again.")
SOME_NOT_A_CHOICE = N_("An answer was not one of the choices. Please choose again.")
GO_TO_QUESTION = N_("Go to question {number}")
EXPIRED = N_(
    "This page had expired, so your answers have not been sent yet. Please check them and press"
    " Send again."
)

THANK_YOU = N_("Thank you")
ANSWERS_IN = N_("Your answers are in.")
CARD_ANSWERS_IN = N_(
    "Your answers were sent. You can throw the card away now. (Each card counts once: if a card"
    " is used twice, its first answers are the ones kept.)"
)
RECEIPT_POINTS = (
    N_(
        "Answers are kept without a name, device or time, and put in a random order when the pulse"
        " closes."
    ),
    N_(
        "Staff will see only the group's averages, after the pulse closes, and only if at least {k}"
        " people answered."
    ),
    N_("Nobody, staff included, can find out which answers were yours."),
)
YOU_CAN_CLOSE = N_("You can close this page now.")
ANSWERED_BEFORE_TITLE = N_("Your answers are in")
ANSWERED_BEFORE = N_(
    "This phone has answered this pulse already. Please answer once only, so the group's"
    " averages are fair."
)
ANSWER_AGAIN = N_("Answer again on a shared phone")

FULL_TITLE = N_("All answers are in")
FULL_MESSAGE = FULL  # the store refuses an answer past the cap with it
CLOSED_TITLE = N_("This pulse has closed")
CLOSED_MESSAGE = CLOSED  # the store refuses an answer after close with it
SOMETHING_WENT_WRONG_TITLE = N_("Something went wrong")
SOMETHING_WENT_WRONG = N_(
    "Something went wrong on our side. Please try again in a moment. If it happens again, tell"
    " your facilitator."
)
# What the store or program.pulse may refuse an answer with, said to the participant as it is (in
# their language); any other refusal is said as SOMETHING_WENT_WRONG_SENDING.
REFUSALS = frozenset(
    {
        CLOSED,
        FULL,
        BUSY,
        pulse.NO_OPEN_PULSE,
        pulse.CARD_TYPO,
        pulse.CARDS_ONLY,
        pulse.NOT_TODAYS_QUESTIONS,
        pulse.NOT_A_CHOICE,
    }
)
SOMETHING_WENT_WRONG_SENDING = N_(
    "Something went wrong on our side, and your answers may not have been kept. Please go back"
    " and press Send again. If it happens again, tell your facilitator."
)


# --------------------------------------------------------------------------- the question page


class Layout(StrEnum):
    ROW = "row"  # numbers side by side, the end labels under the ends (0–10, 1–7)
    LIST = "list"  # every point a full-width button with its words (WHO-5: "At no time" …)


LIST_MAX_POINTS = 6  # a scale with words on every point and at most this many points is a list
ROW_MAX_POINTS = 11  # more points than this wrap freely into as many rows as they need


@dataclass(frozen=True)
class Choice:
    id: str  # the radio input's id
    value: str  # what the form sends
    text: str  # what the button shows
    spoken: str  # the scale's words for this point, for screen readers ("" when it has none)
    checked: bool


@dataclass(frozen=True)
class Question:
    number: int
    anchor: str  # the fieldset's id, a link target for the message at the top
    name: str  # the form field: program.pulse.answer_key
    text: str
    layout: Layout
    points: int
    choices: tuple[Choice, ...]
    skip: Choice  # "Prefer not to say"
    low: tuple[str, str]  # (point, words) under the left end of a row
    high: tuple[str, str]  # (point, words) under the right end
    problem: str | None
    autofocus: bool  # the first question with a problem takes the focus, so the page opens there
    go_to: str  # the link to it from the message at the top


@dataclass(frozen=True)
class Part:
    """Questions in a row that ask about the same time ("Today", "In the past seven days"): the
    recall period and instructions are said once for all of them. When their instrument has no
    translation into the page's language they are shown in its own, marked as such (`lang`,
    `direction`) with a note that says so."""

    recall: str
    instructions: str | None
    questions: tuple[Question, ...]
    lang: str | None = None  # set when the questions are not in the page's language
    direction: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Switch:
    """A plain link to the same page in another language."""

    code: str
    name: str
    href: str


@dataclass(frozen=True)
class Receipt:
    title: str
    message: str
    points: tuple[str, ...]
    remember: str | None  # the phone notes that it answered under this key (room code only)


@dataclass(frozen=True)
class QuestionPage:
    heading: str
    count_line: str
    promise: str
    promise_points: tuple[str, ...]
    parts: tuple[Part, ...]
    code: str
    token: str
    problem: str | None
    problem_questions: tuple[Question, ...]
    remember: str | None  # set when the page was reached with the room code
    answered_before: Receipt  # shown instead of the questions if the phone has answered
    switch: tuple[Switch, ...] = ()

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for part in self.parts for q in part.questions)

    @property
    def row_sizes(self) -> tuple[int, ...]:
        """The point counts of the rows on the page: the style sheet sets their columns."""
        return tuple(sorted({q.points for q in self.questions if q.layout == Layout.ROW}))


def layout_of(scale: Scale) -> Layout:
    points = scale.points
    if len(points) <= LIST_MAX_POINTS and all(p in scale.labels for p in points):
        return Layout.LIST
    return Layout.ROW


def _ordered_points(scale: Scale, layout: Layout) -> list[int]:
    # A list follows the order its instrument file gives the words in: the WHO-5 is published
    # from "All of the time" down to "At no time", and its wording must not be changed.
    if layout == Layout.LIST:
        return list(scale.labels)
    return scale.points


def remember_key(invitation: pulse.Invitation) -> str:
    """The name of the note a phone keeps after answering this pulse with the room code: a hash
    of the window, so the note names no session."""
    return "pulse-" + hashlib.sha256(invitation.window_key.encode()).hexdigest()[:20]


def wording_for(instrument: Instrument, lang: Language) -> Wording:
    """The instrument's words in the page's language, or in its own when it has no translation."""
    return instrument.wording(lang.code) or instrument.wording(None) or _never()


def _never() -> Wording:
    raise AssertionError("an instrument always has its own wording")


def _question(
    number: int,
    instrument: Instrument,
    item: Item,
    words: Wording,
    lang: Language,
    chosen: Mapping[str, str],
    problem: str | None,
    autofocus: bool,
) -> Question:
    scale = instrument.scale
    layout = layout_of(scale)
    name = pulse.answer_key(instrument, item)
    anchor = f"q{number}"
    picked = chosen.get(name)
    labels = words.labels
    choices = tuple(
        Choice(
            id=f"{anchor}-{point}",
            value=str(point),
            text=labels[point] if layout == Layout.LIST else str(point),
            spoken="" if layout == Layout.LIST else labels.get(point, ""),
            checked=picked == str(point),
        )
        for point in _ordered_points(scale, layout)
    )
    skip = Choice(
        id=f"{anchor}-skip",
        value=pulse.PREFER_NOT_TO_SAY,
        text=lang.gettext(PREFER_NOT_TO_SAY),
        spoken="",
        checked=picked == pulse.PREFER_NOT_TO_SAY,
    )
    return Question(
        number=number,
        anchor=anchor,
        name=name,
        text=words.items[item.id],
        layout=layout,
        points=len(scale.points),
        choices=choices,
        skip=skip,
        low=(str(scale.min), labels[scale.min]),
        high=(str(scale.max), labels[scale.max]),
        problem=problem,
        autofocus=autofocus,
        go_to=lang.gettext(GO_TO_QUESTION).format(number=number),
    )


def switch_links(
    lang: Language, offered: Mapping[str, Language], code: str = ""
) -> tuple[Switch, ...]:
    """Links to this page in each other language offered, each named in its own language."""
    query = {"code": pulse.normalize_code(code)} if pulse.normalize_code(code) else {}
    return tuple(
        Switch(other.code, other.name, "/pulse?" + urlencode({**query, "lang": other.code}))
        for other in offered.values()
        if other.code != lang.code
    )


def question_page(
    invitation: pulse.Invitation,
    code: str,
    token: str,
    lang: Language,
    chosen: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    problem: str | None = None,
    offered: Mapping[str, Language] | None = None,
) -> QuestionPage:
    """The questions of `invitation` in `lang`, with the answers `chosen` so far (form field ->
    value) checked again, and a message at each question in `problems` (form field -> message,
    already in `lang`) and at the top."""
    chosen = chosen or {}
    problems = problems or {}
    min_group_size = invitation.min_group_size
    parts: list[Part] = []
    current: Wording | None = None
    questions: list[Question] = []
    focused = False

    def close_part() -> None:
        assert current is not None
        foreign = current.language.split("-")[0] != lang.code.split("-")[0]
        parts.append(
            Part(
                current.recall,
                current.instructions,
                tuple(questions),
                lang=current.language if foreign else None,
                direction=_direction(current.language) if foreign else None,
                note=lang.gettext(NOT_TRANSLATED).format(language=lang.name_of(current.language))
                if foreign
                else None,
            )
        )

    for number, (instrument, item) in enumerate(invitation.items, start=1):
        words = wording_for(instrument, lang)
        said = (words.language, words.recall, words.instructions)
        if current is not None and said != (current.language, current.recall, current.instructions):
            close_part()
            questions = []
        current = words
        mine = problems.get(pulse.answer_key(instrument, item))
        questions.append(
            _question(
                number,
                instrument,
                item,
                words,
                lang,
                chosen,
                mine,
                mine is not None and not focused,
            )
        )
        focused = focused or mine is not None
    if questions and current is not None:
        close_part()
    count = len(invitation.items)
    room_code = invitation.card_hash is None
    points = [lang.gettext(p).format(k=min_group_size) for p in PROMISE_POINTS]
    if room_code:
        points.insert(-1, lang.gettext(PHONE_NOTE))
    titles = ", ".join(wording_for(i, lang).title for i in invitation.instruments)
    points.append(lang.gettext(ASKED_FROM).format(titles=titles))
    page_questions = tuple(q for part in parts for q in part.questions)
    if problems and problem is None:
        problem = lang.gettext(SOME_NOT_A_CHOICE)
    return QuestionPage(
        heading=lang.gettext(SESSION_HEADING).format(
            number=invitation.session_number, title=invitation.title_in(lang.code)
        ),
        count_line=lang.ngettext(QUESTIONS, count).format(count=count),
        promise=lang.gettext(PROMISE).format(k=min_group_size),
        promise_points=tuple(points),
        parts=tuple(parts),
        code=pulse.normalize_code(code),
        token=token,
        problem=problem,
        problem_questions=tuple(q for q in page_questions if q.problem),
        remember=remember_key(invitation) if room_code else None,
        answered_before=Receipt(
            lang.gettext(ANSWERED_BEFORE_TITLE),
            lang.gettext(ANSWERED_BEFORE),
            _receipt_points(min_group_size, lang),
            remember=None,
        ),
        switch=switch_links(lang, offered or {}, code),
    )


def _direction(language: str) -> str:
    try:
        return str(Locale.parse(language, sep="-").text_direction)
    except (ValueError, UnknownLocaleError):
        return "ltr"


def _receipt_points(min_group_size: int, lang: Language) -> tuple[str, ...]:
    # `{k}` in the messages is the minimum group size: the placeholder their translations use.
    return tuple(lang.gettext(p).format(k=min_group_size) for p in RECEIPT_POINTS)


def receipt(
    min_group_size: int, card: bool, lang: Language, remember: str | None = None
) -> Receipt:
    """The thank-you page: the promise as it now applies; a card answer learns that each card
    counts once (whether this card was used before is never told)."""
    return Receipt(
        lang.gettext(THANK_YOU),
        lang.gettext(CARD_ANSWERS_IN if card else ANSWERS_IN),
        _receipt_points(min_group_size, lang),
        remember=None if card else remember,
    )


def refusal(message: str) -> str:
    """What to tell a participant of a refusal from the store or program.pulse (to be translated
    where it is shown): the refusal itself when it is one of REFUSALS, else a plain apology."""
    return message if message in REFUSALS else SOMETHING_WENT_WRONG_SENDING


# --------------------------------------------------------------------------- reading the form

_WHOLE_NUMBER = re.compile(r"[0-9]{1,3}")  # ASCII digits only: int() would read "٣" too


@dataclass(frozen=True)
class Answers:
    """What a posted form answered, read for program.pulse.check_answers (which has the last
    word), plus what the page needs to show it again."""

    raw: dict[str, object]  # form field -> a scale point, PREFER_NOT_TO_SAY, or what was sent
    chosen: dict[str, str]  # form field -> value, for the answers that are choices
    problems: dict[str, str]  # form field -> message, for each answer that is not a choice


def read_answers(
    invitation: pulse.Invitation,
    fields: Sequence[tuple[str, str]],
    ignore: frozenset[str],
    lang: Language,
) -> Answers:
    """Read a posted form's answers. Fields named in `ignore` (the code and the token) are not
    answers; a field that is no question of this pulse is passed on as it is, so check_answers
    refuses the whole form with its message."""
    scales = {pulse.answer_key(i, item): i.scale for i, item in invitation.items}
    sent: dict[str, list[str]] = {}
    for name, value in fields:
        if name not in ignore:
            sent.setdefault(name, []).append(value)
    raw: dict[str, object] = {}
    chosen: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name, values in sent.items():
        scale = scales.get(name)
        if scale is None:
            raw[name] = values[0]
            continue
        one = values[0].strip() if len(values) == 1 else None
        if one == "":
            continue  # nothing chosen: skipped
        if one == pulse.PREFER_NOT_TO_SAY:
            raw[name] = one
            chosen[name] = one
        elif one is not None and _WHOLE_NUMBER.fullmatch(one) and int(one) in scale.points:
            raw[name] = int(one)
            chosen[name] = str(int(one))
        else:
            raw[name] = values[0] if len(values) == 1 else values
            problems[name] = lang.gettext(NOT_A_CHOICE)
    return Answers(raw, chosen, problems)


# --------------------------------------------------------------------------- form tokens

MAX_TOKENS = 20_000  # about 200 bytes each: a few MB at most, whatever anyone sends
TOKEN_WAIT_SECONDS = 15.0  # a second tap waits this long for the first (ballots wait 10 s)
FORGET_TOKENS_AFTER = dt.timedelta(hours=1)  # past its pulse's close, a token tells "closed"


class Claim(StrEnum):
    FRESH = "fresh"  # this request may store its answers, then must settle the token
    USED = "used"  # answers were stored with this token already: show the receipt
    UNKNOWN = "unknown"  # never issued here, forgotten, or issued for another code


@dataclass
class _Token:
    code: bytes  # keyed hash of the code the page was issued for
    min_group_size: int
    card: bool
    remember: str | None
    expires: dt.datetime
    used: bool = False
    busy: bool = False


@dataclass(frozen=True)
class Claimed:
    claim: Claim
    min_group_size: int = 0
    card: bool = False
    remember: str | None = None

    def receipt(self, lang: Language) -> Receipt:
        return receipt(self.min_group_size, self.card, lang, self.remember)


class FormTokens:
    """Single-use form tokens, bound to the code their page was issued for.

    A claimed token is busy until it is settled: a second request with it (a double tap) waits
    for the first and then shows the receipt if the first stored its answers, or tries again
    itself if the first did not (a busy moment), so a tap never counts twice and a failed send
    is never thanked. When the table is full the oldest tokens go first.
    """

    def __init__(self, limit: int = MAX_TOKENS) -> None:
        self._limit = limit
        self._key = secrets.token_bytes(32)
        self._tokens: OrderedDict[str, _Token] = OrderedDict()
        self._changed = threading.Condition()

    def _hash(self, code: str) -> bytes:
        return hashlib.blake2b(code.encode(), key=self._key, digest_size=16).digest()

    def issue(self, invitation: pulse.Invitation, code: str, at: dt.datetime) -> str:
        token = secrets.token_urlsafe(18)
        with self._changed:
            self._forget(at)
            self._tokens[token] = _Token(
                code=self._hash(pulse.normalize_code(code)),
                min_group_size=invitation.min_group_size,
                card=invitation.card_hash is not None,
                remember=remember_key(invitation),
                expires=invitation.closes_at,
            )
            while len(self._tokens) > self._limit:
                self._tokens.popitem(last=False)
        return token

    def claim(self, token: str, code: str, at: dt.datetime) -> Claimed:
        """Take a token for one send. Blocks while another send holds it (up to
        TOKEN_WAIT_SECONDS; run it off the event loop)."""
        digest = self._hash(pulse.normalize_code(code))
        with self._changed:
            entry = self._tokens.get(token)
            if entry is None or not secrets.compare_digest(entry.code, digest):
                return Claimed(Claim.UNKNOWN)
            self._changed.wait_for(lambda: not entry.busy, timeout=TOKEN_WAIT_SECONDS)
            if entry.used or entry.busy:
                return Claimed(Claim.USED, entry.min_group_size, entry.card, entry.remember)
            entry.busy = True
            return Claimed(Claim.FRESH, entry.min_group_size, entry.card, entry.remember)

    def settle(self, token: str, used: bool) -> None:
        """End a send: `used` if its answers were stored (or it had none to store), otherwise the
        token may be sent again."""
        with self._changed:
            entry = self._tokens.get(token)
            if entry is not None:
                entry.busy = False
                entry.used = entry.used or used
            self._changed.notify_all()

    def _forget(self, at: dt.datetime) -> None:
        expired = [
            t
            for t, e in self._tokens.items()
            if not e.busy and e.expires + FORGET_TOKENS_AFTER < at
        ]
        for token in expired:
            del self._tokens[token]

    def clear(self) -> None:
        with self._changed:
            self._tokens.clear()

    def __len__(self) -> int:
        return len(self._tokens)


# --------------------------------------------------------------------------- wrong codes

WRONG_CODE_LIMIT = 30  # a hall's phones share one address: their typing mistakes add up
WRONG_CODE_WITHIN = dt.timedelta(minutes=10)
WRONG_CODE_PAUSE = dt.timedelta(minutes=2)  # PAUSED says "a couple of minutes"
MAX_CLIENTS = 100_000


@dataclass
class _Client:
    wrong: list[dt.datetime] = field(default_factory=list)
    paused_until: dt.datetime | None = None


class WrongCodes:
    """How many codes leading nowhere a client sent lately, and whether it must wait.

    Only codes that led nowhere count, after they were looked up: a whole room loading the page
    at once from one hall's Wi-Fi (one address) must never be paused for being many. A burst of
    guesses sent at the same moment is therefore counted when it has been looked up, not before;
    that costs nothing in safety, since a room code is one of 31^8 and a card one of 31^9, and
    this pause only makes guessing slower still. The `limit`-th wrong code within `within`
    pauses the client for `pause`; after the pause it starts again from nothing.
    """

    def __init__(
        self,
        limit: int = WRONG_CODE_LIMIT,
        within: dt.timedelta = WRONG_CODE_WITHIN,
        pause: dt.timedelta = WRONG_CODE_PAUSE,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.limit = limit
        self.within = within
        self.pause = pause
        self._max_clients = max_clients
        self._key = secrets.token_bytes(32)
        self._clients: OrderedDict[bytes, _Client] = OrderedDict()
        self._lock = threading.Lock()

    def _hash(self, client: str) -> bytes:
        return hashlib.blake2b(
            client.encode("utf-8", "surrogatepass"), key=self._key, digest_size=16
        ).digest()

    def _current(self, key: bytes, at: dt.datetime) -> _Client | None:
        entry = self._clients.get(key)
        if entry is None:
            return None
        if entry.paused_until is not None and entry.paused_until <= at:
            entry.paused_until = None
            entry.wrong.clear()
        entry.wrong = [t for t in entry.wrong if at - t < self.within]
        return entry

    def paused(self, client: str, at: dt.datetime) -> bool:
        with self._lock:
            entry = self._current(self._hash(client), at)
            return entry is not None and entry.paused_until is not None

    def wrong(self, client: str, at: dt.datetime) -> bool:
        """Count one code that led nowhere; True if the client must now wait."""
        key = self._hash(client)
        with self._lock:
            entry = self._current(key, at)
            if entry is None:
                entry = self._clients[key] = _Client()
            entry.wrong.append(at)
            if len(entry.wrong) >= self.limit and entry.paused_until is None:
                entry.paused_until = at + self.pause
            self._clients.move_to_end(key)
            while len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)
            return entry.paused_until is not None

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()


# The process's own: what the page issued and counted since it started, forgotten on restart.
TOKENS = FormTokens()
WRONG_CODES = WrongCodes()


def forget() -> None:
    """Forget every token and every count (tests start from nothing)."""
    TOKENS.clear()
    WRONG_CODES.clear()


# --------------------------------------------------------------------------- reading a code


@dataclass(frozen=True)
class LookUp:
    """Where a code a participant sent leads: the invitation, or why not (`problem`, a sentence
    to translate), or nowhere at all for now because the client must wait (`paused`)."""

    invitation: pulse.Invitation | None = None
    problem: str | None = None
    paused: bool = False


def paused(client: str, at: dt.datetime) -> bool:
    """Whether the client must wait before its next code is even looked up."""
    return WRONG_CODES.paused(client, at)


def look_up(store: Store, client: str, code: str, at: dt.datetime) -> LookUp:
    """The open pulse a code leads to, for the question page. Only reads the database: a pulse
    whose time is up is refused here like a closed one (Invitation is built only for a window
    still open at `at`), and is closed by the next answer sent or staff page looked at.

    A code that leads nowhere counts against its client (WrongCodes); a typo the check letter
    caught, or a room code on a cards-only day, is no guess and does not count."""
    if WRONG_CODES.paused(client, at):
        return LookUp(paused=True)
    try:
        return LookUp(invitation=pulse.resolve_code(store, code, at))
    except PulseUnavailable as exc:
        if str(exc) == pulse.NO_OPEN_PULSE and WRONG_CODES.wrong(client, at):
            return LookUp(paused=True)
        return LookUp(problem=refusal(str(exc)))


def answering(store: Store, code: str, at: dt.datetime) -> pulse.Invitation:
    """The open pulse an answer sent with `code` goes to, or PulseUnavailable. Sending answers
    writes anyway, so this is where a pulse whose time is up gets closed for the participant's
    side: first every pulse due, then the code is read (an answer after close is refused)."""
    pulse.close_due(store, at)
    return pulse.resolve_code(store, code, at)


# --------------------------------------------------------------------------- for the facilitator


@dataclass(frozen=True)
class Offer:
    """A language a pulse can be answered in, and the instruments (titles) that have no
    translation into it, so they are asked in their own language."""

    language: Language
    untranslated: tuple[str, ...]


def offers(
    items: Sequence[tuple[Instrument, Item]], offered: Mapping[str, Language]
) -> tuple[Offer, ...]:
    """What the facilitator's Pulse tab says about languages: each language the page is offered
    in, with the instruments of this pulse that it cannot translate."""
    instruments: dict[str, Instrument] = {}
    for instrument, _ in items:
        instruments.setdefault(instrument.id, instrument)
    return tuple(
        Offer(
            language,
            tuple(i.title for i in instruments.values() if i.wording(language.code) is None),
        )
        for language in offered.values()
    )
