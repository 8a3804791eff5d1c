"""Recommendations in chat: "what would you recommend", "something for my kitchen under 30", "a gift
for my mum who likes gardening", "similar to what I bought last time", "more like this".

A verified customer gets the recommender's picks from their purchase history; a guest what is
popular; both filtered by the category and price limit the message names (spaCy entities). Each
product is a card with buttons (details, more like this) and a link to add it to the basket; every
suggestion shown is stored, and a button or link followed marks it (crm_store/services/suggestions.py),
so the reports can tell how often suggestions are followed. Nothing is suggested to a customer who
is upset or whose conversation is with a colleague.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType

from actions import replies
from actions.escalation import sentiment_scores
from actions.focus import focus_on_products, focused_products
from actions.identity import current_customer
from actions.store import settings, uow
from actions.turns import request_action
from actions.values import entity_texts
from common import identity_token
from crm_store import errors
from crm_store.dto import ProductInfo, format_money
from crm_store.policy import load_policy
from crm_store.services import catalog, suggestions
from crm_store.services import recommend as recommender

RESULTS = 4
# Shoppers' words for the catalogue's categories (the spaCy pipeline finds the words as typed).
CATEGORY_WORDS = {
    "kitchen": "home & kitchen", "home and kitchen": "home & kitchen", "homeware": "home & kitchen",
    "home": "home & kitchen", "clothes": "fashion", "clothing": "fashion", "apparel": "fashion",
    "cosmetics": "beauty", "skincare": "beauty", "skin care": "beauty", "sport": "sports", "fitness": "sports",
    "outdoor": "sports", "toys": "toys & games", "toy": "toys & games", "games": "toys & games",
    "toys and games": "toys & games", "gardening": "garden", "gadgets": "electronics", "electronic": "electronics",
}
MORE_LIKE_THIS = re.compile(r"\b(more like (this|that|these|those|it)|similar (ones?|to (this|that|these|it))|"
                            r"something like (this|that|it)|others like (this|that))\b", re.IGNORECASE)
LIKE_LAST_TIME = re.compile(r"\b(last time|last order|(i|i've|i have) (bought|ordered|purchased)|"
                            r"my (last|previous|recent) (order|purchase))", re.IGNORECASE)
GIFT = re.compile(r"\b(gifts?|presents?)\b", re.IGNORECASE)
NUMBER = re.compile(r"\d+(?:[.,]\d{1,2})?")
CARD_ACTIONS = {"details": "details", "more": "more"}


def catalogue_category(words: str | None, categories: list[str]) -> str | None:
    """The catalogue category a shopper's word means ("kitchen" -> "home & kitchen"), or None."""
    word = (words or "").strip().lower()
    if not word:
        return None
    known = {c.lower(): c for c in categories}
    if word in known:
        return known[word]
    mapped = CATEGORY_WORDS.get(word)
    if mapped in known:
        return known[mapped]
    return next((c for low, c in known.items() if word in low or low in word), None)


def price_limit_cents(text: str | None) -> int | None:
    """The amount in "under 30 euros", "below €49.99", "less than 20" in cents (the shop's currency)."""
    found = NUMBER.search(text or "")
    if not found:
        return None
    return round(float(found.group().replace(",", ".")) * 100)


def is_upset(tracker: Tracker) -> bool:
    """The latest message, or one of the last three, is as negative as the escalation rules watch for."""
    rules = load_policy().escalation
    recent = sentiment_scores(tracker)[-3:]
    return bool(recent) and (recent[-1] <= rules.trend_negative_at or min(recent) <= rules.very_negative_at)


