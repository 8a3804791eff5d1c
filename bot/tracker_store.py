"""The tracker store: Rasa's SQL store (SQLite or PostgreSQL), except that what it writes and what it
streams to the event broker carry no personal data.

During a turn Rasa keeps the tracker in memory, so the actions of that turn see the message as the
customer wrote it (the verify form gets the e-mail it checks). Only when the turn is saved does
each new event go out, as a redacted copy: customer and bot text, the parsed text and its
entities, every slot the customer fills (only MACHINE_SLOTS, which our actions set, are kept as
they are) and message metadata (only the keys below survive; the channel's identity keeps the
customer id and loses its signature). The next
turn starts from the stored, redacted events, as does everything that reads the store (web chat
history, the agent API's transcript, ``caredesk customer forget``).

Which events are new is Rasa's decision, unchanged: ``SQLTrackerStore.save`` counts the events
stored since the last session start and writes the tracker's events after that many;
``stream_events`` does the same count against a fresh ``retrieve``. Both count events, never
compare their content, so redacted copies in the database are neither written twice nor missed.

Rasa loads this class by module path from ``endpoints.yml`` (``type:
bot.tracker_store.RedactingSQLTrackerStore``) and passes the other keys (dialect, db, port,
username, password) to ``SQLTrackerStore``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.exc import InterfaceError, OperationalError

from crm_store.privacy import ADDRESS, EMAIL, redact

log = logging.getLogger(__name__)
T = TypeVar("T")
# How long a read or save waits for the database (a restart); the turn fails after that.
DATABASE_PATIENCE_S = 30.0
DATABASE_AWAY = (OperationalError, InterfaceError)

CONTACT = "[contact]"
# Slots whose whole value is personal data, and what the stored copy says instead.
PERSONAL_SLOTS = {"email": EMAIL, "new_contact": CONTACT, "new_address": ADDRESS}
# Slots only our actions set, with values no customer typed (the chat proof must survive as it is).
# Every other slot holds something the customer typed (an entity, free text) and is redacted.
MACHINE_SLOTS = ("verified", "next_step", "pending_action", "form_outcome", "confirmed", "issue_kind",
                 "escalated_ticket", "fallback_count", "requested_slot",
                 "change_preview",  # masked by crm_store.services._changes for the confirmation question
                 "order_in_focus", "product_in_focus")  # a reference and SKUs the CRM gave (actions/focus.py)
# Rasa copies the first message's metadata into this slot when a session starts.
SESSION_METADATA_SLOT = "session_started_metadata"
# Metadata keys that are stored: Rasa's own, and ours (bot/channels). "identity" keeps only "cid".
KEPT_METADATA = ("model_id", "assistant_id", "utter_action", "client", "chat_type", "agent")
ENTITY_TYPES_HIDDEN = {"email": EMAIL}
MIN_HIDDEN_VALUE = 3  # shorter slot values are not searched for in the text ("NL")
MIN_HIDDEN_NUMBER = 7  # digits of a number value that may be a phone or card number


def redacted_metadata(metadata: Any) -> dict:
    """The metadata that may be stored: a whitelist, the identity's customer id, the display text redacted."""
    if not isinstance(metadata, dict):
        return {}
    kept = {key: metadata[key] for key in KEPT_METADATA if key in metadata}
    identity = metadata.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("cid"), int):
        kept["identity"] = {"cid": identity["cid"]}
    if isinstance(metadata.get("display"), str):
        kept["display"] = redact(metadata["display"])
    return kept


def _hide(text: Any, values: Iterable[tuple[str, str]]) -> Any:
    """``text`` redacted, and each known personal value in it (an e-mail entity, the text that
    filled an address slot) replaced by its placeholder, even where the patterns would miss it.
    Values given as JSON (``/inform{"order_ref": [...]}``) are redacted inside; long numbers too."""
    if isinstance(text, list):
        return [_hide(item, values) for item in text]
    if isinstance(text, dict):
        return {key: _hide(item, values) for key, item in text.items()}
    if isinstance(text, int) and not isinstance(text, bool) and len(str(abs(text))) >= MIN_HIDDEN_NUMBER:
        return redact(str(text))
    if not isinstance(text, str):
        return text
    for value, placeholder in values:
        text = text.replace(value, placeholder)
    return redact(text)


def _redacted_entities(entities: Any, values) -> Any:
    if not isinstance(entities, list):
        return entities
    redacted = []
    for entity in entities:
        if isinstance(entity, dict):
            entity = dict(entity)
            hidden = ENTITY_TYPES_HIDDEN.get(entity.get("entity"))
            entity["value"] = hidden if hidden and entity.get("value") else _hide(entity.get("value"), values)
            entity.pop("text", None)
        redacted.append(entity)
    return redacted


