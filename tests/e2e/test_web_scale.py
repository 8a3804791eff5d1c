"""At scale, as the README describes it: PostgreSQL for the CRM and the conversations, Redis as the
lock store and for the web chat's sockets, RabbitMQ as the event broker, and two Rasa servers.

A customer's socket is held by one server while the agent's message is handed to the other; Redis
carries it across (python-socketio's Redis manager)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from caredesk.harness import free_port, start_stack, stop_stack
from caredesk.webchat_client import WebChat
from common import identity_token
from tests.support.services import ensure_rabbitmq, ensure_redis

pytestmark = pytest.mark.e2e
PROJECT = Path(__file__).resolve().parents[2]
SECRET = "web-scale-test-secret-0123456789abcdef"
REDIS_URL = "redis://127.0.0.1:6379/3"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672"
QUEUE = "caredesk_events"


async def _broker_events(purge: bool = False) -> list[dict]:
    """What the event broker's queue holds (and drains it)."""
    import aio_pika

    connection = await aio_pika.connect_robust(RABBITMQ_URL, timeout=10)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(QUEUE, durable=True)
        if purge:
            await queue.purge()
            return []
        events = []
        while (message := await queue.get(no_ack=True, fail=False, timeout=5)) is not None:
            events.append(json.loads(message.body))
        return events


@pytest.fixture(scope="module")
def postgres_databases():
    """Fresh PostgreSQL databases for the CRM and the tracker store."""
    import uuid

    from tests.support.postgres import admin_execute, database_url, ensure_postgres

    reason = ensure_postgres()
    if reason:
        pytest.skip(reason)
    names = [f"caredesk_scale_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("crm", "tracker")]
    for name in names:
        admin_execute(f"CREATE DATABASE {name}")
    yield [database_url(name) for name in names]
    for name in names:
        admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory, postgres_databases):
    ensure_redis()
    ensure_rabbitmq()
    asyncio.run(_broker_events(purge=True))
    crm_url, tracker_url = postgres_databases
    folder = tmp_path_factory.mktemp("scale")
    stack = start_stack(folder, extra_env={
        "CAREDESK_SECRET_KEY": SECRET, "REDIS_URL": REDIS_URL, "RABBITMQ_URL": RABBITMQ_URL,
        "DATABASE_URL": crm_url, "TRACKER_STORE_URL": tracker_url})
    second_port = free_port()
    env = {**os.environ, "CAREDESK_VAR_DIR": str(folder), "CAREDESK_PROJECT_DIR": str(PROJECT),
           "CAREDESK_SECRET_KEY": SECRET, "REDIS_URL": REDIS_URL, "RASA_TELEMETRY_ENABLED": "false",
           "DATABASE_URL": stack.database_url}
    second = subprocess.Popen(
        [sys.executable, "-m", "rasa", "run", "--model", str(PROJECT / "models" / "caredesk.tar.gz"),
         "--endpoints", str(folder / "endpoints.yml"), "--credentials", str(folder / "credentials.yml"),
         "--interface", "127.0.0.1", "--port", str(second_port), "--enable-api",
         f"--auth-token={stack.api_token()}"],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{second_port}/", timeout=2):
                break
        except OSError:
            assert second.poll() is None and time.monotonic() < deadline, "the second Rasa server did not start"
            time.sleep(0.5)
    yield stack, second_port
    second.terminate()
    second.wait(30)
    stop_stack(stack)


def test_everything_runs_on_the_scale_services(two_servers):
    stack, _ = two_servers
    import yaml

    channels = yaml.safe_load((stack.var_dir / "credentials.yml").read_text())
    endpoints = yaml.safe_load((stack.var_dir / "endpoints.yml").read_text())
    assert channels["bot.channels.web.WebChatChannel"]["redis_url"] == REDIS_URL
    assert endpoints["lock_store"]["type"] == "bot.lock_store.PatientRedisLockStore"  # Redis, waiting out an outage
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["event_broker"]["type"] == "pika"
    assert stack.database_url.startswith("postgresql://") and "Seeded 30 customers" in "".join(stack.lines)


def test_an_agent_message_given_to_the_other_server_reaches_the_customers_socket(two_servers):
    stack, second_port = two_servers

    async def scenario():
        async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url) as chat:
            session, _ = await chat.session(token=identity_token.issue(1, SECRET, identity_token.CHAT_IDENTITY))
            session = "web:" + identity_token.keyed_hash(session, SECRET, "web-session")  # the tracker's id
            await chat.turn("hi")
            events = json.dumps([{"event": "bot", "text": "Sam here, from the other server.",
                                  "metadata": {"agent": "Sam"}}]).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{second_port}/conversations/{session}/tracker/events"
                f"?output_channel=latest&execute_side_effects=true&token={stack.api_token()}",
                data=events, method="POST", headers={"Content-Type": "application/json"})
            await asyncio.to_thread(urllib.request.urlopen, request, None, 30)
            message = await chat.until("bot_uttered", lambda m: "other server" in (m.get("text") or ""), timeout=20)
            return message, session

    delivered, session = asyncio.run(scenario())
    assert delivered["from"] == "agent" and delivered["agent"] == "Sam"

    # Both servers wrote to the one PostgreSQL tracker store, and the broker saw the conversation.
    url = f"http://127.0.0.1:{stack.rasa_port}/conversations/{session}/tracker?token={stack.api_token()}"
    with urllib.request.urlopen(url, timeout=30) as response:
        texts = [e.get("text") for e in json.loads(response.read())["events"] if e["event"] in ("user", "bot")]
    assert "hi" in texts and "Sam here, from the other server." in texts
    published = [e for e in asyncio.run(_broker_events()) if e.get("sender_id") == session]
    assert {"user", "bot"} <= {e.get("event") for e in published}
