"""Feedback: CSAT scores and comments from conversations.

A score of 1-2, or a comment as negative as the escalation rules' "very negative" message, opens a
follow-up ticket in the same unit of work, so nobody who was let down is left without an answer.
"""

from __future__ import annotations

from datetime import datetime

from crm_store import dto, errors, models
from crm_store.policy import load_policy
from crm_store.services._common import utcnow
from crm_store.services.tickets import open_ticket
from crm_store.unit_of_work import UnitOfWork

MAX_COMMENT_LENGTH = 2000
LOW_SCORE = 2  # this score or lower gets a follow-up
RESOLVERS = ("bot", "agent")


def needs_follow_up(csat: int | None, sentiment: float | None, angry_at: float) -> bool:
    """A low score, or an angry comment."""
    return (csat is not None and csat <= LOW_SCORE) or (sentiment is not None and sentiment <= angry_at)


def record_feedback(
    uow: UnitOfWork,
    *,
    customer_id: int | None,
    csat: int | None = None,
    comment: str | None = None,
    conversation_id: str | None = None,
    channel: str | None = None,
    intent: str | None = None,
    resolved_by: str | None = None,
    sentiment: float | None = None,
    now: datetime | None = None,
) -> dto.FeedbackInfo:
    """Store a CSAT score (1-5) and/or a comment (at least one of them) with the conversation,
    channel, the request it is about, who resolved it (bot or agent) and the comment's sentiment."""
    now = now or utcnow()
    if csat is not None and not 1 <= int(csat) <= 5:
        raise errors.InvalidInput("CSAT must be between 1 and 5")
    comment = (comment or "").strip()[:MAX_COMMENT_LENGTH] or None
    if csat is None and comment is None:
        raise errors.InvalidInput("feedback needs a score or a comment")
    if resolved_by is not None and resolved_by not in RESOLVERS:
        raise errors.InvalidInput("resolved_by must be bot or agent")
    sentiment = sentiment if comment is not None else None
    with uow:
        ticket = None
        if needs_follow_up(csat, sentiment, load_policy().escalation.very_negative_at):
            ticket = open_ticket(
                uow.session, customer_id=customer_id, reason="feedback_follow_up", priority="high",
                summary=(f"Follow-up on feedback: CSAT {csat if csat is not None else '-'}"
                         f" about {intent or 'the conversation'} (resolved by {resolved_by or 'unknown'})."
                         + (f"\nComment: {comment}" if comment else "")),
                conversation_id=conversation_id, channel=channel, now=now)
        row = models.Feedback(
            customer_id=customer_id,
            csat=csat,
            comment=comment,
            conversation_id=conversation_id,
            channel=channel,
            created_at=now,
            intent=(intent or None) and intent[:80],
            resolved_by=resolved_by,
            sentiment=sentiment,
            ticket_id=ticket.id if ticket is not None else None,
        )
        uow.session.add(row)
        uow.commit()
        return dto.FeedbackInfo(id=row.id, csat=row.csat, comment=row.comment, created_at=now,
                                ticket_id=row.ticket_id)
