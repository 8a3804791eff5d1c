"""Actions take any JSON a message can carry where they expect text, and answer normally.

A message ``/intent{"entity": value}`` reaches the actions with ``value`` exactly as typed: a
number, a list, an object. The entities ``order_ref``, ``email`` and ``newsletter_choice`` fill
slots of the same names. Before, a number there made the action raise, and rasa_sdk answered
with the whole tracker in the error body (issue 9).
"""

from __future__ import annotations

import inspect
import pkgutil

import pytest
from rasa_sdk import Action

import actions
from tests.actions_support import load_domain, make_tracker, run

ODD_VALUES = [5, True, ["CD-7KQ2MX"], {"value": "CD-7KQ2MX"}]
ANA = 1


def every_action() -> list[type[Action]]:
    import importlib

    found = {}
    for module in pkgutil.iter_modules(actions.__path__):
        loaded = importlib.import_module(f"actions.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__ == loaded.__name__ and "name" in cls.__dict__:
                found[cls.__name__] = cls
    return sorted(found.values(), key=lambda c: c.__name__)


def odd_tracker(value, intent: str, verified: bool):
    entities = [{"entity": name, "value": value} for name in
                ("order_ref", "email", "product", "product_category", "newsletter_choice")]
    # csat: what the feedback form leaves before its submit action runs.
    slots = {"order_ref": value, "email": value, "newsletter_choice": value, "csat": "5"}
    if verified:
        slots["customer_id"] = ANA
    return make_tracker(slots=slots, text=f'/{intent}{{"order_ref": {value!r}}}', intent=intent, entities=entities,
                        events=[{"event": "user", "text": "/x", "parse_data": {"entities": entities}}])


@pytest.mark.parametrize("verified", [False, True], ids=["guest", "verified"])
@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda v: type(v).__name__)
async def test_no_action_raises_on_a_non_text_entity_or_slot(crm, value, verified):
    domain = load_domain()
    failures = []
    for cls in every_action():
        action = cls()
        for intent in ("recommend_products", "track_order", "check_cancellation_fee"):
            try:
                await run(action, odd_tracker(value, intent, verified))
            except Exception as exc:  # noqa: BLE001 - collected, then reported together
                failures.append(f"{action.name()} on {intent}: {type(exc).__name__}: {exc}")
    assert domain and not failures, "\n".join(failures)
