"""Seeded conversation history: deterministic, consistent with the CRM, readable by Rasa's own
tracker store, and free of personal data (a 20-customer shop on SQLite)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

from caredesk.history_seed import AGENTS, TELEGRAM, WEB, default_conversations, seed_history
from crm_store.migrate import upgrade
from crm_store.privacy import redact
from crm_store.seed import seed_shop

AS_OF = datetime(2026, 6, 1)
CUSTOMERS = 20
PROJECT = Path(__file__).resolve().parents[2]


def _seed(folder: Path, conversations: int | None = None, seed: int = 7):
    crm, tracker = folder / "crm.db", folder / "tracker.db"
    upgrade(f"sqlite:///{crm}")
    seed_shop(f"sqlite:///{crm}", customers=CUSTOMERS, seed=seed, as_of=AS_OF)
    stats = seed_history(f"sqlite:///{crm}", f"sqlite:///{tracker}", conversations, seed=seed, as_of=AS_OF,
                         project_dir=PROJECT)
    return crm, tracker, stats


def _rows(path: Path, query: str, *args) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query, args).fetchall()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    return _seed(tmp_path_factory.mktemp("history"))


@pytest.fixture(scope="module")
def conversations(seeded) -> dict[str, list[dict]]:
    """Every conversation's stored events, in the order they were written."""
    _, tracker, _ = seeded
    found: dict[str, list[dict]] = defaultdict(list)
    for sender_id, data in _rows(tracker, "SELECT sender_id, data FROM events ORDER BY id"):
        found[sender_id].append(json.loads(data))
    return found


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_small_shop_gets_months_of_conversations_with_escalations_and_csat(seeded, conversations):
    crm, _, stats = seeded
    assert stats.conversations == len(conversations) > 50
    assert stats.escalations > 0 and stats.live_handovers > 0 and stats.agent_replies > 0 and stats.feedback > 0
    days = {_utc(e["timestamp"]).date() for events in conversations.values() for e in events}
    assert (max(days) - min(days)).days > 300
    assert max(days) < AS_OF.date()
    seeded_tickets = _rows(crm, "SELECT count(*) FROM tickets WHERE conversation_id IS NOT NULL")[0][0]
    assert seeded_tickets == stats.tickets


def test_the_default_size_scales_with_the_customers_and_is_capped():
    assert default_conversations(200) > 1000
    assert default_conversations(2000) > default_conversations(200)
    assert default_conversations(1_000_000) == 20_000


def test_the_same_seed_gives_the_same_history_and_another_seed_another(tmp_path):
    def history(folder: Path, seed: int):
        folder.mkdir()
        crm, tracker, _ = _seed(folder, conversations=40, seed=seed)
        return (_rows(tracker, "SELECT sender_id, type_name, timestamp, data FROM events ORDER BY id"),
                _rows(crm, "SELECT * FROM tickets ORDER BY id"), _rows(crm, "SELECT * FROM feedback ORDER BY id"))

    first, again, other = history(tmp_path / "a", 7), history(tmp_path / "b", 7), history(tmp_path / "c", 8)
    assert first == again
    assert first[0] != other[0]


def test_every_ticket_and_rating_belongs_to_a_stored_conversation_of_its_customer_and_channel(seeded, conversations):
    crm, _, _ = seeded
    tickets = _rows(crm, "SELECT id, customer_id, channel, conversation_id, created_at FROM tickets "
                         "WHERE conversation_id IS NOT NULL")
    ratings = _rows(crm, "SELECT id, customer_id, channel, conversation_id, created_at, csat FROM feedback "
                         "WHERE conversation_id IS NOT NULL")
    assert tickets and ratings
    for _, customer_id, channel, conversation_id, created_at, *_ in tickets + ratings:
        events = conversations[conversation_id]
        users = [e for e in events if e["event"] == "user"]
        assert users, conversation_id
        assert {e["input_channel"] for e in users} == {channel}
        assert channel == (TELEGRAM if conversation_id.startswith("tg:") else WEB)
        owners = {(e.get("metadata") or {}).get("identity", {}).get("cid") for e in users}
        assert owners == {customer_id}
        assert any(_utc(e["timestamp"]) <= _when(created_at) for e in users)
    for *_, csat in ratings:
        assert 1 <= csat <= 5


