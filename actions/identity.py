"""Who is talking: a verified customer id from the slot or from a signed channel token."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.store import settings
from caredesk import identity_token

TOKEN_KEY = "identity_token"


def current_customer(tracker: Tracker) -> tuple[int | None, list[EventType]]:
    """The verified customer id and the events that remember it.

    A channel may put a signed token in the message metadata; a valid one wins over the slot
    (the page's logged-in user is who is talking). Raw ids in metadata are never trusted.
    """
    slot = tracker.get_slot("customer_id")
    metadata = tracker.latest_message.get("metadata") or {}
    from_token = identity_token.verify(metadata.get(TOKEN_KEY), settings().secret_key)
    if from_token is not None:
        return from_token, ([] if slot == from_token else [SlotSet("customer_id", from_token)])
    return (int(slot) if slot is not None else None), []


def require_customer(
    dispatcher: CollectingDispatcher, tracker: Tracker, resume_with: str
) -> tuple[int | None, list[EventType]]:
    """The customer id, or None plus events that start verification and resume ``resume_with``."""
    customer_id, events = current_customer(tracker)
    if customer_id is not None:
        return customer_id, events
    dispatcher.utter_message(text="Sure, I can help with that.")
    return None, [SlotSet("pending_action", resume_with), SlotSet("next_step", "verify")]
