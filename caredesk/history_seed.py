"""Conversation history for the demo shop: months of chats in the tracker store, tied to the CRM.

``caredesk seed`` (and ``caredesk run --demo``) call :func:`seed_history` after the shop is seeded,
so the agent console and the admins' reports have something real to show on first start.

How it is made:
- **When**: contact days are drawn over the year before ``as_of`` with a weekday rhythm (Mondays
  busiest, weekends quiet), a season (a run-up to Christmas, returns in January, a summer dip)
  and a growing customer base; hours follow the shop's time zone (mornings and evenings).
- **Who and what**: most contacts are about a real order the customer placed in the weeks before
  (its status at that moment decides the question: late parcels make upset customers); some are
  general questions, a few from anonymous web visitors. Cancellations and returns of the CRM are
  talked through in the chat at the moment the CRM says they happened.
- **How it goes**: every customer message gets its sentiment from the real scorer, and after
  every answered request the real escalation rules (``crm_store.scoring.escalation.decide``) decide
  whether a person takes over, as the assistant's actions do; customers may also ask for a person,
  or get stuck in misunderstandings. While agents are live (the policy's support hours) a hand-over
  pauses the bot, an agent on duty claims it, replies in the chat (bot events signed
  ``{"agent": name}``) and hands back (the agent API's resume events); the customer calms down and
  is asked for CSAT. Outside support hours the ticket waits for the next working morning and is
  answered by e-mail. Some customers come back within a day.
- **Where**: events are built as ``rasa.shared.core.events`` objects, redacted exactly as
  :class:`bot.tracker_store.RedactingSQLTrackerStore` redacts them, and inserted in bulk into the
  tracker store's own ``events`` table (Rasa's schema); tickets (with the hand-over card), feedback
  and Telegram links go into the CRM.

Deterministic: the same CRM, ``seed``, ``as_of`` and number of conversations give the same history.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from caredesk import history_texts as texts
from crm_store import models
from crm_store.db import make_engine
from crm_store.dto import format_money
from crm_store.policy import ShopPolicy, load_policy
from crm_store.scoring.escalation import Signals, decide
from crm_store.services import escalation

WEB, TELEGRAM = "caredesk_web", "caredesk_telegram"  # the input channels' names (bot/channels)
AGENTS = ("amira", "bastian", "chen", "dorota", "emeka")  # console user names; not created as users
HISTORY_DAYS = 365
CONVERSATIONS_PER_CUSTOMER_YEAR = 10
MAX_DEFAULT_CONVERSATIONS = 20_000
SESSION_EXPIRY = timedelta(minutes=60)  # domain.yml session_config
RULE_POLICY = "policy_1_RulePolicy"
MODEL_METADATA = {"model_id": "seeded-history", "assistant_id": "caredesk"}
BACK_TO_BOT = "You're back with the CareDesk assistant. Is there anything else I can help with?"
INSERT_BATCH = 5_000
WEEKDAY = (1.3, 1.12, 1.0, 1.0, 0.95, 0.62, 0.7)  # Monday first
# Hour of day (shop's local time) weights: quiet nights, busy mornings and evenings.
HOURS = (0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.2, 1.6, 1.7, 1.6, 1.4, 1.4, 1.3, 1.2, 1.2, 1.2,
         1.3, 1.5, 1.6, 1.4, 0.9, 0.5)
WEEKEND_HOURS = HOURS[:18] + tuple(weight * 1.3 for weight in HOURS[18:])  # weekend evenings busier


@dataclass
class HistoryStats:
    conversations: int = 0
    sessions: int = 0
    events: int = 0
    user_messages: int = 0
    escalations: int = 0
    live_handovers: int = 0
    agent_replies: int = 0
    tickets: int = 0
    feedback: int = 0
    recontacts: int = 0
    skipped: str | None = None  # why nothing was seeded


# ---- the CRM as the history needs it ------------------------------------------------------------


@dataclass
class _Order:
    id: int
    reference: str
    customer_id: int
    status: str
    placed_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    total_cents: int
    items: str
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    eta: date | None = None
    delivered_at: datetime | None = None
    invoice: tuple[str, datetime] | None = None
    return_requested_at: datetime | None = None
    refund: tuple[int, datetime, datetime | None] | None = None  # amount, created, processed

    def status_at(self, when: datetime) -> str:
        if self.cancelled_at and self.cancelled_at <= when:
            return "cancelled"
        if self.delivered_at and self.delivered_at <= when:
            return "returned" if self.refund and self.refund[1] <= when else "delivered"
        if self.shipped_at and self.shipped_at <= when:
            return "shipped"
        if self.shipped_at and self.shipped_at - timedelta(hours=12) <= when:
            return "packed"
        return "paid" if self.paid_at and self.paid_at <= when else "placed"

    def late_at(self, when: datetime) -> bool:
        """Past its expected date and not delivered by then."""
        if self.eta is None or when.date() <= self.eta:
            return False
        return self.delivered_at is None or self.delivered_at > when


@dataclass
class _Customer:
    id: int
    created_at: datetime
    churn_score: float | None
    churn_reasons: list[str]
    lifetime_value_cents: int = 0
    telegram_chat: int | None = None
    orders: list[_Order] = field(default_factory=list)


@dataclass
class _Shop:
    customers: dict[int, _Customer]
    orders: list[_Order]  # by placed_at
    placed: list[datetime]  # the orders' placed_at, for bisecting
    next_ticket_id: int


def _load_shop(connection) -> _Shop:
    t = models.Base.metadata.tables
    customers = {
        row.id: _Customer(row.id, row.created_at, row.churn_score, list(row.churn_reasons or []))
        for row in connection.execute(select(t["customers"].c.id, t["customers"].c.created_at,
                                             t["customers"].c.churn_score, t["customers"].c.churn_reasons)
                                      .where(t["customers"].c.deletion_requested_at.is_(None))
                                      .order_by(t["customers"].c.id))
    }
    items: dict[int, list[str]] = {}
    lines = select(t["order_lines"].c.order_id, t["products"].c.name).join(
        t["products"], t["products"].c.id == t["order_lines"].c.product_id).order_by(t["order_lines"].c.id)
    for order_id, name in connection.execute(lines):
        items.setdefault(order_id, []).append(name)
    o = t["orders"].c
    orders: dict[int, _Order] = {}
    for row in connection.execute(select(o.id, o.reference, o.customer_id, o.status, o.placed_at, o.paid_at,
                                         o.cancelled_at, o.total_cents).order_by(o.placed_at, o.id)):
        if row.customer_id not in customers:
            continue
        names = items.get(row.id, ["an item"])
        label = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
        orders[row.id] = _Order(row.id, row.reference, row.customer_id, row.status, row.placed_at, row.paid_at,
                                row.cancelled_at, row.total_cents, label)
    for row in connection.execute(select(t["shipments"])):
        if row.order_id in orders:
            order = orders[row.order_id]
            order.carrier, order.tracking_number = row.carrier, row.tracking_number
            order.shipped_at, order.eta, order.delivered_at = row.shipped_at, row.eta, row.delivered_at
    for row in connection.execute(select(t["invoices"])):
        if row.order_id in orders:
            orders[row.order_id].invoice = (row.number, row.issued_at)
    for row in connection.execute(select(t["returns"])):
        if row.order_id in orders:
            orders[row.order_id].return_requested_at = row.requested_at
    for row in connection.execute(select(t["refunds"])):
        if row.order_id in orders:
            orders[row.order_id].refund = (row.amount_cents, row.created_at, row.processed_at)
    for order in orders.values():
        customer = customers[order.customer_id]
        customer.orders.append(order)
        if order.status != "cancelled":
            customer.lifetime_value_cents += order.total_cents
    ordered = list(orders.values())
    last_ticket = connection.execute(select(func.max(t["tickets"].c.id))).scalar() or 0
    return _Shop(customers, ordered, [order.placed_at for order in ordered], last_ticket + 1)


# ---- when and what customers ask ----------------------------------------------------------------


@dataclass
class _Contact:
    at: datetime
    customer: _Customer | None
    topic: str  # an intent
    mood: str
    order: _Order | None = None
    channel: str = WEB
    recontact_of: _Contact | None = None


def default_conversations(customers: int) -> int:
    """About ten conversations per customer-year of history, capped."""
    years = HISTORY_DAYS / 365
    return min(MAX_DEFAULT_CONVERSATIONS, max(1, round(customers * years * CONVERSATIONS_PER_CUSTOMER_YEAR * 0.8)))


def _bump(doy: int, centre: int, width: float) -> float:
    distance = abs(doy - centre)
    distance = min(distance, 365 - distance)  # the year wraps round
    return math.exp(-(distance / width) ** 2)


def _season(day: date) -> float:
    """Christmas run-up and January returns above the year's level, the summer holidays below."""
    doy = day.timetuple().tm_yday
    return 1.0 + 0.55 * _bump(doy, 343, 18) + 0.3 * _bump(doy, 10, 9) - 0.15 * _bump(doy, 210, 25)


