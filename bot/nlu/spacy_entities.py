"""Rasa NLU component: the spaCy entity ruler's entities from the doc ``SpacyNLP`` already made.

Rasa's ``SpacyEntityExtractor`` runs the whole spaCy pipeline a second time on every message (on
the text as typed, because ``SpacyNLP`` lower-cases it). Our pipeline's patterns compare lower-cased
words, so the lower-cased doc has the same entities, except for the few patterns that need capitals
("US", "in an M"): this component reads the entities of the doc ``SpacyNLP`` stored and runs the
pipeline again only when the message holds one of those capitalised forms
(:func:`bot.nlu.spacy_pipeline.needs_text_as_typed`). Values are cut from the text as typed, so
"Wireless Headphones" stays as written, as before.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.spacy_pipeline import needs_text_as_typed


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False,
                          model_from="SpacyNLP")
class SpacyDocEntityExtractor(SpacyEntityExtractor):
    """``SpacyEntityExtractor`` without the second spaCy pass for messages that do not need it."""

    def process(self, messages: list[Message], model: SpacyModel) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            doc = message.get(SPACY_DOCS[TEXT])
            if not _same_entities(doc, text):
                doc = model.model(text)  # what SpacyEntityExtractor does for every message
            entities = [{"entity": ent.label_, "value": text[ent.start_char:ent.end_char], "start": ent.start_char,
                         "confidence": None, "end": ent.end_char} for ent in doc.ents]
            extracted = self.filter_irrelevant_entities(self.add_extractor_name(entities), self._config["dimensions"])
            message.set(ENTITIES, message.get(ENTITIES, []) + extracted, add_to_output=True)
        return messages


def _same_entities(doc: Any, text: str) -> bool:
    """True if ``doc`` (SpacyNLP's) has the entities the text as typed would get, at the same offsets."""
    if doc is None:
        return False
    if doc.text == text:
        return True
    lowered = text.lower()
    return doc.text == lowered and len(lowered) == len(text) and not needs_text_as_typed(text)
