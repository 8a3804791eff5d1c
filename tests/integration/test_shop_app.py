"""The demo shop app in process (aiohttp's test server over real HTTP) on a real CRM."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.shop.app import COOKIE, create_app
from common import identity_token
from common.settings import load_settings
from crm_store.services import identity
from crm_store.unit_of_work import UnitOfWork

SECRET = "shop-test-secret-0123456789abcdefghij"


@pytest.fixture
def settings(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CAREDESK_SECRET_KEY", SECRET)
    monkeypatch.setenv("CAREDESK_DEMO_LOGIN", "1")
    return load_settings()


async def _client(settings) -> TestClient:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


async def _logged_in_as(client: TestClient, customer_id: int) -> None:
    response = await client.post("/login", data={"customer_id": str(customer_id)}, allow_redirects=False)
    assert response.status == 303 and COOKIE in response.cookies


async def test_the_page_lists_demo_customers_and_products_and_a_guest_gets_no_token(settings):
    client = await _client(settings)
    try:
        page = await (await client.get("/")).text()
        assert "ana@example.com" in page and 'class="product"' in page and "/static/widget.js" in page
        token = await (await client.get("/api/chat-token")).json()
        assert token["token"] is None and token["socket_url"] == settings.rasa_url
    finally:
        await client.close()


async def test_logging_in_gives_the_widget_a_signed_token_for_that_customer(settings):
    client = await _client(settings)
    try:
        await _logged_in_as(client, 2)
        body = await (await client.get("/api/chat-token")).json()
        assert identity_token.verify(body["token"], SECRET, identity_token.CHAT_IDENTITY) == 2
        assert body["customer"] == {"id": 2}
        assert identity_token.verify(body["token"], SECRET, identity_token.LOGIN) is None
        assert identity_token.verify(client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value,
                                     SECRET, identity_token.CHAT_IDENTITY) is None  # the cookie is no chat identity
        assert "Logged in as" in await (await client.get("/")).text()
        out = await client.post("/logout", allow_redirects=False)
        assert out.headers["Clear-Site-Data"] == '"storage"'
        assert (await (await client.get("/api/chat-token")).json())["token"] is None
    finally:
        await client.close()


async def test_a_product_has_its_own_page_and_an_unknown_one_is_404(settings, db_url):
    from crm_store.services import catalog

    product = catalog.search_products(UnitOfWork(db_url), limit=1)[0]
    client = await _client(settings)
    try:
        page = await client.get(f"/products/{product.sku}")
        assert page.status == 200 and product.name in await page.text()
        assert (await client.get("/products/NOPE-0000")).status == 404
        assert (await client.get("/products/%3Cscript%3E")).status == 404
    finally:
        await client.close()


async def test_login_refuses_unknown_customers_and_other_sites(settings):
    client = await _client(settings)
    try:
        assert (await client.post("/login", data={"customer_id": "99999"})).status == 400
        assert (await client.post("/login", data={"customer_id": "1; drop table customers"})).status == 400
        other_site = await client.post("/login", data={"customer_id": "1"}, allow_redirects=False,
                                       headers={"Origin": "http://evil.example"})
        assert other_site.status == 403 and COOKIE not in other_site.cookies
    finally:
        await client.close()


async def test_continue_on_telegram_needs_a_login_and_gives_a_one_time_code(settings, db_url):
    client = await _client(settings)
    try:
        assert (await client.post("/api/telegram-link")).status == 401
        await _logged_in_as(client, 1)
        refused = await client.post("/api/telegram-link", headers={"Origin": "http://evil.example"})
        assert refused.status == 403
        link = await (await client.post("/api/telegram-link")).json()
        assert link["command"] == f"/start {link['code']}" and link["url"] is None
        assert identity.redeem_link_code(link["code"], "telegram", "4242", UnitOfWork(db_url)) == 1
    finally:
        await client.close()


async def test_with_a_bot_username_the_link_opens_telegram(settings):
    client = await _client(replace(settings, telegram_bot_username="CareDeskShopBot"))
    try:
        await _logged_in_as(client, 1)
        link = await (await client.post("/api/telegram-link")).json()
        assert link["url"] == f"https://t.me/CareDeskShopBot?start={link['code']}"
    finally:
        await client.close()


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_without_the_demo_switch_there_is_no_demo_login(settings, environment):
    client = await _client(replace(settings, environment=environment, demo_login=False))
    try:
        assert "Log in as" not in await (await client.get("/")).text()
        assert (await client.post("/login", data={"customer_id": "1"})).status == 404
    finally:
        await client.close()


async def test_pages_carry_a_content_security_policy_and_the_widget_files_are_served(settings):
    client = await _client(settings)
    try:
        page = await client.get("/")
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        for path in ("/static/widget.js", "/static/widget.css", "/static/vendor/socket.io.min.js"):
            assert (await client.get(path)).status == 200, path
    finally:
        await client.close()
