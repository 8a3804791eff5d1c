"""A whole CareDesk on one machine for the e2e tests and the benchmarks: `caredesk run` on free
loopback ports with its own var/ and CRM, and the small HTTP helpers that talk to it.

Not used by the running assistant; it lives here (not under tests/) so the benchmarks need not
import the test suite.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_json(url: str, payload: dict[str, Any], timeout: float = 30, headers: dict[str, str] | None = None) -> Any:
    """POST ``payload`` as JSON and return the decoded answer (None for an empty body)."""
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

    def __init__(self, process: subprocess.Popen[str], var_dir: Path, rasa_port: int, action_port: int,
                 agent_port: int, lines: list[str], shop_port: int | None = None):
        self.process, self.var_dir, self.lines = process, var_dir, lines
        self.rasa_port, self.action_port, self.agent_port = rasa_port, action_port, agent_port
        self.shop_port = shop_port
        self.database_url = f"sqlite:///{var_dir / 'crm.db'}"
        self.secret: str | None = None  # CAREDESK_SECRET_KEY when the caller set one

    @property
    def shop_url(self) -> str:
        return f"http://127.0.0.1:{self.shop_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    def say(self, sender: str, message: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """A message from a trusted integration (the REST key): its conversation may verify in chat."""
        payload: dict[str, Any] = {"sender": sender, "message": message}
        if metadata is not None:
            payload["metadata"] = metadata
        return post_json(self.rest_url, payload, timeout=60, headers={"Authorization": f"Bearer {self.rest_key()}"})

    def say_public(self, sender: str, message: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """A message from anyone over public REST (no key): general answers only."""
        payload: dict[str, Any] = {"sender": sender, "message": message}
        if metadata is not None:
            payload["metadata"] = metadata
        return post_json(self.rest_url, payload, timeout=60)

    def rest_key(self) -> str:
        return (self.var_dir / "rest_api_key").read_text().strip()

    def secret_key(self) -> str:
        """The key the stack signs with (set for it, or made at its first start under var/)."""
        return self.secret or (self.var_dir / "secret_key").read_text().strip()

    def api_token(self) -> str:
        return (self.var_dir / "rasa_api_token").read_text().strip()


def kill_action_server(stack: Stack) -> None:
    """The action server goes away mid-conversation (SIGKILL, as a crash would)."""
    subprocess.run(["pkill", "-KILL", "-f", f"caredesk.action_server --port {stack.action_port}"], check=True)


def wait_for_action_server(stack: Stack, timeout: float = 90) -> None:
    """Until `caredesk run` has started the action server again and it answers its health check."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{stack.action_port}/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("the action server was not restarted") from None
            time.sleep(0.5)


def start_stack(var_dir: Path, customers: int = 30, extra_env: dict[str, str] | None = None, timeout: float = 900,
                demo: bool = True) -> Stack:
    """`caredesk run` (with ``--demo`` unless told otherwise: demo data and the shop's demo login)."""
    project = PROJECT_DIR
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

    def _read() -> None:
        assert process.stdout is not None  # stdout=PIPE
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
    """Ctrl-C, as an operator would; the exit code of `caredesk run`."""
    stack.process.send_signal(signal.SIGINT)
    return stack.process.wait(60)
