"""When to bring in a person: the sentiment trend and the escalation rules, as pure functions.

The thresholds come from the ``escalation`` section of the shop's policy file; this module only
applies them.
"""

from __future__ import annotations

import re
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
    fallbacks_at: int = 3  # this many misunderstandings in a row escalate
    high_value_cents: int = 50_000  # lifetime spend that makes a customer high value
    # Words that insult (a trailing * matches any ending: "idiot*" is also "idiots", "idiotic")...
    insult_terms: tuple[str, ...] = ("useless", "idiot*", "stupid*", "moron*", "pathetic", "garbage", "rubbish",
                                     "worthless", "incompetent", "suck*", "waste of time")
    # ...count when aimed at the assistant or the shop (or when the message is nothing else)
    insult_targets: tuple[str, ...] = ("you", "youre", "your", "u", "ur", "bot", "chatbot", "assistant", "this",
                                       "service", "shop", "company", "store", "app", "site", "website")
    insult_alone_words: int = 2  # a message this short that holds an insult term is an insult by itself
    # Saying the question was asked before is repeated frustration, request or not
    repeated_asking_terms: tuple[str, ...] = ("third time", "fourth time", "fifth time", "how many times",
                                              "again and again", "over and over", "already asked", "already told",
                                              "keep asking", "asked before", "told you before", "still no answer",
                                              "for the last time")

    def __post_init__(self) -> None:
        # The policy file gives lists; the rules stay immutable (and hashable) as tuples.
        for name in ("at_risk_intents", "insult_terms", "insult_targets", "repeated_asking_terms"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class Signals:
    """What is known about the conversation at this turn."""

    intent: str
    sentiments: Sequence[float] = ()  # every user message's score, oldest first (or the latest ones, see below)
    # The whole conversation's count of scores and trend (unrounded), when ``sentiments`` holds only
    # the latest scores: the actions keep them in a digest instead of reading every message
    sentiment_count: int | None = None
    sentiment_trend: float | None = None
    churn_score: float | None = None
    fallbacks: int = 0
    lifetime_value_cents: int = 0
    text: str = ""  # the latest message as the customer wrote it


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


def words(text: str) -> tuple[str, ...]:
    """Lower-case words without apostrophes ("You're" -> "youre"), so terms match however typed."""
    return tuple(re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("\u2019", "")))


def _parts(term: str) -> tuple[str, ...]:
    """A term's words, normalised like the message's; a trailing * on a word is kept (any ending)."""
    return tuple("".join(words(piece)) + ("*" if piece.endswith("*") else "") for piece in term.split())


def _matches(token: str, part: str) -> bool:
    return token.startswith(part[:-1]) if part.endswith("*") else token == part


def contains_term(tokens: Sequence[str], terms: Sequence[str]) -> bool:
    """Whether any term (one or more words, a trailing * on a word matching any ending) occurs."""
    for term in terms:
        parts = _parts(term)
        for start in range(len(tokens) - len(parts) + 1):
            if parts and all(_matches(tokens[start + i], part) for i, part in enumerate(parts)):
                return True
    return False


def is_insult(text: str, score: float, rules: EscalationRules) -> bool:
    """An insult term aimed at the assistant or the shop ("you are useless", "stupid bot", "this is a
    waste of time"), or alone ("useless!"), in a message that is not positive. Aimed, so "sorry, stupid
    question" is not one; not positive, so "you're not useless after all, thanks!" is not one either."""
    tokens = words(text)
    if score > 0 or not contains_term(tokens, rules.insult_terms):
        return False
    targets = {"".join(words(target)) for target in rules.insult_targets}
    return len(tokens) <= rules.insult_alone_words or bool(targets.intersection(tokens))


def says_asked_before(text: str, score: float, rules: EscalationRules) -> bool:
    """The customer says they asked before ("third time I ask", "how many times..."), not positively."""
    return score <= 0 and contains_term(words(text), rules.repeated_asking_terms)


def _trend_and_count(signals: Signals, rules: EscalationRules) -> tuple[float, int]:
    if signals.sentiment_count is None:
        return sentiment_trend(signals.sentiments, rules.trend_alpha), len(signals.sentiments)
    trend = signals.sentiment_trend
    return (round(trend, 4) if trend is not None else 0.0), signals.sentiment_count


def decide(signals: Signals, rules: EscalationRules) -> Decision:
    """Which rules fire, and with what priority the ticket should be raised."""
    trend, count = _trend_and_count(signals, rules)
    latest = signals.sentiments[-1] if signals.sentiments else 0.0
    at_risk = signals.churn_score is not None and signals.churn_score >= rules.churn_risk_at
    reasons = []
    if signals.intent == "contact_human_agent":
        reasons.append("asked for a person")
    if latest <= rules.very_negative_at:
        reasons.append("very negative message")
    if count >= rules.trend_min_messages and trend <= rules.trend_negative_at:
        reasons.append("negative sentiment trend")
    if at_risk and signals.intent in rules.at_risk_intents:
        reasons.append(f"{signals.intent.replace('_', ' ')} from a customer at risk of churning")
    if signals.fallbacks >= rules.fallbacks_at:
        reasons.append("repeated misunderstandings")
    insult = is_insult(signals.text, latest, rules)
    if insult:
        reasons.append("insult")
    if says_asked_before(signals.text, latest, rules):
        reasons.append("asked again")
    return Decision(
        escalate=bool(reasons),
        reasons=tuple(reasons),
        priority=priority(signals, rules, trend, at_risk, insult) if reasons else "normal",
        retention=at_risk and signals.intent in rules.at_risk_intents,
        trend=trend,
        details={"latest": latest, "at_risk": at_risk, "insult": insult},
    )


def priority(signals: Signals, rules: EscalationRules, trend: float, at_risk: bool, insult: bool = False) -> str:
    """urgent / high / normal from churn risk, sentiment (an insult counts as anger) and customer value."""
    points = 0
    points += 2 if at_risk else 0
    points += 1 if signals.lifetime_value_cents >= rules.high_value_cents else 0
    latest = signals.sentiments[-1] if signals.sentiments else 0.0
    points += 1 if min(trend, latest) <= rules.very_negative_at or insult else 0
    if points >= 3:
        return "urgent"
    if points >= 1:
        return "high"
    return "normal"
