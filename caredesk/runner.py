"""``caredesk run``: prepare the database and model, start the action and Rasa servers, and
stop both on Ctrl-C."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from sqlalchemy.engine import make_url

from caredesk.training import model_path
from common.settings import Settings

START_TIMEOUT_S = 240
# Sanic reads SANIC_REQUEST_MAX_SIZE from the environment (its default is 100 MB). The channels'
# own limits are far smaller; this one bounds what the Rasa server reads before any of them runs.
RASA_MAX_BODY_BYTES = 1024 * 1024


TRACKER_STORE = "bot.tracker_store.RedactingSQLTrackerStore"  # Rasa's SQL store, storing redacted events


def _tracker_store(url: str) -> dict:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"type": TRACKER_STORE, "dialect": "sqlite", "db": parsed.database}
    store = {"type": TRACKER_STORE, "dialect": "postgresql", "url": parsed.host, "db": parsed.database}
    if parsed.port:
        store["port"] = parsed.port
    if parsed.username:
        store["username"] = parsed.username
    if parsed.password:
        store["password"] = parsed.password
    return store


def endpoints_config(settings: Settings) -> dict:
    """Rasa's endpoints: actions (with the action server's token), tracker store, and at scale the
    Redis lock store and RabbitMQ."""
    config: dict = {
        "action_endpoint": {"url": settings.action_url,
                            "headers": {"Authorization": f"Bearer {settings.action_server_token}"}},
        "tracker_store": _tracker_store(settings.tracker_store_url),
    }
    if settings.redis_url:
        redis = urlsplit(settings.redis_url)
        # Rasa's Redis lock store, patient with a Redis that is briefly away (bot/lock_store.py).
        config["lock_store"] = {"type": "bot.lock_store.PatientRedisLockStore", "url": redis.hostname,
                                "port": redis.port or 6379, "db": int(redis.path.lstrip("/") or 0)}
        if redis.password:
            config["lock_store"]["password"] = redis.password
    if settings.rabbitmq_url:
        broker = urlsplit(settings.rabbitmq_url)
        config["event_broker"] = {"type": "pika", "url": broker.hostname,
                                  "port": broker.port or 5672,
                                  "username": broker.username or "guest",
                                  "password": broker.password or "guest",
                                  "queues": [settings.rabbitmq_queue]}
    return config


def write_endpoints(settings: Settings) -> Path:
    path = settings.var_dir / "endpoints.yml"
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints_config(settings), sort_keys=False), encoding="utf-8")
    path.chmod(0o600)  # holds the action server's token, may hold database passwords
    return path


def write_credentials(settings: Settings) -> Path:
    """The channels Rasa opens: credentials.yml, plus the callback channel when configured."""
    channels = yaml.safe_load((settings.project_dir / "credentials.yml").read_text(encoding="utf-8")) or {}
    channels.pop("socketio", None)  # the web channel below owns /socket.io
    channels["bot.channels.web.WebChatChannel"] = {"allowed_origins": list(settings.web_allowed_origins)}
    if settings.redis_url:
        channels["bot.channels.web.WebChatChannel"]["redis_url"] = settings.redis_url
    if settings.callback_url:
        channels["bot.channels.rest.CallbackChannel"] = {"url": settings.callback_url}
    if settings.telegram_token:
        channels["bot.channels.telegram.TelegramChannel"] = {
            "token": settings.telegram_token, "secret_token": settings.telegram_secret,
            "api_base_url": settings.telegram_api_url}
    path = settings.var_dir / "credentials.yml"
    path.write_text(yaml.safe_dump(channels, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)  # may hold the bot token
    return path


def _die_with_parent() -> None:
    """Linux: children get SIGTERM if the runner itself is killed."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)  # this service's additions to the environment
    process: subprocess.Popen | None = None

    def start(self, cwd: Path, env: dict) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command, cwd=cwd, env={**env, **self.env}, stdout=log,
                                        stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        log.close()

    def exit_code(self) -> int | None:
        """None while the process runs (or before it is started), else the code it ended with."""
        return None if self.process is None else self.process.poll()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 25) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def services(settings: Settings, endpoints: Path, credentials: Path, demo: bool = False) -> list[Service]:
    """What ``caredesk run`` starts. No secret is ever an argument (every user can read a command
    line): the action server and the Rasa launcher read their tokens from the settings."""
    python = sys.executable
    logs = settings.var_dir / "logs"
    actions = Service(
        "action server",
        [python, "-m", "caredesk.action_server", "--port", str(settings.action_port)],
        f"http://{settings.host}:{settings.action_port}/health",
        logs / "actions.log",
    )
    rasa = Service(
        "Rasa server",
        [python, "-m", "caredesk.rasa_launcher", "run", "--model", str(model_path(settings.models_dir)),
         "--endpoints", str(endpoints), "--credentials", str(credentials),
         "--interface", settings.host, "--port", str(settings.rasa_port),
         "--cors", *settings.web_allowed_origins, "--enable-api"],
        f"http://{settings.host}:{settings.rasa_port}/",
        logs / "rasa.log",
        env={"SANIC_REQUEST_MAX_SIZE": str(RASA_MAX_BODY_BYTES)},
    )
    agent_api = Service(
        "Agent console",
        [python, "-m", "bot.console.app", "--port", str(settings.agent_api_port)],
        f"http://{settings.host}:{settings.agent_api_port}/health",
        logs / "agent_api.log",
    )
    shop = Service(
        "Demo shop",
        [python, "-m", "bot.shop.app", "--port", str(settings.shop_port)],
        f"http://{settings.host}:{settings.shop_port}/health",
        logs / "shop.log",
        env={"CAREDESK_DEMO_LOGIN": "1"} if demo else {},
    )
    return [actions, rasa, agent_api, shop]


