"""The agent API: what the agent console calls to take over a conversation and give it back.

    python -m bot.console.agent_api           (started by `caredesk run`, on CAREDESK_HOST only)

Every route but /health needs ``Authorization: Bearer <personal API token>``: each agent has their
own (``caredesk users add NAME --role agent`` prints it once; ``caredesk users token NAME`` replaces
it; ``caredesk users disable NAME`` ends it). There is no shared token. The user the token belongs
to is who acted: they are assigned the ticket, named in the audit log, and shown to the customer
beside their messages. An ``agent`` field in a request body is ignored. A missing, unknown,
replaced or disabled user's token gets 401.

    GET  /api/tickets                              open tickets, most urgent first
    GET  /api/conversations/{id}                   the transcript (customer, bot and agent messages)
    POST /api/conversations/{id}/messages          {"text": "..."}: sent through the customer's own
                                                   channel, signed with the agent's user name
    POST /api/conversations/{id}/resume            the assistant takes over again
    GET  /api/me                                   who the token belongs to
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from dataclasses import asdict

from aiohttp import web

from bot.console.rasa_client import RasaClient, RasaUnavailable
from caredesk.settings import get_settings
from crm_store.services import tickets, users
from crm_store.unit_of_work import UnitOfWork

log = logging.getLogger("caredesk.agent_api")
MAX_MESSAGE = 4000
BACK_TO_BOT = "You're back with the CareDesk assistant. Is there anything else I can help with?"


def _json(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


def _error(status: int, code: str, message: str) -> web.Response:
    return _json({"error": code, "message": message}, status)


@web.middleware
async def authenticate(request: web.Request, handler):
    """Resolve the bearer token to an enabled user (``request["user"]``), or answer 401."""
    if request.path == "/health":
        return await handler(request)
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    user = None
    if scheme.lower() == "bearer" and supplied.strip():
        user = await asyncio.to_thread(users.user_for_token, supplied.strip(), UnitOfWork(request.app["database_url"]))
    if user is None:
        response = _error(401, "unauthorised", "a valid personal API token of an enabled user is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="caredesk-agent-api"'
        return response
    request["user"] = user
    return await handler(request)


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text=json.dumps({"error": "bad_json", "message": "the body must be JSON"}),
                                 content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "bad_json", "message": "the body must be an object"}),
                                 content_type="application/json")
    return body


def _agent(request: web.Request) -> str:
    """The user name of whoever the token belongs to (never a name the body gives)."""
    return request["user"].username


def _tickets_of(request: web.Request, conversation_id: str):
    return tickets.active_tickets_for_conversation(conversation_id, UnitOfWork(request.app["database_url"]))


async def health(_request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def me(request: web.Request) -> web.Response:
    user = request["user"]
    return _json({"username": user.username, "role": user.role})


async def list_open_tickets(request: web.Request) -> web.Response:
    found = tickets.list_tickets(UnitOfWork(request.app["database_url"]), status=("open", "assigned"), limit=400)
    return _json({"tickets": [asdict(t) for t in found]})


async def transcript(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    try:
        tracker = await request.app["rasa"].tracker(conversation_id)
    except RasaUnavailable as exc:
        return _error(502, "rasa_unavailable", str(exc))
    messages = [{"from": "customer" if e["event"] == "user" else ((e.get("metadata") or {}).get("agent") or "bot"),
                 "text": e.get("text"), "at": e.get("timestamp"),
                 "sentiment": (e.get("parse_data") or {}).get("sentiment")}
                for e in tracker.get("events", []) if e.get("event") in ("user", "bot")]
    return _json({"conversation_id": conversation_id, "paused": tracker.get("paused", False), "messages": messages})


async def send_message(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    body = await _body(request)
    agent = _agent(request)
    text = str(body.get("text") or "").strip()
    if not text or len(text) > MAX_MESSAGE:
        return _error(400, "bad_text", f"text must have 1 to {MAX_MESSAGE} characters")
    try:
        await request.app["rasa"].append(conversation_id, [{"event": "bot", "text": text,
                                                             "metadata": {"agent": agent}}], deliver=True)
    except RasaUnavailable as exc:
        return _error(502, "rasa_unavailable", str(exc))
    for ticket in _tickets_of(request, conversation_id):
        if ticket.status == "open":
            tickets.assign_ticket(ticket.id, agent, UnitOfWork(request.app["database_url"]))
    return _json({"sent": True})


async def resume(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    agent = _agent(request)
    try:
        await request.app["rasa"].append(conversation_id, [
            {"event": "resume"},
            {"event": "slot", "name": "escalated_ticket", "value": None},
            {"event": "bot", "text": BACK_TO_BOT},
            # The bot listens afresh: the rules then read the next message as a new turn.
            {"event": "action", "name": "action_listen"},
        ], deliver=True)
    except RasaUnavailable as exc:
        return _error(502, "rasa_unavailable", str(exc))
    for ticket in _tickets_of(request, conversation_id):
        tickets.close_ticket(ticket.id, UnitOfWork(request.app["database_url"]), actor=agent)
    return _json({"resumed": True})


def create_app(*, rasa_url: str, rasa_token: str, database_url: str) -> web.Application:
    app = web.Application(middlewares=[authenticate], client_max_size=64 * 1024)
    app["database_url"] = database_url
    app["rasa"] = RasaClient(rasa_url, rasa_token)
    app.add_routes([
        web.get("/health", health),
        web.get("/api/me", me),
        web.get("/api/tickets", list_open_tickets),
        web.get("/api/conversations/{conversation_id}", transcript),
        web.post("/api/conversations/{conversation_id}/messages", send_message),
        web.post("/api/conversations/{conversation_id}/resume", resume),
    ])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="CareDesk agent API")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    settings = get_settings()
    logging.basicConfig(level=logging.INFO)
    app = create_app(rasa_url=settings.rasa_url, rasa_token=settings.rasa_api_token,
                     database_url=settings.database_url)
    web.run_app(app, host=settings.host, port=args.port or settings.agent_api_port, print=None)


if __name__ == "__main__":
    main()
