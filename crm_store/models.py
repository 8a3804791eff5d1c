"""SQLAlchemy models of the CRM.

Money is held in integer cents so that SQLite and PostgreSQL agree to the cent.
Times are naive UTC.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

# Any: SQLAlchemy 1.4 ships no type hints (its mypy plugin needs separate stubs).
Base: Any = declarative_base()

ORDER_STATUSES = ("placed", "paid", "packed", "shipped", "delivered", "cancelled", "returned")


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True)
    name = Column(String(120), nullable=False)
    phone = Column(String(40))
    segment = Column(String(40), nullable=False, default="regular")
    newsletter_opt_in = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False)
    churn_score = Column(Float)
    churn_scored_at = Column(DateTime)
    churn_reasons = Column(JSON)
    deletion_requested_at = Column(DateTime)

    addresses = relationship("Address", back_populates="customer", lazy="selectin")
    identities = relationship("ChannelIdentity", back_populates="customer")


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(20), nullable=False)  # web | telegram
    external_id = Column(String(120), nullable=False)
    verified_at = Column(DateTime)

    customer = relationship("Customer", back_populates="identities")


class Address(Base):
    __tablename__ = "addresses"

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    line1 = Column(String(200), nullable=False)
    line2 = Column(String(200))
    city = Column(String(100), nullable=False)
    postcode = Column(String(20), nullable=False)
    country = Column(String(2), nullable=False)
    is_default = Column(Boolean, nullable=False, default=False)

    customer = relationship("Customer", back_populates="addresses")


class Product(Base):
    __tablename__ = "products"

    id = Column(Integer, primary_key=True)
    sku = Column(String(40), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    category = Column(String(60), nullable=False, index=True)
    price_cents = Column(Integer, nullable=False)
    stock = Column(Integer, nullable=False, default=0)
    description = Column(Text, nullable=False, default="")
    attributes = Column(JSON, nullable=False, default=dict)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_placed", "customer_id", "placed_at"),)

    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    status = Column(String(20), nullable=False, index=True)
    payment_method = Column(String(40), nullable=False)
    delivery_option = Column(String(40), nullable=False)
    subtotal_cents = Column(Integer, nullable=False)
    shipping_cents = Column(Integer, nullable=False)
    total_cents = Column(Integer, nullable=False)
    currency = Column(String(3), nullable=False, default="EUR")
    ship_name = Column(String(120), nullable=False)
    ship_line1 = Column(String(200), nullable=False)
    ship_line2 = Column(String(200))
    ship_city = Column(String(100), nullable=False)
    ship_postcode = Column(String(20), nullable=False)
    ship_country = Column(String(2), nullable=False)
    placed_at = Column(DateTime, nullable=False)
    paid_at = Column(DateTime)
    cancelled_at = Column(DateTime)
    updated_at = Column(DateTime, nullable=False)

    lines = relationship("OrderLine", back_populates="order", lazy="selectin")
    shipment = relationship("Shipment", back_populates="order", uselist=False, lazy="selectin")
    customer = relationship("Customer")


class OrderLine(Base):
    __tablename__ = "order_lines"

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    product_id = Column(ForeignKey("products.id"), nullable=False, index=True)
    quantity = Column(Integer, nullable=False)
    unit_price_cents = Column(Integer, nullable=False)

    order = relationship("Order", back_populates="lines")
    product = relationship("Product", lazy="joined")


class Shipment(Base):
    __tablename__ = "shipments"

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, unique=True)
    carrier = Column(String(40), nullable=False)
    tracking_number = Column(String(60), nullable=False)
    shipped_at = Column(DateTime, nullable=False)
    eta = Column(Date, nullable=False)
    delivered_at = Column(DateTime)

    order = relationship("Order", back_populates="shipment")


class Return(Base):
    __tablename__ = "returns"

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    reason = Column(String(200), nullable=False)
    status = Column(String(20), nullable=False)  # requested | received | refunded | rejected
    requested_at = Column(DateTime, nullable=False)
    closed_at = Column(DateTime)


class Refund(Base):
    """Money going back for an order. An order is either cancelled or returned, never both, so it
    has at most one refund; the unique constraint makes a racing second cancellation fail."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("order_id", name="uq_refunds_order_id"),)

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    return_id = Column(ForeignKey("returns.id"))
    reason = Column(String(40), nullable=False)  # cancellation | return
    amount_cents = Column(Integer, nullable=False)
    status = Column(String(20), nullable=False)  # pending | processed | failed
    created_at = Column(DateTime, nullable=False)
    processed_at = Column(DateTime)


