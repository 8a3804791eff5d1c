"""What the conversation is about: the order and the products last shown, for follow-ups such as
"when will it arrive", "cancel it", "and the other one?", "is it in stock".

The actions that show an order or products put them in focus (slots ``order_in_focus`` and
``product_in_focus``, filled by actions only: no message can set them). A follow-up that names no
order uses the focus, and only after the CRM has confirmed that the order is the verified customer's
own: a focus left by someone else (another customer verified earlier in this conversation, or a
value slipped into the tracker) is ignored as if there were none, and nothing about it is said.
An order reference the customer typed (the ``order_ref`` slot) always wins over the focus.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.store import uow
from actions.values import as_text, slot_text
from crm_store import dto, errors
from crm_store.services import catalog, orders

ORDER_SLOT = "order_in_focus"
PRODUCT_SLOT = "product_in_focus"
# How many of the products last shown are remembered (the search shows at most this many).
PRODUCTS_KEPT = 5


def focus_on_order(reference: str | None) -> EventType:
    """The event that puts ``reference`` in focus (None clears it)."""
    return SlotSet(ORDER_SLOT, reference)


def focused_order(tracker: Tracker, customer_id: int | None) -> str | None:
    """The order in focus if it is ``customer_id``'s own, else None (a stranger's is never named)."""
    reference = slot_text(tracker, ORDER_SLOT)
    if customer_id is None or not reference:
        return None
    try:
        return orders.order_status(customer_id, reference, uow()).reference
    except (errors.OrderNotFound, errors.NotOrderOwner, errors.InvalidInput):
        return None


def order_meant(tracker: Tracker, customer_id: int | None) -> str | None:
    """The order a request is about: the reference the customer gave, else the order in focus."""
    return slot_text(tracker, "order_ref") or focused_order(tracker, customer_id)


def focus_on_products(products: list[dto.ProductInfo]) -> EventType:
    """The event that remembers the products just shown (their SKUs, best first)."""
    return SlotSet(PRODUCT_SLOT, [p.sku for p in products[:PRODUCTS_KEPT]] or None)


def focused_products(tracker: Tracker) -> list[dto.ProductInfo]:
    """The products last shown that are still in the catalogue, best first."""
    value = tracker.get_slot(PRODUCT_SLOT)
    skus = value if isinstance(value, list) else [value]
    found = []
    for sku in (as_text(s) for s in skus[:PRODUCTS_KEPT]):
        if not sku:
            continue
        try:
            found.append(catalog.get_product(sku, uow()))
        except errors.InvalidInput:
            continue
    return found
