"""The audit log as the admins read it: who did what, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from crm_store import models
from crm_store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    entity: str
    entity_id: int
    action: str
    detail: dict


def recent(uow: UnitOfWork, *, limit: int = 200, actor: str | None = None) -> list[AuditEntry]:
    query = select(models.AuditLog).order_by(models.AuditLog.id.desc()).limit(limit)
    if actor is not None:
        query = query.where(models.AuditLog.actor == actor)
    with uow:
        return [AuditEntry(a.at, a.actor, a.entity, a.entity_id, a.action, dict(a.detail or {}))
                for a in uow.session.execute(query).scalars()]
