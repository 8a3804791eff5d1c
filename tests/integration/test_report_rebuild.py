"""Rebuilding the report tables from a seeded history (a 20-customer shop and its conversations on
SQLite): the episodes agree with the stored events and the CRM, a rebuild is idempotent, and the
reads filter as the reports need."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from caredesk.history_seed import seed_history
from caredesk.reports import _tracker_engine, rebuild, stream_conversations
from crm_store import models
from crm_store.db import session_factory
from crm_store.migrate import upgrade
from crm_store.scoring.episodes import SupportHours
from crm_store.seed import seed_shop
from crm_store.services import reports
from crm_store.unit_of_work import UnitOfWork

AS_OF = datetime(2026, 6, 1)
CUSTOMERS = 20
PROJECT = Path(__file__).resolve().parents[2]
HOURS = SupportHours()

# Sessions (split at each action_session_start) in which the customer wrote something, counted by
# SQLite alone: a running count of session starts numbers each event's session.
SESSIONS_WITH_A_MESSAGE = """
WITH numbered AS (
    SELECT sender_id, type_name, json_extract(data, '$.parse_data.intent.name') AS intent,
           SUM(CASE WHEN type_name = 'action' AND action_name = 'action_session_start' THEN 1 ELSE 0 END)
               OVER (PARTITION BY sender_id ORDER BY id) AS session
    FROM events)
SELECT COUNT(*) FROM (SELECT DISTINCT sender_id, session FROM numbered
                      WHERE type_name = 'user' AND COALESCE(intent, '') NOT LIKE 'EXTERNAL%')