def _day_weights(start: date, days: int) -> list[float]:
    weights = []
    for n in range(days):
        day = start + timedelta(days=n)
        growth = 0.8 + 0.4 * n / max(days - 1, 1)
        weights.append(WEEKDAY[day.weekday()] * _season(day) * growth)
    return weights


def _local_to_utc(day: date, hour: int, minute: int, second: int, zone: ZoneInfo) -> datetime:
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _recent_order(shop: _Shop, rng: random.Random, when: datetime, days: int = 35) -> _Order | None:
    lo = bisect.bisect_left(shop.placed, when - timedelta(days=days))
    hi = bisect.bisect_left(shop.placed, when)
    if hi <= lo:
        return None
    return shop.orders[rng.randrange(lo, hi)]


def _mood(rng: random.Random, late: bool, base: tuple[float, float] = (0.76, 0.94)) -> str:
    calm, upset = (0.3, 0.72) if late else base
    pick = rng.random()
    return "calm" if pick < calm else "upset" if pick < upset else "angry"


def _order_topic(rng: random.Random, order: _Order, when: datetime) -> tuple[str, str]:
    status = order.status_at(when)
    late = order.late_at(when)
    if late or status in ("paid", "packed", "shipped", "placed"):
        topic = "track_order" if rng.random() < 0.85 else ("complaint" if late else "check_invoice")
        if topic == "check_invoice" and not (order.invoice and order.invoice[1] <= when):
            topic = "track_order"
        return topic, _mood(rng, late)
    if status == "returned" and order.refund and order.refund[1] <= when:
        return "track_refund", _mood(rng, order.refund[2] is None or order.refund[2] > when)
    if status == "delivered" and rng.random() < 0.12:
        return "complaint", _mood(rng, False, (0.35, 0.85))
    if order.invoice and order.invoice[1] <= when:
        return "check_invoice", _mood(rng, False, (0.9, 0.98))
    return "track_order", _mood(rng, False)


def _crm_moments(shop: _Shop, rng: random.Random, start: datetime, end: datetime, budget: int) -> list[_Contact]:
    """Cancellations and returns the CRM records, talked through in the chat when they happened."""
    found = []
    for order in shop.orders:
        customer = shop.customers[order.customer_id]
        if order.cancelled_at and start <= order.cancelled_at < end and rng.random() < 0.5:
            found.append(_Contact(order.cancelled_at - timedelta(minutes=2), customer, "cancel_order",
                                  _mood(rng, False, (0.8, 0.95)), order))
        elif order.return_requested_at and start <= order.return_requested_at < end and rng.random() < 0.45:
            found.append(_Contact(order.return_requested_at - timedelta(minutes=2), customer, "get_refund",
                                  _mood(rng, False, (0.55, 0.85)), order))
    rng.shuffle(found)
    return found[:budget]