def personal_values(events: Iterable[dict]) -> list[tuple[str, str]]:
    """The personal values these events name (slots holding contact details, e-mail entities),
    longest first, each with its placeholder."""
    found: dict[str, str] = {}
    for event in events:
        if event.get("event") == "slot" and event.get("name") in PERSONAL_SLOTS:
            value = event.get("value")
            if isinstance(value, str) and len(value.strip()) >= MIN_HIDDEN_VALUE:
                found[value.strip()] = PERSONAL_SLOTS[event["name"]]
        for entity in (event.get("parse_data") or {}).get("entities") or []:
            if not isinstance(entity, dict) or entity.get("entity") not in ENTITY_TYPES_HIDDEN:
                continue
            if isinstance(entity.get("value"), str) and entity["value"]:
                found[entity["value"]] = ENTITY_TYPES_HIDDEN[entity["entity"]]
    return sorted(found.items(), key=lambda item: -len(item[0]))


def redacted_event(event: dict, values: Iterable[tuple[str, str]] = ()) -> dict:
    """A copy of one event (as Rasa serialises it) fit to be stored or streamed."""
    values = list(values)
    copy = dict(event)
    if "metadata" in copy:
        copy["metadata"] = redacted_metadata(copy["metadata"])
    if "text" in copy:
        copy["text"] = _hide(copy["text"], values)
    if isinstance(copy.get("parse_data"), dict):
        parse = dict(copy["parse_data"])
        parse["text"] = _hide(parse.get("text"), values)
        parse["entities"] = _redacted_entities(parse.get("entities"), values)
        if "metadata" in parse:
            parse["metadata"] = redacted_metadata(parse["metadata"])
        copy["parse_data"] = parse
    if "entities" in copy:
        copy["entities"] = _redacted_entities(copy["entities"], values)
    if copy.get("event") == "slot":
        copy["value"] = _redacted_slot(copy.get("name"), copy.get("value"), values)
    return copy


def _redacted_slot(name: Any, value: Any, values) -> Any:
    if value is None:
        return None
    if name in PERSONAL_SLOTS:
        return PERSONAL_SLOTS[name]
    if name == SESSION_METADATA_SLOT:
        return redacted_metadata(value)
    if name in MACHINE_SLOTS:
        return value
    return _hide(value, values)


def redacted_events(events: Iterable[dict]) -> list[dict]:
    """Redacted copies of one turn's events (a value that fills a personal slot in the turn is
    hidden wherever it appears in the turn, e.g. in the message that gave it)."""
    events = list(events)
    values = personal_values(events)
    return [redacted_event(event, values) for event in events]


class RedactingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that writes and streams redacted copies of the new events, and waits for
    a database that is briefly away.

    Rasa wraps every tracker store in ``FailSafeTrackerStore``: a read that fails returns no tracker
    (the turn starts a new conversation) and a save that fails keeps the tracker in memory only, so
    during a PostgreSQL restart the customer was answered and the turn was never stored, and once
    the database was back a tracker rebuilt from nothing saved nothing (``save`` counts the events
    already stored). Reads and saves are tried again (sleeping in between, up to
    :data:`DATABASE_PATIENCE_S`) while the database does not answer; a save is safe to repeat, as it
    writes only the events beyond those stored."""

    async def _patiently(self, attempt: Callable[[], Awaitable[T]]) -> T:
        deadline, wait = time.monotonic() + DATABASE_PATIENCE_S, 0.2
        while True:
            try:
                return await attempt()
            except DATABASE_AWAY as exc:
                if time.monotonic() + wait > deadline:
                    raise
                log.warning("the tracker store does not answer (%s); trying again in %.1f s",
                            str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__,
                            wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 2.0)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._patiently(lambda: super(RedactingSQLTrackerStore, self).retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return await self._patiently(
            lambda: super(RedactingSQLTrackerStore, self).retrieve_full_tracker(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self._patiently(lambda: self._save(tracker))

    async def _save(self, tracker: DialogueStateTracker) -> None:
        """Stream, then store, the events this tracker has beyond those already stored
        (as ``SQLTrackerStore.save``, with each event's dict redacted before it is written)."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            new = [event.as_dict() for event in self._additional_events(session, tracker)]
            for data in redacted_events(new):
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=data["event"],
                    timestamp=data.get("timestamp"),
                    intent_name=((data.get("parse_data") or {}).get("intent") or {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                ))
            session.commit()

    async def _stream_new_events(self, event_broker: EventBroker, new_events: list[Event], sender_id: str) -> None:
        """Publish redacted copies of the new events (Rasa's ``TrackerStore._stream_new_events`` shape)."""
        for data in redacted_events(event.as_dict() for event in new_events):
            event_broker.publish({"sender_id": sender_id, **data})
