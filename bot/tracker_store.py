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
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy.event
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

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
# Events of the latest sessions kept in memory between turns, over all conversations (least recently
# used conversations go first); about 1-3 KB each.
CACHED_EVENTS = 30_000


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


@dataclass
class _StoredSession:
    """The stored rows of a conversation's latest session, as one process last read them."""

    session_start: float | None  # timestamp of the latest session_started row (Rasa's cut), None if none
    first: tuple[int, float | None]  # id and timestamp of the first row read and of the last
    last: tuple[int, float | None]
    events: list[Event]
    # the tracker those events give (built once, brought up to date with each new row); never
    # handed out, only copies of it
    tracker: DialogueStateTracker | None = None


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    """SQLite in WAL mode, commits fully synced: the console and the reports read the file while
    the Rasa server writes it, and in the rollback-journal mode a reader's open transaction locked
    the writer out (the save waited, blocking the Rasa server's event loop); a commit now appends
    to the log instead of syncing a journal and the database."""
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=FULL")


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            # SQLAlchemy 1.4 opens a SQLite file anew for every session (NullPool); keep connections
            url = self.engine.url
            self.engine.dispose()
            self.engine = sqlalchemy.create_engine(url, poolclass=QueuePool, pool_size=2, max_overflow=8,
                                                   connect_args={"check_same_thread": False})
            sqlalchemy.event.listen(self.engine, "connect", _sqlite_wal)
            self.sessionmaker = sessionmaker(bind=self.engine)
        self._sessions: OrderedDict[str, _StoredSession] = OrderedDict()
        self._cached_events = 0
        row = self.SQLEvent
        # built once: SQLAlchemy keeps a statement's cache key, so a turn's read is not compiled anew
        # (building it for every read was 5% of the Rasa server's samples under load)
        self._rows_after = (
            select(row.id, row.type_name, row.timestamp, row.data)
            .where(row.sender_id == bindparam("sender_id"),
                   or_(row.id > bindparam("last"), row.id == bindparam("first"), row.id == bindparam("last")))
            .order_by(row.id))

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._patiently(lambda: self._retrieve_latest_session(sender_id))

    async def _retrieve_latest_session(self, sender_id: str) -> DialogueStateTracker | None:
        """Rasa's ``retrieve`` (the events since the latest session start, as stored), reading only
        the rows stored since this process last read the conversation.

        Rasa reads and parses every row of the session on every turn (and again for the event
        broker when a turn is saved), so a turn cost more the longer the conversation. Here the
        parsed events of each conversation's latest session are kept (least recently used dropped
        beyond :data:`CACHED_EVENTS`), and a read asks the database for the rows after the last
        one read, plus the first and last rows read, which must still be there with their
        timestamps (a forgotten conversation's rows are deleted; SQLite may give a deleted id to a
        new row). Anything else -- a new session started, a row gone, a conversation not kept --
        reads the session whole, as Rasa does. The database stays the only truth: several Rasa
        servers may write the same conversation (one at a time, under the lock store), and each
        reads what the others stored. Each tracker returned is a copy of the one the kept events
        give, built once and brought up to date with each new row instead of replaying the session
        on every read (``DialogueStateTracker.copy``, without a replay in the Rasa server:
        bot/rasa_patches.py); as with a replay, the event objects are shared."""
        if not self.domain:
            return await super().retrieve(sender_id)
        with self.session_scope() as session:
            stored = self._sessions.pop(sender_id, None)
            if stored is not None:
                stored = self._read_on(session, sender_id, stored)
            if stored is None:
                stored = self._read_whole(session, sender_id)
        if stored is None:
            return None
        self._keep(sender_id, stored)
        if stored.tracker is None:
            stored.tracker = DialogueStateTracker.from_events(sender_id, list(stored.events), self.domain.slots)
        return stored.tracker.copy()

    def _read_on(self, session: Any, sender_id: str, stored: _StoredSession) -> _StoredSession | None:
        self._cached_events -= len(stored.events)
        known = {stored.first[0], stored.last[0]}
        rows = session.execute(self._rows_after,
                               {"sender_id": sender_id, "first": stored.first[0], "last": stored.last[0]}).all()
        still_there = {(r.id, r.timestamp) for r in rows if r.id in known}
        if still_there != {stored.first, stored.last}:
            return None
        new = [r for r in rows if r.id > stored.last[0]]
        if any(r.type_name == SessionStarted.type_name for r in new):
            return None
        new = [r for r in new if stored.session_start is None or (r.timestamp or 0) >= stored.session_start]
        if new:
            events = deserialise_events([json.loads(r.data) for r in new])
            stored.events.extend(events)
            stored.last = (new[-1].id, new[-1].timestamp)
            if stored.tracker is not None:
                for event in events:
                    stored.tracker.update(event)
        return stored

    def _read_whole(self, session: Any, sender_id: str) -> _StoredSession | None:
        rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not rows:
            return None
        # Rasa's cut: SQL's max of the session starts' timestamps, which skips NULL
        starts = [r.timestamp for r in rows if r.type_name == SessionStarted.type_name and r.timestamp is not None]
        return _StoredSession(session_start=max(starts, default=None),
                              first=(rows[0].id, rows[0].timestamp), last=(rows[-1].id, rows[-1].timestamp),
                              events=deserialise_events([json.loads(r.data) for r in rows]))

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """The tracker's events beyond those stored in its latest session, as Rasa's, counting the
        stored ones from the rows kept (checked and brought up to date as a read does) instead of
        counting the session's rows in the database on every save."""
        stored = self._sessions.pop(tracker.sender_id, None)
        if stored is not None:
            stored = self._read_on(session, tracker.sender_id, stored)
        if stored is None:
            return super()._additional_events(session, tracker)
        self._keep(tracker.sender_id, stored)
        return itertools.islice(tracker.events, len(stored.events), len(tracker.events))

    def _keep(self, sender_id: str, stored: _StoredSession) -> None:
        self._sessions[sender_id] = stored
        self._cached_events += len(stored.events)
        while self._cached_events > CACHED_EVENTS and len(self._sessions) > 1:
            _, dropped = self._sessions.popitem(last=False)
            self._cached_events -= len(dropped.events)

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
