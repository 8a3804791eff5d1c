"""The console's doors, in process over real HTTP (aiohttp's test server) on a real CRM:
nothing without logging in, CSRF on every change, agents kept out of admin pages, every action
audited with the real user. The hand-over with a real Rasa and browser is in tests/e2e."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.console.app import create_app
from crm_store import models
from crm_store.services import users
from tests.support.console import PASSWORD, log_in

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
async def console(db_url, tmp_path):
    users.add_user("maria", "agent", _uow(db_url), password=PASSWORD)
    users.add_user("boss", "admin", _uow(db_url), password=PASSWORD)
    app = create_app(rasa_url="http://127.0.0.1:9", rasa_token="x", database_url=db_url,
                     tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}", poll_interval=0.2)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


def _uow(url):
    from crm_store.unit_of_work import UnitOfWork

    return UnitOfWork(url)




async def _csrf(client: TestClient) -> str:
    page = await client.get("/", headers={"Accept": "text/html"})
    return re.search(r'data-csrf="([^"]+)"', await page.text())[1]


async def test_nothing_answers_an_anonymous_caller(console):
    for path in ("/", "/queue.json", "/admin", "/conversations/web:x", "/live"):
        response = await console.get(path, allow_redirects=False)
        assert response.status == 401, path
    page = await console.get("/", headers={"Accept": "text/html"}, allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (303, "/login")
    assert (await console.post("/presence", json={"available": True})).status == 401
    assert (await console.get("/api/queue")).status == 401


async def test_a_wrong_password_is_refused_and_recorded(console, db_url):
    response = await log_in(console, "maria", "not the password")
    assert response.status == 401 and "Wrong user name or password" in await response.text()
    with _uow(db_url) as uow:
        assert uow.session.execute(select(models.AuditLog.actor).where(
            models.AuditLog.action == "login_failed")).scalars().all() == ["maria"]


async def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(console):
    response = await log_in(console, "maria")
    assert response.status == 303
    cookie = response.cookies["caredesk_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert (await console.get("/queue.json")).status == 200
    csrf = await _csrf(console)
    await console.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    console.session.cookie_jar.update_cookies({"caredesk_session": cookie.value})  # an old cookie replayed
    assert (await console.get("/queue.json")).status == 401


async def test_a_login_without_its_csrf_token_is_refused(console):
    response = await console.post("/login", data={"username": "maria", "password": PASSWORD}, allow_redirects=False)
    assert response.status == 403


async def test_a_post_without_the_sessions_csrf_token_is_refused(console, db_url):
    await log_in(console, "maria")
    assert (await console.post("/presence", json={"available": True})).status == 403
    assert (await console.post("/presence", json={"available": True},
                               headers={"X-CSRF-Token": "forged"})).status == 403
    csrf = await _csrf(console)
    assert (await console.post("/presence", json={"available": True}, headers={"X-CSRF-Token": csrf})).status == 200
    with _uow(db_url) as uow:
        assert uow.session.execute(select(models.AuditLog.actor, models.AuditLog.action).where(
            models.AuditLog.action.in_(("available", "login")))).all() == [("maria", "login"), ("maria", "available")]


async def test_agents_are_refused_admin_pages_and_admins_see_the_audit_log(console):
    await log_in(console, "maria")
    assert (await console.get("/admin", headers={"Accept": "text/html"})).status == 403
    console.session.cookie_jar.clear()
    await log_in(console, "boss")
    page = await console.get("/admin", headers={"Accept": "text/html"})
    assert page.status == 200 and "maria" in await page.text() and "login" in await page.text()


async def test_pages_forbid_framing_and_inline_scripts(console):
    await log_in(console, "maria")
    page = await console.get("/", headers={"Accept": "text/html"})
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self': no inline code
    assert "<script>" not in await page.text()


async def test_repeated_wrong_passwords_lock_the_login_for_a_while(console):
    for _ in range(5):
        assert (await log_in(console, "maria", "guess")).status == 401
    assert (await log_in(console, "maria")).status == 429


async def test_the_agent_api_takes_the_token_not_the_cookie(console, db_url):
    token = users.issue_token("maria", _uow(db_url))
    assert (await console.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status == 200
    await log_in(console, "maria")
    assert (await console.get("/api/me")).status == 401  # a cookie is no credential for the API


async def test_a_conversation_that_does_not_exist_is_not_found_or_says_the_assistant_is_down(console):
    await log_in(console, "maria")
    csrf = await _csrf(console)
    response = await console.post("/conversations/web:nothing/claim", headers={"X-CSRF-Token": csrf})
    assert response.status == 404 and (await response.json())["error"] == "ticket_not_found"
    page = await console.get("/conversations/web:nothing", headers={"Accept": "text/html"})
    assert page.status == 502 and "cannot be reached" in await page.text()


async def test_an_open_live_stream_ends_when_the_user_is_disabled(console, db_url, monkeypatch):
    import asyncio

    from bot.console import live

    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.3)
    await log_in(console, "maria")
    stream = await console.get("/live")
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    assert (await stream.content.readline()).startswith(b": connected")
    users.disable_user("maria", _uow(db_url))

    async def drain():
        while await stream.content.readline():
            pass

    await asyncio.wait_for(drain(), timeout=10)  # the server closed it: no more events for a leaver
