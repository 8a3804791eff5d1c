"""Exchanges, delivery claims, where we ship, warranty, vouchers and stock: the actions against a
seeded CRM, called as the action server calls them."""

from datetime import datetime, timedelta

from sqlalchemy import select

from actions import claims as claim_actions
from actions import products, session, support
from crm_store import models
from crm_store.policy import load_policy
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import make_tracker, run, slot_sets, texts
from tests.integration.shop import count, order_ref

ANA, BEN = 1, 2


def _delivered_days_ago(url, days: int, customer_id: int = ANA) -> str:
    """One of the customer's delivered orders, moved to have been delivered ``days`` before the real
    today (actions use the real clock, the seeded shop a fixed date)."""
    with UnitOfWork(url) as uow:
        order = uow.session.execute(select(models.Order).where(
            models.Order.customer_id == customer_id, models.Order.status == "delivered")
            .order_by(models.Order.placed_at.desc())).scalars().first()
        order.shipment.delivered_at = datetime.utcnow() - timedelta(days=days)
        uow.commit()
        return order.reference


def _shipped_due_in(url, days: int) -> str:
    """One of Ana's shipped orders, expected ``days`` after the real today (negative: overdue)."""
    with UnitOfWork(url) as uow:
        order = uow.session.execute(select(models.Order).where(
            models.Order.customer_id == ANA, models.Order.status == "shipped")).scalars().first()
        order.shipment.eta = (datetime.utcnow() + timedelta(days=days)).date()
        uow.commit()
        return order.reference


async def test_an_unverified_exchange_starts_verification_and_remembers_what_was_asked(crm):
    events, messages = await run(claim_actions.ActionStartClaim(), make_tracker(
        text="i want to exchange my shoes for a bigger size", intent="exchange_item"))
    slots = slot_sets(events)
    assert slots["next_step"] == "verify" and slots["pending_action"] == "action_start_claim"
    assert slots["claim_kind"] == "exchange" and slots["claim_details"] == "a bigger size"
    assert "ticket" not in texts(messages)


async def test_after_verification_the_remembered_exchange_goes_on_to_the_form(crm):
    ref = _delivered_days_ago(crm, 5)
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref, "claim_kind": "exchange",
                                  "claim_details": "a bigger size", "pending_action": "action_start_claim"},
                           text="ana@example.com", intent="inform")
    events, _ = await run(session.ActionAfterVerification(), tracker)
    slots = slot_sets(events)
    assert slots["next_step"] == "claim_form" and slots["claim_kind"] == "exchange"
    assert slots["order_ref"] == ref and slots["claim_details"] == "a bigger size"


async def test_a_confirmed_exchange_opens_a_ticket_and_says_when_to_send_the_item_back(crm):
    ref = _delivered_days_ago(crm, 5)
    slots = {"customer_id": ANA, "order_ref": ref, "claim_kind": "exchange", "claim_details": "size 43"}
    _, asked = await run(claim_actions.ActionAskClaimConfirmed(), make_tracker(slots=slots))
    assert f"exchange order {ref}" in texts(asked) and "size 43" in texts(asked)
    events, messages = await run(claim_actions.ActionSubmitClaim(),
                                 make_tracker(slots={**slots, "confirmed": True}))
    with UnitOfWork(crm) as uow:
        opened = uow.session.execute(select(models.Ticket.id).where(models.Ticket.reason == "exchange")).scalar_one()
    reply = texts(messages)
    assert f"ticket #{opened}" in reply and "size 43" in reply and "free return label" in reply
    send_back_by = (datetime.utcnow() - timedelta(days=5) + timedelta(days=load_policy().return_window_days))
    assert send_back_by.strftime("%d %b %Y") in reply
    assert slot_sets(events)["claim_kind"] is None and slot_sets(events)["order_ref"] is None


async def test_saying_no_at_the_confirmation_opens_nothing(crm):
    ref = _delivered_days_ago(crm, 3)
    slots = {"customer_id": ANA, "order_ref": ref, "claim_kind": "wrong_item", "claim_details": "got a belt",
             "confirmed": False}
    _, messages = await run(claim_actions.ActionSubmitClaim(), make_tracker(slots=slots))
    assert "haven't reported anything" in texts(messages)
    assert count(UnitOfWork(crm), models.Ticket, models.Ticket.reason == "wrong_item") == 0


async def test_a_wrong_item_told_in_one_message_is_recognised_and_its_words_kept(crm):
    ref = _delivered_days_ago(crm, 2)
    events, _ = await run(claim_actions.ActionStartClaim(), make_tracker(
        slots={"customer_id": ANA, "order_ref": ref}, intent="report_item_problem",
        text="you sent me a different jacket than the one i ordered"))
    slots = slot_sets(events)
    assert slots["next_step"] == "claim_form" and slots["claim_kind"] == "wrong_item"
    assert slots["claim_details"] == "you sent me a different jacket than the one i ordered"


async def test_a_damage_report_on_an_old_delivery_is_refused_with_the_warranty_pointer(crm):
    ref = _delivered_days_ago(crm, load_policy().claim_report_days + 10)
    events, messages = await run(claim_actions.ActionStartClaim(), make_tracker(
        slots={"customer_id": ANA, "order_ref": ref}, intent="report_item_problem", text="it broke"))
    assert slot_sets(events)["next_step"] is None
    assert "too late" in texts(messages) and "warranty" in texts(messages)


