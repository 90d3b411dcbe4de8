"""Who is asking: passwords, the signed session cookie, bearer tokens and CSRF tokens.

A session is a token of :mod:`operative.core.tokens` (HMAC under ``Settings.secret_key``, with its
own purpose and an expiry) carrying the username and a random CSRF value; it lives in an
HttpOnly, SameSite=Lax cookie. Every mutating request made with the cookie must repeat the
CSRF value, in the ``csrf_token`` form field or the ``X-CSRF-Token`` header: another site can
make a browser send the cookie, but cannot read the value. A bearer token (``POST
/api/token``) is never sent by a browser on its own, so requests carrying one need no CSRF
value. The user's roles are read from the database on every request, so a role taken away or
an account disabled takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from operative.core import clock, tokens
from operative.core.settings import get_settings
from operative.models import OFFICER_ROLES, User

if TYPE_CHECKING:
    from pwdlib import PasswordHash

SESSION_COOKIE = "operative_session"
SIGNIN_COOKIE = "operative_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_PURPOSE = "web-session"
API_PURPOSE = "api-token"
SIGNIN_PURPOSE = "web-signin"
SESSION_LIFETIME = dt.timedelta(hours=12)
SIGNIN_LIFETIME = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Principal:
    """A signed-in user as this request sees them."""

    username: str
    name: str
    roles: frozenset[str]
    via: Literal["cookie", "bearer"]
    csrf: str | None = None

    @property
    def can_change(self) -> bool:
        """Anything beyond viewing: viewers change nothing."""
        return bool(self.roles - {"viewer"})

    @property
    def is_officer(self) -> bool:
        return bool(self.roles & OFFICER_ROLES)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    from pwdlib import PasswordHash

    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Verified against when the user is unknown, so a wrong name takes as long as a wrong password.
    return _hasher().hash(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None."""
    hasher = _hasher()
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None or not user.active or not user.password_hash:
        hasher.verify(password, _decoy_hash())
        return None
    return user if hasher.verify(password, user.password_hash) else None


def new_session(username: str) -> tuple[str, str]:
    """A session cookie value for ``username`` and the CSRF value inside it."""
    csrf = secrets.token_urlsafe(24)
    token = tokens.sign(
        SESSION_PURPOSE, {"u": username, "c": csrf}, expires_at=clock.now() + SESSION_LIFETIME
    )
    return token, csrf


def new_api_token(username: str) -> tuple[str, dt.datetime]:
    """A bearer token for ``username`` and when it expires."""
    expires_at = (clock.now() + SESSION_LIFETIME).replace(microsecond=0)
    return tokens.sign(API_PURPOSE, {"u": username}, expires_at=expires_at), expires_at


def new_signin_token() -> tuple[str, str]:
    """A cookie value and CSRF value for the sign-in form (there is no session yet)."""
    csrf = secrets.token_urlsafe(24)
    return tokens.sign(SIGNIN_PURPOSE, {"c": csrf}, expires_at=clock.now() + SIGNIN_LIFETIME), csrf


def signin_csrf(cookie: str | None) -> str | None:
    """The CSRF value a sign-in cookie carries, if it verifies."""
    if not cookie:
        return None
    try:
        value = tokens.verify(cookie, SIGNIN_PURPOSE, at=clock.now()).get("c")
    except tokens.TokenError:
        return None
    return value if isinstance(value, str) else None


def _claims(token: str, purpose: str) -> dict[str, object] | None:
    try:
        return tokens.verify(token, purpose, at=clock.now())
    except tokens.TokenError:
        return None


@dataclass(frozen=True)
class Claims:
    """What a verified session cookie or bearer token says, before the user's row is read."""

    username: str
    via: Literal["cookie", "bearer"]
    csrf: str | None


def claims_of(*, cookie: str | None, authorization: str | None) -> Claims | None:
    """The verified claims of a request: by bearer token first, then by session cookie (no
    I/O: an HMAC and a JSON decode)."""
    via: Literal["cookie", "bearer"]
    claims = None
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        claims, via = _claims(credentials.strip(), API_PURPOSE), "bearer"
    elif cookie:
        claims, via = _claims(cookie, SESSION_PURPOSE), "cookie"
    username = claims.get("u") if claims else None
    if not claims or not isinstance(username, str):
        return None
    csrf = claims.get("c") if via == "cookie" else None
    return Claims(username, via, csrf if isinstance(csrf, str) else None)


# Built once: every request reads its user, and building the statement cost more than
# running it.
_USER_QUERY = sa.select(col(User.name), col(User.roles), col(User.active)).where(
    col(User.username) == sa.bindparam("username")
)


def principal_of(session: Session, claims: Claims | None) -> Principal | None:
    """The active user the claims name, read from the database (roles taken away or an
    account disabled count at once), or None."""
    if claims is None:
        return None
    row = session.connection().execute(_USER_QUERY, {"username": claims.username}).first()
    if row is None or not row.active:
        return None
    return Principal(
        username=claims.username,
        name=row.name,
        roles=frozenset(row.roles),
        via=claims.via,
        csrf=claims.csrf,
    )


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Whether a submitted CSRF value is the expected one (constant-time)."""
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def portal_csrf(token: str) -> str:
    """The CSRF value of a Member State's portal form: bound to its link, needs no cookie."""
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, b"portal-form\x1f" + token.encode(), hashlib.sha256).hexdigest()[:32]
