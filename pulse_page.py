"""The participant's pulse at /pulse: plain HTML pages from the app's own route, no Streamlit.

A phone gets one small page (its style inline, no web font, no image, a few lines of script that
only improve it) and answers with a plain form POST back to /pulse, so it works with scripts off
and on a slow connection. The Streamlit page it replaces took megabytes and a websocket.

    GET  /pulse              the code form
    GET  /pulse?code=…       the questions (the link in a QR code or on a card), or why not
    POST /pulse              the answers, with the code and the page's single-use token

What to show is decided in program/participant.py and program/pulse.py; this module reads the
request, chooses its language (program/i18n.py: the link's `lang`, else Accept-Language; the
forms carry it along), runs the store's blocking calls in a worker thread, and renders
templates/pulse/. Showing a page only reads the database: a pulse whose time is up is closed by
an answer sent (or a staff page), never by someone opening a link. It
keeps nothing about a request: no log line, no cookie (Streamlit's session cookie is set only for
its own pages), and its in-memory counts hold client addresses as keyed hashes only. The security
headers (headers.py) are added by the app's middleware like on every response.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import ui
from program import i18n, participant, pulse
from program.errors import InvalidInput, ProgramError, PulseFull, PulseUnavailable
from program.i18n import Language
from program.participant import Claim

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,  # every curriculum word and every message is text, never markup
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
NO_STORE = {"Cache-Control": "no-store"}
FORM_FIELDS = frozenset({"code", "token", "lang"})
MAX_FIELDS = 64  # a pulse asks at most ten questions; anything beyond this is not our form
MAX_FIELD_BYTES = 4096

log = logging.getLogger(__name__)


def offered() -> dict[str, Language]:
    return i18n.languages(pseudo=ui.settings().pseudo_languages)


def language_of(request: Request, asked: str | None = None) -> Language:
    """The language a request is answered in; `asked` is the form's `lang` on a POST."""
    if asked is None:
        asked = request.query_params.get("lang")
    return i18n.choose(asked, request.headers.get("accept-language"), offered())


