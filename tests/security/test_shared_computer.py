"""The next person at a shared computer, in a real browser (headless Chromium) against the real stack.

When the issue was filed the widget kept every session in localStorage and the server reopened a
verified conversation for anyone holding its id: the next guest at the same computer was verified
as the previous one, and logging out changed nothing.
"""

from __future__ import annotations

import pytest

from caredesk.harness import start_stack, stop_stack
from crm_store.services import orders
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.test_web_widget import _order
from tests.e2e.widget import CHROMIUM_FLAGS, chromium_path, log_in, open_chat, say
from tests.integration.shop import customer_email

pytestmark = pytest.mark.e2e
SECRET = "shared-computer-test-secret-0123456789abc"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("shared"), extra_env={"CAREDESK_SECRET_KEY": SECRET,
                                                                        "CAREDESK_DEMO_LOGIN": "1"})
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def computer(browser):
    """One browser profile, as on a shared computer: every tab shares its storage and cookies."""
    context = browser.new_context()
    yield context
    context.close()


def test_the_next_guest_does_not_inherit_a_guest_verified_in_chat(stack, computer):
    ref = _order(stack, 2, "shipped")
    truth = orders.order_status(2, ref, UnitOfWork(stack.database_url))
    first = computer.new_page()
    first.goto(stack.shop_url)
    open_chat(first)
    say(first, f"where is my order {ref}", "e-mail")
    answer = say(first, customer_email(UnitOfWork(stack.database_url), 2), "on its way")
    assert truth.tracking_number in answer
    first.close()

    second = computer.new_page()
    second.goto(stack.shop_url)
    open_chat(second)
    assert truth.tracking_number not in second.inner_text(".cd-log")
    answer = say(second, f"where is my order {ref}", "e-mail")
    assert truth.tracking_number not in answer and truth.carrier not in answer


def test_after_logging_out_the_chat_and_its_history_are_gone(stack, computer):
    ref = _order(stack, 1, "shipped")
    truth = orders.order_status(1, ref, UnitOfWork(stack.database_url))
    page = computer.new_page()
    log_in(page, stack, 1)
    open_chat(page)
    assert truth.tracking_number in say(page, f"where is my order {ref}", "on its way")
    page.click("form[action='/logout'] button")
    page.wait_for_selector("#login")
    open_chat(page)
    assert truth.tracking_number not in page.inner_text(".cd-log")
    stored = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('caredesk.session.'))")
    assert stored == []
    answer = say(page, f"where is my order {ref}", "e-mail")
    assert truth.tracking_number not in answer
