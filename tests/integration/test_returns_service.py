from datetime import timedelta

import pytest

from crm_store import errors
from crm_store.services import orders, returns
from tests.integration.shop import delivered_ref, order_ref

ANA = 1


def test_a_recent_delivery_can_be_returned(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 20)
    info = returns.start_return(ANA, ref, "too small", uow_factory(), now=as_of)
    assert info.status == "requested" and info.return_by > as_of.date()


def test_no_return_outside_the_return_window(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 40, 400)
    with pytest.raises(errors.ReturnWindowClosed):
        returns.start_return(ANA, ref, "changed my mind", uow_factory(), now=as_of)


def test_an_undelivered_order_cannot_be_returned(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "shipped")
    with pytest.raises(errors.NotReturnable):
        returns.start_return(ANA, ref, "late", uow_factory(), now=as_of)


def test_one_open_return_per_order(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 20)
    returns.start_return(ANA, ref, "too big", uow_factory(), now=as_of)
    with pytest.raises(errors.NotReturnable):
        returns.start_return(ANA, ref, "too big", uow_factory(), now=as_of)


def test_receiving_a_return_refunds_the_order_and_the_refund_can_be_tracked(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 20)
    assert returns.refund_status(ANA, ref, uow_factory()) is None
    returns.start_return(ANA, ref, "damaged", uow_factory(), now=as_of)
    returns.receive_return(ANA, ref, uow_factory(), now=as_of + timedelta(days=3))
    refund = returns.refund_status(ANA, ref, uow_factory())
    assert refund.status == "pending" and refund.reason == "return"
    assert refund.expected_by == (as_of + timedelta(days=10)).date()
    assert orders.order_status(ANA, ref, uow_factory()).status == "returned"


def test_refund_status_of_someone_elses_order_is_refused(uow_factory, as_of):
    ref = order_ref(uow_factory(), 2, "shipped")
    with pytest.raises(errors.NotOrderOwner):
        returns.refund_status(ANA, ref, uow_factory())
