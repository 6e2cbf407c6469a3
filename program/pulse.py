"""The anonymous pulse: opening and closing a session's window, room codes, cards and answers.

What is stored for an answer is a random id, the session and the chosen scale points. No name,
device, address or time; the store rewrites a session's responses in random order at close.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import segno

from program import access
from program.errors import Conflict, InvalidInput, PulseUnavailable
from program.i18n import N_
from program.models import (
    Actor,
    Instrument,
    Item,
    PulseWindow,
    SessionStatus,
    StaffUser,
    score_answers,
)
from program.session_runner import check_holdable
from program.settings import Settings
from program.store import Store

# No 0/O, 1/I/L: codes are read off a projector and typed on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ROOM_CODE_LENGTH = 8  # 31^8 ≈ 8.5e11 codes: guessing an open one through the form is hopeless
CARD_CODE_LENGTH = 10
MAX_CARDS = 60


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _check_letter(body: str) -> str:
    """A check letter over `body` (weighted sum modulo 31, a prime): catches any one wrong
    letter and any swap of two neighbours."""
    total = sum((n + 1) * ALPHABET.index(ch) for n, ch in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_card_code() -> str:
    """A card code: random letters and a check letter, so a typo is caught on the spot, without
    asking the database (which would tell whether a code exists)."""
    body = new_code(CARD_CODE_LENGTH - 1)
    return body + _check_letter(body)


def card_code_well_formed(code: str) -> bool:
    return (
        len(code) == CARD_CODE_LENGTH
        and all(ch in ALPHABET for ch in code)
        and _check_letter(code[:-1]) == code[-1]
    )


def format_code(code: str) -> str:
    """ABCDEFGH -> ABCD-EFGH, easier to read aloud and type."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_code(text: str) -> str:
    """What a person typed, as a code: capitals, no spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())[:32]


def card_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


# ------------------------------------------------------------------ the address phones go to

# A host name, an IPv4 address or a bracketed IPv6 address, with an optional port: an address a
# browser reported is used only if it is one of these, so it is safe to show and to link to.
_HOST_PORT = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


def origin(url: str | None) -> str | None:
    """The scheme, host and port of an http(s) address (http://192.168.1.20:8501), or None if
    `url` is not one."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not _HOST_PORT.fullmatch(parts.netloc):
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def base_address(configured: str, *seen: str | None) -> str | None:
    """The app's address for join links and QR codes: the PROGRAM_BASE_URL setting when it is
    set, otherwise the first of `seen` (the addresses the facilitator's browser is using, best
    first) that is an http(s) address; None if there is neither."""
    if configured.strip():
        return configured.strip().rstrip("/")
    return next((found for url in seen if (found := origin(url)) is not None), None)


def pulse_address(base: str) -> str:
    """Where participants type a code: the pulse page, without any code."""
    return f"{base.rstrip('/')}/pulse"


def join_link(base: str, code: str, lang: str | None = None) -> str:
    """The pulse page with `code` filled in: what a room or card QR code holds. A card printed in
    a chosen language carries it (`lang`), so the phone opens in it; the room's link does not,
    and each phone follows its own language settings."""
    query = {"code": code, **({"lang": lang} if lang else {})}
    return f"{pulse_address(base)}?{urlencode(query)}"


def short_address(base: str) -> str:
    """The pulse page's address as a person types it: without "https://", which browsers add by
    themselves; an http:// address keeps its scheme, or a phone may try https and fail."""
    address = pulse_address(base)
    return address.removeprefix("https://") if address.startswith("https://") else address


def phones_cannot_reach(base: str) -> bool:
    """Whether `base` names this computer only (127.0.0.1, localhost, ::1, 0.0.0.0): a phone
    that opens it looks for the app on the phone itself."""
    host = (urlsplit(base).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def projector_key(secret: bytes, window: PulseWindow) -> str:
    """The key in a projector-view link: it opens the view of this one opening of this pulse
    without a sign-in cookie (single sign-on leaves none), and shows only what the room's screen
    shows anyway: the room code, its QR code and the address."""
    message = f"projector:{window.session_id}:{window.opened_at.isoformat()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def projector_key_matches(secret: bytes, window: PulseWindow, key: str) -> bool:
    return hmac.compare_digest(projector_key(secret, window), key)


def qr_png(link: str, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def qr_svg(link: str, scale: int = 3, *, scalable: bool = False) -> str:
    """An inline SVG QR code, `scale` pixels a module; `scalable`: no size of its own, so it fills
    whatever box the page's style gives it."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(
        buffer, kind="svg", scale=scale, border=1, xmldecl=False, omitsize=scalable
    )
    return buffer.getvalue().decode()


# --------------------------------------------------------------------------- facilitator side


@dataclass(frozen=True)
class PulseStatus:
    """What a facilitator may know about a session's pulse."""

    window: PulseWindow | None
    is_open: bool
    min_group_size: int
    enough: bool  # enough responses to report: yes or no, never a count
    full: bool  # the pulse has taken as many answers as people were present: yes or no
    has_questions: bool
    cards: int  # cards printed for the open pulse (never how many were used)

    @property
    def cards_only(self) -> bool:
        return self.window is not None and not self.window.takes_room_code


def close_due(store: Store, at: dt.datetime) -> list[int]:
    """Close every window past its closing time; return their sessions."""
    closed = []
    for session_id in store.windows_due(at):
        if store.close_pulse_window(Actor.system(), session_id, at):
            closed.append(session_id)
    return closed


def _min_group_size(store: Store, session_id: int) -> int:
    cohort = store.cohort(store.session(session_id).cohort_id)
    return store.program(cohort.program_id).min_group_size


def pulse_status(store: Store, viewer: StaffUser, session_id: int, at: dt.datetime) -> PulseStatus:
    record = store.session(session_id)
    cohort = access.require_facilitator(store, viewer, record.cohort_id)
    close_due(store, at)
    window = store.pulse_window(session_id)
    min_group_size = _min_group_size(store, session_id)
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    return PulseStatus(
        window=window,
        is_open=bool(window and window.is_open(at)),
        min_group_size=min_group_size,
        enough=store.has_responses(session_id, min_group_size),
        full=store.pulse_full(session_id),
        has_questions=bool(bundle.pulse_items(record.number)),
        cards=store.card_count(session_id) if window and window.is_open(at) else 0,
    )


def open_pulse(
    store: Store, settings: Settings, viewer: StaffUser, session_id: int, at: dt.datetime
) -> PulseWindow:
    """Open the session's pulse with a fresh room code; it closes by itself after a while."""
    record = store.session(session_id)
    cohort = access.require_facilitator(store, viewer, record.cohort_id)
    if record.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled; its pulse cannot open.")
    # The same rule as marking it held: results never exist for a session that cannot be held.
    check_holdable(record, at.date())
    bundle = store.curriculum_bundle(cohort.curriculum_version_id)
    if not bundle.pulse_items(record.number):
        raise InvalidInput("The curriculum asks no pulse questions at this session.")
    existing = store.pulse_window(session_id)
    if existing is not None:
        if existing.is_open(at):
            return existing
        raise Conflict("This session's pulse has closed. A pulse opens once per session.")
    closes = at + dt.timedelta(hours=settings.pulse_auto_close_hours)
    for _ in range(5):  # a clash of two random 8-letter codes is all but impossible; retry anyway
        code = new_code(ROOM_CODE_LENGTH)
        if store.pulse_window_by_code(code) is None:
            return store.open_pulse_window(Actor.of(viewer), session_id, code, at, closes)
    raise Conflict("Could not find a free room code. Please try again.")


def close_pulse(store: Store, viewer: StaffUser, session_id: int, at: dt.datetime) -> None:
    record = store.session(session_id)
    access.require_facilitator(store, viewer, record.cohort_id)
    window = store.pulse_window(session_id)
    if window is None:
        raise Conflict("This session's pulse was never opened.")
    if not store.close_pulse_window(Actor.of(viewer), session_id, at):
        raise Conflict("This session's pulse is closed already.")


def make_cards(
    store: Store, viewer: StaffUser, session_id: int, count: int, at: dt.datetime
) -> list[str]:
    """New single-use card codes for an open pulse. The codes are returned once, never stored.

    The first cards printed switch the room code off, so the cards are the only way in and each
    person answers once; `set_room_code` switches it back on if the room needs both.
    """
    status = pulse_status(store, viewer, session_id, at)
    if not status.is_open:
        raise Conflict("Open the pulse first; cards work only while it is open.")
    if not 1 <= count <= MAX_CARDS:
        raise InvalidInput(f"Ask for between 1 and {MAX_CARDS} cards.")
    codes = [new_card_code() for _ in range(count)]
    store.add_card_codes(Actor.of(viewer), session_id, [card_hash(c) for c in codes])
    if status.cards == 0 and not status.cards_only:
        store.set_room_code_use(Actor.of(viewer), session_id, False)
    return codes


def set_room_code(
    store: Store, viewer: StaffUser, session_id: int, on: bool, at: dt.datetime
) -> None:
    """Let the room code lead to the open pulse (on) or only the printed cards (off)."""
    status = pulse_status(store, viewer, session_id, at)
    if not status.is_open:
        raise Conflict("This pulse is not open.")
    if on != status.cards_only:
        return  # already so
    store.set_room_code_use(Actor.of(viewer), session_id, on)


def default_card_count(store: Store, viewer: StaffUser, session_id: int) -> int:
    """The roster size plus two spare cards."""
    record = store.session(session_id)
    access.require_facilitator(store, viewer, record.cohort_id)
    return store.enrolled_count(record.cohort_id) + 2


# --------------------------------------------------------------------------- participant side


@dataclass(frozen=True)
class Invitation:
    """An open pulse as a participant reaches it: what is asked, and the promise that goes with it."""

    session_id: int
    window_key: str  # tells this browser that it answered this window already
    session_number: int
    session_title: str  # in the curriculum's own language
    items: list[tuple[Instrument, Item]]
    min_group_size: int
    closes_at: dt.datetime
    card_hash: str | None
    session_translations: Mapping[str, str] = field(default_factory=dict)  # language -> title

    def title_in(self, language: str) -> str:
        """The session's title in `language` when the curriculum has it, else in its own."""
        for tag in (language, language.split("-")[0]):
            if tag in self.session_translations:
                return self.session_translations[tag]
        return self.session_title

    @property
    def instruments(self) -> list[Instrument]:
        seen: dict[str, Instrument] = {}
        for instrument, _ in self.items:
            seen.setdefault(instrument.id, instrument)
        return list(seen.values())


# Said to participants in their language: marked for the catalogs (program/i18n.py).
NO_OPEN_PULSE = N_(
    "That code does not lead to an open pulse. Check the code on the screen or your card,"
    " or ask your facilitator. Codes work only while the pulse is open."
)
CARD_TYPO = N_(
    "That card code has a typing mistake: check each letter against your card (there is no"
    " 0, O, 1, I or L in codes)."
)
CARDS_ONLY = N_(
    "Today this group answers with printed cards. Please type the code on your card, or ask"
    " your facilitator for one."
)
NOT_TODAYS_QUESTIONS = N_(
    "The answers do not match today's questions. Please reload the page and try again."
)
NOT_A_CHOICE = N_("An answer was not one of the choices. Please choose again.")


def resolve_code(store: Store, typed: str, at: dt.datetime) -> Invitation:
    """The open pulse a room code or card code leads to, or PulseUnavailable with a kind reason.

    A card that is unknown, belongs to a closed pulse, or was used already all lead to the same
    place: unknown and closed get the same message, and a used card is offered the questions like
    any other (its answer is then dropped without a word), so nothing here tells whether a given
    card has been used.

    It only reads: a pulse past its closing time is refused like a closed one (is_open compares
    with `at`) without closing it, so opening a link writes nothing. Answering closes it
    (participant.answering), as do the staff pages that show it (pulse_status, close_due).
    """
    code = normalize_code(typed)
    window: PulseWindow | None = None
    hashed: str | None = None
    if len(code) == ROOM_CODE_LENGTH:
        window = store.pulse_window_by_code(code)
        if window is not None and window.is_open(at) and not window.takes_room_code:
            raise PulseUnavailable(CARDS_ONLY)
    elif len(code) == CARD_CODE_LENGTH:
        if not card_code_well_formed(code):
            raise PulseUnavailable(CARD_TYPO)
        hashed = card_hash(code)
        window = store.pulse_window_by_card(hashed)
    if window is None or not window.is_open(at):
        raise PulseUnavailable(NO_OPEN_PULSE)
    context = store.invitation_context(window.session_id)
    if context is None:
        raise PulseUnavailable(NO_OPEN_PULSE)
    number = context.session_number
    bundle = store.bundle_by_hash(context.version_id, context.content_hash)
    session = bundle.curriculum.session(number)
    return Invitation(
        session_id=window.session_id,
        window_key=f"{window.session_id}:{window.opened_at.isoformat()}",
        session_number=number,
        session_title=session.title,
        session_translations={tag: t.title for tag, t in session.translations.items()},
        items=bundle.pulse_items(number),
        min_group_size=context.min_group_size,
        closes_at=window.closes_at,
        card_hash=hashed,
    )


def answer_key(instrument: Instrument, item: Item) -> str:
    return f"{instrument.id}/{item.id}"


PREFER_NOT_TO_SAY = "skip"  # what the page sends for "Prefer not to say": the same as no answer


def check_answers(invitation: Invitation, raw: Mapping[str, object]) -> dict[tuple[str, str], int]:
    """The answers given, each a whole number on its question's scale; every question may be
    skipped (left out, None, or "Prefer not to say"). Anything else refuses the whole response."""
    expected = {answer_key(i, item): (i, item) for i, item in invitation.items}
    unknown = set(raw) - set(expected)
    if unknown:
        raise InvalidInput(NOT_TODAYS_QUESTIONS)
    answers = {}
    for key, (instrument, item) in expected.items():
        value = raw.get(key)
        if value is None or value == PREFER_NOT_TO_SAY:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(NOT_A_CHOICE)
        if not instrument.scale.min <= value <= instrument.scale.max:
            raise InvalidInput(NOT_A_CHOICE)
        answers[(instrument.id, item.id)] = value
    return answers


def submit(
    store: Store,
    invitation: Invitation,
    raw: Mapping[str, object],
    at: dt.datetime,
    typed_in: bool = False,
) -> None:
    """Store one anonymous response, or refuse it whole with a message for the participant.

    An answer with a card that was used already is accepted here and dropped by the store: the
    reply is the same either way, and the receipt says each card counts once. A response with
    every question skipped stores nothing and takes no place under the cap (nor uses a card).
    """
    answers = check_answers(invitation, raw)
    if not answers:
        return
    response = score_answers(invitation.items, answers)
    store.submit_response(invitation.session_id, response, at, invitation.card_hash, typed_in)


def enter_paper_card(
    store: Store,
    viewer: StaffUser,
    session_id: int,
    card_code: str,
    raw: Mapping[str, object],
    at: dt.datetime,
) -> None:
    """Type in an anonymous paper card from the collection box: it redeems that card's code.

    Same checks and cap as a phone answer, and the same silence about used cards. No audit event
    and no mark on the response; the pulse counts how many answers were typed in and says so,
    without times, once it closes (in the cohort's record and the close's audit event).
    """
    record = store.session(session_id)
    access.require_facilitator(store, viewer, record.cohort_id)
    invitation = resolve_code(store, card_code, at)
    if invitation.session_id != session_id or invitation.card_hash is None:
        raise InvalidInput("That is not a card code of this session's pulse.")
    submit(store, invitation, raw, at, typed_in=True)
