"""Sensitive changes (contact details, delivery address): held until the customer says yes in the
same conversation, and announced by e-mail through the outbox, so a customer whose chat was taken
over hears of it at the address they still control."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm_store import dto, errors, models

PENDING_TTL = timedelta(minutes=15)


def mask_email(email: str) -> str:
    """ana.lopez@example.com -> a***z@example.com."""
    local, _, domain = (email or "").partition("@")
    if len(local) <= 2:
        return f"{local[:1]}***@{domain}"
    return f"{local[0]}***{local[-1]}@{domain}"


def mask_phone(phone: str) -> str:
    """+31 6 1234 5678 -> a number ending in 678."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return f"a number ending in {digits[-3:]}"


def mask_address(address: dto.AddressInfo) -> str:
    """5 Elm Avenue, 3511 AB Utrecht, NL -> 5 E** A*****, 35** ** Utrecht, NL: enough to recognise,
    too little to deliver to."""
    def word(text: str) -> str:
        return text if text.isdigit() or len(text) <= 1 else text[0] + "*" * (len(text) - 1)

    street = " ".join(word(part) for part in address.line1.split())
    postcode = "".join(ch if i < 2 or not ch.isalnum() else "*" for i, ch in enumerate(address.postcode))
    return f"{street}, {postcode} {address.city}, {address.country.upper()}"


def hold(session: Session, customer_id: int, conversation: str, kind: str, payload: dict, now: datetime,
         *, order_id: int | None = None) -> None:
    """Keep ``payload`` until confirmed, replacing an earlier one of the same kind in this conversation."""
    session.execute(delete(models.PendingChange).where(models.PendingChange.expires_at < now))
    drop(session, customer_id, conversation, kind)
    session.add(models.PendingChange(customer_id=customer_id, conversation=conversation, kind=kind,
                                     order_id=order_id, payload=payload, created_at=now,
                                     expires_at=now + PENDING_TTL))


def take(session: Session, customer_id: int, conversation: str, kind: str, now: datetime) -> models.PendingChange:
    """The change waiting for this customer in this conversation, removed so it applies once (of two
    simultaneous confirmations one gets it, the other NothingToConfirm)."""
    pending = session.execute(
        select(models.PendingChange).where(
            models.PendingChange.customer_id == customer_id,
            models.PendingChange.conversation == conversation,
            models.PendingChange.kind == kind,
            models.PendingChange.expires_at >= now,
        )
    ).scalar_one_or_none()
    if pending is None:
        raise errors.NothingToConfirm(f"no {kind} change is waiting")
    taken = session.execute(delete(models.PendingChange).where(models.PendingChange.id == pending.id)
                            .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise errors.NothingToConfirm(f"no {kind} change is waiting")
    return pending


def drop(session: Session, customer_id: int, conversation: str, kind: str) -> None:
    session.execute(delete(models.PendingChange).where(
        models.PendingChange.customer_id == customer_id,
        models.PendingChange.conversation == conversation,
        models.PendingChange.kind == kind,
    ).execution_options(synchronize_session=False))


def notify(session: Session, customer_id: int, recipient: str, kind: str, subject: str, body: str,
           now: datetime) -> None:
    """An e-mail for the shop's mailer, committed with the change it reports or not at all."""
    session.add(models.OutboxMessage(customer_id=customer_id, kind=kind, recipient=recipient, subject=subject,
                                     body=body, created_at=now))


def outbox_info(message: models.OutboxMessage) -> dto.OutboxInfo:
    return dto.OutboxInfo(id=message.id, customer_id=message.customer_id, kind=message.kind,
                          recipient=message.recipient, subject=message.subject, body=message.body,
                          created_at=message.created_at, sent_at=message.sent_at)
