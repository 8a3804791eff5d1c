from datetime import timedelta

import pytest
from sqlalchemy import select, update

from crm_store import errors, models
from crm_store.dto import AddressInfo
from crm_store.services import orders, outbox
from tests.integration.shop import count, order_ref

ANA, BEN = 1, 2


def test_list_orders_shows_only_own_orders_newest_first(uow_factory):
    listed = orders.list_orders(ANA, uow_factory(), limit=10)
    assert listed, "Ana has orders in the demo shop"
    assert [o.placed_at for o in listed] == sorted((o.placed_at for o in listed), reverse=True)
    bens = {o.reference for o in orders.list_orders(BEN, uow_factory(), limit=100)}
    assert not bens & {o.reference for o in listed}


def test_status_of_a_shipped_order_has_carrier_tracking_and_eta(uow_factory):
    ref = order_ref(uow_factory(), ANA, "shipped")
    status = orders.order_status(ANA, ref, uow_factory())
    assert status.status == "shipped"
    assert status.carrier in ("DHL", "UPS", "DPD", "GLS")
    assert status.tracking_number and status.tracking_number in status.tracking_url
    assert status.eta is not None and status.delivered_at is None
    assert status.lines


def test_status_of_someone_elses_order_is_refused(uow_factory):
    ref = order_ref(uow_factory(), BEN, "shipped")
    with pytest.raises(errors.NotOrderOwner):
        orders.order_status(ANA, ref, uow_factory())


def test_unknown_order_is_not_found(uow_factory):
    with pytest.raises(errors.OrderNotFound):
        orders.order_status(ANA, "CD-ZZZZZZ", uow_factory())


@pytest.mark.parametrize("bad", ["", "'; DROP TABLE orders; --", "x" * 500, "CD-12 OR 1=1"])
def test_malformed_references_are_rejected_and_nothing_is_lost(uow_factory, bad):
    before = count(uow_factory(), models.Order)
    with pytest.raises(errors.InvalidInput):
        orders.order_status(ANA, bad, uow_factory())
    assert count(uow_factory(), models.Order) == before


def test_references_are_forgiving_about_case_spaces_and_hash(uow_factory):
    ref = order_ref(uow_factory(), ANA, "shipped")
    messy = "#" + ref.lower().replace("-", "- ")
    assert orders.order_status(ANA, messy, uow_factory()).reference == ref


def test_cancelling_a_paid_order_creates_a_pending_refund_and_an_audit_row(uow_factory):
    ref = order_ref(uow_factory(), ANA, "paid")
    result = orders.cancel_order(ANA, ref, uow_factory())
    assert result.status == "cancelled" and result.fee_cents == 0
    assert result.refund is not None and result.refund.status == "pending"
    assert result.refund.expected_by is not None
    assert orders.order_status(ANA, ref, uow_factory()).status == "cancelled"
    assert count(uow_factory(), models.AuditLog, models.AuditLog.action == "cancel") == 1


def test_no_cancel_after_shipping(uow_factory):
    ref = order_ref(uow_factory(), ANA, "shipped")
    with pytest.raises(errors.NotCancellable):
        orders.cancel_order(ANA, ref, uow_factory())
    assert orders.order_status(ANA, ref, uow_factory()).status == "shipped"


def test_an_order_cannot_be_cancelled_twice(uow_factory):
    ref = order_ref(uow_factory(), ANA, "paid")
    orders.cancel_order(ANA, ref, uow_factory())
    with pytest.raises(errors.NotCancellable):
        orders.cancel_order(ANA, ref, uow_factory())


def test_nobody_cancels_someone_elses_order(uow_factory):
    ref = order_ref(uow_factory(), BEN, "paid")
    with pytest.raises(errors.NotOrderOwner):
        orders.cancel_order(ANA, ref, uow_factory())
    assert orders.order_status(BEN, ref, uow_factory()).status == "paid"


def test_packed_orders_cost_the_policy_fee_which_the_refund_deducts(uow_factory):
    ref = order_ref(uow_factory(), ANA, "paid")
    with uow_factory() as uow:  # move the demo order on to 'packed', as the warehouse would
        order = uow.session.execute(
            select(models.Order).where(models.Order.reference == ref)
        ).scalar_one()
        order.status = "packed"
        total = order.total_cents
        uow.commit()
    assert orders.cancellation_fee(ANA, ref, uow_factory()) == 250
    result = orders.cancel_order(ANA, ref, uow_factory())
    assert result.refund.amount_cents == total - 250


ADDRESS = AddressInfo(line1="5 New Street", line2=None, city="Utrecht", postcode="3511 AB", country="NL")


def test_address_changes_before_shipping(uow_factory):
    ref = order_ref(uow_factory(), ANA, "paid")
    status = orders.change_shipping_address(ANA, ref, ADDRESS, uow_factory())
    assert status.ship_to == "5 New Street, 3511 AB Utrecht"


