"""Telegram: real update JSON posted to the running channel; a local fake Bot API records replies."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from caredesk.harness import kill_action_server, start_stack, stop_stack, wait_for_action_server
from crm_store import models
from crm_store.services import identity, orders
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.fake_telegram import FakeBotApi

pytestmark = pytest.mark.e2e
SECRET = "telegram-webhook-secret-for-tests"
ANA_TELEGRAM_ID = 777001


@pytest.fixture(scope="module")
def telegram(tmp_path_factory):
    api = FakeBotApi()
    stack = start_stack(tmp_path_factory.mktemp("telegram"), extra_env={
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN", "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_URL": api.url})
    yield stack, api
    stop_stack(stack)
    api.server.shutdown()


_update_ids = iter(range(1000, 100000))


def post_update(stack, update: dict, secret: str = SECRET) -> int:
    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/caredesk_telegram/webhook"
    request = urllib.request.Request(url, data=json.dumps(update).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "X-Telegram-Bot-Api-Secret-Token": secret})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def text_update(user_id: int, text: str) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": "Ana"}
    return {"update_id": next(_update_ids), "message": {
        "message_id": next(_update_ids), "date": int(time.time()), "chat": {"id": user_id, "type": "private"},
        "from": user, "text": text}}


def button_update(user_id: int, data: str) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": "Ana"}
    return {"update_id": next(_update_ids), "callback_query": {
        "id": str(next(_update_ids)), "from": user, "chat_instance": "1", "data": data,
        "message": {"message_id": 1, "date": int(time.time()), "chat": {"id": user_id, "type": "private"}}}}


def tracker(stack, conversation: str) -> dict:
    url = (f"http://127.0.0.1:{stack.rasa_port}/conversations/{conversation}/tracker"
           f"?token={stack.api_token()}")
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_a_wrong_secret_is_rejected_and_nothing_is_processed(telegram):
    stack, api = telegram
    before = len(api.calls)
    assert post_update(stack, text_update(5, "hello"), secret="wrong") == 403
    assert post_update(stack, text_update(5, "hello"), secret="") == 403
    assert post_update(stack, text_update(5, "hello")) == 200  # the right secret, as a positive signal
    api.wait_sent(before, "CareDesk assistant")
    assert [e["text"] for e in tracker(stack, "tg:5")["events"] if e["event"] == "user"] == ["hello"]
    assert {int(m["chat_id"]) for m in api.sent(before)} == {5}  # one greeting: the refused updates did nothing


def test_a_malformed_update_is_acknowledged_and_ignored(telegram):
    stack, api = telegram
    before = len(api.calls)
    assert post_update(stack, {"update_id": "x", "message": 5}) == 200
    assert post_update(stack, {"something": "else"}) == 200
    assert post_update(stack, text_update(6, "hello")) == 200  # the channel still works
    api.wait_sent(before, "CareDesk assistant")
    assert {int(m["chat_id"]) for m in api.sent(before)} == {6}  # only the greeting; the malformed ones were ignored


def test_a_linked_user_gets_their_order_status_and_buttons_work(telegram):
    stack, api = telegram
    url = stack.database_url
    code = identity.create_link_code(1, "telegram", UnitOfWork(url))
    mark = len(api.calls)
    assert post_update(stack, text_update(ANA_TELEGRAM_ID, f"/start {code}")) == 200
    api.wait_sent(mark, "now linked")

    with UnitOfWork(url) as uow:
        ref = uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == 1, models.Order.status == "shipped")).scalars().first()
    truth = orders.order_status(1, ref, UnitOfWork(url))
    mark = len(api.calls)
    post_update(stack, text_update(ANA_TELEGRAM_ID, f"where is my order {ref}"))
    sent = api.wait_sent(mark, "on its way")
    assert any(truth.tracking_number in m["text"] and truth.carrier in m["text"] for m in sent)

    # Suggestions come as a message per product with an inline keyboard, and pressing a button is handled.
    mark = len(api.calls)
    post_update(stack, text_update(ANA_TELEGRAM_ID, "recommend something"))
    sent = api.wait_sent(mark, " · ")  # a card: "name\nprice · why"
    card = next(m for m in sent if " · " in (m.get("text") or ""))
    keyboard = json.loads(card["reply_markup"])["inline_keyboard"]
    assert [b["text"] for b in keyboard[0]] == ["Details", "More like this"]
    mark = len(api.calls)
    post_update(stack, button_update(ANA_TELEGRAM_ID, keyboard[0][1]["callback_data"]))
    api.wait_sent(mark, "More like " + card["text"].split("\n")[0])
    assert "answerCallbackQuery" in [method for method, _ in api.calls[mark:]]


def test_a_bad_link_code_leaves_the_user_anonymous(telegram):
    stack, api = telegram
    mark = len(api.calls)
    post_update(stack, text_update(888002, "/start not-a-real-code"))
    api.wait_sent(mark, "expired or was already used")
    mark = len(api.calls)
    post_update(stack, text_update(888002, "where is my order CD-LVK9V9"))
    sent = api.wait_sent(mark, "e-mail")
    assert not any("on its way" in m["text"] for m in sent)


def test_when_the_action_server_goes_away_the_user_is_told_and_it_comes_back(telegram):
    stack, api = telegram
    kill_action_server(stack)
    mark = len(api.calls)
    post_update(stack, text_update(888003, "where is my order CD-LVK9V9"))
    api.wait_sent(mark, "your message is saved")

    wait_for_action_server(stack)  # `caredesk run` starts it again
    mark = len(api.calls)
    post_update(stack, text_update(888003, "hello"))
    api.wait_sent(mark, "CareDesk assistant")
