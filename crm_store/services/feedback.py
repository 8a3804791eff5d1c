"""Feedback: CSAT scores and comments from conversations."""

from __future__ import annotations

from datetime import datetime

from crm_store import dto, errors, models
from crm_store.services._common import utcnow
from crm_store.unit_of_work import UnitOfWork

MAX_COMMENT_LENGTH = 2000


def record_feedback(
    uow: UnitOfWork,
    *,
    customer_id: int | None,
    csat: int | None = None,
    comment: str | None = None,
    conversation_id: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
) -> dto.FeedbackInfo:
    """Store a CSAT score (1-5) and/or a comment; at least one of them."""
    now = now or utcnow()
    if csat is not None and not 1 <= int(csat) <= 5:
        raise errors.InvalidInput("CSAT must be between 1 and 5")
    comment = (comment or "").strip()[:MAX_COMMENT_LENGTH] or None
    if csat is None and comment is None:
        raise errors.InvalidInput("feedback needs a score or a comment")
    with uow:
        row = models.Feedback(
            customer_id=customer_id,
            csat=csat,
            comment=comment,
            conversation_id=conversation_id,
            channel=channel,
            created_at=now,
        )
        uow.session.add(row)
        uow.commit()
        return dto.FeedbackInfo(id=row.id, csat=row.csat, comment=row.comment, created_at=now)
