"""Reading a conversation's latest session from the tracker store (SQLite and PostgreSQL): our store
reads only the rows stored since it last read the conversation, and must return exactly what
Rasa's own ``SQLTrackerStore.retrieve`` returns from the same database -- across turns written by
another process (a second Rasa server), a new session, a forgotten conversation whose id comes back,
and more conversations than it keeps."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import replace

import pytest
import sqlalchemy.event
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import EventVerbosity
from sqlalchemy import text

import bot.tracker_store as tracker_store_module
from bot.tracker_store import RedactingSQLTrackerStore

MESSAGES = itertools.count()


@pytest.fixture
def two_servers(tracker_store_url, tmp_path, monkeypatch):
    """Two stores on one database, as two Rasa servers build them from ``caredesk run``'s endpoints."""
    from rasa.core.tracker_store import create_tracker_store
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from caredesk.runner import endpoints_config
    from common.settings import load_settings

    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    settings = replace(load_settings(), tracker_store_url=tracker_store_url)
    endpoint = EndpointConfig.from_dict(endpoints_config(settings)["tracker_store"])
    domain = Domain.load("domain.yml")
    stores = [create_tracker_store(endpoint, domain) for _ in range(2)]
    assert all(isinstance(store, RedactingSQLTrackerStore) for store in stores)
    yield stores
    for store in stores:
        store.engine.dispose()


def _turn(tracker, number: int) -> None:
    tracker.update(UserUttered(f"message {number}", {"name": "greet", "confidence": 0.9}))
    tracker.update(SlotSet("fallback_count", number % 3))
    if number % 4 in (0, 1):  # a loop that starts and ends, a pause and a resume: state beyond the events
        tracker.update(ActiveLoop("verify_form" if number % 4 == 0 else None))
        tracker.update(ConversationPaused() if number % 4 == 0 else ConversationResumed())
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered(f"reply {number}"))
    tracker.update(ActionExecuted("action_listen"))


async def _converse(store, sender: str, turns: int) -> None:
    """``turns`` turns as Rasa runs them: read, add the turn's events, save."""
    for _ in range(turns):
        tracker = await store.retrieve(sender) or await store.create_tracker(sender)
        _turn(tracker, next(MESSAGES))
        await store.save(tracker)


def _everything(tracker) -> dict | None:
    """The tracker as Rasa hands it on: its events and the state they give (slots, loop, pause, the
    latest message and action, the follow-up action)."""
    return None if tracker is None else tracker.current_state(EventVerbosity.ALL)


async def _as_rasa_reads_it(store, sender: str) -> list[dict] | None:
    tracker = await SQLTrackerStore.retrieve(store, sender)
    return None if tracker is None else [event.as_dict() for event in tracker.events]


async def _as_we_read_it(store, sender: str) -> list[dict] | None:
    tracker = await store.retrieve(sender)
    return None if tracker is None else [event.as_dict() for event in tracker.events]


def test_turns_written_by_another_server_are_read_as_rasa_reads_them(two_servers):
    ours, other = two_servers
    sender = "rest:reads-" + uuid.uuid4().hex[:6]

    async def scenario():
        for round_number in range(6):
            await _converse(ours if round_number % 2 else other, sender, 3)
            expected = await _as_rasa_reads_it(ours, sender)
            assert await _as_we_read_it(ours, sender) == expected
            assert await _as_we_read_it(other, sender) == expected
        return expected

    events = asyncio.run(scenario())
    assert sum(event["event"] == "user" for event in events) == 18