def domain_text(domain: dict, said: replies.Reply) -> str:
    """A short response's words from domain.yml, filled in (a reason inside a list of products)."""
    variations = ((domain or {}).get("responses") or {}).get(said["response"]) or [{"text": ""}]
    text = variations[0].get("text") or ""
    for name, value in said.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def reason_words(domain: dict, suggestion: recommender.ProductSuggestion) -> str:
    if suggestion.reason_kind == "bought" and suggestion.reason_product:
        return domain_text(domain, replies.reply("utter_reason_bought", product=suggestion.reason_product))
    if suggestion.reason_kind == "similar" and suggestion.reason_product:
        return domain_text(domain, replies.reply("utter_reason_similar", product=suggestion.reason_product))
    if suggestion.reason_category:
        return domain_text(domain, replies.reply("utter_reason_popular", category=suggestion.reason_category.title()))
    return domain_text(domain, replies.reply("utter_reason_popular_shop"))


def button(title: str, suggestion_id: int, card_action: str) -> dict[str, str]:
    values = {"suggestion": str(suggestion_id), "card_action": card_action}
    return {"title": title, "payload": "/recommend_products" + json.dumps(values)}


def link_signature(suggestion_id: int, sku: str) -> str:
    return identity_token.suggestion_signature(suggestion_id, sku, settings().signing_keys)


def category_buttons(categories: list[str]) -> list[dict[str, str]]:
    return [{"title": c.title(), "payload": "/recommend_products" + json.dumps({"product_category": c})}
            for c in categories]


def product_card(sku: str, name: str, subtitle: str, suggestion_id: int, link_signature: str) -> dict[str, Any]:
    """One card: the product, why, and its buttons; the link adds it to the basket at the shop, which
    counts it as followed only with the signature (``identity_token.suggestion_signature``)."""
    return {"title": name, "subtitle": subtitle,
            "url": f"/products/{sku}?suggestion={suggestion_id}&sig={link_signature}&add=1",
            "link_title": "Add to basket",
            "buttons": [button("Details", suggestion_id, "details"), button("More like this", suggestion_id, "more")]}


def present(tracker: Tracker, domain: dict, found: list[recommender.ProductSuggestion],
            customer_id: int | None) -> tuple[str, list[dict], list[EventType]]:
    """Store the suggestions; (a line each for text channels, a card each for the rest, the events
    that put them in focus)."""
    ids = suggestions.record_shown(
        uow(), conversation_id=tracker.sender_id, channel=tracker.get_latest_input_channel(), customer_id=customer_id,
        products=[suggestions.Shown(s.sku, s.reason_kind) for s in found])
    lines, cards = [], []
    for suggestion, suggestion_id in zip(found, ids, strict=True):
        why = reason_words(domain, suggestion)
        price = format_money(suggestion.price_cents)
        lines.append(f"• {suggestion.name} - {price} ({why})")
        cards.append(product_card(suggestion.sku, suggestion.name, f"{price} · {why}", suggestion_id,
                                  link_signature(suggestion_id, suggestion.sku)))
    shown = [ProductInfo(s.sku, s.name, s.category, s.price_cents, s.stock, "") for s in found]
    return "\n".join(lines), cards, [focus_on_products(shown)]


def for_whom(entities: list[dict]) -> str:
    recipient = next(iter(entity_texts(entities, "recipient")), None)
    occasion = next(iter(entity_texts(entities, "occasion")), None)
    words = (f" for your {recipient.lower()}" if recipient else "") + (f" for {occasion.lower()}" if occasion else "")
    return words


