"""The agent API: the console's operations for integrations, with a personal bearer token.

Every route needs ``Authorization: Bearer <personal API token>``: each agent has their own
(``caredesk users add NAME --role agent`` prints it once; ``caredesk users token NAME`` replaces
it; ``caredesk users disable NAME`` ends it). There is no shared token. The user the token belongs
to is who acted: they own the conversation, are named in the audit log, and shown to the customer
beside their messages. An ``agent`` field in a request body is ignored. The operations are the
console's own (bot/console/conversations.py), with the same ownership rules.

    GET  /api/me                                   who the token belongs to
    GET  /api/tickets                              open tickets, most urgent first
    GET  /api/queue                                waiting and owned conversations, highest risk first
    POST /api/presence                             {"available": true|false}: taking chats or not
    GET  /api/conversations/{id}                   the transcript (customer, bot and agent messages)
    POST /api/conversations/{id}/claim             take the waiting conversation
    POST /api/conversations/{id}/messages          {"text": "..."}: sent through the customer's own channel
    POST /api/conversations/{id}/resume            resolve: the assistant takes over and asks for a rating
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from aiohttp import web

from bot.console import conversations
from bot.console.http import DATABASE_URL, RASA, act, json_response, send_reply, uow_of
from bot.console.rasa_client import RasaUnavailable
from bot.console.views import queue_rows, set_presence
from crm_store.services import handover, tickets


async def me(request: web.Request) -> web.Response:
    user = request["user"]
    return json_response({"username": user.username, "role": user.role})


async def list_open_tickets(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(tickets.list_tickets, uow_of(request), status=("open", "assigned"), limit=400)
    return json_response({"tickets": [asdict(t) for t in found]})


async def queue(request: web.Request) -> web.Response:
    return json_response({"queue": queue_rows(await asyncio.to_thread(handover.queue, uow_of(request)))})


async def transcript(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    try:
        tracker = await request.app[RASA].tracker(conversation_id)
    except RasaUnavailable as exc:
        return json_response({"error": "rasa_unavailable", "message": str(exc)}, 502)
    return json_response({"conversation_id": conversation_id, "paused": tracker.get("paused", False),
                  "messages": conversations.transcript(tracker)})


async def claim(request: web.Request) -> web.Response:
    return await act(request, conversations.claim(request.app[RASA], request.app[DATABASE_URL],
                                                   request.match_info["conversation_id"], request["user"].username))


async def send_message(request: web.Request) -> web.Response:
    response = await send_reply(request)
    return json_response({"sent": True}) if response.status == 200 else response


async def resume(request: web.Request) -> web.Response:
    user = request["user"]
    response = await act(request, conversations.resolve(request.app[RASA], request.app[DATABASE_URL],
                                                         request.match_info["conversation_id"], user.username,
                                                         user.role))
    return json_response({"resumed": True}) if response.status == 200 else response


def add_routes(app: web.Application) -> None:
    conversation = "/api/conversations/{conversation_id}"
    app.add_routes([
        web.get("/api/me", me),
        web.get("/api/tickets", list_open_tickets),
        web.get("/api/queue", queue),
        web.post("/api/presence", set_presence),
        web.get(conversation, transcript),
        web.post(conversation + "/claim", claim),
        web.post(conversation + "/messages", send_message),
        web.post(conversation + "/resume", resume),
    ])


def main() -> None:  # the process name `caredesk run` used before the console; same server
    from bot.console.app import main as console_main

    console_main()


if __name__ == "__main__":
    main()