def _plan_contacts(shop: _Shop, count: int, seed: int, as_of: datetime, zone: ZoneInfo) -> list[_Contact]:
    rng = random.Random(f"history:{seed}:plan")
    first_day = (as_of - timedelta(days=HISTORY_DAYS)).date()
    start = datetime.combine(first_day, datetime.min.time())
    contacts = _crm_moments(shop, rng, start, as_of - timedelta(hours=1), count // 5)
    days = [first_day + timedelta(days=n) for n in range(HISTORY_DAYS)]
    weights = _day_weights(first_day, HISTORY_DAYS)
    customers = sorted(shop.customers.values(), key=lambda c: c.created_at)
    joined = [c.created_at for c in customers]
    attempts = 0
    while len(contacts) < count and attempts < count * 20:
        attempts += 1
        day = rng.choices(days, weights)[0]
        hour = rng.choices(range(24), HOURS if day.weekday() < 5 else WEEKEND_HOURS)[0]
        when = _local_to_utc(day, hour, rng.randrange(60), rng.randrange(60), zone)
        if when >= as_of - timedelta(minutes=30):
            continue
        pick = rng.random()
        order = _recent_order(shop, rng, when) if pick < 0.72 else None
        if order is not None:
            topic, mood = _order_topic(rng, order, when)
            contacts.append(_Contact(when, shop.customers[order.customer_id], topic, mood, order))
            continue
        known = bisect.bisect_left(joined, when)
        if known == 0 or pick > 0.94:
            contacts.append(_Contact(when, None, rng.choice(sorted(texts.GENERAL_REQUESTS)), "calm"))
            continue
        customer = customers[rng.randrange(known)]
        topic = rng.choice(sorted(texts.GENERAL_REQUESTS))
        mood = "upset" if topic in texts.GENERAL_UPSET and rng.random() < 0.3 else "calm"
        contacts.append(_Contact(when, customer, topic, mood))
    for contact in contacts:
        contact.channel = _channel(rng, contact.customer)
    contacts.sort(key=lambda c: (c.at, c.customer.id if c.customer else 0, c.topic))
    return contacts


def _channel(rng: random.Random, customer: _Customer | None) -> str:
    if customer is None or customer.telegram_chat is None:
        return WEB
    return TELEGRAM if rng.random() < 0.75 else WEB


def _assign_telegram(shop: _Shop, seed: int) -> None:
    """About a quarter of the customers linked a Telegram account (a private chat id each)."""
    taken: set[int] = set()
    for customer in shop.customers.values():
        rng = random.Random(f"history:{seed}:telegram:{customer.id}")
        if rng.random() < 0.27:
            chat = rng.randrange(100_000_000, 999_999_999)
            while chat in taken:
                chat += 1
            taken.add(chat)
            customer.telegram_chat = chat


# ---- one conversation as Rasa stores it ---------------------------------------------------------


class _Responses:
    """domain.yml's response texts (the first variant), with the built-in ones as a fallback."""

    def __init__(self, project_dir: Path):
        domain = yaml.safe_load((project_dir / "domain.yml").read_text(encoding="utf-8")) or {}
        self.texts = dict(texts.BUILT_IN_RESPONSES)
        for name, variants in (domain.get("responses") or {}).items():
            if variants and isinstance(variants[0], dict) and variants[0].get("text"):
                self.texts[name] = variants[0]["text"]

    def text(self, name: str, values: dict) -> str:
        return self.texts[name].format_map(_Defaults(values))


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return "-"


@functools.lru_cache(maxsize=50_000)
def _sentiment(text: str) -> tuple[str, float]:
    """The real scorer's verdict (cached: most short replies repeat)."""
    from bot.nlu import sentiment_scorer

    result = sentiment_scorer.score(text)
    return result.label, result.score


class _Dialogue:
    """Events of one conversation id, with a clock; built with Rasa's own event classes."""

    def __init__(self, sender_id: str, channel: str, metadata: dict, rng: random.Random, responses: _Responses):
        self.sender_id, self.channel, self.metadata = sender_id, channel, metadata
        self.rng, self.responses = rng, responses
        self.events: list = []
        self.t: datetime = datetime.min
        self.last_user: datetime | None = None
        self.sentiments: list[float] = []
        self.user_messages = 0
        self.sessions = 0
        self.paused = False

    # clock
    def at(self, when: datetime) -> None:
        self.t = max(when, self.t + timedelta(seconds=1))

    def wait(self, low: float, high: float) -> None:
        self.t += timedelta(seconds=self.rng.uniform(low, high))

    def _ts(self) -> float:
        self.t += timedelta(milliseconds=self.rng.randint(3, 40))
        return self.t.replace(tzinfo=timezone.utc).timestamp()

    # events
    def _add(self, event) -> None:
        self.events.append(event)

    def action(self, name: str, policy: str | None = RULE_POLICY) -> None:
        from rasa.shared.core.events import ActionExecuted

        self._add(ActionExecuted(name, policy=policy, confidence=1.0 if policy else None, timestamp=self._ts()))

    def listen(self) -> None:
        self.action("action_listen")

    def slot(self, name: str, value) -> None:
        from rasa.shared.core.events import SlotSet

        self._add(SlotSet(name, value, timestamp=self._ts()))

    def loop(self, name: str | None) -> None:
        from rasa.shared.core.events import ActiveLoop

        self._add(ActiveLoop(name, timestamp=self._ts()))

    def bot(self, response: str | None = None, text: str | None = None, agent: str | None = None,
            buttons: list[dict] | None = None, **values) -> None:
        from rasa.shared.core.events import BotUttered

        self.wait(0.2, 1.5)
        metadata: dict[str, str | None]
        if agent is not None:
            metadata = {"agent": agent}
        elif response is not None:
            metadata = {"utter_action": response, **MODEL_METADATA}
            text = self.responses.text(response, values)
        else:
            raise ValueError("a bot message needs a response name or an agent")
        data = {"elements": None, "quick_replies": None, "buttons": buttons, "attachment": None, "image": None,
                "custom": None}
        self._add(BotUttered(text, data=data, metadata=metadata, timestamp=self._ts()))

    def user(self, text: str, intent: str, reference: str | None = None, confidence: float | None = None,
             typing: tuple[float, float] = (8, 45)) -> dict:
        from rasa.shared.core.events import DefinePrevUserUtteredFeaturization, UserUttered

        self.wait(*typing)
        if self.last_user is None or self.t - self.last_user > SESSION_EXPIRY:
            self._start_session()
        confidence = confidence if confidence is not None else round(self.rng.uniform(0.62, 0.99), 4)
        entities = []
        if reference and reference in text:
            start = text.index(reference)
            entities.append({"entity": "order_ref", "start": start, "end": start + len(reference),
                             "value": reference, "extractor": "RegexEntityExtractor"})
        message_id = f"{self.rng.getrandbits(128):032x}"
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": entities, "text": text,
                 "message_id": message_id, "metadata": self.metadata,
                 "intent_ranking": [{"name": intent, "confidence": confidence}]}
        sentiment: dict = {}
        if not text.startswith("/"):  # a button's payload carries no feeling
            label, score = _sentiment(text)
            sentiment = {"label": label, "score": score}
            parse["sentiment"] = sentiment
            self.sentiments.append(score)
        self._add(UserUttered(text, intent=parse["intent"], entities=entities, parse_data=parse, timestamp=self._ts(),
                              input_channel=self.channel, message_id=message_id, metadata=self.metadata))
        self.last_user = self.t
        self.user_messages += 1
        if not self.paused:
            self._add(DefinePrevUserUtteredFeaturization(False, timestamp=self._ts()))
        return sentiment

    def _start_session(self) -> None:
        from rasa.shared.core.events import SessionStarted

        self.sessions += 1
        self.paused = False  # a new session resets the tracker (as Rasa's SessionStarted does)
        self.action("action_session_start", policy=None)
        self._add(SessionStarted(timestamp=self._ts()))
        self.slot("session_started_metadata", self.metadata)
        self.action("action_listen", policy=None)

    def pause(self) -> None:
        from rasa.shared.core.events import ConversationPaused

        self.paused = True
        self._add(ConversationPaused(timestamp=self._ts()))

    def resume(self) -> None:
        """What the agent API appends when an agent hands back (bot/console/agent_api.py resume)."""
        from rasa.shared.core.events import BotUttered, ConversationResumed

        self.paused = False
        self._add(ConversationResumed(timestamp=self._ts()))
        self.slot("escalated_ticket", None)
        self.wait(0.1, 0.5)
        self._add(BotUttered(BACK_TO_BOT, timestamp=self._ts()))
        # The bot listens afresh: the rules then read the next message as a new turn.
        self.listen()