class ActionRecommend(Action):
    """Suggestions for this customer (or a guest), "more like" a product, and the cards' buttons."""

    def name(self) -> str:
        return "action_recommend"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = current_customer(tracker)
        ticket = tracker.get_slot("escalated_ticket")
        if ticket:
            dispatcher.utter_message(response="utter_recommend_not_now_handed_over", ticket=ticket)
            return events
        if is_upset(tracker):
            dispatcher.utter_message(response="utter_recommend_not_now_upset")
            return events
        message = tracker.latest_message
        entities = message.get("entities") or []
        text = message.get("text") or ""
        followed = self.followed_card(tracker, entities)
        if followed is not None and followed[0] == "details":
            return events + self.details(dispatcher, followed[1], followed[2])
        like_sku = followed[1] if followed else None
        if followed is None and any(e.get("entity") == "suggestion" for e in entities):
            dispatcher.utter_message(response="utter_suggestion_gone")
        if like_sku is None and MORE_LIKE_THIS.search(text):
            shown = focused_products(tracker)
            like_sku = shown[0].sku if shown else None
        asked_history = like_sku is None and bool(LIKE_LAST_TIME.search(text))
        if asked_history and customer_id is not None:
            like_sku = recommender.last_bought_sku(customer_id, uow())
        elif asked_history:
            dispatcher.utter_message(response="utter_recommend_history_needs_verification")
        categories = catalog.categories(uow())
        asked_category = next(iter(entity_texts(entities, "product_category")), None)
        category = catalogue_category(asked_category, categories)
        if asked_category and category is None:  # a category the shop does not have: which one then?
            dispatcher.utter_message(response="utter_which_products", buttons=category_buttons(categories))
            return events
        limit = price_limit_cents(next(iter(entity_texts(entities, "price_limit")), None))
        found = recommender.suggest(customer_id, uow(), settings().models_dir, k=RESULTS, category=category,
                                    max_price_cents=limit, like_sku=like_sku)
        if not found:
            what = (f" in {category.title()}" if category else "") + (
                f" under {format_money(limit)}" if limit is not None else "")
            dispatcher.utter_message(
                response="utter_recommend_none", what=what,
                buttons=category_buttons([c for c in categories if c != category]))
            return events
        lines, cards, focus = present(tracker, domain, found, customer_id)
        gift = for_whom(entities)
        if like_sku:
            liked = next((s.reason_product for s in found if s.reason_kind == "similar" and s.reason_product), None)
            dispatcher.utter_message(response="utter_recommend_similar", product=liked or self.product_name(like_sku),
                                     products=lines, elements=cards)
        elif gift or GIFT.search(text):
            dispatcher.utter_message(response="utter_recommend_gift", for_whom=gift, products=lines, elements=cards)
        else:
            personal = customer_id is not None and any(s.reason_kind == "bought" for s in found)
            dispatcher.utter_message(response="utter_recommend_personal" if personal else "utter_recommend_popular",
                                     products=lines, elements=cards)
        return events + focus

    @staticmethod
    def followed_card(tracker: Tracker, entities: list[dict]) -> tuple[str, str, int] | None:
        """(card action, SKU, suggestion id) when this message is a card's button of this
        conversation (the click is stored), else None."""
        suggestion_id = next(iter(entity_texts(entities, "suggestion")), None)
        card_action = CARD_ACTIONS.get(next(iter(entity_texts(entities, "card_action")), "") or "")
        if not suggestion_id or not suggestion_id.isdigit() or card_action is None:
            return None
        sku = suggestions.record_followed(uow(), int(suggestion_id), conversation_id=tracker.sender_id,
                                          kind=card_action)
        return (card_action, sku, int(suggestion_id)) if sku else None

    @staticmethod
    def product_name(sku: str) -> str:
        try:
            return catalog.get_product(sku, uow()).name
        except errors.InvalidInput:
            return sku

    @staticmethod
    def details(dispatcher, sku: str, suggestion_id: int) -> list[EventType]:
        try:
            product = catalog.get_product(sku, uow())
        except errors.InvalidInput:
            dispatcher.utter_message(response="utter_suggestion_gone")
            return []
        dispatcher.utter_message(
            response="utter_suggestion_details", name=product.name, price=format_money(product.price_cents),
            stock="in stock" if product.stock > 0 else "sold out", description=product.description or "",
            elements=[{**product_card(product.sku, product.name, format_money(product.price_cents), suggestion_id,
                                      link_signature(suggestion_id, product.sku)),
                       "buttons": [button("More like this", suggestion_id, "more")]}])
        return [focus_on_products([product])]
