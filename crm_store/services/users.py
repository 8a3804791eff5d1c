"""People who work the support desk: agents and admins, their passwords and personal API tokens.

Passwords are hashed with scrypt from the standard library (no argon2 or bcrypt package is in the
lock file, and scrypt is memory-hard, which is what matters against GPU guessing): a random 16-byte
salt per password and OWASP's parameters (N=2^17, r=8, p=1, about 0.3 s and 128 MiB here). The
parameters are stored with each hash, so they can be raised later without breaking old hashes.
Comparisons are constant-time, and an unknown user name costs the same as a wrong password.

A personal API token is 32 random bytes shown once; only its sha256 is kept (a hash of that much
randomness cannot be guessed back, so a slow hash would add nothing but latency per request).
Each user has at most one token: making a new one ends the old one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from crm_store import errors, models
from crm_store.services._common import audit, utcnow
from crm_store.unit_of_work import UnitOfWork

ROLES = ("agent", "admin", "analyst")  # analysts read the reports only, without personal data
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "cdu_"
MAX_TOKEN_LENGTH = 200
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAXMEM = 256 * 1024 * 1024
SALT_BYTES, KEY_BYTES = 16, 32


class UserNotFound(errors.CareDeskError):
    code = "user_not_found"


@dataclass(frozen=True)
class UserInfo:
    """A user as callers see it: never the password hash nor the token hash."""

    id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime
    has_token: bool
    token_created_at: datetime | None


@dataclass(frozen=True)
class NewUser:
    user: UserInfo
    password: str  # the one given, or the generated one (shown once)
    token: str  # the personal API token (shown once)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$n$r$p$salt$key`` for ``password``, with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=KEY_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(key)
        actual = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=SCRYPT_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Checked when the user name is unknown, so that case takes as long as a wrong password.
_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def user_info(user: models.User) -> UserInfo:
    return UserInfo(id=user.id, username=user.username, role=user.role, disabled=user.disabled,
                    created_at=user.created_at, has_token=user.token_hash is not None,
                    token_created_at=user.token_created_at)


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise errors.InvalidInput(f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")


def _user(uow: UnitOfWork, username: str, *, lock: bool = False) -> models.User:
    query = select(models.User).where(models.User.username == username)
    user = uow.session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if user is None:
        raise UserNotFound(username)
    return user


def add_user(
    username: str, role: str, uow: UnitOfWork, *, password: str | None = None, actor: str = "cli",
    now: datetime | None = None,
) -> NewUser:
    """A new enabled user with a password (given, or generated) and a personal API token."""
    now = now or utcnow()
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise errors.InvalidInput("a user name is 2 to 64 of a-z, 0-9, '.', '_' and '-', "
                                  "starting with a letter or digit")
    if role not in ROLES:
        raise errors.InvalidInput(f"role must be one of {', '.join(ROLES)}")
    password = generate_password() if password is None else password
    _check_password(password)
    token = _new_token()
    hashed = hash_password(password)
    with uow:
        if uow.session.execute(select(models.User.id).where(models.User.username == username)).first():
            raise errors.InvalidInput(f"user {username!r} already exists")
        user = models.User(username=username, role=role, password_hash=hashed, token_hash=token_hash(token),
                           token_created_at=now, disabled=False, created_at=now)
        uow.session.add(user)
        uow.session.flush()
        audit(uow.session, actor, "user", user.id, "add", now, username=username, role=role)
        uow.commit()
        return NewUser(user_info(user), password, token)


def list_users(uow: UnitOfWork) -> list[UserInfo]:
    with uow:
        return [user_info(u) for u in uow.session.execute(select(models.User).order_by(models.User.username)).scalars()]


def disable_user(username: str, uow: UnitOfWork, *, actor: str = "cli", now: datetime | None = None) -> UserInfo:
    """The user can no longer sign in nor use their token (it is also dropped)."""
    now = now or utcnow()
    with uow:
        user = _user(uow, username, lock=True)
        user.disabled = True
        user.token_hash = None
        audit(uow.session, actor, "user", user.id, "disable", now)
        uow.commit()
        return user_info(user)


def issue_token(username: str, uow: UnitOfWork, *, actor: str = "cli", now: datetime | None = None) -> str:
    """A new personal API token for an enabled user; the previous one stops working at once."""
    now = now or utcnow()
    token = _new_token()
    with uow:
        user = _user(uow, username, lock=True)
        if user.disabled:
            raise errors.InvalidInput(f"user {username!r} is disabled")
        user.token_hash, user.token_created_at = token_hash(token), now
        audit(uow.session, actor, "user", user.id, "new_token", now)
        uow.commit()
    return token


def user_for_token(token: object, uow: UnitOfWork) -> UserInfo | None:
    """The enabled user whose personal API token this is, or None."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    with uow:
        user = uow.session.execute(
            select(models.User).where(models.User.token_hash == token_hash(token))).scalar_one_or_none()
        return user_info(user) if user is not None and not user.disabled else None


def authenticate(username: str, password: str, uow: UnitOfWork) -> UserInfo | None:
    """The enabled user if ``password`` is theirs, else None (unknown, disabled and wrong alike)."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return None
    with uow:
        user = uow.session.execute(select(models.User).where(
            models.User.username == (username or "").strip().lower())).scalar_one_or_none()
        stored = user.password_hash if user is not None else _dummy_hash()
        matches = password_matches(password, stored)
        return user_info(user) if matches and user is not None and not user.disabled else None
