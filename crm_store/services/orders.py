"""Orders: look-up, status with shipment, cancellation and address changes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import select, update

from crm_store import dto, errors, models
from crm_store.policy import ShopPolicy, load_policy
from crm_store.services import _changes
from crm_store.services._common import (  # noqa: F401  (normalise_reference is public here)
    audit,
    line_items,
    normalise_reference,
    owned_order,
    refund_info,
    utcnow,
)
from crm_store.services._locks import commit_once, lock_row
from crm_store.unit_of_work import UnitOfWork


def cancellable_statuses(policy: ShopPolicy | None = None) -> tuple[str, ...]:
    """Order statuses the shop's policy lets a customer cancel in."""
    return (policy or load_policy()).cancellable_statuses


def address_change_statuses(policy: ShopPolicy | None = None) -> tuple[str, ...]:
    """Order statuses the shop's policy lets a customer change the delivery address in."""
    return (policy or load_policy()).address_change_statuses


# Orders still on their way to the customer (not delivered, cancelled or returned).
OPEN_STATUSES = ("placed", "paid", "packed", "shipped")


def can_cancel(status: str, policy: ShopPolicy | None = None) -> bool:
    return status in cancellable_statuses(policy)


def can_change_address(status: str, policy: ShopPolicy | None = None) -> bool:
    return status in address_change_statuses(policy)


def list_orders(customer_id: int, uow: UnitOfWork, limit: int = 5) -> list[dto.OrderSummary]:
    """The customer's most recent orders, newest first."""
    with uow:
        orders = (
            uow.session.execute(
                select(models.Order)
                .where(models.Order.customer_id == customer_id)
                .order_by(models.Order.placed_at.desc())
                .limit(limit)
            )
            .scalars()
            .all()
        )
        return [
            dto.OrderSummary(
                reference=o.reference,
                status=o.status,
                placed_at=o.placed_at,
                total_cents=o.total_cents,
                currency=o.currency,
                item_count=sum(line.quantity for line in o.lines),
            )
            for o in orders
        ]


def order_status(
    customer_id: int, reference: str, uow: UnitOfWork, policy: ShopPolicy | None = None
) -> dto.OrderStatus:
    """Status of one of the customer's orders, with carrier, tracking and ETA once shipped."""
    policy = policy or load_policy()
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        shipment = order.shipment
        return dto.OrderStatus(
            reference=order.reference,
            status=order.status,
            placed_at=order.placed_at,
            total_cents=order.total_cents,
            currency=order.currency,
            delivery_option=order.delivery_option,
            payment_method=order.payment_method,
            lines=line_items(order),
            carrier=shipment.carrier if shipment else None,
            tracking_number=shipment.tracking_number if shipment else None,
            tracking_url=(
                policy.tracking_url(shipment.carrier, shipment.tracking_number) if shipment else None
            ),
            eta=shipment.eta if shipment else None,
            shipped_at=shipment.shipped_at if shipment else None,
            delivered_at=shipment.delivered_at if shipment else None,
            ship_to=f"{order.ship_line1}, {order.ship_postcode} {order.ship_city}",
        )


def cancellation_fee(
    customer_id: int, reference: str, uow: UnitOfWork, policy: ShopPolicy | None = None
) -> int:
    """What cancelling the order would cost now; raises NotCancellable when it is too late."""
    policy = policy or load_policy()
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        return _fee_or_refuse(order, policy)


def _fee_or_refuse(order: models.Order, policy: ShopPolicy) -> int:
    if order.status not in policy.cancellation_fee_cents:
        raise errors.NotCancellable(f"order {order.reference} is {order.status}")
    return policy.cancellation_fee_cents[order.status]