def child_environment(settings: Settings) -> dict:
    return {
        **os.environ,
        "CAREDESK_PROJECT_DIR": str(settings.project_dir),
        "CAREDESK_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.database_url,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


class StartupFailed(RuntimeError):
    pass


def start_all(settings: Settings, demo: bool = False) -> list[Service]:
    """Start every service and wait until each answers its health check; ``demo`` switches the
    shop's demo login on."""
    endpoints = write_endpoints(settings)
    credentials = write_credentials(settings)
    return start_services(settings, services(settings, endpoints, credentials, demo))


def start_services(settings: Settings, started: list[Service]) -> list[Service]:
    """Start these services in order and wait until each answers its health check."""
    env = child_environment(settings)
    for service in started:
        service.start(settings.project_dir, env)
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = list(started)
    while pending:
        for service in list(pending):
            if service.exit_code() is not None:
                stop_all(started)
                raise StartupFailed(f"{service.name} exited during start-up "
                                    f"(log {service.log_path}):\n{service.log_tail()}")
            if service.healthy():
                pending.remove(service)
        if time.monotonic() > deadline:
            stop_all(started)
            names = ", ".join(s.name for s in pending)
            raise StartupFailed(f"{names} did not become healthy within {START_TIMEOUT_S} s")
        time.sleep(0.5)
    return started


def stop_all(started: list[Service]) -> None:
    for service in reversed(started):
        service.stop()


RESTARTS_ALLOWED, RESTART_WINDOW_S = 3, 300.0


class RestartBudget:
    """A service that dies is started again, but not more than ``allowed`` times in ``window`` seconds."""

    def __init__(self, allowed: int = RESTARTS_ALLOWED, window: float = RESTART_WINDOW_S):
        self.allowed, self.window = allowed, window
        self._times: dict[str, list[float]] = {}

    def take(self, name: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        recent = [t for t in self._times.get(name, []) if now - t < self.window]
        if len(recent) >= self.allowed:
            self._times[name] = recent
            return False
        self._times[name] = recent + [now]
        return True


def serve_forever(settings: Settings, started: list[Service]) -> int:
    """Block until Ctrl-C / SIGTERM; a service that dies is restarted (within a budget), then
    everything is stopped."""
    stopping = {"signal": None}

    def _handle(signum, _frame):
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)
    budget, env = RestartBudget(), child_environment(settings)
    try:
        while stopping["signal"] is None:
            for service in started:
                code = service.exit_code()
                if code is None:
                    continue
                if not budget.take(service.name):
                    print(f"\n{service.name} stopped unexpectedly {RESTARTS_ALLOWED + 1} times in "
                          f"{RESTART_WINDOW_S / 60:.0f} minutes; giving up (log {service.log_path}):\n"
                          f"{service.log_tail()}", file=sys.stderr, flush=True)
                    return 1
                print(f"{service.name} stopped unexpectedly (exit code {code}); restarting it "
                      f"(log {service.log_path}).", file=sys.stderr, flush=True)
                service.start(settings.project_dir, env)
            time.sleep(0.5)
        print("\nStopping ...", flush=True)
        return 0
    finally:
        stop_all(started)
        print("All CareDesk processes stopped.", flush=True)


def banner(settings: Settings, started: list[Service]) -> str:
    rows = [
        ("Demo shop + chat widget", f"{settings.shop_url}/"),
        ("Rasa server (REST)", f"{settings.rasa_url}/webhooks/rest/webhook"),
        ("Web chat (socket.io)", f"{settings.rasa_url}/socket.io"),
        ("Action server", f"http://{settings.host}:{settings.action_port}/webhook (the Rasa server's, with a token)"),
        ("Agent console", f"{settings.console_base_url}/ (people: caredesk users add NAME --role agent|admin)"),
        ("Agent API", f"{settings.console_base_url}/api/queue (personal tokens: caredesk users)"),
        ("CRM database", make_url(settings.database_url).render_as_string(hide_password=True)),
        ("Conversations", make_url(settings.tracker_store_url).render_as_string(hide_password=True)),
        ("Logs", str(settings.var_dir / "logs")),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["", "CareDesk is running:"] + [f"  {name:<{width}}  {where}" for name, where in rows]
    example = """-d '{"sender":"me","message":"hi"}'"""
    lines += ["", f"Try: curl -s -X POST {settings.rasa_url}/webhooks/rest/webhook "
              f"-H 'Content-Type: application/json' {example}", "Press Ctrl-C to stop.", ""]
    return "\n".join(lines)
