"""The escalation use case's decision and summary, from plain values (no tracker, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from crm_store.dto import AccountInfo
from crm_store.scoring.escalation import EscalationRules
from crm_store.services.escalation import Conversation, decide_for, needs_account, summary

RULES = EscalationRules()
ACCOUNT = AccountInfo(customer_id=7, name="Ana Lopez", email="ana@example.com", phone=None, segment="regular",
                      newsletter_opt_in=False, created_at=datetime(2024, 1, 1), deletion_requested=False,
                      churn_score=0.1, churn_reasons=(), lifetime_value_cents=1_000)


def test_a_negative_streak_escalates_even_for_low_churn():
    chat = Conversation(conversation_id="c1", customer_id=7, intent="order_status", sentiments=(-0.4, -0.5, -0.45))
    decision = decide_for(chat, RULES, ACCOUNT)
    assert decision.escalate
    assert decision.reasons == ("negative sentiment trend",)
    assert not decision.retention


def test_a_calm_conversation_does_not_escalate_and_needs_no_account():
    chat = Conversation(conversation_id="c1", customer_id=7, intent="order_status", sentiments=(0.2, 0.1, -0.1))
    decision = decide_for(chat, RULES)
    assert not decision.escalate
    assert not needs_account(chat, RULES, decision)


def test_an_at_risk_request_needs_the_account_and_offers_retention_when_churn_is_high():
    chat = Conversation(conversation_id="c1", customer_id=7, intent="cancel_order", sentiments=(0.0,))
    assert needs_account(chat, RULES, decide_for(chat, RULES))
    decision = decide_for(chat, RULES, replace(ACCOUNT, churn_score=0.8))
    assert decision.escalate and decision.retention
    assert decision.reasons == ("cancel order from a customer at risk of churning",)
    assert not decide_for(chat, RULES, ACCOUNT).escalate  # low churn: no rule fires


def test_an_anonymous_conversation_never_needs_the_account():
    chat = Conversation(conversation_id="c1", intent="complaint", sentiments=(-0.9,))
    decision = decide_for(chat, RULES)
    assert decision.escalate and decision.reasons == ("very negative message",)
    assert not needs_account(chat, RULES, decision)


def test_repeated_misunderstandings_escalate():
    chat = Conversation(conversation_id="c1", intent="nlu_fallback", fallbacks=RULES.fallbacks_at)
    assert decide_for(chat, RULES).reasons == ("repeated misunderstandings",)


def test_the_summary_lists_why_churn_mood_requests_orders_and_last_messages():
    chat = Conversation(conversation_id="tg:42", customer_id=7, intent="complaint", sentiments=(-0.2, -0.9),
                        intents=("order_status", "complaint"), orders=("CD-7KQ2MX",),
                        messages=(("where is it", "neutral"), ("this is awful", "negative")))
    account = replace(ACCOUNT, churn_score=0.65, churn_reasons=("no order for 90 days",))
    decision = decide_for(chat, RULES, account)
    assert summary(chat, "automatic escalation", decision, account).splitlines() == [
        "Why: automatic escalation; very negative message; complaint from a customer at risk of churning",
        "Conversation: tg:42",
        "Churn risk: 0.65 (no order for 90 days)",
        f"Sentiment trend: {decision.trend:+.2f}, last message -0.90",
        "Asked about: order_status, complaint",
        "Orders: CD-7KQ2MX",
        "Last messages:",
        "  > where is it  [neutral]",
        "  > this is awful  [negative]",
    ]
