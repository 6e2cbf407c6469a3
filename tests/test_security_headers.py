"""The security headers middleware, the sign-in routes' same-origin check, and error details.

tests/browser/test_security_headers.py checks the same against the real server in Chromium.
"""

from __future__ import annotations

import tomllib

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket
from streamlit import config

import routes
from headers import HEADERS, POLICY, SecurityHeaders
from tests.factories.paths import ROOT


async def hello(request: Request) -> PlainTextResponse:
    # A header of the same name set by the app is replaced, not doubled.
    return PlainTextResponse("hello", headers={"X-Frame-Options": "SAMEORIGIN"})


async def moved(request: Request) -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


APP = Starlette(
    routes=[Route("/", hello), Route("/moved", moved), WebSocketRoute("/ws", echo)],
    middleware=[Middleware(SecurityHeaders)],
)


@pytest.mark.filterwarnings("ignore:Using `httpx`")
@pytest.mark.parametrize("path", ["/", "/moved", "/missing"])
def test_every_http_response_carries_the_headers(path: str) -> None:
    with TestClient(APP, follow_redirects=False) as http:
        reply = http.get(path)
    for name, value in HEADERS.items():
        assert reply.headers.get_list(name) == [value], name


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_the_websocket_passes_through() -> None:
    with TestClient(APP) as http, http.websocket_connect("/ws") as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "ping"


def test_the_policy_allows_the_apps_own_origin_only() -> None:
    directives = dict(part.split(" ", 1) for part in POLICY.split("; "))
    for kind in ("default-src", "script-src", "style-src", "img-src", "font-src", "connect-src"):
        sources = directives[kind].split()
        assert sources[0] == "'self'", kind
        # Beside 'self', only keywords and the browser's own data:/blob: URLs: no other origin.
        assert all(s.startswith("'") or s in ("data:", "blob:") for s in sources[1:]), kind
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert HEADERS["X-Frame-Options"] == "DENY"
    assert HEADERS["Referrer-Policy"] == "no-referrer"
    assert HEADERS["X-Content-Type-Options"] == "nosniff"


def test_visitors_never_see_error_details() -> None:
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    value = settings["client"]["showErrorDetails"]
    assert value == config.ShowErrorDetailsConfigOptions.NONE == "none"


def request_with(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "app.test", **headers}.items()]
    return Request({"type": "http", "method": "POST", "path": "/auth/signin", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        # Our own page under Referrer-Policy: no-referrer: Origin is "null", Sec-Fetch-Site says.
        ({"origin": "null", "sec-fetch-site": "same-origin"}, True),
        ({"origin": "http://app.test", "sec-fetch-site": "same-origin"}, True),
        ({"origin": "null", "sec-fetch-site": "cross-site"}, False),
        ({"origin": "http://app.test", "sec-fetch-site": "same-site"}, False),
        # Browsers without Sec-Fetch-Site: the Origin header decides.
        ({"origin": "http://app.test"}, True),
        ({"origin": "http://elsewhere.test"}, False),
        ({"origin": "null"}, False),
        ({}, True),  # no browser at all (a script), which has no one's cookie to misuse
    ],
)
def test_signin_routes_refuse_posts_from_other_sites(
    headers: dict[str, str], allowed: bool
) -> None:
    assert routes._same_origin(request_with(headers)) is allowed
