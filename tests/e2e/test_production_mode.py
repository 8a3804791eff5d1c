"""Production mode for real: ``caredesk run --production`` on a fresh PostgreSQL database, Redis and
RabbitMQ, two Rasa servers and two action servers behind nginx, and the report consumer.

Messages go over REST through nginx; both Rasa servers answer some; the events land in the
PostgreSQL tracker store (its ``events`` table indexed by conversation id) and the consumer turns
them into report rows. A new model rolls out to each server in turn while conversations go on, and
no message goes unanswered.

The model is the suite's own (``models/``, trained here if the inputs changed, as the other e2e
tests do), copied into the test's models folder: the rollout replaces the test's copy, never the
project's. Skips when PostgreSQL, Redis, RabbitMQ or nginx cannot run here."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.production import (
    PROJECT,
    copy_suite_model,
    start_production,
    stop_production,
)
from tests.support.production import production_environment as _environment
from tests.support.services import ensure_rabbitmq, ensure_redis

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def database():
    from tests.support.postgres import admin_execute, database_url, ensure_postgres

    reason = ensure_postgres()
    if reason:
        pytest.skip(reason)
    name = f"caredesk_prod_{uuid.uuid4().hex[:8]}"
    admin_execute(f"CREATE DATABASE {name}")
    yield database_url(name)
    admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    """A models folder of the test's own holding the suite's trained model (and its fingerprint,
    so `caredesk run` does not train again)."""
    return copy_suite_model(tmp_path_factory.mktemp("production-models"))


@pytest.fixture(scope="module")
def services_here() -> None:
    """nginx, Redis and RabbitMQ on this machine (started if down), or the tests skip, saying why,
    before any database is made or model trained."""
    from caredesk.production import InfrastructureMissing, nginx_binary

    try:
        nginx_binary()
    except InfrastructureMissing as exc:
        pytest.skip(str(exc))
    ensure_redis()
    ensure_rabbitmq()


@pytest.fixture(scope="module")
def production(services_here, database, models_dir, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("production")
    queue = f"caredesk_test_{uuid.uuid4().hex[:8]}"
    env = _environment(var_dir, models_dir, database, queue)
    production = start_production(env, var_dir)
    yield production
    stop_production(production, queue)


def _engine(url: str):
    return create_engine(url, future=True)


def test_messages_through_nginx_are_answered_by_both_rasa_servers_and_stored(production, database):
    senders = [f"prod-{uuid.uuid4().hex[:10]}" for _ in range(6)]
    for sender in senders:
        replies = production.say(sender, "hi")
        assert replies and all(reply.get("recipient_id") == f"rest:{sender}" for reply in replies)
        assert any(reply.get("text") for reply in replies)
    assert set(production.upstreams_of_rest_calls()) == set(production.rasa_ports())

    engine = _engine(database)
    with engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT sender_id, type_name FROM events WHERE sender_id = ANY(:senders)"),
            {"senders": [f"rest:{sender}" for sender in senders]}).all()
        indexes = connection.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'events'")).scalars().all()
    engine.dispose()
    for sender in senders:
        kinds = {kind for who, kind in stored if who == f"rest:{sender}"}
        assert {"user", "bot", "action"} <= kinds, (sender, kinds)
    assert any(re.search(r"\(sender_id\)", index) for index in indexes), indexes


def test_the_report_consumer_turns_the_brokers_events_into_report_rows(production, database):
    sender = f"prod-report-{uuid.uuid4().hex[:8]}"
    production.say(sender, "hi")
    production.say(sender, "where is my order?")
    engine = _engine(database)
    deadline = time.monotonic() + 30
    try:
        while True:
            with engine.connect() as connection:
                row = connection.execute(text(
                    "SELECT channel, user_messages FROM report_episodes WHERE conversation_id = :sender"),
                    {"sender": f"rest:{sender}"}).first()
                build = connection.execute(text("SELECT episodes, events_read FROM report_builds")).first()
            if row is not None and row.user_messages == 2:
                break
            assert time.monotonic() < deadline, f"no report row with both messages: {row}"
            time.sleep(0.5)
    finally:
        engine.dispose()
    assert row.channel == "rest"
    assert build.episodes >= 1 and build.events_read > 0


def test_a_new_model_rolls_out_to_each_server_while_conversations_go_on(production, database, tmp_path):
    from caredesk.training import model_path

    served = model_path(Path(production.env["CAREDESK_MODELS_DIR"]))
    new_model = tmp_path / "caredesk-next.tar.gz"
    new_model.write_bytes(served.read_bytes())  # the same model under another name: a real load
    served_before = served.stat().st_ino
    stop = threading.Event()
    answered: list[tuple[str, int]] = []
    failures: list[str] = []

    def converse(number: int) -> None:
        sender, turn = f"prod-rollout-{number}-{uuid.uuid4().hex[:6]}", 0
        while not stop.is_set():
            turn += 1
            try:
                replies = production.say_trusted(sender, "hi")
            except OSError as exc:
                failures.append(f"{sender} turn {turn}: {exc}")
                continue
            if not any(reply.get("text") for reply in replies):
                failures.append(f"{sender} turn {turn}: no answer")
            answered.append((sender, turn))

    env = dict(production.env)
    with ThreadPoolExecutor(4) as pool:
        for number in range(4):
            pool.submit(converse, number)
        try:
            result = subprocess.run([sys.executable, "-m", "caredesk.cli", "rollout", str(new_model)], cwd=PROJECT,
                                    env=env, capture_output=True, text=True, timeout=600)
        finally:
            time.sleep(2)
            stop.set()
    assert result.returncode == 0, result.stdout + result.stderr
    for port in production.rasa_ports():
        assert f"port {port}: serving {new_model.name}" in result.stdout, result.stdout
    # The file every server starts from was replaced (a new file moved into place), the project's untouched.
    assert served.stat().st_ino != served_before and served.read_bytes() == new_model.read_bytes()
    assert not failures, failures[:5]
    assert len(answered) >= 8
    # Every answered message is stored once, in order, whichever server took it.
    engine = _engine(database)
    with engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT sender_id, count(*) FROM events WHERE sender_id LIKE 'api:prod-rollout-%' AND type_name = 'user' "
            "GROUP BY sender_id")).all()
    engine.dispose()
    sent: dict[str, int] = {}
    for sender, turn in answered:
        sent[f"api:{sender}"] = max(sent.get(f"api:{sender}", 0), turn)
    assert dict(stored) == sent
