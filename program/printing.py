"""Printed pages: a session guide and the sheet of pulse cards, as print-ready HTML and as PDF.

The same HTML serves both: a browser prints it from its own dialog (the page opens it by itself),
and WeasyPrint turns it into a PDF for download. WeasyPrint was chosen over printing with a
headless Chromium because it is a Python library the app can call from any request, with no
browser to install or keep running on the server; it needs the Pango text library, which Debian
and most Linux systems have (README, "Dependencies"). Without it, the PDF buttons say so and the
print pages still work.

Curriculum text is Markdown: it goes through markup.guide_markdown (no image, no link) and is
rendered by markdown-it with raw HTML switched off, so nothing in a curriculum can add markup.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from program.errors import PdfUnavailable
from program.guides import pulse_lines, session_label, timed_agenda
from program.markup import guide_markdown
from program.models import CurriculumBundle

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# CommonMark with tables; raw HTML in the text is shown as text, never as markup.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")

SAFETY_TITLE = "Safety first: read before the session"
PRINT_TIP = "Choose A4 and no headers or footers in the print dialog."


def render(template: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(**context)


def markdown(text: str) -> Markup:
    """Curriculum Markdown as HTML: formatting kept, images and links made plain text."""
    return Markup(_MARKDOWN.render(guide_markdown(text.strip())))  # noqa: S704 (escaped above)


def inline(text: str) -> Markup:
    """One line of curriculum Markdown (a title, a prompt) as HTML without a paragraph around it."""
    return Markup(_MARKDOWN.renderInline(guide_markdown(" ".join(text.split()))))  # noqa: S704


def guide_page(
    bundle: CurriculumBundle, number: int, context: str, toolbar: str | None = None
) -> str:
    """One session's guide, print-ready: the safety and crisis steps first, then the intentions
    and the agenda at a glance on the first page; the agenda in detail and the home practice
    each from a new page. `context` is the small line above the title (curriculum, cohort, date);
    `toolbar` shows a Print button on screen with that text beside it."""
    c = bundle.curriculum
    session = c.session(number)
    agenda = [
        {
            "span": t.span,
            "title": inline(t.activity.title),
            "minutes": t.activity.minutes,
            "kind": t.activity.kind.value,
            "notes": markdown(t.activity.notes),
            "prompts": [inline(p) for p in t.activity.prompts],
        }
        for t in timed_agenda(session)
    ]
    heading = session_label(session)
    return render(
        "print/guide.html",
        lang="en",
        direction="ltr",
        title=heading,
        toolbar=toolbar,
        footer="Orientation" if number == 0 else f"Session {number}",
        context=context,
        heading=inline(heading),
        safety_title=SAFETY_TITLE,
        safety=markdown(session.safety_notes),
        theme=inline(session.theme),
        intentions=[inline(i) for i in session.intentions],
        agenda=agenda,
        minutes=session.minutes,
        pulse=markdown(pulse_lines(bundle, number)),
        home_practice=markdown(session.home_practice),
    )


@functools.cache
def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise PdfUnavailable(
            "Making a PDF needs the Pango text library on the server (on Debian or Ubuntu:"
            " apt install libpango-1.0-0 libpangoft2-1.0-0). Use the Print button and choose"
            ' "Save as PDF" in the print dialog instead.'
        ) from exc
    return weasyprint


def pdf(html: str) -> bytes:
    """The page as a PDF, laid out by the same print rules the browser uses."""
    document: bytes = _weasyprint().HTML(string=html).write_pdf()
    return document


def pdf_pages(html: str) -> int:
    """How many pages the PDF of `html` has (for the page and for tests)."""
    return len(_weasyprint().HTML(string=html).render().pages)


# --------------------------------------------------------------------------- links to printed pages


def guide_key(secret: bytes, version_id: int, number: int, cohort_id: int | None) -> str:
    """The key in a link to a printed guide: the link opens that one guide without a sign-in
    cookie (staff signed in with their organisation have none), and shows only curriculum text
    (and, for a cohort, its name and the session's date)."""
    message = f"guide:{version_id}:{number}:{cohort_id or ''}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def guide_link(
    secret: bytes, version_id: int, number: int, cohort_id: int | None = None, pdf: bool = False
) -> str:
    query = {
        "version": version_id,
        "session": number,
        **({"cohort": cohort_id} if cohort_id else {}),
        "key": guide_key(secret, version_id, number, cohort_id),
        **({"format": "pdf"} if pdf else {}),
    }
    return f"/print/guide?{urlencode(query)}"


SHEET_HOURS = 12  # a card sheet can be printed again for this long after it was made
MAX_SHEETS = 200


class SheetShelf:
    """Card sheets waiting to be printed, in this process's memory only, each under a random
    token that only the facilitator who made it holds. The app keeps no card codes anywhere
    else: a sheet is forgotten after SHEET_HOURS, when the shelf is full (oldest first), or when
    the server restarts."""

    def __init__(self, hours: int = SHEET_HOURS, limit: int = MAX_SHEETS) -> None:
        self._life = dt.timedelta(hours=hours)
        self._limit = limit
        self._sheets: OrderedDict[str, tuple[dt.datetime, str]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, html: str, at: dt.datetime) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._sheets[token] = (at + self._life, html)
            while len(self._sheets) > self._limit:
                self._sheets.popitem(last=False)
        return token

    def get(self, token: str, at: dt.datetime) -> str | None:
        with self._lock:
            for old in [t for t, (until, _) in self._sheets.items() if until < at]:
                del self._sheets[old]
            found = self._sheets.get(token)
        return found[1] if found else None


SHEETS = SheetShelf()


def cards_link(token: str, pdf: bool = False) -> str:
    return f"/print/cards?{urlencode({'token': token, **({'format': 'pdf'} if pdf else {})})}"


def report_link(token: str, pdf: bool = False) -> str:
    return f"/print/report?{urlencode({'token': token, **({'format': 'pdf'} if pdf else {})})}"
