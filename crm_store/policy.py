"""The shop's policy configuration, loaded once from YAML into a frozen object."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from crm_store.scoring.escalation import EscalationRules

DEFAULT_POLICY_FILE = Path(__file__).with_name("policies.yml")


@dataclass(frozen=True)
class DeliveryOption:
    key: str
    label: str
    days_min: int
    days_max: int
    price_cents: int
    free_from_cents: int | None


@dataclass(frozen=True)
class PaymentMethod:
    key: str
    label: str
    available: bool
    note: str = ""


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str


@dataclass(frozen=True)
class ShopPolicy:
    shop_name: str
    currency: str
    return_window_days: int
    refund_processing_days: int
    free_return_label: bool
    cancellation_fee_cents: dict[str, int]
    address_change_statuses: tuple[str, ...]
    delivery_options: tuple[DeliveryOption, ...]
    payment_methods: tuple[PaymentMethod, ...]
    carrier_tracking_urls: dict[str, str]
    goodwill_voucher_percent: int
    goodwill_voucher_max_cents: int
    support_hours: str
    support_email: str
    first_reply_hours: int
    escalation: EscalationRules = EscalationRules()
    live_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    live_from_hour: int = 9
    live_until_hour: int = 18
    timezone: str = "Europe/Berlin"
    live_reply_minutes: int = 5
    # The agent console: how the queue weighs what it knows, replies agents send with one click
    # ({order.reference} and the like are filled in from the CRM), and where urgent escalations
    # are announced.
    queue_weights: dict[str, float] = field(default_factory=dict)
    canned_replies: tuple[CannedReply, ...] = ()
    presence_seconds: int = 90
    # The least NLU confidence at which a guessed request is offered as a button after a misunderstanding.
    clarify_floor: float = 0.1
    # Requests beyond returns (issue 13): where we ship, exchanges, damaged / wrong / missing items
    # and lost parcels, warranty, vouchers and restocks.
    shipping_countries: dict[str, str] = field(default_factory=dict)
    exchange_free: bool = True
    claim_report_days: int = 14
    claim_investigation_days: int = 3
    claim_late_after_days: int = 2
    warranty_years: int = 2
    manufacturer_warranty_years: dict[str, int] = field(default_factory=dict)
    vouchers_per_order: int = 1
    vouchers_combine_with_sale: bool = False
    newsletter_welcome_percent: int = 0
    gift_voucher_years: int = 3
    restock_days_min: int = 10
    restock_days_max: int = 21

    def ships_to(self, country_code: str) -> bool:
        return country_code.upper() in self.shipping_countries

    def agents_live(self, now_utc: datetime) -> bool:
        """Whether agents take chats over at this moment (naive UTC in, shop's time zone rules)."""
        local = now_utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(self.timezone))
        return local.weekday() in self.live_days and self.live_from_hour <= local.hour < self.live_until_hour

    @property
    def cancellable_statuses(self) -> tuple[str, ...]:
        return tuple(self.cancellation_fee_cents)

    def delivery_option(self, key: str) -> DeliveryOption:
        for option in self.delivery_options:
            if option.key == key:
                return option
        raise KeyError(key)

    def tracking_url(self, carrier: str, tracking_number: str) -> str | None:
        template = self.carrier_tracking_urls.get(carrier)
        return template.format(tracking=tracking_number) if template else None


def _escalation(raw: dict[str, Any]) -> EscalationRules:
    values = dict(raw)
    if "at_risk_intents" in values:
        values["at_risk_intents"] = tuple(values["at_risk_intents"])
    return EscalationRules(**values)


