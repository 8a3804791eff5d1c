"""``caredesk run --production``: the same processes on real infrastructure.

PostgreSQL holds the CRM and Rasa's SQL tracker store, Redis the conversation locks and the web
chat's sockets, RabbitMQ carries every stored event to the report consumer. Two or more Rasa servers
and two or more action servers run behind nginx (Debian's package, started here as an unprivileged
child process with a configuration generated under ``var/nginx``): nginx listens on the Rasa port
(REST, webhooks, socket.io, the HTTP API) and on the action port, which the Rasa servers' endpoints
point at. Every Rasa server loads the model from the one file in ``models/``;
:func:`roll_out` swaps it on one server at a time while nginx sends the others the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from caredesk.runner import (
    RASA_MAX_BODY_BYTES,
    Service,
    endpoints_config,
)
from caredesk.training import model_path
from common.settings import Settings

# What `caredesk run --production` uses when the environment names nothing (this machine's services).
DEFAULTS = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/caredesk",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672",
}
NGINX_TEMPLATE = Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "caredesk.conf.template"
CHECK_TIMEOUT_S = 5
# The Rasa and action servers behind nginx listen here whatever CAREDESK_HOST says (nginx listens
# there): a Rasa server takes the client's address from X-Forwarded-For, so one reachable directly
# would let anybody name their own address.
BACKEND_HOST = "127.0.0.1"


class InfrastructureMissing(RuntimeError):
    """A service production mode needs is not there; the message says which and how to fix it."""


def apply_defaults(environ: dict[str, str] | os._Environ = os.environ) -> dict[str, str]:
    """Fill in the infrastructure's addresses the environment leaves out (before settings are read);
    the tracker store shares the CRM's database unless TRACKER_STORE_URL names another. Returns
    what was filled in. With CAREDESK_ENV=production the database and the broker are never filled
    in: their defaults log in as PostgreSQL's password-less superuser and RabbitMQ's published
    guest:guest; the settings or the infrastructure check then say what to set."""
    defaults = DEFAULTS
    if environ.get("CAREDESK_ENV") == "production":
        defaults = {name: value for name, value in DEFAULTS.items() if name not in ("DATABASE_URL", "RABBITMQ_URL")}
    filled = {name: value for name, value in defaults.items() if not environ.get(name)}
    environ.update(filled)
    if not environ.get("TRACKER_STORE_URL") and environ.get("DATABASE_URL"):
        filled["TRACKER_STORE_URL"] = environ["TRACKER_STORE_URL"] = environ["DATABASE_URL"]
    return filled


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True) if "://" in url else url


# ---- checks before anything starts ---------------------------------------------------------------


def check_postgres(url: str) -> None:
    """Reach the database, creating it when the server answers but it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise InfrastructureMissing(f"production mode keeps data in PostgreSQL, not in {_shown(url)} "
                                    "(DATABASE_URL / TRACKER_STORE_URL)")
    try:
        engine = create_engine(url, future=True, connect_args={"connect_timeout": CHECK_TIMEOUT_S})
        with engine.connect():
            pass
        engine.dispose()
        return
    except Exception as exc:  # noqa: BLE001 - the driver's errors, reported below
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if "does not exist" not in reason:
        raise InfrastructureMissing(f"PostgreSQL at {_shown(url)} is not reachable: {reason}")
    admin = create_engine(parsed.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": CHECK_TIMEOUT_S})
    try:
        with admin.connect() as connection:
            name = parsed.database.replace('"', '""')
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        print(f"Created the PostgreSQL database {parsed.database!r}.", flush=True)
    except Exception as exc:  # noqa: BLE001
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise InfrastructureMissing(f"PostgreSQL database {parsed.database!r} does not exist and could not "
                                    f"be created ({reason}): create it, or point DATABASE_URL at one") from None
    finally:
        admin.dispose()


def check_redis(url: str) -> None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        raise InfrastructureMissing(f"Redis at {_shown(url)} is not reachable: {exc} (REDIS_URL)") from None


def check_rabbitmq(url: str) -> None:
    import aio_pika

    async def connect() -> None:
        connection = await aio_pika.connect(url, timeout=CHECK_TIMEOUT_S)
        await connection.close()

    try:
        asyncio.run(connect())
    except Exception as exc:  # noqa: BLE001 - socket, timeout and AMQP errors alike
        reason = str(exc) or type(exc).__name__
        raise InfrastructureMissing(f"RabbitMQ at {_shown(url)} is not reachable: {reason} (RABBITMQ_URL)") from None


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).exists()), None)
    if not found:
        raise InfrastructureMissing("nginx is not installed (Debian: apt-get install nginx-light; "
                                    "make install does it when run as root)")
    return found


