"""The report consumer's incremental refresh (caredesk.reports.refresh) against the full rebuild, on
a seeded history (a 20-customer shop and its conversations on SQLite): refreshing every
conversation, a batch at a time, leaves the same episodes, re-contact flags and negative messages
as `caredesk report rebuild`, and refreshing a conversation again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete

from caredesk.history_seed import seed_history
from caredesk.reports import _tracker_engine, rebuild, refresh, stream_conversations
from crm_store import models
from crm_store.db import session_factory
from crm_store.migrate import upgrade
from crm_store.scoring.episodes import SupportHours
from crm_store.seed import seed_shop
from crm_store.services import reports
from crm_store.unit_of_work import UnitOfWork

AS_OF = datetime(2026, 6, 1)
PROJECT = Path(__file__).resolve().parents[2]
HOURS = SupportHours()


@dataclass(frozen=True)
class _Settings:
    database_url: str
    tracker_store_url: str


def _key(episode) -> tuple:
    return episode.conversation_id, episode.number


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refresh")
    settings = _Settings(f"sqlite:///{folder / 'crm.db'}", f"sqlite:///{folder / 'tracker.db'}")
    upgrade(settings.database_url)
    seed_shop(settings.database_url, customers=20, seed=7, as_of=AS_OF)
    seed_history(settings.database_url, settings.tracker_store_url, seed=7, as_of=AS_OF, project_dir=PROJECT)
    rebuild(settings, hours=HOURS)
    uow = UnitOfWork(settings.database_url)
    built = sorted(reports.load_episodes(uow), key=_key)
    negatives = sorted(reports.load_negative_messages(uow), key=lambda m: (m.conversation_id, m.number, m.at))
    engine = _tracker_engine(settings.tracker_store_url)
    conversations = [sender for sender, _ in stream_conversations(engine)]
    engine.dispose()
    yield settings, built, negatives, conversations
    session_factory(settings.database_url).kw["bind"].dispose()
    session_factory.cache_clear()


def _empty_report_tables(settings) -> None:
    uow = UnitOfWork(settings.database_url)
    with uow:
        for table in (models.ReportNegativeMessage, models.ReportEpisode, models.ReportBuild):
            uow.session.execute(delete(table.__table__))
        uow.commit()


def test_refreshing_every_conversation_in_batches_equals_the_full_rebuild(seeded):
    settings, built, negatives, conversations = seeded
    assert len(built) > 100 and any(e.recontact_24h for e in built)
    _empty_report_tables(settings)
    # Newest conversations first: re-contact flags of episodes already written must be corrected
    # by the batches that come after them.
    ordered = list(reversed(conversations))
    for start in range(0, len(ordered), 37):
        refresh(settings, ordered[start:start + 37], new_events=1, hours=HOURS)
    uow = UnitOfWork(settings.database_url)
    assert sorted(reports.load_episodes(uow), key=_key) == built
    assert sorted(reports.load_negative_messages(uow), key=lambda m: (m.conversation_id, m.number, m.at)) == negatives
    build = reports.last_build(uow)
    assert build is not None and build.episodes == len(built) and build.negative_messages == len(negatives)


def test_refreshing_a_conversation_again_changes_nothing(seeded):
    settings, built, _, conversations = seeded
    refresh(settings, conversations[:5], new_events=3, hours=HOURS)
    before = reports.last_build(UnitOfWork(settings.database_url))
    refresh(settings, conversations[:5], new_events=3, hours=HOURS)
    after = reports.last_build(UnitOfWork(settings.database_url))
    assert sorted(reports.load_episodes(UnitOfWork(settings.database_url)), key=_key) == built
    assert after.episodes == before.episodes and after.events_read == before.events_read + 3
