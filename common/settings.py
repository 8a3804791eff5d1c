"""One validated settings object per process, read from the environment.

Local defaults need nothing set: SQLite under ``var/``, everything on 127.0.0.1.
``CAREDESK_ENV=production`` refuses to start with a default or missing secret.
No secret is ever built in: in development the signing key is random, made on first run and kept
in ``var/secret_key``; the value an earlier version published works nowhere.
"""

from __future__ import annotations

import functools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

# Published in an earlier version as the development default: refused everywhere.
PUBLISHED_SECRETS = frozenset({"dev-only-insecure-secret"})
MIN_SECRET_LENGTH = 32
ENVIRONMENTS = ("development", "test", "production")


class SettingsError(ValueError):
    """The environment does not describe a runnable configuration."""


def _refuse_placeholders() -> None:
    """A secret still holding an example file's ``<...>`` placeholder (deploy/*/caredesk.env.example)
    is published: refused everywhere. The secret key's placeholder is long enough to pass as a key."""
    for name in ("CAREDESK_SECRET_KEY", "CAREDESK_PREVIOUS_SECRET_KEYS", "RASA_API_TOKEN", "ACTION_SERVER_TOKEN",
                 "REST_API_KEYS", "TELEGRAM_WEBHOOK_SECRET"):
        for value in os.environ.get(name, "").split(","):
            value = value.strip().strip("'\"")
            if value.startswith("<") or value.endswith(">"):
                raise SettingsError(f"{name} still holds an example's <...> placeholder: set a random "
                                    "value (python -c 'import secrets; print(secrets.token_urlsafe(48))')")


def _project_root() -> Path:
    explicit = os.environ.get("CAREDESK_PROJECT_DIR")
    if explicit:
        return Path(explicit).resolve()
    here = Path.cwd()
    if (here / "domain.yml").exists():
        return here
    return Path(__file__).resolve().parent.parent


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a port number, not {raw!r}") from None
    if not 1 <= port <= 65535:
        raise SettingsError(f"{name} must be between 1 and 65535, not {port}")
    return port


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    environment: str
    project_dir: Path
    var_dir: Path
    models_dir: Path
    database_url: str
    tracker_store_url: str
    host: str
    rasa_port: int
    action_port: int
    rasa_api_token: str
    action_server_token: str
    agent_api_port: int
    callback_url: str | None
    telegram_token: str | None
    telegram_secret: str | None
    telegram_api_url: str
    telegram_bot_username: str | None
    shop_port: int
    web_allowed_origins: tuple[str, ...]
    secret_key: str
    previous_secret_keys: tuple[str, ...]
    rest_api_keys: tuple[str, ...]
    demo_login: bool
    redis_url: str | None
    rabbitmq_url: str | None
    agent_alert_chat_id: str | None = None  # Telegram chat told about urgent escalations
    console_url: str | None = None  # how agents reach the console (links in alerts); default local
    console_secure_cookies: bool = False  # Secure cookies: on whenever the console is served over HTTPS
    # Messages one REST conversation may send a minute (the throughput benchmark raises it: its
    # conversations type as fast as the server answers)
    rest_rate_limit: int = 20
    # Production mode (``caredesk run --production``): the Rasa and action servers nginx balances
    # over (their own ports; nginx listens on rasa_port and action_port), and the broker's queue
    # the report consumer reads.
    rasa_backend_ports: tuple[int, ...] = (5010, 5011)
    action_backend_ports: tuple[int, ...] = (5060, 5061)
    rabbitmq_queue: str = "caredesk_events"
    # Where the other processes reach the Rasa servers (or nginx in front of them) and the action
    # servers, when that is not host:port (containers: http://nginx:5005)
    rasa_url_override: str | None = None
    action_url_override: str | None = None

    @property
    def console_base_url(self) -> str:
        return (self.console_url or f"http://{self.host}:{self.agent_api_port}").rstrip("/")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def signing_keys(self) -> tuple[str, ...]:
        """The current key first (signs), then older ones (still verify during a rotation)."""
        return (self.secret_key, *self.previous_secret_keys)

    @property
    def rasa_url(self) -> str:
        return (self.rasa_url_override or f"http://{self.host}:{self.rasa_port}").rstrip("/")

    @property
    def shop_url(self) -> str:
        return f"http://{self.host}:{self.shop_port}"

    @property
    def action_url(self) -> str:
        return self.action_url_override or f"http://{self.host}:{self.action_port}/webhook"


def _ports(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = os.environ.get(name)
    if not raw:
        return default
    ports = []
    for part in raw.split(","):
        try:
            ports.append(int(part))
        except ValueError:
            raise SettingsError(f"{name} must list port numbers separated by commas, not {raw!r}") from None
    if any(not 1 <= port <= 65535 for port in ports) or len(set(ports)) != len(ports):
        raise SettingsError(f"{name} must list distinct ports between 1 and 65535, not {raw!r}")
    return tuple(ports)


def _dev_token(var_dir: Path, name: str = "rasa_api_token", size: int = 24) -> str:
    """A random token kept under var/ so the processes that share it agree (created atomically:
    several processes may start at once)."""
    path = var_dir / name
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(size)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token)
    return token


