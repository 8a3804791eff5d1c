"""Recommendations in chat (actions/recommend.py) against a seeded CRM and a recommender trained on it:
a verified customer's taste with reasons, a guest's popular products, category / price / gift
filters, "like last time", "more like this", the cards' buttons (clicks stored), no suggestions
while upset or handed over, and popularity from the CRM before any model is trained."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import select

from actions.recommend import ActionRecommend, catalogue_category, price_limit_cents
from common import identity_token
from common.settings import get_settings
from crm_store import models
from crm_store.services import recommend, suggestions
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import make_tracker, run, slot_sets, texts
from tests.conftest import AS_OF


@pytest.fixture
def models_dir(crm, tmp_path, monkeypatch):
    """Where the action server reads the recommender from (nothing trained yet)."""
    from common.settings import get_settings

    path = tmp_path / "models"
    monkeypatch.setenv("CAREDESK_MODELS_DIR", str(path))
    get_settings.cache_clear()
    return path


@pytest.fixture
def trained(crm, models_dir):
    recommend.train_model(crm, models_dir, as_of=AS_OF, tune=False)
    return models_dir


def _categories_bought(url: str, customer_id: int) -> Counter:
    with UnitOfWork(url) as uow:
        return Counter(uow.session.execute(
            select(models.Product.category)
            .join(models.OrderLine, models.OrderLine.product_id == models.Product.id)
            .join(models.Order, models.Order.id == models.OrderLine.order_id)
            .where(models.Order.customer_id == customer_id)).scalars())


def _clear_taste(url: str) -> tuple[int, str]:
    """A seeded customer (not a demo persona) with at least six order lines, most in one category."""
    for customer_id in range(4, 41):
        bought = _categories_bought(url, customer_id)
        total = sum(bought.values())
        if total >= 6:
            category, n = bought.most_common(1)[0]
            if n >= total * 0.6:
                return customer_id, category
    raise AssertionError("no seeded customer with a clear taste")


def _cards(messages: list[dict]) -> list[dict]:
    return [card for m in messages for card in m.get("elements") or []]


def _card_products(url: str, cards: list[dict]) -> list[models.Product]:
    skus = [card["url"].split("/products/")[1].split("?")[0] for card in cards]
    with UnitOfWork(url) as uow:
        found = {p.sku: p for p in uow.session.execute(select(models.Product).where(models.Product.sku.in_(skus)))
                 .scalars()}
        uow.session.expunge_all()
    return [found[sku] for sku in skus]


def _ask(text: str, *, entities=(), slots=None, events=None, sender_id="test-conversation"):
    entities = [{"entity": name, "value": value} for name, value in entities]
    return make_tracker(text=text, intent="recommend_products", entities=entities, slots=slots, events=events,
                        sender_id=sender_id)


def _payload_values(payload: str) -> dict:
    return json.loads(payload[len("/recommend_products"):])


async def test_a_verified_customer_with_a_clear_taste_gets_it_as_cards_with_reasons(crm, trained):
    customer_id, taste = _clear_taste(crm)
    events, messages = await run(ActionRecommend(), _ask("what would you recommend",
                                                         slots={"customer_id": customer_id}))
    assert messages[0]["response"] == "utter_recommend_personal"
    assert "because you bought" in texts(messages)
    cards = _cards(messages)
    assert len(cards) == 4
    products = _card_products(crm, cards)
    assert sum(p.category == taste for p in products) >= 2, [p.category for p in products]
    assert all(p.stock > 0 for p in products)
    for card in cards:  # details, more like this, and the basket link; each names the stored suggestion
        assert [b["title"] for b in card["buttons"]] == ["Details", "More like this"]
        assert card["link_title"] == "Add to basket" and "suggestion=" in card["url"]
        query = dict(part.split("=", 1) for part in card["url"].split("?", 1)[1].split("&"))
        sku = card["url"].split("?", 1)[0].rsplit("/", 1)[1]  # the shop counts the link only with its signature
        assert identity_token.signed_suggestion(query["suggestion"], sku, query["sig"],
                                                get_settings().signing_keys) == int(query["suggestion"])
    with UnitOfWork(crm) as uow:
        stored = uow.session.execute(select(models.Suggestion)).scalars().all()
        assert [s.product_sku for s in stored] == [p.sku for p in products]
        assert {s.customer_id for s in stored} == {customer_id} and stored[0].conversation_id == "test-conversation"
    assert slot_sets(events)["product_in_focus"] == [p.sku for p in products]


async def test_a_guest_gets_popular_products_of_the_category_under_the_price_limit(crm, trained):
    _, messages = await run(ActionRecommend(), _ask(
        "something for my kitchen under 30", entities=[("product_category", "kitchen"), ("price_limit", "under 30")]))
    assert messages[0]["response"] == "utter_recommend_popular"
    products = _card_products(crm, _cards(messages))
    assert products and all(p.category == "home & kitchen" and p.price_cents <= 3000 for p in products)
    assert "popular in Home & Kitchen" in texts(messages)


async def test_a_gift_for_someone_names_them_and_keeps_to_what_they_like(crm, trained):
    _, messages = await run(ActionRecommend(), _ask(
        "a gift for my mum who likes gardening", entities=[("recipient", "mum"), ("product_category", "gardening")],
        slots={"customer_id": 5}))
    assert messages[0]["response"] == "utter_recommend_gift"
    assert texts(messages).startswith("Some gift ideas for your mum:")
    products = _card_products(crm, _cards(messages))
    assert products and {p.category for p in products} == {"garden"}


async def test_like_last_time_follows_the_customers_latest_purchase(crm, trained):
    customer_id, _ = _clear_taste(crm)
    last = recommend.last_bought_sku(customer_id, UnitOfWork(crm))
    with UnitOfWork(crm) as uow:
        last_name = uow.session.execute(select(models.Product.name).where(models.Product.sku == last)).scalar()
    _, messages = await run(ActionRecommend(), _ask("anything similar to what I bought last time?",
                                                    slots={"customer_id": customer_id}))
    assert messages[0]["response"] == "utter_recommend_similar" and messages[0]["product"] == last_name
    assert last not in {p.sku for p in _card_products(crm, _cards(messages))}


async def test_a_guest_asking_for_last_time_is_told_why_and_gets_popular_ones(crm, trained):
    _, messages = await run(ActionRecommend(), _ask("similar to what I bought last time"))
    assert [m["response"] for m in messages] == ["utter_recommend_history_needs_verification",
                                                 "utter_recommend_popular"]


async def test_more_like_this_is_about_the_product_shown_first(crm, trained):
    _, messages = await run(ActionRecommend(), _ask("more like this", slots={"product_in_focus": ["HK-0001"]}))
    assert messages[0]["response"] == "utter_recommend_similar"
    assert "HK-0001" not in {p.sku for p in _card_products(crm, _cards(messages))}


async def test_the_cards_buttons_are_followed_and_stored(crm, trained):
    _, shown = await run(ActionRecommend(), _ask("what would you recommend"))
    first, second = _cards(shown)[:2]
    details = _payload_values(first["buttons"][0]["payload"])
    more = _payload_values(second["buttons"][1]["payload"])
    entities = [(name, value) for name, value in details.items()]
    events, messages = await run(ActionRecommend(), _ask("/recommend_products", entities=entities))
    assert messages[0]["response"] == "utter_suggestion_details"
    assert messages[0]["name"] == first["title"] and [b["title"] for b in messages[0]["elements"][0]["buttons"]] == [
        "More like this"]
    _, messages = await run(ActionRecommend(), _ask("/recommend_products", entities=list(more.items())))
    assert messages[0]["response"] == "utter_recommend_similar" and messages[0]["product"] == second["title"]
    with UnitOfWork(crm) as uow:
        followed = {s.id: s.followed_by for s in uow.session.execute(select(models.Suggestion)).scalars()}
    assert followed[int(details["suggestion"])] == "details" and followed[int(more["suggestion"])] == "more"
    rate = suggestions.follow_rate(UnitOfWork(crm))
    assert rate.followed == 2 and rate.shown == len(_cards(shown)) + 4


async def test_a_button_from_another_conversation_is_not_counted(crm, trained):
    _, shown = await run(ActionRecommend(), _ask("what would you recommend", sender_id="someone-else"))
    values = _payload_values(_cards(shown)[0]["buttons"][0]["payload"])
    _, messages = await run(ActionRecommend(), _ask("/recommend_products", entities=list(values.items())))
    assert messages[0]["response"] == "utter_suggestion_gone"
    assert suggestions.follow_rate(UnitOfWork(crm)).followed == 0


@pytest.mark.parametrize("slots, events, response", [
    ({"escalated_ticket": "12"}, None, "utter_recommend_not_now_handed_over"),
    ({}, [{"event": "user", "text": "this is a disgrace", "parse_data": {"sentiment": {"score": -0.8}}}],
     "utter_recommend_not_now_upset"),
], ids=["handed over", "angry"])
async def test_no_suggestions_while_handed_over_or_upset(crm, trained, slots, events, response):
    _, messages = await run(ActionRecommend(), _ask("what would you recommend", slots=slots, events=events))
    assert messages[0]["response"] == response and not _cards(messages)
    assert suggestions.follow_rate(UnitOfWork(crm)).shown == 0


async def test_without_a_trained_model_the_best_sellers_come_from_the_crm(crm, models_dir):
    assert not (models_dir / recommend.MODEL_FILE).exists()
    asked = _ask("something for my garden", entities=[("product_category", "garden")], slots={"customer_id": 2})
    _, messages = await run(ActionRecommend(), asked)
    assert messages[0]["response"] == "utter_recommend_popular"
    products = _card_products(crm, _cards(messages))
    assert len(products) == 4 and {p.category for p in products} == {"garden"}
    _, messages = await run(ActionRecommend(), _ask("more like this", slots={"product_in_focus": [products[0].sku]}))
    assert messages[0]["response"] == "utter_recommend_similar"
    assert products[0].sku not in {p.sku for p in _card_products(crm, _cards(messages))}


async def test_nothing_that_fits_offers_the_categories(crm, trained):
    _, messages = await run(ActionRecommend(), _ask(
        "books under 1 euro", entities=[("product_category", "books"), ("price_limit", "under 1 euro")]))
    assert messages[0]["response"] == "utter_recommend_none" and messages[0]["what"] == " in Books under €1.00"
    assert "Garden" in [b["title"] for b in messages[0]["buttons"]]


async def test_a_category_the_shop_does_not_have_asks_which_one(crm, trained):
    _, messages = await run(ActionRecommend(), _ask("/recommend_products", entities=[("product_category", "5")]))
    assert messages[0]["response"] == "utter_which_products"


def test_shoppers_words_map_to_the_catalogues_categories():
    categories = ["beauty", "books", "electronics", "fashion", "garden", "home & kitchen", "sports", "toys & games"]
    assert catalogue_category("kitchen", categories) == "home & kitchen"
    assert catalogue_category("Gardening", categories) == "garden"
    assert catalogue_category("clothes", categories) == "fashion"
    assert catalogue_category("toys", categories) == "toys & games"
    assert catalogue_category("spaceships", categories) is None
    assert price_limit_cents("under 30 euros") == 3000 and price_limit_cents("below €49,99") == 4999
    assert price_limit_cents("cheap") is None
