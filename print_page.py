"""Printed pages at /print/…: a session's guide, a sheet of pulse cards, and reports.

    GET /print/guide?version=…&session=…[&cohort=…]&key=…[&format=pdf]
    GET /print/cards?token=…[&format=pdf]
    GET /print/report?token=…[&format=pdf]

Each is a print-ready HTML page that opens the browser's print dialog by itself (no app around
it, safety steps first in a guide), or with format=pdf the same page as a PDF download, laid out
by WeasyPrint from the same HTML (program/printing.py). A guide's link carries a key made with the
app's secret (the runner and the library make it), so it opens for whoever was given the link,
signed in by cookie or by single sign-on alike, and shows curriculum text only. A card sheet
lives in memory under a random token only its maker has (printing.SHEETS), since the app keeps
no card codes; a report (program/reports.py) is kept the same way, made by the dashboard that
showed its figures and audited there. The security headers of headers.py are added like on every
response.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import ui
from program import auth, printing
from program.errors import NotFound, PdfUnavailable, ProgramError
from program.views.printing import printed_guide

NO_STORE = {"Cache-Control": "no-store"}


def _notice(message: str, status: int) -> HTMLResponse:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Printing</title>'
        f"</head><body><p>{escape(message)}</p></body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=NO_STORE)


def _whole(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


def _guide_html(request: Request) -> str | None:
    """The guide the link names, or None when its key does not match (runs in a worker thread)."""
    params = request.query_params
    version, number = _whole(params.get("version")), _whole(params.get("session"))
    cohort_id = _whole(params.get("cohort"))
    if version is None or number is None:
        return None
    return printed_guide(
        ui.store(),
        auth.session_secret(ui.settings()),
        version,
        number,
        cohort_id,
        params.get("key", ""),
    )


def _filename(kind: str, request: Request) -> str:
    number = _whole(request.query_params.get("session"))
    return f"{kind}-session-{number}.pdf" if number is not None else f"{kind}.pdf"


async def _answer(request: Request, html: str, filename: str) -> Response:
    if request.query_params.get("format") != "pdf":
        return HTMLResponse(html, headers=NO_STORE)
    try:
        document = await run_in_threadpool(printing.pdf, html)
    except PdfUnavailable as exc:
        return _notice(str(exc), 503)
    return Response(
        document,
        media_type="application/pdf",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def guide(request: Request) -> Response:
    try:
        html = await run_in_threadpool(_guide_html, request)
    except NotFound:
        html = None
    except ProgramError:
        return _notice("This guide cannot be printed.", 400)
    if html is None:
        return _notice(
            "This link does not open a guide. Open it again from Run a session or the library.",
            403,
        )
    return await _answer(request, html, _filename("guide", request))


async def _from_shelf(request: Request, gone: str, filename: str) -> Response:
    """A page kept on the shelf under the link's token (a card sheet, a report)."""
    html = printing.SHEETS.get(request.query_params.get("token", ""), dt.datetime.now())
    if html is None:
        return _notice(gone, 404)
    return await _answer(request, html, filename)


async def cards(request: Request) -> Response:
    return await _from_shelf(
        request,
        "This card sheet is no longer kept (it is forgotten after a while, or when the app"
        " restarts). Make new cards from the Pulse tab.",
        "pulse-cards.pdf",
    )


async def report(request: Request) -> Response:
    return await _from_shelf(
        request,
        "This report is no longer kept (it is forgotten after a while, or when the app"
        " restarts). Make it again from the dashboard.",
        "report.pdf",
    )


ROUTES = [
    Route("/print/guide", guide, methods=["GET"]),
    Route("/print/cards", cards, methods=["GET"]),
    Route("/print/report", report, methods=["GET"]),
]
