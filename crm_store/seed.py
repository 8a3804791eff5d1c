"""A deterministic, realistic demo shop.

Every customer is drawn from their own random stream (``seed`` and customer number), so
customer 42 is the same whether 100 or 100,000 customers are seeded. Customers have tastes
(purchases follow a few favourite categories) and a buying rhythm; some drift away: their
orders thin out after a drift date, and before it they return more, complain and rate lower.
That is the structure the churn and recommendation models learn from.

The first three customers are demo personas with orders in every live state, placed
relative to ``as_of`` so that the demo always has something in transit, something to cancel
and something to return.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, insert, select, text

from crm_store import models
from crm_store.db import make_engine
from crm_store.policy import ShopPolicy, load_policy
from crm_store.seed_catalogue import ProductSeed, build_catalogue

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Katja",
    "Lukas", "Mia", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wim", "Xenia", "Yusuf", "Zoe", "Lea", "Marco", "Nina", "Omar", "Priya", "Sofia", "Tom",
)
LAST_NAMES = (
    "Schmidt", "Jansen", "Dubois", "Rossi", "Novak", "Berg", "Costa", "Meyer", "Kowalski",
    "Peeters", "Moreau", "Fischer", "Visser", "Silva", "Lindqvist", "Horvat", "Keller", "Bauer",
    "Garcia", "Weber", "De Vries", "Martin", "Nowak", "Ricci", "Larsen", "Hofmann",
)
CITIES = (
    ("Berlin", "DE", "10"), ("Hamburg", "DE", "20"), ("Munich", "DE", "80"),
    ("Amsterdam", "NL", "10"), ("Utrecht", "NL", "35"), ("Paris", "FR", "75"),
    ("Lyon", "FR", "69"), ("Vienna", "AT", "11"), ("Brussels", "BE", "10"), ("Ghent", "BE", "90"),
)
STREETS = ("Main Street", "Station Road", "Park Lane", "Market Square", "Mill Lane", "Elm Avenue")
CARRIERS = ("DHL", "UPS", "DPD", "GLS")
PAYMENTS = (("card", 55), ("paypal", 25), ("klarna", 12), ("bank_transfer", 8))
DELIVERIES = (("standard", 75), ("express", 15), ("pickup", 10))
RETURN_REASONS = ("too small", "too big", "arrived damaged", "not as described", "changed my mind",
                  "wrong item sent", "poor quality")
HAPPY_COMMENTS = ("Fast delivery, thanks!", "Great quality.", "Easy order, will buy again.", None)
UNHAPPY_COMMENTS = ("Delivery took far too long.", "Item broke after a week.",
                    "Support never answered my e-mail.", "Refund is still not here.",
                    "Not what the pictures showed.", None)
COMPLAINTS = ("Late delivery", "Damaged item", "Refund delayed", "Wrong item", "Rude courier")

DEMO_PERSONAS = (
    ("Ana Lopez", "ana@example.com"),
    ("Ben Carter", "ben@example.com"),
    ("Chloe Dubois", "chloe@example.com"),
)

FLUSH_EVERY_ORDERS = 20_000


def order_reference(order_id: int) -> str:
    """A short, unique, non-sequential reference like ``CD-7KQ2MX`` (a bijection of the id)."""
    value = (order_id * 0x2545F491 + 0x1D2C3B) % (1 << 30)
    chars = []
    for _ in range(6):
        value, digit = divmod(value, 32)
        chars.append(REFERENCE_ALPHABET[digit])
    return "CD-" + "".join(reversed(chars))


@dataclass
class SeedStats:
    customers: int = 0
    products: int = 0
    orders: int = 0
    order_lines: int = 0
    shipments: int = 0
    returns: int = 0
    refunds: int = 0
    invoices: int = 0
    tickets: int = 0
    feedback: int = 0


@dataclass
class _Rows:
    """Rows waiting to be inserted, with the next id of every table."""

    tables: dict[str, list[dict]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, row: dict) -> int:
        row_id = self.next_ids.get(table, 1)
        self.next_ids[table] = row_id + 1
        row["id"] = row_id
        self.tables.setdefault(table, []).append(row)
        return row_id

    def pending(self, table: str) -> int:
        return len(self.tables.get(table, ()))


def _weighted(rng: random.Random, pairs) -> str:
    total = sum(weight for _, weight in pairs)
    pick = rng.uniform(0, total)
    for value, weight in pairs:
        pick -= weight
        if pick <= 0:
            return value
    return pairs[-1][0]


@dataclass
class _Profile:
    customer_id: int
    created_at: datetime
    tastes: dict[str, float]
    rate_per_year: float
    drift_at: datetime | None
    segment: str


class _ShopBuilder:
    def __init__(self, products: list[ProductSeed], policy: ShopPolicy, seed: int, as_of: datetime):
        self.policy = policy
        self.seed = seed
        self.as_of = as_of
        self.rows = _Rows()
        self.stats = SeedStats()
        self.by_category: dict[str, list[tuple[int, ProductSeed]]] = {}
        for product_id, product in enumerate(products, start=1):
            self.by_category.setdefault(product.category, []).append((product_id, product))
        self.categories = sorted(self.by_category)

    # ---- customers -------------------------------------------------------------------------
    def add_customer(self, number: int) -> None:
        rng = random.Random(self.seed * 1_000_003 + number)
        profile = self._profile(rng, number)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name, email = f"{first} {last}", f"{first}.{last}.{number}".lower().replace(" ", "")
        email += "@example.com"
        if number <= len(DEMO_PERSONAS):
            name, email = DEMO_PERSONAS[number - 1]
        city, country, prefix = rng.choice(CITIES)
        address = {
            "line1": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
            "line2": None,
            "city": city,
            "postcode": f"{prefix}{rng.randint(100, 999)}",
            "country": country,
        }
        self.rows.add("customers", {
            "email": email, "name": name, "phone": f"+49 30 {rng.randint(1000000, 9999999)}",
            "segment": profile.segment, "newsletter_opt_in": rng.random() < 0.4,
            "created_at": profile.created_at, "churn_score": None, "churn_scored_at": None,
            "churn_reasons": None, "deletion_requested_at": None,
        })
        self.rows.add("addresses", {"customer_id": number, "is_default": True, **address})
        ship = {"ship_name": name, "ship_line1": address["line1"], "ship_line2": None,
                "ship_city": city, "ship_postcode": address["postcode"], "ship_country": country}
        for placed_at in self._order_times(rng, profile):
            self._add_order(rng, profile, placed_at, ship)
        if number <= 2:
            self._add_demo_orders(rng, profile, ship)
        self.stats.customers += 1

    def _profile(self, rng: random.Random, number: int) -> _Profile:
        tenure_days = rng.uniform(20, 4 * 365)
        created_at = self.as_of - timedelta(days=tenure_days, seconds=rng.randint(0, 86_399))
        favourites = rng.sample(self.categories, rng.choice((1, 2, 2, 3)))
        tastes = {c: (rng.uniform(5, 10) if c in favourites else 0.25) for c in self.categories}
        rate = min(max(rng.lognormvariate(math.log(3.5), 0.7), 0.6), 30.0)
        drift_at = None
        if number == 3 or (rng.random() < 0.3 and tenure_days > 200):
            drift_at = self.as_of - timedelta(days=rng.uniform(45, min(400, tenure_days - 120)))
        if number <= 2:
            drift_at = None
        if tenure_days < 90:
            segment = "new"
        elif rate > 9:
            segment = "vip"
        elif rate < 2:
            segment = "occasional"
        else:
            segment = "regular"
        return _Profile(number, created_at, tastes, rate, drift_at, segment)

    def _order_times(self, rng: random.Random, profile: _Profile) -> Iterator[datetime]:
        t = profile.created_at + timedelta(days=rng.uniform(0, 20))
        while True:
            rate = profile.rate_per_year
            if profile.drift_at and t > profile.drift_at:
                rate *= 0.04
            t += timedelta(days=rng.expovariate(rate / 365.0))
            if t >= self.as_of:
                return
            yield t

    def _near_drift(self, profile: _Profile, when: datetime) -> bool:
        return profile.drift_at is not None and (
            profile.drift_at - timedelta(days=150) < when < profile.drift_at + timedelta(days=30)
        )

    # ---- orders ----------------------------------------------------------------------------
    def _pick_products(self, rng: random.Random, profile: _Profile) -> list[tuple[int, ProductSeed]]:
        picked = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            category = _weighted(rng, list(profile.tastes.items()))
            items = self.by_category[category]
            # Earlier products of a category are the popular ones (a Zipf-like tail).
            index = min(int(rng.paretovariate(1.2)) - 1, len(items) - 1)
            choice = items[index] if rng.random() < 0.6 else rng.choice(items)
            if choice not in picked:
                picked.append(choice)
        return picked

    def _add_order(
        self, rng: random.Random, profile: _Profile, placed_at: datetime, ship: dict,
        forced_status: str | None = None, delivered_days_ago: float | None = None,
    ) -> int:
        unhappy = self._near_drift(profile, placed_at)
        lines = self._pick_products(rng, profile)
        quantities = [2 if rng.random() < 0.12 else 1 for _ in lines]
        subtotal = sum(p.price_cents * q for (_, p), q in zip(lines, quantities, strict=True))
        delivery = _weighted(rng, DELIVERIES)
        option = self.policy.delivery_option(delivery)
        free = option.free_from_cents is not None and subtotal >= option.free_from_cents
        shipping = 0 if free else option.price_cents
        payment = _weighted(rng, PAYMENTS)
        age_days = (self.as_of - placed_at).total_seconds() / 86_400
        status = forced_status or self._status_for_age(rng, age_days, payment, unhappy)
        paid_at = None
        if status != "placed" and not (status == "cancelled" and payment == "bank_transfer"):
            paid_at = placed_at + timedelta(minutes=rng.randint(1, 600 if payment == "bank_transfer" else 5))
        cancelled_at = placed_at + timedelta(hours=rng.uniform(1, 20)) if status == "cancelled" else None
        order_id = self.rows.add("orders", {
            "reference": "", "customer_id": profile.customer_id, "status": status,
            "payment_method": payment, "delivery_option": delivery, "subtotal_cents": subtotal,
            "shipping_cents": shipping, "total_cents": subtotal + shipping, "currency": "EUR",
            **ship, "placed_at": placed_at, "paid_at": paid_at, "cancelled_at": cancelled_at,
            "updated_at": cancelled_at or placed_at,
        })
        self.rows.tables["orders"][-1]["reference"] = order_reference(order_id)
        for (product_id, product), quantity in zip(lines, quantities, strict=True):
            self.rows.add("order_lines", {"order_id": order_id, "product_id": product_id,
                                          "quantity": quantity, "unit_price_cents": product.price_cents})
        self.stats.orders += 1
        self.stats.order_lines += len(lines)
        if paid_at:
            self.rows.add("invoices", {"order_id": order_id, "number": f"INV-{placed_at.year}-{order_id:08d}",
                                       "issued_at": paid_at, "amount_cents": subtotal + shipping})
            self.stats.invoices += 1
        if status == "cancelled" and paid_at:
            self._add_refund(order_id, None, "cancellation", subtotal + shipping, cancelled_at)
        delivered_at = None
        if status in ("shipped", "delivered", "returned"):
            delivered_at = self._add_shipment(rng, order_id, placed_at, delivery, status, delivered_days_ago)
        if status == "returned" or (status == "delivered" and delivered_days_ago is None and delivered_at
                                    and rng.random() < (0.10 if unhappy else 0.02)
                                    and (self.as_of - delivered_at).days < 20):
            self._add_return(rng, order_id, status, delivered_at, subtotal + shipping)
        if status in ("delivered", "returned"):
            self._maybe_feedback(rng, profile, order_id, delivered_at, unhappy)
        self._maybe_ticket(rng, profile, order_id, placed_at, status, unhappy)
        return order_id

    def _status_for_age(self, rng: random.Random, age_days: float, payment: str, unhappy: bool) -> str:
        if rng.random() < (0.08 if unhappy else 0.03):
            return "cancelled"
        if age_days < 0.5:
            return "placed" if payment == "bank_transfer" else "paid"
        if age_days < 1.5:
            return "packed"
        if age_days < 4:
            return "shipped"
        if age_days > 25 and rng.random() < (0.18 if unhappy else 0.05):
            return "returned"
        return "delivered"

    def _add_shipment(
        self, rng, order_id, placed_at, delivery, status, delivered_days_ago
    ) -> datetime | None:
        option = self.policy.delivery_option(delivery)
        shipped_at = placed_at + timedelta(hours=rng.uniform(20, 40))
        eta = (shipped_at + timedelta(days=option.days_max)).date()
        delivered_at = None
        if delivered_days_ago is not None:
            delivered_at = self.as_of - timedelta(days=delivered_days_ago)
            shipped_at = delivered_at - timedelta(days=option.days_min)
            eta = delivered_at.date()
        elif status != "shipped":
            late = rng.random() < 0.08
            days = rng.uniform(option.days_min, option.days_max + (4 if late else 0))
            delivered_at = shipped_at + timedelta(days=days)
            delivered_at = min(delivered_at, self.as_of - timedelta(hours=1))
        carrier = rng.choice(CARRIERS)
        self.rows.add("shipments", {
            "order_id": order_id, "carrier": carrier,
            "tracking_number": f"{carrier[:2]}{rng.randrange(10**9, 10**10)}",
            "shipped_at": shipped_at, "eta": eta, "delivered_at": delivered_at,
        })
        self.stats.shipments += 1
        return delivered_at

    def _add_return(self, rng, order_id, status, delivered_at, amount) -> None:
        requested_at = delivered_at + timedelta(days=rng.uniform(1, 12))
        done = status == "returned"
        return_id = self.rows.add("returns", {
            "order_id": order_id, "reason": rng.choice(RETURN_REASONS),
            "status": "refunded" if done else "requested", "requested_at": requested_at,
            "closed_at": requested_at + timedelta(days=10) if done else None,
        })
        self.stats.returns += 1
        if done:
            self._add_refund(order_id, return_id, "return", amount, requested_at + timedelta(days=6),
                             processed=True)

    def _add_refund(self, order_id, return_id, reason, amount, created_at, processed=True) -> None:
        processed_at = created_at + timedelta(days=4)
        pending = processed_at > self.as_of
        self.rows.add("refunds", {
            "order_id": order_id, "return_id": return_id, "reason": reason, "amount_cents": amount,
            "status": "pending" if pending or not processed else "processed", "created_at": created_at,
            "processed_at": None if pending or not processed else processed_at,
        })
        self.stats.refunds += 1

    def _maybe_feedback(self, rng, profile, order_id, delivered_at, unhappy) -> None:
        if delivered_at is None or rng.random() > 0.2:
            return
        if unhappy:
            csat, comment = rng.choice((1, 2, 2, 3)), rng.choice(UNHAPPY_COMMENTS)
        else:
            csat, comment = rng.choice((4, 5, 5, 5, 3)), rng.choice(HAPPY_COMMENTS)
        self.rows.add("feedback", {
            "customer_id": profile.customer_id, "csat": csat, "comment": comment,
            "conversation_id": None, "channel": rng.choice(("web", "telegram", "email")),
            "created_at": delivered_at + timedelta(days=rng.uniform(0.5, 5)),
        })
        self.stats.feedback += 1

    def _maybe_ticket(self, rng, profile, order_id, placed_at, status, unhappy) -> None:
        chance = 0.25 if unhappy else 0.03
        if rng.random() > chance:
            return
        created_at = placed_at + timedelta(days=rng.uniform(1, 10))
        if created_at > self.as_of:
            return
        complaint = unhappy and rng.random() < 0.7
        closed = (self.as_of - created_at).days > 7
        self.rows.add("tickets", {
            "customer_id": profile.customer_id,
            "reason": "complaint" if complaint else rng.choice(("order_question", "delivery", "payment")),
            "priority": "high" if complaint else "normal",
            "status": "closed" if closed else "open",
            "assignee": "agent@caredesk.example" if closed else None,
            "summary": (rng.choice(COMPLAINTS) if complaint else "Question about an order")
            + f" (order {order_reference(order_id)}, {status}).",
            "conversation_id": None, "channel": rng.choice(("web", "telegram", "email")),
            "created_at": created_at, "closed_at": created_at + timedelta(days=2) if closed else None,
        })
        self.stats.tickets += 1

    def _add_demo_orders(self, rng: random.Random, profile: _Profile, ship: dict) -> None:
        """One order in each live state, so a demo can track, cancel and return right away."""
        now = self.as_of
        self._add_order(rng, profile, now - timedelta(hours=3), ship, forced_status="paid")
        self._add_order(rng, profile, now - timedelta(days=2), ship, forced_status="shipped")
        self._add_order(rng, profile, now - timedelta(days=9), ship, forced_status="delivered",
                        delivered_days_ago=5)
        self._add_order(rng, profile, now - timedelta(days=75), ship, forced_status="delivered",
                        delivered_days_ago=70)
        if profile.customer_id == 2:
            self._add_order(rng, profile, now - timedelta(hours=1), ship, forced_status="placed")
            self._add_order(rng, profile, now - timedelta(hours=20), ship, forced_status="packed")


def default_as_of() -> datetime:
    """Midnight UTC today: the same shop for a given seed all day long."""
    return datetime.combine(date.today(), time.min)


def _insert_all(connection, rows: _Rows) -> None:
    # Parents before children, so foreign keys hold at every step.
    for table in ("customers", "addresses", "products", "orders", "order_lines", "invoices",
                  "shipments", "returns", "refunds", "tickets", "feedback"):
        batch = rows.tables.get(table)
        if batch:
            connection.execute(insert(models.Base.metadata.tables[table]), batch)
            batch.clear()


def _reset_postgres_sequences(connection) -> None:
    for table in models.Base.metadata.sorted_tables:
        if "id" not in table.columns:
            continue  # keyed by something else (a token hash, a user), so no sequence
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
        ))


def is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(models.Customer)).scalar_one() == 0
    finally:
        engine.dispose()


def seed_shop(
    url: str,
    customers: int = 200,
    seed: int = 7,
    as_of: datetime | None = None,
    policy: ShopPolicy | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SeedStats:
    """Fill an empty, migrated database with a demo shop. Refuses a database that has customers."""
    if customers < 1:
        raise ValueError("seed at least one customer")
    if not is_empty(url):
        raise RuntimeError("the database already has customers; seed only an empty one")
    products = build_catalogue()
    builder = _ShopBuilder(products, policy or load_policy(), seed, as_of or default_as_of())
    for product in products:
        builder.rows.add("products", {
            "sku": product.sku, "name": product.name, "category": product.category,
            "price_cents": product.price_cents, "stock": product.stock,
            "description": product.description, "attributes": product.attributes,
        })
    builder.stats.products = len(products)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for number in range(1, customers + 1):
                builder.add_customer(number)
                if builder.rows.pending("orders") >= FLUSH_EVERY_ORDERS:
                    _insert_all(connection, builder.rows)
                if on_progress:
                    on_progress(1)
            _insert_all(connection, builder.rows)
            if engine.dialect.name == "postgresql":
                _reset_postgres_sequences(connection)
    finally:
        engine.dispose()
    return builder.stats