def cancel_order(
    customer_id: int,
    reference: str,
    uow: UnitOfWork,
    *,
    actor: str = "customer",
    policy: ShopPolicy | None = None,
    now: datetime | None = None,
) -> dto.CancelResult:
    """Cancel an order that has not shipped; a paid order gets a refund, less any fee.

    Safe under concurrency: the status changes only if it is still the one the fee was worked out
    from (an atomic conditional update), so of two simultaneous cancellations one wins and the other
    gets NotCancellable, as a later call would; the refund table also allows one refund per order.
    """
    policy = policy or load_policy()
    now = now or utcnow()
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        fee = _fee_or_refuse(order, policy)
        previous = order.status
        claimed = uow.session.execute(
            update(models.Order)
            .where(models.Order.id == order.id, models.Order.status == previous)
            .values(status="cancelled", cancelled_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise errors.NotCancellable(f"order {order.reference} is no longer {previous}")
        uow.session.refresh(order)
        refund = None
        if order.paid_at is not None:
            refund = models.Refund(
                order_id=order.id,
                reason="cancellation",
                amount_cents=max(order.total_cents - fee, 0),
                status="pending",
                created_at=now,
            )
            uow.session.add(refund)
        audit(uow.session, actor, "order", order.id, "cancel", now, previous=previous, fee=fee)
        commit_once(uow, errors.NotCancellable(f"order {order.reference} is already refunded"))
        expected = (now + timedelta(days=policy.refund_processing_days)).date()
        return dto.CancelResult(
            reference=order.reference,
            status=order.status,
            fee_cents=fee,
            refund=refund_info(order, refund, expected) if refund else None,
        )


def change_shipping_address(
    customer_id: int,
    reference: str,
    address: dto.AddressInfo,
    uow: UnitOfWork,
    *,
    actor: str = "customer",
    policy: ShopPolicy | None = None,
    now: datetime | None = None,
) -> dto.OrderStatus:
    """Send an order that has not shipped yet to another address (the team's path; a chat asks
    first with propose_address_change). The customer's e-mail gets a notice through the outbox."""
    policy = policy or load_policy()
    now = now or utcnow()
    _validate_address(address)
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        _apply_address(uow, order, address, actor, policy, now)
        uow.commit()
    return order_status(customer_id, reference, uow, policy)


def _changeable_order(uow: UnitOfWork, order: models.Order, policy: ShopPolicy) -> None:
    lock_row(uow.session, models.Order, order.id)  # not while it is being packed off or cancelled
    uow.session.refresh(order)
    if order.status not in policy.address_change_statuses:
        raise errors.AddressNotChangeable(f"order {order.reference} is {order.status}")


def _apply_address(uow: UnitOfWork, order: models.Order, address: dto.AddressInfo, actor: str,
                   policy: ShopPolicy, now: datetime) -> None:
    _changeable_order(uow, order, policy)
    before = f"{order.ship_line1}, {order.ship_postcode} {order.ship_city}"
    order.ship_line1 = address.line1
    order.ship_line2 = address.line2
    order.ship_city = address.city
    order.ship_postcode = address.postcode
    order.ship_country = address.country
    order.updated_at = now
    audit(uow.session, actor, "order", order.id, "change_address", now, before=before)
    customer = order.customer
    how = "in a chat with our assistant" if actor.startswith("chat:") else "by our team"
    _changes.notify(
        uow.session, customer.id, customer.email, "address_changed",
        f"Order {order.reference} will go to a new address",
        f"Hello {customer.name},\n\nThe delivery address of order {order.reference} was changed {how} on "
        f"{now:%Y-%m-%d at %H:%M} UTC to: {_changes.mask_address(address)}.\n\nIf that was you, there is "
        "nothing to do. If it was not, reply to this e-mail or contact our customer service at once, "
        "before the order ships.", now)


def propose_address_change(
    customer_id: int,
    reference: str,
    address: dto.AddressInfo,
    uow: UnitOfWork,
    *,
    conversation: str,
    policy: ShopPolicy | None = None,
    now: datetime | None = None,
) -> dto.PendingChangeInfo:
    """Check the order and the address and hold the change until the customer confirms in
    ``conversation``; the preview masks the address."""
    policy = policy or load_policy()
    now = now or utcnow()
    _validate_address(address)
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        if order.status not in policy.address_change_statuses:
            raise errors.AddressNotChangeable(f"order {order.reference} is {order.status}")
        _changes.hold(uow.session, customer_id, conversation, "address", asdict(address), now, order_id=order.id)
        uow.commit()
    return dto.PendingChangeInfo(kind="address", preview=_changes.mask_address(address),
                                 expires_at=now + _changes.PENDING_TTL)


def confirm_address_change(
    customer_id: int,
    reference: str,
    uow: UnitOfWork,
    *,
    conversation: str,
    actor: str = "customer",
    policy: ShopPolicy | None = None,
    now: datetime | None = None,
) -> dto.OrderStatus:
    """Apply the address held for this order, customer and conversation (once; NothingToConfirm if
    none is waiting or it expired), with its notice to the customer's e-mail."""
    policy = policy or load_policy()
    now = now or utcnow()
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        pending = _changes.take(uow.session, customer_id, conversation, "address", now)
        if pending.order_id != order.id:
            raise errors.NothingToConfirm(f"no address change is waiting for {order.reference}")
        _apply_address(uow, order, dto.AddressInfo(**pending.payload), actor, policy, now)
        uow.commit()
    return order_status(customer_id, reference, uow, policy)


def discard_address_change(customer_id: int, uow: UnitOfWork, *, conversation: str) -> None:
    """The customer said no: forget the held address."""
    with uow:
        _changes.drop(uow.session, customer_id, conversation, "address")
        uow.commit()


def _validate_address(address: dto.AddressInfo) -> None:
    for name in ("line1", "city", "postcode", "country"):
        value = (getattr(address, name) or "").strip()
        if not value or len(value) > 200:
            raise errors.InvalidInput(f"address {name} is missing or too long")
    if len(address.country) != 2 or not address.country.isalpha():
        raise errors.InvalidInput("country must be a two-letter code")