# ---- what happens in a conversation -------------------------------------------------------------


@dataclass
class _Outcome:
    tickets: list[dict] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    escalated: bool = False
    live: bool = False
    agent_replies: int = 0
    end: datetime = datetime.min
    resolved_by_bot: bool = True


class _Episode:
    """One contact: the customer's request, the assistant's answers, and what follows."""

    def __init__(self, contact: _Contact, dialogue: _Dialogue, shop: _Shop, policy: ShopPolicy, rng: random.Random):
        self.c, self.d, self.shop, self.policy, self.rng = contact, dialogue, shop, policy, rng
        self.zone = ZoneInfo(policy.timezone)
        self.outcome = _Outcome()
        self.intents: list[str] = []
        self.failed: list[str] = []
        self.orders: list[str] = []
        self.messages: list[tuple[str, str | None]] = []
        self.fallbacks = 0
        self.first_sentiment_index = len(dialogue.sentiments)

    # -- customer and bot turns
    def say(self, text: str, intent: str, confidence: float | None = None, typing=(8, 45)) -> dict:
        reference = self.c.order.reference if self.c.order else None
        sentiment = self.d.user(text, intent, reference, confidence, typing)
        self.messages.append((text, sentiment.get("label")))
        if intent not in ("inform", "nlu_fallback") and intent not in self.intents:
            self.intents.append(intent)
        if reference and reference in text and reference not in self.orders:
            self.orders.append(reference)
        return sentiment

    def reply(self, action: str, response: str, **values) -> None:
        self.d.action(action)
        self.d.bot(response, **values)

    # -- the whole episode
    def run(self) -> _Outcome:
        c, rng = self.c, self.rng
        self.d.at(c.at)
        if c.recontact_of is None and rng.random() < 0.3:
            self.say(rng.choice(texts.GREETINGS), "greet", typing=(0, 1))
            self.reply("utter_greet", "utter_greet")
            self.d.listen()
        if rng.random() < (0.07 if c.mood == "calm" else 0.12) and self._misunderstood():
            return self._finish()
        if c.mood == "angry" and rng.random() < 0.2:
            self.say(rng.choice(texts.ASK_PERSON_ANGRY), "contact_human_agent")
            self._hand_over("human_requested", "customer asked for a person", asked=True)
            return self._finish()
        self._request()
        if not self.outcome.escalated:
            self._after_answer()
        return self._finish()

    def _misunderstood(self) -> bool:
        """One or two messages the assistant does not get; True if it ended with a hand-over."""
        for attempt in range(2 if self.rng.random() < 0.6 else 1):
            text = self.rng.choice(texts.UNCLEAR if attempt == 0 else texts.UNCLEAR_AGAIN)
            self.say(text, "nlu_fallback", confidence=0.35)
            self.failed.append(text)
            self.fallbacks += 1
            self.d.action("action_fallback")
            response = "utter_rephrase_again" if self.fallbacks >= 2 else "utter_rephrase"
            self.d.bot(response, buttons=[{"title": "Track an order", "payload": "/track_order"},
                                          {"title": "Talk to a person", "payload": "/contact_human_agent"}])
            self.d.slot("fallback_count", float(self.fallbacks))
            self.d.listen()
        if self.fallbacks >= 2 and self.rng.random() < 0.55:
            self.say(self.rng.choice(texts.ASK_PERSON), "contact_human_agent")
            self._hand_over("human_requested", "customer asked for a person", asked=True)
            return True
        return False

    def _request(self) -> None:
        c, rng = self.c, self.rng
        if c.order is None:
            pool = texts.GENERAL_UPSET.get(c.topic) if c.mood != "calm" else None
            self.say(rng.choice(pool or texts.GENERAL_REQUESTS[c.topic]), c.topic)
            self._general_answer(c.topic)
            self.d.listen()
            return
        phrasings = texts.ORDER_REQUESTS[c.topic]
        self.say(rng.choice(phrasings.get(c.mood) or phrasings["calm"]).format(ref=c.order.reference), c.topic)
        getattr(self, f"_answer_{c.topic}")(c.order)
        if not self.outcome.escalated and c.topic != "complaint":
            self.d.listen()

    # -- answers (what the actions say, with the CRM's values at that moment)
    def _order_values(self, order: _Order) -> dict:
        eta = order.eta.strftime("%a %d %b") if order.eta else "-"
        url = (self.policy.tracking_url(order.carrier, order.tracking_number)
               if order.carrier and order.tracking_number else None)
        delivered = order.delivered_at.strftime("%d %b %Y") if order.delivered_at else "-"
        return {"reference": order.reference, "items": order.items, "carrier": order.carrier or "-",
                "tracking_number": order.tracking_number or "-", "eta": eta, "tracking_url": url or "-",
                "delivered_on": delivered, "total": format_money(order.total_cents, self.policy.currency),
                "status": order.status_at(self.d.t)}

    def _request_done(self, action: str, response: str | None, values: dict, next_step: str | None = None,
                      slots: tuple = ()) -> None:
        """A request action's turn as Rasa stores it: its messages (the answer, then any hand-over
        notice), then the slots it returned, then the hand-over's slots (actions/turns.py)."""
        self.d.action(action)
        if response:
            self.d.bot(response, **values)
        returned = [*slots, ("next_step", next_step)]
        if self.fallbacks:
            returned.append(("fallback_count", 0.0))
            self.fallbacks = 0
        decision = decide(self._signals(self.c.topic), self.policy.escalation)
        if decision.escalate:
            self._hand_over("escalated", "automatic escalation", decision=decision, returned=returned)
            return
        for name, value in returned:
            self.d.slot(name, value)

    def _answer_track_order(self, order: _Order) -> None:
        values = self._order_values(order)
        status = values["status"]
        response = "utter_order_status_shipped_tracked" if status == "shipped" else f"utter_order_status_{status}"
        self._request_done("action_track_order", response, values)

    def _answer_check_invoice(self, order: _Order) -> None:
        values = self._order_values(order)
        if order.invoice and order.invoice[1] <= self.d.t:
            values.update(number=order.invoice[0], issued_on=order.invoice[1].strftime("%d %b %Y"),
                          lines=order.items)
            self._request_done("action_invoice", "utter_invoice", values)
        else:
            self._request_done("action_invoice", "utter_no_invoice_yet", values)

    def _answer_track_refund(self, order: _Order) -> None:
        values = self._order_values(order)
        if order.refund is None:
            self._request_done("action_track_refund", "utter_refund_none", values)
            return
        amount, created, processed = order.refund
        values["amount"] = format_money(amount, self.policy.currency)
        if processed and processed <= self.d.t:
            values["paid_on"] = processed.strftime("%d %b %Y")
            self._request_done("action_track_refund", "utter_refund_paid", values)
        else:
            values["expected_by"] = (created + timedelta(days=self.policy.refund_processing_days)).strftime("%d %b")
            self._request_done("action_track_refund", "utter_refund_processing", values)

    def _answer_cancel_order(self, order: _Order) -> None:
        values = self._order_values(order)
        values["refund"] = values["amount"] = values["total"]
        paid = order.paid_at is not None and order.paid_at <= self.d.t  # else nothing to refund
        question = "utter_cancel_question_free_refund" if paid else "utter_cancel_question_free"
        self._request_done("action_cancel_order", question, values, "cancel_form")
        if self.outcome.escalated:
            return
        self.d.action("cancel_form")
        self.d.loop("cancel_form")
        self.d.slot("requested_slot", "confirmed")
        self.d.listen()
        self.say("/affirm" if self.rng.random() < 0.5 else "yes", "affirm", typing=(2, 15))
        self.d.action("cancel_form")
        self.d.slot("confirmed", True)
        self.d.loop(None)
        self.d.slot("requested_slot", None)
        values["expected_by"] = (self.d.t + timedelta(days=5)).strftime("%d %b")
        self.reply("action_submit_cancel", "utter_cancelled_refund" if paid else "utter_cancelled", **values)

    def _answer_get_refund(self, order: _Order) -> None:
        values = self._order_values(order)
        self._request_done("action_start_return", "utter_ask_return_reason", values, "return_form")
        if self.outcome.escalated:
            return
        self.d.action("return_form")
        self.d.loop("return_form")
        self.d.slot("requested_slot", "return_reason")
        self.d.listen()
        self.say(self.rng.choice(("too small", "it arrived damaged", "not as described", "changed my mind")),
                 "inform", typing=(5, 20))
        self.d.action("return_form")
        self.d.loop(None)
        self.d.slot("requested_slot", None)
        values.update(return_by=(self.d.t + timedelta(days=14)).strftime("%d %b"), amount=values["total"],
                      refund_days=self.policy.refund_processing_days)
        self.reply("action_submit_return", "utter_return_opened_free_label", **values)

    def _answer_complaint(self, order: _Order) -> None:
        self._request_done("action_open_issue", None, {}, "issue_form",
                           slots=(("issue_kind", "complaint"), ("issue_details", None)))
        if self.outcome.escalated:
            return
        self.d.action("issue_form")
        self.d.loop("issue_form")
        self.d.slot("requested_slot", "issue_details")
        self.d.bot("utter_ask_issue_details")
        self.d.listen()
        details = self.rng.choice(texts.ISSUE_DETAILS["upset" if self.c.mood != "calm" else "calm"])
        self.say(details, "inform", typing=(15, 60))
        self.d.action("issue_form")
        self.d.slot("issue_details", details)
        self.d.loop(None)
        self.d.slot("requested_slot", None)
        conversation = self._conversation(self.c.topic)
        decision = decide(self._signals(self.c.topic), self.policy.escalation)
        summary = f"{details}\n\n{escalation.summary(conversation, 'complaint', decision, None)}"
        ticket = self._ticket("complaint", "high", summary, card=None, live=False)
        self.d.action("action_submit_issue")
        self.d.bot("utter_issue_submitted", ticket=ticket["id"], reply_hours=self.policy.first_reply_hours)
        self.d.slot("issue_details", None)
        self.d.slot("issue_kind", None)
        self.d.listen()

    def _general_answer(self, intent: str) -> None:
        p = self.policy
        values: dict[str, object]
        if intent in ("create_account", "recover_password", "registration_problems"):
            self.reply(f"utter_{intent}", f"utter_{intent}")
            return
        if intent == "check_refund_policy":
            values = {"return_days": p.return_window_days, "refund_days": p.refund_processing_days}
            response = "utter_refund_policy_free_label" if p.free_return_label else "utter_refund_policy"
        elif intent == "delivery_options":
            values = {"options": "\n".join(
                f"• {o.label}: {o.days_min}-{o.days_max} working days, "
                f"{'free' if o.price_cents == 0 else format_money(o.price_cents, p.currency)}"
                for o in p.delivery_options)}
            response = "utter_delivery_options"
        elif intent == "delivery_period":
            values = {"periods": ", ".join(f"{o.label.lower()} {o.days_min}-{o.days_max}" for o in p.delivery_options)}
            response = "utter_delivery_period"
        elif intent == "check_payment_methods":
            values = {"methods": "; ".join(m.label for m in p.payment_methods if m.available),
                      "notes": " ".join(m.note for m in p.payment_methods if not m.available and m.note)}
            response = "utter_payment_methods_with_notes"
        elif intent == "check_cancellation_fee":
            fees = p.cancellation_fee_cents
            values = {"free_while": " or ".join(s for s, fee in fees.items() if fee == 0),
                      "fees": ", ".join(f"{format_money(fee, p.currency)} once it's {s}"
                                        for s, fee in fees.items() if fee)}
            response = "utter_cancellation_fees_paid"
        else:
            values = {"hours": p.support_hours, "email": p.support_email, "reply_hours": p.first_reply_hours}
            response = "utter_contact_details"
        self.reply("action_policy_answer", response, **values)

    # -- escalation, as the actions decide it
    def _signals(self, intent: str) -> Signals:
        customer = self.c.customer
        return Signals(intent=intent, sentiments=tuple(self.d.sentiments[self.first_sentiment_index:]),
                       churn_score=customer.churn_score if customer else None, fallbacks=self.fallbacks,
                       lifetime_value_cents=customer.lifetime_value_cents if customer else 0)

    def _conversation(self, intent: str) -> escalation.Conversation:
        return escalation.Conversation(
            conversation_id=self.d.sender_id, customer_id=self.c.customer.id if self.c.customer else None,
            channel=self.d.channel, intent=intent,
            sentiments=tuple(self.d.sentiments[self.first_sentiment_index:]), intents=tuple(self.intents),
            orders=tuple(self.orders), messages=tuple(self.messages[-6:]), fallbacks=self.fallbacks,
            asked_for_person=intent == "contact_human_agent", failed_turns=tuple(self.failed))

    def _hand_over(self, reason: str, why: str, asked: bool = False, decision=None, returned=()) -> None:
        """Open the ticket with its card and tell the customer (actions/escalation.py ``_tell``)."""
        intent = "contact_human_agent" if asked else self.c.topic
        if asked:
            self.d.action("action_handoff")
        decision = decision or decide(self._signals(intent), self.policy.escalation)
        conversation = self._conversation(intent)
        card = escalation.card(conversation, why, decision, None)
        customer = self.c.customer
        if customer is not None:
            card.update(churn_score=customer.churn_score, churn_reasons=customer.churn_reasons,
                        lifetime_value_cents=customer.lifetime_value_cents)
        live = self.policy.agents_live(self.d.t)
        ticket = self._ticket(reason, decision.priority, escalation.summary(conversation, why, decision, None),
                              card=card, live=live)
        if decision.retention:
            self.d.bot("utter_retention_offer", percent=self.policy.goodwill_voucher_percent,
                       voucher=format_money(self.policy.goodwill_voucher_max_cents, self.policy.currency))
        self.outcome.escalated, self.outcome.live, self.outcome.resolved_by_bot = True, live, False
        if live:
            self.d.bot("utter_handed_over_live", ticket=ticket["id"], reply_minutes=self.policy.live_reply_minutes)
        else:
            self.d.bot("utter_handed_over_by_email", ticket=ticket["id"], hours=self.policy.support_hours,
                       reply_hours=self.policy.first_reply_hours)
        for name, value in (*returned, ("escalated_ticket", str(ticket["id"])), ("fallback_count", 0.0)):
            self.d.slot(name, value)
        if live:
            self.d.pause()
            self._agent_takes_over(ticket)
        else:
            self.d.listen()

    def _ticket(self, reason: str, priority: str, summary: str, card: dict | None, live: bool) -> dict:
        ticket_id = self.shop.next_ticket_id
        self.shop.next_ticket_id += 1
        created = self.d.t
        if live:
            claimed = first = closed = None  # set by the agent's part of the conversation
        else:
            claimed = _next_support_time(created, self.policy, self.zone) + timedelta(
                minutes=self.rng.lognormvariate(math.log(35), 0.7))
            first = claimed + timedelta(minutes=self.rng.uniform(4, 30))
            closed = first + timedelta(hours=self.rng.lognormvariate(math.log(4), 1.0))
            if not self.policy.agents_live(closed):  # resolved by someone at work
                closed = _next_support_time(closed, self.policy, self.zone) + timedelta(
                    minutes=self.rng.uniform(5, 90))
        row = {"id": ticket_id, "customer_id": self.c.customer.id if self.c.customer else None, "reason": reason,
               "priority": priority, "status": "closed", "assignee": self.rng.choice(AGENTS), "summary": summary,
               "conversation_id": self.d.sender_id, "channel": self.d.channel, "created_at": created,
               "closed_at": closed, "card": card, "claimed_at": claimed, "first_response_at": first}
        self.outcome.tickets.append(row)
        return row

    def _agent_takes_over(self, ticket: dict) -> None:
        """An agent on duty claims the conversation, answers in the chat and hands back."""
        rng, d = self.rng, self.d
        busy = 1.6 if d.t.weekday() == 0 else 1.0
        wait = rng.lognormvariate(math.log(120 * busy), 0.7)
        if wait > 300 and rng.random() < 0.6:
            d.wait(60, wait * 0.7)
            self.say(rng.choice(texts.WAITING), "greet", typing=(0, 1))
        ticket["claimed_at"] = max(d.t, ticket["created_at"] + timedelta(seconds=wait))
        d.at(ticket["claimed_at"])
        agent = ticket["assignee"]
        d.wait(15, 90)
        d.bot(text=rng.choice(texts.AGENT_GREETINGS), agent=agent)
        ticket["first_response_at"] = d.t
        topic = self.c.topic if self.c.topic in texts.AGENT_FIXES and self.c.order else "general"
        d.wait(30, 180)
        d.bot(text=rng.choice(texts.AGENT_FIXES[topic]).format(ref=self.c.order.reference if self.c.order else ""),
              agent=agent)
        self.outcome.agent_replies += 2
        calmer = rng.random() < 0.8
        self.say(rng.choice(texts.CALMER if calmer else texts.STILL_UNHAPPY), "thank_you", typing=(20, 90))
        d.wait(10, 60)
        d.bot(text=rng.choice(texts.AGENT_CLOSINGS), agent=agent)
        self.outcome.agent_replies += 1
        d.wait(20, 120)
        d.resume()
        ticket["closed_at"] = d.t
        if rng.random() < 0.55:
            self._csat(calmer)

    def _after_answer(self) -> None:
        rng = self.rng
        if rng.random() < 0.08:
            self.say(rng.choice(texts.REVIEW), "review")
            self.d.action("action_feedback")
            self.d.slot("csat", None)
            self.d.slot("feedback_comment", None)
            self.d.slot("next_step", "feedback_form")
            self._csat(self.c.mood == "calm")
            return
        pick = rng.random()
        if pick < 0.45:
            flat = self.c.mood != "calm" and rng.random() < 0.5
            self.say(rng.choice(texts.THANKS_FLAT if flat else texts.THANKS), "affirm" if flat else "thank_you")
            if flat:
                self.reply("utter_ok", "utter_ok")
            else:
                self.reply("utter_you_are_welcome", "utter_you_are_welcome")
            self.d.listen()
        elif pick < 0.6:
            self.say(rng.choice(texts.GOODBYES), "goodbye")
            self.reply("utter_goodbye", "utter_goodbye")
            self.d.listen()

    def _csat(self, pleased: bool) -> None:
        """The feedback form: a rating (the feedback row) and maybe a comment."""
        rng, d = self.rng, self.d
        d.action("feedback_form")
        d.loop("feedback_form")
        d.slot("requested_slot", "csat")
        d.bot("utter_ask_csat", buttons=[{"title": str(n), "payload": str(n)} for n in range(1, 6)])
        d.listen()
        if rng.random() < 0.2:
            return  # asked, never answered
        weights = (1, 2, 5, 14, 18) if pleased else (8, 7, 5, 3, 1)
        score = rng.choices(range(1, 6), weights)[0]
        self.say(str(score), "inform", confidence=0.5, typing=(3, 20))
        d.action("feedback_form")
        d.slot("csat", str(score))
        d.slot("requested_slot", "feedback_comment")
        d.bot("utter_ask_feedback_comment")
        d.listen()
        comment = rng.choice(texts.FEEDBACK_COMMENTS[score]) if rng.random() < 0.45 else None
        self.say(comment or rng.choice(texts.NO_COMMENT), "inform" if comment else "deny", typing=(5, 40))
        d.action("feedback_form")
        d.slot("feedback_comment", comment or "-")
        d.loop(None)
        d.slot("requested_slot", None)
        d.action("action_submit_feedback")
        self.outcome.feedback.append({
            "customer_id": self.c.customer.id if self.c.customer else None, "csat": score, "comment": comment,
            "conversation_id": d.sender_id, "channel": d.channel, "created_at": d.t})
        d.bot("utter_feedback_thanks")
        d.slot("csat", None)
        d.slot("feedback_comment", None)
        d.listen()

    def _finish(self) -> _Outcome:
        self.outcome.end = self.d.t
        return self.outcome


