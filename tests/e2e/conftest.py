"""Helpers for end-to-end tests: real processes on free loopback ports."""

from __future__ import annotations

import json
import socket
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_json(url: str, payload: dict, timeout: float = 30, headers: dict | None = None):
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    """A running `caredesk run` (Rasa + action server) on free ports with its own CRM."""

    def __init__(self, process, var_dir, rasa_port, action_port, agent_port, lines, shop_port=None):
        self.process, self.var_dir, self.lines = process, var_dir, lines
        self.rasa_port, self.action_port, self.agent_port = rasa_port, action_port, agent_port
        self.shop_port = shop_port
        self.database_url = f"sqlite:///{var_dir / 'crm.db'}"

    @property
    def shop_url(self) -> str:
        return f"http://127.0.0.1:{self.shop_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    def say(self, sender: str, message: str, metadata: dict | None = None) -> list[dict]:
        """A message from a trusted integration (the REST key): its conversation may verify in chat."""
        payload = {"sender": sender, "message": message}
        if metadata is not None:
            payload["metadata"] = metadata
        return post_json(self.rest_url, payload, timeout=60, headers={"Authorization": f"Bearer {self.rest_key()}"})

    def say_public(self, sender: str, message: str, metadata: dict | None = None) -> list[dict]:
        """A message from anyone over public REST (no key): general answers only."""
        payload = {"sender": sender, "message": message}
        if metadata is not None:
            payload["metadata"] = metadata
        return post_json(self.rest_url, payload, timeout=60)

    def rest_key(self) -> str:
        return (self.var_dir / "rest_api_key").read_text().strip()

    def secret_key(self) -> str:
        """The key the stack signs with (set for it, or made at its first start under var/)."""
        return getattr(self, "secret", None) or (self.var_dir / "secret_key").read_text().strip()

    def api_token(self) -> str:
        return (self.var_dir / "rasa_api_token").read_text().strip()


def kill_action_server(stack) -> None:
    """The action server goes away mid-conversation (SIGKILL, as a crash would)."""
    import subprocess

    subprocess.run(["pkill", "-KILL", "-f", f"caredesk.action_server --port {stack.action_port}"], check=True)


def wait_for_action_server(stack, timeout: float = 90) -> None:
    """Until `caredesk run` has started the action server again and it answers its health check."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{stack.action_port}/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("the action server was not restarted") from None
            time.sleep(0.5)


def always_live_policy(folder):
    """A copy of the shop's policy with agents at work around the clock, so escalations pause the bot."""
    import yaml

    from crm_store.policy import DEFAULT_POLICY_FILE

    policy = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    policy["support"].update(live_days=list(range(7)), live_from_hour=0, live_until_hour=24)
    path = folder / "policy.yml"
    path.write_text(yaml.safe_dump(policy))
    return path


def start_stack(var_dir, customers: int = 30, extra_env: dict | None = None, timeout: float = 900,
                demo: bool = True) -> Stack:
    """`caredesk run` (with ``--demo`` unless told otherwise: demo data and the shop's demo login)."""
    import os
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    project = Path(__file__).resolve().parents[2]
    rasa_port, action_port, agent_port, shop_port = free_port(), free_port(), free_port(), free_port()
    inherited = {k: v for k, v in os.environ.items() if k not in (
        "DATABASE_URL", "TRACKER_STORE_URL", "CAREDESK_POLICY_FILE", "CAREDESK_CALLBACK_URL")}
    env = {**inherited, "CAREDESK_VAR_DIR": str(var_dir), "RASA_PORT": str(rasa_port),
           "ACTION_PORT": str(action_port), "AGENT_API_PORT": str(agent_port),
           "SHOP_PORT": str(shop_port),
           "CAREDESK_PROJECT_DIR": str(project), **(extra_env or {})}
    command = [sys.executable, "-m", "caredesk.cli", "run", "--customers", str(customers)]
    process = subprocess.Popen(command + (["--demo"] if demo else []),
                               cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def _read():
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                ready.set()

    threading.Thread(target=_read, daemon=True).start()
    started = time.monotonic()
    while not ready.wait(1):
        if process.poll() is not None or time.monotonic() - started > timeout:
            process.kill()
            raise RuntimeError("caredesk run did not come up:\n" + "".join(lines[-40:]))
    stack = Stack(process, var_dir, rasa_port, action_port, agent_port, lines, shop_port)
    stack.database_url = env.get("DATABASE_URL") or stack.database_url
    stack.secret = env.get("CAREDESK_SECRET_KEY")
    return stack


def stop_stack(stack: Stack) -> int:
    import signal

    stack.process.send_signal(signal.SIGINT)
    return stack.process.wait(60)