def render(template: str, lang: Language, status: int = 200, **context: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(
        text=participant, lang=lang, _=lang.gettext, **context
    )
    headers = dict(NO_STORE)
    # The page's words depend on the browser's languages: a shared cache must keep them apart.
    headers["Vary"] = "Accept-Language"
    headers["Content-Language"] = lang.code
    if status == 429:
        headers["Retry-After"] = str(int(participant.WRONG_CODES.pause.total_seconds()))
    return HTMLResponse(html, status_code=status, headers=headers)


def code_form(lang: Language, problem: str | None = None) -> HTMLResponse:
    return render(
        "pulse/code.html",
        lang,
        problem=problem and lang.gettext(problem),
        switch=participant.switch_links(lang, offered()),
    )


def paused(lang: Language) -> HTMLResponse:
    return notice(lang, participant.PAUSED_TITLE, participant.PAUSED, status=429)


def notice(lang: Language, title: str, message: str, status: int = 200) -> HTMLResponse:
    """A page of one message; `title` and `message` are translated here."""
    return render(
        "pulse/notice.html",
        lang,
        status,
        title=lang.gettext(title),
        message=lang.gettext(message),
    )


def thanks(lang: Language, receipt: participant.Receipt) -> HTMLResponse:
    return render("pulse/thanks.html", lang, receipt=receipt)


def questions(lang: Language, page: participant.QuestionPage) -> HTMLResponse:
    return render("pulse/questions.html", lang, view=page)


def client_of(request: Request) -> str:
    # Kept only in memory, as a keyed hash, to pace wrong codes from this address.
    return request.client.host if request.client else "unknown"


async def look_up(
    request: Request, code: str, at: dt.datetime, lang: Language
) -> pulse.Invitation | HTMLResponse:
    """The invitation a code leads to, or the page that says why not (program.participant
    decides, and counts codes that lead nowhere against their client). Only reads."""
    found = await run_in_threadpool(participant.look_up, ui.store(), client_of(request), code, at)
    if found.paused:
        return paused(lang)
    if found.invitation is None:
        return code_form(lang, found.problem)
    return found.invitation


def question_page(
    lang: Language,
    invitation: pulse.Invitation,
    code: str,
    token: str,
    answers: participant.Answers | None = None,
    problem: str | None = None,
    problems: dict[str, str] | None = None,
) -> HTMLResponse:
    return questions(
        lang,
        participant.question_page(
            invitation,
            code,
            token,
            lang,
            chosen=answers.chosen if answers else None,
            problems=problems or (answers.problems if answers else None),
            problem=problem,
            offered=offered(),
        ),
    )


async def show(request: Request) -> Response:
    at = dt.datetime.now()
    lang = language_of(request)
    code = request.query_params.get("code", "")
    if not pulse.normalize_code(code):
        if participant.paused(client_of(request), at):
            return paused(lang)
        return code_form(lang)
    found = await look_up(request, code, at, lang)
    if isinstance(found, Response):
        return found
    token = participant.TOKENS.issue(found, code, at)
    return question_page(lang, found, code, token)


async def answer(request: Request) -> Response:
    at = dt.datetime.now()
    form = await request.form(max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    code = str(form.get("code") or "")
    token = str(form.get("token") or "")
    lang = language_of(request, str(form.get("lang") or ""))
    claimed = await run_in_threadpool(participant.TOKENS.claim, token, code, at)
    if claimed.claim == Claim.USED:
        # A double tap, or the form sent again (a reload, the back button): counted once.
        return thanks(lang, claimed.receipt(lang))
    if claimed.claim == Claim.UNKNOWN:
        return await expired(request, code, fields, at, lang)
    stored = False
    try:
        response, stored = await send(code, token, fields, at, lang)
        return response
    finally:
        participant.TOKENS.settle(token, used=stored)


async def expired(
    request: Request, code: str, fields: list[tuple[str, str]], at: dt.datetime, lang: Language
) -> Response:
    """A form whose token this process never issued (the server restarted since the page was
    drawn, or the form was not ours): nothing is stored; the questions come back with the answers
    kept and a fresh token, to be sent again. Its code is looked up like a typed one."""
    if not pulse.normalize_code(code):
        return code_form(lang)
    found = await look_up(request, code, at, lang)
    if isinstance(found, Response):
        return found
    answers = participant.read_answers(found, fields, FORM_FIELDS, lang)
    token = participant.TOKENS.issue(found, code, at)
    return question_page(lang, found, code, token, answers, lang.gettext(participant.EXPIRED))


async def send(
    code: str, token: str, fields: list[tuple[str, str]], at: dt.datetime, lang: Language
) -> tuple[Response, bool]:
    """Store the answers of a claimed token; the page to show, and whether the token is used."""
    store = ui.store()
    try:
        invitation = await run_in_threadpool(participant.answering, store, code, at)
    except PulseUnavailable as exc:
        if str(exc) == pulse.CARDS_ONLY:
            return code_form(lang, str(exc)), False
        # The code led to an open pulse when this page was drawn: it has closed since.
        return notice(lang, participant.CLOSED_TITLE, participant.CLOSED_MESSAGE), False
    answers = participant.read_answers(invitation, fields, FORM_FIELDS, lang)

    def again(problem: str) -> Response:
        return question_page(lang, invitation, code, token, answers, problem)

    if answers.problems:
        return again(lang.gettext(participant.SOME_NOT_A_CHOICE)), False
    try:
        await run_in_threadpool(pulse.submit, store, invitation, answers.raw, at)
    except PulseFull as exc:
        return notice(lang, participant.FULL_TITLE, participant.refusal(str(exc))), False
    except PulseUnavailable as exc:
        return notice(lang, participant.CLOSED_TITLE, participant.refusal(str(exc))), False
    except (InvalidInput, ProgramError) as exc:
        # Too many answers at this very moment, or a form that does not match the questions:
        # the answers given stay chosen, to be sent again.
        return again(lang.gettext(participant.refusal(str(exc)))), False
    receipt = participant.receipt(
        invitation.min_group_size,
        invitation.card_hash is not None,
        lang,
        participant.remember_key(invitation),
    )
    return thanks(lang, receipt), True


async def pulse_route(request: Request) -> Response:
    try:
        if request.method == "POST":
            return await answer(request)
        return await show(request)
    except HTTPException:
        raise  # a form too large to be ours: Starlette's plain 400
    except Exception:
        # The traceback goes to the server's console; the phone gets a plain apology.
        log.exception("The pulse page failed")
        message = (
            participant.SOMETHING_WENT_WRONG_SENDING
            if request.method == "POST"
            else participant.SOMETHING_WENT_WRONG
        )
        lang = language_of(request)
        return notice(lang, participant.SOMETHING_WENT_WRONG_TITLE, message, status=500)


ROUTES = [Route("/pulse", pulse_route, methods=["GET", "POST"])]
