"""Which waiting conversation an agent should take first: a risk score over plain values.

Age alone would serve a calm question that waited ten minutes before a furious high-value
customer who wrote a minute ago. The score adds what the shop weighs (the policy's
``console.queue_weights``): the ticket's priority, how negative the customer's mood is and is
getting, the churn risk, what the customer is worth, and how much of the first-response target
the wait has used up (past the target it keeps growing, so nobody waits forever).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PRIORITY_POINTS = {"low": 0.0, "normal": 1.0, "high": 2.0, "urgent": 3.0}
DEFAULT_WEIGHTS = {"priority": 1.0, "sentiment": 2.0, "churn": 2.0, "value": 1.0, "waiting": 1.5}


@dataclass(frozen=True)
class Waiting:
    """One conversation in the queue, as the ranking sees it."""

    ticket_id: int
    priority: str
    sentiment_trend: float = 0.0  # -1 (getting angrier) .. 1
    last_sentiment: float | None = None
    churn_score: float | None = None  # 0..1
    value_cents: int = 0  # lifetime spend
    waiting_minutes: float = 0.0  # since escalation, or since the customer's last unanswered message
    target_minutes: float = 5.0  # the policy's first-response target


def mood(item: Waiting) -> float:
    """0 (calm) .. 1 (angry): the worse of the trend and the last message."""
    last = item.last_sentiment if item.last_sentiment is not None else 0.0
    return max(0.0, -item.sentiment_trend, -last)


def value_points(value_cents: int) -> float:
    """0 .. 1 on a log scale: 10 EUR is 0.33, 100 EUR 0.67, 1,000 EUR and more 1."""
    return min(1.0, math.log10(1 + max(0, value_cents) / 100) / 3)


def wait_points(item: Waiting) -> float:
    """Share of the first-response target used; past the target it grows more slowly, up to 3."""
    used = item.waiting_minutes / max(item.target_minutes, 0.1)
    return used if used <= 1 else min(3.0, 1 + math.log2(used))


def risk(item: Waiting, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float:
    w = {**DEFAULT_WEIGHTS, **weights}
    return (w["priority"] * PRIORITY_POINTS.get(item.priority, 1.0)
            + w["sentiment"] * mood(item)
            + w["churn"] * (item.churn_score or 0.0)
            + w["value"] * value_points(item.value_cents)
            + w["waiting"] * wait_points(item))


def rank(items: Iterable[Waiting], weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> list[tuple[Waiting, float]]:
    """Highest risk first; equal risks by longer wait, then by ticket number."""
    scored = [(item, round(risk(item, weights), 3)) for item in items]
    return sorted(scored, key=lambda pair: (-pair[1], -pair[0].waiting_minutes, pair[0].ticket_id))