def _next_support_time(when: datetime, policy: ShopPolicy, zone: ZoneInfo) -> datetime:
    """The first moment at or after ``when`` (naive UTC) that agents are live."""
    local = when.replace(tzinfo=timezone.utc).astimezone(zone)
    for _ in range(10):
        if local.weekday() in policy.live_days and local.hour < policy.live_until_hour:
            opening = local.replace(hour=policy.live_from_hour, minute=0, second=0, microsecond=0)
            moment = max(local, opening)
            return moment.astimezone(timezone.utc).replace(tzinfo=None)
        local = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return when


# ---- storing ------------------------------------------------------------------------------------


def _tracker_store(url: str):
    """Rasa's SQL tracker store for the URL (it creates the ``events`` table as Rasa does)."""
    from rasa.core.tracker_store import SQLTrackerStore

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SQLTrackerStore(dialect="sqlite", db=parsed.database)
    return SQLTrackerStore(dialect="postgresql", host=parsed.host, port=parsed.port, db=parsed.database,
                           username=parsed.username, password=parsed.password)


def _rows(sender_id: str, events: list) -> list[dict]:
    from bot.tracker_store import redacted_events

    rows = []
    for data in redacted_events(event.as_dict() for event in events):
        rows.append({"sender_id": sender_id, "type_name": data["event"], "timestamp": data.get("timestamp"),
                     "intent_name": ((data.get("parse_data") or {}).get("intent") or {}).get("name"),
                     "action_name": data.get("name"), "data": json.dumps(data)})
    return rows


