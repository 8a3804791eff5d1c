"""Production mode's pure parts: the backend port lists, the infrastructure defaults, the nginx
template, and what the report consumer reads from a broker message."""

from __future__ import annotations

import json
import re

import pytest

from caredesk import production
from caredesk.production import (
    DEFAULTS,
    InfrastructureMissing,
    apply_defaults,
    check_infrastructure,
    fill_template,
    nginx_binary,
    render_nginx,
)
from caredesk.report_consumer import announced
from common.settings import SettingsError, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("CAREDESK_ENV", "DATABASE_URL", "TRACKER_STORE_URL", "REDIS_URL", "RABBITMQ_URL",
                 "RASA_BACKEND_PORTS", "ACTION_BACKEND_PORTS", "RABBITMQ_QUEUE", "RASA_URL", "ACTION_SERVER_URL",
                 "RASA_PORT", "ACTION_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    return monkeypatch


def test_two_rasa_and_two_action_servers_by_default(clean_env):
    settings = load_settings()
    assert settings.rasa_backend_ports == (5010, 5011)
    assert settings.action_backend_ports == (5060, 5061)
    assert settings.rabbitmq_queue == "caredesk_events"


def test_backend_ports_are_read_as_a_comma_separated_list(clean_env):
    clean_env.setenv("RASA_BACKEND_PORTS", "7001, 7002,7003")
    assert load_settings().rasa_backend_ports == (7001, 7002, 7003)


@pytest.mark.parametrize("value", ["5010;5011", "5010,", "abc", "5010,x"])
def test_backend_ports_that_are_not_numbers_are_a_clear_error(clean_env, value):
    clean_env.setenv("RASA_BACKEND_PORTS", value)
    with pytest.raises(SettingsError, match="RASA_BACKEND_PORTS must list port numbers"):
        load_settings()


@pytest.mark.parametrize("value", ["0,5011", "5010,70000", "5010,5010"])
def test_backend_ports_out_of_range_or_repeated_are_refused(clean_env, value):
    clean_env.setenv("ACTION_BACKEND_PORTS", value)
    with pytest.raises(SettingsError, match="ACTION_BACKEND_PORTS must list distinct ports"):
        load_settings()


def test_urls_for_containers_override_host_and_port(clean_env):
    clean_env.setenv("RASA_URL", "http://nginx:5005/")
    clean_env.setenv("ACTION_SERVER_URL", "http://nginx:5055/webhook")
    settings = load_settings()
    assert settings.rasa_url == "http://nginx:5005"
    assert settings.action_url == "http://nginx:5055/webhook"


def test_defaults_fill_only_what_the_environment_leaves_out():
    environ = {"DATABASE_URL": "postgresql://crm@db/shop", "REDIS_URL": ""}
    filled = apply_defaults(environ)
    assert environ["DATABASE_URL"] == "postgresql://crm@db/shop"  # kept
    assert environ["REDIS_URL"] == DEFAULTS["REDIS_URL"]  # empty counts as missing
    assert environ["RABBITMQ_URL"] == DEFAULTS["RABBITMQ_URL"]
    assert environ["TRACKER_STORE_URL"] == "postgresql://crm@db/shop"  # shares the CRM's database
    assert set(filled) == {"REDIS_URL", "RABBITMQ_URL", "TRACKER_STORE_URL"}


def test_a_tracker_store_of_its_own_is_kept():
    environ = {"TRACKER_STORE_URL": "postgresql://rasa@db/tracker"}
    apply_defaults(environ)
    assert environ["TRACKER_STORE_URL"] == "postgresql://rasa@db/tracker"
    assert environ["DATABASE_URL"] == DEFAULTS["DATABASE_URL"]


def test_the_template_fills_fields_and_leaves_nginx_variables_alone():
    filled = fill_template("listen {{host}}:{{port}}; proxy_set_header Host $host;", {"host": "10.0.0.1", "port": "80"})
    assert filled == "listen 10.0.0.1:80; proxy_set_header Host $host;"


def test_a_field_the_template_needs_but_nobody_gives_is_an_error():
    with pytest.raises(KeyError, match="rasa_port"):
        fill_template("listen {{listen}}:{{rasa_port}};", {"listen": "127.0.0.1"})


def test_nginx_balances_over_every_backend_or_the_ones_left_in_a_rollout(clean_env):
    clean_env.setenv("RASA_BACKEND_PORTS", "7001,7002")
    clean_env.setenv("ACTION_BACKEND_PORTS", "7101,7102")
    settings = load_settings()
    config = render_nginx(settings)
    assert not re.search(r"\{\{\w+\}\}", config)
    assert config.count("server 127.0.0.1:7001 ") == 2  # balanced and sticky (socket.io) upstreams
    assert "server 127.0.0.1:7101 " in config and "server 127.0.0.1:7102 " in config
    assert f"listen 127.0.0.1:{settings.rasa_port};" in config
    during_rollout = render_nginx(settings, (7002,))
    assert during_rollout.count("server 127.0.0.1:7002 ") == 2
    assert "7001" not in during_rollout.split("upstream caredesk_rasa_socketio")[0]  # out of the balanced one
    assert "server 127.0.0.1:7001 max_fails=1 fail_timeout=5s down;" in during_rollout  # sticky: marked down


def test_production_mode_refuses_a_single_rasa_server(clean_env):
    clean_env.setenv("RASA_BACKEND_PORTS", "7001")
    with pytest.raises(InfrastructureMissing, match="two or more"):
        check_infrastructure(load_settings())  # before reaching for any service


def test_without_nginx_production_mode_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(production.shutil, "which", lambda name: None)
    monkeypatch.setattr(production.Path, "exists", lambda self: False)
    with pytest.raises(InfrastructureMissing, match="apt-get install nginx-light"):
        nginx_binary()


def test_a_broker_message_names_its_conversation_and_time():
    body = json.dumps({"sender_id": "rest:ana", "event": "user", "timestamp": 1764745200.5}).encode()
    assert announced(body) == ("rest:ana", 1764745200.5)


def test_an_event_without_a_time_is_still_its_conversations():
    assert announced(b'{"sender_id": "api:bo", "event": "action"}') == ("api:bo", 0.0)
    assert announced(b'{"sender_id": "api:bo", "timestamp": "yesterday"}') == ("api:bo", 0.0)
    assert announced(b'{"sender_id": "api:bo", "timestamp": NaN}') == ("api:bo", 0.0)
    assert announced(b'{"sender_id": "api:bo", "timestamp": true}') == ("api:bo", 0.0)


@pytest.mark.parametrize("body", [
    b"", b"not json", b"\xff\xfe\x00garbage", b"[1, 2]", b'"rest:ana"', b"null",
    b'{"event": "user"}', b'{"sender_id": 42}', b'{"sender_id": null, "timestamp": 1}',
])
def test_a_malformed_broker_message_names_no_conversation(body):
    assert announced(body) is None
