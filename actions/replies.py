"""Which reply applies, and the values it needs. No I/O, no Rasa imports.

The words the customer reads are responses in ``domain.yml`` (a shop edits or translates them
there); this module picks the response and formats the values its text uses: references, dates,
amounts, item lists. A reply is a dict ``{"response": name, **values}`` for
``dispatcher.utter_message(**reply)``. Button titles are short labels and stay here."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from crm_store import dto
from crm_store.dto import format_money
from crm_store.services import orders as order_rules

Reply = dict[str, Any]

# Short status labels for the order buttons (the status sentences are the utter_order_status_* responses).
STATUS_LABELS = {
    "placed": "placed and waiting for payment",
    "paid": "paid and being prepared",
    "packed": "packed and about to be handed to the carrier",
    "shipped": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
}
# Error codes (crm_store/errors.py) with a response utter_error_<code>, and those that name an order.
ERROR_CODES = {"order_not_found", "not_order_owner", "invalid_input", "not_cancellable", "address_not_changeable",
               "return_window_closed", "not_returnable", "customer_not_found", "store_unavailable"}
ORDER_ERROR_CODES = {"order_not_found", "not_order_owner", "not_cancellable", "address_not_changeable",
                     "return_window_closed", "not_returnable"}


def reply(response: str, **values: Any) -> Reply:
    """The domain response ``response`` with the values its text uses."""
    return {"response": response, **values}


def day(value: date | datetime | None) -> str:
    if value is None:
        return "-"
    return value.strftime("%a %d %b %Y")


def mask_email(email: str) -> str:
    """ana.lopez@example.com -> a***z@example.com (personal data shown only as much as needed)."""
    local, _, domain = email.partition("@")
    if len(local) <= 2:
        return f"{local[:1]}***@{domain}"
    return f"{local[0]}***{local[-1]}@{domain}"


def order_items(status: dto.OrderStatus) -> str:
    return ", ".join(f"{line.quantity}× {line.name}" for line in status.lines)


def order_status(status: dto.OrderStatus) -> list[Reply]:
    """Where the order is (utter_order_status_<status>, each given every value it might use), then
    what can still be done to it (if anything)."""
    if status.status == "shipped" and status.tracking_url:
        name = "utter_order_status_shipped_tracked"
    else:
        name = f"utter_order_status_{status.status}" if status.status in STATUS_LABELS else "utter_order_status_other"
    said = [reply(name, reference=status.reference, items=order_items(status), status=status.status,
                  carrier=status.carrier, tracking_number=status.tracking_number, eta=day(status.eta),
                  tracking_url=status.tracking_url, delivered_on=day(status.delivered_at))]
    cancel, move = order_rules.can_cancel(status.status), order_rules.can_change_address(status.status)
    if cancel and move:
        said.append(reply("utter_order_can_cancel_or_change_address"))
    elif cancel:
        said.append(reply("utter_order_can_cancel"))
    elif move:
        said.append(reply("utter_order_can_change_address"))
    return said


def order_eta(status: dto.OrderStatus, days_min: int, days_max: int, option_label: str) -> Reply:
    """When this order arrives ("when will it arrive" about the order in focus): the carrier's
    expected date once shipped, else how long its delivery option takes once it ships."""
    ref = status.reference
    if status.status == "shipped" and status.eta is not None:
        return reply("utter_order_eta_shipped", reference=ref, carrier=status.carrier, eta=day(status.eta))
    if status.status == "shipped":
        return reply("utter_order_eta_shipped_undated", reference=ref, carrier=status.carrier,
                     option=option_label.lower(), days_min=days_min, days_max=days_max)
    if status.status == "delivered":
        return reply("utter_order_eta_delivered", reference=ref, delivered_on=day(status.delivered_at))
    if status.status == "cancelled":
        return reply("utter_order_eta_cancelled", reference=ref)
    if status.status == "returned":
        return reply("utter_order_eta_returned", reference=ref)
    return reply("utter_order_eta_not_shipped", reference=ref, status=STATUS_LABELS.get(status.status, status.status),
                 option=option_label.lower(), days_min=days_min, days_max=days_max)


def order_buttons(orders: list[dto.OrderSummary], intent: str) -> list[dict]:
    """One button per order; pressing it repeats the request with that order."""
    return [
        {"title": f"{o.reference} · {day(o.placed_at)} · {STATUS_LABELS.get(o.status, o.status)}",
         "payload": f"/{intent}{json.dumps({'order_ref': o.reference})}"}
        for o in orders
    ]


def cancel_question(status: dto.OrderStatus, fee_cents: int) -> Reply:
    """Cancel this order? With the fee, and (if it was paid) what goes back to the customer."""
    ref, total = status.reference, format_money(status.total_cents, status.currency)
    fee = format_money(fee_cents, status.currency)
    refund = format_money(max(status.total_cents - fee_cents, 0), status.currency)
    if status.status == "placed":
        if fee_cents == 0:
            return reply("utter_cancel_question_free", reference=ref, total=total)
        return reply("utter_cancel_question_fee", reference=ref, total=total, fee=fee)
    if fee_cents == 0:
        return reply("utter_cancel_question_free_refund", reference=ref, total=total, refund=refund)
    return reply("utter_cancel_question_fee_refund", reference=ref, total=total, fee=fee, refund=refund)


def cancelled(result: dto.CancelResult) -> Reply:
    if result.refund:
        return reply("utter_cancelled_refund", reference=result.reference,
                     amount=format_money(result.refund.amount_cents, result.refund.currency),
                     expected_by=day(result.refund.expected_by))
    return reply("utter_cancelled", reference=result.reference)


def refund(info: dto.RefundInfo | None, reference: str) -> Reply:
    if info is None:
        return reply("utter_refund_none", reference=reference)
    amount = format_money(info.amount_cents, info.currency)
    if info.status == "processed":
        return reply("utter_refund_paid", reference=reference, amount=amount, paid_on=day(info.processed_at))
    return reply("utter_refund_processing", reference=reference, amount=amount, expected_by=day(info.expected_by))


def invoice(info: dto.InvoiceInfo) -> Reply:
    lines = "; ".join(f"{li.quantity}× {li.name} {format_money(li.unit_price_cents, info.currency)}"
                      for li in info.lines)
    return reply("utter_invoice", number=info.number, reference=info.order_reference, issued_on=day(info.issued_at),
                 lines=lines, total=format_money(info.amount_cents, info.currency))


def product_lines(products: list[dto.ProductInfo]) -> str:
    return "\n".join(
        f"• {p.name} - {format_money(p.price_cents)}" + ("" if p.stock > 0 else " (out of stock)")
        for p in products
    )


def product_cards(products: list[dto.ProductInfo]) -> list[dict]:
    """Generic-template elements (title, subtitle, link to the shop's product) for channels that show cards."""
    return [{"title": p.name,
             "subtitle": f"{format_money(p.price_cents)} · " + ("in stock" if p.stock > 0 else "out of stock"),
             "url": f"/products/{p.sku}"}
            for p in products]


def error_reply(error: Exception, reference: str | None = None) -> Reply:
    """The one place CRM errors become replies: utter_error_<code>. Another customer's order and an
    unknown one get the same answer (the two responses say the same), so nothing leaks about who
    owns what. An order error with no reference to name (no caller does that) gets the generic one."""
    code = getattr(error, "code", "")
    if code not in ERROR_CODES or (code in ORDER_ERROR_CODES and not reference):
        return reply("utter_error_unknown")
    return reply(f"utter_error_{code}", reference=reference, problem=str(error))
