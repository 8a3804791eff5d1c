"""Refund, invoice, account, product and support actions against a seeded CRM."""

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import account, products, refunds, support
from crm_store import models
from crm_store.services import accounts, outbox
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import load_domain, make_tracker, run, slot_sets, texts
from tests.integration.shop import count, order_ref

ANA = 1


def _delivered_days_ago(url, days: int) -> str:
    """One of Ana's delivered orders, moved to have been delivered ``days`` before the real today
    (actions use the real clock, the seeded shop a fixed date)."""
    from datetime import datetime, timedelta

    with UnitOfWork(url) as uow:
        order = uow.session.execute(select(models.Order).where(
            models.Order.customer_id == ANA, models.Order.status == "delivered")
            .order_by(models.Order.placed_at.desc())).scalars().first()
        order.shipment.delivered_at = datetime.utcnow() - timedelta(days=days)
        uow.commit()
        return order.reference


async def test_a_recent_delivery_starts_the_return_form_and_submitting_opens_a_return(crm):
    ref = _delivered_days_ago(crm, 5)
    slots = {"order_ref": ref, "customer_id": ANA}
    events, _ = await run(refunds.ActionStartReturn(), make_tracker(slots=slots, intent="get_refund"))
    assert slot_sets(events)["next_step"] == "return_form"
    _, messages = await run(refunds.ActionSubmitReturn(),
                            make_tracker(slots={**slots, "return_reason": "sleeves far too short"}))
    assert f"return for order {ref} is open" in texts(messages)
    assert count(UnitOfWork(crm), models.Return, models.Return.reason == "sleeves far too short") == 1


async def test_an_old_delivery_is_outside_the_return_window(crm):
    ref = _delivered_days_ago(crm, 70)
    events, messages = await run(refunds.ActionStartReturn(), make_tracker(
        slots={"order_ref": ref, "customer_id": ANA}, intent="get_refund"))
    assert slot_sets(events)["next_step"] is None and "return window" in texts(messages)


async def test_refund_status_of_a_cancelled_order(crm):
    from crm_store.services import orders

    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    result = orders.cancel_order(ANA, ref, UnitOfWork(crm))
    _, messages = await run(refunds.ActionTrackRefund(), make_tracker(
        slots={"order_ref": ref, "customer_id": ANA}, intent="track_refund"))
    assert f"refund of €{result.refund.amount_cents / 100:,.2f}" in texts(messages)


async def test_the_invoice_shows_number_and_total(crm):
    from crm_store.services import invoices

    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    invoice = invoices.get_invoice(ANA, ref, UnitOfWork(crm))
    _, messages = await run(refunds.ActionInvoice(), make_tracker(
        slots={"order_ref": ref, "customer_id": ANA}, intent="get_invoice"))
    assert invoice.number in texts(messages) and f"{invoice.amount_cents / 100:,.2f}" in texts(messages)


async def test_newsletter_follows_what_the_customer_says(crm):
    await run(account.ActionNewsletter(), make_tracker(
        slots={"customer_id": ANA}, text="unsubscribe me from the newsletter", intent="newsletter_subscription"))
    assert accounts.get_account(ANA, UnitOfWork(crm)).newsletter_opt_in is False
    _, messages = await run(account.ActionNewsletter(), make_tracker(
        slots={"customer_id": ANA}, text="sign me up for the newsletter", intent="newsletter_subscription"))
    assert accounts.get_account(ANA, UnitOfWork(crm)).newsletter_opt_in is True
    assert "subscribed" in texts(messages)


async def test_an_unclear_newsletter_request_asks_with_buttons(crm):
    _, messages = await run(account.ActionNewsletter(), make_tracker(
        slots={"customer_id": ANA}, text="newsletter", intent="newsletter_subscription"))
    assert [b["title"] for b in messages[0]["buttons"]] == ["Subscribe", "Unsubscribe"]


