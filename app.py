"""The app's entry point: `streamlit run app.py`. Streamlit pages plus the sign-in routes.

home.py is the main page; pages/ holds the others, each guarded by ui.page on its first line.
"""

import importlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware

import ui
from headers import SecurityHeaders
from program.cli import print_demo_accounts
from program.demo import seed_demo
from routes import ROUTES

# The libraries behind the dashboards and exports take seconds to import; loading them in the
# background at start means the first person to open results does not wait for them.
WARM_UP = (
    "altair",
    "vl_convert",
    "scipy.stats",
    "pandas",
    "program.charts",
    "program.program_results",
)


def warm_up() -> None:
    for name in WARM_UP:
        importlib.import_module(name)


@asynccontextmanager
async def lifespan(app: st.App) -> AsyncIterator[None]:
    """Open the database (migrating it) before the first visitor; seed the demo if asked to."""
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    settings = ui.settings()
    store = ui.store()
    if settings.demo:
        accounts = seed_demo(store, settings.curricula)
        if accounts:
            print_demo_accounts([(a.username, a.role.value) for a in accounts])
        else:
            print("Demo database ready; demo accounts use the password 'demo-password'.")
    yield


def on_script_error(exc: Exception) -> bool:
    """An unexpected error: a plain apology instead of Streamlit's message (the details go to the
    server's log, and client.showErrorDetails = "none" keeps any traceback out of the browser)."""
    st.error(
        "Something went wrong on this page, and nothing more can be shown about it here. Please"
        " reload the page; if it happens again, tell your facilitator or the program's admin.",
        icon=":material/error:",
    )
    return True


# Every HTTP response (pages, static files, the sign-in routes) carries the security headers.
app = st.App(
    "home.py",
    routes=ROUTES,
    lifespan=lifespan,
    middleware=[Middleware(SecurityHeaders)],
    on_script_error=on_script_error,
)
