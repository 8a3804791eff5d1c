"""bot/channels/conversations.is_stored: whether a failed turn's message reached the tracker store,
so the REST channel says "your message is saved" only when it is (else 503 "send it again")."""

from __future__ import annotations

from types import SimpleNamespace

from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.conversations import is_stored


def _app(tracker=None, fails: bool = False):
    async def retrieve(_sender_id):
        if fails:
            raise ConnectionError("the database is away")
        return tracker

    store = SimpleNamespace(retrieve=retrieve)
    return SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=store)))


async def test_a_message_in_the_tracker_store_is_stored():
    tracker = DialogueStateTracker("api:someone", [])
    tracker.update(UserUttered("hi", message_id="m-1"))
    assert await is_stored(_app(tracker), "api:someone", "m-1")
    assert not await is_stored(_app(tracker), "api:someone", "m-2")


async def test_nothing_is_stored_when_the_store_cannot_be_read_or_holds_no_conversation():
    assert not await is_stored(_app(fails=True), "api:someone", "m-1")
    assert not await is_stored(_app(None), "api:someone", "m-1")
    assert not await is_stored(SimpleNamespace(), "api:someone", "m-1")
