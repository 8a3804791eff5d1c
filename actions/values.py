"""Slot and entity values as the text the actions expect.

A message ``/intent{"order_ref": 5}`` hands the actions its values exactly as typed (any JSON: a
number, a list, an object), and the entities ``order_ref``, ``email`` and ``newsletter_choice``
fill slots of the same names. Actions read such values through these functions: a string stays,
a number becomes its digits, anything else counts as not given.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def as_text(value: Any) -> str | None:
    """``value`` if it is a string, a number's digits, otherwise None."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def slot_text(tracker: Tracker, name: str) -> str | None:
    """The slot's value as text, or None."""
    return as_text(tracker.get_slot(name))


def entity_texts(entities: list[dict] | None, name: str) -> list[str]:
    """The values of every ``name`` entity that can be read as text, in message order."""
    values = (as_text(e.get("value")) for e in entities or [] if isinstance(e, dict) and e.get("entity") == name)
    return [v for v in values if v]
