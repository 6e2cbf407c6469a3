"""The Streamlit side of the app: page setup and access check, the shared store, error display.

Every script in pages/ starts with `viewer = ui.page(...)` (ui/gate.py): it sets the page up and
stops a guest or a wrong role. Pages use the names below as `ui.<name>`; each lives in the module
for its job:

- shared.py      the process's one store and the settings
- tokens.py      which sign-in this browser session holds (cookie or session state)
- gate.py        `page`, `refuse`, `current_staff`: the access check every page passes first
- navigation.py  the staff pages, the roles that may use them, the sidebar
- signin.py      the sign-in screen and its plain HTML form (posting to routes.py)
- sso.py         single sign-on with the organisation's identity provider
- theme.py       the page icon and the app's CSS
- feedback.py    the one way errors are shown (`show_error`), confirmations
- charts.py      Altair charts drawn from their Vega-Lite spec
- timer.py       the session runner's agenda countdown

Text people typed (names, titles, curriculum wording, error messages that quote them) reaches
Streamlit's Markdown only through `ui.plain` (shown literally) or `ui.guide` (curriculum guide text:
formatting kept, no image or link); see program/markup.py.

Tests replace `ui.store` or `ui.settings` for code that calls them through this package (pages,
routes.py and the HTML pages); the gate and single sign-on read the store through ui.shared.
"""

from __future__ import annotations

from program import markup
from ui.charts import chart
from ui.feedback import attempt, show_error, shown_errors, toast
from ui.gate import current_staff, page, refuse
from ui.navigation import PAGES, STAFF, PageLink, sidebar
from ui.shared import _store_at, settings, store
from ui.signin import SIGNIN_ERRORS, signin_form, signin_screen
from ui.sso import SSO_ENDED, sso_providers
from ui.theme import PAGE_ICON
from ui.timer import agenda_timer
from ui.tokens import SSO_KEY, TOKEN_KEY, signin_token

plain = markup.plain  # a name or title, shown literally wherever Streamlit reads Markdown
guide = markup.guide_markdown  # curriculum guide text: its formatting, no image or link

__all__ = [
    "PAGES",
    "PAGE_ICON",
    "SIGNIN_ERRORS",
    "SSO_ENDED",
    "SSO_KEY",
    "STAFF",
    "TOKEN_KEY",
    "PageLink",
    "_store_at",
    "agenda_timer",
    "attempt",
    "chart",
    "current_staff",
    "guide",
    "page",
    "plain",
    "refuse",
    "signin_token",
    "settings",
    "show_error",
    "shown_errors",
    "sidebar",
    "signin_form",
    "signin_screen",
    "sso_providers",
    "store",
    "toast",
]
