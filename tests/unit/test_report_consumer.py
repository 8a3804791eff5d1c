"""The report consumer when one conversation cannot be refreshed: the others must not wait for it
forever, a database that is away must not lose anything, and the log names nobody."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from caredesk import report_consumer, reports
from caredesk.report_consumer import ReportConsumer

BAD = "api:alice@example.com"


class Message:
    def __init__(self, sender: str):
        self.body = json.dumps({"sender_id": sender, "timestamp": 1.0, "event": "user"}).encode()
        self.acked = False

    async def ack(self):
        self.acked = True


@pytest.fixture
def consumer(monkeypatch):
    monkeypatch.setattr(report_consumer, "RETRY_PAUSE_S", 0, raising=False)
    made = ReportConsumer(SimpleNamespace(tracker_store_url="sqlite://"))
    monkeypatch.setattr(made, "due", lambda: list(made.pending))
    made.refreshed_ids = []
    return made


def failing_for(consumer, monkeypatch, error):
    def refresh(settings, ids, events, engine=None):
        if BAD in ids:
            raise error
        consumer.refreshed_ids += ids

    monkeypatch.setattr(reports, "refresh", refresh)


def test_a_conversation_that_always_fails_holds_up_nobody_and_is_given_up(consumer, monkeypatch, caplog):
    failing_for(consumer, monkeypatch, ValueError(f"cannot derive {BAD}"))
    bad, good = Message(BAD), Message("rest:bob")
    consumer.take(bad)
    consumer.take(good)
    caplog.set_level(logging.INFO, "caredesk.report_consumer")
    asyncio.run(consumer.flush())
    assert good.acked and consumer.refreshed_ids == ["rest:bob"]  # not held up by the other
    assert not bad.acked and BAD in consumer.pending
    for _ in range(20):
        asyncio.run(consumer.flush())
    assert bad.acked and not consumer.pending  # given up: no endless retry, the queue moves on
    assert "alice" not in caplog.text and "example.com" not in caplog.text


def test_a_database_that_is_away_loses_nothing(consumer, monkeypatch):
    failing_for(consumer, monkeypatch, OperationalError("SELECT", {}, Exception("connection refused")))
    bad = Message(BAD)
    consumer.take(bad)
    for _ in range(20):
        asyncio.run(consumer.flush())
    assert not bad.acked and BAD in consumer.pending


class Announced:
    """A broker message announcing one event of a conversation at a given time."""

    def __init__(self, sender: str, stamp: float):
        self.body = json.dumps({"sender_id": sender, "timestamp": stamp, "event": "user"}).encode()
        self.acked = False

    async def ack(self):
        self.acked = True


def test_a_turn_announced_while_its_conversation_is_refreshed_is_refreshed_again(tmp_path, monkeypatch):
    """Rasa announces a turn, then stores it. When the next turn is announced while the refresh of
    the previous one reads the stored events (and stored just after that read), its message must
    not be acknowledged with that refresh: no later turn may come to refresh the conversation again,
    so its report rows would count one message fewer than the tracker store for good."""
    import threading

    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = create_engine(url, future=True)
    with store.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp FLOAT)"))

    def save(stamp: float) -> None:
        with store.begin() as connection:
            connection.execute(text("INSERT INTO events (sender_id, timestamp) VALUES ('rest:bob', :t)"), {"t": stamp})

    consumer = ReportConsumer(SimpleNamespace(tracker_store_url=url))
    reported: list[int] = []  # the stored events each refresh saw
    second = Announced("rest:bob", 2.0)

    def refresh(settings, ids, events, engine=None):
        with store.connect() as connection:
            reported.append(connection.execute(text("SELECT count(*) FROM events")).scalar_one())
        if len(reported) == 1:  # the next turn is announced now, and stored after this read
            taken = threading.Event()

            def arrive():
                consumer.take(second)
                taken.set()

            loop.call_soon_threadsafe(arrive)
            assert taken.wait(5)
            save(2.0)

    monkeypatch.setattr(reports, "refresh", refresh)

    async def run():
        nonlocal loop
        loop = asyncio.get_running_loop()
        first = Announced("rest:bob", 1.0)
        consumer.take(first)
        save(1.0)
        await consumer.flush()
        assert first.acked
        await consumer.flush()

    loop = None
    asyncio.run(run())
    consumer.engine.dispose()
    assert reported == [1, 2]  # refreshed again once the second turn was stored
    assert second.acked and not consumer.pending
