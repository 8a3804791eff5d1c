"""What the channels need to know of a conversation in the tracker store."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from common import identity_token

log = logging.getLogger(__name__)

# What a channel says after a turn that ended without a word: domain.yml responses, read from the domain of
# the model the Rasa server runs, so a shop changes the words without Python.
NO_REPLY_RESPONSE = "utter_no_reply"  # the message is in the tracker store (an action failed)
NOT_TAKEN_RESPONSE = "utter_not_taken"  # it is not (the tracker or lock store was away): send it again
# The words when that domain lacks the response (a model trained before the responses were added).
NO_REPLY = ("Sorry, I couldn't finish that just now; your message is saved. "
            "Please try again in a moment.")
NOT_TAKEN = "Sorry, I couldn't take that message just now. Please send it again in a moment."
FALLBACK_WORDS = {NO_REPLY_RESPONSE: NO_REPLY, NOT_TAKEN_RESPONSE: NOT_TAKEN}


def remember_app(blueprint, keep) -> None:
    """Hand the running Sanic app to ``keep`` once the server starts (channels read the tracker store
    through it)."""

    @blueprint.listener("after_server_start")
    async def _remember(app, _loop) -> None:
        keep(app)


def client_pseudonym(kind: str, value: str | None, secret: str) -> str | None:
    """An opaque, stable name for a client (an address, a chat user) that lock-outs and limits can
    count by without storing who it is: ``ip:<hash>`` or ``tg:<hash>``."""
    return f"{kind}:{identity_token.keyed_hash(value, secret, 'client', 20)}" if value else None


def words(app, response: str) -> str:
    """The text of ``response`` in the domain the running Rasa server loaded (its first variation with
    a text), or the built-in words when that domain has none."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    responses = getattr(getattr(agent, "domain", None), "responses", None) or {}
    for variation in responses.get(response) or []:
        text = variation.get("text") if isinstance(variation, dict) else None
        if isinstance(text, str) and text.strip():
            return text
    return FALLBACK_WORDS[response]


async def tracker_of(app, sender_id: str):
    """The conversation's tracker from the running Rasa server's store, or None."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    if agent is None or agent.tracker_store is None:
        return None
    try:
        return await agent.tracker_store.retrieve(sender_id)
    except Exception:  # noqa: BLE001 - the store being down must not take the channel with it
        log.exception("conversation %s could not be read from the tracker store", sender_id[:8])
        return None


def _holds(tracker, message_id: str | None) -> bool:
    return tracker is not None and message_id is not None and any(
        getattr(event, "message_id", None) == message_id for event in reversed(tracker.events))


async def is_stored(app, sender_id: str, message_id: str | None) -> bool:
    """True when the tracker store holds the user message ``message_id`` of this conversation (a
    turn that failed may have failed before the message was saved, or after)."""
    return _holds(await tracker_of(app, sender_id), message_id)


@dataclass(frozen=True)
class Unanswered:
    """What a channel still owes the customer after a turn: ``not_taken`` (the message is not in
    the tracker store: send it again) or ``no_reply`` (it is saved, but nothing was said)."""

    code: str
    text: str


async def unanswered(app, sender_id: str, message_id: str | None, replies_sent: int,
                     failed: bool = False) -> Unanswered | None:
    """The one decision every channel makes after a turn that ``failed`` (raised) or ended with no
    reply: "send it again" unless the tracker store holds the message, "your message is saved"
    when it does and nobody answered. A turn can end without an error and still not be stored:
    Rasa's fail-safe wrapper answers from an empty tracker and keeps the turn in memory when the
    store is away. None when the customer heard back, or an agent holds the conversation."""
    if replies_sent and not failed:
        return None
    tracker = await tracker_of(app, sender_id)
    if not _holds(tracker, message_id):
        return Unanswered("not_taken", words(app, NOT_TAKEN_RESPONSE))
    if replies_sent or tracker.is_paused():
        return None
    return Unanswered("no_reply", words(app, NO_REPLY_RESPONSE))
