"""The outbox: e-mails the CRM wants sent (e.g. a notice that contact details changed). The shop's
mailer takes the unsent ones, sends them and marks each sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from crm_store import dto, models
from crm_store.services._changes import outbox_info
from crm_store.services._common import utcnow
from crm_store.unit_of_work import UnitOfWork


def unsent(uow: UnitOfWork, *, limit: int = 100) -> list[dto.OutboxInfo]:
    """The oldest messages not sent yet."""
    with uow:
        rows = uow.session.execute(
            select(models.OutboxMessage).where(models.OutboxMessage.sent_at.is_(None))
            .order_by(models.OutboxMessage.id).limit(max(1, min(limit, 1000)))
        ).scalars()
        return [outbox_info(row) for row in rows]


def for_customer(customer_id: int, uow: UnitOfWork) -> list[dto.OutboxInfo]:
    """Every message to the customer, oldest first."""
    with uow:
        rows = uow.session.execute(
            select(models.OutboxMessage).where(models.OutboxMessage.customer_id == customer_id)
            .order_by(models.OutboxMessage.id)
        ).scalars()
        return [outbox_info(row) for row in rows]


def mark_sent(message_id: int, uow: UnitOfWork, *, now: datetime | None = None) -> bool:
    """Record that the mailer sent it; False if it was already marked (another mailer got there first)."""
    with uow:
        result = uow.session.execute(
            update(models.OutboxMessage)
            .where(models.OutboxMessage.id == message_id, models.OutboxMessage.sent_at.is_(None))
            .values(sent_at=now or utcnow())
        )
        uow.commit()
        return result.rowcount == 1
