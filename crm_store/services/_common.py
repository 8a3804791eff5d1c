"""Helpers the service modules share: clock, ownership checks, audit rows, mappers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store import dto, errors, models

MAX_REFERENCE_LENGTH = 20


def utcnow() -> datetime:
    return datetime.utcnow().replace(microsecond=0)


def normalise_reference(reference: str) -> str:
    """Upper-case, strip spaces and a leading '#'; refuse what cannot be a reference."""
    cleaned = (reference or "").strip().lstrip("#").replace(" ", "").upper()
    if not cleaned or len(cleaned) > MAX_REFERENCE_LENGTH or not cleaned.replace("-", "").isalnum():
        raise errors.InvalidInput("that does not look like an order reference")
    return cleaned


def owned_order(session: Session, customer_id: int, reference: str) -> models.Order:
    """The order ``reference`` if ``customer_id`` owns it; otherwise a typed error."""
    ref = normalise_reference(reference)
    order = session.execute(
        select(models.Order).where(models.Order.reference == ref)
    ).scalar_one_or_none()
    if order is None:
        raise errors.OrderNotFound(ref)
    if order.customer_id != customer_id:
        raise errors.NotOrderOwner(ref)
    return order


def audit(
    session: Session, actor: str, entity: str, entity_id: int, action: str, now: datetime, **detail
) -> None:
    session.add(
        models.AuditLog(
            at=now, actor=actor, entity=entity, entity_id=entity_id, action=action, detail=detail
        )
    )


def line_items(order: models.Order) -> tuple[dto.LineItem, ...]:
    return tuple(
        dto.LineItem(
            sku=line.product.sku,
            name=line.product.name,
            quantity=line.quantity,
            unit_price_cents=line.unit_price_cents,
        )
        for line in order.lines
    )


def refund_info(order: models.Order, refund: models.Refund, expected_by=None) -> dto.RefundInfo:
    return dto.RefundInfo(
        order_reference=order.reference,
        amount_cents=refund.amount_cents,
        currency=order.currency,
        status=refund.status,
        reason=refund.reason,
        created_at=refund.created_at,
        processed_at=refund.processed_at,
        expected_by=expected_by,
    )


def ticket_info(ticket: models.Ticket) -> dto.TicketInfo:
    return dto.TicketInfo(
        id=ticket.id,
        customer_id=ticket.customer_id,
        reason=ticket.reason,
        priority=ticket.priority,
        status=ticket.status,
        assignee=ticket.assignee,
        summary=ticket.summary,
        conversation_id=ticket.conversation_id,
        channel=ticket.channel,
        created_at=ticket.created_at,
        closed_at=ticket.closed_at,
        claimed_at=ticket.claimed_at,
        first_response_at=ticket.first_response_at,
        card=dict(ticket.card or {}),
    )
