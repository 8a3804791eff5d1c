"""The agent API authenticates each agent, against the real running processes (`caredesk run`).

When issue 9 was filed the API took one shared token (``AGENT_API_TOKEN``, in development
``var/agent_api_token``) and believed the ``agent`` name in the request body. Now each request
needs the personal token of an enabled user, and what is recorded is that user.
"""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from caredesk.harness import start_stack, stop_stack
from crm_store import models
from crm_store.services import tickets, users
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.agents import agent_call, agent_token, refused_status

pytestmark = pytest.mark.e2e
OLD_SHARED_TOKEN = "the-shared-agent-token-from-before-0123456789"
ROUTES = [("GET", "/api/tickets", None), ("GET", "/api/me", None),
          ("GET", "/api/conversations/api:victim", None),
          ("POST", "/api/conversations/api:victim/messages", {"agent": "sam", "text": "hello"}),
          ("POST", "/api/conversations/api:victim/resume", {"agent": "sam"})]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agent-api")
    # What an install from before kept: the shared token in var/ and in the environment.
    (folder / "agent_api_token").write_text(OLD_SHARED_TOKEN)
    running = start_stack(folder, extra_env={"AGENT_API_TOKEN": OLD_SHARED_TOKEN})
    yield running
    stop_stack(running)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_no_token_and_the_old_shared_token_get_401_everywhere(stack, method, path, body):
    assert refused_status(stack, method, path, body) == 401
    assert refused_status(stack, method, path, body, token=OLD_SHARED_TOKEN) == 401
    assert refused_status(stack, method, path, body, headers={"Authorization": f"Basic {OLD_SHARED_TOKEN}"}) == 401
    assert refused_status(stack, method, path, body, headers={"Authorization": "Bearer "}) == 401


def test_a_disabled_users_token_and_a_replaced_token_get_401(stack):
    old = agent_token(stack, "leaver")
    assert agent_call(stack, "GET", "/api/me", token=old) == {"username": "leaver", "role": "agent"}
    newer = users.issue_token("leaver", UnitOfWork(stack.database_url))
    assert refused_status(stack, "GET", "/api/tickets", token=old) == 401
    assert agent_call(stack, "GET", "/api/me", token=newer)["username"] == "leaver"
    users.disable_user("leaver", UnitOfWork(stack.database_url))
    assert refused_status(stack, "GET", "/api/tickets", token=newer) == 401
    assert refused_status(stack, "POST", "/api/conversations/api:victim/messages", {"text": "hi"}, token=newer) == 401


def test_a_self_declared_agent_name_is_not_what_gets_recorded(stack):
    stack.say("victim", "hi")  # the customer's conversation api:victim exists, over REST
    ticket = tickets.create_ticket(UnitOfWork(stack.database_url), customer_id=1, reason="complaint",
                                   summary="late parcel", conversation_id="api:victim", channel="rest")
    sam = agent_token(stack, "sam")

    sent = agent_call(stack, "POST", "/api/conversations/api:victim/messages",
                      {"agent": "the-boss", "text": "Hello, this is the shop's director."}, token=sam)
    assert sent == {"sent": True}
    agent_call(stack, "POST", "/api/conversations/api:victim/resume", {"agent": "the-boss"}, token=sam)

    with UnitOfWork(stack.database_url) as uow:
        row = uow.session.get(models.Ticket, ticket.id)
        assert (row.assignee, row.status) == ("sam", "closed")
        actors = set(uow.session.execute(select(models.AuditLog.actor).where(
            models.AuditLog.entity == "ticket", models.AuditLog.entity_id == ticket.id,
            models.AuditLog.action.in_(("reply", "resolve")))).scalars())
    assert actors == {"sam"}
    # The name shown beside the message (to the customer and in the console) is sam's.
    transcript = agent_call(stack, "GET", "/api/conversations/api:victim", token=sam)
    director = [m for m in transcript["messages"] if m["text"] == "Hello, this is the shop's director."]
    assert [m["from"] for m in director] == ["sam"]
    assert "the-boss" not in str(transcript)


def test_the_agent_api_listens_on_the_configured_host_only(stack):
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outward interface
        outward = probe.getsockname()[0]
    except OSError:
        outward = None
    finally:
        probe.close()
    if not outward or outward.startswith("127."):
        pytest.skip("this machine has no address but loopback")
    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex((outward, stack.agent_port)) != 0
    assert agent_call(stack, "GET", "/health") == {"status": "ok"}
