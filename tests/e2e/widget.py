"""Driving the demo shop and its chat widget in headless Chromium (Playwright), as a customer would."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """Debian's Chromium; CI fails without it, a developer's machine skips."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Chromium is not installed (make install installs Debian's chromium as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def log_in(page, stack, customer_id: int) -> None:
    """The shop's demo login as ``customer_id`` (the stack runs with --demo)."""
    page.goto(stack.shop_url)
    page.select_option("#login select", str(customer_id))
    page.click("#login button")
    page.wait_for_selector("#telegram-link")


def open_chat(page) -> None:
    if page.is_visible(".cd-launcher"):
        page.click(".cd-launcher")
    page.wait_for_selector(".cd-window[data-ready='1']")


def say(page, text: str, expect: str, timeout_ms: int = 60_000) -> str:
    """Send ``text`` and wait until a bot or agent message containing ``expect`` appears; what
    appeared since, one message per line."""
    before = page.locator(".cd-bot, .cd-agent").count()
    page.fill(".cd-input", text)
    page.press(".cd-input", "Enter")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            """([before, expect]) => {
                 const shown = [...document.querySelectorAll('.cd-bot, .cd-agent')].slice(before);
                 return shown.some(m => m.innerText.includes(expect));
               }""", arg=[before, expect], timeout=timeout_ms)
    except PlaywrightTimeout:
        shown = page.locator(".cd-bot, .cd-agent").all_inner_texts()[before:]
        raise AssertionError(f"after {text!r} no answer said {expect!r}; the chat showed {shown}") from None
    return "\n".join(page.locator(".cd-bot, .cd-agent").all_inner_texts()[before:])