def _sender_id(rng: random.Random, contact: _Contact) -> str:
    if contact.channel == TELEGRAM and contact.customer is not None:
        return f"tg:{contact.customer.telegram_chat}"
    return f"web:{rng.getrandbits(128):032x}"


def _metadata(rng: random.Random, contact: _Contact, client: str) -> dict:
    metadata: dict = {"chat_type": "private"} if contact.channel == TELEGRAM else {}
    metadata["client"] = client
    if contact.customer is not None:
        metadata["identity"] = {"cid": contact.customer.id}
    return metadata


def _recontact(rng: random.Random, contact: _Contact, end: datetime) -> _Contact:
    mood = "upset" if contact.mood == "calm" else "angry"
    topic = "track_order" if contact.topic == "check_invoice" else contact.topic
    if topic in ("cancel_order", "get_refund"):
        topic = "track_refund" if contact.order and contact.order.refund else "track_order"
    return _Contact(end + timedelta(hours=rng.uniform(1, 20)), contact.customer, topic, mood, contact.order,
                    contact.channel, recontact_of=contact)


def seed_history(
    database_url: str,
    tracker_store_url: str,
    conversations: int | None = None,
    seed: int = 7,
    as_of: datetime | None = None,
    policy: ShopPolicy | None = None,
    project_dir: Path | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> HistoryStats:
    """Write months of conversations for the seeded shop into the tracker store (and their tickets,
    feedback and Telegram links into the CRM). Refuses a tracker store that already holds events.

    ``conversations``: how many contacts (re-contacts come on top); None scales with the customers."""
    from crm_store.seed import default_as_of

    as_of = as_of or default_as_of()
    policy = policy or load_policy()
    responses = _Responses(project_dir or Path(__file__).resolve().parents[1])
    zone = ZoneInfo(policy.timezone)
    stats = HistoryStats()
    store = _tracker_store(tracker_store_url)
    crm = make_engine(database_url)
    try:
        table = store.SQLEvent.__table__
        with store.engine.connect() as connection:
            if connection.execute(select(func.count()).select_from(table)).scalar_one():
                stats.skipped = "the tracker store already has conversations"
                return stats
        with crm.connect() as connection:
            shop = _load_shop(connection)
        if not shop.customers:
            stats.skipped = "the CRM has no customers"
            return stats
        _assign_telegram(shop, seed)
        count = default_conversations(len(shop.customers)) if conversations is None else conversations
        if count <= 0:
            stats.skipped = "no conversations asked for"
            return stats
        contacts = _plan_contacts(shop, count, seed, as_of, zone)
        if on_total:
            on_total(len(contacts))
        tickets, feedback = _generate(contacts, shop, policy, responses, seed, as_of, store, stats, on_progress)
        _store_crm(crm, shop, tickets, feedback, seed, as_of)
    finally:
        store.engine.dispose()
        crm.dispose()
    return stats


def _generate(contacts, shop, policy, responses, seed, as_of, store, stats, on_progress):
    rng = random.Random(f"history:{seed}:ids")
    table = store.SQLEvent.__table__
    dialogues: dict[str, _Dialogue] = {}
    clients: dict[tuple[int, str] | None, str] = {}  # a pseudonym per customer and channel
    tickets: list[dict] = []
    feedback: list[dict] = []
    open_until: dict[str, datetime] = {}
    pending: list[dict] = []
    queue = list(contacts)
    queue.reverse()
    with store.engine.begin() as connection:
        while queue:
            contact = queue.pop()
            if contact.at >= as_of:
                continue
            sender_id = _sender_id(rng, contact)
            dialogue = dialogues.get(sender_id)
            key = (contact.customer.id, contact.channel) if contact.customer else None
            if key is None or key not in clients:
                prefix = "tg" if contact.channel == TELEGRAM else "ip"
                clients[key] = f"{prefix}:{rng.getrandbits(80):020x}"
            if dialogue is None:
                dialogue = _Dialogue(sender_id, contact.channel, _metadata(rng, contact, clients[key]),
                                     random.Random(f"history:{seed}:{sender_id}"), responses)
                dialogues[sender_id] = dialogue
                stats.conversations += 1
            if open_until.get(sender_id, datetime.min) > contact.at:
                contact.at = open_until[sender_id] + timedelta(minutes=5)  # one hand-over at a time
                if contact.at >= as_of:
                    continue
            before = len(dialogue.events)
            sessions, messages = dialogue.sessions, dialogue.user_messages
            episode = _Episode(contact, dialogue, shop, policy, dialogue.rng)
            outcome = episode.run()
            for ticket in outcome.tickets:
                if ticket["closed_at"]:
                    open_until[sender_id] = max(open_until.get(sender_id, datetime.min), ticket["closed_at"])
            kept = [e for e in dialogue.events[before:] if e.timestamp < as_of.replace(tzinfo=timezone.utc).timestamp()]
            pending += _rows(sender_id, kept)
            tickets += [_as_of_state(t, as_of) for t in outcome.tickets if t["created_at"] < as_of]
            feedback += [f for f in outcome.feedback if f["created_at"] < as_of]
            stats.events += len(kept)
            stats.sessions += dialogue.sessions - sessions
            stats.user_messages += dialogue.user_messages - messages
            stats.escalations += outcome.escalated
            stats.live_handovers += outcome.live
            stats.agent_replies += outcome.agent_replies
            if contact.recontact_of is None and contact.customer and contact.order and outcome.resolved_by_bot \
                    and contact.mood != "calm" and dialogue.rng.random() < 0.25:
                again = _recontact(dialogue.rng, contact, outcome.end)
                if again.at < as_of:
                    _insert_sorted(queue, again)
                    stats.recontacts += 1
            dialogue.events = []  # written below; the clock and the session stay
            if len(pending) >= INSERT_BATCH:
                connection.execute(insert(table), pending)
                pending = []
            if on_progress and contact.recontact_of is None:
                on_progress(1)  # re-contacts come on top of the planned total
        if pending:
            connection.execute(insert(table), pending)
    stats.tickets, stats.feedback = len(tickets), len(feedback)
    return tickets, feedback


def _insert_sorted(queue: list[_Contact], contact: _Contact) -> None:
    """``queue`` is latest-first (popped from the end): keep it so."""
    keys = [-c.at.timestamp() for c in queue]
    queue.insert(bisect.bisect_right(keys, -contact.at.timestamp()), contact)


def _as_of_state(ticket: dict, as_of: datetime) -> dict:
    """The ticket as it stands at ``as_of``: claimed, answered and closed only if that happened."""
    row = dict(ticket)
    for name in ("claimed_at", "first_response_at", "closed_at"):
        if row[name] is not None and row[name] >= as_of:
            row[name] = None
    if row["claimed_at"] is None:
        row.update(status="open", assignee=None, first_response_at=None, closed_at=None)
    elif row["closed_at"] is None:
        row["status"] = "assigned"
    return row


def _store_crm(engine, shop: _Shop, tickets: list[dict], feedback: list[dict], seed: int, as_of: datetime) -> None:
    t = models.Base.metadata.tables
    links = []
    for customer in shop.customers.values():
        if customer.telegram_chat is not None:
            linked = max(customer.created_at, as_of - timedelta(days=HISTORY_DAYS + 30))
            links.append({"customer_id": customer.id, "channel": "telegram", "external_id": str(customer.telegram_chat),
                          "verified_at": linked})
    with engine.begin() as connection:
        existing = set(connection.execute(select(t["channel_identities"].c.channel,
                                                 t["channel_identities"].c.external_id)).all())
        links = [row for row in links if (row["channel"], row["external_id"]) not in existing]
        # A ticket without a card (a complaint from the issue form) gets SQL NULL, not JSON null.
        cardless = [{k: v for k, v in row.items() if k != "card"} for row in tickets if row["card"] is None]
        carded = [row for row in tickets if row["card"] is not None]
        for table, rows in (("channel_identities", links), ("tickets", carded), ("tickets", cardless),
                            ("feedback", feedback)):
            if rows:
                connection.execute(insert(t[table]), rows)
        if engine.dialect.name == "postgresql":
            for table in ("channel_identities", "tickets", "feedback"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))

