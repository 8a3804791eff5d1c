"""Rasa NLU component: a short message that would fall back but only names a product is ``product_info``.

Runs after ``FallbackClassifier``. Thin: the rule lives in :mod:`bot.nlu.product_words`. Training
counts, per lemma, the training examples that use it and how many of them are product requests;
at parse time a message the fallback took whose words are all unknown or product words gets
``product_info`` instead (the rules send it to ``action_product_search``, which looks it up in the
catalogue or offers the categories). The confidence stays the fallback's, so the message still
shows as uncertain (``caredesk nlu review`` picks it up); ``nlu_fallback`` leaves the ranking.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import product_words

INTENT_GIVEN = "product_info"
FILE = "word_use.json"


def _lemmas(message: Message) -> list[str]:
    return [token.lemma or token.text for token in message.get(TOKENS_NAMES[TEXT]) or []]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ProductMentionClassifier(GraphComponent):
    """Turns the fallback of a message that only names a product into ``product_info``."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_words": product_words.MAX_WORDS, "min_product_share": product_words.MIN_PRODUCT_SHARE}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 word_use: dict[str, product_words.WordUse] | None = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._word_use = word_use or {}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ProductMentionClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [(m.get(INTENT), _lemmas(m)) for m in training_data.intent_examples if m.get(INTENT)]
        self._word_use = product_words.count_words(examples)
        with self._model_storage.write_to(self._resource) as folder:
            data = {word: [use.product, use.total] for word, use in sorted(self._word_use.items())}
            (folder / FILE).write_text(json.dumps(data), encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> ProductMentionClassifier:
        with model_storage.read_from(resource) as folder:
            data = json.loads((folder / FILE).read_text(encoding="utf-8"))
        word_use = {word: product_words.WordUse(product, total) for word, (product, total) in data.items()}
        return cls(config, model_storage, resource, word_use)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME:
                continue
            if not product_words.names_a_product(_lemmas(message), self._word_use, self._config["max_words"],
                                                 self._config["min_product_share"]):
                continue
            given = {INTENT_NAME_KEY: INTENT_GIVEN, "confidence": intent.get("confidence")}
            others = [r for r in message.get(INTENT_RANKING_KEY) or []
                      if r.get(INTENT_NAME_KEY) not in (DEFAULT_NLU_FALLBACK_INTENT_NAME, INTENT_GIVEN)]
            message.set(INTENT, given, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [given, *others], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
