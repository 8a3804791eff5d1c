"""The whole hand-over in real browsers against the real stack (`caredesk run`): a customer in the
shop's chat widget (or on Telegram, through a local fake Bot API) turns angry; an agent logged in
to the console sees the escalation arrive without reloading, claims it, reads the hand-over card,
answers with a canned reply; the customer sees it, answers, the agent sees that live; the agent
resolves, the assistant asks for a rating, the customer rates and the rating is stored.

Both browsers are headless Debian Chromium driven by Playwright. ``CAREDESK_SCREENSHOTS=docs/screenshots``
keeps the README's pictures of the queue and the conversation.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from caredesk.harness import start_stack, stop_stack
from common import identity_token
from crm_store import models
from crm_store.services import identity, users
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.fake_telegram import FakeBotApi
from tests.e2e.test_telegram import post_update, text_update
from tests.e2e.widget import log_in, open_chat, say

pytestmark = pytest.mark.e2e
SECRET = "console-test-secret-0123456789abcdef-xyz"
WEBHOOK_SECRET = "telegram-webhook-secret-for-console"
ALERT_CHAT = "-100777"
PASSWORD = "a long enough console password"
SCREENSHOTS = os.environ.get("CAREDESK_SCREENSHOTS")
ANGRY = "WHERE IS MY PARCEL?! third time i ask, this is ridiculous!!!"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    api = FakeBotApi()
    stack = start_stack(tmp_path_factory.mktemp("console"), extra_env={
        "CAREDESK_SECRET_KEY": SECRET, "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "TELEGRAM_API_URL": api.url, "AGENT_ALERT_CHAT_ID": ALERT_CHAT})
    for name in ("maria", "lars"):
        users.add_user(name, "agent", UnitOfWork(stack.database_url), password=PASSWORD)
    yield stack, api
    stop_stack(stack)
    api.server.shutdown()


@pytest.fixture
def pages(browser):
    """Two people, two browsers: the agent's console and the customer's shop."""
    agent, customer = (browser.new_context(viewport={"width": 1280, "height": 820}) for _ in range(2))
    yield agent.new_page(), customer.new_page()
    agent.close()
    customer.close()


def console_url(stack) -> str:
    return f"http://127.0.0.1:{stack.agent_port}"


def agent_logs_in(page, stack, name: str = "maria") -> None:
    page.goto(console_url(stack) + "/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#queue")
    if page.get_attribute("#presence", "data-available") != "true":
        page.click("#presence")
        page.wait_for_selector("#presence[data-available='true']")


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def _set_churn(stack, customer_id: int, score: float) -> None:
    with UnitOfWork(stack.database_url) as uow:
        customer = uow.session.get(models.Customer, customer_id)
        customer.churn_score, customer.churn_reasons = score, ["no order for 5 months", "two late deliveries"]
        uow.commit()


def _feedback(stack, conversation: str) -> list[int | None]:
    with UnitOfWork(stack.database_url) as uow:
        return list(uow.session.execute(select(models.Feedback.csat).where(
            models.Feedback.conversation_id == conversation)).scalars())


def _wait(page, condition, timeout: float = 30):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        page.wait_for_timeout(200)
    raise AssertionError("condition never held")


def test_a_web_customer_is_handed_to_an_agent_and_back_and_rates_the_help(setup, pages):
    stack, _api = setup
    agent, customer = pages
    agent_logs_in(agent, stack)
    _shot(agent, "console-queue-empty.png")

    with UnitOfWork(stack.database_url) as uow:
        ref = uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == 1, models.Order.status == "shipped")).scalars().first()
    log_in(customer, stack, 1)
    open_chat(customer)
    say(customer, f"where is order {ref}", ref)
    answer = say(customer, ANGRY, "colleague")
    assert "in the queue" in answer  # an agent is available: the customer hears a person is coming

    session = customer.get_attribute(".cd-window", "data-session")
    conversation = "web:" + identity_token.keyed_hash(session, SECRET, "web-session")
    # Arrives without a reload. (A locator, not an element handle: each queue event redraws the rows,
    # so a handle taken a moment ago may already be detached.)
    row = agent.locator(f"#queue tr.waiting[data-conversation='{conversation}']")
    expect(row).to_be_visible(timeout=30_000)
    _shot(agent, "console-queue.png")
    agent.click(f"#queue tr[data-conversation='{conversation}'] a")
    agent.wait_for_selector("#handover-card")
    card = agent.inner_text("#handover-card")
    assert "Why" in card and "Churn risk" in card and "Lifetime value" in card and "trend -" in card
    assert "negative" in agent.inner_text("#messages")  # each customer message's sentiment

    # While waiting, the assistant stays quiet: the customer's next message gets no bot answer.
    mark = customer.locator(".cd-bot, .cd-agent").count()
    customer.fill(".cd-input", "hello? anyone?")
    customer.press(".cd-input", "Enter")
    agent.wait_for_selector("#messages li.customer:has-text('anyone?')", timeout=20_000)  # seen live
    assert customer.locator(".cd-bot, .cd-agent").count() == mark

    agent.click("#claim")
    agent.wait_for_selector("#state:has-text('with maria')")
    agent.click(".canned-reply:has-text('Tracking link')")
    _wait(agent, lambda: "CD-" in agent.input_value("#reply"))
    reply = agent.input_value("#reply")
    assert "[order." not in reply  # every field filled in from the CRM
    agent.click("#reply-form button[type=submit]")
    customer.wait_for_selector(f".cd-agent:has-text('{reply[:30]}')", timeout=30_000)
    _shot(agent, "console-conversation.png")

    customer.fill(".cd-input", "ok thanks, that link works")
    customer.press(".cd-input", "Enter")
    agent.wait_for_selector("#messages li.customer:has-text('that link works')", timeout=20_000)
    agent.fill("#note", "Carrier delay; offered nothing yet")
    agent.click("#note-form button[type=submit]")
    agent.wait_for_selector("#notes li:has-text('Carrier delay')")

    agent.click("#resolve")
    customer.wait_for_selector(".cd-bot:has-text('How happy are you')", timeout=30_000)
    assert "Carrier delay" not in customer.inner_text(".cd-log")  # notes never reach the customer
    say(customer, "5", "Anything you'd like to add")
    say(customer, "no thanks", "Thank you")
    _wait(customer, lambda: _feedback(stack, conversation) == [5])

    assert "CareDesk assistant" in say(customer, "hi", "CareDesk assistant")  # the bot answers again


def test_a_telegram_customer_is_handed_over_and_the_agents_chat_is_alerted(setup, pages):
    stack, api = setup
    agent, _customer = pages
    _set_churn(stack, 2, 0.9)
    with UnitOfWork(stack.database_url) as uow:
        ref = uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == 2)).scalars().first()
    code = identity.create_link_code(2, "telegram", UnitOfWork(stack.database_url))
    agent_logs_in(agent, stack, "lars")
    before = len(api.calls)
    assert post_update(stack, text_update(880002, f"/start {code}"), secret=WEBHOOK_SECRET) == 200
    api.wait_sent(before, "now linked")
    before = len(api.calls)
    assert post_update(stack, text_update(880002, f"{ANGRY} order {ref}"), secret=WEBHOOK_SECRET) == 200
    api.wait_sent(before, "colleague")
    alert = [m for m in api.sent(before) if str(m.get("chat_id")) == ALERT_CHAT]
    alert = alert or _wait(agent, lambda: [m for m in api.sent(before) if str(m.get("chat_id")) == ALERT_CHAT])
    assert "URGENT" in alert[0]["text"] and "/conversations/tg%3A880002" in alert[0]["text"]

    agent.wait_for_selector("#queue tr[data-conversation='tg:880002']", timeout=30_000)
    agent.click("#queue tr[data-conversation='tg:880002'] a")
    agent.click("#claim")
    agent.wait_for_selector("#state:has-text('with lars')")
    agent.fill("#reply", "Hi, Lars here: I'm on it.")
    agent.click("#reply-form button[type=submit]")
    api.wait_sent(before, "Lars here")
    before = len(api.calls)
    assert post_update(stack, text_update(880002, "great, thank you"), secret=WEBHOOK_SECRET) == 200
    agent.wait_for_selector("#messages li.customer:has-text('great, thank you')", timeout=20_000)
    assert not api.sent(before)  # the assistant stays silent while lars owns the conversation
    agent.click("#resolve")
    api.wait_sent(before, "How happy are you")
