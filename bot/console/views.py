"""The console's pages and the requests its pages make (session cookie + CSRF token)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import asdict
from datetime import datetime

from aiohttp import web

from bot.console import conversations
from bot.console.auth import COOKIE, LOGIN_COOKIE, admin_only, client_of
from bot.console.http import (
    DATABASE_URL,
    LOGIN_THROTTLE,
    RASA,
    SECURE_COOKIES,
    act,
    body_of,
    form_of,
    json_response,
    refusal,
    render,
    send_reply,
    uow_of,
)
from bot.console.rasa_client import RasaUnavailable
from crm_store import errors
from crm_store.policy import load_policy
from crm_store.services import audit, handover, presence, sessions, users

# --- logging in and out -------------------------------------------------------------------------

async def login_page(request: web.Request) -> web.Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", login_csrf=token, error=None)
    _set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Strict", path="/",
                        secure=request.app[SECURE_COOKIES])


async def login(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    username = str(form.get("username") or "").strip().lower()[:64]
    expected, supplied = request.cookies.get(LOGIN_COOKIE), form.get("csrf_token")
    if not expected or not isinstance(supplied, str) or not hmac.compare_digest(expected, supplied):
        return web.json_response({"error": "csrf", "message": "reload the log-in page and try again"}, status=403)
    throttle, client = request.app[LOGIN_THROTTLE], client_of(request)
    attempt = throttle.attempt(username, client)  # counted before the check: parallel guesses count too
    if attempt is None:
        return render(request, "login.html", status=429, login_csrf=expected,
                      error="Too many failed log-ins. Wait a few minutes and try again.")
    found = await asyncio.to_thread(sessions.log_in, username, str(form.get("password") or ""), uow_of(request),
                                    client=client)
    if found is None:
        return render(request, "login.html", status=401, login_csrf=expected, error="Wrong user name or password.")
    throttle.succeeded(username, client, attempt)
    response = web.HTTPSeeOther("/")
    _set_cookie(request, response, COOKIE, found.token, max_age=int(sessions.LIFETIME.total_seconds()))
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    await asyncio.to_thread(sessions.log_out, request.cookies.get(COOKIE), uow_of(request))
    await asyncio.to_thread(presence.set_available, request["user"].id, False, uow_of(request),
                            actor=request["user"].username)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


# --- the queue ----------------------------------------------------------------------------------

def queue_rows(entries: list[handover.QueueEntry]) -> list[dict]:
    rows = []
    for entry in entries:
        card = entry.ticket.card
        rows.append({
            "conversation_id": entry.ticket.conversation_id, "ticket_id": entry.ticket.id,
            "priority": entry.ticket.priority, "reason": entry.ticket.reason, "channel": entry.ticket.channel,
            "state": entry.state, "assignee": entry.ticket.assignee, "risk": entry.risk,
            "waiting_minutes": entry.waiting_minutes, "due_in_seconds": entry.due_in_seconds,
            "answered": entry.ticket.first_response_at is not None,
            "last_sentiment": card.get("last_sentiment"), "churn_score": card.get("churn_score"),
            "why": card.get("why") or entry.ticket.reason,
        })
    return rows


async def _queue(request: web.Request) -> list[dict]:
    return queue_rows(await asyncio.to_thread(handover.queue, uow_of(request)))


async def queue_page(request: web.Request) -> web.Response:
    user = request["user"]
    available = await asyncio.to_thread(presence.is_available, user.id, uow_of(request))
    return render(request, "queue.html", rows=await _queue(request), available=available,
                  target_minutes=load_policy().live_reply_minutes)


async def queue_json(request: web.Request) -> web.Response:
    return json_response({"queue": await _queue(request)})


async def set_presence(request: web.Request) -> web.Response:
    body = await body_of(request)
    user = request["user"]
    await asyncio.to_thread(presence.set_available, user.id, bool(body.get("available")), uow_of(request),
                            actor=user.username)
    return json_response({"available": bool(body.get("available"))})


# --- one conversation ---------------------------------------------------------------------------

async def conversation_page(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    try:
        tracker = await request.app[RASA].tracker(conversation_id)
    except RasaUnavailable as exc:
        return render(request, "error.html", status=502, message=f"The assistant cannot be reached: {exc}")
    ticket = await asyncio.to_thread(handover.latest_ticket, conversation_id, uow_of(request))
    owner = await asyncio.to_thread(handover.owner, conversation_id, uow_of(request))
    profile = None
    if ticket is not None and ticket.customer_id is not None:
        profile = await asyncio.to_thread(handover.profile, ticket.customer_id, uow_of(request))
    notes = await asyncio.to_thread(handover.notes, conversation_id, uow_of(request))
    colleagues = [u.username for u in await asyncio.to_thread(users.list_users, uow_of(request))
                  if not u.disabled and u.role in handover.WORKERS and u.username != request["user"].username]
    messages = conversations.transcript(tracker)
    if not messages and ticket is None:
        raise web.HTTPNotFound(text="No such conversation.")
    return render(request, "conversation.html", conversation_id=conversation_id, messages=messages, ticket=ticket,
                  card=ticket.card if ticket else {}, owner=owner, profile=profile, notes=notes,
                  colleagues=colleagues, canned=load_policy().canned_replies, paused=tracker.get("paused", False))


async def claim(request: web.Request) -> web.Response:
    return await act(request, conversations.claim(request.app[RASA], request.app[DATABASE_URL],
                                                   request.match_info["conversation_id"], request["user"].username))


async def transfer(request: web.Request) -> web.Response:
    body = await body_of(request)
    user = request["user"]
    return await act(request, conversations.transfer(request.app[DATABASE_URL], request.match_info["conversation_id"],
                                                      str(body.get("to") or ""), user.username, user.role))


async def reply(request: web.Request) -> web.Response:
    return await send_reply(request)


async def resolve(request: web.Request) -> web.Response:
    user = request["user"]
    return await act(request, conversations.resolve(request.app[RASA], request.app[DATABASE_URL],
                                                     request.match_info["conversation_id"], user.username, user.role))


async def add_note(request: web.Request) -> web.Response:
    body = await body_of(request)
    try:
        note = await asyncio.to_thread(handover.add_note, request.match_info["conversation_id"],
                                       str(body.get("text") or ""), request["user"].username, uow_of(request))
    except errors.CareDeskError as exc:
        return refusal(exc)
    return json_response({"ok": True, "note": asdict(note)})


async def canned(request: web.Request) -> web.Response:
    """A canned reply with the CRM's fields filled in, for the agent to read before sending."""
    body = await body_of(request)
    replies = load_policy().canned_replies
    index = body.get("index")
    if not isinstance(index, int) or not 0 <= index < len(replies):
        return json_response({"error": "bad_index", "message": f"index must be 0 to {len(replies) - 1}"}, 400)
    conversation_id = request.match_info["conversation_id"]
    ticket = await asyncio.to_thread(handover.latest_ticket, conversation_id, uow_of(request))
    orders = (ticket.card.get("orders") or []) if ticket else []
    text = await asyncio.to_thread(handover.fill_canned, replies[index].text, ticket.customer_id if ticket else None,
                                   orders[-1] if orders else None, uow_of(request))
    return json_response({"text": text})


# --- admins -------------------------------------------------------------------------------------

@admin_only
async def admin_page(request: web.Request) -> web.Response:
    """Admins only: the people who use the console and what they did (reports come here too)."""
    entries = await asyncio.to_thread(audit.recent, uow_of(request))
    people = await asyncio.to_thread(users.list_users, uow_of(request))
    return render(request, "admin.html", audit=entries, people=people, now=datetime.utcnow())


def add_routes(app: web.Application) -> None:
    conversation = "/conversations/{conversation_id}"
    app.add_routes([
        web.get("/login", login_page), web.post("/login", login), web.post("/logout", logout),
        web.get("/", queue_page), web.get("/queue.json", queue_json), web.post("/presence", set_presence),
        web.get(conversation, conversation_page),
        web.post(conversation + "/claim", claim), web.post(conversation + "/transfer", transfer),
        web.post(conversation + "/reply", reply), web.post(conversation + "/resolve", resolve),
        web.post(conversation + "/notes", add_note), web.post(conversation + "/canned", canned),
        web.get("/admin", admin_page),
    ])
