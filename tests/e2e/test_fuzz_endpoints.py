"""Fuzzing every way in of a running CareDesk (Hypothesis, one `caredesk run` for the module):
the REST channel, the web chat's socket.io, the Telegram webhook, the agent API and the console.

Whatever arrives, the answer is below 500 and shows no traceback; a malformed request gets a clear
4xx (JSON ``error`` and ``message`` where the endpoint speaks JSON); a refused request stores
nothing (no conversation, no event, no ticket, no audit entry, no session); an accepted message is
stored as sent, under the conversation id its channel gives it, with only the metadata the channel
vouches for.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import sqlite3
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from caredesk.harness import start_stack, stop_stack
from caredesk.webchat_client import WebChat
from crm_store.services import users
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.agents import agent_token
from tests.e2e.fake_telegram import FakeBotApi
from tests.support.console import PASSWORD
from tests.support.fuzzing import (
    assert_no_leak,
    content_types,
    deeply_nested,
    fuzz,
    json_values,
    raw_bodies,
    ugly_text,
)

pytestmark = pytest.mark.e2e
SECRET = "telegram-webhook-secret-for-fuzzing"
_numbers = iter(range(10**6))


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    api = FakeBotApi()
    stack = start_stack(tmp_path_factory.mktemp("fuzz"), extra_env={
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN", "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_URL": api.url})
    yield stack, api
    stop_stack(stack)
    api.server.shutdown()


@pytest.fixture(scope="module")
def stack(running):
    return running[0]


def send(url: str, body: bytes | None = None, *, method: str = "POST", headers: dict | None = None,
         opener=None) -> tuple[int, bytes, dict]:
    """(status, body, headers) of any answer, errors included."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=60) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def assert_refused_clearly(status: int, body: bytes, where: str) -> None:
    """A 4xx with a JSON error and message (the channels' and the API's way of saying no)."""
    assert 400 <= status < 500, (where, status, body[:500])
    answer = json.loads(body)
    assert isinstance(answer, dict) and answer.get("error") and answer.get("message"), (where, answer)


# --- what is stored -------------------------------------------------------------------------------

def tracker_rows(stack, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(stack.var_dir / "tracker.db") as db:
        return db.execute(sql, params).fetchall()


def conversations(stack) -> set[str]:
    return {row[0] for row in tracker_rows(stack, "SELECT DISTINCT sender_id FROM events")}


def user_messages(stack, conversation: str) -> list[dict]:
    return [json.loads(row[0]) for row in tracker_rows(
        stack, "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", conversation)]


def crm_counts(stack) -> dict[str, int]:
    with sqlite3.connect(stack.var_dir / "crm.db") as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - our names
                for table in ("tickets", "audit_log", "console_sessions", "conversation_notes")}


# --- REST -----------------------------------------------------------------------------------------

@example(body=deeply_nested(), content_type="application/json", key=None).via("nesting past the parser's limit")
@example(body=b"{}", content_type="application/json", key="S\x1d\x94\x8f").via("found: 500 on undecodable bytes")
@fuzz(60)
@given(body=raw_bodies, content_type=content_types, key=st.none() | ugly_text)
def test_rest_refuses_a_malformed_body_clearly_and_stores_nothing(stack, body, content_type, key):
    before = conversations(stack)
    headers = {"Content-Type": content_type, **({"Authorization": f"Bearer {key}"} if key is not None else {})}
    try:
        status, answer, _ = send(stack.rest_url, body, headers=headers)
    except (UnicodeEncodeError, ValueError):
        return  # not a header value a client can send
    assert_no_leak(answer, "rest")
    if status != 200:  # a random body can be a valid message; then it is answered
        assert_refused_clearly(status, answer, "rest")
        assert conversations(stack) == before


SENDER_CHARACTERS = "abcXYZ0123456789-._~:@!$&'()*,;="


def _valid(sender, message) -> bool:
    return (isinstance(sender, str) and 0 < len(sender.strip()) <= 128
            and all(c in SENDER_CHARACTERS or c.isascii() and c.isalnum() for c in sender.strip())
            and isinstance(message, str) and bool(message.strip()) and len(message) <= 2000)


@fuzz(40)
@given(sender=ugly_text | json_values | st.text(SENDER_CHARACTERS, max_size=130),
       message=ugly_text | json_values, metadata=json_values,
       token=st.sampled_from([None, "", "x.y.z", "eyJhbGciOiJIUzI1NiJ9.e30.x", 12, ["a"], {"kid": 1}]))
