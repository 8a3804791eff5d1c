"""Pure text and button building for replies. No I/O, no Rasa imports."""

from __future__ import annotations

import json
from datetime import date, datetime

from crm_store import dto
from crm_store.dto import format_money
from crm_store.services import orders as order_rules

STATUS_WORDS = {
    "placed": "placed and waiting for payment",
    "paid": "paid and being prepared",
    "packed": "packed and about to be handed to the carrier",
    "shipped": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
}


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


def order_status(status: dto.OrderStatus) -> str:
    items = ", ".join(f"{line.quantity}× {line.name}" for line in status.lines)
    text = f"Order {status.reference} ({items}) is {STATUS_WORDS.get(status.status, status.status)}."
    if status.status == "shipped":
        text += (f" It's with {status.carrier}, tracking number {status.tracking_number}, "
                 f"expected {day(status.eta)}.")
        if status.tracking_url:
            text += f" Track it here: {status.tracking_url}"
    elif status.status == "delivered":
        text += f" It was delivered on {day(status.delivered_at)} by {status.carrier}."
    cancel, move = order_rules.can_cancel(status.status), order_rules.can_change_address(status.status)
    if cancel and move:
        text += " You can still cancel it or change the address."
    elif cancel:
        text += " You can still cancel it."
    elif move:
        text += " You can still change the address."
    return text


def order_buttons(orders: list[dto.OrderSummary], intent: str) -> list[dict]:
    """One button per order; pressing it repeats the request with that order."""
    return [
        {"title": f"{o.reference} · {day(o.placed_at)} · {STATUS_WORDS.get(o.status, o.status)}",
         "payload": f"/{intent}{json.dumps({'order_ref': o.reference})}"}
        for o in orders
    ]


def cancel_question(status: dto.OrderStatus, fee_cents: int) -> str:
    refund = max(status.total_cents - fee_cents, 0)
    fee = "free of charge" if fee_cents == 0 else f"a fee of {format_money(fee_cents, status.currency)}"
    text = f"Cancel order {status.reference} ({format_money(status.total_cents, status.currency)})? It's {fee}"
    if status.status != "placed":
        text += f", and {format_money(refund, status.currency)} goes back to you"
    return text + "."


def cancelled(result: dto.CancelResult) -> str:
    text = f"Done: order {result.reference} is cancelled."
    if result.refund:
        text += (f" Your refund of {format_money(result.refund.amount_cents, result.refund.currency)} "
                 f"should arrive by {day(result.refund.expected_by)}.")
    return text


def refund(info: dto.RefundInfo | None, reference: str) -> str:
    if info is None:
        return f"There's no refund for order {reference} yet."
    amount = format_money(info.amount_cents, info.currency)
    if info.status == "processed":
        return f"The refund of {amount} for order {reference} was paid out on {day(info.processed_at)}."
    return (f"The refund of {amount} for order {reference} is being processed; "
            f"it should reach you by {day(info.expected_by)}.")


def invoice(info: dto.InvoiceInfo) -> str:
    lines = "; ".join(f"{li.quantity}× {li.name} {format_money(li.unit_price_cents, info.currency)}"
                      for li in info.lines)
    return (f"Invoice {info.number} for order {info.order_reference}, issued {day(info.issued_at)}: "
            f"{lines}. Total {format_money(info.amount_cents, info.currency)} incl. VAT. You can download "
            f"the PDF under \"My account\" > \"Orders\".")


def product_lines(products: list[dto.ProductInfo]) -> str:
    return "\n".join(
        f"• {p.name} - {format_money(p.price_cents)}" + ("" if p.stock > 0 else " (out of stock)")
        for p in products
    )


STORE_DOWN = ("Sorry, I can't reach our order system right now, so I can't look that up. "
              "Please try again in a few minutes, or ask for a person.")


def product_cards(products: list[dto.ProductInfo]) -> list[dict]:
    """Generic-template elements (title, subtitle, link to the shop's product) for channels that show cards."""
    return [{"title": p.name,
             "subtitle": f"{format_money(p.price_cents)} · " + ("in stock" if p.stock > 0 else "out of stock"),
             "url": f"/products/{p.sku}"}
            for p in products]


def error_text(error: Exception, reference: str | None = None) -> str:
    """The one place CRM errors become words for the customer. Another customer's order and an
    unknown one get the same answer, so nothing leaks about who owns what."""
    ref = f"order {reference}" if reference else "that order"
    messages = {
        "order_not_found": f"I can't find {ref} on your account. Please check the reference.",
        "not_order_owner": f"I can't find {ref} on your account. Please check the reference.",
        "invalid_input": f"Sorry, that doesn't look right: {error}.",
        "not_cancellable": (f"Sorry, {ref} has already left our warehouse, so it can't be cancelled any more. "
                            "Once it arrives you can return it for a full refund."),
        "address_not_changeable": (f"Sorry, {ref} has already shipped, so the address can't be changed. "
                                   "The carrier's tracking page may let you redirect it."),
        "return_window_closed": f"Sorry, {ref} is outside our return window ({error}).",
        "not_returnable": f"Sorry, {ref} can't be returned right now ({error}).",
        "customer_not_found": "Sorry, I can't find your account.",
        "store_unavailable": STORE_DOWN,
    }
    return messages.get(getattr(error, "code", ""), "Sorry, something went wrong on our side. Please try again.")
