"""The projector view of a session's pulse: /pulse/show?session=<id>, a plain HTML page.

The facilitator opens it from the Pulse tab in a new tab and puts it on the room's screen: the room
code, the QR code and the address, large enough to read from the back of the room, and nothing
else (no names, no counts, no controls). It fetches itself again every REFRESH_SECONDS (a meta refresh
without script), so it follows the pulse: room code switched off (cards only), closed. Closing stays in the runner's tab.

Staff only: the signed sign-in cookie (as routes.py reads it) must name a live session of one of
the facilitators of the session's cohort, or the link must carry the key the Pulse tab made for
this opening of the pulse (for staff signed in with their organisation, who have no cookie of
ours); anyone else gets a plain 403 page. The security headers
of headers.py are added to this response like every other (app.py's middleware): the page loads
nothing, its one style sheet is inline and the QR code is inline SVG.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import ui
from program import auth, i18n, pulse
from program.i18n import N_, Language
from program.views import projector as screen
from program.views.projector import ProjectorView as View

REFRESH_SECONDS = 30
NO_STORE = {"Cache-Control": "no-store"}
# The room reads this page: its words are in the participant's catalogs (program/i18n.py), in the
# language of the link's `lang` (the Pulse tab sets it) or else of the browser showing it.
OPEN_TITLE = N_("Answer today's pulse")
SCAN_OR_GO = N_("Scan the QR code, or go to")
TYPE_THE_CODE = N_("and type the code")
CARDS = N_("Answer with your card: go to {address} and type the code printed on your card")
QR_CODE = N_("QR code")
CLOSED = N_("The pulse has closed. Thank you.")
NOT_OPEN = N_("The pulse is not open yet.")
NO_QUESTIONS = N_("There is no pulse at this session.")
SIGN_IN_FIRST = N_(
    "This page is for the session's facilitators. Sign in first, then open it again from the"
    " Pulse tab of Run a session."
)
SIGN_IN = N_("Sign in")
NOT_YOURS = N_("This page is for the facilitators of this session's cohort only.")
PAGE_TITLE = N_("Today's pulse")


def _view(request: Request) -> View:
    """Who is asking and what they may see (runs in a worker thread: it reads the store).

    Either the key the Pulse tab put in the link, or the sign-in cookie of one of the cohort's
    facilitators (program/views/projector.py decides)."""
    store, settings = ui.store(), ui.settings()
    secret = auth.session_secret(settings)
    session = request.query_params.get("session", "")
    key = request.query_params.get("key", "")
    known = session.isdigit() and len(session) <= 18
    base = pulse.base_address(settings.base_url, str(request.url)) or "http://localhost"
    if key and known:
        return screen.by_key(store, secret, int(session), key, base, dt.datetime.now())
    cookie = request.cookies.get(auth.COOKIE_NAME)
    token = auth.read_cookie(cookie, secret) if cookie else None
    viewer = auth.resolve_signin(store, settings, token) if token else None
    if viewer is None:
        return screen.GUEST
    if not known:
        return screen.REFUSED
    return screen.for_staff(store, viewer, int(session), base, dt.datetime.now())


async def show(request: Request) -> Response:
    view = await run_in_threadpool(_view, request)
    status = 403 if view.state in ("guest", "refused") else 200
    lang = i18n.choose(
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
        i18n.languages(pseudo=ui.settings().pseudo_languages),
    )
    headers = {**NO_STORE, "Vary": "Accept-Language", "Content-Language": lang.code}
    return HTMLResponse(page(view, lang), status_code=status, headers=headers)


ROUTE = Route("/pulse/show", show, methods=["GET"])


# --------------------------------------------------------------------------- the page

# Sized for a projector at 1280 × 720 and anything larger: lengths follow the screen (vw, vh), the
# room code is the largest thing on it, and the colours are black on white (a QR code needs dark
# modules on a light ground, and a washed-out projector keeps that contrast best).
STYLE = """
  * { box-sizing: border-box; }
  html, body { margin: 0; height: 100%; background: #fff; color: #000; }
  body { font-family: system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
         display: flex; flex-direction: column; justify-content: center; align-items: center;
         padding: 3vh 3vw; overflow: hidden; }
  h1 { margin: 0 0 3vh; font-size: min(5vw, 9vh); font-weight: 800; line-height: 1.1;
       text-align: center; }
  .join { display: flex; align-items: center; justify-content: center; gap: 3.5vw; }
  .qr { flex: none; width: min(34vw, 64vh); height: min(34vw, 64vh); }
  .qr svg { display: block; width: 100%; height: 100%; }
  .qr path { shape-rendering: crispEdges; }
  .words { min-width: 0; }
  .label { margin: 0; font-size: min(2.8vw, 5vh); font-weight: 500; }
  .address { margin: .5vh 0 4.5vh; font-size: min(3.1vw, 5.5vh); font-weight: 800;
             white-space: nowrap; }
  .code { margin: .5vh 0 0; font-family: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas,
          monospace; font-size: min(9vw, 16vh); font-weight: 800; letter-spacing: .04em;
          line-height: 1; white-space: nowrap; }
  .message { margin: 0; max-width: 24em; font-size: min(4.4vw, 8vh); font-weight: 700;
             line-height: 1.3; text-align: center; }
  .message b { white-space: nowrap; }
  .small { margin: 3vh 0 0; font-size: min(2.4vw, 4.5vh); text-align: center; }
"""


def _breakable(address: str) -> str:
    """The address, escaped, kept on one line unless it is too long for the screen: then it may
    break only before its last part ("/pulse")."""
    head, slash, tail = escape(address).rpartition("/")
    return f"{head}<wbr>{slash}{tail}" if head else tail


def _body(view: View, lang: Language) -> str:
    def say(message: str) -> str:
        return escape(lang.gettext(message))

    if view.state == "open":
        return f"""<h1>{say(OPEN_TITLE)}</h1>
<div class="join">
  <div class="qr" role="img" aria-label="{say(QR_CODE)}">{pulse.qr_svg(view.link, scalable=True)}</div>
  <div class="words">
    <p class="label">{say(SCAN_OR_GO)}</p>
    <p class="address" dir="ltr">{_breakable(view.address)}</p>
    <p class="label">{say(TYPE_THE_CODE)}</p>
    <p class="code" dir="ltr">{escape(view.code)}</p>
  </div>
</div>"""
    if view.state == "cards":
        # The address goes in whole where the sentence puts it, bold and kept left to right.
        before, _, after = say(CARDS).partition("{address}")
        address = f'<b dir="ltr">{_breakable(view.address)}</b>'
        return f"""<h1>{say(OPEN_TITLE)}</h1>
<p class="message">{before}{address}{after}</p>"""
    if view.state == "guest":
        return f"""<p class="message">{say(SIGN_IN_FIRST)}</p>
<p class="small"><a href="/">{say(SIGN_IN)}</a></p>"""
    message = {
        "closed": CLOSED,
        "not-open": NOT_OPEN,
        "no-questions": NO_QUESTIONS,
        "refused": NOT_YOURS,
    }[view.state]
    return f'<p class="message">{say(message)}</p>'


def page(view: View, lang: Language) -> str:
    # Reload while the pulse may still change; a closed pulse or a refusal stays as it is (and a
    # forgotten tab stops renewing the facilitator's sign-in).
    refresh = view.state in ("open", "cards", "not-open")
    # With script, the page fetches itself and swaps in the new content only when it changed (no
    # flash, no reload of the whole page, and nothing a screen reader would hear as a refresh);
    # without script, a <noscript> meta refresh does the same job.
    follow = (
        f'<noscript><meta http-equiv="refresh" content="{REFRESH_SECONDS}"></noscript>\n'
        f"<script>{FOLLOW.replace('SECONDS', str(REFRESH_SECONDS * 1000))}</script>\n"
        if refresh
        else ""
    )
    return f"""<!doctype html>
<html lang="{lang.code}" dir="{lang.direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{follow}<title>{escape(lang.gettext(PAGE_TITLE), quote=False)}</title>
<style>{STYLE}</style>
</head>
<body>
{_body(view, lang)}
</body>
</html>
"""


# Every SECONDS milliseconds: fetch this page again and, if its body changed (cards only, closed),
# put the new body in place. Only the page's own address is fetched (the CSP allows 'self').
FOLLOW = (
    "setInterval(function(){fetch(location.href,{cache:'no-store',credentials:'same-origin'})"
    ".then(function(r){return r.ok?r.text():null}).then(function(t){if(!t)return;"
    "var d=new DOMParser().parseFromString(t,'text/html');"
    "if(d.body.innerHTML!==document.body.innerHTML)document.body.innerHTML=d.body.innerHTML;"
    "}).catch(function(){})},SECONDS);"
)
