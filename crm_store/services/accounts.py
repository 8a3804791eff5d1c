"""Customer accounts: details, contact edits, newsletter and deletion requests."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select

from crm_store import dto, errors, models
from crm_store.services import _changes, privacy
from crm_store.services._common import audit, ticket_info, utcnow
from crm_store.services._locks import commit_once
from crm_store.services.tickets import open_ticket
from crm_store.unit_of_work import UnitOfWork

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{6,20}$")


def _customer(uow: UnitOfWork, customer_id: int) -> models.Customer:
    customer = uow.session.get(models.Customer, customer_id)
    if customer is None:
        raise errors.CustomerNotFound(str(customer_id))
    return customer


def _account_info(customer: models.Customer, lifetime_value_cents: int = 0) -> dto.AccountInfo:
    return dto.AccountInfo(
        customer_id=customer.id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        segment=customer.segment,
        newsletter_opt_in=customer.newsletter_opt_in,
        created_at=customer.created_at,
        deletion_requested=customer.deletion_requested_at is not None,
        churn_score=customer.churn_score,
        churn_reasons=tuple(customer.churn_reasons or ()),
        lifetime_value_cents=lifetime_value_cents,
    )


def account_in(customer_id: int, uow: UnitOfWork) -> dto.AccountInfo:
    """The account with churn risk and lifetime spend (orders not cancelled), inside an open unit
    of work (for use cases that need it beside their own reads and writes)."""
    customer = _customer(uow, customer_id)
    spent = uow.session.execute(
        select(func.coalesce(func.sum(models.Order.total_cents), 0)).where(
            models.Order.customer_id == customer_id, models.Order.status != "cancelled")
    ).scalar_one()
    return _account_info(customer, int(spent))


def get_account(customer_id: int, uow: UnitOfWork) -> dto.AccountInfo:
    """The account, with churn risk and lifetime spend (orders not cancelled)."""
    with uow:
        return account_in(customer_id, uow)


def list_accounts(uow: UnitOfWork, *, limit: int = 10) -> list[dto.AccountInfo]:
    """The first ``limit`` accounts by id (the demo shop's "log in as" list), without spend totals."""
    with uow:
        customers = uow.session.execute(
            select(models.Customer).order_by(models.Customer.id).limit(max(1, min(limit, 100)))).scalars()
        return [_account_info(customer) for customer in customers]


def normalise_email(email: str) -> str:
    cleaned = (email or "").strip().lower()
    if len(cleaned) > 254 or not EMAIL_RE.match(cleaned):
        raise errors.InvalidInput("that is not a valid e-mail address")
    return cleaned


def _contact_changes(email: str | None, phone: str | None, name: str | None) -> dict[str, str]:
    changes: dict[str, str] = {}
    if email is not None:
        changes["email"] = normalise_email(email)
    if phone is not None:
        if not PHONE_RE.match(phone.strip()):
            raise errors.InvalidInput("that is not a valid phone number")
        changes["phone"] = phone.strip()
    if name is not None:
        if not name.strip() or len(name) > 120:
            raise errors.InvalidInput("a name must have 1 to 120 characters")
        changes["name"] = name.strip()
    if not changes:
        raise errors.InvalidInput("nothing to change")
    return changes


def _refuse_taken_email(uow: UnitOfWork, customer_id: int, changes: dict[str, str]) -> None:
    if "email" in changes:
        taken = uow.session.execute(
            select(models.Customer.id).where(
                models.Customer.email == changes["email"], models.Customer.id != customer_id
            )
        ).first()
        if taken:
            raise errors.InvalidInput("that e-mail address belongs to another account")


def _contact_preview(changes: dict[str, str]) -> str:
    parts = []
    if "email" in changes:
        parts.append(f"e-mail address to {_changes.mask_email(changes['email'])}")
    if "phone" in changes:
        parts.append(f"phone number to {_changes.mask_phone(changes['phone'])}")
    if "name" in changes:
        parts.append("name")
    return " and ".join(parts)


def _apply_contact(uow: UnitOfWork, customer: models.Customer, changes: dict[str, str], actor: str,
                   now: datetime) -> None:
    """Change the customer, audit it, and tell the address we had until now (never the full new one)."""
    _refuse_taken_email(uow, customer.id, changes)
    previous_email = customer.email
    for field, value in changes.items():
        setattr(customer, field, value)
    audit(uow.session, actor, "customer", customer.id, "update_contact", now, fields=sorted(changes))
    if "email" in changes or "phone" in changes:
        how = "in a chat with our assistant" if actor.startswith("chat:") else "by our team"
        _changes.notify(
            uow.session, customer.id, previous_email, "contact_changed", "Your contact details were changed",
            f"Hello {customer.name},\n\nThe {_contact_preview(changes)} on your account was changed {how} "
            f"on {now:%Y-%m-%d at %H:%M} UTC.\n\nIf that was you, there is nothing to do. If it was not, "
            "reply to this e-mail or contact our customer service at once: we will undo the change and "
            "secure your account.", now)


def update_contact(
    customer_id: int,
    uow: UnitOfWork,
    *,
    email: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    actor: str = "customer",
    now: datetime | None = None,
) -> dto.AccountInfo:
    """Change e-mail, phone or name at once (the team's path; a chat asks first with
    propose_contact_change). Each is validated, the change audited, and a notice of an e-mail or
    phone change goes to the previous e-mail address through the outbox."""
    now = now or utcnow()
    changes = _contact_changes(email, phone, name)
    with uow:
        customer = _customer(uow, customer_id)
        _apply_contact(uow, customer, changes, actor, now)
        commit_once(uow, errors.InvalidInput("that e-mail address belongs to another account"))
        return _account_info(customer)


def propose_contact_change(
    customer_id: int,
    uow: UnitOfWork,
    *,
    conversation: str,
    email: str | None = None,
    phone: str | None = None,
    now: datetime | None = None,
) -> dto.PendingChangeInfo:
    """Check a new e-mail or phone and hold it until the customer confirms in ``conversation``;
    the preview masks it."""
    now = now or utcnow()
    changes = _contact_changes(email, phone, None)
    with uow:
        _customer(uow, customer_id)
        _refuse_taken_email(uow, customer_id, changes)
        _changes.hold(uow.session, customer_id, conversation, "contact", changes, now)
        uow.commit()
    return dto.PendingChangeInfo(kind="contact", preview=_contact_preview(changes),
                                 expires_at=now + _changes.PENDING_TTL)


def confirm_contact_change(
    customer_id: int, uow: UnitOfWork, *, conversation: str, actor: str = "customer", now: datetime | None = None,
) -> dto.AccountInfo:
    """Apply the change held for this customer and conversation (once; NothingToConfirm if none
    is waiting or it expired), with its notice to the previous e-mail."""
    now = now or utcnow()
    with uow:
        customer = _customer(uow, customer_id)
        pending = _changes.take(uow.session, customer_id, conversation, "contact", now)
        _apply_contact(uow, customer, dict(pending.payload), actor, now)
        commit_once(uow, errors.InvalidInput("that e-mail address belongs to another account"))
        return _account_info(customer)


def discard_contact_change(customer_id: int, uow: UnitOfWork, *, conversation: str) -> None:
    """The customer said no: forget the held change."""
    with uow:
        _changes.drop(uow.session, customer_id, conversation, "contact")
        uow.commit()


def set_newsletter(
    customer_id: int, subscribed: bool, uow: UnitOfWork, *, actor: str = "customer",
    now: datetime | None = None,
) -> dto.AccountInfo:
    now = now or utcnow()
    with uow:
        customer = _customer(uow, customer_id)
        customer.newsletter_opt_in = subscribed
        audit(uow.session, actor, "customer", customer.id, "newsletter", now, subscribed=subscribed)
        uow.commit()
        return _account_info(customer)


def request_account_deletion(
    customer_id: int,
    uow: UnitOfWork,
    *,
    conversation_id: str | None = None,
    channel: str | None = None,
    actor: str = "customer",
    now: datetime | None = None,
) -> dto.TicketInfo:
    """Record the request: a pending forget request for an admin to confirm (``caredesk customer
    forget-requests``; data must be checked for open orders and legal retention before anything is
    erased), and a ticket so the support desk sees it."""
    now = now or utcnow()
    with uow:
        customer = _customer(uow, customer_id)
        if customer.deletion_requested_at is None:
            customer.deletion_requested_at = now
        audit(uow.session, actor, "customer", customer.id, "request_deletion", now)
        privacy.queue_forget_request(uow.session, customer_id=customer.id, conversation_id=conversation_id,
                                     channel=channel, now=now)
        ticket = open_ticket(
            uow.session,
            customer_id=customer.id,
            reason="delete_account",
            priority="normal",
            summary="Customer asked to delete their account.",
            conversation_id=conversation_id,
            channel=channel,
            now=now,
        )
        uow.commit()
        return ticket_info(ticket)