@pytest.mark.parametrize("patched", [False, True], ids=["rasa's tracker copy", "the Rasa server's copy"])
def test_the_tracker_read_is_in_the_state_rasas_replay_gives(two_servers, patched, monkeypatch):
    """The tracker handed out is a copy of the one kept, brought up to date with the new rows: its
    slots, loop, pause, latest message and action are those of Rasa's tracker from every row, turn
    after turn and across the two servers; and changing it changes neither what is kept nor the
    next read."""
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import rasa_patches

    if patched:
        monkeypatch.setattr(DialogueStateTracker, "copy", DialogueStateTracker.copy)
        monkeypatch.setattr(DialogueStateTracker, "copy", rasa_patches.tracker_copy)
    ours, other = two_servers
    sender = "rest:state-" + uuid.uuid4().hex[:6]

    async def scenario():
        for round_number in range(12):
            await _converse(ours if round_number % 3 else other, sender, 1 + round_number % 2)
            expected = _everything(await SQLTrackerStore.retrieve(ours, sender))
            read = await ours.retrieve(sender)
            assert _everything(read) == expected
            read.update(SlotSet("fallback_count", 99))  # the caller's own
            read.update(ActiveLoop("cancel_form"))
            assert _everything(await ours.retrieve(sender)) == expected
            assert _everything(await other.retrieve(sender)) == expected

    asyncio.run(scenario())


def test_a_new_session_is_read_from_its_start(two_servers):
    ours, other = two_servers
    sender = "rest:session-" + uuid.uuid4().hex[:6]

    async def scenario():
        await _converse(ours, sender, 4)
        assert len(await _as_we_read_it(ours, sender)) > 20
        tracker = await other.retrieve(sender)
        time.sleep(0.01)  # Rasa cuts the session by timestamp
        for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
            tracker.update(event)
        _turn(tracker, 99)
        await other.save(tracker)
        return await _as_we_read_it(ours, sender), await _as_rasa_reads_it(ours, sender)

    ours_read, rasa_read = asyncio.run(scenario())
    assert ours_read == rasa_read
    assert ours_read[0]["event"] == "session_started"
    assert [event.get("text") for event in ours_read if event["event"] == "user"] == ["message 99"]


def test_a_forgotten_conversation_is_not_read_from_memory_when_its_id_comes_back(two_servers):
    """``caredesk customer forget`` deletes the rows from another process; the new conversation with
    the same id (SQLite may even give the new rows the deleted ids) must not show the old turns."""
    ours, other = two_servers
    sender = "rest:forget-" + uuid.uuid4().hex[:6]

    async def scenario():
        await _converse(ours, sender, 3)
        old = await _as_we_read_it(ours, sender)
        assert len(old) > 10
        with other.engine.begin() as connection:
            connection.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": sender})
        assert await _as_we_read_it(ours, sender) is None
        await _converse(other, sender, 1)
        return old, await _as_we_read_it(ours, sender), await _as_rasa_reads_it(ours, sender)

    old, ours_read, rasa_read = asyncio.run(scenario())
    assert ours_read == rasa_read
    said = [event.get("text") for event in ours_read if event["event"] == "user"]
    assert len(said) == 1 and said[0] not in [event.get("text") for event in old]


def test_a_row_deleted_behind_the_store_is_noticed_even_if_sqlite_reuses_its_id(two_servers):
    ours, other = two_servers
    sender = "rest:reuse-" + uuid.uuid4().hex[:6]

    async def scenario():
        await _converse(ours, sender, 2)
        await _as_we_read_it(ours, sender)
        with other.engine.begin() as connection:  # the rows go, and a stranger's turn is written
            connection.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": sender})
        await _converse(other, sender, 2)
        return await _as_we_read_it(ours, sender), await _as_rasa_reads_it(ours, sender)

    ours_read, rasa_read = asyncio.run(scenario())
    assert ours_read == rasa_read
    assert sum(event["event"] == "user" for event in ours_read) == 2


