"""Invoices of paid orders."""

from __future__ import annotations

from sqlalchemy import select

from crm_store import dto, errors, models
from crm_store.services._common import line_items, owned_order
from crm_store.unit_of_work import UnitOfWork


def get_invoice(customer_id: int, reference: str, uow: UnitOfWork) -> dto.InvoiceInfo:
    """The invoice of one of the customer's orders; unpaid orders have none yet."""
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        invoice = uow.session.execute(
            select(models.Invoice).where(models.Invoice.order_id == order.id)
        ).scalar_one_or_none()
        if invoice is None:
            raise errors.InvoiceNotIssued(f"order {order.reference} has no invoice yet")
        return dto.InvoiceInfo(
            number=invoice.number,
            order_reference=order.reference,
            issued_at=invoice.issued_at,
            amount_cents=invoice.amount_cents,
            currency=order.currency,
            lines=line_items(order),
        )
