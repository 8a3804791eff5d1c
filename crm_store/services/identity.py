"""Proving who a customer is: in chat by order reference + e-mail, or by a linked channel id."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from crm_store import errors, models
from crm_store.services._common import audit, normalise_reference, utcnow
from crm_store.unit_of_work import UnitOfWork

MAX_FAILED_ATTEMPTS = 5
ATTEMPT_WINDOW = timedelta(minutes=15)


def _recent_failures(uow: UnitOfWork, subject: str, now: datetime) -> int:
    return uow.session.execute(
        select(func.count(models.VerificationAttempt.id)).where(
            models.VerificationAttempt.subject == subject,
            models.VerificationAttempt.succeeded.is_(False),
            models.VerificationAttempt.at > now - ATTEMPT_WINDOW,
        )
    ).scalar_one()


def verify_by_order(
    subject: str,
    reference: str,
    email: str,
    uow: UnitOfWork,
    *,
    now: datetime | None = None,
    max_failures: int = MAX_FAILED_ATTEMPTS,
) -> int:
    """The customer id if ``email`` is the e-mail on order ``reference``.

    ``subject`` names who is trying (e.g. a conversation id); after ``max_failures`` failed
    tries within 15 minutes every further try is refused, right or wrong. A wrong e-mail and
    an unknown order fail alike, so the answer leaks nothing.
    """
    now = now or utcnow()
    with uow:
        if _recent_failures(uow, subject, now) >= max_failures:
            raise errors.TooManyAttempts("too many failed attempts; try again later")
        customer_id = None
        try:
            ref = normalise_reference(reference)
        except errors.InvalidInput:
            ref = None
        if ref:
            row = uow.session.execute(
                select(models.Customer.id, models.Customer.email)
                .join(models.Order, models.Order.customer_id == models.Customer.id)
                .where(models.Order.reference == ref)
            ).first()
            if row and row.email.lower() == (email or "").strip().lower():
                customer_id = row.id
        uow.session.add(
            models.VerificationAttempt(subject=subject, at=now, succeeded=customer_id is not None)
        )
        uow.commit()
    if customer_id is None:
        raise errors.VerificationFailed("order reference and e-mail do not match")
    return customer_id


def link_identity(
    customer_id: int, channel: str, external_id: str, uow: UnitOfWork, *, now: datetime | None = None
) -> None:
    """Bind a channel user (e.g. a Telegram user id) to a customer, replacing an older binding."""
    now = now or utcnow()
    with uow:
        if uow.session.get(models.Customer, customer_id) is None:
            raise errors.CustomerNotFound(str(customer_id))
        uow.session.execute(
            delete(models.ChannelIdentity).where(
                models.ChannelIdentity.channel == channel,
                models.ChannelIdentity.external_id == external_id,
            )
        )
        uow.session.add(
            models.ChannelIdentity(
                customer_id=customer_id, channel=channel, external_id=external_id, verified_at=now
            )
        )
        audit(uow.session, f"{channel}:{external_id}", "customer", customer_id, "link", now,
              channel=channel)
        uow.commit()


def unlink_identity(channel: str, external_id: str, uow: UnitOfWork) -> bool:
    with uow:
        result = uow.session.execute(
            delete(models.ChannelIdentity).where(
                models.ChannelIdentity.channel == channel,
                models.ChannelIdentity.external_id == external_id,
            )
        )
        uow.commit()
        return result.rowcount > 0


def customer_for_identity(channel: str, external_id: str, uow: UnitOfWork) -> int | None:
    with uow:
        return uow.session.execute(
            select(models.ChannelIdentity.customer_id).where(
                models.ChannelIdentity.channel == channel,
                models.ChannelIdentity.external_id == external_id,
                models.ChannelIdentity.verified_at.is_not(None),
            )
        ).scalar_one_or_none()


LINK_CODE_TTL = timedelta(minutes=15)


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def create_link_code(
    customer_id: int, channel: str, uow: UnitOfWork, *, now: datetime | None = None, ttl: timedelta = LINK_CODE_TTL
) -> str:
    """A one-time code (shown once, stored only as a hash) that links a chat account to the customer."""
    now = now or utcnow()
    code = secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    with uow:
        if uow.session.get(models.Customer, customer_id) is None:
            raise errors.CustomerNotFound(str(customer_id))
        uow.session.add(models.LinkCode(code_hash=_code_hash(code), customer_id=customer_id, channel=channel,
                                        created_at=now, expires_at=now + ttl))
        uow.commit()
    return code


def redeem_link_code(code: str, channel: str, external_id: str, uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Link ``external_id`` on ``channel`` to the code's customer; the code works once, until it expires."""
    now = now or utcnow()
    if not code or len(code) > 64:
        raise errors.VerificationFailed("invalid link code")
    with uow:
        row = uow.session.execute(
            select(models.LinkCode).where(models.LinkCode.code_hash == _code_hash(code),
                                          models.LinkCode.channel == channel)
        ).scalar_one_or_none()
        if row is None or row.used_at is not None or row.expires_at < now:
            raise errors.VerificationFailed("the link code is unknown, used or expired")
        row.used_at = now
        customer_id = row.customer_id
        uow.commit()
    link_identity(customer_id, channel, external_id, uow, now=now)
    return customer_id
