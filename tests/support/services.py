"""The machine's Redis and RabbitMQ for the e2e tests at scale: start them if they are down (as
the machine starts them), or skip the test when they cannot run here."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ensure_service(name: str, port: int, command: list[str], wait_s: float) -> None:
    """Start the machine's service if it is down; skip if it can't be."""
    if listening(port):
        return
    if shutil.which(command[0]) is None:
        pytest.skip(f"{name} is not installed")
    subprocess.run(command, check=False, capture_output=True, timeout=120)
    deadline = time.monotonic() + wait_s
    while not listening(port):
        if time.monotonic() > deadline:
            pytest.skip(f"{name} could not be started")
        time.sleep(0.5)


def ensure_redis() -> None:
    _ensure_service("Redis", 6379, ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
                                    "--save", "", "--appendonly", "no"], 10)


def ensure_rabbitmq() -> None:
    _ensure_service("RabbitMQ", 5672, ["rabbitmq-server", "-detached"], 60)
