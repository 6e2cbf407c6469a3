"""The one Streamlit helper module: page setup and access check, the shared store, error display.

Every script in pages/ starts with `viewer = ui.page(...)`. Streamlit serves any file in pages/ at
its URL to anyone who types it, so this call is what keeps a guest out: it sets the page config,
works out who is signed in, draws the sidebar links their role may use, and stops the script with
the sign-in screen (or a refusal) otherwise. program/ checks access again on every read and write.

Text people typed (names, titles, curriculum wording, error messages that quote them) reaches
Streamlit's Markdown only through `ui.plain` (shown literally) or `ui.guide` (curriculum guide text:
formatting kept, no image or link); see program/markup.py.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn
from urllib.parse import unquote, urlparse

import streamlit as st
from streamlit.errors import StreamlitAuthError

from program import auth, markup, sso
from program.errors import AccessDenied, CurriculumError, ProgramError
from program.models import Role, StaffUser
from program.settings import Settings, get_settings
from program.store import Store

STAFF = frozenset(Role)
plain = markup.plain  # a name or title, shown literally wherever Streamlit reads Markdown
guide = markup.guide_markdown  # curriculum guide text: its formatting, no image or link
# An emoji, not a :material/…: icon: Streamlit fetches those favicons from fonts.gstatic.com, which
# would tell Google who opened the page and when. An emoji is drawn from a data: URL.
PAGE_ICON = "🌱"
TOKEN_KEY = "staff_token"  # session_state fallback for the cookie (tests cannot send cookies)


@dataclass(frozen=True)
class PageLink:
    path: str
    label: str
    icon: str
    roles: frozenset[Role]


PAGES = (
    PageLink("home.py", "Home", ":material/home:", STAFF),
    PageLink("pages/cohorts.py", "Cohorts", ":material/groups:", STAFF),
    PageLink(
        "pages/session.py", "Run a session", ":material/play_circle:", frozenset({Role.FACILITATOR})
    ),
    PageLink(
        "pages/cohort_dashboard.py",
        "Cohort results",
        ":material/monitoring:",
        frozenset({Role.FACILITATOR}),
    ),
    PageLink(
        "pages/mirror.py", "Group mirror", ":material/co_present:", frozenset({Role.FACILITATOR})
    ),
    PageLink(
        "pages/program_dashboard.py",
        "Program dashboard",
        ":material/insights:",
        frozenset({Role.LEAD, Role.ADMIN}),
    ),
    PageLink("pages/curricula.py", "Curriculum library", ":material/menu_book:", STAFF),
    PageLink("pages/admin.py", "Admin", ":material/admin_panel_settings:", frozenset({Role.ADMIN})),
    PageLink("pages/audit.py", "Audit log", ":material/history:", frozenset({Role.ADMIN})),
)


@lru_cache(maxsize=4)
def _store_at(path: str) -> Store:
    return Store(path)


def store() -> Store:
    """The process's one store (one DuckDB connection shared by every browser session)."""
    return _store_at(str(get_settings().database))


def settings() -> Settings:
    return get_settings()


# --------------------------------------------------------------------------- who is this


def session_token() -> str | None:
    """The sign-in token from the signed cookie, or from session state (set by tests)."""
    cookie = st.context.cookies.get(auth.COOKIE_NAME)
    token = auth.read_cookie(cookie, auth.session_secret(settings())) if cookie else None
    return token or st.session_state.get(TOKEN_KEY)


def current_staff() -> StaffUser | None:
    token = session_token()
    user = auth.resolve_session(store(), settings(), token) if token else None
    return user if user is not None else _single_sign_on_staff()