class Invoice(Base):
    __tablename__ = "invoices"

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, unique=True)
    number = Column(String(30), nullable=False, unique=True)
    issued_at = Column(DateTime, nullable=False)
    amount_cents = Column(Integer, nullable=False)


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    reason = Column(String(60), nullable=False)
    priority = Column(String(10), nullable=False)  # low | normal | high | urgent
    status = Column(String(20), nullable=False, index=True)  # open | assigned | closed
    assignee = Column(String(120))
    summary = Column(Text, nullable=False, default="")
    conversation_id = Column(String(120), index=True)
    channel = Column(String(20))
    created_at = Column(DateTime, nullable=False)
    closed_at = Column(DateTime)
    # The hand-over card (JSON: why, intents, failed turns, orders, churn risk, lifetime value),
    # and when an agent first claimed and first answered the conversation.
    card = Column(JSON)
    claimed_at = Column(DateTime)
    first_response_at = Column(DateTime)


class Feedback(Base):
    __tablename__ = "feedback"

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    csat = Column(Integer)
    comment = Column(Text)
    conversation_id = Column(String(120))
    channel = Column(String(20))
    created_at = Column(DateTime, nullable=False)
    intent = Column(String(80))  # the request the rating is about
    resolved_by = Column(String(10))  # bot | agent
    sentiment = Column(Float)  # the comment's sentiment score (-1 .. 1)
    ticket_id = Column(Integer)  # the follow-up ticket a low score or an angry comment opened


class Suggestion(Base):
    """A product suggested in chat, and the first time the customer followed it (a card's button)."""

    __tablename__ = "suggestions"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(120), nullable=False, index=True)
    channel = Column(String(20))
    customer_id = Column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    product_sku = Column(String(40), nullable=False)
    reason_kind = Column(String(20), nullable=False)  # bought | similar | popular
    shown_at = Column(DateTime, nullable=False, index=True)
    followed_at = Column(DateTime)
    followed_by = Column(String(20))  # details | more | basket


class AuditLog(Base):
    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    actor = Column(String(120), nullable=False)
    entity = Column(String(40), nullable=False)
    entity_id = Column(Integer, nullable=False)
    action = Column(String(60), nullable=False)
    detail = Column(JSON, nullable=False, default=dict)


class VerificationAttempt(Base):
    """One try at proving identity in chat (order reference + e-mail).

    Failed tries are counted per conversation (``subject``), per order reference, per customer who
    owns that reference and per client, so a new conversation id does not buy fresh tries. Refused
    tries (made while locked out) are recorded too, with the limit that refused them, for telemetry;
    they do not count as failures.
    """

    __tablename__ = "verification_attempts"
    __table_args__ = (
        Index("ix_verification_subject_at", "subject", "at"),
        Index("ix_verification_reference_at", "reference", "at"),
        Index("ix_verification_customer_at", "customer_id", "at"),
        Index("ix_verification_client_at", "client", "at"),
        Index("ix_verification_outcome_at", "outcome", "at"),
    )

    id = Column(Integer, primary_key=True)
    subject = Column(String(160), nullable=False)  # the conversation id, e.g. "api:<sender>"
    at = Column(DateTime, nullable=False)
    outcome = Column(String(10), nullable=False)  # ok | failed | refused
    reference = Column(String(20))  # the normalised order reference tried, if it looked like one
    customer_id = Column(Integer)  # who owns that reference (no FK: kept when the order is unknown)
    client = Column(String(128))  # the channel's opaque keyed hash of the client, if any
    refused_by = Column(String(20))  # conversation | order | customer | client, when refused


class LinkCode(Base):
    """A one-time, expiring code that binds a chat account (e.g. Telegram) to a customer."""

    __tablename__ = "link_codes"

    id = Column(Integer, primary_key=True)
    code_hash = Column(String(64), nullable=False, unique=True)  # sha256 of the code; the code is never stored
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(20), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime)


# --- issue 9 (C1): lock-out telemetry above; outbox, pending changes, one refund per order below ----


class OutboxMessage(Base):
    """An e-mail the shop's mailer should send (it sets ``sent_at``); written in the same
    transaction as the change it reports, so a notice is never lost nor sent for a rolled-back change."""

    __tablename__ = "outbox"

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    kind = Column(String(40), nullable=False)  # e.g. contact_changed | address_changed
    recipient = Column(String(254), nullable=False)
    subject = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)
    sent_at = Column(DateTime, index=True)


