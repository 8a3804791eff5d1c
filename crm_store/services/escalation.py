"""Escalation as a use case: given what was said in a conversation (plain values, no tracker),
decide whether a person should take over and, if so, open the ticket with the summary an agent
reads, in one unit of work. The assistant's actions and the agent console call the same code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select

from crm_store import dto, models
from crm_store.policy import load_policy
from crm_store.scoring.escalation import Decision, EscalationRules, Signals, decide
from crm_store.services._common import utcnow
from crm_store.services.accounts import account_in
from crm_store.services.presence import available_agents_in
from crm_store.services.tickets import open_ticket
from crm_store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Conversation:
    """What is known about a conversation at this turn, as plain values."""

    conversation_id: str
    customer_id: int | None = None
    channel: str | None = None
    intent: str = ""  # the latest message's intent
    sentiments: Sequence[float] = ()  # every customer message's score, oldest first (or the latest ones:)
    sentiment_count: int | None = None  # the whole conversation's count of scores, when ``sentiments`` is not
    sentiment_trend: float | None = None  # ... and its trend (unrounded, the policy's trend_alpha)
    intents: Sequence[str] = ()  # what was asked about, in order, without repeats
    orders: Sequence[str] = ()  # order references mentioned
    messages: Sequence[tuple[str, str | None]] = ()  # the last messages: (text, sentiment label)
    fallbacks: int = 0  # misunderstandings in a row
    asked_for_person: bool = False  # the customer explicitly asked for a person
    failed_turns: Sequence[str] = ()  # what the customer wrote when the assistant did not understand
    text: str = ""  # the latest message as written (insults, "third time I ask")


def decide_for(conversation: Conversation, rules: EscalationRules,
             account: dto.AccountInfo | None = None) -> Decision:
    """The rules applied to the conversation (and the account's churn risk and spend, if given)."""
    signals = Signals(intent=conversation.intent, sentiments=tuple(conversation.sentiments),
                      sentiment_count=conversation.sentiment_count, sentiment_trend=conversation.sentiment_trend,
                      fallbacks=conversation.fallbacks, text=conversation.text)
    if account is not None:
        signals = replace(signals, churn_score=account.churn_score,
                          lifetime_value_cents=account.lifetime_value_cents)
    return decide(signals, rules)


def needs_account(conversation: Conversation, rules: EscalationRules, first: Decision) -> bool:
    """The account (churn risk, lifetime spend) only matters for at-risk requests or once a rule
    fires; most turns need no database query."""
    return conversation.customer_id is not None and (conversation.intent in rules.at_risk_intents
                                                     or first.escalate)


def _assess(conversation: Conversation, uow: UnitOfWork,
            rules: EscalationRules) -> tuple[Decision, dto.AccountInfo | None]:
    """The rules' decision, inside an open unit of work."""
    first = decide_for(conversation, rules)
    if not needs_account(conversation, rules, first):
        return first, None
    account = account_in(conversation.customer_id, uow)  # type: ignore[arg-type]  # checked above
    return decide_for(conversation, rules, account), account


def assess(conversation: Conversation, uow: UnitOfWork,
           rules: EscalationRules | None = None) -> tuple[Decision, dto.AccountInfo | None]:
    """The escalation rules applied to the conversation, and the account if it was read."""
    rules = rules or load_policy().escalation
    if conversation.customer_id is None:
        return _assess(conversation, uow, rules)  # no database query needed
    with uow:
        return _assess(conversation, uow, rules)


def summary(conversation: Conversation, why: str, decision: Decision, account: dto.AccountInfo | None) -> str:
    """What an agent needs on one screen: why, who (no personal data), mood, and the last messages."""
    reason = why if not decision.reasons else f"{why}; " + "; ".join(decision.reasons)
    lines = [f"Why: {reason}", f"Conversation: {conversation.conversation_id}"]
    if account is not None and account.churn_score is not None:
        churn_why = f" ({'; '.join(account.churn_reasons)})" if account.churn_reasons else ""
        lines.append(f"Churn risk: {account.churn_score:.2f}{churn_why}")
    mood = f"Sentiment trend: {decision.trend:+.2f}"
    if conversation.sentiments:
        mood += f", last message {conversation.sentiments[-1]:+.2f}"
    lines.append(mood)
    if conversation.intents:
        lines.append("Asked about: " + ", ".join(conversation.intents))
    if conversation.orders:
        lines.append("Orders: " + ", ".join(conversation.orders))
    lines.append("Last messages:")
    lines += [f"  > {text}" + (f"  [{label}]" if label else "") for text, label in conversation.messages]
    return "\n".join(lines)


def card(conversation: Conversation, why: str, decision: Decision, account: dto.AccountInfo | None) -> dict:
    """The hand-over card the console shows, as plain JSON values (no personal data: the customer
    is named by id; the console reads the profile itself)."""
    return {
        "why": why,
        "reasons": list(decision.reasons),
        "priority": decision.priority,
        "intents": list(conversation.intents),
        "failed_turns": list(conversation.failed_turns)[-5:],
        "orders": list(conversation.orders),
        "sentiment_trend": round(decision.trend, 3),
        "last_sentiment": round(conversation.sentiments[-1], 3) if conversation.sentiments else None,
        "churn_score": account.churn_score if account is not None else None,
        "churn_reasons": list(account.churn_reasons) if account is not None else [],
        "lifetime_value_cents": account.lifetime_value_cents if account is not None else None,
    }


def _active_ticket(uow: UnitOfWork, conversation_id: str) -> models.Ticket | None:
    return uow.session.execute(
        select(models.Ticket).where(models.Ticket.conversation_id == conversation_id,
                                    models.Ticket.status.in_(("open", "assigned")))
        .order_by(models.Ticket.id).limit(1)).scalar_one_or_none()


def _queue_position(uow: UnitOfWork, ticket: models.Ticket) -> int:
    """1 + the conversations waiting (unclaimed) that were escalated before this one."""
    ahead = uow.session.execute(select(func.count(models.Ticket.id)).where(
        models.Ticket.status == "open", models.Ticket.conversation_id.is_not(None),
        models.Ticket.id < ticket.id)).scalar_one()
    return int(ahead) + 1


def escalate(
    conversation: Conversation,
    uow: UnitOfWork,
    *,
    reason: str,
    why: str,
    rules: EscalationRules | None = None,
    now: datetime | None = None,
) -> dto.EscalationResult:
    """Decide and, if a rule fires or the customer asked for a person, open the ticket (reason,
    priority, summary and hand-over card from the decision), all in one unit of work.

    A conversation has at most one active ticket: escalating it again answers with the ticket it
    already has. Whether a person answers in the chat now depends on agents being available in
    the console; the result says so, with the queue position.
    """
    rules = rules or load_policy().escalation
    now = now or utcnow()
    with uow:
        decision, account = _assess(conversation, uow, rules)
        if not (decision.escalate or conversation.asked_for_person):
            return dto.EscalationResult(escalate=False, reasons=decision.reasons, priority=decision.priority,
                                        retention=decision.retention, trend=decision.trend)
        ticket = _active_ticket(uow, conversation.conversation_id)
        already_open = ticket is not None
        if ticket is None:
            ticket = open_ticket(
                uow.session, customer_id=conversation.customer_id, reason=reason, priority=decision.priority,
                summary=summary(conversation, why, decision, account), conversation_id=conversation.conversation_id,
                channel=conversation.channel, now=now)
            ticket.card = card(conversation, why, decision, account)
        live = ticket.status == "assigned" or bool(available_agents_in(uow, now))
        position = _queue_position(uow, ticket) if live and ticket.status == "open" else None
        uow.commit()
        return dto.EscalationResult(escalate=True, reasons=decision.reasons, priority=decision.priority,
                                    retention=decision.retention and not already_open, trend=decision.trend,
                                    ticket_id=ticket.id, already_open=already_open, live=live,
                                    queue_position=position)
