"""Whether agents are taking chats: an agent is available while they say so and their console was
seen within the policy's ``console.presence_seconds`` (a closed laptop stops counting by itself)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from crm_store import models
from crm_store.policy import load_policy
from crm_store.services._common import audit, utcnow
from crm_store.unit_of_work import UnitOfWork


def _presence(uow: UnitOfWork, user_id: int, now: datetime) -> models.AgentPresence:
    row = uow.session.get(models.AgentPresence, user_id)
    if row is None:
        row = models.AgentPresence(user_id=user_id, available=False, seen_at=now)
        uow.session.add(row)
    return row


def set_available(user_id: int, available: bool, uow: UnitOfWork, *, actor: str,
                  now: datetime | None = None) -> None:
    """The agent starts or stops taking chats (recorded in the audit log)."""
    now = now or utcnow()
    with uow:
        row = _presence(uow, user_id, now)
        row.available, row.seen_at = bool(available), now
        audit(uow.session, actor, "user", user_id, "available" if available else "away", now)
        uow.commit()


def seen(user_id: int, uow: UnitOfWork, *, now: datetime | None = None) -> None:
    """The agent's console is open (a heartbeat); availability is unchanged."""
    now = now or utcnow()
    with uow:
        _presence(uow, user_id, now).seen_at = now
        uow.commit()


def available_agents_in(uow: UnitOfWork, now: datetime, window_seconds: int | None = None) -> list[str]:
    """User names of enabled agents and admins taking chats now, inside an open unit of work."""
    window = timedelta(seconds=window_seconds if window_seconds is not None else load_policy().presence_seconds)
    rows = uow.session.execute(
        select(models.User.username).join(models.AgentPresence, models.AgentPresence.user_id == models.User.id)
        .where(models.AgentPresence.available.is_(True), models.AgentPresence.seen_at >= now - window,
               models.User.disabled.is_(False))
        .order_by(models.User.username)).scalars()
    return list(rows)


def available_agents(uow: UnitOfWork, *, now: datetime | None = None) -> list[str]:
    with uow:
        return available_agents_in(uow, now or utcnow())


def is_available(user_id: int, uow: UnitOfWork, *, now: datetime | None = None) -> bool:
    now = now or utcnow()
    with uow:
        row = uow.session.get(models.AgentPresence, user_id)
        window = timedelta(seconds=load_policy().presence_seconds)
        return bool(row is not None and row.available and row.seen_at >= now - window)
