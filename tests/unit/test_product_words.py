"""The rule that turns a fallback into a product lookup (bot/nlu/product_words.py): pure, no Rasa."""

from __future__ import annotations

from bot.nlu.product_words import WordUse, count_words, names_a_product

EXAMPLES = [
    ("product_info", ["do", "you", "have", "vitamin", "c"]),
    ("product_info", ["green", "tea", "price"]),
    ("recommend_products", ["best", "vitamin", "for", "me"]),
    ("cancel_order", ["order", "cancellation", "please"]),
    ("cancel_order", ["cancel", "my", "order"]),
    ("contact_human_agent", ["talk", "to", "a", "person"]),
    ("track_order", ["where", "is", "my", "order", "?"]),
]


def test_each_example_counts_a_word_once_and_product_requests_apart():
    use = count_words([*EXAMPLES, ("product_info", ["tea", "tea", "tea"])])
    assert use["tea"] == WordUse(product=2, total=2)
    assert use["order"] == WordUse(product=0, total=3)
    assert "?" not in use


def test_a_product_word_or_a_word_never_seen_names_a_product():
    use = count_words(EXAMPLES)
    assert names_a_product(["vitamin"], use)
    assert names_a_product(["Multivitamin"], use)          # never seen
    assert names_a_product(["slim", "tea"], use)           # unknown + product word
    assert names_a_product(["syntha", "6"], use)           # numbers do not count as words


def test_request_words_keep_the_fallback():
    use = count_words(EXAMPLES)
    assert not names_a_product(["cancellation"], use)
    assert not names_a_product(["talk"], use)
    assert not names_a_product(["vitamin", "order"], use)  # one request word is enough


def test_long_messages_and_messages_without_words_keep_the_fallback():
    use = count_words(EXAMPLES)
    assert not names_a_product(["vegan", "gluten", "free", "snack"], use)
    assert not names_a_product(["?", "42"], use)
    assert not names_a_product([], use)


def _parsed(text: str, intent: str, ranking: list[tuple[str, float]]):
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.nlu.tokenizers.tokenizer import Token
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.35},
                            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]})
    message.set(TOKENS_NAMES["text"], [Token(w, 0, lemma=w) for w in text.lower().split()])
    return message


def test_the_component_gives_product_info_only_for_a_fallback_that_names_a_product():
    from bot.nlu.product_mention import ProductMentionClassifier

    component = ProductMentionClassifier({}, None, None, count_words(EXAMPLES))
    ranking = [("nlu_fallback", 0.35), ("cancel_order", 0.2), ("product_info", 0.1)]
    product, keyword, confident = (_parsed("Multivitamin", "nlu_fallback", ranking),
                                   _parsed("Cancellation", "nlu_fallback", ranking),
                                   _parsed("tea", "cancel_order", [("cancel_order", 0.9)]))
    component.process([product, keyword, confident])
    assert product.get("intent") == {"name": "product_info", "confidence": 0.35}
    assert [r["name"] for r in product.get("intent_ranking")] == ["product_info", "cancel_order"]
    assert keyword.get("intent")["name"] == "nlu_fallback"
    assert confident.get("intent")["name"] == "cancel_order"