def _after_sales(raw: dict[str, Any]) -> dict[str, Any]:
    """The optional sections for shipping countries, exchanges, claims, warranty, vouchers and stock."""
    shipping, exchanges, claims = raw.get("shipping") or {}, raw.get("exchanges") or {}, raw.get("claims") or {}
    warranty, vouchers, stock = raw.get("warranty") or {}, raw.get("vouchers") or {}, raw.get("stock") or {}
    return dict(
        shipping_countries={str(k).upper(): str(v) for k, v in (shipping.get("countries") or {}).items()},
        exchange_free=bool(exchanges.get("free_of_charge", True)),
        claim_report_days=int(claims.get("report_within_days", 14)),
        claim_investigation_days=int(claims.get("investigation_days", 3)),
        claim_late_after_days=int(claims.get("late_after_days", 2)),
        warranty_years=int(warranty.get("years", 2)),
        manufacturer_warranty_years={str(k): int(v) for k, v in (warranty.get("manufacturer_years") or {}).items()},
        vouchers_per_order=int(vouchers.get("per_order", 1)),
        vouchers_combine_with_sale=bool(vouchers.get("combinable_with_sale", False)),
        newsletter_welcome_percent=int(vouchers.get("newsletter_welcome_percent", 0)),
        gift_voucher_years=int(vouchers.get("gift_voucher_years", 3)),
        restock_days_min=int(stock.get("restock_days_min", 10)),
        restock_days_max=int(stock.get("restock_days_max", 21)),
    )


def _parse(raw: dict[str, Any]) -> ShopPolicy:
    try:
        return ShopPolicy(
            shop_name=raw["shop_name"],
            currency=raw["currency"],
            return_window_days=int(raw["returns"]["window_days"]),
            refund_processing_days=int(raw["returns"]["refund_processing_days"]),
            free_return_label=bool(raw["returns"]["free_return_label"]),
            cancellation_fee_cents={k: int(v) for k, v in raw["cancellation"]["fee_cents"].items()},
            address_change_statuses=tuple(raw["address_change"]["allowed_statuses"]),
            delivery_options=tuple(
                DeliveryOption(key=k, **v) for k, v in raw["delivery_options"].items()
            ),
            payment_methods=tuple(
                PaymentMethod(key=k, **v) for k, v in raw["payment_methods"].items()
            ),
            carrier_tracking_urls=dict(raw["carriers"]),
            goodwill_voucher_percent=int(raw["goodwill"]["voucher_percent"]),
            goodwill_voucher_max_cents=int(raw["goodwill"]["voucher_max_cents"]),
            support_hours=raw["support"]["hours"],
            support_email=raw["support"]["email"],
            first_reply_hours=int(raw["support"]["first_reply_hours"]),
            escalation=_escalation(raw.get("escalation") or {}),
            live_days=tuple(raw["support"].get("live_days", (0, 1, 2, 3, 4))),
            live_from_hour=int(raw["support"].get("live_from_hour", 9)),
            live_until_hour=int(raw["support"].get("live_until_hour", 18)),
            timezone=raw["support"].get("timezone", "Europe/Berlin"),
            live_reply_minutes=int(raw["support"].get("live_reply_minutes", 5)),
            queue_weights={k: float(v) for k, v in ((raw.get("console") or {}).get("queue_weights") or {}).items()},
            canned_replies=tuple(CannedReply(title=str(c["title"]), text=str(c["text"]))
                                 for c in (raw.get("console") or {}).get("canned_replies") or ()),
            presence_seconds=int((raw.get("console") or {}).get("presence_seconds", 90)),
            clarify_floor=float((raw.get("nlu") or {}).get("clarify_floor", 0.1)),
            **_after_sales(raw),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"invalid shop policy file: {exc!r}") from exc


@functools.lru_cache(maxsize=4)
def load_policy(path: str | None = None) -> ShopPolicy:
    """The policy from ``path``, ``$CAREDESK_POLICY_FILE`` or the bundled default."""
    chosen = Path(path or os.environ.get("CAREDESK_POLICY_FILE") or DEFAULT_POLICY_FILE)
    with chosen.open(encoding="utf-8") as handle:
        return _parse(yaml.safe_load(handle))