def _hold_contact(text: str, sender_id: str = "web:ana") -> dict:
    """The contact form's validation of the customer's answer, as the form runs it."""
    dispatcher = CollectingDispatcher()
    result = account.ValidateContactForm().validate_new_contact(
        text, dispatcher, make_tracker(slots={"customer_id": ANA}, sender_id=sender_id), {})
    assert dispatcher.messages == [] and result["new_contact"] == text
    return result


def _ask_text(name: str, **slots) -> str:
    return load_domain()["responses"][name][0]["text"].format(**slots)


async def test_a_contact_change_is_asked_masked_then_made_on_yes_with_a_notice_to_the_old_email(crm):
    held = _hold_contact("it's ana.new@example.org now")
    assert held["change_preview"] == "e-mail address to a***w@example.org"
    question = _ask_text("utter_ask_contact_form_confirmed", change_preview=held["change_preview"])
    assert "a***w@example.org" in question and "ana.new" not in question
    assert accounts.get_account(ANA, UnitOfWork(crm)).email == "ana@example.com"  # not before the yes
    # The next turn starts from the stored conversation, whose copy of the answer is redacted.
    _, messages = await run(account.ActionSubmitContact(), make_tracker(sender_id="web:ana", slots={
        "customer_id": ANA, "new_contact": "[contact]", "change_preview": held["change_preview"], "confirmed": True}))
    assert accounts.get_account(ANA, UnitOfWork(crm)).email == "ana.new@example.org"
    assert "a***w@example.org" in texts(messages) and "note" in texts(messages)
    [notice] = outbox.for_customer(ANA, UnitOfWork(crm))
    assert notice.recipient == "ana@example.com" and "ana.new" not in notice.body


async def test_saying_no_keeps_the_contact_details_and_drops_the_held_change(crm):
    _hold_contact("+31 6 9999 0000")
    events, messages = await run(account.ActionSubmitContact(), make_tracker(
        sender_id="web:ana", slots={"customer_id": ANA, "new_contact": "[contact]", "confirmed": False}))
    assert "stay as they are" in texts(messages)
    assert slot_sets(events)["confirmed"] is None and slot_sets(events)["change_preview"] is None
    assert accounts.get_account(ANA, UnitOfWork(crm)).phone != "+31 6 9999 0000"
    assert count(UnitOfWork(crm), models.PendingChange) == 0 and outbox.for_customer(ANA, UnitOfWork(crm)) == []


async def test_a_yes_with_no_change_held_in_this_conversation_changes_nothing(crm):
    # A forged or replayed turn: slots say "yes" and carry an e-mail, but nothing was held here.
    _hold_contact("attacker@example.net", sender_id="web:someone-else")
    _, messages = await run(account.ActionSubmitContact(), make_tracker(sender_id="web:ana", slots={
        "customer_id": ANA, "new_contact": "attacker@example.net", "confirmed": True}))
    assert "waited too long" in texts(messages)
    assert accounts.get_account(ANA, UnitOfWork(crm)).email == "ana@example.com"


async def test_a_contact_change_needs_a_verified_customer_at_the_yes(crm):
    _hold_contact("ana.new@example.org")
    events, _ = await run(account.ActionSubmitContact(), make_tracker(
        sender_id="web:ana", slots={"new_contact": "[contact]", "confirmed": True}))
    assert slot_sets(events)["next_step"] == "verify"
    assert accounts.get_account(ANA, UnitOfWork(crm)).email == "ana@example.com"


async def test_an_email_of_another_account_is_refused_before_the_question(crm):
    dispatcher = CollectingDispatcher()
    result = account.ValidateContactForm().validate_new_contact(
        "ben@example.com", dispatcher, make_tracker(slots={"customer_id": ANA}), {})
    assert result == {"new_contact": None} and "another account" in texts(dispatcher.messages)


async def test_a_confirmed_deletion_request_opens_a_ticket(crm):
    _, messages = await run(account.ActionSubmitDeleteAccount(), make_tracker(
        slots={"customer_id": ANA, "confirmed": True}))
    assert "ticket #" in texts(messages)
    assert accounts.get_account(ANA, UnitOfWork(crm)).deletion_requested