def test_rest_stores_an_accepted_message_as_sent_with_only_vouched_metadata(stack, sender, message, metadata,
                                                                            token):
    if isinstance(sender, str):  # a fresh conversation each time: the rate limit is not what is tested
        sender = f"{next(_numbers)}{sender}"
    if isinstance(metadata, dict):
        metadata["identity_token"] = token
    body = json.dumps({"sender": sender, "message": message, "metadata": metadata}).encode()
    before = conversations(stack)
    status, answer, _ = send(stack.rest_url, body, headers={"Content-Type": "application/json",
                                                            "Authorization": f"Bearer {stack.rest_key()}"})
    assert_no_leak(answer, "rest")
    if not _valid(sender, message):
        assert_refused_clearly(status, answer, "rest")
        assert conversations(stack) == before
        return
    assert status == 200, answer[:500]
    assert isinstance(json.loads(answer), list)
    stored = user_messages(stack, "api:" + sender.strip())
    assert [m["text"] for m in stored] == [message.strip()]
    # Only the client's pseudonym and what Rasa adds itself; no identity from a made-up token.
    assert set(stored[0].get("metadata") or {}) <= {"client", "assistant_id", "model_id"}


# --- socket.io (the web chat widget's channel) ----------------------------------------------------

async def _chat(stack, session: object, messages: list[object]) -> list[tuple[str, object]]:
    async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url) as chat:
        await chat.emit("session_request", session)
        await chat.until("history", timeout=30)
        for data in messages:
            await chat.emit("user_uttered", data)
            valid = isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"].strip() \
                and len(data["message"]) <= 2000
            if valid:
                await chat.until("typing", lambda d: d == {"on": False}, timeout=60)
            else:
                await chat.until("error", timeout=30)
        return chat.events


@fuzz(25)
@given(session=json_values | st.fixed_dictionaries({"session_id": ugly_text | json_values,
                                                    "customData": json_values}),
       messages=st.lists(json_values | st.fixed_dictionaries({"message": ugly_text, "customData": json_values}),
                         min_size=1, max_size=3))
def test_web_chat_answers_or_refuses_anything_a_page_emits(stack, session, messages):
    events = asyncio.run(_chat(stack, session, messages))
    for name, data in events:
        assert_no_leak(json.dumps(data), f"socket.io {name}")
        if name == "error":
            assert isinstance(data, dict) and data.get("code") and data.get("message"), data


# --- Telegram -------------------------------------------------------------------------------------

def post_update(stack, body: bytes, secret: str = SECRET) -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/caredesk_telegram/webhook"
    status, answer, _ = send(url, body, headers={"Content-Type": "application/json",
                                                  "X-Telegram-Bot-Api-Secret-Token": secret})
    return status, answer


@example(body=b"", secret="S\x1d\x94\x8f").via("found: 500 on undecodable bytes")
@fuzz(40)
@given(body=raw_bodies, secret=st.sampled_from([SECRET, SECRET]) | ugly_text.filter(lambda s: s != SECRET))
def test_telegram_acknowledges_any_update_and_refuses_a_wrong_secret(running, body, secret):
    stack, api = running
    before, calls = conversations(stack), len(api.calls)
    try:
        status, answer = post_update(stack, body, secret)
    except (UnicodeEncodeError, ValueError):
        return  # not a header value a client can send
    assert_no_leak(answer, "telegram")
    if secret != SECRET:
        assert status == 403
        assert conversations(stack) == before and len(api.calls) == calls
    else:
        assert status == 200


@fuzz(30)
@given(text=ugly_text.filter(lambda t: t.strip() and not t.startswith("/")) | st.sampled_from(
    ["/start", "/start " + "x" * 70, "/start \x00", "/unlink", "/start ../../"]),
    chat_type=st.sampled_from(["private", "group", "supergroup", "channel", "no such type"]),
    user_id=st.integers(min_value=1, max_value=2**52))