"""


@dataclass(frozen=True)
class _Settings:
    database_url: str
    tracker_store_url: str


def _rows(path: Path, query: str, *args) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query, args).fetchall()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    crm, tracker = folder / "crm.db", folder / "tracker.db"
    settings = _Settings(f"sqlite:///{crm}", f"sqlite:///{tracker}")
    upgrade(settings.database_url)
    seed_shop(settings.database_url, customers=CUSTOMERS, seed=7, as_of=AS_OF)
    seed_history(settings.database_url, settings.tracker_store_url, seed=7, as_of=AS_OF, project_dir=PROJECT)
    stats = rebuild(settings, hours=HOURS)
    yield settings, crm, tracker, stats
    session_factory(settings.database_url).kw["bind"].dispose()
    session_factory.cache_clear()


def _uow(settings: _Settings) -> UnitOfWork:
    return UnitOfWork(settings.database_url)


def test_every_session_with_a_customer_message_is_one_episode(seeded):
    settings, _, tracker, stats = seeded
    expected = _rows(tracker, SESSIONS_WITH_A_MESSAGE)[0][0]
    episodes = reports.load_episodes(_uow(settings))
    assert len(episodes) == stats.episodes == expected > 100
    assert stats.events_read == _rows(tracker, "SELECT COUNT(*) FROM events")[0][0]
    assert stats.conversations == _rows(tracker, "SELECT COUNT(DISTINCT sender_id) FROM events")[0][0]
    assert len({(e.conversation_id, e.number) for e in episodes}) == len(episodes)
    build = reports.last_build(_uow(settings))
    assert build is not None and (build.episodes, build.events_read) == (stats.episodes, stats.events_read)


def test_escalated_episodes_are_the_conversations_tickets(seeded):
    settings, crm, _, _ = seeded
    # An automatic escalation is reported by the first rule its hand-over card lists.
    tickets = {row[0]: row[1:] for row in _rows(crm, """
        SELECT id, conversation_id,
               CASE WHEN reason = 'escalated' AND json_extract(card, '$.reasons[0]') IS NOT NULL
                    THEN json_extract(card, '$.reasons[0]') ELSE reason END,
               assignee FROM tickets WHERE conversation_id IS NOT NULL""")}
    escalated = [e for e in reports.load_episodes(_uow(settings)) if e.escalated]
    assert len(escalated) == len(tickets) > 0
    assert {e.escalation_reason for e in escalated} > {"very negative message", "human_requested"}
    for episode in escalated:
        assert tickets[episode.ticket_id] == (episode.conversation_id, episode.escalation_reason, episode.agent)
        assert episode.resolved_by in ("agent", "open") and not episode.contained
        assert episode.first_response_seconds is None or episode.first_response_seconds >= 0
    assert any(e.live_handover for e in escalated)
    assert all(e.escalated for e in reports.load_episodes(_uow(settings)) if e.live_handover)


def test_ratings_and_negative_messages_agree_with_the_crm_and_the_events(seeded):
    settings, crm, tracker, _ = seeded
    episodes = reports.load_episodes(_uow(settings))
    ratings = _rows(crm, "SELECT COUNT(*) FROM feedback WHERE conversation_id IS NOT NULL AND csat IS NOT NULL")[0][0]
    assert sum(e.csat is not None for e in episodes) == ratings > 0
    negative = _rows(tracker, "SELECT COUNT(*) FROM events WHERE type_name = 'user' "
                              "AND json_extract(data, '$.parse_data.sentiment.label') = 'negative'")[0][0]
    assert sum(e.negative_messages for e in episodes) == negative
    assert len(reports.load_negative_messages(_uow(settings))) == negative > 0


def test_a_rebuild_is_idempotent(seeded):
    settings, _, _, stats = seeded
    before = reports.load_episodes(_uow(settings))
    negatives = reports.load_negative_messages(_uow(settings))
    again = rebuild(settings, hours=HOURS)
    assert again.episodes == stats.episodes
    assert reports.load_episodes(_uow(settings)) == before
    assert reports.load_negative_messages(_uow(settings)) == negatives


def test_streaming_in_small_chunks_keeps_each_conversation_whole(seeded):
    _, _, tracker, _ = seeded
    engine = _tracker_engine(f"sqlite:///{tracker}")
    try:
        streamed = {sender: len(events) for sender, events in stream_conversations(engine, chunk=7)}
    finally:
        engine.dispose()
    assert streamed == dict(_rows(tracker, "SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id"))


def test_loading_filters_by_days_channel_and_topic(seeded):
    settings, _, _, _ = seeded
    everything = reports.load_episodes(_uow(settings))
    assert [e.started_at for e in everything] == sorted(e.started_at for e in everything)
    since, until = date(2026, 1, 1), date(2026, 2, 28)
    period = reports.load_episodes(_uow(settings), since=since, until=until)
    assert period == [e for e in everything if since <= e.started_at.date() <= until] and period
    telegram = reports.load_episodes(_uow(settings), channel="telegram")
    assert telegram == [e for e in everything if e.channel == "telegram"] and telegram
    tracking = reports.load_episodes(_uow(settings), intent="track_order", since=since)
    assert tracking == [e for e in everything if e.topic_intent == "track_order" and e.started_at.date() >= since]
    negatives = reports.load_negative_messages(_uow(settings), since=since, until=until, intent="complaint")
    complaints = {(e.conversation_id, e.number) for e in everything if e.topic_intent == "complaint"}
    assert negatives and all((n.conversation_id, n.number) in complaints for n in negatives)
    assert all(since <= n.at.date() <= until for n in negatives)


def test_at_risk_customers_come_with_value_and_last_contact_and_personal_data_apart(seeded):
    settings, _, _, _ = seeded
    episodes = reports.load_episodes(_uow(settings))
    with _uow(settings) as uow:
        for customer_id, score in ((3, 0.9), (5, 0.7), (8, 0.2)):
            uow.session.execute(update(models.Customer).where(models.Customer.id == customer_id)
                                .values(churn_score=score, churn_reasons=["no order in 90 days"]))
        uow.commit()
    found = reports.at_risk_customers(_uow(settings), limit=10, min_score=0.5)
    assert [r.customer_id for r in found] == [3, 5]
    first = found[0]
    own = [e for e in episodes if e.customer_id == 3]
    assert first.episodes == len(own) and first.last_contact == max((e.started_at for e in own), default=None)
    assert first.churn_reasons == ("no order in 90 days",) and first.lifetime_value_cents > 0
    assert first.personal is not None and "@" in first.personal.email
    assert first.without_personal_data().personal is None


def test_forgetting_conversations_drops_their_rows_at_once(tmp_path, seeded):
    settings, crm, _, _ = seeded
    copy = tmp_path / "crm.db"
    copy.write_bytes(crm.read_bytes())
    url = f"sqlite:///{copy}"
    episodes = reports.load_episodes(UnitOfWork(url))
    customer = next(e.customer_id for e in episodes if e.customer_id is not None)
    anonymous = next(e.conversation_id for e in episodes if e.customer_id is None)
    removed = reports.forget_conversations(UnitOfWork(url), [anonymous], customer_id=customer)
    left = reports.load_episodes(UnitOfWork(url))
    assert removed == len(episodes) - len(left) > 0
    assert all(e.customer_id != customer and e.conversation_id != anonymous for e in left)
    session_factory(url).kw["bind"].dispose()


def test_times_are_within_the_history(seeded):
    settings, _, _, _ = seeded
    for episode in reports.load_episodes(_uow(settings)):
        assert AS_OF - timedelta(days=366) <= episode.started_at <= episode.ended_at < AS_OF


def _caredesk(settings: _Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "TRACKER_STORE_URL": settings.tracker_store_url,
           "CAREDESK_VAR_DIR": str(tmp_path / "var"), "CAREDESK_PROJECT_DIR": str(PROJECT)}
    env.pop("CAREDESK_ENV", None)
    return subprocess.run([sys.executable, "-m", "caredesk.cli", *args], capture_output=True, text=True, env=env,
                          cwd=PROJECT, timeout=300)


def test_the_operator_rebuilds_and_reads_the_summary_from_the_command_line(seeded, tmp_path):
    settings, _, _, stats = seeded
    rebuilt = _caredesk(settings, tmp_path, "report", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"Built {stats.episodes:,} episodes" in rebuilt.stdout
    summary = _caredesk(settings, tmp_path, "report", "summary", "--since", "2026-01-01", "--until", "2026-01-31")
    assert summary.returncode == 0, summary.stderr
    january = reports.load_episodes(_uow(settings), since=date(2026, 1, 1), until=date(2026, 1, 31))
    assert f"Episodes:          {len(january):,} in" in summary.stdout
    assert "Period:            2026-01" in summary.stdout and "Contained:" in summary.stdout
    backwards = _caredesk(settings, tmp_path, "report", "summary", "--since", "2026-02-01", "--until", "2026-01-01")
    assert backwards.returncode == 2


@pytest.mark.postgres
def test_the_same_history_on_postgresql_gives_the_same_episodes(seeded):
    from tests.support.postgres import admin_execute, database_url, ensure_postgres

    reason = ensure_postgres()
    if reason:
        pytest.skip(reason)
    settings, _, _, _ = seeded
    names = [f"caredesk_rep_{uuid.uuid4().hex[:8]}", f"caredesk_trk_{uuid.uuid4().hex[:8]}"]
    for name in names:
        admin_execute(f"CREATE DATABASE {name}")
    postgres = _Settings(database_url(names[0]), database_url(names[1]))
    try:
        upgrade(postgres.database_url)
        seed_shop(postgres.database_url, customers=CUSTOMERS, seed=7, as_of=AS_OF)
        seed_history(postgres.database_url, postgres.tracker_store_url, seed=7, as_of=AS_OF, project_dir=PROJECT)
        stats = rebuild(postgres, hours=HOURS)
        assert stats.episodes > 100
        assert reports.load_episodes(UnitOfWork(postgres.database_url)) == reports.load_episodes(_uow(settings))
        assert (reports.load_negative_messages(UnitOfWork(postgres.database_url))
                == reports.load_negative_messages(_uow(settings)))
    finally:
        session_factory(postgres.database_url).kw["bind"].dispose()
        session_factory.cache_clear()
        for name in names:
            admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