async def test_asking_for_a_human_opens_a_ticket_and_pauses_the_bot(crm, agents_live):
    tracker = make_tracker(slots={"customer_id": ANA}, text="want talk human", intent="contact_human_agent",
                           events=[{"event": "user", "text": "my parcel is late again"},
                                   {"event": "user", "text": "want talk human"}])
    events, messages = await run(support.ActionHandoff(), tracker)
    assert "ticket #" in texts(messages) and "pause" in [e["event"] for e in events]
    with UnitOfWork(crm) as uow:
        ticket = uow.session.execute(select(models.Ticket).where(
            models.Ticket.reason == "human_requested")).scalar_one()
        assert ticket.customer_id == ANA and "my parcel is late again" in ticket.summary


async def test_a_complaint_becomes_a_high_priority_ticket(crm):
    events, _ = await run(support.ActionOpenIssue(), make_tracker(intent="complaint"))
    assert slot_sets(events)["next_step"] == "issue_form" and slot_sets(events)["issue_kind"] == "complaint"
    await run(support.ActionSubmitIssue(), make_tracker(
        slots={"issue_kind": "complaint", "issue_details": "the courier threw my parcel"}))
    with UnitOfWork(crm) as uow:
        ticket = uow.session.execute(select(models.Ticket).where(models.Ticket.reason == "complaint")
                                     .order_by(models.Ticket.id.desc())).scalars().first()
        assert ticket.priority == "high" and "threw my parcel" in ticket.summary


async def test_feedback_is_logged(crm):
    before = count(UnitOfWork(crm), models.Feedback)
    await run(support.ActionSubmitFeedback(), make_tracker(
        slots={"customer_id": ANA, "csat": "4", "feedback_comment": "quick answers"}))
    assert count(UnitOfWork(crm), models.Feedback) == before + 1


async def test_product_search_finds_catalogue_items(crm):
    _, messages = await run(products.ActionProductSearch(), make_tracker(
        text="do you have wireless headphones", intent="product_info"))
    assert "Wireless Headphones" in texts(messages)


async def test_an_empty_search_offers_categories(crm):
    _, messages = await run(products.ActionProductSearch(), make_tracker(
        text="recommend something", intent="recommend_products"))
    assert "Garden" in [b["title"] for b in messages[0]["buttons"]]


async def test_policy_questions_are_answered_from_the_policy_file(crm):
    _, messages = await run(support.ActionPolicyAnswer(), make_tracker(
        text="cash on delivery ok?", intent="check_payment_methods"))
    assert "PayPal" in texts(messages) and "do not offer cash on delivery" in texts(messages)


async def test_the_handoff_ticket_carries_mood_churn_and_orders_with_a_priority_from_the_rules(crm):
    with UnitOfWork(crm) as uow:
        ana = uow.session.get(models.Customer, ANA)
        ana.churn_score, ana.churn_reasons = 0.82, ["no order for 140 days", "2 complaints"]
        uow.commit()

    def said(text, intent, score, entities=()):
        return {"event": "user", "text": text, "parse_data": {
            "intent": {"name": intent}, "entities": list(entities),
            "sentiment": {"label": "negative" if score < 0 else "neutral", "score": score}}}

    events = [said("where is CD-ABC234", "track_order", 0.0, [{"entity": "order_ref", "value": "CD-ABC234"}]),
              said("still not here, third time i ask", "track_order", -0.7),
              said("want talk human", "contact_human_agent", -0.3)]
    tracker = make_tracker(slots={"customer_id": ANA}, text="want talk human", intent="contact_human_agent",
                           events=events)
    await run(support.ActionHandoff(), tracker)
    with UnitOfWork(crm) as uow:
        ticket = uow.session.execute(select(models.Ticket).where(
            models.Ticket.reason == "human_requested")).scalar_one()
        summary, ticket_priority = ticket.summary, ticket.priority
    assert ticket_priority in ("high", "urgent")
    assert "Churn risk: 0.82 (no order for 140 days; 2 complaints)" in summary
    assert "Orders: CD-ABC234" in summary and "track_order" in summary
    assert "Sentiment trend: -" in summary and "[negative]" in summary
    assert "asked for a person" in summary
