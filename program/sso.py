"""Single sign-on: which staff member an identity from the organisation's identity provider is.

The identity provider (OpenID Connect, through Streamlit's st.login) proves who someone is; this
module decides which staff account that is, an active account with the same email, and records the
same kind of server-side sign-in a password opens, so idle timeouts, signing out, "sign out
everywhere" and deactivation end it the same way. The UI hands over the identity's claims as plain
data: program/ never imports Streamlit.

One sign-in at the identity provider makes at most one sign-in here. Its token is derived from
that sign-in (issuer, subject, issue time, nonce) with the app's secret, so every reload of the
same browser finds the same sign-in again, and a sign-in that ended stays ended: only a new sign-in
at the identity provider, issued minutes ago, starts a new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from program import auth
from program.errors import AccessDenied
from program.models import StaffUser
from program.settings import Settings
from program.store import Store

# A sign-in at the identity provider signs someone in here only this soon after it was issued; a
# stale identity cookie (Streamlit keeps it for 30 days) must not quietly sign anyone in again.
FRESH_FOR = dt.timedelta(minutes=10)
# The identity provider's clock may run a little ahead of ours.
CLOCK_SKEW = dt.timedelta(minutes=2)

NO_ACCOUNT = "No active staff account uses this email; ask an admin to add it."
NO_EMAIL = (
    "Your organisation's sign-in did not include an email address, so it cannot be matched to a"
    " staff account. Ask an admin to check the single sign-on set-up."
)
UNVERIFIED = (
    "Your organisation has not verified this email address, so it cannot be used to sign in."
    " Verify it with your organisation first, or sign in with your password."
)
STALE = "That sign-in with your organisation is too old to sign you in here. Please sign in again."


@dataclass(frozen=True)
class Identity:
    """What the identity provider said about the person, from its ID token's claims."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool | None
    issued_at: dt.datetime | None  # local time without a zone, like auth.now()
    nonce: str | None

    @classmethod
    def from_claims(cls, claims: Mapping[str, object]) -> Identity:
        """Read the standard OpenID Connect claims (st.user holds them after st.login)."""
        email = claims.get("email")
        iat = claims.get("iat")
        nonce = claims.get("nonce")
        issued_at = (
            dt.datetime.fromtimestamp(iat)
            if isinstance(iat, int | float) and not isinstance(iat, bool)
            else None
        )
        return cls(
            issuer=str(claims.get("iss") or ""),
            subject=str(claims.get("sub") or ""),
            email=email.strip() if isinstance(email, str) and email.strip() else None,
            email_verified=_verified(claims.get("email_verified")),
            issued_at=issued_at,
            nonce=nonce if isinstance(nonce, str) else None,
        )


def _verified(value: object) -> bool | None:
    """`email_verified` as a bool; some providers send the strings "true" and "false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def staff_for_identity(store: Store, email: str | None, email_verified: bool | None) -> StaffUser:
    """The active staff member whose email (compared without case) the identity provider vouches for.

    `email_verified=None` means the provider did not say (many do not send the claim); only an
    explicit False is refused.
    """
    email = (email or "").strip()
    if not email:
        raise AccessDenied(NO_EMAIL)
    if email_verified is False:
        raise AccessDenied(UNVERIFIED)
    user = store.staff_user_by_email(email.lower())
    if user is None or not user.active:
        raise AccessDenied(NO_ACCOUNT)
    return user


def signin_token(settings: Settings, identity: Identity) -> str:
    """The sign-in token of one sign-in at the identity provider; it never leaves the server."""
    sign_in = json.dumps(
        [
            "single sign-on",
            identity.issuer,
            identity.subject,
            identity.issued_at.isoformat() if identity.issued_at else None,
            identity.nonce,
        ]
    )
    digest = hmac.new(auth.session_secret(settings), sign_in.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_in(
    store: Store, settings: Settings, identity: Identity, at: dt.datetime | None = None
) -> str:
    """The sign-in token for this sign-in at the identity provider, recording it on first use.

    Raises AccessDenied when no active staff account matches, or when the sign-in is too old to
    start a new one (the person then signs in at the identity provider again). A token recorded
    before is returned whatever its state: `auth.resolve_signin` then says whether it is still
    signed in.
    """
    at = at or auth.now()
    token = signin_token(settings, identity)
    digest = auth.token_hash(token)
    if store.signin(digest) is not None:
        return token
    user = staff_for_identity(store, identity.email, identity.email_verified)
    if not _fresh(identity, at):
        raise AccessDenied(STALE)
    detail = f"{(identity.email or '').lower()} via {identity.issuer or 'the identity provider'}"
    store.start_sso_signin(user, digest, at, detail)
    return token


def _fresh(identity: Identity, at: dt.datetime) -> bool:
    issued = identity.issued_at
    return issued is not None and at - FRESH_FOR <= issued <= at + CLOCK_SKEW
