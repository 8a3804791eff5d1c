from bot.channels.web import SESSION_ID, Visitor, WebChatChannel, history_of, widget_message


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


def test_browser_metadata_is_never_passed_on_only_the_verified_identity():
    anonymous = Visitor("a" * 32, None, None)
    forged = {"customData": {"display": "Yes", "customer_id": 1, "identity_token": "x.y"}, "metadata": {"cid": 1}}
    assert WebChatChannel._metadata(anonymous, forged) == {"display": "Yes"}
    verified = Visitor("a" * 32, 7, "tok.sig")
    assert WebChatChannel._metadata(verified, {}) == {"customer_id": 7, "identity_token": "tok.sig"}


def test_only_random_hex_session_ids_are_accepted():
    assert SESSION_ID.match("0123456789abcdef0123456789abcdef")
    for bad in ("ana", "../../etc", "0123456789abcdef0123456789abcdeF", "0" * 33, ""):
        assert not SESSION_ID.match(bad)
