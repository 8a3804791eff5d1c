from dataclasses import replace

import pytest

from caredesk.runner import endpoints_config
from caredesk.settings import load_settings


@pytest.fixture
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "TRACKER_STORE_URL", "REDIS_URL", "RABBITMQ_URL", "CAREDESK_ENV"):
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
    assert config["lock_store"] == {"type": "redis", "url": "cache", "port": 6380, "db": 2,
                                    "password": "secret"}
    assert config["event_broker"]["url"] == "mq" and config["event_broker"]["username"] == "bot"


def test_a_token_that_starts_with_a_dash_is_passed_as_one_argument(settings, tmp_path):
    from caredesk.runner import services

    rasa = services(replace(settings, rasa_api_token="-abc"), tmp_path / "e.yml", tmp_path / "c.yml")[1]
    assert "--auth-token=-abc" in rasa.command


def test_the_web_chat_channel_owns_socket_io_and_admits_only_the_shops_origins(settings):
    import yaml

    from caredesk.runner import write_credentials

    channels = yaml.safe_load(write_credentials(settings).read_text())
    assert "socketio" not in channels
    assert channels["bot.channels.web.WebChatChannel"] == {
        "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"]}


def test_allowed_origins_come_from_the_environment_and_a_wildcard_is_refused(monkeypatch, settings):
    from caredesk.settings import SettingsError

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
