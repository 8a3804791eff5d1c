"""The tracker store as Rasa builds it from our endpoints (SQLite and PostgreSQL) with a real event
broker (Rasa's file broker): the database and the broker get redacted copies of each new event,
exactly once, while the tracker the actions used during the turn keeps what the customer wrote."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text

from bot.tracker_store import RedactingSQLTrackerStore, redacted_event, redacted_metadata

EMAIL = "ana.lopez@example.com"
PHONE = "+49 30 1234567"
CARD = "4111 1111 1111 1111"
SIGNATURE = "c2lnbmF0dXJlLW9mLXRoZS1jaGFubmVs"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
ADDRESS = "5 Elm Avenue, 3511 AB Utrecht, NL"
SECRETS = (EMAIL, "1234567", "4111", SIGNATURE, BEARER, "Elm Avenue", "3511")


@pytest.fixture
def store_and_broker(tracker_store_url, tmp_path, monkeypatch):
    """The store Rasa creates from the endpoints ``caredesk run`` writes, with a file event broker."""
    from rasa.core.brokers.file import FileEventBroker
    from rasa.core.tracker_store import create_tracker_store
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from caredesk.runner import endpoints_config
    from common.settings import load_settings

    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    settings = replace(load_settings(), tracker_store_url=tracker_store_url)
    endpoint = EndpointConfig.from_dict(endpoints_config(settings)["tracker_store"])
    broker_file = tmp_path / "broker.log"
    broker = FileEventBroker(str(broker_file))
    store = create_tracker_store(endpoint, Domain.load("domain.yml"), broker)
    assert isinstance(store, RedactingSQLTrackerStore)
    yield store, broker_file
    store.engine.dispose()


def _stored(store, sender_id: str) -> list[dict]:
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender_id})
        return [json.loads(row[0]) for row in rows]


def _streamed(broker_file, sender_id: str) -> list[dict]:
    if not broker_file.exists():
        return []
    events = [json.loads(line) for line in broker_file.read_text().splitlines() if line.strip()]
    return [e for e in events if e.get("sender_id") == sender_id]


def _turn_with_personal_data():
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    message = f"my email is {EMAIL}, call {PHONE}, card {CARD}"
    return [
        UserUttered(message, intent={"name": "inform", "confidence": 0.9},
                    entities=[{"entity": "email", "value": EMAIL, "start": 12, "end": 33}],
                    parse_data={"text": message, "intent": {"name": "inform", "confidence": 0.9},
                                "entities": [{"entity": "email", "value": EMAIL, "start": 12, "end": 33},
                                             {"entity": "order_ref", "value": "CD-7KQ2MX"}]},
                    metadata={"identity": {"cid": 1, "sig": SIGNATURE}, "client": "3f2a", "display": message,
                              "identity_token": BEARER, "anything_else": EMAIL}),
        ActionExecuted("verify_form"),
        SlotSet("email", EMAIL),
        SlotSet("verified", "1.1900000000.proof"),
        UserUttered(ADDRESS, intent={"name": "inform", "confidence": 0.9}),
        SlotSet("new_address", ADDRESS),
        BotUttered(f"Done: order CD-7KQ2MX will go to {ADDRESS}.", metadata={"utter_action": "x", "agent": None}),
    ]


def test_a_turn_is_stored_and_streamed_redacted_once_while_the_live_tracker_keeps_the_values(store_and_broker):
    store, broker_file = store_and_broker
    sender = "api:privacy-test"

    async def scenario():
        tracker = await store.get_or_create_tracker(sender)
        before = len(_stored(store, sender))
        for event in _turn_with_personal_data():
            tracker.update(event)
        await store.save(tracker)
        return tracker, before

    tracker, before = asyncio.run(scenario())

    # The actions of this turn had the real values, and saving did not take them away.
    assert tracker.get_slot("email") == EMAIL and tracker.get_slot("new_address") == ADDRESS
    assert tracker.latest_message.text == ADDRESS
    assert EMAIL in tracker.events[-7].text and tracker.events[-7].metadata["identity"]["sig"] == SIGNATURE

    stored, streamed = _stored(store, sender), _streamed(broker_file, sender)
    assert len(stored) == before + 7 and len(streamed) == len(stored)  # each event once, none lost
    for where in (json.dumps(stored), json.dumps(streamed)):
        for secret in SECRETS:
            assert secret not in where, secret
    user = [e for e in stored if e["event"] == "user"][0]
    assert user["metadata"] == {"identity": {"cid": 1}, "client": "3f2a",
                                "display": "my email is [email], call [phone], card [card]"}
    assert user["text"] == user["parse_data"]["text"] == "my email is [email], call [phone], card [card]"
    assert [e["value"] for e in user["parse_data"]["entities"]] == ["[email]", "CD-7KQ2MX"]
    slots = {e["name"]: e["value"] for e in stored if e["event"] == "slot"}
    assert slots == {"email": "[email]", "verified": "1.1900000000.proof", "new_address": "[address]"}
    assert [e["text"] for e in stored if e["event"] == "user"][1] == "[address]"
    assert [e["text"] for e in stored if e["event"] == "bot"] == ["Done: order CD-7KQ2MX will go to [address]."]


def test_the_next_turn_starts_from_the_redacted_events_and_adds_only_its_own(store_and_broker):
    from rasa.shared.core.events import BotUttered, UserUttered

    store, broker_file = store_and_broker
    sender = "api:privacy-next-turn"

    async def scenario():
        tracker = await store.get_or_create_tracker(sender)
        for event in _turn_with_personal_data():
            tracker.update(event)
        await store.save(tracker)
        first = len(_stored(store, sender))
        again = await store.retrieve(sender)
        again.update(UserUttered("where is CD-7KQ2MX? my phone is 0612345678",
                                 intent={"name": "track_order", "confidence": 0.9}))
        again.update(BotUttered("It is on its way."))
        await store.save(again)
        return again, first

    again, first = asyncio.run(scenario())
    assert again.get_slot("email") == "[email]"  # what the store keeps is what the next turn sees
    stored, streamed = _stored(store, sender), _streamed(broker_file, sender)
    assert len(stored) == first + 2 and len(streamed) == len(stored)
    assert [e["text"] for e in stored[-2:]] == ["where is CD-7KQ2MX? my phone is [phone]", "It is on its way."]
    assert [e["text"] for e in streamed[-2:]] == [e["text"] for e in stored[-2:]]


def test_metadata_keeps_only_the_known_keys_and_the_identity_loses_its_signature():
    assert redacted_metadata({"identity": {"cid": 7, "sig": SIGNATURE}, "chat_type": "private", "agent": "Sam",
                              "identity_token": BEARER, "customer_id": 7, "model_id": "m1"}) == {
        "identity": {"cid": 7}, "chat_type": "private", "agent": "Sam", "model_id": "m1"}
    assert redacted_metadata({"identity": {"cid": "7; drop"}}) == {}
    assert redacted_metadata(None) == {}


def test_the_session_start_copy_of_the_metadata_is_redacted_too():
    event = {"event": "slot", "name": "session_started_metadata",
             "value": {"identity": {"cid": 3, "sig": SIGNATURE}, "display": f"hi, {EMAIL}"}}
    assert redacted_event(event)["value"] == {"identity": {"cid": 3}, "display": "hi, [email]"}


def test_an_email_the_patterns_would_miss_is_hidden_because_the_entity_named_it():
    odd = "ana@localhost"
    event = {"event": "user", "text": f"it is {odd}!",
             "parse_data": {"text": f"it is {odd}!", "entities": [{"entity": "email", "value": odd}]}}
    from bot.tracker_store import redacted_events

    (copy,) = redacted_events([event])
    assert odd not in json.dumps(copy)


def test_the_tables_rasa_reads_are_unchanged(store_and_broker):
    store, _ = store_and_broker
    engine = create_engine(store.engine.url)
    with engine.connect() as connection:
        columns = connection.execute(text("SELECT * FROM events WHERE 1 = 0")).keys()
    engine.dispose()
    assert set(columns) == {"id", "sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"}


def test_values_given_as_json_are_redacted_inside_and_machine_slots_are_kept():
    from bot.tracker_store import redacted_events

    events = [{"event": "user", "text": '/inform{"order_ref": {"note": "call 0612345678"}}',
               "parse_data": {"entities": [{"entity": "order_ref", "value": {"note": "call 0612345678"}},
                                           {"entity": "product", "value": 4111111111111111}]}},
              {"event": "slot", "name": "order_ref", "value": ["CD-7KQ2MX", "ana@example.com"]},
              {"event": "slot", "name": "verified", "value": "12.1900000000.c2ln"},
              {"event": "slot", "name": "fallback_count", "value": 1.0}]
    user, order_ref, verified, fallbacks = redacted_events(events)
    assert "0612345678" not in json.dumps(user) and "4111111111111111" not in json.dumps(user)
    assert [e["value"] for e in user["parse_data"]["entities"]] == [{"note": "call [phone]"}, "[card]"]
    assert order_ref["value"] == ["CD-7KQ2MX", "[email]"]
    assert verified["value"] == "12.1900000000.c2ln" and fallbacks["value"] == 1.0