class PendingChange(Base):
    """A sensitive change (contact details, a delivery address) waiting for the customer's "yes".

    Held here, not in the conversation: the tracker store keeps no personal data between turns.
    Bound to the customer and the conversation that asked; deleted when applied or declined, and
    worthless after ``expires_at``.
    """

    __tablename__ = "pending_changes"
    __table_args__ = (UniqueConstraint("customer_id", "conversation", "kind", name="uq_pending_changes_owner"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    conversation = Column(String(160), nullable=False)
    kind = Column(String(20), nullable=False)  # contact | address
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"))
    payload = Column(JSON, nullable=False)  # the new values
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False, index=True)

# --- end of issue 9 (C1) section ---------------------------------------------------------------


# --- issue 9 (C2): people who work the support desk, and requests to be forgotten --------------


class User(Base):
    """Someone who works the support desk (agent) or runs it (admin).

    The password is kept only as a scrypt hash and the personal API token only as its sha256; the
    token is shown once when made, and making a new one ends the old one.
    """

    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    role = Column(String(10), nullable=False)  # agent | admin
    password_hash = Column(String(200), nullable=False)
    token_hash = Column(String(64), unique=True)  # sha256 hex of the current personal API token
    token_created_at = Column(DateTime)
    disabled = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False)


class ForgetRequest(Base):
    """A customer asked (in chat) to have their personal data erased; an admin confirms it
    (``caredesk customer forget ID --yes`` marks it done) or rejects it."""

    __tablename__ = "forget_requests"
    __table_args__ = (Index("ix_forget_requests_status_at", "status", "requested_at"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    conversation_id = Column(String(160))  # cleared when the request is carried out
    channel = Column(String(20))
    requested_at = Column(DateTime, nullable=False)
    status = Column(String(10), nullable=False)  # pending | done | rejected
    decided_at = Column(DateTime)
    decided_by = Column(String(120))

# --- end of issue 9 (C2) section ---------------------------------------------------------------


# --- issue 11: the agent console ---------------------------------------------------------------


class ConsoleSession(Base):
    """A logged-in console user. The cookie holds a random token; only its sha256 is kept here,
    with the session's CSRF token, so logging out (or disabling the user) ends it at once."""

    __tablename__ = "console_sessions"

    token_hash = Column(String(64), primary_key=True)
    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)


class AgentPresence(Base):
    """Whether an agent is taking chats: available, and seen (a console page open) recently."""

    __tablename__ = "agent_presence"

    user_id = Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    available = Column(Boolean, nullable=False, default=False)
    seen_at = Column(DateTime, nullable=False)


class ConversationNote(Base):
    """An agent's internal note on a conversation: never sent to the customer."""

    __tablename__ = "conversation_notes"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(160), nullable=False, index=True)
    author = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)


# --- issue 12: the admins' reports (rebuilt from the tracker store by `caredesk report rebuild`) ---


class ReportEpisode(Base):
    """One conversation episode (crm_store.scoring.episodes.Episode), derived, never edited: the
    whole table is replaced by each rebuild."""

    __tablename__ = "report_episodes"
    __table_args__ = (UniqueConstraint("conversation_id", "number", name="uq_report_episodes_session"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    number = Column(Integer, nullable=False)
    channel = Column(String(20), nullable=False, index=True)
    customer_id = Column(Integer, index=True)  # no FK: the table is derived and rebuilt wholesale
    started_at = Column(DateTime, nullable=False, index=True)
    ended_at = Column(DateTime, nullable=False)
    user_messages = Column(Integer, nullable=False)
    intents = Column(JSON, nullable=False)
    topic_intent = Column(String(80), index=True)
    sentiment_start = Column(Float)
    sentiment_end = Column(Float)
    sentiment_min = Column(Float)
    negative_messages = Column(Integer, nullable=False)
    escalated = Column(Boolean, nullable=False)
    live_handover = Column(Boolean, nullable=False)
    escalation_reason = Column(String(60))
    ticket_id = Column(Integer)
    agent = Column(String(120))
    first_response_seconds = Column(Float)
    resolution_seconds = Column(Float)
    resolved_by = Column(String(10), nullable=False)  # bot | agent | open
    csat = Column(Integer)
    csat_asked = Column(Boolean, nullable=False)
    recontact_24h = Column(Boolean, nullable=False)
    contained = Column(Boolean, nullable=False)


class ReportNegativeMessage(Base):
    """A customer message labelled negative (text as the tracker store keeps it: redacted), with its
    episode's topic so the reports filter it as they filter episodes."""

    __tablename__ = "report_negative_messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    number = Column(Integer, nullable=False)
    at = Column(DateTime, nullable=False, index=True)
    text = Column(Text, nullable=False)
    intent = Column(String(80))
    score = Column(Float, nullable=False)
    channel = Column(String(20), nullable=False)
    topic_intent = Column(String(80))


class ReportBuild(Base):
    """The last rebuild of the report tables (one row): when, and from how many events; the console
    keys its caches on it."""

    __tablename__ = "report_builds"

    id = Column(Integer, primary_key=True)
    built_at = Column(DateTime, nullable=False)
    events_read = Column(Integer, nullable=False)
    episodes = Column(Integer, nullable=False)
    negative_messages = Column(Integer, nullable=False)

# --- end of issue 12 section -------------------------------------------------------------------
