"""Finding products in the catalogue."""

from __future__ import annotations

import json
import re

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions import replies
from actions.focus import focus_on_products, focused_products
from actions.store import uow
from actions.values import entity_texts
from crm_store.dto import ProductInfo, format_money
from crm_store.policy import load_policy
from crm_store.services import catalog

STOPWORDS = set("""a an the i me my you your we to for of and or is are do does can could would want wanna
need like looking look find buy get order some any something recommend suggest suggestion suggestions
please pls plz show tell about have has in stock available price much how what which there it this that
info information details product products item items gift idea ideas good nice best popular with on""".split())
RESULTS = 5
STOCK_QUESTION = re.compile(r"\b(stock|restock\w*|available|availability|sold out|back in|left)\b", re.IGNORECASE)


def search_terms(text: str, entities: list[dict]) -> tuple[str, str | None]:
    """(words to search for, category) from the message and its entities."""
    category = next(iter(entity_texts(entities, "product_category")), None)
    products = entity_texts(entities, "product")
    if products:
        return " ".join(products), category
    words = [w for w in re.findall(r"[a-z][a-z\-]+", (text or "").lower()) if w not in STOPWORDS]
    return " ".join(words[:4]), category


class ActionProductSearch(Action):
    def name(self) -> str:
        return "action_product_search"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        message = tracker.latest_message
        query, category = search_terms(message.get("text", ""), message.get("entities") or [])
        shown = focused_products(tracker) if not (query or category) else []
        if shown:  # "is it in stock", "how much is it": about the products just shown
            return answer_about(dispatcher, shown)
        found = catalog.search_products(uow(), query=query, category=category, limit=RESULTS) if (
            query or category) else []
        if not found and query:
            # Fall back to any single word that matches, e.g. "wireless headfones kettle".
            for word in query.split():
                found = catalog.search_products(uow(), query=word, category=category, limit=RESULTS)
                if found:
                    break
        if found and STOCK_QUESTION.search(message.get("text", "")):
            answer_stock(dispatcher, found)
            return [focus_on_products(found)]
        if found:
            # The text lists the products for text-only channels; the web widget shows the cards.
            dispatcher.utter_message(response="utter_products_found", products=replies.product_lines(found),
                                     elements=replies.product_cards(found))
            return [focus_on_products(found)]
        categories = catalog.categories(uow())
        dispatcher.utter_message(
            response="utter_which_products",
            buttons=[{"title": c.title(), "payload": f'/recommend_products{{"product_category": "{c}"}}'}
                     for c in categories])
        return []


def answer_about(dispatcher, shown: list[ProductInfo]) -> list[EventType]:
    """Price and stock of the one product in focus; with several, ask which one (buttons)."""
    if len(shown) == 1:
        product = shown[0]
        dispatcher.utter_message(
            response="utter_product_in_focus" if product.stock > 0 else "utter_product_in_focus_sold_out",
            name=product.name, price=format_money(product.price_cents))
        return []
    dispatcher.utter_message(
        response="utter_which_product",
        buttons=[{"title": p.name, "payload": "/product_info" + json.dumps({"product": p.name})} for p in shown])
    return []


def answer_stock(dispatcher, found: list[ProductInfo]) -> None:
    """'Is the hoodie in stock?': each match in stock or sold out (the catalogue's stock), and how
    long a restock usually takes (the shop's policy) when one is sold out."""
    lines = "\n".join(f"• {p.name}: " + ("in stock" if p.stock > 0 else "sold out") for p in found)
    dispatcher.utter_message(response="utter_stock", products=lines)
    if any(p.stock <= 0 for p in found):
        policy = load_policy()
        dispatcher.utter_message(response="utter_restock", days_min=policy.restock_days_min,
                                 days_max=policy.restock_days_max)
