"""Plain, frozen read models the services return. No SQLAlchemy objects leave the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


def format_money(cents: int, currency: str = "EUR") -> str:
    symbol = {"EUR": "€", "GBP": "£", "USD": "$"}.get(currency)
    amount = f"{cents / 100:,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


@dataclass(frozen=True)
class LineItem:
    sku: str
    name: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class OrderSummary:
    reference: str
    status: str
    placed_at: datetime
    total_cents: int
    currency: str
    item_count: int


@dataclass(frozen=True)
class OrderStatus:
    reference: str
    status: str
    placed_at: datetime
    total_cents: int
    currency: str
    delivery_option: str
    payment_method: str
    lines: tuple[LineItem, ...]
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    eta: date | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    ship_to: str = ""


@dataclass(frozen=True)
class RefundInfo:
    order_reference: str
    amount_cents: int
    currency: str
    status: str
    reason: str
    created_at: datetime
    processed_at: datetime | None
    expected_by: date | None


@dataclass(frozen=True)
class CancelResult:
    reference: str
    status: str
    fee_cents: int
    refund: RefundInfo | None


@dataclass(frozen=True)
class ReturnInfo:
    order_reference: str
    status: str
    reason: str
    requested_at: datetime
    return_by: date


@dataclass(frozen=True)
class ClaimInfo:
    """An exchange, a damaged / wrong / missing item or a lost parcel, as a ticket for the team."""

    kind: str
    order_reference: str
    ticket_id: int
    already_open: bool
    send_back_by: date | None = None  # exchanges: the last day to send the item back


@dataclass(frozen=True)
class AddressInfo:
    line1: str
    line2: str | None
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class InvoiceInfo:
    number: str
    order_reference: str
    issued_at: datetime
    amount_cents: int
    currency: str
    lines: tuple[LineItem, ...]


@dataclass(frozen=True)
class AccountInfo:
    customer_id: int
    name: str
    email: str
    phone: str | None
    segment: str
    newsletter_opt_in: bool
    created_at: datetime
    deletion_requested: bool
    churn_score: float | None
    churn_reasons: tuple[str, ...] = ()
    lifetime_value_cents: int = 0


@dataclass(frozen=True)
class ProductInfo:
    sku: str
    name: str
    category: str
    price_cents: int
    stock: int
    description: str


@dataclass(frozen=True)
class TicketInfo:
    id: int
    customer_id: int | None
    reason: str
    priority: str
    status: str
    assignee: str | None
    summary: str
    conversation_id: str | None
    channel: str | None
    created_at: datetime
    closed_at: datetime | None = None
    claimed_at: datetime | None = None
    first_response_at: datetime | None = None
    card: dict = field(default_factory=dict, compare=False)  # the hand-over card (see services.escalation)


@dataclass(frozen=True)
class FeedbackInfo:
    id: int
    csat: int | None
    comment: str | None
    created_at: datetime
    ticket_id: int | None = None  # the follow-up a low score or an angry comment opened


@dataclass(frozen=True)
class RefusedAttempts:
    """Verification tries refused while locked out, by the kind of limit that refused them."""

    kind: str  # conversation | order | customer | client
    count: int


@dataclass(frozen=True)
class PendingChangeInfo:
    """A sensitive change held until the customer confirms it; ``preview`` shows it masked."""

    kind: str  # contact | address
    preview: str
    expires_at: datetime


@dataclass(frozen=True)
class OutboxInfo:
    """An e-mail waiting for (or already given to) the shop's mailer."""

    id: int
    customer_id: int | None
    kind: str
    recipient: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class EscalationResult:
    """The escalation use case's answer: whether a person takes over, why, and the ticket opened."""

    escalate: bool
    reasons: tuple[str, ...] = ()
    priority: str = "normal"
    retention: bool = False  # offer an apology and a goodwill gesture first
    trend: float = 0.0
    ticket_id: int | None = None
    already_open: bool = False  # the conversation was already waiting for (or with) a person
    live: bool = False  # an agent is available: the bot pauses and a person answers in the chat
    queue_position: int | None = None  # among the conversations waiting for an agent, when live
