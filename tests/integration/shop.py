"""Finding seeded rows for tests (tests may read the models; production callers may not)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from crm_store import models
from crm_store.unit_of_work import UnitOfWork


def order_ref(uow: UnitOfWork, customer_id: int, status: str) -> str:
    """The newest of the customer's orders in ``status``."""
    with uow:
        ref = uow.session.execute(
            select(models.Order.reference)
            .where(models.Order.customer_id == customer_id, models.Order.status == status)
            .order_by(models.Order.placed_at.desc())
        ).scalars().first()
    assert ref, f"customer {customer_id} has no {status} order in the seeded shop"
    return ref


def delivered_ref(uow: UnitOfWork, customer_id: int, as_of: datetime, min_days: int, max_days: int) -> str:
    """A delivered order with no return, delivered between ``min_days`` and ``max_days`` ago."""
    with uow:
        ref = uow.session.execute(
            select(models.Order.reference)
            .join(models.Shipment, models.Shipment.order_id == models.Order.id)
            .outerjoin(models.Return, models.Return.order_id == models.Order.id)
            .where(
                models.Order.customer_id == customer_id,
                models.Order.status == "delivered",
                models.Return.id.is_(None),
                models.Shipment.delivered_at <= as_of - timedelta(days=min_days),
                models.Shipment.delivered_at >= as_of - timedelta(days=max_days),
            )
        ).scalars().first()
    assert ref, f"customer {customer_id} has no order delivered {min_days}-{max_days} days ago"
    return ref


def customer_email(uow: UnitOfWork, customer_id: int) -> str:
    with uow:
        return uow.session.get(models.Customer, customer_id).email


def count(uow: UnitOfWork, model, *where) -> int:
    with uow:
        return uow.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
