"""Security headers on every HTTP response: Streamlit's pages, its static files and our routes.

The Content-Security-Policy lets a page load images, scripts, styles, fonts and connections from
the app's own address only, so nothing shown can make a browser contact another site, even if
text someone typed slipped past markup.plain. What Streamlit 1.67 itself needs, found by opening
every page in Chromium and reading the console (tests/browser/test_security_headers.py checks no
page reports a violation):

- style-src 'unsafe-inline': Streamlit writes its styles into <style> elements as it renders.
- script-src 'unsafe-inline': Streamlit's index.html starts with a small inline script, and the
  agenda timers (ui.agenda_timer) run their script inside an iframe's srcdoc, which inherits this
  policy. Only our own fixed markup runs there; st.markdown and st.html never execute scripts.
- script-src 'wasm-unsafe-eval': the protobuf library that decodes Streamlit's messages compiles
  a small WebAssembly module for 64-bit arithmetic. It allows WebAssembly only, never eval().
- img-src and font-src data:, img-src blob: the page icon is an emoji drawn as a data: SVG,
  Streamlit embeds one font as a data: URL, and downloads and charts use blob: URLs made in the
  page. None of these leave the browser.

The websocket upgrade is not an HTTP response and passes through untouched; the policy's
connect-src 'self' is what lets the page open it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "media-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class SecurityHeaders:
    """ASGI middleware adding HEADERS to every HTTP response (replacing any of the same name)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