def test_address_cannot_change_after_shipping(uow_factory):
    ref = order_ref(uow_factory(), ANA, "shipped")
    with pytest.raises(errors.AddressNotChangeable):
        orders.change_shipping_address(ANA, ref, ADDRESS, uow_factory())


def test_an_invalid_address_is_refused(uow_factory):
    ref = order_ref(uow_factory(), ANA, "paid")
    bad = AddressInfo(line1="", line2=None, city="X", postcode="1", country="Netherlands")
    with pytest.raises(errors.InvalidInput):
        orders.change_shipping_address(ANA, ref, bad, uow_factory())


def test_an_address_change_waits_for_the_customers_yes_in_that_conversation(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "paid")
    before = orders.order_status(ANA, ref, uow_factory()).ship_to
    held = orders.propose_address_change(ANA, ref, ADDRESS, uow_factory(), conversation="web:a", now=as_of)
    assert held.preview == "5 N** S*****, 35** ** Utrecht, NL" and "New Street" not in held.preview
    assert orders.order_status(ANA, ref, uow_factory()).ship_to == before
    with pytest.raises(errors.NothingToConfirm):  # not from another conversation
        orders.confirm_address_change(ANA, ref, uow_factory(), conversation="web:b", now=as_of)
    status = orders.confirm_address_change(ANA, ref, uow_factory(), conversation="web:a", now=as_of)
    assert status.ship_to == "5 New Street, 3511 AB Utrecht"
    with pytest.raises(errors.NothingToConfirm):  # once
        orders.confirm_address_change(ANA, ref, uow_factory(), conversation="web:a", now=as_of)


def test_an_address_change_tells_the_customers_email_without_the_full_address(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "paid")
    orders.propose_address_change(ANA, ref, ADDRESS, uow_factory(), conversation="web:a", now=as_of)
    orders.confirm_address_change(ANA, ref, uow_factory(), conversation="web:a", actor="chat:web:a", now=as_of)
    [notice] = outbox.for_customer(ANA, uow_factory())
    assert notice.recipient == "ana@example.com" and notice.sent_at is None and notice.kind == "address_changed"
    assert ref in notice.subject and "5 N** S*****, 35** ** Utrecht, NL" in notice.body
    assert "New Street" not in notice.body and "3511 AB" not in notice.body


def test_a_held_address_change_expires_and_a_no_forgets_it(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "paid")
    orders.propose_address_change(ANA, ref, ADDRESS, uow_factory(), conversation="web:a", now=as_of)
    with pytest.raises(errors.NothingToConfirm):
        orders.confirm_address_change(ANA, ref, uow_factory(), conversation="web:a", now=as_of + timedelta(hours=1))
    orders.propose_address_change(ANA, ref, ADDRESS, uow_factory(), conversation="web:a", now=as_of)
    orders.discard_address_change(ANA, uow_factory(), conversation="web:a")
    assert count(uow_factory(), models.PendingChange) == 0
    with pytest.raises(errors.NothingToConfirm):
        orders.confirm_address_change(ANA, ref, uow_factory(), conversation="web:a", now=as_of)
    assert outbox.for_customer(ANA, uow_factory()) == []


def test_a_held_address_change_applies_only_to_its_order_and_not_after_shipping(uow_factory, as_of):
    ref, other = order_ref(uow_factory(), ANA, "paid"), order_ref(uow_factory(), ANA, "shipped")
    with pytest.raises(errors.AddressNotChangeable):
        orders.propose_address_change(ANA, other, ADDRESS, uow_factory(), conversation="web:a", now=as_of)
    with pytest.raises(errors.NotOrderOwner):
        orders.propose_address_change(BEN, ref, ADDRESS, uow_factory(), conversation="web:a", now=as_of)
    orders.propose_address_change(ANA, ref, ADDRESS, uow_factory(), conversation="web:a", now=as_of)
    with pytest.raises(errors.NothingToConfirm):
        orders.confirm_address_change(ANA, other, uow_factory(), conversation="web:a", now=as_of)
    with uow_factory() as uow:  # the warehouse ships it meanwhile
        uow.session.execute(update(models.Order).where(models.Order.reference == ref).values(status="shipped"))
        uow.commit()
    with pytest.raises(errors.AddressNotChangeable):
        orders.confirm_address_change(ANA, ref, uow_factory(), conversation="web:a", now=as_of)


def test_the_mailer_marks_a_notice_sent_once(uow_factory):
    ref = order_ref(uow_factory(), ANA, "paid")
    orders.change_shipping_address(ANA, ref, ADDRESS, uow_factory())
    [notice] = [m for m in outbox.unsent(uow_factory()) if m.customer_id == ANA]
    assert outbox.mark_sent(notice.id, uow_factory()) is True
    assert outbox.mark_sent(notice.id, uow_factory()) is False
    assert all(m.id != notice.id for m in outbox.unsent(uow_factory()))
