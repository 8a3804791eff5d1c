"""The escalation use case against the real store: one unit of work decides and opens the ticket."""

from __future__ import annotations

from sqlalchemy import select

from crm_store import models
from crm_store.scoring.escalation import EscalationRules
from crm_store.services import escalation, tickets

RULES = EscalationRules()


def _set_churn(uow_factory, customer_id: int, score: float) -> None:
    with uow_factory() as uow:
        uow.session.get(models.Customer, customer_id).churn_score = score
        uow.commit()


def test_a_negative_streak_opens_a_ticket_even_for_low_churn(uow_factory):
    _set_churn(uow_factory, 1, 0.05)
    chat = escalation.Conversation(conversation_id="web:streak", customer_id=1, channel="web", intent="order_status",
                                   sentiments=(-0.4, -0.5, -0.45), messages=(("still nothing", "negative"),))
    result = escalation.escalate(chat, uow_factory(), reason="escalated", why="automatic escalation", rules=RULES)
    assert result.escalate and result.ticket_id is not None
    assert result.reasons == ("negative sentiment trend",)
    [ticket] = tickets.active_tickets_for_conversation("web:streak", uow_factory())
    assert (ticket.id, ticket.customer_id, ticket.reason, ticket.priority, ticket.channel) == (
        result.ticket_id, 1, "escalated", result.priority, "web")
    assert "Churn risk: 0.05" in ticket.summary and "  > still nothing  [negative]" in ticket.summary


def test_a_calm_conversation_opens_no_ticket(uow_factory):
    chat = escalation.Conversation(conversation_id="web:calm", customer_id=1, intent="order_status", sentiments=(0.3,))
    result = escalation.escalate(chat, uow_factory(), reason="escalated", why="automatic escalation", rules=RULES)
    assert not result.escalate and result.ticket_id is None
    with uow_factory() as uow:
        assert uow.session.execute(
            select(models.Ticket).where(models.Ticket.conversation_id == "web:calm")).first() is None


def test_asking_for_a_person_opens_a_ticket_without_any_rule_firing(uow_factory):
    chat = escalation.Conversation(conversation_id="web:ask", intent="contact_human_agent", asked_for_person=True)
    result = escalation.escalate(chat, uow_factory(), reason="human_requested", why="customer asked for a person",
                                 rules=RULES)
    assert result.ticket_id is not None and result.retention is False
    [ticket] = tickets.active_tickets_for_conversation("web:ask", uow_factory())
    assert ticket.customer_id is None and ticket.summary.startswith("Why: customer asked for a person")


def test_a_high_churn_cancellation_is_escalated_with_a_retention_offer(uow_factory):
    _set_churn(uow_factory, 1, 0.9)
    chat = escalation.Conversation(conversation_id="web:churn", customer_id=1, intent="cancel_order",
                                   sentiments=(0.0,))
    result = escalation.escalate(chat, uow_factory(), reason="escalated", why="automatic escalation", rules=RULES)
    assert result.escalate and result.retention and result.ticket_id is not None