def test_more_conversations_than_it_keeps_are_still_read_right(two_servers, monkeypatch):
    ours, other = two_servers
    monkeypatch.setattr(tracker_store_module, "CACHED_EVENTS", 40)
    senders = [f"rest:many-{uuid.uuid4().hex[:6]}-{n}" for n in range(5)]

    async def scenario():
        for round_number in range(3):
            for sender in senders:
                await _converse(ours if round_number != 1 else other, sender, 2)
        return [(await _as_we_read_it(ours, s), await _as_rasa_reads_it(ours, s)) for s in senders]

    for ours_read, rasa_read in asyncio.run(scenario()):
        assert ours_read == rasa_read
        assert sum(event["event"] == "user" for event in ours_read) == 6
    assert 0 < ours._cached_events <= 40 or len(ours._sessions) == 1
    assert ours._cached_events == sum(len(kept.events) for kept in ours._sessions.values())


def test_a_later_turn_reads_only_the_rows_stored_since(two_servers):
    """The cost of a read follows the new rows, not the conversation: a stored row the store has
    read is not parsed again (here, a row changed behind its back keeps the value first read, while
    Rasa's full read sees the change)."""
    ours, _ = two_servers
    sender = "rest:cost-" + uuid.uuid4().hex[:6]

    async def scenario():
        await _converse(ours, sender, 3)
        first = [event.get("text") for event in await _as_we_read_it(ours, sender) if event["event"] == "user"][0]
        with ours.engine.begin() as connection:
            connection.execute(text("UPDATE events SET data = replace(data, :t, 'changed') "
                                    "WHERE sender_id = :s AND type_name = 'user'"), {"s": sender, "t": first})
        await _converse(ours, sender, 1)
        return first, await _as_we_read_it(ours, sender), await _as_rasa_reads_it(ours, sender)

    first, ours_read, rasa_read = asyncio.run(scenario())
    assert first in [event.get("text") for event in ours_read]
    assert "changed" in [event.get("text") for event in rasa_read]
    assert ours_read[-6:] == rasa_read[-6:]


def test_a_save_writes_exactly_the_events_beyond_those_stored(two_servers):
    """The count of stored events comes from the rows kept: after turns by another server, a new
    session and a forgotten conversation it must equal Rasa's count in the database."""
    ours, other = two_servers
    sender = "rest:count-" + uuid.uuid4().hex[:6]

    def counts_agree(tracker) -> None:
        with ours.session_scope() as session:
            expected = len(list(SQLTrackerStore._additional_events(ours, session, tracker)))
            assert len(list(ours._additional_events(session, tracker))) == expected

    async def scenario():
        await _converse(ours, sender, 2)
        tracker = await ours.retrieve(sender)
        counts_agree(tracker)
        await _converse(other, sender, 2)  # the tracker in hand is now behind the database
        counts_agree(tracker)
        _turn(tracker, next(MESSAGES))
        counts_agree(tracker)
        fresh = await ours.retrieve(sender)
        _turn(fresh, next(MESSAGES))
        counts_agree(fresh)
        await ours.save(fresh)
        time.sleep(0.01)
        for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
            fresh.update(event)
        counts_agree(fresh)
        await other.save(fresh)
        counts_agree(fresh)
        with other.engine.begin() as connection:
            connection.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": sender})
        counts_agree(fresh)
        return await _as_we_read_it(ours, sender), await _as_rasa_reads_it(ours, sender)

    ours_read, rasa_read = asyncio.run(scenario())
    assert ours_read == rasa_read is None


def test_session_starts_stored_without_timestamps_are_read_as_rasa_reads_them(two_servers):
    """Rasa's cut is the latest session start's timestamp (SQL ``max``, which skips NULL): with two
    session_started rows without a timestamp Rasa reads every row; the store must not fail."""
    ours, other = two_servers
    sender = "rest:nullstart-" + uuid.uuid4().hex[:6]

    async def scenario():
        tracker = await other.create_tracker(sender)
        for event in (SessionStarted(), ActionExecuted("action_listen")):
            tracker.update(event)
        _turn(tracker, 1)
        for event in (SessionStarted(), ActionExecuted("action_listen")):
            tracker.update(event)
        _turn(tracker, 2)
        await other.save(tracker)
        with other.engine.begin() as connection:
            connection.execute(text("UPDATE events SET timestamp = NULL WHERE sender_id = :s AND type_name = :t"),
                               {"s": sender, "t": "session_started"})
        return await _as_we_read_it(ours, sender), await _as_rasa_reads_it(ours, sender)

    ours_read, rasa_read = asyncio.run(scenario())
    assert ours_read == rasa_read


