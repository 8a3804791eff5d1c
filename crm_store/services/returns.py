"""Returns and refunds: start a return inside the window, receive it, track the refund."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from crm_store import dto, errors, models
from crm_store.policy import ShopPolicy, load_policy
from crm_store.services._common import audit, owned_order, refund_info, utcnow
from crm_store.services._locks import commit_once, lock_row
from crm_store.unit_of_work import UnitOfWork

MAX_REASON_LENGTH = 200


def start_return(
    customer_id: int,
    reference: str,
    reason: str,
    uow: UnitOfWork,
    *,
    actor: str = "customer",
    policy: ShopPolicy | None = None,
    now: datetime | None = None,
) -> dto.ReturnInfo:
    """Open a return for a delivered order still inside the return window.

    The order row is locked before the checks, so of two simultaneous requests one opens the
    return and the other gets NotReturnable, as a later request would.
    """
    policy = policy or load_policy()
    now = now or utcnow()
    reason = (reason or "").strip()[:MAX_REASON_LENGTH] or "not given"
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        lock_row(uow.session, models.Order, order.id)
        uow.session.refresh(order)
        return_by = _check_returnable(uow, order, policy, now)
        ret = models.Return(order_id=order.id, reason=reason, status="requested", requested_at=now)
        uow.session.add(ret)
        audit(uow.session, actor, "order", order.id, "start_return", now, reason=reason)
        uow.commit()
        return dto.ReturnInfo(
            order_reference=order.reference,
            status=ret.status,
            reason=reason,
            requested_at=now,
            return_by=return_by,
        )


def _check_returnable(uow: UnitOfWork, order: models.Order, policy: ShopPolicy, now: datetime):
    """The last day a return is accepted, or the rule that refuses one."""
    delivered_at = order.shipment.delivered_at if order.shipment else None
    if order.status != "delivered" or delivered_at is None:
        raise errors.NotReturnable(f"order {order.reference} is {order.status}")
    return_by = (delivered_at + timedelta(days=policy.return_window_days)).date()
    if now.date() > return_by:
        raise errors.ReturnWindowClosed(f"the return window closed on {return_by}")
    if _open_return(uow, order.id) is not None:
        raise errors.NotReturnable(f"a return for {order.reference} is already open")
    return return_by


def return_deadline(
    customer_id: int, reference: str, uow: UnitOfWork, *, policy: ShopPolicy | None = None,
    now: datetime | None = None,
):
    """The last day the order can be returned; raises NotReturnable / ReturnWindowClosed."""
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        return _check_returnable(uow, order, policy or load_policy(), now or utcnow())


def _open_return(uow: UnitOfWork, order_id: int) -> models.Return | None:
    return uow.session.execute(
        select(models.Return).where(
            models.Return.order_id == order_id, models.Return.status.in_(("requested", "received"))
        )
    ).scalar_one_or_none()


def receive_return(
    customer_id: int,
    reference: str,
    uow: UnitOfWork,
    *,
    actor: str = "warehouse",
    now: datetime | None = None,
) -> dto.RefundInfo:
    """The parcel came back: the order is returned and a refund of its total is pending.

    The return moves on only if it is still ``requested`` (an atomic conditional update), so a
    parcel booked in twice at once is refunded once; the other call gets NotReturnable.
    """
    now = now or utcnow()
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        ret = _open_return(uow, order.id)
        waiting = errors.NotReturnable(f"no return is waiting for {order.reference}")
        if ret is None or ret.status != "requested":
            raise waiting
        claimed = uow.session.execute(
            update(models.Return).where(models.Return.id == ret.id, models.Return.status == "requested")
            .values(status="received").execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise waiting
        uow.session.refresh(ret)
        order.status = "returned"
        order.updated_at = now
        refund = models.Refund(
            order_id=order.id,
            return_id=ret.id,
            reason="return",
            amount_cents=order.total_cents,
            status="pending",
            created_at=now,
        )
        uow.session.add(refund)
        audit(uow.session, actor, "order", order.id, "receive_return", now)
        commit_once(uow, waiting)
        return refund_info(order, refund)


def refund_status(
    customer_id: int, reference: str, uow: UnitOfWork, policy: ShopPolicy | None = None
) -> dto.RefundInfo | None:
    """The latest refund of the order, with when it should arrive; None if there is none."""
    policy = policy or load_policy()
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        refund = uow.session.execute(
            select(models.Refund)
            .where(models.Refund.order_id == order.id)
            .order_by(models.Refund.created_at.desc(), models.Refund.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if refund is None:
            return None
        expected = None
        if refund.status == "pending":
            expected = (refund.created_at + timedelta(days=policy.refund_processing_days)).date()
        return refund_info(order, refund, expected)


def return_status(customer_id: int, reference: str, uow: UnitOfWork) -> dto.ReturnInfo | None:
    """The latest return of the order, or None."""
    policy = load_policy()
    with uow:
        order = owned_order(uow.session, customer_id, reference)
        ret = uow.session.execute(
            select(models.Return)
            .where(models.Return.order_id == order.id)
            .order_by(models.Return.requested_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if ret is None:
            return None
        delivered = order.shipment.delivered_at if order.shipment else ret.requested_at
        return dto.ReturnInfo(
            order_reference=order.reference,
            status=ret.status,
            reason=ret.reason,
            requested_at=ret.requested_at,
            return_by=(delivered + timedelta(days=policy.return_window_days)).date(),
        )
