"""At scale: two Rasa servers behind one shop. A customer's socket is held by one server while the
agent's message is handed to the other; Redis carries it across (python-socketio's Redis manager),
and Redis is also the lock store both servers share."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from caredesk import identity_token
from tests.e2e.conftest import free_port, start_stack, stop_stack
from tests.e2e.webchat_client import WebChat

pytestmark = pytest.mark.e2e
PROJECT = Path(__file__).resolve().parents[2]
SECRET = "web-scale-test-secret-0123456789abcdef"
REDIS_URL = "redis://127.0.0.1:6379/3"


def _redis_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", 6379)) == 0


def ensure_redis() -> None:
    """Start the machine's Redis if it is down (as the machine starts it); skip if it can't be."""
    if _redis_up():
        return
    if shutil.which("redis-server") is None:
        pytest.skip("Redis is not installed")
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
                    "--save", "", "--appendonly", "no"], check=False)
    deadline = time.monotonic() + 10
    while not _redis_up():
        if time.monotonic() > deadline:
            pytest.skip("Redis could not be started")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    ensure_redis()
    folder = tmp_path_factory.mktemp("scale")
    stack = start_stack(folder, extra_env={"CAREDESK_SECRET_KEY": SECRET, "REDIS_URL": REDIS_URL})
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


def test_the_web_channel_and_lock_store_use_redis_when_configured(two_servers):
    stack, _ = two_servers
    import yaml

    channels = yaml.safe_load((stack.var_dir / "credentials.yml").read_text())
    endpoints = yaml.safe_load((stack.var_dir / "endpoints.yml").read_text())
    assert channels["bot.channels.web.WebChatChannel"]["redis_url"] == REDIS_URL
    assert endpoints["lock_store"]["type"] == "redis"


def test_an_agent_message_given_to_the_other_server_reaches_the_customers_socket(two_servers):
    stack, second_port = two_servers

    async def scenario():
        async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url) as chat:
            session, _ = await chat.session(token=identity_token.issue(1, SECRET))
            await chat.turn("hi")
            events = json.dumps([{"event": "bot", "text": "Sam here, from the other server.",
                                  "metadata": {"agent": "Sam"}}]).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{second_port}/conversations/{session}/tracker/events"
                f"?output_channel=latest&execute_side_effects=true&token={stack.api_token()}",
                data=events, method="POST", headers={"Content-Type": "application/json"})
            await asyncio.to_thread(urllib.request.urlopen, request, None, 30)
            return await chat.until("bot_uttered", lambda m: "other server" in (m.get("text") or ""), timeout=20)

    delivered = asyncio.run(scenario())
    assert delivered["from"] == "agent" and delivered["agent"] == "Sam"
