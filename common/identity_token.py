"""Signed proofs of who a customer is, each bound to one purpose.

Four kinds, all keyed by ``CAREDESK_SECRET_KEY`` (older keys still verify during a rotation):

- **Tokens** (PyJWT, HS256) that cross a process boundary: the shop's login cookie
  (``shop-login``) and the identity the shop page hands the chat widget (``chat-identity``).
  Each purpose signs with its own derived key and names itself as the audience, so a login cookie
  is worthless as a chat identity and the other way round. ``kid`` names the key, so a rotated
  key keeps verifying old tokens until they expire.
- **Assertions** a channel puts in a message's metadata after it checked a token or a linked
  account: ``{"cid": 42, "sig": ...}`` with the signature bound to the conversation id, so
  copying one into another conversation proves nothing. No bearer token is ever stored.
- **Chat proofs** an action keeps in a slot after in-chat verification: ``cid.expiry.sig``, bound
  to the conversation id and expiring, so a slot set any other way, or carried to another
  conversation, or kept past its time, proves nothing.
- **Suggestion links**: the chat's "Add to basket" link carries the suggestion's id and a signature
  bound to that id and the product, so the shop counts it as followed only when the chat made it
  (anyone can call the shop's pages; an unsigned id would let them inflate the reports' follow rates).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable

import jwt

LOGIN = "shop-login"
CHAT_IDENTITY = "chat-identity"
PURPOSES = (LOGIN, CHAT_IDENTITY)
DEFAULT_TTL_S = 3600
CHAT_PROOF_TTL_S = 30 * 60
MAX_TOKEN_LENGTH = 1024
ALGORITHM = "HS256"


def _derived_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"caredesk:{purpose}".encode(), hashlib.sha256).digest()


def _key_id(secret: str) -> str:
    return hashlib.sha256(_derived_key(secret, "key-id")).hexdigest()[:12]


def _secrets(secret: str | Iterable[str]) -> list[str]:
    return [secret] if isinstance(secret, str) else [s for s in secret if s]


def issue(customer_id: int, secret: str | Iterable[str], purpose: str, ttl_s: int = DEFAULT_TTL_S,
          now: float | None = None) -> str:
    """A token naming ``customer_id`` for ``purpose``, signed with the current (first) secret."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    current = _secrets(secret)[0]
    now = time.time() if now is None else now
    claims = {"sub": str(int(customer_id)), "aud": purpose, "iat": int(now), "exp": int(now + ttl_s)}
    return jwt.encode(claims, _derived_key(current, purpose), algorithm=ALGORITHM,
                      headers={"kid": _key_id(current)})


def verify(token: object, secret: str | Iterable[str], purpose: str, now: float | None = None) -> int | None:
    """The customer id a valid ``purpose`` token names, or None (missing, malformed, forged,
    expired, for another purpose, or signed with a key we do not hold)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    keys = [s for s in _secrets(secret) if _key_id(s) == kid]
    if not keys:
        return None
    try:
        claims = jwt.decode(token, _derived_key(keys[0], purpose), algorithms=[ALGORITHM], audience=purpose,
                            options={"require": ["exp", "sub", "aud"], "verify_exp": False, "verify_iat": False})
        customer_id, expires = int(claims["sub"]), int(claims["exp"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return customer_id if expires >= (time.time() if now is None else now) else None


def _sign(secret: str, purpose: str, message: str) -> str:
    digest = hmac.new(_derived_key(secret, purpose), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def assert_identity(conversation_id: str, customer_id: int, secret: str | Iterable[str]) -> dict:
    """What a channel puts in a message's metadata after it established who is talking."""
    current = _secrets(secret)[0]
    return {"cid": int(customer_id), "sig": _sign(current, "assertion", f"{conversation_id}|{int(customer_id)}")}


def asserted_customer(assertion: object, conversation_id: str, secret: str | Iterable[str]) -> int | None:
    """The customer id of a channel's assertion for this conversation, or None."""
    if not isinstance(assertion, dict):
        return None
    cid, sig = assertion.get("cid"), assertion.get("sig")
    if not isinstance(cid, int) or isinstance(cid, bool) or not isinstance(sig, str) or not sig.isascii():
        return None
    for key in _secrets(secret):
        if hmac.compare_digest(sig, _sign(key, "assertion", f"{conversation_id}|{cid}")):
            return cid
    return None


def chat_proof(conversation_id: str, customer_id: int, secret: str | Iterable[str],
               ttl_s: int = CHAT_PROOF_TTL_S, now: float | None = None) -> str:
    """The slot value that remembers an in-chat verification in this conversation, for ``ttl_s``."""
    current = _secrets(secret)[0]
    expires = int((time.time() if now is None else now) + ttl_s)
    body = f"{int(customer_id)}.{expires}"
    return f"{body}.{_sign(current, 'chat-proof', f'{conversation_id}|{body}')}"


def proven_customer(proof: object, conversation_id: str, secret: str | Iterable[str],
                    now: float | None = None) -> int | None:
    """The customer id a chat proof names if it was made for this conversation and has not expired."""
    if not isinstance(proof, str) or len(proof) > 200 or not proof.isascii() or proof.count(".") != 2:
        return None
    cid, expires, sig = proof.split(".")
    if not (cid.isdigit() and expires.isdigit()):
        return None
    if int(expires) < (time.time() if now is None else now):
        return None
    for key in _secrets(secret):
        if hmac.compare_digest(sig, _sign(key, "chat-proof", f"{conversation_id}|{cid}.{expires}")):
            return int(cid)
    return None


def keyed_hash(value: str, secret: str | Iterable[str], purpose: str, length: int = 32) -> str:
    """A stable pseudonym for ``value`` (a client address, a web session key) that cannot be reversed."""
    current = _secrets(secret)[0]
    return hmac.new(_derived_key(current, purpose), value.encode(), hashlib.sha256).hexdigest()[:length]


SUGGESTION_LINK = "suggestion-link"
MAX_SIGNATURE_LENGTH = 64


def suggestion_signature(suggestion_id: int, sku: str, secret: str | Iterable[str]) -> str:
    """What a suggestion's shop link carries beside its id: bound to the id and the product."""
    return _sign(_secrets(secret)[0], SUGGESTION_LINK, f"{int(suggestion_id)}|{sku}")


def signed_suggestion(suggestion_id: object, sku: str, signature: object, secret: str | Iterable[str]) -> int | None:
    """The suggestion id of a shop link if the chat signed it for this product, or None."""
    if not isinstance(suggestion_id, str) or not suggestion_id.isascii() or not suggestion_id.isdigit():
        return None
    if len(suggestion_id) > 12 or not isinstance(signature, str) or not signature.isascii() \
            or not signature or len(signature) > MAX_SIGNATURE_LENGTH:
        return None
    for key in _secrets(secret):
        if hmac.compare_digest(signature, _sign(key, SUGGESTION_LINK, f"{int(suggestion_id)}|{sku}")):
            return int(suggestion_id)
    return None
