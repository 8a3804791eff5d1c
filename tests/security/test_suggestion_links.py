"""Attacks on the follow counts: a chat suggestion's "Add to basket" link names the suggestion it came
from, and the shop counts it as followed. Anyone can call the shop's product page, so the id must be
signed by the action server (CAREDESK_SECRET_KEY) and bound to the product: otherwise anyone could
mark every suggestion shown to anyone as followed and inflate the reports' follow rates.

The shop runs in process (aiohttp's test server over real HTTP) on a real, seeded CRM (SQLite).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.shop.app import create_app
from common import identity_token
from common.settings import load_settings
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import catalog, suggestions
from crm_store.unit_of_work import UnitOfWork

SECRET = "suggestion-link-secret-0123456789abcdef"
OTHER_SECRET = "someone-elses-secret-0123456789abcdefgh"


@pytest.fixture(scope="module")
def crm_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('links') / 'crm.db'}"
    upgrade(url)
    seed_shop(url, customers=8, seed=7, as_of=datetime(2026, 6, 1))
    return url


@pytest.fixture
def settings(crm_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", crm_url)
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CAREDESK_SECRET_KEY", SECRET)
    return load_settings()


def _shown(crm_url: str, n: int = 3) -> list[tuple[int, str]]:
    """``n`` suggestions shown in someone's conversation: (id, SKU)."""
    skus = [p.sku for p in catalog.search_products(UnitOfWork(crm_url), limit=n)]
    ids = suggestions.record_shown(UnitOfWork(crm_url), conversation_id="web:victim", channel="socketio",
                                   customer_id=None, products=[suggestions.Shown(s, "popular") for s in skus])
    return list(zip(ids, skus, strict=True))


async def _open(settings, path: str) -> int:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        return (await client.get(path)).status
    finally:
        await client.close()


def _followed(crm_url: str) -> int:
    return suggestions.follow_rate(UnitOfWork(crm_url)).followed


async def test_an_unsigned_suggestion_id_is_not_counted_as_followed(settings, crm_url):
    before = _followed(crm_url)
    for suggestion_id, sku in _shown(crm_url):
        assert await _open(settings, f"/products/{sku}?suggestion={suggestion_id}&add=1") == 200  # the page still shows
    assert _followed(crm_url) == before


async def test_a_forged_or_borrowed_signature_is_not_counted(settings, crm_url):
    before = _followed(crm_url)
    (first, first_sku), (second, second_sku), (third, third_sku) = _shown(crm_url)
    good_for_first = identity_token.suggestion_signature(first, first_sku, SECRET)
    attempts = [
        f"/products/{second_sku}?suggestion={second}&sig={good_for_first}",  # another suggestion's signature
        f"/products/{first_sku}?suggestion={second}&sig={good_for_first}",
        f"/products/{second_sku}?suggestion={first}&sig={good_for_first}",  # the right id on another product
        f"/products/{third_sku}?suggestion={third}&sig="
        + identity_token.suggestion_signature(third, third_sku, OTHER_SECRET),  # signed with another key
        f"/products/{third_sku}?suggestion={third}&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        f"/products/{third_sku}?suggestion={third}&sig=%C3%A9%00",
    ]
    for path in attempts:
        assert await _open(settings, path) == 200
    assert _followed(crm_url) == before


async def test_the_link_the_chat_signed_is_counted_once(settings, crm_url):
    before = _followed(crm_url)
    (suggestion_id, sku), *_ = _shown(crm_url)
    signature = identity_token.suggestion_signature(suggestion_id, sku, SECRET)
    link = f"/products/{sku}?suggestion={suggestion_id}&sig={signature}&add=1"
    assert await _open(settings, link) == 200
    assert await _open(settings, link) == 200
    assert _followed(crm_url) == before + 1