def test_telegram_answers_every_text_in_its_chat(running, text, chat_type, user_id):
    stack, api = running
    chat_id = 10**6 + next(_numbers) if chat_type == "private" else -(10**6 + next(_numbers))
    update = {"update_id": next(_numbers), "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": chat_id, "type": chat_type},
        "from": {"id": user_id, "is_bot": False, "first_name": "F"}, "text": text}}
    since = len(api.calls)
    status, answer = post_update(stack, json.dumps(update).encode())
    assert (status, json.loads(answer)) == (200, {"ok": True})
    replies = [m for m in api.sent(since) if str(m.get("chat_id")) == str(chat_id)]
    assert replies, f"nothing was sent back to {chat_id} for {text!r}"
    for reply in replies:
        assert_no_leak(reply.get("text") or "", "telegram reply")


# --- the agent API --------------------------------------------------------------------------------

conversation_ids = ugly_text | st.sampled_from(["web:x", "../admin", "x/tracker", "%2e%2e", "a?token=b", "tg:1#x"])


@example(route="/resume", conversation="no-such-conversation", body=b"{}", content_type="application/json").via(
    "found: resolving a conversation with no hand-over appended events to Rasa, storing a new conversation")
@fuzz(60)
@given(route=st.sampled_from(["", "/claim", "/messages", "/resume"]), conversation=conversation_ids,
       body=raw_bodies, content_type=content_types)
