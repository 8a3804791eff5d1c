"""A conversation's owner and the agents' queue: one state per conversation.

    bot -> waiting (ticket open) -> agent (ticket assigned) -> resolved (ticket closed) -> bot

The state lives in the conversation's one active ticket (``escalation.escalate`` never opens a
second), so the assistant, the console and the reports read the same answer. Claiming, transferring,
replying and resolving check who owns the conversation and are recorded in the audit log with the
real user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from crm_store import dto, errors, models
from crm_store.policy import ShopPolicy, load_policy
from crm_store.scoring.queue import Waiting, rank
from crm_store.services._common import audit, ticket_info, utcnow
from crm_store.services.orders import list_orders, order_status
from crm_store.unit_of_work import UnitOfWork

MAX_NOTE = 4000
WORKERS = ("agent", "admin")  # who can open and answer a conversation (analysts read reports only)


@dataclass(frozen=True)
class Ownership:
    state: str  # bot | waiting | agent
    ticket_id: int | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class QueueEntry:
    ticket: dto.TicketInfo
    risk: float
    waiting_minutes: float
    due_in_seconds: int  # until the first-response target; negative once it has passed
    state: str  # waiting | agent


@dataclass(frozen=True)
class Note:
    id: int
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Profile:
    account: dto.AccountInfo | None
    orders: list[dto.OrderSummary] = field(default_factory=list)
    tickets: list[dto.TicketInfo] = field(default_factory=list)
    feedback: list[dto.FeedbackInfo] = field(default_factory=list)


def _active(uow: UnitOfWork, conversation_id: str, *, lock: bool = False) -> models.Ticket | None:
    query = (select(models.Ticket).where(models.Ticket.conversation_id == conversation_id,
                                         models.Ticket.status.in_(("open", "assigned")))
             .order_by(models.Ticket.id).limit(1))
    if lock:
        query = query.with_for_update()
    return uow.session.execute(query).scalar_one_or_none()


def _ownership(ticket: models.Ticket | None) -> Ownership:
    if ticket is None:
        return Ownership("bot")
    if ticket.status == "assigned":
        return Ownership("agent", ticket.id, ticket.assignee)
    return Ownership("waiting", ticket.id)


def owner(conversation_id: str, uow: UnitOfWork) -> Ownership:
    with uow:
        return _ownership(_active(uow, conversation_id))


def _needs_active(uow: UnitOfWork, conversation_id: str) -> models.Ticket:
    ticket = _active(uow, conversation_id, lock=True)
    if ticket is None:
        raise errors.TicketNotFound(f"no open hand-over for conversation {conversation_id}")
    return ticket


def _check_owner(ticket: models.Ticket, user: str, role: str) -> None:
    if ticket.status == "assigned" and ticket.assignee != user and role != "admin":
        raise errors.NotOwner(f"{ticket.assignee} owns this conversation")


def claim(conversation_id: str, user: str, uow: UnitOfWork, *, now: datetime | None = None) -> Ownership:
    """The agent takes the waiting conversation (a second claim by the owner changes nothing)."""
    now = now or utcnow()
    with uow:
        ticket = _needs_active(uow, conversation_id)
        if ticket.status == "assigned":
            if ticket.assignee != user:
                raise errors.AlreadyClaimed(f"{ticket.assignee} already owns this conversation")
            return _ownership(ticket)
        ticket.status, ticket.assignee, ticket.claimed_at = "assigned", user, now
        audit(uow.session, user, "ticket", ticket.id, "claim", now, conversation=conversation_id)
        uow.commit()
        return _ownership(ticket)


def transfer(conversation_id: str, to_user: str, user: str, role: str, uow: UnitOfWork,
             *, now: datetime | None = None) -> Ownership:
    """The owner (or an admin) passes the conversation to another enabled agent."""
    now = now or utcnow()
    with uow:
        target = uow.session.execute(select(models.User).where(
            models.User.username == (to_user or "").strip().lower())).scalar_one_or_none()
        if target is None or target.disabled or target.role not in WORKERS:
            raise errors.InvalidInput(f"{to_user!r} is not an enabled agent")
        ticket = _needs_active(uow, conversation_id)
        _check_owner(ticket, user, role)
        before = ticket.assignee
        ticket.status, ticket.assignee = "assigned", target.username
        ticket.claimed_at = ticket.claimed_at or now
        audit(uow.session, user, "ticket", ticket.id, "transfer", now, conversation=conversation_id,
              from_user=before, to_user=target.username)
        uow.commit()
        return _ownership(ticket)


def record_reply(conversation_id: str, user: str, role: str, uow: UnitOfWork,
                 *, now: datetime | None = None) -> Ownership:
    """Before an agent's message goes out: the conversation must be theirs (a waiting one becomes
    theirs); the first reply's time is kept for the response-time reports."""
    now = now or utcnow()
    with uow:
        ticket = _needs_active(uow, conversation_id)
        _check_owner(ticket, user, role)
        if ticket.status == "open":
            ticket.status, ticket.assignee, ticket.claimed_at = "assigned", user, now
        ticket.first_response_at = ticket.first_response_at or now
        audit(uow.session, user, "ticket", ticket.id, "reply", now, conversation=conversation_id)
        uow.commit()
        return _ownership(ticket)