async def test_not_received_while_still_on_time_answers_with_the_orders_status(crm):
    ref = _shipped_due_in(crm, 1)
    events, messages = await run(claim_actions.ActionStartClaim(), make_tracker(
        slots={"customer_id": ANA, "order_ref": ref}, intent="report_not_received", text="never received it"))
    assert slot_sets(events)["next_step"] is None
    assert "on its way" in texts(messages) and "isn't late yet" in texts(messages)
    assert count(UnitOfWork(crm), models.Ticket, models.Ticket.reason == "not_received") == 0


async def test_an_overdue_parcel_reported_as_not_received_asks_the_carrier(crm):
    ref = _shipped_due_in(crm, -(load_policy().claim_late_after_days + 2))
    slots = {"customer_id": ANA, "order_ref": ref}
    events, _ = await run(claim_actions.ActionStartClaim(), make_tracker(
        slots=slots, intent="report_not_received", text="it never came"))
    assert slot_sets(events)["next_step"] == "claim_form"
    _, messages = await run(claim_actions.ActionSubmitClaim(), make_tracker(slots={
        **slots, "claim_kind": "not_received", "claim_details": "it never came", "confirmed": True}))
    assert "asked the carrier" in texts(messages)
    assert count(UnitOfWork(crm), models.Ticket, models.Ticket.reason == "not_received") == 1


async def test_someone_elses_order_in_the_claim_form_is_refused_without_leaking_it(crm):
    ref = _delivered_days_ago(crm, 2, customer_id=BEN)
    tracker = make_tracker(slots={"customer_id": ANA, "claim_kind": "damaged"}, active_loop="claim_form")
    result = claim_actions.ValidateClaimForm().validate_order_ref(ref, *_dispatcher_and(tracker))
    assert result == {"order_ref": None}


def _dispatcher_and(tracker):
    from rasa_sdk.executor import CollectingDispatcher

    return CollectingDispatcher(), tracker, {}


async def test_an_order_not_yet_shipped_is_not_exchanged_but_changed(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    events, messages = await run(claim_actions.ActionStartClaim(), make_tracker(
        slots={"customer_id": ANA, "order_ref": ref}, intent="exchange_item", text="exchange for size L"))
    assert slot_sets(events)["next_step"] is None and "change the order" in texts(messages)


async def _policy_answer(text, intent="delivery_options"):
    _, messages = await run(support.ActionPolicyAnswer(), make_tracker(text=text, intent=intent))
    return texts(messages)


async def test_do_u_ship_to_india_answers_whether_we_ship_there_not_the_delivery_speeds(crm):
    reply = await _policy_answer("do u ship to india")
    assert "don't deliver to India" in reply and "Germany" in reply and "working days)" not in reply
    assert "Yes, we deliver to France" in await _policy_answer("Do you ship to France?")
    assert "We deliver to" in await _policy_answer("which countries do you ship to")
    # A country given as an entity (the spaCy pipeline's) counts too.
    _, messages = await run(support.ActionPolicyAnswer(), make_tracker(
        text="ship there?", intent="delivery_options", entities=[{"entity": "country", "value": "Japan"}]))
    assert "don't deliver to Japan" in texts(messages)
    # Without a country the delivery options answer as before.
    assert "Express delivery" in await _policy_answer("do you do express")


async def test_warranty_and_vouchers_come_from_the_policy(crm):
    policy = load_policy()
    warranty = await _policy_answer("warranty?", intent="check_warranty")
    assert f"{policy.warranty_years}-year guarantee" in warranty and "electronics 3 years" in warranty
    vouchers = await _policy_answer("promo code", intent="ask_voucher")
    assert f"use {policy.vouchers_per_order} code per order" in vouchers and "on sale" in vouchers
    assert f"{policy.newsletter_welcome_percent}% off" in vouchers


async def test_a_stock_question_answers_in_stock_or_sold_out_from_the_catalogue(crm):
    with UnitOfWork(crm) as uow:
        sold_out = uow.session.execute(select(models.Product).where(models.Product.stock == 0)).scalars().first()
        kind, name = sold_out.attributes["kind"].lower(), sold_out.name
    _, messages = await run(products.ActionProductSearch(), make_tracker(
        text=f"is the {kind} back in stock", intent="product_info"))
    reply = texts(messages)
    assert f"{name}: sold out" in reply
    policy = load_policy()
    assert f"within {policy.restock_days_min} to {policy.restock_days_max} days" in reply


async def test_a_claim_right_after_an_order_was_shown_is_about_that_order(crm):
    ref = _delivered_days_ago(crm, 2)
    events, _ = await run(claim_actions.ActionStartClaim(), make_tracker(
        slots={"customer_id": ANA, "order_in_focus": ref}, intent="report_item_problem",
        text="it arrived broken, the lid is cracked in two"))
    slots = slot_sets(events)
    assert slots["next_step"] == "claim_form" and slots["order_ref"] == ref and slots["claim_kind"] == "damaged"


async def test_someone_elses_order_in_focus_is_not_used(crm):
    ref = _delivered_days_ago(crm, 2, customer_id=BEN)
    events, messages = await run(claim_actions.ActionStartClaim(), make_tracker(
        slots={"customer_id": ANA, "order_in_focus": ref}, intent="exchange_item", text="exchange it for a large"))
    assert "order_ref" not in slot_sets(events) and ref not in texts(messages)
