"""Support tickets: opened by the assistant or an agent, assigned, closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from crm_store import dto, errors, models
from crm_store.privacy import redact
from crm_store.services._common import audit, ticket_info, utcnow
from crm_store.unit_of_work import UnitOfWork

PRIORITIES = ("low", "normal", "high", "urgent")
MAX_SUMMARY_LENGTH = 8000


def redacted_summary(summary: str, conversation_id: str | None) -> str:
    """The summary with the customer's personal data redacted (whoever wrote it: the escalation,
    the issue form, a change request quoting the customer). The conversation id is kept as it is:
    a Telegram chat id looks like a phone number but is what the agent needs."""
    if not conversation_id:
        return redact(summary)
    return conversation_id.join(redact(part) for part in summary.split(conversation_id))


def open_ticket(
    session: Session,
    *,
    customer_id: int | None,
    reason: str,
    priority: str,
    summary: str,
    conversation_id: str | None,
    channel: str | None,
    now: datetime,
    actor: str = "assistant",
) -> models.Ticket:
    """Add a ticket inside an open unit of work (used by other services)."""
    if priority not in PRIORITIES:
        raise errors.InvalidInput(f"priority must be one of {', '.join(PRIORITIES)}")
    ticket = models.Ticket(
        customer_id=customer_id,
        reason=reason[:60],
        priority=priority,
        status="open",
        summary=redacted_summary(summary, conversation_id)[:MAX_SUMMARY_LENGTH],
        conversation_id=conversation_id,
        channel=channel,
        created_at=now,
    )
    session.add(ticket)
    session.flush()
    audit(session, actor, "ticket", ticket.id, "open", now, reason=reason, priority=priority)
    return ticket


def create_ticket(
    uow: UnitOfWork,
    *,
    customer_id: int | None,
    reason: str,
    priority: str = "normal",
    summary: str = "",
    conversation_id: str | None = None,
    channel: str | None = None,
    actor: str = "assistant",
    now: datetime | None = None,
) -> dto.TicketInfo:
    now = now or utcnow()
    with uow:
        ticket = open_ticket(
            uow.session,
            customer_id=customer_id,
            reason=reason,
            priority=priority,
            summary=summary,
            conversation_id=conversation_id,
            channel=channel,
            now=now,
            actor=actor,
        )
        uow.commit()
        return ticket_info(ticket)


def list_tickets(
    uow: UnitOfWork, *, status: str | tuple[str, ...] | None = "open", limit: int = 50
) -> list[dto.TicketInfo]:
    """Tickets in ``status`` (one or several), most urgent and oldest first."""
    urgency = case({p: i for i, p in enumerate(reversed(PRIORITIES))}, value=models.Ticket.priority)
    query = select(models.Ticket)
    if status:
        query = query.where(models.Ticket.status.in_((status,) if isinstance(status, str) else status))
    with uow:
        found = uow.session.execute(query.order_by(urgency, models.Ticket.created_at).limit(limit)).scalars()
        return [ticket_info(t) for t in found]


def active_tickets_for_conversation(conversation_id: str, uow: UnitOfWork) -> list[dto.TicketInfo]:
    """The open or assigned tickets of one conversation."""
    with uow:
        found = uow.session.execute(select(models.Ticket).where(
            models.Ticket.conversation_id == conversation_id,
            models.Ticket.status.in_(("open", "assigned"))).order_by(models.Ticket.id)).scalars()
        return [ticket_info(t) for t in found]


def _ticket(uow: UnitOfWork, ticket_id: int) -> models.Ticket:
    ticket = uow.session.get(models.Ticket, ticket_id)
    if ticket is None:
        raise errors.TicketNotFound(str(ticket_id))
    return ticket


def assign_ticket(
    ticket_id: int, assignee: str, uow: UnitOfWork, *, now: datetime | None = None
) -> dto.TicketInfo:
    now = now or utcnow()
    with uow:
        ticket = _ticket(uow, ticket_id)
        if ticket.status == "closed":
            raise errors.InvalidInput(f"ticket {ticket_id} is closed")
        ticket.assignee = assignee
        ticket.status = "assigned"
        audit(uow.session, assignee, "ticket", ticket.id, "assign", now)
        uow.commit()
        return ticket_info(ticket)


def close_ticket(
    ticket_id: int, uow: UnitOfWork, *, actor: str, now: datetime | None = None
) -> dto.TicketInfo:
    now = now or utcnow()
    with uow:
        ticket = _ticket(uow, ticket_id)
        ticket.status = "closed"
        ticket.closed_at = now
        audit(uow.session, actor, "ticket", ticket.id, "close", now)
        uow.commit()
        return ticket_info(ticket)
