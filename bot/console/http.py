"""What every console and agent-API handler shares: JSON answers, request bodies, the unit of
work, and typed CRM refusals translated to HTTP status codes in one place."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import asdict

from aiohttp import web
from jinja2 import Environment

from bot.console import conversations
from bot.console.rasa_client import RasaClient, RasaUnavailable
from bot.console.throttle import LoginThrottle
from crm_store import errors
from crm_store.unit_of_work import UnitOfWork

MAX_MESSAGE = 4000
# What the console's application holds (aiohttp application keys).
DATABASE_URL = web.AppKey("database_url", str)
RASA = web.AppKey("rasa", RasaClient)
TEMPLATES = web.AppKey("templates", Environment)
SECURE_COOKIES = web.AppKey("secure_cookies", bool)
LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
ERROR_STATUS = {"ticket_not_found": 404, "already_claimed": 409, "not_owner": 403, "invalid_input": 400}


def uow_of(request: web.Request) -> UnitOfWork:
    return UnitOfWork(request.app[DATABASE_URL])


def render(request: web.Request, template: str, status: int = 200, **values) -> web.Response:
    session = request.get("session")
    page = request.app[TEMPLATES].get_template(template).render(
        user=request.get("user"), csrf_token=session.csrf_token if session else "", **values)
    return web.Response(text=page, content_type="text/html", status=status)


def json_response(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


def refusal(exc: errors.CareDeskError) -> web.Response:
    return json_response({"error": exc.code, "message": str(exc)}, ERROR_STATUS.get(exc.code, 400))


async def body_of(request: web.Request) -> dict:
    try:
        body = await request.json()
    except (ValueError, LookupError, RecursionError):  # not JSON, not its charset, an unknown charset, too deep
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "bad_json", "message": "the body must be a JSON object"}),
                                 content_type="application/json")
    return body

async def form_of(request: web.Request):
    """The posted form, or 400 when the body cannot be read as the form its Content-Type names
    (a multipart body without its boundary, an unknown charset)."""
    try:
        return await request.post()
    except (ValueError, LookupError):
        raise web.HTTPBadRequest(text=json.dumps({"error": "bad_form", "message": "the body is not a readable form"}),
                                 content_type="application/json") from None


def bad_text() -> web.Response:
    return json_response({"error": "bad_text", "message": f"a message has 1 to {MAX_MESSAGE} characters"}, 400)


async def act(request: web.Request, operation: Awaitable) -> web.Response:
    """Run a conversation operation; refusals and an unreachable assistant become JSON errors."""
    try:
        result = await operation
    except errors.CareDeskError as exc:
        return refusal(exc)
    except RasaUnavailable as exc:
        return json_response({"error": "rasa_unavailable", "message": str(exc)}, 502)
    return json_response({"ok": True, **(asdict(result) if hasattr(result, "__dataclass_fields__") else {})})


async def send_reply(request: web.Request) -> web.Response:
    """The signed-in user's message (JSON body ``text``) to the conversation in the path, sent in
    the customer's channel; the console's reply box and the agent API both post here."""
    body = await body_of(request)
    text = str(body.get("text") or "").strip()
    if not text or len(text) > MAX_MESSAGE:
        return bad_text()
    user = request["user"]
    return await act(request, conversations.reply(request.app[RASA], request.app[DATABASE_URL],
                                                  request.match_info["conversation_id"], text, user.username,
                                                  user.role))
