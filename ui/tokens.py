"""Which sign-in this browser session holds: the token from the signed cookie or session state."""

from __future__ import annotations

import streamlit as st

from program import auth
from ui.shared import settings

TOKEN_KEY = "staff_token"  # session_state fallback for the cookie (tests cannot send cookies)
SSO_KEY = "staff_sso_token"  # the token in TOKEN_KEY came from single sign-on


def signin_token() -> str | None:
    """The sign-in token from the signed cookie, or from session state (set by tests)."""
    cookie = st.context.cookies.get(auth.COOKIE_NAME)
    token = auth.read_cookie(cookie, auth.session_secret(settings())) if cookie else None
    return token or st.session_state.get(TOKEN_KEY)