def test_agent_api_refuses_bad_requests_clearly_and_changes_nothing(stack, route, conversation, body,
                                                                    content_type):
    token = agent_token(stack, "fuzzer")
    before_crm, before_conversations = crm_counts(stack), conversations(stack)
    path = f"/api/conversations/{quote(conversation, safe='')}{route}"
    status, answer, _ = send(f"http://127.0.0.1:{stack.agent_port}{path}", body if route else None,
                             method="POST" if route else "GET",
                             headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    assert status < 500 or status == 502, (status, answer[:500])  # 502: Rasa refused the id, said so
    assert_no_leak(answer, "agent api")
    if status >= 400:
        if status not in (404, 405):  # the router's own: no such route for that id
            assert_refused_clearly(status, answer, "agent api")
        assert crm_counts(stack) == before_crm
        assert conversations(stack) == before_conversations


@example(body=b"[]", content_type="application/json; charset=no-such-charset").via("found: 500")
@fuzz(30)
@given(body=raw_bodies, content_type=content_types)
def test_agent_api_presence_takes_only_a_json_object(stack, body, content_type):
    token = agent_token(stack, "fuzzer")
    status, answer, _ = send(f"http://127.0.0.1:{stack.agent_port}/api/presence", body,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    assert status < 500, (status, answer[:500])
    assert_no_leak(answer, "agent api")
    if status != 200:
        assert_refused_clearly(status, answer, "presence")


# --- the console ----------------------------------------------------------------------------------

class Browser:
    """A browser's cookie jar and the console's CSRF token once logged in."""

    def __init__(self, stack):
        self.base = f"http://127.0.0.1:{stack.agent_port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""

    def get(self, path: str, **headers) -> tuple[int, bytes, dict]:
        return send(self.base + path, method="GET", headers=headers, opener=self.opener)

    def post(self, path: str, body: bytes, **headers) -> tuple[int, bytes, dict]:
        return send(self.base + path, body, headers={"X-CSRF-Token": self.csrf, **headers}, opener=self.opener)

    def login_token(self) -> str:
        page = self.get("/login")[1].decode()
        return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]

    def log_in(self, username: str) -> None:
        form = urlencode({"username": username, "password": PASSWORD, "csrf_token": self.login_token()}).encode()
        send(self.base + "/login", form, headers={"Content-Type": "application/x-www-form-urlencoded"},
             opener=self.opener)
        page = self.get("/", Accept="text/html")[1].decode()
        self.csrf = re.search(r'data-csrf="([^"]+)"', page)[1]


@pytest.fixture(scope="module")
def admin(stack) -> Browser:
    users.add_user("fuzzadmin", "admin", UnitOfWork(stack.database_url), password=PASSWORD)
    browser = Browser(stack)
    browser.log_in("fuzzadmin")
    return browser


@example(fields={}, raw=None, content_type="multipart/form-data; boundary=xyz", keep_token=False).via("found: 500")
@fuzz(40)
@given(fields=st.dictionaries(st.sampled_from(["username", "password", "csrf_token"]) | ugly_text,
                              ugly_text | st.just("fuzzadmin"), max_size=4),
       raw=st.none() | raw_bodies, content_type=content_types, keep_token=st.booleans())
def test_console_login_refuses_bad_forms_and_opens_no_session(stack, fields, raw, content_type, keep_token):
    browser = Browser(stack)
    if keep_token:
        fields["csrf_token"] = browser.login_token()
    body = raw if raw is not None else urlencode(fields).encode("utf-8", "surrogatepass")
    before = crm_counts(stack)["console_sessions"]
    status, answer, _ = send(browser.base + "/login", body, headers={"Content-Type": content_type},
                             opener=browser.opener)
    assert status < 500, (status, answer[:500])
    assert_no_leak(answer, "login")
    assert crm_counts(stack)["console_sessions"] == before  # nobody knows the password here


@fuzz(60)
@given(action=st.sampled_from(["/presence", "/conversations/{}/notes", "/conversations/{}/transfer",
                               "/conversations/{}/canned", "/conversations/{}/reply", "/conversations/{}/claim",
                               "/conversations/{}/resolve"]),
       conversation=conversation_ids, body=raw_bodies, content_type=content_types)
def test_console_actions_refuse_bad_requests_clearly(stack, admin, action, conversation, body, content_type):
    before = crm_counts(stack)
    status, answer, _ = admin.post(action.format(quote(conversation, safe="")), body, **{"Content-Type": content_type})
    assert status < 500 or status == 502, (status, answer[:500])
    assert_no_leak(answer, "console")
    if status >= 400 and status != 502:
        after = crm_counts(stack)
        assert (after["tickets"], after["conversation_notes"]) == (before["tickets"], before["conversation_notes"])


report_params = st.dictionaries(
    st.sampled_from(["since", "until", "channel", "intent", "day", "agent", "reason", "topic", "customer",
                     "threshold"]) | ugly_text,
    ugly_text | st.sampled_from(["2026-06-01", "2026-02-30", "0000-01-01", "9999-12-31", "-1", "nan", "inf", "1e9"]),
    max_size=4)


@fuzz(60)
@given(page=st.sampled_from(["/reports", "/reports/conversations", "/reports/export/episodes.csv",
                             "/reports/export/{}.csv", "/nlu/review", "/queue.json", "/admin",
                             "/conversations/{}"]),
       table=st.from_regex(r"[a-z_]{1,20}", fullmatch=True), conversation=conversation_ids, params=report_params)
def test_console_pages_and_exports_take_any_filters(admin, page, table, conversation, params):
    path = page.format(table if "export" in page else quote(conversation, safe=""))
    query = urlencode(params, encoding="utf-8", errors="surrogatepass")
    status, answer, _ = admin.get(f"{path}?{query}", Accept="text/html")
    assert status < 500 or (status == 502 and "/conversations/" in path), (path, query, status, answer[:500])
    assert_no_leak(answer, f"{path}?{query}")


@pytest.mark.parametrize("sender", ["José", "a b", "x/y", "x?y", "x#y", "50%25", "a+b"])
def test_a_rest_sender_the_console_could_not_reach_is_refused(stack, sender):
    """Found by fuzzing: Rasa's HTTP API does not decode %-escapes in a conversation id, so the
    console read "api:José" as "api:Jos%C3%A9" (an empty conversation) and would have answered
    there. Such a sender is now refused with a clear 400; nothing is stored."""
    before = conversations(stack)
    status, answer, _ = send(stack.rest_url, json.dumps({"sender": sender, "message": "hello"}).encode(),
                             headers={"Content-Type": "application/json",
                                      "Authorization": f"Bearer {stack.rest_key()}"})
    assert_refused_clearly(status, answer, "rest")
    assert json.loads(answer)["error"] == "bad_sender"
    assert conversations(stack) == before


def test_the_agent_api_reads_a_conversation_whose_sender_has_every_allowed_character(stack):
    sender = "Ana.O'Neil-shop~1:(a)@b!$&*,;="
    stack.say(sender, "hello")
    conversation = "api:" + sender
    assert [m["text"] for m in user_messages(stack, conversation)] == ["hello"]
    before = conversations(stack)
    status, answer, _ = send(f"http://127.0.0.1:{stack.agent_port}/api/conversations/{quote(conversation, safe='')}",
                             method="GET", headers={"Authorization": f"Bearer {agent_token(stack, 'fuzzer')}"})
    assert status == 200, answer[:300]
    assert [m["text"] for m in json.loads(answer)["messages"] if m["from"] == "customer"] == ["hello"]
    assert conversations(stack) == before
