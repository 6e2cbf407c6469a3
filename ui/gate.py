"""The access gate every staff page passes first: `viewer = ui.page(...)`.

Streamlit serves any file in pages/ at its URL to anyone who types it, so this call is what keeps
a guest out: it sets the page config, works out who is signed in, draws the sidebar links their
role may use, and stops the script with the sign-in screen (or a refusal) otherwise. program/
checks access again on every read and write.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from program import auth
from program.models import Role, StaffUser
from ui.navigation import STAFF, sidebar
from ui.shared import settings, store
from ui.signin import signin_screen
from ui.sso import single_sign_on_staff
from ui.theme import PAGE_ICON, style
from ui.tokens import TOKEN_KEY, signin_token


def current_staff() -> StaffUser | None:
    """The signed-in staff member: by the session cookie, else by single sign-on; None for a guest."""
    token = signin_token()
    user = auth.resolve_signin(store(), settings(), token) if token else None
    return user if user is not None else single_sign_on_staff()


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
    style()
    viewer = current_staff()
    if viewer is None:
        # A token that no longer opens a session (ended, idle, revoked) is forgotten.
        st.session_state.pop(TOKEN_KEY, None)
        signin_screen()
        st.stop()
    sidebar(viewer)
    if roles is not None and viewer.role not in roles:
        refuse("This page is not part of your role. Use the links in the sidebar.")
    return viewer


def refuse(message: str) -> NoReturn:
    """Stop the page with `message`: a role or state that may not use it."""
    st.warning(message, icon=":material/block:")
    st.stop()
