"""The projector view of a session's pulse: what the room's screen may show, and to whom.

Two ways in: one of the cohort's facilitators signed in (access.require_facilitator, through
pulse.pulse_status), or the key the Pulse tab put in the link for this opening of the pulse
(pulse.projector_key), since staff signed in with their organisation have no cookie of ours. The
screen shows only what the room sees anyway: the room code, its QR code and the address, or that
the pulse is not open, is cards only or has closed. No names, no counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from program import pulse
from program.errors import ProgramError
from program.models import PulseWindow, StaffUser
from program.store import Store


@dataclass(frozen=True)
class ProjectorView:
    """What the screen shows; `code` and `link` only while the room code is in use."""

    state: str  # "open", "cards", "closed", "not-open", "no-questions", "guest", "refused"
    address: str = ""
    link: str = ""
    code: str = ""


GUEST = ProjectorView("guest")
REFUSED = ProjectorView("refused")


def by_key(
    store: Store, secret: bytes, session_id: int, key: str, base: str, at: dt.datetime
) -> ProjectorView:
    """The screen for a link carrying the Pulse tab's key; refused unless the key was made for
    this session's pulse as it is open now."""
    # The projector is a staff screen: a pulse whose time is up closes here, as on the Pulse tab.
    pulse.close_due(store, at)
    window = store.pulse_window(session_id)
    if window is None or not pulse.projector_key_matches(secret, window, key):
        return REFUSED
    return _window_view(window, window.is_open(at), base)


def for_staff(
    store: Store, viewer: StaffUser, session_id: int, base: str, at: dt.datetime
) -> ProjectorView:
    """The screen for a signed-in member of staff: only a facilitator of the session's cohort.
    An unknown session reads like someone else's."""
    try:
        # Checks the viewer facilitates the session's cohort and closes the pulse if its time is up.
        status = pulse.pulse_status(store, viewer, session_id, at)
    except ProgramError:
        return REFUSED
    if not status.has_questions:
        return ProjectorView("no-questions")
    if status.window is None:
        return ProjectorView("not-open")
    return _window_view(status.window, status.is_open, base)


def _window_view(window: PulseWindow, is_open: bool, base: str) -> ProjectorView:
    if not is_open:
        return ProjectorView("closed")
    if not window.takes_room_code:
        return ProjectorView("cards", address=pulse.short_address(base))
    code = window.room_code or ""
    return ProjectorView(
        "open",
        address=pulse.short_address(base),
        link=pulse.join_link(base, code),
        code=pulse.format_code(code),
    )
