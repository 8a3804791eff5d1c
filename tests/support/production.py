"""``caredesk run --production`` started from a test: its environment (fresh ports, keys, a
RabbitMQ queue of its own), the process and its output, and a handle on the running system. The
production-mode e2e test and the scale tests (tests/scale) share it."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from caredesk.harness import free_port, post_json

PROJECT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 300


class Production:
    def __init__(self, process: subprocess.Popen, lines: list[str], env: dict[str, str], var_dir: Path):
        self.process, self.lines, self.env, self.var_dir = process, lines, env, var_dir

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}/webhooks/rest/webhook"

    def say(self, sender: str, message: str) -> list[dict]:
        """A message from anyone over public REST (conversation ``rest:<sender>``)."""
        return post_json(self.rest_url, {"sender": sender, "message": message}, timeout=120)

    def say_trusted(self, sender: str, message: str) -> list[dict]:
        """A message from an integration with a REST key (conversation ``api:<sender>``): no
        per-address limit, so several conversations may come from this one address at once."""
        return post_json(self.rest_url, {"sender": sender, "message": message}, timeout=120,
                         headers={"Authorization": f"Bearer {self.env['REST_API_KEYS']}"})

    def rasa_ports(self) -> list[int]:
        return [int(p) for p in self.env["RASA_BACKEND_PORTS"].split(",")]

    def action_ports(self) -> list[int]:
        return [int(p) for p in self.env["ACTION_BACKEND_PORTS"].split(",")]

    def upstreams_of_rest_calls(self) -> list[int]:
        """The Rasa server port nginx sent each REST message to (its access log)."""
        log = (self.var_dir / "nginx" / "logs" / "access.log").read_text()
        calls = r'"POST /webhooks/rest/webhook[^"]*" 200 .*upstream=[\d.]+:(\d+)'
        return [int(port) for port in re.findall(calls, log)]


def run_production(env: dict[str, str]) -> tuple[subprocess.Popen, list[str], threading.Event]:
    process = subprocess.Popen([sys.executable, "-m", "caredesk.cli", "run", "--production"], cwd=PROJECT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    return process, lines, ready


def production_environment(var_dir: Path, models_dir: Path, database_url: str, queue: str,
                           redis_url: str = "redis://127.0.0.1:6379/4") -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in (
        "DATABASE_URL", "TRACKER_STORE_URL", "REDIS_URL", "RABBITMQ_URL", "CAREDESK_CALLBACK_URL",
        "CAREDESK_DEMO_LOGIN", "REST_API_KEYS", "TELEGRAM_BOT_TOKEN")}
    ports = [free_port() for _ in range(8)]
    return {
        **inherited,
        "CAREDESK_ENV": "production", "CAREDESK_VAR_DIR": str(var_dir), "CAREDESK_PROJECT_DIR": str(PROJECT),
        "CAREDESK_MODELS_DIR": str(models_dir),
        "CAREDESK_SECRET_KEY": secrets.token_urlsafe(48), "RASA_API_TOKEN": secrets.token_urlsafe(24),
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32), "REST_API_KEYS": secrets.token_urlsafe(32),
        "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672", "RABBITMQ_QUEUE": queue,
        "RASA_PORT": str(ports[0]), "ACTION_PORT": str(ports[1]), "AGENT_API_PORT": str(ports[2]),
        "SHOP_PORT": str(ports[3]), "RASA_BACKEND_PORTS": f"{ports[4]},{ports[5]}",
        "ACTION_BACKEND_PORTS": f"{ports[6]},{ports[7]}", "CAREDESK_REST_RATE_LIMIT": "1000",
    }


async def delete_queue(name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672", timeout=10)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


def copy_suite_model(folder: Path) -> Path:
    """``folder`` holding the suite's trained model (trained into the suite's models folder if its
    inputs changed) and its fingerprint, so `caredesk run` does not train again."""
    from caredesk.training import MODEL_NAME, model_path, train

    suite_models = Path(os.environ.get("CAREDESK_MODELS_DIR") or PROJECT / "models")
    trained = train(PROJECT, suite_models, quiet=True)
    shutil.copyfile(trained, model_path(folder))
    shutil.copyfile(suite_models / f"{MODEL_NAME}.fingerprint", folder / f"{MODEL_NAME}.fingerprint")
    return folder


def skip_unless_nginx() -> None:
    from caredesk.production import InfrastructureMissing, nginx_binary

    try:
        nginx_binary()
    except InfrastructureMissing as exc:
        pytest.skip(str(exc))


def start_production(env: dict[str, str], var_dir: Path) -> Production:
    """``caredesk run --production`` with ``env``, once it says it is running (or the test fails
    with its output and the tails of its logs)."""
    process, lines, ready = run_production(env)
    started = time.monotonic()
    while not ready.wait(1):
        if process.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
            process.kill()
            logs = "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-1500:]
                             for p in sorted((var_dir / "logs").glob("*.log")))
            pytest.fail("caredesk run --production did not come up:\n" + "".join(lines[-40:]) + logs)
    return Production(process, lines, env, var_dir)


def stop_production(production: Production, queue: str) -> None:
    production.process.send_signal(signal.SIGINT)
    try:
        production.process.wait(60)
    finally:
        if production.process.poll() is None:
            production.process.kill()
        asyncio.run(delete_queue(queue))
