"""Single sign-on: staff signing in with their organisation's identity provider.

With an [auth] section in secrets.toml, staff may sign in with their organisation's identity
provider: st.login() runs the OpenID Connect flow, Streamlit keeps the identity in its own signed
cookie, and st.user holds its claims in every later browser session. How that becomes one of our
server-side sign-ins: program/sso.py derives the sign-in token from that one sign-in (issuer,
subject, issue time, nonce) with the app's secret, records it the first time it sees the sign-in
(only if it is fresh), and finds the same sign-in again on every run and every reload.
The token stays on the server (session_state of this browser session), never in a cookie.

Why not our own cookie: a Streamlit script cannot set one, so it would take an extra redirect
through a route plus a hand-off secret in a URL. Why not simply "st.user is signed in, so sign them
in": the identity cookie lives 30 days, so an idle timeout, a sign-out or an admin's "sign out
everywhere" would be undone by the next reload. Here a sign-in that ended stays ended, and only a
new sign-in at the identity provider (minutes old) starts another. Sign-out ends our sign-in and
then calls st.logout(), which clears Streamlit's identity cookie.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

import streamlit as st
from streamlit.errors import StreamlitAuthError

from program import auth, sso
from program.errors import AccessDenied
from program.markup import plain
from program.models import StaffUser
from ui.shared import settings, store
from ui.tokens import SSO_KEY, TOKEN_KEY, signin_token

SSO_PROBLEM_KEY = "sso_problem"
SSO_ENDED = "You have been signed out. Please sign in with your organisation again."


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


def single_sign_on_staff() -> StaffUser | None:
    """The staff member the identity provider vouches for in this browser session, if any."""
    if not sso_providers() or st.user.get("is_logged_in") is not True:
        return None
    identity = sso.Identity.from_claims(st.user.to_dict())
    try:
        token = sso.sign_in(store(), settings(), identity)
    except AccessDenied as exc:
        # Said on the sign-in screen, which reads it back (signin_buttons).
        st.session_state[SSO_PROBLEM_KEY] = str(exc)
        return None
    user = auth.resolve_signin(store(), settings(), token)
    if user is None:
        st.session_state[SSO_PROBLEM_KEY] = SSO_ENDED
        return None
    st.session_state[TOKEN_KEY] = st.session_state[SSO_KEY] = token
    return user


def signed_in_with_sso() -> bool:
    token = st.session_state.get(SSO_KEY)
    return token is not None and token == signin_token()


def sso_sign_out(viewer: StaffUser) -> NoReturn:
    """End our sign-in, then Streamlit's identity cookie (st.logout redirects the browser)."""
    token = st.session_state.pop(SSO_KEY)
    st.session_state.pop(TOKEN_KEY, None)
    auth.sign_out(store(), viewer, token)
    st.logout()
    st.stop()


def signin_buttons(providers: list[str | None]) -> None:
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
