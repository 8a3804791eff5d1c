"""Automatic escalation after a request is answered: tickets, retention offer, once per conversation."""

from sqlalchemy import func, select

from actions import orders as order_actions
from crm_store import models
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import make_tracker, run, slot_sets, texts
from tests.integration.shop import order_ref

ANA = 1


def said(text, intent, score):
    return {"event": "user", "text": text, "parse_data": {
        "intent": {"name": intent}, "entities": [],
        "sentiment": {"label": "negative" if score < 0 else "neutral", "score": score}}}


def _escalations(url) -> list[models.Ticket]:
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(select(models.Ticket.priority, models.Ticket.summary)
                                   .where(models.Ticket.reason == "escalated")).all()
    return rows


async def test_a_furious_message_is_answered_and_escalated_once(crm, agents_live):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events = [said("where is my order", "track_order", 0.0),
              said("WHERE IS MY ORDER, third time i ask!!!", "track_order", -0.85)]
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order", events=events)
    result, messages = await run(order_actions.ActionTrackOrder(), tracker)
    assert "on its way" in texts(messages) and "asked a colleague" in texts(messages)
    assert "you're number 1 in the queue" in texts(messages)
    assert {"event": "pause"} in [{"event": e["event"]} for e in result]  # the bot steps back
    ticket_id = slot_sets(result)["escalated_ticket"]
    assert [p for p, _ in _escalations(crm)] == ["high"]
    assert "very negative message" in _escalations(crm)[0][1]

    again = make_tracker(slots={"customer_id": ANA, "order_ref": ref, "escalated_ticket": ticket_id},
                         intent="track_order", events=events)
    _, messages = await run(order_actions.ActionTrackOrder(), again)
    assert "asked a colleague" not in texts(messages) and len(_escalations(crm)) == 1


async def test_a_calm_conversation_is_not_escalated(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order",
                           events=[said("hi, where is my parcel?", "track_order", 0.0)])
    result, messages = await run(order_actions.ActionTrackOrder(), tracker)
    assert "colleague" not in texts(messages) and "escalated_ticket" not in slot_sets(result)
    assert _escalations(crm) == []


async def test_an_at_risk_customer_who_cancels_gets_a_retention_offer_and_a_person(crm, agents_live):
    with UnitOfWork(crm) as uow:
        uow.session.get(models.Customer, ANA).churn_score = 0.9
        uow.commit()
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="cancel_order",
                           events=[said("cancel it", "cancel_order", 0.0)])
    result, messages = await run(order_actions.ActionCancelOrder(), tracker)
    assert slot_sets(result)["next_step"] == "cancel_form"  # the customer can still cancel
    assert "10% off your next order" in texts(messages) and "asked a colleague" in texts(messages)
    with UnitOfWork(crm) as uow:
        count = uow.session.execute(select(func.count()).select_from(models.Ticket)
                                    .where(models.Ticket.reason == "escalated")).scalar_one()
    assert count == 1


async def test_when_no_agent_is_live_the_customer_gets_a_follow_up_and_the_bot_keeps_helping(crm, agents_offline):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events = [said("this is a joke, third time i ask!!!", "track_order", -0.9)]
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order", events=events)
    result, messages = await run(order_actions.ActionTrackOrder(), tracker)
    assert "isn't in the chat right now" in texts(messages) and "e-mail you" in texts(messages)
    assert "pause" not in [e["event"] for e in result]
    assert len(_escalations(crm)) == 1


async def test_within_support_hours_with_nobody_available_the_customer_gets_a_follow_up(crm, agents_busy):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events = [said("this is a joke, third time i ask!!!", "track_order", -0.9)]
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order", events=events)
    result, messages = await run(order_actions.ActionTrackOrder(), tracker)
    assert "colleagues are busy" in texts(messages) and "e-mail you" in texts(messages)
    assert "pause" not in [e["event"] for e in result]


async def test_a_conversation_escalated_twice_keeps_one_ticket(crm, agents_live):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events = [said("WHERE IS MY ORDER, third time i ask!!!", "track_order", -0.85)]
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order", events=events)
    first, _ = await run(order_actions.ActionTrackOrder(), tracker)
    from actions.support import ActionHandoff

    handoff = make_tracker(slots={"customer_id": ANA}, intent="contact_human_agent", events=events)
    second, messages = await run(ActionHandoff(), handoff)
    assert slot_sets(second)["escalated_ticket"] == slot_sets(first)["escalated_ticket"]
    with UnitOfWork(crm) as uow:
        assert uow.session.execute(select(func.count()).select_from(models.Ticket).where(
            models.Ticket.conversation_id == "test-conversation")).scalar_one() == 1


async def test_the_hand_back_says_the_assistant_is_back_and_clears_the_escalation():
    from actions.support import ActionHandBack

    result, messages = await run(ActionHandBack(), make_tracker(intent="EXTERNAL_agent_resolved",
                                                                slots={"escalated_ticket": "7"}))
    assert "back with the CareDesk assistant" in texts(messages)
    assert slot_sets(result)["escalated_ticket"] is None