def page(title: str, roles: frozenset[Role] | None = STAFF, *, wide: bool = True) -> StaffUser:
    """Set up a staff page: config, access check, sidebar. Stops the script unless allowed.

    `roles=None` marks a public page; it then returns no one and the caller must not show staff
    content. Staff pages return the signed-in staff member.
    """
    st.set_page_config(
        page_title=f"{title} · Group programs",
        page_icon=PAGE_ICON,
        layout="wide" if wide else "centered",
    )
    _style()
    viewer = current_staff()
    if viewer is None:
        st.session_state.pop(TOKEN_KEY, None)
        signin_screen()
        st.stop()
    _sidebar(viewer)
    if roles is not None and viewer.role not in roles:
        refuse("This page is not part of your role. Use the links in the sidebar.")
    return viewer


def refuse(message: str) -> NoReturn:
    st.warning(message, icon=":material/block:")
    st.stop()


def _sidebar(viewer: StaffUser) -> None:
    with st.sidebar:
        st.markdown(f"**{plain(viewer.display_name)}**  \n{viewer.role.value.title()}")
        for link in PAGES:
            if viewer.role in link.roles:
                st.page_link(link.path, label=link.label, icon=link.icon)
        st.divider()
        if _signed_in_with_sso():
            if st.button("Sign out", key="sso_sign_out", type="tertiary"):
                _sso_sign_out(viewer)
            return
        st.html(
            '<form method="post" action="/auth/signout">'
            '<button class="plain-button" type="submit">Sign out</button></form>'
        )


SIGNIN_ERRORS = {
    "failed": "That username and password do not match an active account.",
    "expired": "The sign-in form expired. Please try again.",
}


def signin_form(target: str, typed: str = "") -> str:
    """The sign-in form's HTML, back to `target` after signing in, with `typed` as the username
    (focus on the password then, on the username otherwise)."""
    username = html.escape(typed, quote=True)
    focus_user, focus_password = ("", " autofocus") if typed else (" autofocus", "")
    return f"""
        <form class="signin" method="post" action="/auth/signin">
          <input type="hidden" name="next" value="{html.escape(target, quote=True)}">
          <label for="username">Username</label>
          <input id="username" name="username" autocomplete="username" value="{username}" required{focus_user}>
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required{focus_password}>
          <button type="submit">Sign in</button>
        </form>
        """


def signin_screen() -> None:
    """The sign-in form. It posts to /auth/signin (routes.py), which sets the session cookie."""
    st.title("Sign in")
    st.caption(
        "For facilitators, program leads and admins. Participants need no account: use the room code."
    )
    problem = st.query_params.get("signin")
    if problem in SIGNIN_ERRORS:
        st.error(SIGNIN_ERRORS[problem])
    providers = sso_providers()
    if providers:
        _sso_signin(providers)
    url = st.context.url or "/"
    parts = urlparse(url)
    # Back to the same page and tab after signing in, minus an earlier sign-in complaint.
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("signin="))
    target = (parts.path or "/") + (f"?{query}" if query else "")
    # After a refusal the username comes back (routes.TYPED_USERNAME) and the password has focus.
    typed = unquote(st.context.cookies.get("signin_username", ""))[:64] if problem else ""
    st.html(signin_form(target, typed))
    # The participant's pulse is a plain HTML page of its own (pulse_page.py), not a Streamlit page.
    st.html(
        '<p><a class="plain-link" href="/pulse">I\'m a participant: answer today\'s pulse</a></p>'
    )


# --------------------------------------------------------------------------- single sign-on
#
# With an [auth] section in secrets.toml, staff may sign in with their organisation's identity
# provider: st.login() runs the OpenID Connect flow, Streamlit keeps the identity in its own signed
# cookie, and st.user holds its claims in every later browser session. How that becomes one of our
# server-side sessions: program/sso.py derives the session token from that one sign-in (issuer,
# subject, issue time, nonce) with the app's secret, opens the session the first time it sees the
# sign-in (only if it is fresh), and finds the same session again on every run and every reload.
# The token stays on the server (session_state of this browser session), never in a cookie.
#
# Why not our own cookie: a Streamlit script cannot set one, so it would take an extra redirect
# through a route plus a hand-off secret in a URL. Why not simply "st.user is signed in, so open a
# session": the identity cookie lives 30 days, so an idle timeout, a sign-out or an admin's "sign out
# everywhere" would be undone by the next reload. Here a session that ended stays ended, and only a
# new sign-in at the identity provider (minutes old) opens another. Sign-out ends our session and
# then calls st.logout(), which clears Streamlit's identity cookie.

