"""Production mode's deployment files under attack: the generated nginx configuration run for real
in front of a dummy backend, which listen addresses production mode gives its internal servers,
and the example environment files' placeholders."""

from __future__ import annotations

import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sanic.headers import parse_xforwarded

from caredesk import production
from common.settings import SettingsError, load_settings

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLES = [PROJECT / "deploy" / "systemd" / "caredesk.env.example",
            PROJECT / "deploy" / "compose" / "caredesk.env.example"]
SECRETS = ("CAREDESK_SECRET_KEY", "RASA_API_TOKEN", "ACTION_SERVER_TOKEN")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def prod_env(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "TRACKER_STORE_URL", "REDIS_URL", "RABBITMQ_URL", "RASA_URL", "ACTION_SERVER_URL",
                 "REST_API_KEYS", "CAREDESK_PREVIOUS_SECRET_KEYS", "CAREDESK_DEMO_LOGIN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CAREDESK_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://caredesk:pw@127.0.0.1:5432/caredesk")
    for name in SECRETS:
        monkeypatch.setenv(name, secrets.token_urlsafe(48))
    return monkeypatch


def example_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_left_as_the_examples_placeholder_is_refused(prod_env, example, name):
    """An operator who copies the example and forgets one secret must not start with a value
    anybody can read in this repository (the secret key's placeholder is longer than 32 characters)."""
    placeholder = example_values(example)[name]
    prod_env.setenv(name, placeholder)
    with pytest.raises(SettingsError, match=name):
        load_settings()
    prod_env.setenv(name, placeholder.replace("'", ""))  # systemd's EnvironmentFile= drops the quotes
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_internal_servers_stay_on_loopback_when_nginx_listens_on_every_interface(prod_env, tmp_path):
    """CAREDESK_HOST=0.0.0.0 is how an operator opens the chat to the network. nginx should listen
    there; the Rasa servers behind it must not: they take the client's address from X-Forwarded-For
    (SANIC_PROXIES_COUNT=1), so anybody reaching one directly names any address they like and
    escapes the per-address limits."""
    prod_env.setenv("CAREDESK_HOST", "0.0.0.0")
    settings = load_settings()
    config = production.render_nginx(settings)
    assert f"listen 0.0.0.0:{settings.rasa_port};" in config
    servers = re.findall(r"^\s*server (\S+):\d+ ", config, re.MULTILINE)
    assert servers and set(servers) == {"127.0.0.1"}, servers
    started = production.services(settings, tmp_path / "e.yml", tmp_path / "c.yml", tmp_path / "n.conf")
    for service in started:
        if service.name.startswith("Rasa server"):
            assert service.command[service.command.index("--interface") + 1] == "127.0.0.1"
        if service.name.startswith("action server"):
            assert service.env.get("CAREDESK_HOST") == "127.0.0.1"


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps({"x-forwarded-for": self.headers.get_all("X-Forwarded-For") or []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def nginx_in_front(prod_env, tmp_path):
    """The generated nginx.conf run by a real nginx, every Rasa and action server a dummy backend
    that echoes the X-Forwarded-For it received."""
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("nginx is not installed")
    backends = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo) for _ in range(4)]
    for server in backends:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports = [str(server.server_address[1]) for server in backends]
    prod_env.setenv("CAREDESK_HOST", "127.0.0.1")
    prod_env.setenv("RASA_PORT", str(free_port()))
    prod_env.setenv("ACTION_PORT", str(free_port()))
    prod_env.setenv("RASA_BACKEND_PORTS", ",".join(ports[:2]))
    prod_env.setenv("ACTION_BACKEND_PORTS", ",".join(ports[2:]))
    settings = load_settings()
    conf = production.write_nginx(settings)
    prefix = production.nginx_prefix(settings)
    nginx = subprocess.Popen([production.nginx_binary(), "-p", str(prefix), "-e", "logs/error.log", "-c", str(conf),
                              "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{settings.rasa_port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"{base}/", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline or nginx.poll() is not None:
                nginx.kill()
                raise
            time.sleep(0.1)
    yield base, prefix
    nginx.terminate()
    nginx.wait(10)
    for server in backends:
        server.shutdown()


class SanicConfig:
    REAL_IP_HEADER = None
    PROXIES_COUNT = 1  # what the Rasa servers run with behind nginx
    FORWARDED_FOR_HEADER = "X-Forwarded-For"


class Headers:
    def __init__(self, values: list[str]):
        self.values = values

    def getall(self, name):
        if not self.values:
            raise KeyError(name)
        return self.values

    def getone(self, name, default=None):
        return default


def test_a_spoofed_forwarded_for_does_not_change_the_address_the_rasa_server_sees(nginx_in_front):
    base, _ = nginx_in_front
    request = urllib.request.Request(f"{base}/webhooks/rest/webhook",
                                     headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.9"})
    received = json.loads(urllib.request.urlopen(request, timeout=5).read())["x-forwarded-for"]
    seen = parse_xforwarded(Headers(received), SanicConfig)
    assert seen and seen["for"] == "127.0.0.1", received


def test_nginx_logs_neither_the_api_token_nor_client_addresses_nor_conversation_ids(nginx_in_front):
    """The console calls Rasa's HTTP API through nginx with ?token=...; socket.io's query carries
    the session id. The access log must not keep them, nor who the client is."""
    base, prefix = nginx_in_front
    token = secrets.token_urlsafe(24)
    for path in (f"/conversations/api:alice@example.com/tracker?token={token}",
                 f"/socket.io/?EIO=4&transport=polling&sid={token}"):
        urllib.request.urlopen(f"{base}{path}", timeout=5).read()
    time.sleep(0.3)
    log = (prefix / "logs" / "access.log").read_text()
    assert log.count("\n") >= 3
    assert token not in log
    assert "alice@example.com" not in log
    assert not any(line.startswith("127.0.0.1") for line in log.splitlines()), log


def _close_every_connection(listener: socket.socket) -> None:
    """A Rasa server that dies mid-request: reads the request and closes without an answer."""
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.recv(65536)


@pytest.fixture
def nginx_in_front_of_failing_servers(prod_env, tmp_path):
    """nginx as `caredesk run --production` runs it (production.nginx_service), every backend
    closing each connection without an answer: every request is an error nginx logs."""
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("nginx is not installed")
    listeners = []
    for _ in range(4):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        threading.Thread(target=_close_every_connection, args=(listener,), daemon=True).start()
        listeners.append(listener)
    ports = [str(listener.getsockname()[1]) for listener in listeners]
    prod_env.setenv("CAREDESK_HOST", "127.0.0.1")
    prod_env.setenv("RASA_PORT", str(free_port()))
    prod_env.setenv("ACTION_PORT", str(free_port()))
    prod_env.setenv("RASA_BACKEND_PORTS", ",".join(ports[:2]))
    prod_env.setenv("ACTION_BACKEND_PORTS", ",".join(ports[2:]))
    settings = load_settings()
    nginx = production.nginx_service(settings, production.write_nginx(settings))
    nginx.start(PROJECT, dict(os.environ))
    base = f"http://127.0.0.1:{settings.rasa_port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"{base}/", timeout=2).read()
        except urllib.error.HTTPError:
            break  # nginx answers (the backend did not)
        except OSError:
            if time.monotonic() > deadline or nginx.exit_code() is not None:
                nginx.stop()
                raise
            time.sleep(0.1)
    yield base, production.nginx_prefix(settings) / "logs" / "error.log"
    nginx.stop()
    for listener in listeners:
        listener.close()


def test_nginx_error_log_keeps_each_backend_failure_without_secrets_clients_or_conversation_ids(
        nginx_in_front_of_failing_servers):
    """nginx's error log line for a failed request names the client's address and quotes the whole
    request line, the upstream URL (query string included) and the Referer: the Rasa API's ?token=,
    socket.io's session id, whatever a client put in a query. The failures must be logged, and none
    of that."""
    base, error_log = nginx_in_front_of_failing_servers
    token = secrets.token_urlsafe(24)
    requests = [
        urllib.request.Request(f"{base}/webhooks/rest/webhook?token={token}", data=b'{"sender": "a", "message": "hi"}',
                               headers={"Content-Type": "application/json"}),
        urllib.request.Request(f"{base}/conversations/api:alice@example.com/tracker?token={token}"),
        urllib.request.Request(f"{base}/socket.io/?EIO=4&transport=polling&sid={token}",
                               headers={"Referer": f"http://shop.example/account?session={token}"}),
    ]
    for request in requests:
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(request, timeout=10)
        assert failed.value.code == 502
    deadline = time.monotonic() + 5
    while (log := error_log.read_text() if error_log.exists() else "").count("prematurely closed") < 4:
        assert time.monotonic() < deadline, log  # the probe of the fixture and the three requests
        time.sleep(0.1)
    for path in ("/webhooks/rest/webhook", "/conversations/-/tracker", "/socket.io/"):
        assert path in log  # which request failed stays known
    assert token not in log
    assert "alice@example.com" not in log
    assert "client: 127.0.0.1" not in log


def test_production_never_falls_back_to_the_brokers_published_guest_password(prod_env, capsys):
    """`caredesk run --production` fills in this machine's services when nothing is named; with
    CAREDESK_ENV=production it must not connect as RabbitMQ's guest:guest or as PostgreSQL's
    password-less superuser: the operator names them, or production mode says what is missing."""
    environ = {"CAREDESK_ENV": "production"}
    production.apply_defaults(environ)
    assert "guest" not in environ.get("RABBITMQ_URL", "")
    assert environ.get("DATABASE_URL", "") != production.DEFAULTS["DATABASE_URL"]
    development: dict[str, str] = {}
    production.apply_defaults(development)  # a developer's `make run-prod` still needs nothing set
    assert development["RABBITMQ_URL"] == production.DEFAULTS["RABBITMQ_URL"]


@pytest.fixture
def two_rasa_servers_channels(monkeypatch, tmp_path):
    """The REST channel as each of two Rasa servers behind nginx builds it (production mode: REDIS_URL set)."""
    from common.settings import get_settings
    from tests.support.services import ensure_redis

    try:
        ensure_redis()
    except Exception as exc:  # noqa: BLE001 - no Redis here
        pytest.skip(f"Redis cannot run here: {exc}")
    for name in ("CAREDESK_ENV", "DATABASE_URL", "TRACKER_STORE_URL", "RABBITMQ_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/6")
    monkeypatch.setenv("CAREDESK_SECRET_KEY", secrets.token_urlsafe(48))
    get_settings.cache_clear()
    from bot.channels.rest import RestChannel

    yield RestChannel(), RestChannel()
    get_settings.cache_clear()


def test_two_rasa_servers_do_not_double_the_per_address_and_per_conversation_limits(two_rasa_servers_channels):
    """nginx spreads one client's messages over every Rasa server; limits each process kept to itself
    let one address send N times the limit (measured with the real stack: 117 of 140 public
    messages a minute from one address answered, for a limit of 60)."""
    from bot.channels.rest import CLIENT_RATE_LIMIT

    first, second = two_rasa_servers_channels
    address = f"198.51.100.{secrets.randbelow(250)}"
    allowed = sum(server.clients.allow(address) for _ in range(CLIENT_RATE_LIMIT) for server in (first, second))
    assert allowed == CLIENT_RATE_LIMIT
    conversation = f"rest:{secrets.token_hex(6)}"
    allowed = sum(server.conversations.allow(conversation) for _ in range(30) for server in (first, second))
    assert allowed == 20
