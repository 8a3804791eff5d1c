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