@pytest.mark.parametrize("tracker_store_url", ["sqlite"], indirect=True)
def test_a_sqlite_save_is_not_held_up_by_a_reader_and_commits_durably(two_servers, tracker_store_url, monkeypatch):
    """The embedded default keeps the tracker store in a SQLite file that the console and the
    reports read while the Rasa server writes. In SQLite's rollback-journal mode a reader's open
    transaction locks the writer out ("database is locked"; the save waited, blocking the Rasa
    server's event loop); in WAL mode a reader does not block the writer, and a commit writes the
    log once instead of syncing the journal and the database. Commits stay fully synced."""
    import sqlite3

    ours, _ = two_servers
    monkeypatch.setattr(tracker_store_module, "DATABASE_PATIENCE_S", 0.0)
    sender = "rest:wal-" + uuid.uuid4().hex[:6]
    asyncio.run(_converse(ours, sender, 1))
    reader = sqlite3.connect(tracker_store_url.removeprefix("sqlite:///"), timeout=0.5, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0] > 0
    try:
        asyncio.run(_converse(ours, sender, 2))  # rollback-journal mode: OperationalError, database is locked
    finally:
        reader.execute("COMMIT")
        reader.close()
    with ours.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    assert sum(event["event"] == "user" for event in asyncio.run(_as_we_read_it(ours, sender))) == 3


@pytest.mark.parametrize("tracker_store_url", ["sqlite"], indirect=True)
def test_sqlite_turns_reuse_the_stores_connection(two_servers):
    """SQLAlchemy 1.4 opens a SQLite file anew for every session (NullPool): each read and save of a
    turn opened the file, read its schema and, closing the last connection of a WAL database, ran a
    checkpoint (12% of the Rasa server's samples under 20 conversations). The store keeps its
    connections."""
    ours, _ = two_servers
    sender = "rest:pool-" + uuid.uuid4().hex[:6]
    asyncio.run(_converse(ours, sender, 1))
    opened = []
    sqlalchemy.event.listen(ours.engine, "connect", lambda *_: opened.append(1))
    asyncio.run(_converse(ours, sender, 5))
    assert opened == []
    assert sum(event["event"] == "user" for event in asyncio.run(_as_we_read_it(ours, sender))) == 6


@pytest.mark.parametrize("tracker_store_url", ["sqlite"], indirect=True)
def test_forgetting_while_a_reader_holds_an_old_snapshot_does_not_report_success(two_servers, tracker_store_url):
    """Forgetting a customer deletes her conversations and folds the WAL back (8ff5f65). A reader
    still in a transaction begun before the delete (the console, the reports) keeps the checkpoint
    from completing: SQLite answers busy without an error, and the conversation stayed in the log
    and the database's old pages while the forget reported success. (Before WAL, the delete itself
    failed with "database is locked".) It fails instead, and a rerun once the reader is gone erases
    it from the files."""
    import sqlite3
    from pathlib import Path

    from crm_store import errors
    from crm_store.services.privacy import erase_conversations

    ours, _ = two_servers
    sender = "rest:forget-" + uuid.uuid4().hex[:6]
    asyncio.run(_converse(ours, sender, 2))
    path = Path(tracker_store_url.removeprefix("sqlite:///"))

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())

    assert sender.encode() in on_disk()
    reader = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0] > 0
    try:
        with pytest.raises(errors.CareDeskError):
            erase_conversations(tracker_store_url, 999_999, {sender}, dry_run=False)
    finally:
        reader.execute("COMMIT")
        reader.close()
    erase_conversations(tracker_store_url, 999_999, {sender}, dry_run=False)
    assert sender.encode() not in on_disk()
