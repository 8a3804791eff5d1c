"""Fixtures the browser tests share: one headless Chromium per test module."""

from __future__ import annotations

import pytest

from tests.e2e.widget import CHROMIUM_FLAGS, chromium_path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