def resolve(conversation_id: str, user: str, role: str, uow: UnitOfWork,
            *, now: datetime | None = None) -> dto.TicketInfo:
    """The person is done: the ticket closes and the conversation belongs to the bot again."""
    now = now or utcnow()
    with uow:
        ticket = _needs_active(uow, conversation_id)
        _check_owner(ticket, user, role)
        ticket.status, ticket.closed_at = "closed", now
        ticket.assignee = ticket.assignee or user
        audit(uow.session, user, "ticket", ticket.id, "resolve", now, conversation=conversation_id)
        uow.commit()
        return ticket_info(ticket)


def queue(uow: UnitOfWork, *, now: datetime | None = None, policy: ShopPolicy | None = None,
          limit: int = 200) -> list[QueueEntry]:
    """Waiting and owned conversations, highest risk first (crm_store.scoring.queue)."""
    now = now or utcnow()
    policy = policy or load_policy()
    target = float(policy.live_reply_minutes)
    with uow:
        rows = uow.session.execute(select(models.Ticket, models.Customer.churn_score).outerjoin(
            models.Customer, models.Customer.id == models.Ticket.customer_id).where(
            models.Ticket.status.in_(("open", "assigned")), models.Ticket.conversation_id.is_not(None))
            .order_by(models.Ticket.id).limit(limit)).all()
        found = [(ticket_info(t), churn) for t, churn in rows]
    infos = {ticket.id: ticket for ticket, _ in found}
    items = []
    for ticket, churn in found:
        card = ticket.card
        waited = (ticket.first_response_at or now) - ticket.created_at
        items.append(Waiting(
            ticket_id=ticket.id, priority=ticket.priority,
            sentiment_trend=float(card.get("sentiment_trend") or 0.0),
            last_sentiment=card.get("last_sentiment"),
            churn_score=churn if churn is not None else card.get("churn_score"),
            value_cents=int(card.get("lifetime_value_cents") or 0),
            waiting_minutes=max(0.0, waited.total_seconds() / 60), target_minutes=target))
    entries = []
    for item, score in rank(items, policy.queue_weights):
        ticket = infos[item.ticket_id]
        due = ticket.created_at.timestamp() + target * 60 - now.timestamp()
        entries.append(QueueEntry(ticket=ticket, risk=score, waiting_minutes=round(item.waiting_minutes, 1),
                                  due_in_seconds=int(due) if ticket.first_response_at is None else 0,
                                  state="agent" if ticket.status == "assigned" else "waiting"))
    return entries


def active_tickets(uow: UnitOfWork) -> list[dto.TicketInfo]:
    """Every open or assigned ticket (what the console's live feed compares between polls)."""
    with uow:
        found = uow.session.execute(select(models.Ticket).where(models.Ticket.status.in_(("open", "assigned")))
                                    .order_by(models.Ticket.id)).scalars()
        return [ticket_info(t) for t in found]


