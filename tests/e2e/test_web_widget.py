"""The demo shop and its chat widget in headless Chromium, against the real stack (`caredesk run`).

The browser is Debian's Chromium driven by Playwright; the widget talks socket.io to the Rasa
server's web chat channel, which verifies the shop's signed identity token.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from caredesk.harness import kill_action_server, start_stack, stop_stack, wait_for_action_server
from caredesk.webchat_client import WebChat
from common import identity_token
from crm_store import models
from crm_store.services import identity, orders
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.agents import agent_call, agent_token
from tests.e2e.widget import log_in, open_chat, say
from tests.support.policy import always_live_policy

pytestmark = pytest.mark.e2e
SECRET = "web-widget-test-secret-0123456789abcdef"
SCREENSHOTS = os.environ.get("CAREDESK_SCREENSHOTS")  # a folder: the README's pictures are taken here


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    policy = always_live_policy(folder)
    running = start_stack(folder, extra_env={"CAREDESK_SECRET_KEY": SECRET,
                                             "CAREDESK_POLICY_FILE": str(policy)})
    yield running
    stop_stack(running)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    yield context.new_page()
    context.close()


def _order(stack, customer_id: int, status: str) -> str:
    with UnitOfWork(stack.database_url) as uow:
        return uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == customer_id, models.Order.status == status)
            .order_by(models.Order.placed_at.desc())).scalars().first()


def _history(page) -> str:
    return page.inner_text(".cd-log")


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name))


def test_a_logged_in_customer_sees_the_status_the_database_holds_and_it_survives_a_reload(stack, page):
    ref = _order(stack, 1, "shipped")
    truth = orders.order_status(1, ref, UnitOfWork(stack.database_url))
    log_in(page, stack, 1)
    open_chat(page)
    answer = say(page, f"wer is my order {ref}??", ref)
    assert "on its way" in answer and truth.carrier in answer and truth.tracking_number in answer
    assert "e-mail" not in answer  # the page's token already said who this is
    assert truth.tracking_url  # every seeded carrier has a tracking page in the policy
    assert page.locator(".cd-bot a", has_text=truth.tracking_url).count() >= 1  # links are clickable
    session = page.get_attribute(".cd-window", "data-session")
    _shot(page, "widget-order-status.png")

    page.reload()
    open_chat(page)
    history = _history(page)
    assert f"wer is my order {ref}??" in history and truth.tracking_number in history
    assert page.get_attribute(".cd-window", "data-session") == session


def test_an_anonymous_visitor_is_asked_to_verify_before_seeing_an_order(stack, page):
    ref = _order(stack, 2, "shipped")
    truth = orders.order_status(2, ref, UnitOfWork(stack.database_url))
    page.goto(stack.shop_url)
    assert "guest" in page.inner_text("#who")
    open_chat(page)
    answer = say(page, f"where is my order {ref}", "e-mail")
    assert truth.carrier not in answer and truth.tracking_number not in answer


@pytest.mark.parametrize("kind", ["forged", "expired", "garbage"])
def test_a_forged_or_expired_token_gets_no_access(stack, page, kind):
    ref = _order(stack, 1, "shipped")
    truth = orders.order_status(1, ref, UnitOfWork(stack.database_url))
    token = {"forged": identity_token.issue(1, "not-the-server-secret-at-all-0123456789", identity_token.CHAT_IDENTITY),
             "expired": identity_token.issue(1, SECRET, identity_token.CHAT_IDENTITY, ttl_s=60,
                                            now=time.time() - 7200),
             "garbage": "eyJjaWQiOjF9.bm90LWEtc2lnbmF0dXJl"}[kind]
    # The page's token endpoint is replaced by an attacker's: the channel must not believe it.
    page.route("**/api/chat-token", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({"token": token, "customer": {"id": 1}, "socket_url": f"http://127.0.0.1:{stack.rasa_port}"})))
    page.goto(stack.shop_url)
    open_chat(page)
    answer = say(page, f"status of order {ref} please", "e-mail")
    assert truth.carrier not in answer and truth.tracking_number not in answer


def test_a_forged_login_cookie_is_a_guest(stack, page):
    forged = identity_token.issue(1, "wrong-secret-0123456789abcdef0123456789", identity_token.LOGIN)
    page.context.add_cookies([{"name": "caredesk_shop", "value": forged,
                               "url": stack.shop_url}])
    page.goto(stack.shop_url)
    assert "guest" in page.inner_text("#who")
    with urllib.request.urlopen(f"{stack.shop_url}/api/chat-token", timeout=10) as response:
        assert json.loads(response.read())["token"] is None


def test_quick_replies_and_product_cards(stack, page):
    log_in(page, stack, 3)
    open_chat(page)
    say(page, "do you have hovercrafts", "category")  # nothing like it: the categories as quick replies
    buttons = page.locator(".cd-replies:not(.cd-used) .cd-reply")
    assert buttons.count() >= 2
    title = buttons.first.inner_text()
    buttons.first.click()
    page.wait_for_selector(".cd-card")
    assert page.locator(".cd-customer").last.inner_text() == title  # the button's title, not its payload
    card = page.locator(".cd-card").first
    assert card.locator("h4").inner_text() and "€" in card.inner_text()
    assert card.locator("a").get_attribute("href").startswith("/products/")
    assert [b.inner_text() for b in card.locator("button").all()] == ["Details", "More like this"]
    _shot(page, "widget-product-cards.png")


def test_an_agent_answers_in_the_widget_during_a_handoff(stack, page):
    ref = _order(stack, 1, "shipped")
    log_in(page, stack, 1)
    open_chat(page)
    say(page, f"where is order {ref}", ref)
    say(page, "WHERE IS MY PARCEL?! third time i ask, this is ridiculous!!!", "colleague")
    session = page.get_attribute(".cd-window", "data-session")
    _agent_says(stack, _conversation(session), "Hi Ana, Sam here. I've called the carrier: it arrives tomorrow.")
    page.wait_for_selector(".cd-agent:has-text('arrives tomorrow')", timeout=20_000)
    assert page.locator(".cd-agent .cd-sender").last.inner_text() == "sam"  # the user the token belongs to
    _shot(page, "widget-agent-handoff.png")

    # With the chat closed, the launcher counts what the agent sends.
    page.click(".cd-close")
    _agent_says(stack, _conversation(session), "Are you still there?")
    page.wait_for_selector(".cd-launcher .cd-badge:has-text('1')", timeout=20_000)
    page.click(".cd-launcher")
    assert page.is_hidden(".cd-badge") and "Are you still there?" in _history(page)

    # Whatever the text holds is shown as text: no markup, no script links.
    _agent_says(stack, _conversation(session), '<img src=x onerror="document.title=1"> see [this](javascript:alert(1)) '
                                'or [your orders](//evil.example/x)')
    page.wait_for_selector(".cd-agent:has-text('onerror')", timeout=20_000)
    assert page.locator(".cd-log img").count() == 0
    hrefs = page.eval_on_selector_all(".cd-log a", "links => links.map(a => a.getAttribute('href'))")
    assert not any(h.startswith(("javascript:", "//")) for h in hrefs)


def _conversation(session_key: str) -> str:
    """The tracker's id of a web session: a keyed hash of the key the page keeps."""
    return "web:" + identity_token.keyed_hash(session_key, SECRET, "web-session")


