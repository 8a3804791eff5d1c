"""Attacks on identity, replayed against the real running processes (`caredesk run`).

Each test first does what the legitimate customer does, then what the attacker did when the issue
was filed (issue 9), and checks that the attacker now gets nothing: no order, no carrier, no
tracking number, no change started.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error

import jwt
import pytest
from sqlalchemy import select

from caredesk.harness import post_json, start_stack, stop_stack
from caredesk.webchat_client import WebChat
from common import identity_token
from crm_store import models
from crm_store.services import identity, orders
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.fake_telegram import FakeBotApi
from tests.e2e.test_telegram import button_update, text_update

pytestmark = pytest.mark.e2e
SECRET = "security-test-secret-0123456789abcdefghij"
WEBHOOK_SECRET = "telegram-webhook-secret-for-security"
PUBLISHED = "dev-only-insecure-secret"
ANA, BEN = 1, 2
ANA_TELEGRAM = 777001


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    api = FakeBotApi()
    running = start_stack(tmp_path_factory.mktemp("impersonation"), extra_env={
        "CAREDESK_SECRET_KEY": SECRET, "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "TELEGRAM_API_URL": api.url})
    running.telegram = api
    yield running
    stop_stack(running)
    api.server.shutdown()


def telegram(stack, update: dict) -> None:
    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/caredesk_telegram/webhook"
    post_json(url, update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})


def group_update(user_id: int, chat_id: int, text: str) -> dict:
    update = text_update(user_id, text)
    update["message"]["chat"] = {"id": chat_id, "type": "group", "title": "Family"}
    return update


def shipped_order(stack, customer_id: int):
    with UnitOfWork(stack.database_url) as uow:
        ref = uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == customer_id, models.Order.status == "shipped")).scalars().first()
    return ref, orders.order_status(customer_id, ref, UnitOfWork(stack.database_url))


def leaked(replies, truth) -> bool:
    text = "\n".join(r.get("text") or "" for r in replies)
    return truth.tracking_number in text or truth.carrier in text or "on its way" in text


def bot_texts(chat) -> str:
    return "\n".join(data.get("text") or "" for event, data in chat.events if event == "bot_uttered")


def texts(replies) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def link_telegram(stack, customer_id: int, user_id: int) -> None:
    code = identity.create_link_code(customer_id, "telegram", UnitOfWork(stack.database_url))
    mark = len(stack.telegram.calls)
    telegram(stack, text_update(user_id, f"/start {code}"))
    stack.telegram.wait_sent(mark, "now linked")


def test_rest_cannot_borrow_a_telegram_customers_conversation(stack):
    ref, truth = shipped_order(stack, ANA)
    link_telegram(stack, ANA, ANA_TELEGRAM)
    mark = len(stack.telegram.calls)
    telegram(stack, text_update(ANA_TELEGRAM, f"where is my order {ref}"))
    assert any(truth.tracking_number in m["text"] for m in stack.telegram.wait_sent(mark, "on its way"))

    # The attack of the issue: the chat id as REST sender, publicly and with the integration key.
    for sender in (str(ANA_TELEGRAM), f"tg:{ANA_TELEGRAM}"):
        for say in (stack.say_public, stack.say):
            assert not leaked(say(sender, "where is my order"), truth)
            assert not leaked(say(sender, f"where is my order {ref}"), truth)
            started = say(sender, "I want to change my email address")
            assert "Your account has e-mail" not in texts(started)


def test_public_rest_verifies_nobody_and_says_where_to_go(stack):
    ref, truth = shipped_order(stack, ANA)
    replies = stack.say_public("anyone", f"where is my order {ref}")
    assert not leaked(replies, truth) and "website" in texts(replies)
    # Even with the right e-mail there is no verification to start here.
    assert not leaked(stack.say_public("anyone", "ana@example.com"), truth)
    # General questions are still answered.
    assert "deliver" in texts(stack.say_public("anyone", "what delivery options do you have")).lower()


def test_rest_cannot_borrow_a_web_customers_conversation(stack):
    ref, truth = shipped_order(stack, BEN)

    async def scenario():
        async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url) as chat:
            key, history = await chat.session(token=identity_token.issue(BEN, SECRET, identity_token.CHAT_IDENTITY))
            assert history["verified"]
            await chat.turn(f"where is my order {ref}")
            return key, bot_texts(chat)

    import asyncio

    key, answer = asyncio.run(scenario())
    assert truth.tracking_number in answer
    conversation = "web:" + identity_token.keyed_hash(key, SECRET, "web-session")
    for sender in (key, conversation, f"web:{key}"):
        for say in (stack.say_public, stack.say):
            assert not leaked(say(sender, f"where is my order {ref}"), truth)


def test_a_web_session_id_seen_in_the_tracker_store_reopens_nothing(stack):
    ref, truth = shipped_order(stack, ANA)

    async def scenario():
        async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url) as ana:
            key, _ = await ana.session(token=identity_token.issue(ANA, SECRET, identity_token.CHAT_IDENTITY))
            await ana.turn(f"where is my order {ref}")
        conversation = "web:" + identity_token.keyed_hash(key, SECRET, "web-session")
        async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url) as thief:
            for guess in (conversation, conversation[4:], key):
                got, history = await thief.session(session_id=guess)
                assert got != key and history == {"messages": [], "verified": False}

    import asyncio

    asyncio.run(scenario())


def _old_format_token(customer_id: int, secret: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(
        {"cid": customer_id, "exp": int(time.time()) + 3600}).encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(
        hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    return f"{payload}.{signature}"


def _forgeries(customer_id: int) -> dict[str, str]:
    claims = {"sub": str(customer_id), "aud": identity_token.CHAT_IDENTITY, "exp": int(time.time()) + 3600}
    return {
        "old format, published secret": _old_format_token(customer_id, PUBLISHED),
        "JWT, published secret": jwt.encode(claims, PUBLISHED, algorithm="HS256"),
        "our format, published secret": identity_token.issue(customer_id, PUBLISHED, identity_token.CHAT_IDENTITY),
        "login cookie used as chat identity": identity_token.issue(customer_id, SECRET, identity_token.LOGIN),
        "unsigned": jwt.encode(claims, None, algorithm="none"),
        "non-ASCII": "eyJ\u00e9\u00e9.\u00e9\u00e9.\u00e9",
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the published key is short
@pytest.mark.parametrize("kind", list(_forgeries(1)))
def test_forged_tokens_verify_nobody_on_web_and_rest(stack, kind):
    ref, truth = shipped_order(stack, ANA)
    token = _forgeries(ANA)[kind]

    async def scenario():
        async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url) as chat:
            _, history = await chat.session(token=token)
            assert history["verified"] is False
            await chat.turn(f"where is my order {ref}")
            return bot_texts(chat)

    import asyncio

    said = asyncio.run(scenario())
    assert said and truth.tracking_number not in said and "on its way" not in said
    sender = "forged-" + "".join(c if c.isalnum() else "-" for c in kind)  # a REST sender is an id, no spaces
    replies = stack.say(sender, f"where is my order {ref}", metadata={"identity_token": token})
    assert replies and not leaked(replies, truth)  # answered (asked to verify), not crashed


def test_a_forged_login_cookie_is_a_guest_at_the_shop(stack):
    import urllib.request

    for cookie in (_old_format_token(ANA, PUBLISHED), identity_token.issue(ANA, PUBLISHED, identity_token.LOGIN),
                   identity_token.issue(ANA, SECRET, identity_token.CHAT_IDENTITY)):
        request = urllib.request.Request(f"{stack.shop_url}/api/chat-token",
                                         headers={"Cookie": f"caredesk_shop={cookie}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["token"] is None


def test_new_sender_ids_do_not_reset_the_lock_out(stack):
    ref, truth = shipped_order(stack, BEN)
    for attempt in range(5):
        sender = f"guesser-{attempt}"
        stack.say(sender, f"where is my order {ref}")
        stack.say(sender, f"guess{attempt}@example.com")
    # A sixth conversation with the right e-mail is refused: the order itself is locked for now.
    stack.say("guesser-final", f"where is my order {ref}")
    replies = stack.say("guesser-final", "ben@example.com")
    assert not leaked(replies, truth)
    assert "paused" in texts(replies) or "too many" in texts(replies).lower()


def test_a_telegram_group_shares_no_one_s_orders(stack):
    ref, truth = shipped_order(stack, ANA)
    link_telegram(stack, ANA, ANA_TELEGRAM)
    family = -100200300
    mark = len(stack.telegram.calls)
    telegram(stack, group_update(ANA_TELEGRAM, family, f"where is my order {ref}"))
    sent = stack.telegram.wait_sent(mark, "private chat")
    assert not any(truth.tracking_number in m["text"] or truth.carrier in m["text"] for m in sent)
    # Another member pressing a "Yes" meant for her, or asking to cancel, gets nothing either.
    mark = len(stack.telegram.calls)
    telegram(stack, group_update(888999, family, f"cancel order {ref}"))
    sent = stack.telegram.wait_sent(mark, "private chat")
    press = button_update(888999, "/affirm")
    press["callback_query"]["message"]["chat"] = {"id": family, "type": "group"}
    telegram(stack, press)
    time.sleep(2)
    assert orders.order_status(ANA, ref, UnitOfWork(stack.database_url)).status == "shipped"


def test_unlink_ends_the_verified_state_at_once(stack):
    ref, truth = shipped_order(stack, ANA)
    user = 777444
    link_telegram(stack, ANA, user)
    mark = len(stack.telegram.calls)
    telegram(stack, text_update(user, f"where is my order {ref}"))
    stack.telegram.wait_sent(mark, "on its way")
    mark = len(stack.telegram.calls)
    telegram(stack, text_update(user, "/unlink"))
    stack.telegram.wait_sent(mark, "no longer linked")
    mark = len(stack.telegram.calls)
    telegram(stack, text_update(user, f"where is my order {ref}"))
    sent = stack.telegram.wait_sent(mark, "e-mail")
    assert not any(truth.tracking_number in m["text"] for m in sent)


def test_rest_refuses_oversized_malformed_and_flooding_requests_clearly(stack):
    cases = [({"sender": "x", "message": "a." * 20_000}, 413, "too_long"),
             ({"sender": "x"}, 400, "bad_message"),
             ({"sender": 5, "message": "hi"}, 400, "bad_sender"),
             ([1, 2], 400, "bad_request")]
    for payload, status, code in cases:
        with pytest.raises(urllib.error.HTTPError) as refused:
            post_json(stack.rest_url, payload)
        assert refused.value.code == status and json.loads(refused.value.read())["error"] == code
    with pytest.raises(urllib.error.HTTPError) as wrong_key:
        post_json(stack.rest_url, {"sender": "x", "message": "hi"}, headers={"Authorization": "Bearer nope"})
    assert wrong_key.value.code == 401
    statuses = []
    for _ in range(22):
        try:
            post_json(stack.rest_url, {"sender": "flood", "message": "hi"})
            statuses.append(200)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    assert statuses.count(429) >= 1 and statuses[0] == 200
    assert stack.say_public("calm", "hi")  # another conversation is unaffected
