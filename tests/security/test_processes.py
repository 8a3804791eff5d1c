"""What `caredesk run` starts shows no secret to other users, listens on loopback only, and brings
demo data and the demo login only when asked (issue 9, findings 3 and 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from caredesk.harness import start_stack, stop_stack
from crm_store.seed import is_empty
from tests.security.conftest import command_line, descendants, listening_addresses

pytestmark = pytest.mark.e2e
PROJECT = Path(__file__).resolve().parents[2]
SECRET_FILES = ("rasa_api_token", "action_server_token", "secret_key", "rest_api_key")


def secrets_of(stack) -> dict[str, str]:
    found = {name: (stack.var_dir / name).read_text().strip() for name in SECRET_FILES
             if (stack.var_dir / name).exists()}
    assert "rasa_api_token" in found
    return found


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_no_secret_is_on_any_command_line(stack):
    processes = descendants(stack.process.pid)
    lines = {pid: " ".join(command_line(pid)) for pid in [stack.process.pid, *processes]}
    for name, secret in secrets_of(stack).items():
        assert len(secret) >= 24
        assert not [pid for pid, line in lines.items() if secret in line], f"{name} is on a command line"
    assert not [pid for pid, line in lines.items() if "--auth-token" in line]
    started = " | ".join(lines.values())
    for module in ("caredesk.action_server", "caredesk.rasa_launcher", "bot.console.app", "bot.shop.app"):
        assert module in started  # the check above saw every service


def test_no_secret_is_written_to_the_logs(stack):
    stack.say("log-check", "hello")  # some traffic through Rasa and the action server first
    logs = {path.name: path.read_text(errors="replace") for path in (stack.var_dir / "logs").glob("*.log")}
    assert {"rasa.log", "actions.log"} <= set(logs)
    for name, secret in secrets_of(stack).items():
        assert not [log for log, text in logs.items() if secret in text], f"{name} is in a log"


def test_the_rasa_api_still_needs_the_token_the_launcher_passed_in(stack):
    status_url = f"http://127.0.0.1:{stack.rasa_port}/status"
    assert get(status_url)[0] == 401
    assert get(f"{status_url}?token=wrong")[0] == 401
    assert get(f"{status_url}?token={stack.api_token()}")[0] == 200


def test_every_service_listens_on_loopback_only(stack):
    for port in (stack.rasa_port, stack.action_port, stack.agent_port, stack.shop_port):
        assert listening_addresses(port) == {"127.0.0.1"}, port


def test_rasa_admits_only_the_shops_origin(stack):
    root = f"http://127.0.0.1:{stack.rasa_port}/"
    _, shop, _ = get(root, {"Origin": stack.shop_url})
    _, evil, _ = get(root, {"Origin": "https://evil.example"})
    assert shop.get("Access-Control-Allow-Origin") == stack.shop_url
    assert "Access-Control-Allow-Origin" not in evil


def test_rasa_reads_at_most_a_megabyte(stack):
    # The HTTP API has no size check of its own (the REST channel has; it refuses long messages).
    url = f"http://127.0.0.1:{stack.rasa_port}/conversations/big/tracker/events?token={stack.api_token()}"
    body = json.dumps({"event": "no-such-event", "padding": "a" * (2 * 1024 * 1024)}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413


def test_demo_data_and_the_demo_login_are_on_with_demo(stack):
    assert not is_empty(stack.database_url)
    assert 'id="login"' in get(stack.shop_url + "/")[2].decode()


def test_without_demo_an_empty_crm_stays_empty_and_there_is_no_demo_login(tmp_path):
    bare = start_stack(tmp_path, demo=False, timeout=600)
    try:
        output = "".join(bare.lines)
        assert "Seeding" not in output and "caredesk run --demo" in output
        assert is_empty(bare.database_url)
        page = get(bare.shop_url + "/")[2].decode()
        assert 'id="login"' not in page and "Not logged in" in page
        request = urllib.request.Request(bare.shop_url + "/login", data=b"customer_id=1", method="POST",
                                         headers={"Origin": bare.shop_url})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 404
    finally:
        assert stop_stack(bare) == 0


def test_production_refuses_demo_before_touching_anything(tmp_path):
    env = {**os.environ, "CAREDESK_ENV": "production", "CAREDESK_VAR_DIR": str(tmp_path),
           "CAREDESK_SECRET_KEY": "p" * 48, "RASA_API_TOKEN": "r" * 32, "ACTION_SERVER_TOKEN": "a" * 32,
           "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/never"}
    env.pop("CAREDESK_DEMO_LOGIN", None)
    done = subprocess.run([sys.executable, "-m", "caredesk.cli", "run", "--demo"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--demo" in done.stderr and "never in production" in done.stderr
    assert "Seeding" not in done.stdout + done.stderr and not (tmp_path / "logs").exists()