SSO_KEY = "staff_sso_token"  # the token in TOKEN_KEY came from single sign-on
SSO_PROBLEM_KEY = "sso_problem"
SSO_ENDED = "Your session has ended. Please sign in with your organisation again."


def sso_providers() -> list[str | None]:
    """The identity providers set up in secrets.toml's [auth] section; None is the default one.

    No secrets file, or one without [auth], means no single sign-on (and no error).
    """
    if not st.secrets.load_if_toml_exists():
        return []
    section = st.secrets.get("auth")
    if not isinstance(section, Mapping):
        return []
    named = [
        str(name)
        for name, value in section.items()
        if isinstance(value, Mapping) and name != "client_kwargs" and "client_id" in value
    ]
    return ([None] if "client_id" in section else []) + sorted(named)


def _single_sign_on_staff() -> StaffUser | None:
    """The staff member the identity provider vouches for in this browser session, if any."""
    if not sso_providers() or st.user.get("is_logged_in") is not True:
        return None
    identity = sso.Identity.from_claims(st.user.to_dict())
    try:
        token = sso.sign_in(store(), settings(), identity)
    except AccessDenied as exc:
        st.session_state[SSO_PROBLEM_KEY] = str(exc)
        return None
    user = auth.resolve_session(store(), settings(), token)
    if user is None:
        st.session_state[SSO_PROBLEM_KEY] = SSO_ENDED
        return None
    st.session_state[TOKEN_KEY] = st.session_state[SSO_KEY] = token
    return user


def _signed_in_with_sso() -> bool:
    token = st.session_state.get(SSO_KEY)
    return token is not None and token == session_token()


def _sso_sign_out(viewer: StaffUser) -> NoReturn:
    """End our session, then Streamlit's identity cookie (st.logout redirects the browser)."""
    token = st.session_state.pop(SSO_KEY)
    st.session_state.pop(TOKEN_KEY, None)
    auth.sign_out(store(), viewer, token)
    st.logout()
    st.stop()


def _sso_signin(providers: list[str | None]) -> None:
    """The "Sign in with your organisation" button(s), and why the last attempt did not work."""
    problem = st.session_state.pop(SSO_PROBLEM_KEY, None)
    if problem:
        st.error(plain(problem), icon=":material/block:")
    for provider in providers:
        label = "Sign in with your organisation"
        if len(providers) > 1:
            label += f" ({provider or 'default'})"
        if st.button(
            label, key=f"sso_{provider or 'default'}", type="primary", icon=":material/badge:"
        ):
            try:
                st.login(provider)
            except StreamlitAuthError as exc:
                st.error(f"**Single sign-on is not set up correctly.** {plain(str(exc))}")
    signed_in_there = st.user.get("is_logged_in") is True
    if (
        problem
        and signed_in_there
        and st.button("Use a different account", key="sso_other_account", type="tertiary")
    ):
        st.logout()
    st.caption("Or sign in with your username and password:")


def _style() -> None:
    st.html(
        """
        <style>
        form.signin { display: grid; gap: .4rem; max-width: 22rem; }
        form.signin input { font-size: 1rem; padding: .55rem .7rem; border: 1px solid #8a8f98;
                            border-radius: .4rem; }
        form.signin button, .plain-button { font-size: 1rem; padding: .55rem 1rem; margin-top: .6rem;
                            border-radius: .4rem; border: 1px solid #2f6f5e; background: #2f6f5e;
                            color: white; cursor: pointer; }
        .plain-button { background: transparent; color: #2f6f5e; margin-top: 0; }
        a.plain-link { display: inline-block; padding: .6rem 0; color: #2f6f5e; font-weight: 600; }
        /* An empty radio circle is drawn in a light grey (about 1.4:1 on white); a darker ring
           reaches the 3:1 that controls need, so every choice is visible in a bright room. */
        label[data-testid="stRadioOption"]:not([data-selected]) > div > div:first-child {
            border: 2px solid #6b7570; }
        .room-code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
                     font-size: clamp(2.4rem, 6vw, 4.2rem); font-weight: 700;
                     letter-spacing: .08em; color: #1f4d41; line-height: 1.1; margin: .2rem 0 .6rem; }
        form.signin input:focus, form.signin button:focus, .plain-button:focus {
            outline: 3px solid #f2b134; outline-offset: 2px; }
        @media print {
            [data-testid="stSidebar"], header, [data-testid="stToolbar"], .no-print { display: none !important; }
            .block-container { padding: 0 !important; }
        }
        </style>
        """
    )


