"""HTTP routes beside Streamlit's websocket: what a websocket cannot do, such as set a cookie.

Sign-in posts a plain HTML form here; on success the browser gets a signed, HttpOnly session cookie
and is sent back to the page it came from, where ui.page reads the cookie.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlparse

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

import print_page
import projector
import pulse_page
import ui
from program import auth, health
from program.errors import AccessDenied, ProgramError

COOKIE_MAX_AGE = 7 * 24 * 3600  # the server's idle timeout ends a session long before this
# After a refused sign-in the form shows the username again, from this short-lived cookie (not
# the address, which browsers keep in their history), so only the password is typed again.
TYPED_USERNAME = "signin_username"
TYPED_USERNAME_SECONDS = 300


def _with_problem(target: str, problem: str) -> str:
    """The page to return to, with the sign-in problem added to its query string."""
    joiner = "&" if "?" in target else "?"
    return f"{target}{joiner}{urlencode({'signin': problem})}"


def _safe_next(target: object) -> str:
    """Only same-site paths: never redirect a signed-in person to another site."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _same_origin(request: Request) -> bool:
    """Refuse cross-site form posts (a page elsewhere signing someone in or out).

    Browsers say where a request comes from in Sec-Fetch-Site, which no page can forge. Our pages
    send no referrer (headers.py), and under that policy a browser sends a form post's Origin as
    "null", so the Origin header is only the fallback for browsers without Sec-Fetch-Site.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlparse(origin).netloc == request.headers.get("host")


async def signin(request: Request) -> Response:
    form = await request.form()
    target = _safe_next(form.get("next"))
    if not _same_origin(request):
        return RedirectResponse(_with_problem(target, "expired"), status_code=303)
    username = str(form.get("username") or "")[:64]
    password = str(form.get("password") or "")[:256]
    store, settings = ui.store(), ui.settings()
    # Kept only in memory, hashed, to pace guesses from this address (program/throttle.py).
    client = request.client.host if request.client else "unknown"
    try:
        token = await run_in_threadpool(
            auth.sign_in, store, settings, username, password, None, client
        )
    except AccessDenied:
        # One answer for every refusal: unknown username, wrong password, pause or busy server.
        refused = RedirectResponse(_with_problem(target, "failed"), status_code=303)
        refused.set_cookie(
            TYPED_USERNAME,
            quote(username),
            max_age=TYPED_USERNAME_SECONDS,
            httponly=True,
            samesite="strict",
            path="/",
        )
        return refused
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(TYPED_USERNAME, path="/")
    response.set_cookie(
        auth.COOKIE_NAME,
        auth.sign_cookie(token, auth.session_secret(settings)),
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        # Secure when the app's address is https: the setting's, or else this request's own.
        secure=(settings.base_url or str(request.url)).startswith("https://"),
        path="/",
    )
    return response


async def signout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    if not _same_origin(request):
        return response
    settings = ui.settings()
    token = auth.read_cookie(request.cookies.get(auth.COOKIE_NAME), auth.session_secret(settings))
    if token:
        store = ui.store()
        user = await run_in_threadpool(auth.resolve_signin, store, settings, token)
        if user is not None:
            await run_in_threadpool(auth.sign_out, store, user, token)
    response.delete_cookie(auth.COOKIE_NAME, path="/")
    return response


async def healthy(request: Request) -> Response:
    """For a load balancer or a monitor: 200 while this process and its database answer, 503
    otherwise. The body says only which; no version, path or count that would tell a stranger
    anything about the deployment."""
    try:
        state = await run_in_threadpool(health.check, ui.store())
        ok = state.ok
    except ProgramError:  # the store could not be opened (held by another process, say)
        ok = False
    return JSONResponse(
        {"status": "ok" if ok else "unavailable"},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [
    Route("/health", healthy, methods=["GET"]),
    Route("/auth/signin", signin, methods=["POST"]),
    Route("/auth/signout", signout, methods=["POST"]),
    # The participant's pulse, plain HTML; listed before Streamlit's own routes, so it wins /pulse.
    *pulse_page.ROUTES,
    *print_page.ROUTES,
    projector.ROUTE,
]
