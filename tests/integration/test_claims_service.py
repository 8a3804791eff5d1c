"""Exchanges and delivery claims (crm_store/services/claims.py) against a seeded CRM."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_store import errors, models
from crm_store.policy import load_policy
from crm_store.services import claims, returns, tickets
from tests.integration.shop import count, delivered_ref, order_ref

ANA, BEN = 1, 2


def _eta(uow, reference):
    with uow:
        return uow.session.execute(select(models.Shipment.eta).join(models.Order).where(
            models.Order.reference == reference)).scalar_one()


def test_an_exchange_on_a_recent_delivery_opens_a_ticket_tied_to_the_order(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 20)
    claim = claims.open_claim(ANA, ref, "exchange", "size 43 instead of 42", uow_factory(), now=as_of,
                              conversation_id="web:abc", channel="web")
    assert claim.kind == "exchange" and claim.order_reference == ref and not claim.already_open
    ticket = next(t for t in tickets.list_tickets(uow_factory()) if t.id == claim.ticket_id)
    assert ticket.reason == "exchange" and ticket.customer_id == ANA and ticket.conversation_id == "web:abc"
    assert ref in ticket.summary and "size 43 instead of 42" in ticket.summary
    assert count(uow_factory(), models.AuditLog, models.AuditLog.action == "claim_exchange") == 1
    # The item goes back inside the return window.
    assert as_of.date() < claim.send_back_by <= as_of.date() + timedelta(days=load_policy().return_window_days)


def test_the_same_claim_again_returns_the_open_ticket_instead_of_a_second(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 10)
    first = claims.open_claim(ANA, ref, "damaged", "cracked lid", uow_factory(), now=as_of)
    again = claims.open_claim(ANA, ref, "damaged", "cracked lid!!", uow_factory(), now=as_of)
    assert again.already_open and again.ticket_id == first.ticket_id
    assert count(uow_factory(), models.Ticket, models.Ticket.reason == "damaged") == 1
    # Once the team closed it, a new report opens a new ticket; another kind is its own claim.
    tickets.close_ticket(first.ticket_id, uow_factory(), actor="maria")
    assert not claims.open_claim(ANA, ref, "damaged", "still cracked", uow_factory(), now=as_of).already_open
    assert not claims.open_claim(ANA, ref, "missing_item", "no charger", uow_factory(), now=as_of).already_open


def test_an_exchange_after_the_return_window_is_refused_and_nothing_is_written(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 40, 400)
    before = count(uow_factory(), models.Ticket)
    with pytest.raises(errors.NotClaimable) as refused:
        claims.open_claim(ANA, ref, "exchange", "size M", uow_factory(), now=as_of)
    assert refused.value.why == "window_closed"
    assert count(uow_factory(), models.Ticket) == before


def test_no_exchange_while_a_return_of_the_order_is_open(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 20)
    returns.start_return(ANA, ref, "too small", uow_factory(), now=as_of)
    with pytest.raises(errors.NotClaimable) as refused:
        claims.open_claim(ANA, ref, "exchange", "size L", uow_factory(), now=as_of)
    assert refused.value.why == "return_open"


def test_damage_is_reported_within_the_claim_window_only(uow_factory, as_of):
    days = load_policy().claim_report_days
    ref = delivered_ref(uow_factory(), ANA, as_of, days + 1, 400)
    with pytest.raises(errors.NotClaimable) as refused:
        claims.check_claim(ANA, ref, "damaged", uow_factory(), now=as_of)
    assert refused.value.why == "window_closed"


def test_a_parcel_on_its_way_counts_as_lost_only_once_it_is_late(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "shipped")
    eta = _eta(uow_factory(), ref)
    on_time = as_of.replace(year=eta.year, month=eta.month, day=eta.day)
    with pytest.raises(errors.NotClaimable) as refused:
        claims.open_claim(ANA, ref, "not_received", "nothing came", uow_factory(), now=on_time)
    assert refused.value.why == "on_its_way" and refused.value.eta == eta
    late = on_time + timedelta(days=load_policy().claim_late_after_days + 1)
    claim = claims.open_claim(ANA, ref, "not_received", "nothing came", uow_factory(), now=late)
    assert claim.kind == "not_received" and not claim.already_open


def test_an_order_that_has_not_shipped_has_nothing_to_claim(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "paid")
    for kind in ("exchange", "damaged", "not_received"):
        with pytest.raises(errors.NotClaimable) as refused:
            claims.check_claim(ANA, ref, kind, uow_factory(), now=as_of)
        assert refused.value.why == "not_shipped"


def test_someone_elses_order_is_refused_like_an_unknown_one(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), BEN, as_of, 1, 20)
    with pytest.raises(errors.NotOrderOwner):
        claims.open_claim(ANA, ref, "exchange", "size M", uow_factory(), now=as_of)
    with pytest.raises(errors.OrderNotFound):
        claims.open_claim(ANA, "CD-ZZZZZZ", "exchange", "size M", uow_factory(), now=as_of)


def test_an_unknown_kind_of_claim_is_invalid_input(uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 20)
    with pytest.raises(errors.InvalidInput):
        claims.open_claim(ANA, ref, "upgrade", "", uow_factory(), now=as_of)
