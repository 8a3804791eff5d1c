"""A small factory for trackers, the real domain, and running actions as the SDK would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rasa.core.nlg.interpolator import interpolate_text
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DOMAIN_PATH = Path(__file__).resolve().parents[1] / "domain.yml"


def load_domain() -> dict[str, Any]:
    return yaml.safe_load(DOMAIN_PATH.read_text(encoding="utf-8"))


def make_tracker(
    *,
    slots: dict[str, Any] | None = None,  # "customer_id": N stands for a customer verified in chat
    text: str = "",
    intent: str = "",
    entities: list[dict] | None = None,
    metadata: dict | None = None,
    ranking: list[dict] | None = None,
    events: list[dict] | None = None,
    active_loop: str | None = None,
    sender_id: str = "test-conversation",
) -> Tracker:
    domain_slots = {name: None for name in load_domain()["slots"]}
    slots = dict(slots or {})
    if "customer_id" in slots:
        # A customer verified in chat in this conversation, as the verify form leaves it.
        from actions.store import settings
        from common import identity_token

        customer_id = slots.pop("customer_id")
        slots["verified"] = identity_token.chat_proof(sender_id, customer_id, settings().signing_keys)
    return Tracker(
        sender_id,
        {**domain_slots, **slots},
        {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or [],
         "metadata": metadata or {}, "intent_ranking": ranking or []},
        events or [{"event": "user", "text": text}],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


async def run(action, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    """(events, messages) of one action run with a real dispatcher."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, load_domain())
    return events, dispatcher.messages


def rendered(message: dict) -> str:
    """The text the customer reads: a message naming a response is filled in from ``domain.yml``
    with the message's values, as the Rasa server does (its first variation, Rasa's interpolation)."""
    if not message.get("response"):
        return message.get("text") or ""
    template = load_domain()["responses"][message["response"]][0]["text"]
    return interpolate_text(template, message)


def texts(messages: list[dict]) -> str:
    return "\n".join(rendered(m) for m in messages)


def slot_sets(events: list[dict]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