def _agent_says(stack, session: str, text: str) -> None:
    """Agent sam (a user of the stack's CRM, with their personal token) writes to the customer."""
    assert agent_call(stack, "POST", f"/api/conversations/{session}/messages", {"text": text},
                      token=agent_token(stack, "sam")) == {"sent": True}


def test_an_oversized_message_gets_a_clear_error(stack, page):
    page.goto(stack.shop_url)
    open_chat(page)
    page.evaluate("window.careDeskWidget.socket.emit('user_uttered', {message: 'x'.repeat(5000)})")
    page.wait_for_selector(".cd-error:has-text('too long')")
    say(page, "hi", "CareDesk assistant")  # the chat still works


def test_continue_on_telegram_gives_a_one_time_code_for_the_logged_in_customer(stack, page):
    log_in(page, stack, 2)
    page.click("#telegram-link")
    page.wait_for_selector("#telegram-code:has-text('/start')")
    code = page.inner_text("#telegram-code").split("/start ", 1)[1].split()[0]
    uow = UnitOfWork(stack.database_url)
    assert identity.redeem_link_code(code, "telegram", "555000", uow) == 2
    assert identity.customer_for_identity("telegram", "555000", uow) == 2


def _run(scenario):
    """Run an async scenario on a thread of its own: Playwright's sync API holds this thread's loop."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result()


def _chat(stack) -> WebChat:
    return WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url)


def test_a_turn_is_wrapped_in_typing_events_and_the_metadata_holds_the_verified_customer(stack):
    async def scenario():
        async with _chat(stack) as chat:
            session, history = await chat.session(token=identity_token.issue(2, SECRET, identity_token.CHAT_IDENTITY))
            assert history == {"messages": [], "verified": True}
            mark = len(chat.events)
            await chat.turn("hello there")
            names = [event for event, _ in chat.events[mark:]]
            assert names[0] == "typing" and names[-1] == "typing" and "bot_uttered" in names
            return session

    session = _run(scenario)
    url = f"http://127.0.0.1:{stack.rasa_port}/conversations/{_conversation(session)}/tracker?token={stack.api_token()}"
    with urllib.request.urlopen(url, timeout=30) as response:
        tracker = json.loads(response.read())
    user = [e for e in tracker["events"] if e["event"] == "user"][-1]
    assert user["input_channel"] == "caredesk_web" and user["metadata"]["identity"]["cid"] == 2
    assert "identity_token" not in user["metadata"] and "eyJ" not in json.dumps(tracker)  # no bearer token kept


def test_another_customers_session_is_not_reopened_and_bad_payloads_are_refused(stack):
    ref = _order(stack, 1, "shipped")

    async def scenario():
        async with _chat(stack) as ana:
            anas, _ = await ana.session(token=identity_token.issue(1, SECRET, identity_token.CHAT_IDENTITY))
            await ana.turn(f"where is my order {ref}")  # verified by the token: the slot now names Ana

        async with _chat(stack) as ben:
            bens, history = await ben.session(token=identity_token.issue(2, SECRET, identity_token.CHAT_IDENTITY),
                                              session_id=anas)
            assert bens != anas and history["messages"] == []

            for payload in ({"message": ""}, {"message": 42}, {"message": "x" * 2001}, "not even an object"):
                await ben.emit("user_uttered", payload)
                error = await ben.until("error")
                assert error["code"] in ("bad_message", "too_long") and error["message"]

        async with _chat(stack) as guest:  # the same browser after a logout: Ana's chat stays closed
            other, history = await guest.session(session_id=anas)
            assert other != anas and history == {"messages": [], "verified": False}

        async with _chat(stack) as again:  # Ana with her token gets her conversation back
            same, history = await again.session(token=identity_token.issue(1, SECRET, identity_token.CHAT_IDENTITY),
                                                session_id=anas)
            assert same == anas and any(ref in (m.get("text") or "") for m in history["messages"])

    _run(scenario)


def test_a_socket_from_another_site_is_refused(stack):
    async def scenario():
        async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", "http://evil.example"):
            pass

    with pytest.raises(Exception) as refused:
        _run(scenario)
    assert "400" in str(refused.value) or "closed" in str(refused.value).lower()
    url = f"http://127.0.0.1:{stack.rasa_port}/socket.io/?EIO=4&transport=polling"
    request = urllib.request.Request(url, headers={"Origin": "http://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as polling:
        urllib.request.urlopen(request, timeout=10)
    assert polling.value.code == 400


def test_when_the_action_server_goes_away_the_customer_is_told_nothing_is_lost_and_it_comes_back(stack, page):
    ref = _order(stack, 1, "shipped")
    log_in(page, stack, 1)
    open_chat(page)
    say(page, "hi", "CareDesk assistant")
    kill_action_server(stack)
    page.fill(".cd-input", f"where is my order {ref}")
    page.press(".cd-input", "Enter")
    page.wait_for_selector(".cd-error:has-text('your message is saved')", timeout=30_000)

    session = page.get_attribute(".cd-window", "data-session")
    url = f"http://127.0.0.1:{stack.rasa_port}/conversations/{_conversation(session)}/tracker?token={stack.api_token()}"
    with urllib.request.urlopen(url, timeout=30) as response:
        kept = [e["text"] for e in json.loads(response.read())["events"] if e["event"] == "user"]
    assert f"where is my order {ref}" in kept

    wait_for_action_server(stack)  # `caredesk run` starts it again
    assert "action server stopped unexpectedly" in "".join(stack.lines)
    assert "on its way" in say(page, f"where is my order {ref}", ref)
