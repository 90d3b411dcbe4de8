"""Signed, expiring tokens: decisions handed to a paused flow, and Member States' portal links.

A token is ``<payload>.<signature>``: the payload is URL-safe base64 of compact JSON holding a
purpose, an expiry and the caller's claims; the signature is HMAC-SHA256 under the secret key.
The purpose is signed too, so a portal link can never pass as a decision token or the reverse.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from operative.core import clock
from operative.core.settings import get_settings
from operative.errors import Forbidden


class TokenError(Forbidden):
    """A token that is malformed, forged, expired or meant for something else."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, key: bytes | None = None) -> str:
    secret = key or get_settings().secret_key.get_secret_value().encode()
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def sign(purpose: str, claims: dict[str, Any], *, expires_at: dt.datetime) -> str:
    """A token for ``purpose`` carrying ``claims``, valid until ``expires_at``."""
    body = {"p": purpose, "exp": int(expires_at.timestamp()), **claims}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_signature(payload)}"


def verify(token: str, purpose: str, *, at: dt.datetime | None = None) -> dict[str, Any]:
    """The claims of a valid token for ``purpose``; :class:`TokenError` otherwise."""
    claims = _signed_claims(token)
    if not isinstance(claims, dict) or claims.get("p") != purpose:
        raise TokenError(f"token is not a {purpose} token")
    now = at or clock.now()
    if not isinstance(claims.get("exp"), int) or claims["exp"] < now.timestamp():
        raise TokenError("token has expired")
    return {name: value for name, value in claims.items() if name not in {"p", "exp"}}


def _signed_claims(token: str) -> Any:
    """What a token's payload decodes to, once its signature holds; :class:`TokenError` if the
    token is malformed or its signature does not match."""
    payload, dot, signature = token.strip().partition(".")
    if not dot or not payload or not signature:
        raise TokenError("malformed token")
    if not hmac.compare_digest(signature, _signature(payload)):
        raise TokenError("token signature does not match (forged or altered)")
    try:
        return json.loads(_unb64(payload))
    except ValueError:
        raise TokenError("malformed token") from None
