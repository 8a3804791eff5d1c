"""Proving who a customer is: in chat by order reference + e-mail, or by a linked channel id."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from crm_store import dto, errors, models
from crm_store.services._common import audit, normalise_reference, utcnow
from crm_store.services._locks import commit_once, serialise
from crm_store.unit_of_work import UnitOfWork

# How many failed tries each kind of subject gets within WINDOW before it is locked out. A client
# (the channel's keyed hash of an address or account) gets more: a shop's customers may share one.
FAILURE_LIMITS = {"conversation": 5, "order": 5, "customer": 5, "client": 20}
WINDOW = timedelta(minutes=15)
# Each further burst of failures after a lock-out doubles the wait, up to MAX_LOCKOUT; failures are
# remembered for twice that, so the back-off does not reset just as the longest wait ends.
MAX_LOCKOUT = timedelta(hours=24)
LOOKBACK = 2 * MAX_LOCKOUT


def locked_until(failures: list[datetime], limit: int, *, window: timedelta = WINDOW,
                 cap: timedelta = MAX_LOCKOUT) -> datetime | None:
    """When the lock-out earned by ``failures`` (times, any order) ends; None if it never began.

    ``limit`` failures within ``window`` lock the subject for ``window``; each further such burst
    (counted from the end of the previous lock-out) locks it for twice as long as the last, up to ``cap``.
    """
    until: datetime | None = None
    level = 0
    burst: list[datetime] = []
    for at in sorted(failures):
        if until is not None and at < until:
            continue  # a failure recorded while locked (a race) does not start a new burst
        burst = [earlier for earlier in burst if earlier > at - window] + [at]
        if len(burst) >= limit:
            until = at + min(window * 2 ** level, cap)
            level += 1
            burst = []
    return until


def verify_by_order(
    reference: str,
    email: str,
    uow: UnitOfWork,
    *,
    conversation: str,
    client: str | None = None,
    now: datetime | None = None,
) -> int:
    """The customer id if ``email`` is the e-mail on order ``reference``.

    Failed tries are counted per ``conversation``, per order reference, per customer who owns that
    reference and per ``client`` (see FAILURE_LIMITS); while any of them is locked out every try is
    refused, right or wrong, with TooManyAttempts (``retry_after`` says for how long), and the
    refusal is recorded. A wrong e-mail and an unknown order fail alike, so the answer leaks nothing.
    Concurrent tries on the same subjects are serialised, so a burst of parallel guesses from many
    conversations cannot all slip under the limit.
    """
    now = now or utcnow()
    client = (client or "")[:128] or None
    try:
        ref = normalise_reference(reference)
    except errors.InvalidInput:
        ref = None
    with uow:
        session = uow.session
        owner = None
        if ref:
            owner = session.execute(
                select(models.Customer.id, models.Customer.email)
                .join(models.Order, models.Order.customer_id == models.Customer.id)
                .where(models.Order.reference == ref)
            ).first()
        subjects = {"conversation": conversation, "order": ref, "customer": owner.id if owner else None,
                    "client": client}
        serialise(session, *(f"verify:{kind}:{value}" for kind, value in subjects.items() if value is not None))
        attempt = models.VerificationAttempt(subject=conversation, at=now, reference=ref,
                                             customer_id=owner.id if owner else None, client=client)
        refused_by, until = _lockout(session, subjects, now)
        if refused_by is not None:
            attempt.outcome, attempt.refused_by = "refused", refused_by
            session.add(attempt)
            uow.commit()
            raise errors.TooManyAttempts("too many failed attempts; try again later",
                                         retry_after=until - now if until else None)
        matched = owner is not None and owner.email.lower() == (email or "").strip().lower()
        attempt.outcome = "ok" if matched else "failed"
        session.add(attempt)
        uow.commit()
    if owner is None or not matched:
        raise errors.VerificationFailed("order reference and e-mail do not match")
    return owner.id


_COLUMN_OF = {
    "conversation": models.VerificationAttempt.subject,
    "order": models.VerificationAttempt.reference,
    "customer": models.VerificationAttempt.customer_id,
    "client": models.VerificationAttempt.client,
}


def _lockout(session, subjects: dict, now: datetime) -> tuple[str | None, datetime | None]:
    """The first subject kind that is locked out now and until when, or (None, None)."""
    present = {kind: value for kind, value in subjects.items() if value is not None}
    rows = session.execute(
        select(*(_COLUMN_OF[kind] for kind in present), models.VerificationAttempt.at).where(
            models.VerificationAttempt.outcome == "failed",
            models.VerificationAttempt.at > now - LOOKBACK,
            or_(*(_COLUMN_OF[kind] == value for kind, value in present.items())),
        )
    ).all()
    for index, (kind, value) in enumerate(present.items()):
        until = locked_until([row[-1] for row in rows if row[index] == value], FAILURE_LIMITS[kind])
        if until is not None and now < until:
            return kind, until
    return None, None


def refused_verifications(since: datetime, uow: UnitOfWork) -> list[dto.RefusedAttempts]:
    """How many verification tries were refused since ``since``, by the kind of limit that refused
    them (conversation, order, customer, client), for the console's telemetry."""
    with uow:
        rows = uow.session.execute(
            select(models.VerificationAttempt.refused_by, func.count(models.VerificationAttempt.id))
            .where(models.VerificationAttempt.outcome == "refused", models.VerificationAttempt.at >= since)
            .group_by(models.VerificationAttempt.refused_by)
            .order_by(models.VerificationAttempt.refused_by)
        ).all()
        return [dto.RefusedAttempts(kind=kind, count=int(count)) for kind, count in rows]


def link_identity(
    customer_id: int, channel: str, external_id: str, uow: UnitOfWork, *, now: datetime | None = None
) -> None:
    """Bind a channel user (e.g. a Telegram user id) to a customer, replacing an older binding."""
    now = now or utcnow()
    with uow:
        if uow.session.get(models.Customer, customer_id) is None:
            raise errors.CustomerNotFound(str(customer_id))
        _link(uow.session, customer_id, channel, external_id, now)
        uow.commit()


def _link(session, customer_id: int, channel: str, external_id: str, now: datetime) -> None:
    session.execute(
        delete(models.ChannelIdentity).where(
            models.ChannelIdentity.channel == channel,
            models.ChannelIdentity.external_id == external_id,
        )
    )
    session.add(
        models.ChannelIdentity(customer_id=customer_id, channel=channel, external_id=external_id, verified_at=now)
    )
    audit(session, f"{channel}:{external_id}", "customer", customer_id, "link", now, channel=channel)


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
    """Link ``external_id`` on ``channel`` to the code's customer; the code works once, until it expires.

    The code is spent by an atomic conditional update in the same transaction as the link, so of two
    simultaneous redemptions one links and the other gets VerificationFailed, as a later one would.
    """
    now = now or utcnow()
    if not code or len(code) > 64:
        raise errors.VerificationFailed("invalid link code")
    refusal = errors.VerificationFailed("the link code is unknown, used or expired")
    with uow:
        condition = (models.LinkCode.code_hash == _code_hash(code), models.LinkCode.channel == channel,
                     models.LinkCode.used_at.is_(None), models.LinkCode.expires_at >= now)
        spent = uow.session.execute(
            update(models.LinkCode).where(*condition).values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:
            raise refusal
        customer_id = uow.session.execute(
            select(models.LinkCode.customer_id).where(models.LinkCode.code_hash == _code_hash(code))
        ).scalar_one()
        _link(uow.session, customer_id, channel, external_id, now)
        commit_once(uow, refusal)
    return customer_id
