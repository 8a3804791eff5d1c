"""Escalation seen from the conversation: sentiment of each message, the rules' decision, the
summary an agent reads, and the automatic hand-over when a rule fires."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from rasa_sdk.events import ConversationPaused, EventType, SlotSet

from actions import replies
from actions.identity import current_customer
from actions.store import uow
from actions.values import entity_texts
from crm_store.dto import format_money
from crm_store.policy import load_policy
from crm_store.scoring.escalation import Signals, decide
from crm_store.services import accounts, tickets

LAST_MESSAGES = 6


def _user_events(tracker) -> list[dict]:
    return [e for e in tracker.events if e.get("event") == "user"]


def sentiment_scores(tracker) -> list[float]:
    """Every user message's sentiment score, oldest first (from the NLU parse data)."""
    scores = []
    for event in _user_events(tracker):
        sentiment = (event.get("parse_data") or {}).get("sentiment")
        if sentiment and "score" in sentiment:
            scores.append(float(sentiment["score"]))
    return scores


def escalation_decision(tracker, customer_id: int | None):
    """The escalation rules applied to this conversation (thresholds from the policy file)."""
    rules = load_policy().escalation
    signals = Signals(
        intent=(tracker.latest_message.get("intent") or {}).get("name") or "",
        sentiments=sentiment_scores(tracker),
        fallbacks=int(tracker.get_slot("fallback_count") or 0),
    )
    # The account (churn risk, lifetime spend) only matters for at-risk requests or once a rule
    # fires; most turns need no database query here.
    if customer_id is None or not (signals.intent in rules.at_risk_intents or decide(signals, rules).escalate):
        return decide(signals, rules), None
    account = accounts.get_account(customer_id, uow())
    signals = replace(signals, churn_score=account.churn_score, lifetime_value_cents=account.lifetime_value_cents)
    return decide(signals, rules), account


def conversation_summary(tracker, reason: str, customer_id: int | None = None, assessed=None) -> str:
    """What a colleague needs: why, churn risk, mood, what was asked, orders, last messages.
    ``assessed`` is an already computed (decision, account) pair, to save the look-ups."""
    decision, account = assessed or escalation_decision(tracker, customer_id)
    if account is None and customer_id is not None:
        account = accounts.get_account(customer_id, uow())
    events = _user_events(tracker)
    intents, orders = [], []
    for event in events:
        parse = event.get("parse_data") or {}
        name = (parse.get("intent") or {}).get("name")
        if name and name not in intents and name not in ("inform", "nlu_fallback"):
            intents.append(name)
        for reference in entity_texts(parse.get("entities"), "order_ref"):
            if reference not in orders:
                orders.append(reference)
    scores = sentiment_scores(tracker)
    messages = [(e.get("text") or "", ((e.get("parse_data") or {}).get("sentiment") or {}).get("label"))
                for e in events[-LAST_MESSAGES:]]
    return replies.ticket_summary(
        reason=reason if not decision.reasons else f"{reason}; " + "; ".join(decision.reasons),
        conversation_id=tracker.sender_id, intents=intents, orders=orders, trend=decision.trend,
        latest=scores[-1] if scores else None, churn_score=account.churn_score if account else None,
        churn_reasons=account.churn_reasons if account else (), messages=messages)


def hand_over(dispatcher, tracker, customer_id: int | None, *, reason: str, why: str, assessed) -> list[EventType]:
    """Open the ticket and tell the customer what happens next.

    While agents are live the bot pauses (Rasa keeps storing every customer message for the
    agent) until an agent hands the conversation back; otherwise the customer gets a follow-up
    by e-mail and the bot keeps helping."""
    policy = load_policy()
    decision, _ = assessed
    ticket = tickets.create_ticket(
        uow(), customer_id=customer_id, reason=reason, priority=decision.priority,
        summary=conversation_summary(tracker, why, customer_id, assessed),
        conversation_id=tracker.sender_id, channel=tracker.get_latest_input_channel())
    if decision.retention:
        voucher = format_money(policy.goodwill_voucher_max_cents, policy.currency)
        dispatcher.utter_message(
            text=f"I'm sorry this hasn't gone well. As a thank-you for staying with us we'd like to offer you "
                 f"{policy.goodwill_voucher_percent}% off your next order (up to {voucher}); a colleague will "
                 "add it to your account.")
    events: list[EventType] = [SlotSet("escalated_ticket", str(ticket.id)), SlotSet("fallback_count", 0)]
    if policy.agents_live(datetime.utcnow()):
        dispatcher.utter_message(
            text=f"I've asked a colleague to take over (ticket #{ticket.id}). They'll answer right here, "
                 f"usually within {policy.live_reply_minutes} minutes; until then I'll keep quiet so nothing "
                 "gets mixed up.")
        return events + [ConversationPaused()]
    dispatcher.utter_message(
        text=f"Our team isn't in the chat right now ({policy.support_hours}), so I've opened ticket #{ticket.id} "
             f"and a colleague will e-mail you within {policy.first_reply_hours} hours. Meanwhile I'm happy to "
             "keep helping.")
    return events


def escalate_if_needed(dispatcher, tracker) -> list[EventType]:
    """After a request is answered: if an escalation rule fires, hand over once per conversation.
    Asking for a person is handled by the handoff action itself."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if tracker.get_slot("escalated_ticket") or intent == "contact_human_agent":
        return []
    customer_id, _ = current_customer(tracker)
    assessed = escalation_decision(tracker, customer_id)
    if not assessed[0].escalate:
        return []
    return hand_over(dispatcher, tracker, customer_id, reason="escalated", why="automatic escalation",
                     assessed=assessed)
