"""Forgetting a customer on request: their personal data erased, the shop's accounts kept.

A customer asks in chat (``delete_account``): :func:`queue_forget_request` records a pending
request that an admin confirms with ``caredesk customer forget ID --yes`` (:func:`forget_customer`),
or rejects.

What forgetting does, in one CRM transaction:

- the customer row keeps its id (orders point at it) but its name, e-mail (``forgotten-<id>@invalid``,
  which no customer can choose: the shop's e-mail check wants a dot in the domain), phone, newsletter
  consent and churn profile are replaced or cleared; saved addresses are deleted;
- orders keep their amounts, lines, status, invoice and delivery country for the accounts; the name
  and address copied onto each order, shipment tracking numbers and the free-text return reasons
  are erased;
- ticket summaries (transcripts) and feedback comments are replaced, their conversation ids cleared,
  and the customer's open tickets closed (nobody is left to answer);
- link codes, channel identities (Telegram links), verification attempts that named them or ran in
  their conversations and outbox e-mails to them are deleted;
- audit entries about them keep what happened and when, but lose the chat ids that did it and
  details like an old address;
- their pending forget requests are marked done; an audit row records who forgot them (counts only).

Their conversations are deleted from the Rasa tracker store (a separate database, the ``events``
table of Rasa's SQL tracker store, read here with plain SQL so the CRM never imports Rasa) first,
so a failure half-way leaves the CRM as it was and the command can be run again. Conversations are
found by the ids on their tickets, feedback, forget requests, successful verifications, audit log
and Telegram links, and by scanning the stored events for a channel's identity assertion
(``metadata.identity.cid``) or an in-chat proof (``verified`` slot ``<cid>.<expiry>.<sig>``, or a
``customer_id`` slot from before) naming them: a cheap LIKE filter first, then the parsed JSON decides.
Signatures are not checked: a conversation that merely claims to be them (only its own author could
write it) is erased with theirs, which errs on the side of forgetting.

On SQLite, erased rows are overwritten on disk (``secure_delete``) and the write-ahead log is
checkpointed; on PostgreSQL, old row versions stay in the table files until VACUUM reuses the space
(and in backups and WAL archives), which the production checklist covers.

Not reached from here: copies already sent to the event broker (RabbitMQ consumers keep their own),
log files, backups, and a conversation that is mid-turn while it is erased (Rasa re-saves what it
holds in memory); the CLI asks the operator to run it when the customer is not chatting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import column, create_engine, delete, inspect, or_, select, table, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from crm_store import errors, models
from crm_store.services import reports
from crm_store.services._common import audit, utcnow
from crm_store.unit_of_work import UnitOfWork

FORGOTTEN_NAME = "Forgotten customer"
ERASED = "[erased]"
ERASED_TRANSCRIPT = "[erased at the customer's request]"
# Audit actors that name a customer's chat or channel account rather than a member of staff.
CUSTOMER_ACTOR_PREFIXES = ("chat:", "telegram:", "web:", "tg:", "tg-group:", "api:", "rest:", "cb:")
FORGOTTEN_ACTOR = "customer:forgotten"
# Audit details kept on rows about a forgotten customer; anything else (an old address, a free-text
# reason) is dropped.
SAFE_AUDIT_DETAIL = frozenset({"fields", "subscribed", "previous", "fee", "priority", "channel"})
SAFE_TICKET_DETAIL = SAFE_AUDIT_DETAIL | {"reason"}  # a ticket's reason is a code, not the customer's words
# Rows written by the operators who handled the request, kept as they are.
OPERATOR_ACTIONS = ("forget", "reject_forget_request")
FINISHED_ORDER_STATUSES = ("delivered", "cancelled", "returned")
TELEGRAM_PRIVATE = "tg:"
DELETE_BATCH = 500
REQUEST_STATUSES = ("pending", "done", "rejected")

EVENTS = table("events", column("id"), column("sender_id"), column("type_name"), column("data"))

# What forgetting erases, in the order it is reported.
KINDS = (
    ("conversations", "conversations deleted from the tracker store"),
    ("conversation_events", "conversation events deleted"),
    ("customer", "customer record anonymised"),
    ("addresses", "saved addresses deleted"),
    ("order_addresses", "order delivery names and addresses erased"),
    ("tracking_numbers", "shipment tracking numbers erased"),
    ("return_reasons", "return reasons erased"),
    ("ticket_transcripts", "ticket transcripts erased"),
    ("tickets_closed", "open tickets closed"),
    ("feedback_comments", "feedback comments erased"),
    ("link_codes", "link codes deleted"),
    ("channel_identities", "channel identities deleted"),
    ("verification_attempts", "verification attempts deleted"),
    ("outbox_messages", "outbox e-mails deleted"),
    ("audit_entries", "audit entries scrubbed"),
    ("forget_requests", "forget requests marked done"),
)


@dataclass(frozen=True)
class ForgetReport:
    """What forgetting a customer erased (or, for a dry run, would erase)."""

    customer_id: int
    counts: tuple[tuple[str, int], ...]  # (kind, how many) in KINDS order
    open_orders: tuple[str, ...]  # references of orders still under way, whose address is erased too
    already_forgotten: bool
    done: bool  # False for a dry run

    def count(self, kind: str) -> int:
        return dict(self.counts)[kind]

    def lines(self) -> list[str]:
        labels = dict(KINDS)
        return [f"{n:>6}  {labels[kind]}" for kind, n in self.counts]


@dataclass(frozen=True)
class ForgetRequestInfo:
    id: int
    customer_id: int
    conversation_id: str | None
    channel: str | None
    requested_at: datetime
    status: str
    decided_at: datetime | None
    decided_by: str | None


def forgotten_email(customer_id: int) -> str:
    return f"forgotten-{int(customer_id)}@invalid"


# --- forget requests --------------------------------------------------------------------------


def _request_info(row: models.ForgetRequest) -> ForgetRequestInfo:
    return ForgetRequestInfo(id=row.id, customer_id=row.customer_id, conversation_id=row.conversation_id,
                             channel=row.channel, requested_at=row.requested_at, status=row.status,
                             decided_at=row.decided_at, decided_by=row.decided_by)


def queue_forget_request(
    session: Session, *, customer_id: int, conversation_id: str | None, channel: str | None, now: datetime,
) -> models.ForgetRequest:
    """A pending forget request inside an open unit of work (a customer's second ask reuses the first)."""
    pending = session.execute(select(models.ForgetRequest).where(
        models.ForgetRequest.customer_id == customer_id, models.ForgetRequest.status == "pending")
        .order_by(models.ForgetRequest.id)).scalars().first()
    if pending is not None:
        return pending
    request = models.ForgetRequest(customer_id=customer_id, conversation_id=conversation_id, channel=channel,
                                   requested_at=now, status="pending")
    session.add(request)
    session.flush()
    return request


def list_forget_requests(
    uow: UnitOfWork, *, status: str | None = "pending", limit: int = 200
) -> list[ForgetRequestInfo]:
    """Forget requests, oldest first (all of them when ``status`` is None)."""
    query = select(models.ForgetRequest)
    if status is not None:
        if status not in REQUEST_STATUSES:
            raise errors.InvalidInput(f"status must be one of {', '.join(REQUEST_STATUSES)}")
        query = query.where(models.ForgetRequest.status == status)
    with uow:
        rows = uow.session.execute(query.order_by(models.ForgetRequest.requested_at, models.ForgetRequest.id)
                                   .limit(limit)).scalars()
        return [_request_info(r) for r in rows]


def reject_forget_request(
    request_id: int, uow: UnitOfWork, *, actor: str, now: datetime | None = None
) -> ForgetRequestInfo:
    """Close a pending request without erasing anything (e.g. it was not the customer who asked)."""
    now = now or utcnow()
    with uow:
        row = uow.session.get(models.ForgetRequest, request_id, with_for_update=True)
        if row is None:
            raise errors.InvalidInput(f"there is no forget request {request_id}")
        if row.status != "pending":
            raise errors.InvalidInput(f"forget request {request_id} is already {row.status}")
        row.status, row.decided_at, row.decided_by = "rejected", now, actor
        audit(uow.session, actor, "customer", row.customer_id, "reject_forget_request", now, request=row.id)
        uow.commit()
        return _request_info(row)


# --- the tracker store ------------------------------------------------------------------------


def _tracker_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return create_engine(url, future=True, connect_args={"check_same_thread": False})
    return create_engine(url, future=True)


def _overwrite_deleted_data(connection: Connection) -> None:
    """On SQLite, zero what is deleted or overwritten instead of leaving it in free pages (many
    builds do by default; not all)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA secure_delete = ON")


def _checkpoint(session: Session) -> None:
    """On SQLite, move the write-ahead log into the database and empty it, so the old pages it
    still holds go too (best effort: a reader mid-transaction keeps it for now)."""
    if session.bind.dialect.name == "sqlite":
        with session.bind.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _is_customer_id(value: object, customer_id: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value == customer_id
    return isinstance(value, str) and value.strip() == str(customer_id)


def _metadata_names(metadata: object, customer_id: int) -> bool:
    identity = metadata.get("identity") if isinstance(metadata, dict) else None
    cid = identity.get("cid") if isinstance(identity, dict) else None
    return isinstance(cid, int) and not isinstance(cid, bool) and cid == customer_id


def event_names_customer(event: object, customer_id: int) -> bool:
    """Whether a stored Rasa event asserts or proves ``customer_id`` (metadata identity, or a slot)."""
    if not isinstance(event, dict):
        return False
    if _metadata_names(event.get("metadata"), customer_id):
        return True
    if event.get("event") == "slot":
        name, value = event.get("name"), event.get("value")
        if name == "session_started_metadata":  # Rasa copies a session's first metadata here
            return _metadata_names(value, customer_id)
        if name == "verified" and isinstance(value, str):
            return value.split(".", 1)[0] == str(customer_id)
        if name == "customer_id":
            return _is_customer_id(value, customer_id)
    return False


def _candidate_filter(customer_id: int):
    cid = int(customer_id)
    patterns = [f'%"cid": {cid},%', f'%"cid": {cid}}}%', f'%"cid":{cid},%', f'%"cid":{cid}}}%',
                f'%"value": "{cid}.%', f'%"value":"{cid}.%']
    by_metadata_or_proof = or_(*(EVENTS.c.data.like(p) for p in patterns))
    old_slot = EVENTS.c.data.like('%"customer_id"%') & EVENTS.c.data.like(f"%{cid}%") \
        & (EVENTS.c.type_name == "slot")
    return or_(by_metadata_or_proof, old_slot)


def conversations_naming(connection: Connection, customer_id: int) -> set[str]:
    """The conversations in the tracker store with an event that asserts or proves ``customer_id``."""
    found: set[str] = set()
    rows = connection.execute(select(EVENTS.c.sender_id, EVENTS.c.data).where(_candidate_filter(customer_id)))
    for sender_id, data in rows:
        if sender_id in found:
            continue
        try:
            event = json.loads(data or "null")
        except (ValueError, TypeError):
            continue
        if event_names_customer(event, customer_id):
            found.add(sender_id)
    return found


def _batches(items: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(items)
    for start in range(0, len(items), DELETE_BATCH):
        yield items[start:start + DELETE_BATCH]


def erase_conversations(tracker_store_url: str | None, customer_id: int, known: set[str], *,
                        dry_run: bool) -> tuple[int, int, set[str]]:
    """(conversations, events, their ids) deleted from the tracker store (or that would be, for a dry run)."""
    if not tracker_store_url:
        return 0, 0, set()
    parsed = make_url(tracker_store_url)
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).exists()):
        return 0, 0, set()  # Rasa has not stored a conversation yet (and connecting would create the file)
    engine = _tracker_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table("events"):
            return 0, 0, set()
        with engine.begin() as connection:
            _overwrite_deleted_data(connection)
            senders = conversations_naming(connection, customer_id) | {c for c in known if c}
            conversations = events = 0
            for batch in _batches(senders):
                present = connection.execute(select(EVENTS.c.sender_id).distinct()
                                             .where(EVENTS.c.sender_id.in_(batch))).scalars().all()
                conversations += len(present)
                if dry_run:
                    events += len(connection.execute(select(EVENTS.c.id).where(EVENTS.c.sender_id.in_(batch))).all())
                else:
                    events += connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(batch))).rowcount
        if not dry_run and engine.dialect.name == "sqlite":
            # the Rasa server writes the file in WAL mode: its log and the database's old pages
            # still hold the conversations until the log is folded back and emptied
            # (a reader still in an older snapshot makes SQLite answer busy, without an error)
            with engine.connect() as connection:
                busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if busy:
                raise errors.TrackerLogBusy(
                    f"{tracker_store_url}: a reader kept the write-ahead log from being emptied; the deleted "
                    "conversations are still in the file. Run the command again once it is done.")
        return conversations, events, senders
    finally:
        engine.dispose()


# --- the CRM ----------------------------------------------------------------------------------


def _ids(session: Session, query) -> list[int]:
    return list(session.execute(query).scalars())


def _known_conversations(session: Session, customer_id: int, order_ids: list[int], ticket_ids: list[int]) -> set[str]:
    """Conversation ids the CRM ties to the customer."""
    found: set[str] = set()
    for column_, owner in ((models.Ticket.conversation_id, models.Ticket.customer_id),
                           (models.Feedback.conversation_id, models.Feedback.customer_id),
                           (models.ForgetRequest.conversation_id, models.ForgetRequest.customer_id)):
        found |= {c for c in session.execute(select(column_).where(owner == customer_id)).scalars() if c}
    found |= set(session.execute(select(models.VerificationAttempt.subject).where(
        models.VerificationAttempt.customer_id == customer_id,
        models.VerificationAttempt.outcome == "ok")).scalars())
    found |= {TELEGRAM_PRIVATE + external_id for external_id in session.execute(
        select(models.ChannelIdentity.external_id).where(
            models.ChannelIdentity.customer_id == customer_id,
            models.ChannelIdentity.channel == "telegram")).scalars()}
    actors = session.execute(select(models.AuditLog.actor).where(_about(customer_id, order_ids, ticket_ids)))
    for actor in actors.scalars():
        if actor.startswith("chat:"):
            found.add(actor.removeprefix("chat:"))
    return found


def _about(customer_id: int, order_ids: list[int], ticket_ids: list[int]):
    """Audit rows about the customer, their orders or their tickets."""
    return or_((models.AuditLog.entity == "customer") & (models.AuditLog.entity_id == customer_id),
               (models.AuditLog.entity == "order") & models.AuditLog.entity_id.in_(order_ids or [-1]),
               (models.AuditLog.entity == "ticket") & models.AuditLog.entity_id.in_(ticket_ids or [-1]))


def _anonymise_customer(customer: models.Customer, now: datetime) -> int:
    before = (customer.name, customer.email, customer.phone, customer.newsletter_opt_in, customer.churn_reasons)
    customer.name, customer.email, customer.phone = FORGOTTEN_NAME, forgotten_email(customer.id), None
    customer.newsletter_opt_in = False
    customer.churn_score = customer.churn_scored_at = customer.churn_reasons = None
    customer.deletion_requested_at = customer.deletion_requested_at or now
    after = (customer.name, customer.email, customer.phone, customer.newsletter_opt_in, customer.churn_reasons)
    return int(before != after)


def _erase_orders(session: Session, order_ids: list[int]) -> dict[str, int]:
    counts = {"order_addresses": 0, "tracking_numbers": 0, "return_reasons": 0}
    if not order_ids:
        return counts
    erased_address = dict(ship_name=FORGOTTEN_NAME, ship_line1=ERASED, ship_line2=None, ship_city=ERASED,
                          ship_postcode=ERASED)
    counts["order_addresses"] = session.execute(update(models.Order).where(
        models.Order.id.in_(order_ids),
        or_(models.Order.ship_line1 != ERASED, models.Order.ship_name != FORGOTTEN_NAME))
        .values(**erased_address).execution_options(synchronize_session=False)).rowcount
    counts["tracking_numbers"] = session.execute(update(models.Shipment).where(
        models.Shipment.order_id.in_(order_ids), models.Shipment.tracking_number != ERASED)
        .values(tracking_number=ERASED).execution_options(synchronize_session=False)).rowcount
    counts["return_reasons"] = session.execute(update(models.Return).where(
        models.Return.order_id.in_(order_ids), models.Return.reason != ERASED)
        .values(reason=ERASED).execution_options(synchronize_session=False)).rowcount
    return counts


def _erase_support(session: Session, customer_id: int, actor: str, now: datetime) -> dict[str, int]:
    counts = {"tickets_closed": session.execute(update(models.Ticket).where(
        models.Ticket.customer_id == customer_id, models.Ticket.status.in_(("open", "assigned")))
        .values(status="closed", closed_at=now).execution_options(synchronize_session=False)).rowcount}
    counts["ticket_transcripts"] = session.execute(update(models.Ticket).where(
        models.Ticket.customer_id == customer_id,
        or_(models.Ticket.summary != ERASED_TRANSCRIPT, models.Ticket.conversation_id.is_not(None)))
        .values(summary=ERASED_TRANSCRIPT, conversation_id=None)
        .execution_options(synchronize_session=False)).rowcount
    counts["feedback_comments"] = session.execute(update(models.Feedback).where(
        models.Feedback.customer_id == customer_id,
        or_(models.Feedback.comment.is_not(None), models.Feedback.conversation_id.is_not(None)))
        .values(comment=None, conversation_id=None).execution_options(synchronize_session=False)).rowcount
    counts["forget_requests"] = session.execute(update(models.ForgetRequest).where(
        models.ForgetRequest.customer_id == customer_id, models.ForgetRequest.status == "pending")
        .values(status="done", decided_at=now, decided_by=actor).execution_options(synchronize_session=False)).rowcount
    session.execute(update(models.ForgetRequest).where(models.ForgetRequest.customer_id == customer_id)
                    .values(conversation_id=None).execution_options(synchronize_session=False))
    return counts


def _delete_links(session: Session, customer_id: int, email: str, conversations: set[str]) -> dict[str, int]:
    attempts = models.VerificationAttempt.customer_id == customer_id
    if conversations:
        attempts = or_(attempts, models.VerificationAttempt.subject.in_(sorted(conversations)))
    return {
        "link_codes": session.execute(delete(models.LinkCode).where(
            models.LinkCode.customer_id == customer_id)).rowcount,
        "channel_identities": session.execute(delete(models.ChannelIdentity).where(
            models.ChannelIdentity.customer_id == customer_id)).rowcount,
        "verification_attempts": session.execute(delete(models.VerificationAttempt).where(attempts)).rowcount,
        "outbox_messages": session.execute(delete(models.OutboxMessage).where(or_(
            models.OutboxMessage.customer_id == customer_id,
            models.OutboxMessage.recipient == email))).rowcount,
        "pending_changes": session.execute(delete(models.PendingChange).where(
            models.PendingChange.customer_id == customer_id)).rowcount,
    }


def _scrub_audit(session: Session, customer_id: int, order_ids: list[int], ticket_ids: list[int]) -> int:
    scrubbed = 0
    rows = session.execute(select(models.AuditLog).where(
        _about(customer_id, order_ids, ticket_ids), models.AuditLog.action.not_in(OPERATOR_ACTIONS))).scalars()
    for row in rows:
        safe = SAFE_TICKET_DETAIL if row.entity == "ticket" else SAFE_AUDIT_DETAIL
        detail = dict(row.detail or {})
        kept = {k: v for k, v in detail.items() if k in safe}
        dropped = sorted(k for k in detail if k not in safe and k != "erased")
        actor = FORGOTTEN_ACTOR if row.actor.startswith(CUSTOMER_ACTOR_PREFIXES) else row.actor
        if dropped or actor != row.actor:
            row.detail = {**kept, "erased": sorted(set(dropped) | set(detail.get("erased") or []))}
            row.actor = actor
            scrubbed += 1
    return scrubbed


def forget_customer(
    customer_id: int,
    uow: UnitOfWork,
    *,
    tracker_store_url: str | None,
    actor: str,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ForgetReport:
    """Erase the customer's personal data (see the module's docstring); with ``dry_run``, only count
    what would be erased. Running it again is harmless."""
    now = now or utcnow()
    with uow:
        session = uow.session
        _overwrite_deleted_data(session.connection())
        customer = session.get(models.Customer, customer_id, with_for_update=True)
        if customer is None:
            raise errors.CustomerNotFound(str(customer_id))
        already = customer.email == forgotten_email(customer_id)
        email = customer.email
        order_ids = _ids(session, select(models.Order.id).where(models.Order.customer_id == customer_id))
        ticket_ids = _ids(session, select(models.Ticket.id).where(models.Ticket.customer_id == customer_id))
        open_orders = tuple(session.execute(select(models.Order.reference).where(
            models.Order.customer_id == customer_id,
            models.Order.status.not_in(FINISHED_ORDER_STATUSES)).order_by(models.Order.placed_at)).scalars())
        known = _known_conversations(session, customer_id, order_ids, ticket_ids)

        # The tracker store first: if it fails, the CRM is untouched and the command can be rerun.
        conversations, events, erased = erase_conversations(tracker_store_url, customer_id, known, dry_run=dry_run)
        # The report tables are derived from those conversations: their rows go in the same transaction.
        reports.drop_report_rows(session, erased | known, customer_id)

        counts: dict[str, int] = {"conversations": conversations, "conversation_events": events}
        counts["customer"] = _anonymise_customer(customer, now)
        counts["addresses"] = session.execute(delete(models.Address).where(
            models.Address.customer_id == customer_id)).rowcount
        counts |= _erase_orders(session, order_ids)
        counts |= _erase_support(session, customer_id, actor, now)
        counts |= _delete_links(session, customer_id, email, known)
        counts["audit_entries"] = _scrub_audit(session, customer_id, order_ids, ticket_ids)
        report = ForgetReport(customer_id=customer_id, counts=tuple((k, counts[k]) for k, _ in KINDS),
                              open_orders=open_orders, already_forgotten=already, done=not dry_run)
        if dry_run:
            return report  # the unit of work rolls everything back
        audit(session, actor, "customer", customer_id, "forget", now,
              **{kind: n for kind, n in report.counts if n})
        uow.commit()
        _checkpoint(session)
        return report
