from dataclasses import replace

import pytest

from caredesk.runner import endpoints_config
from common.settings import load_settings


@pytest.fixture
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "TRACKER_STORE_URL", "REDIS_URL", "RABBITMQ_URL", "CAREDESK_ENV",
                 "ACTION_SERVER_TOKEN", "WEB_ALLOWED_ORIGINS", "CAREDESK_DEMO_LOGIN"):
        monkeypatch.delenv(name, raising=False)
    return load_settings()


def test_the_embedded_default_keeps_conversations_in_sqlite(settings, tmp_path):
    config = endpoints_config(settings)
    assert config["tracker_store"] == {"type": "bot.tracker_store.RedactingSQLTrackerStore", "dialect": "sqlite",
                                       "db": str(tmp_path / "tracker.db")}
    assert config["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"
    assert "lock_store" not in config and "event_broker" not in config


def test_at_scale_postgres_redis_and_rabbitmq_are_configured(settings):
    scaled = replace(settings, tracker_store_url="postgresql://rasa:pw@db.internal:5433/tracker",
                     redis_url="redis://:secret@cache:6380/2", rabbitmq_url="amqp://bot:pw@mq:5672")
    config = endpoints_config(scaled)
    assert config["tracker_store"] == {"type": "bot.tracker_store.RedactingSQLTrackerStore",
                                       "dialect": "postgresql", "url": "db.internal",
                                       "db": "tracker", "port": 5433, "username": "rasa", "password": "pw"}
    assert config["lock_store"] == {"type": "bot.lock_store.PatientRedisLockStore", "url": "cache", "port": 6380,
                                    "db": 2, "password": "secret"}
    assert config["event_broker"]["url"] == "mq" and config["event_broker"]["username"] == "bot"


def test_rasa_sends_the_action_servers_token_from_the_private_endpoints_file(settings):
    import stat

    from caredesk.runner import write_endpoints

    config = endpoints_config(settings)
    assert config["action_endpoint"]["headers"] == {"Authorization": f"Bearer {settings.action_server_token}"}
    assert len(settings.action_server_token) >= 24
    assert stat.S_IMODE(write_endpoints(settings).stat().st_mode) == 0o600


def test_no_secret_is_ever_a_command_line_argument(settings, tmp_path):
    from caredesk.runner import services

    started = services(settings, tmp_path / "e.yml", tmp_path / "c.yml", demo=True)
    secrets = (settings.rasa_api_token, settings.action_server_token, settings.secret_key, *settings.rest_api_keys)
    for service in started:
        assert not [a for a in service.command if any(s in a for s in secrets)], service.name
        assert not [a for a in service.command if a.startswith("--auth-token")], service.name


def test_the_launcher_adds_the_token_inside_the_process_as_one_argument_even_with_a_dash():
    from caredesk.rasa_launcher import TokenOnCommandLine, rasa_arguments

    assert rasa_arguments(["run", "--enable-api"], "-abc") == ["rasa", "run", "--enable-api", "--auth-token=-abc"]
    for given in (["run", "--auth-token", "x"], ["run", "--auth-token=x"]):
        with pytest.raises(TokenOnCommandLine):
            rasa_arguments(given, "t")


def test_rasa_admits_only_the_shops_origins_and_reads_at_most_a_megabyte(settings, tmp_path):
    from caredesk.runner import services

    rasa = services(settings, tmp_path / "e.yml", tmp_path / "c.yml")[1]
    cors = rasa.command[rasa.command.index("--cors") + 1:rasa.command.index("--enable-api")]
    assert cors == ["http://127.0.0.1:8000", "http://localhost:8000"] and "*" not in rasa.command
    assert rasa.env == {"SANIC_REQUEST_MAX_SIZE": str(1024 * 1024)}


def test_the_demo_login_is_switched_on_for_the_shop_only_with_demo(settings, tmp_path):
    from caredesk.runner import services

    def shop_env(demo):
        return next(s for s in services(settings, tmp_path / "e", tmp_path / "c", demo) if s.name == "Demo shop").env

    assert shop_env(False) == {} and shop_env(True) == {"CAREDESK_DEMO_LOGIN": "1"}
    assert all("CAREDESK_DEMO_LOGIN" not in s.env for s in services(settings, tmp_path / "e", tmp_path / "c", True)
               if s.name != "Demo shop")


def test_production_refuses_a_missing_or_short_action_server_token(monkeypatch, settings):
    from common.settings import SettingsError

    for name, value in (("CAREDESK_ENV", "production"), ("CAREDESK_SECRET_KEY", "s" * 40),
                        ("RASA_API_TOKEN", "t" * 30),
                        ("DATABASE_URL", "postgresql://u@db/crm"), ("ACTION_SERVER_TOKEN", "short")):
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="ACTION_SERVER_TOKEN"):
        load_settings()
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "x" * 30)
    assert load_settings().action_server_token == "x" * 30


def test_the_web_chat_channel_owns_socket_io_and_admits_only_the_shops_origins(settings):
    import yaml

    from caredesk.runner import write_credentials

    channels = yaml.safe_load(write_credentials(settings).read_text())
    assert "socketio" not in channels
    assert channels["bot.channels.web.WebChatChannel"] == {
        "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"]}


def test_allowed_origins_come_from_the_environment_and_a_wildcard_is_refused(monkeypatch, settings):
    from common.settings import SettingsError

    monkeypatch.setenv("WEB_ALLOWED_ORIGINS", "https://shop.example.com/, https://www.shop.example.com")
    assert load_settings().web_allowed_origins == ("https://shop.example.com", "https://www.shop.example.com")
    monkeypatch.setenv("WEB_ALLOWED_ORIGINS", "*")
    with pytest.raises(SettingsError):
        load_settings()


def test_a_dying_service_is_restarted_three_times_in_five_minutes_and_then_given_up():
    from caredesk.runner import RestartBudget

    budget = RestartBudget(allowed=3, window=300)
    assert [budget.take("action server", now=t) for t in (0, 10, 20, 30)] == [True, True, True, False]
    assert budget.take("Rasa server", now=30)  # each service has its own budget
    assert budget.take("action server", now=305)  # the first restart has left the window
