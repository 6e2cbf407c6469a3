"""The sign-in screen a guest sees on every staff page, and its plain HTML form.

The form posts to /auth/signin (routes.py), which checks the password and sets the signed,
HttpOnly session cookie; a Streamlit script cannot set a cookie itself.
"""

from __future__ import annotations

import html
from urllib.parse import unquote, urlparse

import streamlit as st

from ui.sso import signin_buttons, sso_providers

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
        signin_buttons(providers)
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
