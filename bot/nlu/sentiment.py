"""Rasa NLU component: label every user message negative / neutral / positive with a score.

Thin: the scoring lives in :mod:`bot.nlu.sentiment_scorer`. The result is added to the parse
data under ``sentiment`` (``{"label": "negative", "score": -0.62}``), so it is stored with every
user event in the tracker store.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import sentiment_scorer

SENTIMENT = "sentiment"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class SentimentAnalyzer(GraphComponent):
    """Adds ``sentiment`` to each parsed message."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentimentAnalyzer:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text and not text.startswith("/"):  # button payloads carry no feeling
                result = sentiment_scorer.score(text)
                message.set(SENTIMENT, {"label": result.label, "score": result.score}, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
