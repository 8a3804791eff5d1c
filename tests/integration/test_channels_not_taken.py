"""When a turn ends without a word to the customer, every channel tells the truth about their message:
"send it again" (``not_taken``) when it is not in the tracker store, "your message is saved"
(``no_reply``) only when it is.

A real Rasa agent (a rules-only model, so no NLU to train, of the project's domain and rules, with a
shop's own words for the two responses) with Rasa's own fail-safe wrapper around our tracker store on
a real SQLite database; the channels served by Sanic on a real socket, and reached as a browser,
Telegram or an integration would (socket.io client, HTTP). No action server runs, so ``/greet``
(answered by a custom action) gets no reply. "Database gone": the tracker store's directory is
removed once the agent is loaded, so every read and save fails as it would with the database server
away for longer than the store waits (its patience cut to a fraction of a second here)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
import socketio
import yaml
from rasa.core.agent import Agent
from rasa.core.channels.channel import register
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import UserUttered
from rasa.utils.endpoints import EndpointConfig
from sanic import Sanic

import bot.tracker_store as tracker_store_module
from bot.channels.rest import RestChannel
from bot.channels.telegram import TelegramChannel
from bot.channels.web import WebChatChannel
from caredesk.harness import free_port
from common.settings import get_settings
from tests.e2e.fake_telegram import FakeBotApi

PROJECT = Path(__file__).resolve().parents[2]
SECRET = "telegram-webhook-secret-for-tests"
RULES_ONLY = """recipe: default.v1
language: en
assistant_id: caredesk-channel-tests
pipeline: []
policies:
  - name: RulePolicy
