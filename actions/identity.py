"""Who is talking, from proofs the tracker cannot be talked into.

Two proofs count, each checked against this conversation's id, which only its channel can address
(``web:<derived from the browser's session key>``, ``tg:<private chat>``, ``api:<integration's id>``):

- the channel's **assertion** in this message's metadata (the web page's signed token, a linked
  Telegram account in a private chat, a trusted integration's token), made by the channel
  after it checked the credential; it proves the customer for this message only;
- the **chat proof** in the ``verified`` slot, made when the customer gave an order reference and
  the e-mail on it in this conversation; it expires (``identity_token.CHAT_PROOF_TTL_S``).

Anything else (a ``customer_id`` slot, ids in metadata, another conversation's proof) proves
nothing. Public REST conversations and Telegram groups never hold a verified customer: anyone
can name the first, and everyone in the group would share the second.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.store import settings
from common import identity_token

PROOF_SLOT = "verified"
# Conversations that must never hold a verified customer, and what the customer is told instead.
NO_IDENTITY_HERE = {
    "rest:": "utter_verify_elsewhere",
    "tg-group:": "utter_private_chat_only",
}


def identity_refused_because(tracker: Tracker) -> str | None:
    """The response explaining why this conversation cannot verify anyone, or None if it can."""
    for prefix, response in NO_IDENTITY_HERE.items():
        if tracker.sender_id.startswith(prefix):
            return response
    return None


def current_customer(tracker: Tracker) -> tuple[int | None, list[EventType]]:
    """The verified customer id (or None) and the events that tidy an expired proof away."""
    if identity_refused_because(tracker):
        return None, []
    keys = settings().signing_keys
    metadata = tracker.latest_message.get("metadata") or {}
    asserted = identity_token.asserted_customer(metadata.get("identity"), tracker.sender_id, keys)
    if asserted is not None:
        return asserted, []
    proof = tracker.get_slot(PROOF_SLOT)
    proven = identity_token.proven_customer(proof, tracker.sender_id, keys)
    if proven is not None:
        return proven, []
    return None, ([SlotSet(PROOF_SLOT, None)] if proof else [])


def chat_proof_for(tracker: Tracker, customer_id: int) -> str:
    """The ``verified`` slot value that remembers an in-chat verification in this conversation."""
    return identity_token.chat_proof(tracker.sender_id, customer_id, settings().signing_keys)


def require_customer(
    dispatcher: CollectingDispatcher, tracker: Tracker, resume_with: str
) -> tuple[int | None, list[EventType]]:
    """The customer id, or None plus events that start verification and resume ``resume_with``
    (or, where nobody can be verified, the customer is told where they can be)."""
    customer_id, events = current_customer(tracker)
    if customer_id is not None:
        return customer_id, events
    refused = identity_refused_because(tracker)
    if refused:
        dispatcher.utter_message(response=refused)
        return None, events
    dispatcher.utter_message(response="utter_will_verify")
    return None, events + [SlotSet("pending_action", resume_with), SlotSet("next_step", "verify")]


def client_of(tracker: Tracker) -> str | None:
    """The channel's opaque pseudonym for the client (address or chat user), for lock-outs."""
    client = (tracker.latest_message.get("metadata") or {}).get("client")
    return client if isinstance(client, str) and len(client) <= 100 else None