def check_infrastructure(settings: Settings, nginx: bool = True) -> None:
    """Every outside service production mode needs answers (and nginx is installed, when it is to
    be run here), or InfrastructureMissing says which."""
    if len(settings.rasa_backend_ports) < 2 or len(settings.action_backend_ports) < 2:
        raise InfrastructureMissing("production mode runs two or more Rasa and action servers "
                                    "(RASA_BACKEND_PORTS, ACTION_BACKEND_PORTS)")
    if not settings.redis_url or not settings.rabbitmq_url:
        raise InfrastructureMissing("production mode needs REDIS_URL and RABBITMQ_URL")
    if nginx:
        nginx_binary()
    check_postgres(settings.database_url)
    if settings.tracker_store_url != settings.database_url:
        check_postgres(settings.tracker_store_url)
    check_redis(settings.redis_url)
    check_rabbitmq(settings.rabbitmq_url)


def prepare_tracker_store(settings: Settings) -> None:
    """Create the tracker store's table before the Rasa servers start (several at once would race to
    create it), as Rasa would: Rasa's own ``SQLTrackerStore`` table, whose ``sender_id`` column is
    indexed; the index is made here too in case the table came from elsewhere without it."""
    from bot.tracker_store import RedactingSQLTrackerStore

    store = endpoints_config(settings)["tracker_store"]
    store = {("host" if key == "url" else key): value for key, value in store.items() if key != "type"}
    tracker = RedactingSQLTrackerStore(**store)
    with tracker.engine.begin() as connection:
        connection.execute(text("CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)"))
    tracker.engine.dispose()


# ---- nginx ---------------------------------------------------------------------------------------


def render_nginx(settings: Settings, rasa_ports: tuple[int, ...] | None = None) -> str:
    """The nginx configuration for these settings (``rasa_ports``: the Rasa servers to send traffic
    to, all of them unless a rollout has taken one out)."""
    host = BACKEND_HOST
    rasa_ports = settings.rasa_backend_ports if rasa_ports is None else rasa_ports
    fields = {
        "listen": settings.host, "action_listen": settings.host, "rasa_port": str(settings.rasa_port),
        "action_port": str(settings.action_port), "max_body": f"{RASA_MAX_BODY_BYTES // 1024}k",
        "rasa_servers": "\n".join(f"    server {host}:{port} max_fails=1 fail_timeout=5s;" for port in rasa_ports),
        "rasa_socketio_servers": "\n".join(
            f"    server {host}:{port} max_fails=1 fail_timeout=5s{'' if port in rasa_ports else ' down'};"
            for port in settings.rasa_backend_ports),
        "action_servers": "\n".join(f"    server {host}:{port} max_fails=1 fail_timeout=5s;"
                                    for port in settings.action_backend_ports),
    }
    return fill_template(NGINX_TEMPLATE.read_text(encoding="utf-8"), fields)


def fill_template(template: str, fields: dict[str, str]) -> str:
    """``{{name}}`` replaced by each field (nginx's own ``$variables`` are left alone)."""
    def field(match: re.Match) -> str:
        if match.group(1) not in fields:
            raise KeyError(f"the nginx template needs {match.group(1)!r}")
        return fields[match.group(1)]

    return re.sub(r"\{\{(\w+)\}\}", field, template)


def nginx_prefix(settings: Settings) -> Path:
    return settings.var_dir / "nginx"