def load_settings() -> Settings:
    """Build and validate settings from the environment; raises SettingsError with the fix."""
    environment = os.environ.get("CAREDESK_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise SettingsError(f"CAREDESK_ENV must be one of {', '.join(ENVIRONMENTS)}")
    root = _project_root()
    var_dir = Path(os.environ.get("CAREDESK_VAR_DIR", root / "var")).resolve()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'crm.db'}"
    tracker_url = os.environ.get("TRACKER_STORE_URL") or f"sqlite:///{var_dir / 'tracker.db'}"
    _refuse_placeholders()
    secret_key = os.environ.get("CAREDESK_SECRET_KEY", "")
    previous = tuple(k.strip() for k in os.environ.get("CAREDESK_PREVIOUS_SECRET_KEYS", "").split(",") if k.strip())
    for key in (secret_key, *previous):
        if key in PUBLISHED_SECRETS:
            raise SettingsError("CAREDESK_SECRET_KEY is a published example value: set a random one "
                                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    if secret_key and len(secret_key) < MIN_SECRET_LENGTH:
        raise SettingsError(f"CAREDESK_SECRET_KEY must be {MIN_SECRET_LENGTH}+ random characters")
    rest_keys = tuple(k.strip() for k in os.environ.get("REST_API_KEYS", "").split(",") if k.strip())
    if any(len(k) < 24 for k in rest_keys):
        raise SettingsError("every REST_API_KEYS key needs 24+ random characters")
    demo_login = os.environ.get("CAREDESK_DEMO_LOGIN", "").lower() in ("1", "true", "yes")
    token = os.environ.get("RASA_API_TOKEN", "")
    telegram_token = os.environ.get("TELEGRAM_BOT_TOKEN") or None
    telegram_secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET") or None
    if telegram_token and (not telegram_secret or len(telegram_secret) < 16):
        raise SettingsError("TELEGRAM_BOT_TOKEN needs TELEGRAM_WEBHOOK_SECRET of 16+ characters")
    host = os.environ.get("CAREDESK_HOST", "127.0.0.1")
    shop_port = _port("SHOP_PORT", 8000)
    origins = tuple(o.strip().rstrip("/") for o in os.environ.get("WEB_ALLOWED_ORIGINS", "").split(",") if o.strip())
    if not origins:
        origins = (f"http://{host}:{shop_port}", f"http://localhost:{shop_port}")
    if any(o == "*" for o in origins):
        raise SettingsError("WEB_ALLOWED_ORIGINS must list the shop's origins, not '*'")
    if environment == "production":
        if not secret_key:
            raise SettingsError("production needs CAREDESK_SECRET_KEY of 32+ random characters")
        if demo_login:
            raise SettingsError("CAREDESK_DEMO_LOGIN lets anyone log in as any customer: never in production")
        if len(token) < 24:
            raise SettingsError("production needs RASA_API_TOKEN of 24+ random characters")
        if database_url.startswith("sqlite"):
            raise SettingsError("production needs DATABASE_URL pointing at PostgreSQL")
        if len(os.environ.get("ACTION_SERVER_TOKEN", "")) < 24:
            raise SettingsError("production needs ACTION_SERVER_TOKEN of 24+ random characters")
    return Settings(
        environment=environment,
        project_dir=root,
        var_dir=var_dir,
        models_dir=Path(os.environ.get("CAREDESK_MODELS_DIR", root / "models")).resolve(),
        database_url=database_url,
        tracker_store_url=tracker_url,
        host=host,
        rasa_port=_port("RASA_PORT", 5005),
        action_port=_port("ACTION_PORT", 5055),
        rasa_api_token=token or _dev_token(var_dir),
        action_server_token=os.environ.get("ACTION_SERVER_TOKEN") or _dev_token(var_dir, "action_server_token", 32),
        agent_api_port=_port("AGENT_API_PORT", 5056),
        callback_url=os.environ.get("CAREDESK_CALLBACK_URL") or None,
        telegram_token=telegram_token,
        telegram_secret=telegram_secret,
        telegram_api_url=os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org"),
        telegram_bot_username=(os.environ.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
        shop_port=shop_port,
        web_allowed_origins=origins,
        secret_key=secret_key or _dev_token(var_dir, "secret_key", 48),
        previous_secret_keys=previous,
        rest_api_keys=rest_keys or (() if environment == "production" else (_dev_token(var_dir, "rest_api_key"),)),
        demo_login=demo_login,
        redis_url=os.environ.get("REDIS_URL") or None,
        rabbitmq_url=os.environ.get("RABBITMQ_URL") or None,
        agent_alert_chat_id=os.environ.get("AGENT_ALERT_CHAT_ID") or None,
        console_url=os.environ.get("CONSOLE_URL") or None,
        console_secure_cookies=(environment == "production"
                                or (os.environ.get("CONSOLE_URL") or "").startswith("https://")),
        rest_rate_limit=_positive_int("CAREDESK_REST_RATE_LIMIT", 20),
        rasa_backend_ports=_ports("RASA_BACKEND_PORTS", (5010, 5011)),
        action_backend_ports=_ports("ACTION_BACKEND_PORTS", (5060, 5061)),
        rabbitmq_queue=os.environ.get("RABBITMQ_QUEUE") or "caredesk_events",
        rasa_url_override=os.environ.get("RASA_URL") or None,
        action_url_override=os.environ.get("ACTION_SERVER_URL") or None,
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, validated on first use."""
    return load_settings()
