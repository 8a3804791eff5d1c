"""Agents of a running stack: real users in its CRM, each with a personal API token, and calls to
its agent API as the console makes them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from crm_store import errors
from crm_store.services import users
from crm_store.unit_of_work import UnitOfWork


def agent_token(stack, name: str = "sam", role: str = "agent") -> str:
    """The personal API token of user ``name`` in the stack's CRM (made on first use)."""
    tokens = stack.__dict__.setdefault("agent_tokens", {})
    if name not in tokens:
        try:
            tokens[name] = users.add_user(name, role, UnitOfWork(stack.database_url)).token
        except errors.InvalidInput:  # made by an earlier test module on the same CRM
            tokens[name] = users.issue_token(name, UnitOfWork(stack.database_url))
    return tokens[name]


def agent_call(stack, method: str, path: str, body: dict | None = None, *, token: str | None = None,
               headers: dict | None = None):
    """The agent API's JSON answer; an HTTP error status raises urllib.error.HTTPError."""
    sent = {"Content-Type": "application/json"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{stack.agent_port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={**sent, **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def refused_status(stack, method: str, path: str, body: dict | None = None, **kwargs) -> int:
    """The HTTP status of a call expected to fail."""
    try:
        agent_call(stack, method, path, body, **kwargs)
    except urllib.error.HTTPError as error:
        return error.code
    raise AssertionError(f"{method} {path} was accepted")


def customer_says(stack, sender: str, text: str) -> None:
    """A customer's message over the callback channel (an integration's, with its key): the replies
    go to the stack's callback URL, so the call returns once Rasa has taken the message."""
    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/callback/webhook"
    request = urllib.request.Request(url, data=json.dumps({"sender": sender, "message": text}).encode(),
                                     method="POST", headers={"Content-Type": "application/json",
                                                             "Authorization": f"Bearer {stack.rest_key()}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.read() == b"success"
