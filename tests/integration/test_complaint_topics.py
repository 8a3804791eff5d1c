"""Complaint topics on a seeded shop's history: the negative messages customers wrote about the
same thing (a missing invoice, a refund that does not come) end up in the same topic, and the two
in different ones. The themes are picked out of the stored messages by keywords here;
the clustering never sees these keywords.

Known limit, not asserted: the grouping is lexical (lemmas and adjacent pairs, no word vectors
offline), so complaints that share no words ("I can't register, it keeps saying error" and "your
sign up page is broken") can land apart, damaged-parcel complaints split over two or three topics
("crushed box", "arrived damaged", "arrived broken"), late-delivery complaints scatter, and one large
topic collects loosely related messages. Which messages are negative at all is the sentiment
scorer's call, made when the history is seeded."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from caredesk.history_seed import seed_history
from caredesk.reports import rebuild
from crm_store.db import session_factory
from crm_store.migrate import upgrade
from crm_store.scoring.episodes import SupportHours
from crm_store.scoring.topics import topics
from crm_store.seed import seed_shop
from crm_store.services import reports
from crm_store.unit_of_work import UnitOfWork

PROJECT = Path(__file__).resolve().parents[2]
THEMES = {
    "invoice": r"\binvoice",
    "refund": r"\brefund|money back",
}


@dataclass(frozen=True)
class _Settings:
    database_url: str
    tracker_store_url: str


@pytest.fixture(scope="module")
def negative_messages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("topics")
    settings = _Settings(f"sqlite:///{folder / 'crm.db'}", f"sqlite:///{folder / 'tracker.db'}")
    upgrade(settings.database_url)
    seed_shop(settings.database_url, customers=150, seed=7, as_of=datetime(2026, 6, 1))
    seed_history(settings.database_url, settings.tracker_store_url, seed=7, as_of=datetime(2026, 6, 1),
                 project_dir=PROJECT)
    rebuild(settings, hours=SupportHours())
    yield reports.load_negative_messages(UnitOfWork(settings.database_url))
    session_factory(settings.database_url).kw["bind"].dispose()
    session_factory.cache_clear()


def test_complaints_about_the_same_thing_share_a_topic_and_different_ones_do_not(negative_messages):
    found = topics(negative_messages)
    topic_of = {member: topic.id for topic in found for member in topic.members}
    majority = {}
    for theme, pattern in THEMES.items():
        members = [i for i, message in enumerate(negative_messages) if re.search(pattern, message.text, re.I)]
        assert len(members) >= 10, theme
        (topic, count), = Counter(topic_of.get(i) for i in members).most_common(1)
        assert count / len(members) >= 0.6, (theme, Counter(topic_of.get(i) for i in members))
        majority[theme] = topic
    assert len(set(majority.values())) == len(THEMES), majority
