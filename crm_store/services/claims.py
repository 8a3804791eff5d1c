"""After-delivery claims: an exchange for another size or colour, a damaged, wrong or missing item,
and a parcel marked delivered that never arrived.

Each claim is checked against the order and the shop's rules, then opens a ticket for the team and
an audit row on the order that names it, in one unit of work. While that ticket is open, the same
claim on the same order returns it instead of opening another.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from crm_store import dto, errors, models
from crm_store.policy import ShopPolicy, load_policy
from crm_store.services._common import audit, owned_order, utcnow
from crm_store.services._locks import lock_row
from crm_store.services.tickets import open_ticket
from crm_store.unit_of_work import UnitOfWork

# kind -> (ticket priority, what the team reads first)
KINDS = {
    "exchange": ("normal", "Exchange for another size or colour"),
    "damaged": ("high", "Item arrived damaged or faulty"),
    "wrong_item": ("high", "Wrong item delivered"),
    "missing_item": ("high", "Item missing from the parcel"),
    "not_received": ("high", "Parcel not received"),
}
MAX_DETAILS_LENGTH = 500


def open_claim(
    customer_id: int,
    reference: str,
    kind: str,
    details: str,
    uow: UnitOfWork,
    *,
    conversation_id: str | None = None,
    channel: str | None = None,
    actor: str = "customer",
    policy: ShopPolicy | None = None,
    now: datetime | None = None,
) -> dto.ClaimInfo:
    """Open claim ``kind`` on the customer's order; raises NotClaimable when the rules refuse it.

    The order row is locked before the checks, so two claims sent at once open one ticket.
    """
    if kind not in KINDS:
        raise errors.InvalidInput(f"unknown claim {kind!r}")
    policy = policy or load_policy()
    now = now or utcnow()
    details = " ".join((details or "").split())[:MAX_DETAILS_LENGTH] or "not given"
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        lock_row(uow.session, models.Order, order.id)
        uow.session.refresh(order)
        send_back_by = _check(uow, kind, order, policy, now)
        existing = _open_claim_ticket(uow, order.id, kind)
        if existing is not None:
            return dto.ClaimInfo(kind, order.reference, existing, True, send_back_by)
        priority, title = KINDS[kind]
        ticket = open_ticket(
            uow.session, customer_id=customer_id, reason=kind, priority=priority,
            summary=f"{title}: order {order.reference} ({_items(order)}).\nCustomer: {details}",
            conversation_id=conversation_id, channel=channel, now=now, actor=actor)
        audit(uow.session, actor, "order", order.id, f"claim_{kind}", now, ticket=ticket.id, details=details)
        uow.commit()
        return dto.ClaimInfo(kind, order.reference, ticket.id, False, send_back_by)


def check_claim(
    customer_id: int, reference: str, kind: str, uow: UnitOfWork, *, policy: ShopPolicy | None = None,
    now: datetime | None = None,
) -> date | None:
    """Whether claim ``kind`` may be opened on the order now (raises NotClaimable if not); for an
    exchange, the last day to send the item back."""
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        return _check(uow, kind, order, policy or load_policy(), now or utcnow())


def _items(order: models.Order) -> str:
    return ", ".join(f"{line.quantity}x {line.product.name}" for line in order.lines)


def _delivered_on(order: models.Order) -> date | None:
    delivered = order.shipment.delivered_at if order.shipment else None
    return delivered.date() if order.status == "delivered" and delivered else None


def _check(uow: UnitOfWork, kind: str, order: models.Order, policy: ShopPolicy, now: datetime) -> date | None:
    """The last day to send an exchanged item back (exchanges only), or the rule that refuses."""
    ref = order.reference
    if kind == "not_received" and order.status == "shipped" and order.shipment is not None:
        eta = order.shipment.eta
        if now.date() <= eta + timedelta(days=policy.claim_late_after_days):
            raise errors.NotClaimable(f"order {ref} is on its way", why="on_its_way", eta=eta)
        return None
    delivered = _delivered_on(order)
    if delivered is None:
        why = "not_shipped" if order.status in ("placed", "paid", "packed") else "not_delivered"
        raise errors.NotClaimable(f"order {ref} is {order.status}", why=why)
    days = policy.return_window_days if kind == "exchange" else policy.claim_report_days
    last_day = delivered + timedelta(days=days)
    if now.date() > last_day:
        raise errors.NotClaimable(f"the {days} days after delivery ended on {last_day}", why="window_closed")
    if kind != "exchange":
        return None
    open_return = uow.session.execute(select(models.Return.id).where(
        models.Return.order_id == order.id, models.Return.status.in_(("requested", "received")))).first()
    if open_return is not None:
        raise errors.NotClaimable(f"a return for {ref} is already open", why="return_open")
    return last_day


def _open_claim_ticket(uow: UnitOfWork, order_id: int, kind: str) -> int | None:
    """The still open ticket of an earlier claim of this kind on this order, if any."""
    rows = uow.session.execute(select(models.AuditLog.detail).where(
        models.AuditLog.entity == "order", models.AuditLog.entity_id == order_id,
        models.AuditLog.action == f"claim_{kind}")).scalars()
    ticket_ids = [d.get("ticket") for d in rows if isinstance(d, dict) and d.get("ticket")]
    if not ticket_ids:
        return None
    return uow.session.execute(select(models.Ticket.id).where(
        models.Ticket.id.in_(ticket_ids), models.Ticket.status.in_(("open", "assigned")))
        .order_by(models.Ticket.id.desc())).scalars().first()
