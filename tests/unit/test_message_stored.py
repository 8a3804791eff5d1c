"""bot/channels/conversations: whether a turn's message reached the tracker store, so every channel
says "your message is saved" only when it is (else "send it again"; 503 on REST)."""

from __future__ import annotations

from types import SimpleNamespace

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.conversations import (
    NO_REPLY,
    NO_REPLY_RESPONSE,
    NOT_TAKEN,
    NOT_TAKEN_RESPONSE,
    is_stored,
    unanswered,
    words,
)


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


async def test_a_turn_without_a_reply_is_saved_or_not_taken_by_what_the_store_holds():
    tracker = DialogueStateTracker("api:someone", [])
    tracker.update(UserUttered("hi", message_id="m-1"))
    assert (await unanswered(_app(tracker), "api:someone", "m-1", 0)).code == "no_reply"
    assert (await unanswered(_app(tracker), "api:someone", "m-2", 0)).code == "not_taken"
    assert (await unanswered(_app(fails=True), "api:someone", "m-1", 0)).code == "not_taken"
    assert (await unanswered(_app(tracker), "api:someone", "m-2", 1, failed=True)).code == "not_taken"


async def test_nothing_more_is_said_when_the_customer_heard_back_or_an_agent_holds_the_conversation():
    tracker = DialogueStateTracker("api:someone", [])
    tracker.update(UserUttered("hi", message_id="m-1"))
    assert await unanswered(_app(fails=True), "api:someone", "m-1", 2) is None  # answered: no read at all
    assert await unanswered(_app(tracker), "api:someone", "m-1", 1, failed=True) is None
    tracker.update(ConversationPaused())
    assert await unanswered(_app(tracker), "api:someone", "m-1", 0) is None


def test_the_words_come_from_the_loaded_domain_and_the_built_in_ones_only_when_it_lacks_them():
    shop = Domain.from_dict({"responses": {"utter_not_taken": [{"text": "Please send that again."}]}})
    app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(domain=shop)))
    assert words(app, NOT_TAKEN_RESPONSE) == "Please send that again."
    assert words(app, NO_REPLY_RESPONSE) == NO_REPLY  # a model trained before the response was added
    no_model = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(domain=None)))
    assert words(no_model, NOT_TAKEN_RESPONSE) == NOT_TAKEN