"""


# A shop's own words for the two responses (domain.yml), which the channels must send, not Python's.
SHOP_NO_REPLY = "Shop words: we kept your message but could not answer yet."
SHOP_NOT_TAKEN = "Shop words: that message did not reach us, please send it again."


@pytest.fixture(scope="module")
def rules_model(tmp_path_factory) -> str:
    from rasa.model_training import train_core

    folder = tmp_path_factory.mktemp("rules-model")
    (folder / "config.yml").write_text(RULES_ONLY)
    domain = yaml.safe_load((PROJECT / "domain.yml").read_text())
    domain["responses"].update({"utter_no_reply": [{"text": SHOP_NO_REPLY}],
                                "utter_not_taken": [{"text": SHOP_NOT_TAKEN}]})
    (folder / "domain.yml").write_text(yaml.safe_dump(domain, sort_keys=False, allow_unicode=True))
    return train_core(domain=str(folder / "domain.yml"), config=str(folder / "config.yml"),
                      stories=str(PROJECT / "data" / "rules.yml"), output=str(folder), fixed_model_name="rules")


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setattr(tracker_store_module, "DATABASE_PATIENCE_S", 0.3)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class Stack:
    """The agent, its tracker store, and a Sanic app serving one channel."""

    def __init__(self, model: str, folder: Path):
        self.folder = folder / "tracker"
        self.folder.mkdir()
        self.store = TrackerStore.create(EndpointConfig(type="bot.tracker_store.RedactingSQLTrackerStore",
                                                        dialect="sqlite", db=str(self.folder / "tracker.db")))
        self.agent = Agent.load(model, tracker_store=self.store, lock_store=InMemoryLockStore())
        self.port = free_port()

    def take_the_database_away(self) -> None:
        shutil.rmtree(self.folder)
        self.store.engine.dispose()

    async def stored_messages(self, conversation: str) -> list[str]:
        tracker = await self.store.retrieve(conversation)
        return [e.text for e in tracker.events if isinstance(e, UserUttered)] if tracker else []

    @contextlib.asynccontextmanager
    async def serving(self, channel):
        Sanic.test_mode = True  # several apps in one process (Sanic rewrites its request handling once otherwise)
        app = Sanic(f"channels_{uuid.uuid4().hex[:8]}")
        app.ctx.agent = self.agent
        register([channel], app, route="/webhooks/")
        server = await app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True)
        await server.startup()
        await server.after_start()
        try:
            yield f"http://127.0.0.1:{self.port}"
        finally:
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await server.after_stop()


@pytest.fixture
def stack(rules_model, tmp_path):
    stack = Stack(rules_model, tmp_path)
    yield stack
    with contextlib.suppress(Exception):
        stack.store.engine.dispose()


async def web_turn(url: str, text: str) -> tuple[list[dict], list[dict]]:
    """(bot messages, error events) the widget gets for one message, once typing is off."""
    client = socketio.AsyncClient(reconnection=False)
    said, errors, session, done = [], [], asyncio.Event(), asyncio.Event()
    client.on("session_confirm", lambda *_: session.set())
    client.on("bot_uttered", lambda message: said.append(message))
    client.on("error", lambda error: errors.append(error))
    client.on("typing", lambda state: None if state.get("on") else done.set())
    await client.connect(url, socketio_path="/socket.io", transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": None})
        await asyncio.wait_for(session.wait(), 30)
        await client.emit("user_uttered", {"message": text})
        await asyncio.wait_for(done.wait(), 60)
        await asyncio.sleep(0.2)  # an error event emitted just before typing-off is delivered with it
    finally:
        # The client's goodbye waits for its pending long-poll (up to the 25 s ping interval): not needed here.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(client.disconnect(), 1)
    return said, errors


def group_update(chat_id: int, text: str) -> dict:
    user = {"id": 4242, "is_bot": False, "first_name": "Ana"}
    return {"update_id": int(time.time() * 1000) % 10**9, "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": chat_id, "type": "group", "title": "Shop"},
        "from": user, "text": text}}


async def telegram_turn(url: str, api: FakeBotApi, update: dict) -> list[str]:
    before = len(api.calls)
    async with aiohttp.ClientSession() as session, session.post(
            f"{url}/webhooks/caredesk_telegram/webhook", json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
        assert response.status == 200
    return [params.get("text") for params in api.sent(before)]


@pytest.fixture
def bot_api():
    api = FakeBotApi()
    yield api
    api.server.shutdown()


async def test_web_chat_says_send_it_again_when_the_message_was_not_stored(stack):
    stack.take_the_database_away()
    async with stack.serving(WebChatChannel(allowed_origins=["http://127.0.0.1"])) as url:
        said, errors = await web_turn(url, "/greet")
    assert said == []
    assert errors == [{"code": "not_taken", "message": SHOP_NOT_TAKEN}]


async def test_web_chat_says_saved_only_when_the_message_is_stored(stack):
    async with stack.serving(WebChatChannel(allowed_origins=["http://127.0.0.1"])) as url:
        said, errors = await web_turn(url, "/greet")
    assert said == []
    assert errors == [{"code": "no_reply", "message": SHOP_NO_REPLY}]
    conversations = [key for key in await stack.store.keys() if key.startswith("web:")]
    assert len(conversations) == 1 and await stack.stored_messages(conversations[0]) == ["/greet"]


async def test_telegram_says_send_it_again_when_the_message_was_not_stored(stack, bot_api):
    stack.take_the_database_away()
    async with stack.serving(TelegramChannel("123456:TEST-TOKEN", SECRET, bot_api.url)) as url:
        sent = await telegram_turn(url, bot_api, group_update(-100501, "/greet"))
    assert sent == [SHOP_NOT_TAKEN]


async def test_telegram_says_saved_only_when_the_message_is_stored(stack, bot_api):
    async with stack.serving(TelegramChannel("123456:TEST-TOKEN", SECRET, bot_api.url)) as url:
        sent = await telegram_turn(url, bot_api, group_update(-100502, "/greet"))
    assert sent == [SHOP_NO_REPLY]
    assert await stack.stored_messages("tg-group:-100502") == ["/greet"]


async def test_rest_answers_503_not_taken_when_the_message_was_not_stored(stack):
    # The turn itself does not fail here: Rasa's fail-safe wrapper answers from an empty tracker
    # and keeps the turn in memory only, so the channel must look in the store, not at an exception.
    stack.take_the_database_away()
    async with stack.serving(RestChannel()) as url, aiohttp.ClientSession() as session, session.post(
            f"{url}/webhooks/rest/webhook", json={"sender": "someone", "message": "/greet"}) as response:
        assert response.status == 503
        assert await response.json() == {"error": "not_taken", "message": SHOP_NOT_TAKEN}


async def test_rest_says_saved_only_when_the_message_is_stored(stack):
    async with stack.serving(RestChannel()) as url, aiohttp.ClientSession() as session, session.post(
            f"{url}/webhooks/rest/webhook", json={"sender": "someone", "message": "/greet"}) as response:
        assert response.status == 200
        assert await response.json() == [{"recipient_id": "rest:someone", "text": SHOP_NO_REPLY}]
    assert await stack.stored_messages("rest:someone") == ["/greet"]
