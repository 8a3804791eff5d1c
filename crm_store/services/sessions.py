"""Console log-in sessions: a random token in the browser's cookie, only its sha256 stored here with
the session's CSRF token. Logging out, disabling the user or the session's age ends it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from crm_store import models
from crm_store.services._common import audit, utcnow
from crm_store.services.users import UserInfo, authenticate, user_info
from crm_store.unit_of_work import UnitOfWork

LIFETIME = timedelta(hours=12)
MAX_TOKEN = 200


@dataclass(frozen=True)
class ConsoleSession:
    user: UserInfo
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Login:
    token: str  # for the cookie only; never stored
    session: ConsoleSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(username: str, password: str, uow: UnitOfWork, *, client: str = "",
           now: datetime | None = None) -> Login | None:
    """A new session if the password is the enabled user's, else None (recorded either way)."""
    now = now or utcnow()
    user = authenticate(username, password, uow)
    with uow:
        if user is None:
            audit(uow.session, (username or "")[:64] or "?", "user", 0, "login_failed", now, client=client)
            uow.commit()
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + LIFETIME
        uow.session.execute(delete(models.ConsoleSession).where(models.ConsoleSession.expires_at < now))
        uow.session.add(models.ConsoleSession(token_hash=_hash(token), user_id=user.id, csrf_token=csrf,
                                              created_at=now, expires_at=expires))
        audit(uow.session, user.username, "user", user.id, "login", now, client=client)
        uow.commit()
        return Login(token, ConsoleSession(user, csrf, expires))


def session_for(token: object, uow: UnitOfWork, *, now: datetime | None = None) -> ConsoleSession | None:
    """The live session of an enabled user this cookie token belongs to, or None."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        return None
    now = now or utcnow()
    with uow:
        row = uow.session.execute(
            select(models.ConsoleSession, models.User)
            .join(models.User, models.User.id == models.ConsoleSession.user_id)
            .where(models.ConsoleSession.token_hash == _hash(token))).first()
        if row is None:
            return None
        session, user = row
        if session.expires_at <= now or user.disabled:
            return None
        return ConsoleSession(user_info(user), session.csrf_token, session.expires_at)


def log_out(token: object, uow: UnitOfWork, *, now: datetime | None = None) -> None:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        return
    now = now or utcnow()
    with uow:
        row = uow.session.get(models.ConsoleSession, _hash(token))
        if row is not None:
            user = uow.session.get(models.User, row.user_id)
            uow.session.delete(row)
            audit(uow.session, user.username if user else "?", "user", row.user_id, "logout", now)
            uow.commit()
