"""When to bring in a person: the sentiment trend and the escalation rules, as pure functions.

The thresholds come from the ``escalation`` section of the shop's policy file; this module only
applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EscalationRules:
    very_negative_at: float = -0.6  # one message this negative escalates
    trend_negative_at: float = -0.35  # the weighted trend this negative escalates...
    trend_min_messages: int = 3  # ...once there are this many messages
    trend_alpha: float = 0.5  # weight of the newest message in the trend
    churn_risk_at: float = 0.6  # customers at or above this are "at risk"
    at_risk_intents: tuple[str, ...] = ("complaint", "cancel_order", "delete_account")
    fallbacks_at: int = 2  # this many misunderstandings in a row escalate
    high_value_cents: int = 50_000  # lifetime spend that makes a customer high value


@dataclass(frozen=True)
class Signals:
    """What is known about the conversation at this turn."""

    intent: str
    sentiments: Sequence[float] = ()  # every user message's score, oldest first
    churn_score: float | None = None
    fallbacks: int = 0
    lifetime_value_cents: int = 0


@dataclass(frozen=True)
class Decision:
    escalate: bool
    reasons: tuple[str, ...] = ()
    priority: str = "normal"
    retention: bool = False  # offer an apology and a goodwill gesture first
    trend: float = 0.0
    details: dict = field(default_factory=dict)


def sentiment_trend(scores: Sequence[float], alpha: float = 0.5) -> float:
    """Exponentially weighted mean of the scores, newest weighted ``alpha``; 0 for none."""
    trend = None
    for score in scores:
        trend = score if trend is None else alpha * score + (1 - alpha) * trend
    return round(trend, 4) if trend is not None else 0.0


def decide(signals: Signals, rules: EscalationRules) -> Decision:
    """Which rules fire, and with what priority the ticket should be raised."""
    trend = sentiment_trend(signals.sentiments, rules.trend_alpha)
    latest = signals.sentiments[-1] if signals.sentiments else 0.0
    at_risk = signals.churn_score is not None and signals.churn_score >= rules.churn_risk_at
    reasons = []
    if signals.intent == "contact_human_agent":
        reasons.append("asked for a person")
    if latest <= rules.very_negative_at:
        reasons.append("very negative message")
    if len(signals.sentiments) >= rules.trend_min_messages and trend <= rules.trend_negative_at:
        reasons.append("negative sentiment trend")
    if at_risk and signals.intent in rules.at_risk_intents:
        reasons.append(f"{signals.intent.replace('_', ' ')} from a customer at risk of churning")
    if signals.fallbacks >= rules.fallbacks_at:
        reasons.append("repeated misunderstandings")
    return Decision(
        escalate=bool(reasons),
        reasons=tuple(reasons),
        priority=priority(signals, rules, trend, at_risk) if reasons else "normal",
        retention=at_risk and signals.intent in rules.at_risk_intents,
        trend=trend,
        details={"latest": latest, "at_risk": at_risk},
    )


def priority(signals: Signals, rules: EscalationRules, trend: float, at_risk: bool) -> str:
    """urgent / high / normal from churn risk, sentiment and customer value."""
    points = 0
    points += 2 if at_risk else 0
    points += 1 if signals.lifetime_value_cents >= rules.high_value_cents else 0
    latest = signals.sentiments[-1] if signals.sentiments else 0.0
    points += 1 if min(trend, latest) <= rules.very_negative_at else 0
    if points >= 3:
        return "urgent"
    if points >= 1:
        return "high"
    return "normal"