def test_ratings_are_the_customers_answers_to_the_csat_question(seeded, conversations):
    crm, _, _ = seeded
    for conversation_id, created_at, csat in _rows(crm, "SELECT conversation_id, created_at, csat FROM feedback "
                                                       "WHERE conversation_id IS NOT NULL"):
        before = [e for e in conversations[conversation_id] if _utc(e["timestamp"]) <= _when(created_at)]
        assert str(csat) in [e["text"] for e in before if e["event"] == "user"]
        assert any(e["event"] == "slot" and e["name"] == "csat" and e["value"] == str(csat) for e in before)


def test_agents_reply_only_in_escalated_conversations_after_the_escalation_and_the_bot_pauses(seeded, conversations):
    crm, _, _ = seeded
    escalated = defaultdict(list)
    for conversation_id, created_at, claimed_at, first_response_at, assignee in _rows(
            crm, "SELECT conversation_id, created_at, claimed_at, first_response_at, assignee FROM tickets "
                 "WHERE card IS NOT NULL"):
        escalated[conversation_id].append((_when(created_at), claimed_at, first_response_at, assignee))
    replies = 0
    for conversation_id, events in conversations.items():
        paused = False
        for event in events:
            paused = {"pause": True, "resume": False, "session_started": False}.get(event["event"], paused)
            agent = (event.get("metadata") or {}).get("agent") if event["event"] == "bot" else None
            if event["event"] == "action" and event["name"] != "action_listen":
                assert not paused, f"the bot acted in {conversation_id} while an agent held it"
            if agent is None:
                continue
            replies += 1
            assert agent in AGENTS and paused
            at = _utc(event["timestamp"])
            assert any(created <= at and claimed and _when(claimed) <= at and who == agent
                       for created, claimed, _, who in escalated[conversation_id])
    assert replies > 0


def test_escalated_tickets_carry_a_hand_over_card(seeded):
    crm, _, _ = seeded
    cards = [json.loads(card) for (card,) in _rows(crm, "SELECT card FROM tickets WHERE card IS NOT NULL")]
    assert cards
    for card in cards:
        assert {"why", "reasons", "intents", "failed_turns", "orders", "churn_score", "churn_reasons",
                "lifetime_value_cents", "sentiment_trend", "last_sentiment", "priority"} <= set(card)
    assert any(card["failed_turns"] for card in cards) or any("asked for a person" in c["reasons"] for c in cards)


def test_timestamps_run_forward_and_sessions_start_before_messages(conversations):
    for conversation_id, events in conversations.items():
        stamps = [e["timestamp"] for e in events]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), conversation_id
        assert events[0]["event"] == "action" and events[0]["name"] == "action_session_start"


def test_messages_name_only_their_customers_orders_after_they_were_placed(seeded, conversations):
    crm, _, _ = seeded
    orders = {ref: (customer_id, _when(placed)) for ref, customer_id, placed in
              _rows(crm, "SELECT reference, customer_id, placed_at FROM orders")}
    mentioned = 0
    for events in conversations.values():
        for event in events:
            if event["event"] != "user":
                continue
            for entity in event["parse_data"]["entities"]:
                assert entity["entity"] == "order_ref"
                customer_id, placed = orders[entity["value"]]
                assert event["metadata"]["identity"]["cid"] == customer_id
                assert placed < _utc(event["timestamp"])
                mentioned += 1
    assert mentioned > 0


