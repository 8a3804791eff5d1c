from bot.channels.web import SESSION_KEY, Visitor, WebChatChannel, history_of, owner_of, widget_message
from common import identity_token

KEYS = ("k" * 48,)


def test_buttons_become_quick_replies_and_a_product_list_becomes_cards():
    shown = widget_message({
        "text": "Here's what I found:\n• Kettle - €30.00",
        "buttons": [{"title": "Yes", "payload": "/affirm"}],
        "elements": [{"title": "Kettle", "subtitle": "€30.00 · in stock", "url": "/products/K1"}],
    })
    assert shown == {"text": "Here's what I found:",
                     "quick_replies": [{"title": "Yes", "payload": "/affirm"}],
                     "cards": [{"title": "Kettle", "subtitle": "€30.00 · in stock", "url": "/products/K1",
                                "buttons": []}]}


def test_an_empty_bot_message_shows_nothing():
    assert widget_message({"text": None}) is None


def test_history_shows_button_titles_agents_and_skips_internal_events():
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "/affirm", "metadata": {"display": "Yes please", "identity_token": "secret"}},
        {"event": "bot", "text": "Done.", "data": {}, "metadata": {}},
        {"event": "slot", "name": "customer_id", "value": 1},
        {"event": "bot", "text": "Sam here.", "data": {}, "metadata": {"agent": "Sam"}},
    ]
    assert history_of(events) == [
        {"from": "customer", "text": "Yes please"},
        {"from": "bot", "text": "Done."},
        {"from": "agent", "agent": "Sam", "text": "Sam here."},
    ]


def test_history_keeps_only_the_latest_messages():
    events = [{"event": "user", "text": f"m{i}"} for i in range(10)]
    assert [m["text"] for m in history_of(events, limit=3)] == ["m7", "m8", "m9"]


def test_browser_metadata_is_never_passed_on_only_the_channels_own_assertion():
    anonymous = Visitor("web:" + "a" * 32, None, "ip:abc")
    forged = {"customData": {"display": "Yes", "customer_id": 1, "identity_token": "x.y",
                             "identity": {"cid": 1, "sig": "x"}}, "metadata": {"cid": 1}}
    assert WebChatChannel._metadata(anonymous, forged, KEYS) == {"display": "Yes", "client": "ip:abc"}
    verified = Visitor("web:" + "a" * 32, 7, None)
    metadata = WebChatChannel._metadata(verified, {}, KEYS)
    assert set(metadata) == {"identity"} and "token" not in str(metadata)
    assert identity_token.asserted_customer(metadata["identity"], "web:" + "a" * 32, KEYS) == 7


def test_only_random_hex_session_keys_are_accepted():
    assert SESSION_KEY.match("0123456789abcdef0123456789abcdef")
    for bad in ("ana", "../../etc", "0123456789abcdef0123456789abcdeF", "0" * 33, ""):
        assert not SESSION_KEY.match(bad)


def test_a_conversation_belongs_to_the_customer_the_channel_asserted_or_a_valid_chat_proof_names():
    class S:
        signing_keys = KEYS

    said = [{"event": "user", "text": "hi", "metadata": {"identity": {"cid": 4}}}]
    assert owner_of(said, "web:x", S) == (4, False)
    proof = identity_token.chat_proof("web:x", 5, KEYS, ttl_s=60, now=1000)
    verified = [{"event": "user", "text": "hi"}, {"event": "slot", "name": "verified", "value": proof}]
    assert owner_of(verified, "web:x", S, now=1010) == (5, True)
    assert owner_of(verified, "web:x", S, now=2000) == (5, False)  # expired: still owned, not reopened
    assert owner_of([{"event": "user", "text": "hi"}], "web:x", S) == (None, False)