def latest_ticket(conversation_id: str, uow: UnitOfWork) -> dto.TicketInfo | None:
    """The conversation's newest ticket, active or not (the console's hand-over card)."""
    with uow:
        ticket = uow.session.execute(select(models.Ticket).where(models.Ticket.conversation_id == conversation_id)
                                     .order_by(models.Ticket.id.desc()).limit(1)).scalar_one_or_none()
        return ticket_info(ticket) if ticket is not None else None


def add_note(conversation_id: str, text: str, user: str, uow: UnitOfWork, *, now: datetime | None = None) -> Note:
    """An internal note: for colleagues, never sent to the customer."""
    text = (text or "").strip()
    if not text or len(text) > MAX_NOTE:
        raise errors.InvalidInput(f"a note has 1 to {MAX_NOTE} characters")
    now = now or utcnow()
    with uow:
        note = models.ConversationNote(conversation_id=conversation_id, author=user, text=text, created_at=now)
        uow.session.add(note)
        uow.session.flush()
        audit(uow.session, user, "note", note.id, "add", now, conversation=conversation_id)
        uow.commit()
        return Note(note.id, note.author, note.text, note.created_at)


def notes(conversation_id: str, uow: UnitOfWork) -> list[Note]:
    with uow:
        rows = uow.session.execute(select(models.ConversationNote).where(
            models.ConversationNote.conversation_id == conversation_id).order_by(models.ConversationNote.id)).scalars()
        return [Note(n.id, n.author, n.text, n.created_at) for n in rows]


def profile(customer_id: int, uow: UnitOfWork, *, limit: int = 10) -> Profile:
    """What an agent sees of the customer: account, recent orders, tickets and past CSAT."""
    from crm_store.services.accounts import account_in

    orders = list_orders(customer_id, uow, limit=limit)
    with uow:
        try:
            account = account_in(customer_id, uow)
        except errors.CareDeskError:
            return Profile(account=None)
        found = uow.session.execute(select(models.Ticket).where(models.Ticket.customer_id == customer_id)
                                    .order_by(models.Ticket.id.desc()).limit(limit)).scalars()
        ticket_list = [ticket_info(t) for t in found]
        rated = uow.session.execute(select(models.Feedback).where(models.Feedback.customer_id == customer_id)
                                    .order_by(models.Feedback.id.desc()).limit(limit)).scalars()
        feedback = [dto.FeedbackInfo(id=f.id, csat=f.csat, comment=f.comment, created_at=f.created_at) for f in rated]
    return Profile(account=account, orders=orders, tickets=ticket_list, feedback=feedback)


_FIELD = re.compile(r"\{(customer|order|shop)\.([a-z_]+)\}")


def fill_canned(text: str, customer_id: int | None, order_reference: str | None, uow: UnitOfWork,
                *, policy: ShopPolicy | None = None) -> str:
    """A canned reply with ``{order.reference}`` and the like filled in from the CRM: the order the
    conversation is about, else the customer's latest. A field the CRM cannot fill stays visible
    as ``[order.tracking_url]`` so the agent edits it before sending."""
    policy = policy or load_policy()
    values: dict[str, str] = {"shop.support_email": policy.support_email, "shop.name": policy.shop_name}
    if customer_id is not None:
        try:
            with uow:
                customer = uow.session.get(models.Customer, customer_id)
                if customer is not None:
                    values["customer.first_name"] = customer.name.split()[0] if customer.name else ""
            reference = order_reference
            if reference is None:
                latest = list_orders(customer_id, uow, limit=1)
                reference = latest[0].reference if latest else None
            if reference is not None:
                status = order_status(customer_id, reference, uow, policy)
                values.update({
                    "order.reference": status.reference, "order.status": status.status,
                    "order.carrier": status.carrier or "", "order.tracking_url": status.tracking_url or "",
                    "order.eta": status.eta.strftime("%a %d %b %Y") if status.eta else "",
                })
        except errors.CareDeskError:
            pass  # an order that is not the customer's fills nothing
    return _FIELD.sub(lambda m: values.get(f"{m[1]}.{m[2]}") or f"[{m[1]}.{m[2]}]", text)