def test_customer_messages_carry_the_scorers_sentiment(conversations):
    from bot.nlu import sentiment_scorer

    users = [e for events in conversations.values() for e in events
             if e["event"] == "user" and not e["text"].startswith("/")]  # button payloads carry no feeling
    labels = {e["parse_data"]["sentiment"]["label"] for e in users}
    assert labels == {"negative", "neutral", "positive"}
    for event in users[:300]:
        result = sentiment_scorer.score(event["text"])
        assert event["parse_data"]["sentiment"] == {"label": result.label, "score": result.score}


def test_no_personal_data_in_the_history(seeded, conversations):
    crm, _, _ = seeded
    personal = [value for row in _rows(crm, "SELECT email, name, phone FROM customers") for value in row if value]
    personal += [row[0] for row in _rows(crm, "SELECT line1 FROM addresses")]
    for events in conversations.values():
        for event in events:
            if event["event"] in ("user", "bot"):
                assert redact(event["text"]) == event["text"]
            blob = json.dumps(event)
            assert not [value for value in personal if value in blob]


def test_rasa_reads_a_seeded_conversation_back(seeded, conversations):
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    _, tracker_db, _ = seeded
    handed_over = next(c for c, events in conversations.items() if c.startswith("web:")
                       and any((e.get("metadata") or {}).get("agent") for e in events))
    store = SQLTrackerStore(Domain.load(str(PROJECT / "domain.yml")), dialect="sqlite", db=str(tracker_db))
    try:
        tracker = asyncio.run(store.retrieve(handed_over))
    finally:
        store.engine.dispose()
    assert tracker is not None and not tracker.is_paused()
    kinds = [event.type_name for event in tracker.events]
    assert "user" in kinds and "bot" in kinds and "pause" in kinds and "resume" in kinds
    assert tracker.get_latest_input_channel() == WEB
    assert [e.text for e in tracker.events if e.type_name == "user"] == \
        [e["text"] for e in conversations[handed_over] if e["event"] == "user"]


def test_forgetting_a_customer_finds_their_seeded_conversations(seeded, conversations, tmp_path):
    import shutil

    from crm_store.services import privacy
    from crm_store.unit_of_work import UnitOfWork

    crm, tracker, _ = seeded
    crm_copy, tracker_copy = tmp_path / "crm.db", tmp_path / "tracker.db"
    shutil.copy(crm, crm_copy)
    shutil.copy(tracker, tracker_copy)
    owners = defaultdict(set)
    for conversation_id, events in conversations.items():
        for event in events:
            cid = ((event.get("metadata") or {}).get("identity") or {}).get("cid") if event["event"] == "user" else None
            if cid:
                owners[cid].add(conversation_id)
    customer_id, theirs = max(owners.items(), key=lambda item: len(item[1]))
    report = privacy.forget_customer(customer_id, UnitOfWork(f"sqlite:///{crm_copy}"),
                                     tracker_store_url=f"sqlite:///{tracker_copy}", actor="cli:test")
    assert report.count("conversations") == len(theirs)
    left = {row[0] for row in _rows(tracker_copy, "SELECT DISTINCT sender_id FROM events")}
    assert not left & theirs


def test_a_store_with_conversations_is_left_alone(seeded):
    crm, tracker, _ = seeded
    before = _rows(tracker, "SELECT count(*) FROM events")
    again = seed_history(f"sqlite:///{crm}", f"sqlite:///{tracker}", 10, as_of=AS_OF, project_dir=PROJECT)
    assert again.skipped and again.conversations == 0
    assert _rows(tracker, "SELECT count(*) FROM events") == before


def test_agents_claim_answer_and_resolve_mostly_in_support_hours(seeded):
    from crm_store.policy import load_policy

    crm, _, _ = seeded
    policy = load_policy()
    moments = [_when(value) for row in _rows(crm, "SELECT claimed_at, first_response_at, closed_at FROM tickets "
                                                  "WHERE conversation_id IS NOT NULL") for value in row if value]
    assert moments
    assert sum(policy.agents_live(moment) for moment in moments) >= 0.9 * len(moments)
