"""Escalation seen from the conversation: sentiment of each message, the rules' decision, the
summary an agent reads, and the automatic hand-over when a rule fires."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet

from actions import digest
from actions.identity import current_customer
from actions.store import uow
from crm_store.dto import EscalationResult, format_money
from crm_store.errors import StoreUnavailable
from crm_store.policy import load_policy
from crm_store.services import accounts, escalation

LAST_MESSAGES = 6
log = logging.getLogger(__name__)


def _user_events(tracker) -> list[dict]:
    """The customer messages among the events given: the latest ones (``common.conversation.RECENT_MESSAGES``
    at least), the whole conversation being in its digest (``actions/digest.py``)."""
    return [e for e in tracker.events if e.get("event") == "user"]


def sentiment_scores(tracker) -> list[float]:
    """The sentiment scores of the latest customer messages, oldest first (from the NLU parse data)."""
    scores = []
    for event in _user_events(tracker):
        sentiment = (event.get("parse_data") or {}).get("sentiment")
        if sentiment and "score" in sentiment:
            scores.append(float(sentiment["score"]))
    return scores


def conversation(tracker, customer_id: int | None, *, asked_for_person: bool = False) -> escalation.Conversation:
    """The tracker as the plain signals the escalation use case reads: the whole conversation from
    its digest, the last messages and misunderstandings from the latest events."""
    rules = load_policy().escalation
    so_far = digest.of(tracker, rules.trend_alpha)
    events = _user_events(tracker)
    messages = tuple((e.get("text") or "", ((e.get("parse_data") or {}).get("sentiment") or {}).get("label"))
                     for e in events[-LAST_MESSAGES:])
    failed = tuple(e.get("text") or "" for e in events
                   if ((e.get("parse_data") or {}).get("intent") or {}).get("name") == "nlu_fallback")
    return escalation.Conversation(
        conversation_id=tracker.sender_id, customer_id=customer_id, channel=tracker.get_latest_input_channel(),
        intent=(tracker.latest_message.get("intent") or {}).get("name") or "",
        sentiments=tuple(sentiment_scores(tracker)) or ((so_far["latest"],) if so_far["latest"] is not None else ()),
        sentiment_count=so_far["scored"],
        sentiment_trend=so_far["trend"], intents=tuple(so_far["intents"]), orders=tuple(so_far["orders"]),
        messages=messages, fallbacks=int(tracker.get_slot("fallback_count") or 0),
        asked_for_person=asked_for_person, failed_turns=failed, text=tracker.latest_message.get("text") or "")


def conversation_summary(tracker, reason: str, customer_id: int | None = None) -> str:
    """What a colleague needs: why, churn risk, mood, what was asked, orders, last messages."""
    signals = conversation(tracker, customer_id)
    decision, account = escalation.assess(signals, uow())
    if account is None and customer_id is not None:
        account = accounts.get_account(customer_id, uow())
    return escalation.summary(signals, reason, decision, account)


def _tell(dispatcher, result: EscalationResult) -> list[EventType]:
    """The customer hears what happens next; the events that record the hand-over.

    With an agent available in the console the bot pauses and says where the customer is in the
    queue; with nobody available the customer gets a ticket and an e-mail follow-up (told apart
    by the policy's support hours: busy colleagues, or a closed desk)."""
    policy = load_policy()
    if result.retention:
        voucher = format_money(policy.goodwill_voucher_max_cents, policy.currency)
        dispatcher.utter_message(response="utter_retention_offer", percent=policy.goodwill_voucher_percent,
                                 voucher=voucher)
    ticket_id = result.ticket_id
    events: list[EventType] = [SlotSet("escalated_ticket", str(ticket_id)), SlotSet("fallback_count", 0)]
    if result.live:
        if result.queue_position is None:  # a colleague already has the conversation
            dispatcher.utter_message(response="utter_handed_over_owned", ticket=ticket_id)
        else:
            dispatcher.utter_message(response="utter_handed_over_live", ticket=ticket_id,
                                     position=result.queue_position, reply_minutes=policy.live_reply_minutes)
        return events + [ConversationPaused()]
    within_hours = policy.agents_live(datetime.utcnow())
    dispatcher.utter_message(response="utter_handed_over_busy" if within_hours else "utter_handed_over_by_email",
                             ticket=ticket_id, hours=policy.support_hours, reply_hours=policy.first_reply_hours)
    return events


def hand_over(dispatcher, tracker, customer_id: int | None, *, reason: str, why: str) -> list[EventType]:
    """The customer asked for a person: open the ticket and tell them what happens next.

    While agents are live the bot pauses (Rasa keeps storing every customer message for the
    agent) until an agent hands the conversation back; otherwise the customer gets a follow-up
    by e-mail and the bot keeps helping. The use case decides (and reads the account) in the same
    unit of work as the ticket."""
    result = escalation.escalate(conversation(tracker, customer_id, asked_for_person=True), uow(),
                                 reason=reason, why=why)
    return _tell(dispatcher, result)


def check_turn(dispatcher, tracker, *, fallbacks: int | None = None) -> tuple[bool, list[EventType]]:
    """After any customer message (a request, small talk, a misunderstanding): if an escalation rule
    fires, hand over, once per conversation. Returns whether the customer was handed over (the
    turn's usual reply is then left out) and the events.

    ``fallbacks`` counts this turn's misunderstanding, which the slot does not hold yet. Mid-form, a
    live hand-over also ends the form: a person takes over, and a form still waiting would ask its
    question again when the conversation is handed back. Asking for a person is handled by the
    handoff action itself; an open hand-over (the slot) is not escalated again, and the use case
    answers with the active ticket if there is one."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if tracker.get_slot("escalated_ticket") or intent == "contact_human_agent":
        return False, []
    customer_id, _ = current_customer(tracker)
    signals = conversation(tracker, customer_id)
    if fallbacks is not None:
        signals = replace(signals, fallbacks=fallbacks)
    try:
        result = escalation.escalate(signals, uow(), reason="escalated", why="automatic escalation")
    except StoreUnavailable:
        log.exception("escalation check skipped: the CRM is unreachable")
        return False, []
    if not result.escalate:
        return False, []
    events = _tell(dispatcher, result)
    if result.live and (tracker.active_loop or {}).get("name"):
        events = [ActiveLoop(None), SlotSet("requested_slot", None), *events]
    return True, events


def escalate_if_needed(dispatcher, tracker) -> list[EventType]:
    """After a request is answered: the same check as after every other message."""
    return check_turn(dispatcher, tracker)[1]
