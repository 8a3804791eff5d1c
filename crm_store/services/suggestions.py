"""Suggestions shown in chat and whether customers follow them (a card's "details", "more like
this" or the shop link), so the reports can tell how often a suggestion is followed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from crm_store import models
from crm_store.services._common import utcnow
from crm_store.unit_of_work import UnitOfWork

FOLLOW_KINDS = ("details", "more", "basket")


@dataclass(frozen=True)
class Shown:
    """One product about to be shown: its SKU and why it is suggested."""

    sku: str
    reason_kind: str


@dataclass(frozen=True)
class FollowRate:
    shown: int
    followed: int

    @property
    def rate(self) -> float:
        return self.followed / self.shown if self.shown else 0.0


def record_shown(uow: UnitOfWork, *, conversation_id: str, channel: str | None, customer_id: int | None,
                 products: list[Shown], now: datetime | None = None) -> list[int]:
    """Store the suggestions of one reply; their ids (in order) go into the cards' buttons."""
    now = now or utcnow()
    with uow:
        rows = [models.Suggestion(conversation_id=conversation_id[:120], channel=(channel or "")[:20] or None,
                                  customer_id=customer_id, product_sku=p.sku[:40], reason_kind=p.reason_kind[:20],
                                  shown_at=now) for p in products]
        uow.session.add_all(rows)
        uow.session.flush()
        ids = [row.id for row in rows]
        uow.commit()
        return ids


def record_followed(uow: UnitOfWork, suggestion_id: int, *, conversation_id: str | None, kind: str,
                    now: datetime | None = None) -> str | None:
    """The customer followed suggestion ``suggestion_id``: the product's SKU, or None when the id is
    unknown or was shown in another conversation (a button cannot vouch for someone else's card).
    Only the first follow is kept; the SKU is returned every time."""
    if kind not in FOLLOW_KINDS:
        raise ValueError(f"unknown follow kind {kind!r}")
    with uow:
        row = uow.session.get(models.Suggestion, suggestion_id)
        if row is None or (conversation_id is not None and row.conversation_id != conversation_id):
            return None
        if row.followed_at is None:
            row.followed_at, row.followed_by = now or utcnow(), kind
            uow.commit()
        return row.product_sku


@dataclass(frozen=True)
class FollowCounts:
    """Suggestions shown in one input channel over a period, and how many were first followed by
    each kind (``details``, ``more``, ``basket``)."""

    channel: str | None
    shown: int
    followed: dict[str, int]


def follow_counts(uow: UnitOfWork, since: datetime | None = None, until: datetime | None = None) -> list[FollowCounts]:
    """Per input channel, the suggestions shown from ``since`` to before ``until`` and how each kind
    of follow counts among them (a suggestion is counted once, by the way it was first followed)."""
    statement = select(models.Suggestion.channel, models.Suggestion.followed_by, func.count(models.Suggestion.id))
    if since is not None:
        statement = statement.where(models.Suggestion.shown_at >= since)
    if until is not None:
        statement = statement.where(models.Suggestion.shown_at < until)
    shown: dict[str | None, int] = {}
    followed: dict[str | None, dict[str, int]] = {}
    with uow:
        rows = uow.session.execute(statement.group_by(models.Suggestion.channel, models.Suggestion.followed_by)).all()
    for channel, kind, count in rows:
        shown[channel] = shown.get(channel, 0) + int(count)
        if kind in FOLLOW_KINDS:
            followed.setdefault(channel, {})[kind] = int(count)
    return [FollowCounts(channel, total, {kind: followed.get(channel, {}).get(kind, 0) for kind in FOLLOW_KINDS})
            for channel, total in sorted(shown.items(), key=lambda item: item[0] or "")]


def follow_rate(uow: UnitOfWork, since: datetime | None = None) -> FollowRate:
    """How many suggestions were shown (since ``since``) and how many of them were followed."""
    statement = select(func.count(models.Suggestion.id), func.count(models.Suggestion.followed_at))
    if since is not None:
        statement = statement.where(models.Suggestion.shown_at >= since)
    with uow:
        shown, followed = uow.session.execute(statement).one()
        return FollowRate(shown=int(shown or 0), followed=int(followed or 0))
