"""Suggestion cards on the channels: the widget keeps a card's link words, Telegram turns a card with
buttons into a message with an inline keyboard (and its link only when the shop is public)."""

from bot.channels.telegram import card_keyboards
from bot.channels.web import widget_message

DETAILS = '/recommend_products{"suggestion": "7", "card_action": "details"}'
MORE = '/recommend_products{"suggestion": "7", "card_action": "more"}'
CARD = {"title": "Fern Pot", "subtitle": "€12.00 · because you bought Trowel",
        "url": "/products/GA-1?suggestion=7&add=1", "link_title": "Add to basket",
        "buttons": [{"title": "Details", "payload": DETAILS}, {"title": "More like this", "payload": MORE}]}


def test_the_widget_shows_the_cards_buttons_and_link_words():
    shown = widget_message({"text": "Here are some picks for you:\n• Fern Pot - €12.00", "elements": [CARD]})
    assert shown["text"] == "Here are some picks for you:"
    assert shown["cards"][0]["link_title"] == "Add to basket"
    assert [b["title"] for b in shown["cards"][0]["buttons"]] == ["Details", "More like this"]


def test_telegram_gets_a_keyboard_per_card_and_the_link_only_for_a_public_shop():
    [(text, rows)] = card_keyboards([CARD], "https://shop.example.com")
    assert text == "Fern Pot\n€12.00 · because you bought Trowel"
    assert [b["title"] for b in rows[0]] == ["Details", "More like this"]
    assert rows[1] == [{"title": "Add to basket", "url": "https://shop.example.com/products/GA-1?suggestion=7&add=1"}]
    [(_, local)] = card_keyboards([CARD], "http://127.0.0.1:8080")
    assert len(local) == 1


def test_plain_product_cards_stay_text_on_telegram():
    assert card_keyboards([{"title": "Kettle", "url": "/products/K1"}], "https://shop.example.com") == []
