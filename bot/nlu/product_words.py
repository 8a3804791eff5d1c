"""Is a short message that the classifier could not place the name of a product? Pure, no Rasa.

Shoppers type a product alone ("multivitamin", "resistance band", "slim tea"), the way they would
into a shop's search box, and no shop's training data names every product of every brand. When
such a message would fall back, the words decide: if each of its (at most three) words is either
one the training data never used or one used mostly in product requests, it is a product to look
up in the catalogue, not a request to rephrase. A word the other requests use ("cancellation",
"refund", "talk") keeps the fallback, so bare request keywords are never sent to the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PRODUCT_INTENTS = frozenset({"product_info", "recommend_products"})
MAX_WORDS = 3
# A known word counts as a product word if at least this share of the training examples that
# use it are product requests.
MIN_PRODUCT_SHARE = 0.5


@dataclass(frozen=True)
class WordUse:
    """In how many training examples a word occurs: in product requests, and in all."""

    product: int
    total: int


def words_of(lemmas: Iterable[str]) -> list[str]:
    """The words that count: lower-cased, with a letter in them (numbers and punctuation left out)."""
    return [w.lower() for w in lemmas if any(c.isalpha() for c in w)]


def count_words(examples: Iterable[tuple[str, Iterable[str]]]) -> dict[str, WordUse]:
    """Word use over training examples given as (intent, lemmas); each example counts a word once."""
    product: dict[str, int] = {}
    total: dict[str, int] = {}
    for intent, lemmas in examples:
        for word in set(words_of(lemmas)):
            total[word] = total.get(word, 0) + 1
            if intent in PRODUCT_INTENTS:
                product[word] = product.get(word, 0) + 1
    return {word: WordUse(product.get(word, 0), n) for word, n in total.items()}


def is_product_word(word: str, use: dict[str, WordUse], min_share: float = MIN_PRODUCT_SHARE) -> bool:
    known = use.get(word)
    return known is None or known.product >= min_share * known.total


def names_a_product(lemmas: Iterable[str], use: dict[str, WordUse], max_words: int = MAX_WORDS,
                    min_share: float = MIN_PRODUCT_SHARE) -> bool:
    """True for one to ``max_words`` words that are all unknown or product words."""
    words = words_of(lemmas)
    return 0 < len(words) <= max_words and all(is_product_word(w, use, min_share) for w in words)
