"""Signed identity tokens: how a channel vouches for which CRM customer is talking.

A token is ``<payload>.<signature>``: the payload is base64url JSON ``{"cid": 42, "exp": 1700000000}``,
the signature an HMAC-SHA256 of the payload with the server secret. Only code holding the secret
can make one; a forged, altered or expired token verifies as nobody.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

DEFAULT_TTL_S = 3600
MAX_TOKEN_LENGTH = 512


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue(customer_id: int, secret: str, ttl_s: int = DEFAULT_TTL_S, now: float | None = None) -> str:
    now = time.time() if now is None else now
    payload = _b64(json.dumps({"cid": int(customer_id), "exp": int(now + ttl_s)}).encode())
    return f"{payload}.{_signature(payload, secret)}"


def verify(token: object, secret: str, now: float | None = None) -> int | None:
    """The customer id the token names, or None if it is missing, malformed, forged or expired."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    if not hmac.compare_digest(signature, _signature(payload, secret)):
        return None
    try:
        claims = json.loads(_unb64(payload))
        customer_id, expires = int(claims["cid"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires < (time.time() if now is None else now):
        return None
    return customer_id