def write_nginx(settings: Settings, rasa_ports: tuple[int, ...] | None = None) -> Path:
    prefix = nginx_prefix(settings)
    for folder in ("logs", "tmp"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(render_nginx(settings, rasa_ports), encoding="utf-8")
    result = subprocess.run([nginx_binary(), "-t", "-q", "-p", str(prefix), "-e", "logs/error.log", "-c", str(path)],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise InfrastructureMissing(f"nginx refuses {path}: {result.stderr.strip()}")
    return path


def reload_nginx(settings: Settings) -> None:
    """nginx re-reads its configuration: new workers take the new upstreams, old ones finish the
    requests they hold (no request is dropped)."""
    prefix = nginx_prefix(settings)
    subprocess.run([nginx_binary(), "-p", str(prefix), "-e", "logs/error.log", "-c", str(prefix / "nginx.conf"),
                    "-s", "reload"], check=True, capture_output=True, timeout=30)


def nginx_service(settings: Settings, nginx_conf: Path) -> Service:
    """nginx in the foreground, as `caredesk run --production` runs it: its error log (``error_log
    stderr``) goes through caredesk.nginx_log, which writes ``logs/error.log`` without the client
    addresses, query strings (the Rasa API token, socket.io session ids) and conversation ids that
    nginx puts in each line about a failed request."""
    prefix = nginx_prefix(settings)
    return Service("nginx", [sys.executable, "-m", "caredesk.nginx_log", str(prefix / "logs" / "error.log"),
                             nginx_binary(), "-p", str(prefix), "-e", "stderr", "-c", str(nginx_conf),
                             "-g", "daemon off;"],
                   f"http://{settings.host}:{settings.action_port}/health", settings.var_dir / "logs" / "nginx.log")


# ---- the processes -------------------------------------------------------------------------------


class QueueConsumer(Service):
    """A process with no HTTP port: healthy once it has written its ready file."""

    ready_file: Path | None = None

    def healthy(self) -> bool:
        return self.exit_code() is None and self.ready_file is not None and self.ready_file.exists()


def services(settings: Settings, endpoints: Path, credentials: Path, nginx_conf: Path) -> list[Service]:
    python, logs, host = sys.executable, settings.var_dir / "logs", BACKEND_HOST
    started: list[Service] = []
    for number, port in enumerate(settings.action_backend_ports, 1):
        started.append(Service(f"action server {number}", [python, "-m", "caredesk.action_server", "--port", str(port)],
                               f"http://{host}:{port}/health", logs / f"actions-{number}.log",
                               env={"CAREDESK_HOST": host}))
    for number, port in enumerate(settings.rasa_backend_ports, 1):
        started.append(Service(
            f"Rasa server {number}",
            [python, "-m", "caredesk.rasa_launcher", "run", "--model", str(model_path(settings.models_dir)),
             "--endpoints", str(endpoints), "--credentials", str(credentials),
             "--interface", host, "--port", str(port), "--cors", *settings.web_allowed_origins, "--enable-api"],
            f"http://{host}:{port}/", logs / f"rasa-{number}.log",
            # Behind nginx: the client's address is the last X-Forwarded-For entry (nginx sets it),
            # so the channels' per-address limits count each client, not nginx.
            env={"SANIC_REQUEST_MAX_SIZE": str(RASA_MAX_BODY_BYTES), "SANIC_PROXIES_COUNT": "1"}))
    started.append(nginx_service(settings, nginx_conf))
    consumer = QueueConsumer("report consumer", [python, "-m", "caredesk.report_consumer"], "",
                             logs / "report_consumer.log")
    consumer.ready_file = settings.var_dir / "report_consumer.ready"
    started.append(consumer)
    started.append(Service("Agent console", [python, "-m", "bot.console.app", "--port", str(settings.agent_api_port)],
                           f"http://{settings.host}:{settings.agent_api_port}/health", logs / "agent_api.log"))
    started.append(Service("Shop", [python, "-m", "bot.shop.app", "--port", str(settings.shop_port)],
                           f"http://{settings.host}:{settings.shop_port}/health", logs / "shop.log"))
    return started


def banner(settings: Settings) -> str:
    host = BACKEND_HOST
    rows = [
        ("Shop + chat widget", f"{settings.shop_url}/"),
        ("nginx -> Rasa servers", f"{settings.rasa_url} (REST /webhooks/rest/webhook, socket.io, HTTP API) -> "
                                  + ", ".join(f"{host}:{p}" for p in settings.rasa_backend_ports)),
        ("nginx -> action servers", f"http://{settings.host}:{settings.action_port}/webhook -> "
                                    + ", ".join(f"{host}:{p}" for p in settings.action_backend_ports)),
        ("Agent console", f"{settings.console_base_url}/"),
        ("CRM database", _shown(settings.database_url)),
        ("Tracker store", _shown(settings.tracker_store_url)),
        ("Locks + sockets", _shown(settings.redis_url or "")),
        ("Event broker", f"{_shown(settings.rabbitmq_url or '')} queue {settings.rabbitmq_queue} -> report consumer"),
        ("Model", str(model_path(settings.models_dir))),
        ("Logs", str(settings.var_dir / "logs")),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["", "CareDesk is running in production mode:"] + [f"  {name:<{width}}  {where}" for name, where in rows]
    return "\n".join([*lines, "", "Press Ctrl-C to stop.", ""])


def start(settings: Settings) -> list[Service]:
    """Write the configurations, start every process and wait for each (after
    :func:`check_infrastructure`)."""
    from caredesk import runner

    prepare_tracker_store(settings)
    nginx_conf = write_nginx(settings)
    endpoints = runner.write_endpoints(settings)
    credentials = runner.write_credentials(settings)
    return runner.start_services(settings, services(settings, endpoints, credentials, nginx_conf))


# ---- rolling out a new model ---------------------------------------------------------------------


def _api(settings: Settings, port: int, method: str, path: str, body: dict | None = None, timeout: float = 300):
    request = urllib.request.Request(
        f"http://{BACKEND_HOST}:{port}{path}?token={settings.rasa_api_token}", method=method,
        data=None if body is None else json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def roll_out(settings: Settings, model: Path, drain_s: float = 2.0, say=print) -> None:
    """Put ``model`` in place of the served one, one Rasa server at a time: nginx stops sending the
    server new requests (a graceful reload; requests under way finish), the server loads the model
    (Rasa's ``PUT /model``), answers again, and goes back into nginx before the next one is taken
    out. The file then replaces the one every server starts from, so a restart keeps it. A server
    that fails to load the model keeps serving the old one, the servers already switched load the
    old file again (no server is left on another model), every server goes back into nginx and the
    error is raised."""
    model = model.resolve()
    ports = settings.rasa_backend_ports
    target = model_path(settings.models_dir)
    switched: list[int] = []
    try:
        for port in ports:
            others = tuple(p for p in ports if p != port)
            write_nginx(settings, others)
            reload_nginx(settings)
            time.sleep(drain_s)  # let the requests it still holds finish
            say(f"Rasa server on port {port}: loading {model.name} ...")
            _api(settings, port, "PUT", "/model", {"model_file": str(model)})
            switched.append(port)
            status = _api(settings, port, "GET", "/status", timeout=30)
            say(f"Rasa server on port {port}: serving {status.get('model_file') or model.name}")
            write_nginx(settings)
            reload_nginx(settings)
            time.sleep(drain_s)
    except BaseException:
        with contextlib.suppress(Exception):  # the rollout's own error is the one to report
            write_nginx(settings)
            reload_nginx(settings)
        # Then, serving meanwhile, the servers already switched load the old file again (the one
        # that failed to load the model still serves it).
        for port in switched:
            try:
                _api(settings, port, "PUT", "/model", {"model_file": str(target.resolve())})
                say(f"Rasa server on port {port}: serving {target.name} again")
            except Exception as exc:  # noqa: BLE001 - the rollout's own error is the one raised
                say(f"Rasa server on port {port}: could not load {target.name} again ({exc}): restart it")
        raise
    if model != target.resolve():
        staged = target.with_suffix(".rollout")
        shutil.copyfile(model, staged)
        os.replace(staged, target)
