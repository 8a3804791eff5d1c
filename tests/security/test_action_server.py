"""The action server is reachable only by the Rasa server (issue 9, finding 1 and part of 8).

Against the real processes `caredesk run` starts: the direct call from the issue, a wrong token,
the listening socket, a deflate bomb, an oversized body, and an action that raises.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_store import models
from crm_store.unit_of_work import UnitOfWork
from tests.security.conftest import listening_addresses, listening_pid

pytestmark = pytest.mark.e2e
BEN = 2
MB = 1024 * 1024


def call(stack, body: bytes | dict, headers: dict | None = None, path: str = "/webhook",
         method: str = "POST") -> tuple[int, bytes]:
    """(status, body) of one request to the action server, whatever the status."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(f"http://127.0.0.1:{stack.action_port}{path}", method=method,
                                     data=data if method == "POST" else None,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def token(stack) -> str:
    path = stack.var_dir / "action_server_token"
    return path.read_text().strip() if path.exists() else "no-token-configured"


def authorized(stack) -> dict:
    return {"Authorization": f"Bearer {token(stack)}"}


def action_call(action: str, tracker: dict) -> dict:
    """An action call shaped as the Rasa server sends it."""
    return {"next_action": action, "sender_id": tracker.get("sender_id"), "tracker": tracker,
            "domain": {}, "version": "3.6.21"}


def issue_tracker(customer_id: int) -> dict:
    """The tracker from the issue: a stranger claims customer ``customer_id`` in a slot."""
    return {"sender_id": "x", "slots": {"customer_id": customer_id, "order_ref": None},
            "latest_message": {"text": "where is my order", "intent": {"name": "track_order"}, "entities": []},
            "events": [], "paused": False, "followup_action": None, "active_loop": {},
            "latest_action_name": "action_listen"}


def references_of(stack, customer_id: int) -> list[str]:
    with UnitOfWork(stack.database_url) as uow:
        return list(uow.session.execute(
            select(models.Order.reference).where(models.Order.customer_id == customer_id)).scalars())


def peak_memory_kb(pid: int) -> int:
    """The process's resident-set high-water mark (VmHWM): a brief spike stays visible."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_the_direct_call_from_the_issue_is_refused_before_any_action_runs(stack):
    refs = references_of(stack, BEN)
    assert refs, "the demo shop should give Ben orders"
    status, body = call(stack, action_call("action_ask_order_ref", issue_tracker(BEN)))  # the issue's call
    assert status == 401 and not [ref for ref in refs if ref.encode() in body]
    for action in ("action_ask_order_ref", "action_track_order", "action_submit_contact",
                   "action_submit_address", "action_submit_cancel"):
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": token(stack)},
                        {"Authorization": f"Bearer {token(stack)}x"}, {"Authorization": f"Basic {token(stack)}"}):
            status, body = call(stack, action_call(action, issue_tracker(BEN)), headers)
            assert status == 401, (action, headers, status)
            assert json.loads(body) == {"error": "unauthorized"}
            assert not [ref for ref in refs if ref.encode() in body]
    assert call(stack, b"", {}, "/actions", "GET")[0] == 401
    assert call(stack, b"", {}, "/health", "GET")[0] == 200  # the runner's health check stays open


def test_the_rasa_servers_token_opens_it(stack):
    # The legitimate caller: the token Rasa sends (written to the private var/endpoints.yml).
    endpoints = (stack.var_dir / "endpoints.yml").read_text()
    assert f"Bearer {token(stack)}" in endpoints
    status, body = call(stack, b"", authorized(stack), "/actions", "GET")
    assert status == 200 and {"name": "action_track_order"} in json.loads(body)
    status, body = call(stack, action_call("action_ask_order_ref", issue_tracker(BEN)), authorized(stack))
    # Even with the token, a customer_id slot proves nothing: no order of Ben's comes back.
    assert status == 200 and not [ref for ref in references_of(stack, BEN) if ref.encode() in body]


def test_the_action_server_listens_on_loopback_only(stack):
    assert listening_addresses(stack.action_port) == {"127.0.0.1"}


def test_a_deflate_bomb_is_refused_without_the_process_growing(stack):
    pid = listening_pid(stack.action_port)
    bomb = zlib.compress(b"0" * (50 * MB), 9)
    assert len(bomb) < 100 * 1024  # small on the wire: the body limit alone would not stop it
    before = peak_memory_kb(pid)
    status, body = call(stack, bomb, {**authorized(stack), "Content-Encoding": "deflate"})
    grown_mb = (peak_memory_kb(pid) - before) / 1024
    assert status == 413 and grown_mb < 16, f"status {status}; the action server grew by {grown_mb:.0f} MB"
    assert json.loads(body) == {"error": "request body too large"}
    # Without a token the bomb is not even inflated.
    assert call(stack, bomb, {"Content-Encoding": "deflate"})[0] == 401


def test_a_small_deflate_body_still_works_and_garbage_is_a_clear_400(stack):
    compressed = zlib.compress(json.dumps(action_call("action_ask_order_ref", issue_tracker(BEN))).encode())
    assert call(stack, compressed, {**authorized(stack), "Content-Encoding": "deflate"})[0] == 200
    assert call(stack, b"not deflate", {**authorized(stack), "Content-Encoding": "deflate"})[0] == 400


def test_an_oversized_body_is_refused(stack):
    padded = action_call("action_ask_order_ref", {**issue_tracker(BEN), "padding": "a" * (3 * MB)})
    status, _ = call(stack, padded, authorized(stack))
    assert status == 413


def test_a_failing_action_answers_and_logs_without_the_tracker(stack):
    marker, email = "TRACKER-MARKER-7c1d", "tracker.owner@example.com"
    # A malformed tracker (latest_message is not an object) makes the real product search raise.
    tracker = {"sender_id": marker, "slots": {"email": email, "order_ref": marker},
               "latest_message": f"{marker} {email}", "events": [{"event": "user", "text": marker}],
               "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": None}
    status, body = call(stack, action_call("action_product_search", tracker), authorized(stack))
    assert status == 500
    assert json.loads(body) == {"error": "action failed", "action_name": "action_product_search"}
    log = (stack.var_dir / "logs" / "actions.log").read_text(errors="replace")
    failure = [line for line in log.splitlines() if "action_product_search" in line and "failed" in line]
    assert failure and "AttributeError" in failure[-1]  # the operator still learns what broke, and where
    assert marker not in log and email not in log


def test_a_number_where_a_category_is_expected_gets_a_normal_answer(stack):
    # Over public REST, as in the issue: the action used to raise and Rasa logged the whole tracker.
    replies = stack.say_public("category-number", '/recommend_products{"product_category": 5}')
    text = "\n".join(r.get("text") or "" for r in replies)
    assert "What are you looking for?" in text and "couldn't finish" not in text
    rasa_log = (stack.var_dir / "logs" / "rasa.log").read_text(errors="replace")
    actions_log = (stack.var_dir / "logs" / "actions.log").read_text(errors="replace")
    assert "category-number" not in rasa_log and "Traceback" not in actions_log
