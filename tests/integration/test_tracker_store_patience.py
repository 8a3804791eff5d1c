"""The tracker store waits out a database that is briefly away (a PostgreSQL restart) instead of
letting Rasa's fail-safe wrapper forget the conversation or keep the turn in memory only."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import OperationalError

from bot import tracker_store as module
from bot.tracker_store import RedactingSQLTrackerStore


@pytest.fixture
def store(tmp_path):
    store = RedactingSQLTrackerStore(domain=Domain.load("domain.yml"), dialect="sqlite", db=str(tmp_path / "t.db"))
    yield store
    store.engine.dispose()


def _away(times: int, real):
    calls = {"n": 0}

    async def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return await real(*args, **kwargs)

    return flaky, calls


async def test_a_save_and_a_read_are_tried_again_until_the_database_answers(store, monkeypatch):
    tracker = DialogueStateTracker("api:someone", [])
    tracker.update(UserUttered("hi", message_id="m-1"))
    flaky_save, saves = _away(2, store._save)
    monkeypatch.setattr(store, "_save", flaky_save)
    await store.save(tracker)
    assert saves["n"] == 3

    flaky_retrieve, reads = _away(2, store._retrieve_latest_session)
    monkeypatch.setattr(store, "_retrieve_latest_session", flaky_retrieve)
    kept = await store.retrieve("api:someone")
    assert reads["n"] == 3
    assert [e.message_id for e in kept.events if isinstance(e, UserUttered)] == ["m-1"]


async def test_a_save_repeated_after_a_lost_answer_stores_each_event_once(store):
    tracker = DialogueStateTracker("api:someone", [])
    tracker.update(UserUttered("hi", message_id="m-1"))
    await store.save(tracker)
    await store.save(tracker)  # as a retry after the commit's answer was lost
    kept = await store.retrieve("api:someone")
    assert [e.message_id for e in kept.events if isinstance(e, UserUttered)] == ["m-1"]


async def test_a_database_away_longer_than_the_patience_fails_the_turn(store, monkeypatch):
    monkeypatch.setattr(module, "DATABASE_PATIENCE_S", 0.5)
    flaky, _ = _away(10**6, store._save)
    monkeypatch.setattr(store, "_save", flaky)
    with pytest.raises(OperationalError):
        await store.save(DialogueStateTracker("api:someone", []))