# --------------------------------------------------------------------------- errors


def show_error(exc: ProgramError) -> None:
    """A ProgramError as a readable message. Its text may quote what someone typed (a name, a
    curriculum line), so it is shown literally."""
    if isinstance(exc, CurriculumError):
        st.error(f"**{exc.title}**\n\n" + "\n".join(f"- {plain(str(p))}" for p in exc.problems))
    else:
        st.error(f"**{exc.title}.** {plain(str(exc))}")


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show a ProgramError raised inside the block as a readable message instead of a traceback."""
    try:
        yield
    except ProgramError as exc:
        show_error(exc)


def toast(message: str) -> None:
    """A confirmation, shown literally (it often names what someone typed)."""
    st.toast(plain(message), icon=":material/check_circle:")


def attempt(action: Callable[[], object], success: str) -> bool:
    """Run an action, show its success (as plain text) or its error; return whether it worked."""
    try:
        action()
    except ProgramError as exc:
        show_error(exc)
        return False
    toast(success)
    return True


def chart(chart: Any, height: int, alt: str | None = None, target: Any = None) -> None:
    """An Altair chart drawn from its Vega-Lite spec without Altair's schema check, which takes
    most of a dashboard's time; tests/test_charts.py checks every builder's spec once."""
    (target or st).vega_lite_chart(
        spec=chart.to_dict(validate=False), width="stretch", height=height, alt=alt
    )


def agenda_timer(minutes: int, key: str) -> None:
    """A countdown for one agenda item, running in the browser so the server does no work."""
    seconds = int(minutes) * 60
    # Our own fixed markup (no user text inside), so the unsanitised iframe is safe here.
    st.iframe(
        f"""
        <div style="font-family: system-ui, sans-serif; display: flex; gap: .5rem;
                    align-items: center;" role="timer" aria-live="off" id="t-{html.escape(key)}">
          <span id="clock" style="font-size: 1.4rem; font-variant-numeric: tabular-nums;
                min-width: 4.5rem;">{minutes}:00</span>
          <button id="go" style="padding:.3rem .8rem;font-size:.95rem">Start</button>
          <button id="reset" style="padding:.3rem .8rem;font-size:.95rem">Reset</button>
        </div>
        <script>
          let left = {seconds}, timer = null;
          const clock = document.getElementById('clock'), go = document.getElementById('go');
          const show = () => {{
            const m = Math.floor(Math.abs(left) / 60), s = String(Math.abs(left) % 60).padStart(2, '0');
            clock.textContent = (left < 0 ? '+' : '') + m + ':' + s;
            clock.style.color = left < 0 ? '#9b1c1c' : (left < 60 ? '#8a5a00' : 'inherit');
          }};
          go.onclick = () => {{
            if (timer) {{ clearInterval(timer); timer = null; go.textContent = 'Resume'; return; }}
            timer = setInterval(() => {{ left -= 1; show(); }}, 1000); go.textContent = 'Pause';
          }};
          document.getElementById('reset').onclick = () => {{
            clearInterval(timer); timer = null; left = {seconds}; go.textContent = 'Start'; show();
          }};
        </script>
        """,
        height=48,
        alt=f"Timer for {minutes} minutes",
    )
