"""The participant's pulse at /pulse: plain HTML pages from the app's own route, no Streamlit.

A phone gets one small page (its style inline, no web font, no image, a few lines of script that
only improve it) and answers with a plain form POST back to /pulse, so it works with scripts off
and on a slow connection. The Streamlit page it replaces took megabytes and a websocket.

    GET  /pulse              the code form
    GET  /pulse?code=…       the questions (the link in a QR code or on a card), or why not
    POST /pulse              the answers, with the code and the page's single-use token

What to show is decided in program/participant.py and program/pulse.py; this module reads the
request, runs the store's blocking calls in a worker thread, and renders templates/pulse/. It
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
from program import participant, pulse
from program.errors import InvalidInput, ProgramError, PulseFull, PulseUnavailable
from program.participant import Claim

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,  # every curriculum word and every message is text, never markup
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
NO_STORE = {"Cache-Control": "no-store"}
FORM_FIELDS = frozenset({"code", "token"})
MAX_FIELDS = 64  # a pulse asks at most ten questions; anything beyond this is not our form
MAX_FIELD_BYTES = 4096

log = logging.getLogger(__name__)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(text=participant, **context)
    headers = dict(NO_STORE)
    if status == 429:
        headers["Retry-After"] = str(int(participant.WRONG_CODES.pause.total_seconds()))
    return HTMLResponse(html, status_code=status, headers=headers)


def code_form(problem: str | None = None) -> HTMLResponse:
    return render("pulse/code.html", problem=problem)


def paused() -> HTMLResponse:
    return render(
        "pulse/notice.html", 429, title=participant.PAUSED_TITLE, message=participant.PAUSED
    )


def notice(title: str, message: str) -> HTMLResponse:
    return render("pulse/notice.html", title=title, message=message)


def thanks(receipt: participant.Receipt) -> HTMLResponse:
    return render("pulse/thanks.html", receipt=receipt)


def questions(page: participant.QuestionPage) -> HTMLResponse:
    return render("pulse/questions.html", view=page)


def client_of(request: Request) -> str:
    # Kept only in memory, as a keyed hash, to pace wrong codes from this address.
    return request.client.host if request.client else "unknown"


async def look_up(request: Request, code: str, at: dt.datetime) -> pulse.Invitation | HTMLResponse:
    """The invitation a code leads to, or the page that says why not. A code that leads nowhere
    counts against its client (program.participant.WrongCodes)."""
    client = client_of(request)
    throttle = participant.WRONG_CODES
    if throttle.paused(client, at):
        return paused()
    try:
        invitation = await run_in_threadpool(pulse.resolve_code, ui.store(), code, at)
    except PulseUnavailable as exc:
        # A typo the check letter caught, or a room code on a cards-only day, is no guess.
        if str(exc) == pulse.NO_OPEN_PULSE and throttle.wrong(client, at):
            return paused()
        return code_form(str(exc))
    return invitation


async def show(request: Request) -> Response:
    at = dt.datetime.now()
    code = request.query_params.get("code", "")
    if not pulse.normalize_code(code):
        if participant.WRONG_CODES.paused(client_of(request), at):
            return paused()
        return code_form()
    found = await look_up(request, code, at)
    if isinstance(found, Response):
        return found
    token = participant.TOKENS.issue(found, code, at)
    return questions(participant.question_page(found, code, token))


async def answer(request: Request) -> Response:
    at = dt.datetime.now()
    form = await request.form(max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    code = str(form.get("code") or "")
    token = str(form.get("token") or "")
    claimed = await run_in_threadpool(participant.TOKENS.claim, token, code, at)
    if claimed.claim == Claim.USED:
        # A double tap, or the form sent again (a reload, the back button): counted once.
        return thanks(claimed.receipt())
    if claimed.claim == Claim.UNKNOWN:
        return await expired(request, code, fields, at)
    stored = False
    try:
        response, stored = await send(code, token, fields, at)
        return response
    finally:
        participant.TOKENS.settle(token, used=stored)


async def expired(
    request: Request, code: str, fields: list[tuple[str, str]], at: dt.datetime
) -> Response:
    """A form whose token this process never issued (the server restarted since the page was
    drawn, or the form was not ours): nothing is stored; the questions come back with the answers
    kept and a fresh token, to be sent again. Its code is looked up like a typed one."""
    if not pulse.normalize_code(code):
        return code_form()
    found = await look_up(request, code, at)
    if isinstance(found, Response):
        return found
    answers = participant.read_answers(found, fields, FORM_FIELDS)
    token = participant.TOKENS.issue(found, code, at)
    return questions(
        participant.question_page(
            found, code, token, answers.chosen, answers.problems, participant.EXPIRED
        )
    )


async def send(
    code: str, token: str, fields: list[tuple[str, str]], at: dt.datetime
) -> tuple[Response, bool]:
    """Store the answers of a claimed token; the page to show, and whether the token is used."""
    store = ui.store()
    try:
        invitation = await run_in_threadpool(pulse.resolve_code, store, code, at)
    except PulseUnavailable as exc:
        if str(exc) == pulse.CARDS_ONLY:
            return code_form(str(exc)), False
        # The code led to an open pulse when this page was drawn: it has closed since.
        return notice(participant.CLOSED_TITLE, participant.CLOSED_MESSAGE), False
    answers = participant.read_answers(invitation, fields, FORM_FIELDS)

    def again(problem: str, problems: dict[str, str] | None = None) -> Response:
        return questions(
            participant.question_page(
                invitation, code, token, answers.chosen, problems or answers.problems, problem
            )
        )

    if answers.problems:
        return again(participant.SOME_NOT_A_CHOICE), False
    try:
        await run_in_threadpool(pulse.submit, store, invitation, answers.raw, at)
    except PulseFull as exc:
        return notice(participant.FULL_TITLE, str(exc)), False
    except PulseUnavailable as exc:
        return notice(participant.CLOSED_TITLE, str(exc)), False
    except (InvalidInput, ProgramError) as exc:
        # Too many answers at this very moment, or a form that does not match the questions:
        # the answers given stay chosen, to be sent again.
        return again(str(exc)), False
    receipt = participant.receipt(
        invitation.min_cell_size,
        invitation.card_hash is not None,
        participant.remember_key(invitation),
    )
    return thanks(receipt), True


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
        return render(
            "pulse/notice.html", 500, title=participant.SOMETHING_WENT_WRONG_TITLE, message=message
        )


ROUTES = [Route("/pulse", pulse_route, methods=["GET", "POST"])]
