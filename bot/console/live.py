"""Live updates for open consoles (server-sent events), and alerts for urgent escalations.

One background task per console process watches two stores, so it works the same whichever Rasa
or action-server process wrote: the CRM's active tickets (a new escalation, a claim, a transfer,
a resolution change the queue) and the tracker store's new message events (a customer or an agent
wrote). Each change goes to every open ``/live`` stream as one JSON event; the pages decide what
to redraw. Reading by id (``events.id > last``) costs one indexed query per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from aiohttp import web

from bot.console.auth import COOKIE
from bot.console.http import DATABASE_URL
from crm_store.services import handover, presence, sessions
from crm_store.unit_of_work import UnitOfWork

log = logging.getLogger("caredesk.console.live")
HEARTBEAT_SECONDS = 20  # keep-alive, presence and session check of an open stream
# An event goes out only if the session was found alive this recently: a logout or a disabled
# account stops the flow of customers' messages within this long, not at the next heartbeat.
SESSION_CHECK_SECONDS = 1.0


@dataclass
class Feed:
    database_url: str
    tracker_store_url: str
    interval: float = 1.0
    on_new_ticket: Callable[[dict], object] | None = None  # urgent-escalation alert
    subscribers: set[asyncio.Queue] = field(default_factory=set)
    _tickets: dict[int, tuple] = field(default_factory=dict)
    _last_event: int | None = None
    _engine: sa.engine.Engine | None = None

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=500)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.subscribers.discard(queue)

    def publish(self, event: dict) -> None:
        for queue in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled browser misses updates, not the rest
                queue.put_nowait(event)

    def _read_tickets(self) -> dict[int, tuple]:
        return {t.id: (t.status, t.assignee, t.priority, t.conversation_id, t.reason)
                for t in handover.active_tickets(UnitOfWork(self.database_url))}

    def _read_events(self) -> list[dict]:
        if self._engine is None:
            self._engine = sa.create_engine(self.tracker_store_url, pool_pre_ping=True)
        with self._engine.connect() as connection:
            if self._last_event is None:
                self._last_event = connection.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM events")).scalar_one()
                return []
            rows = connection.execute(sa.text(
                "SELECT id, sender_id, type_name, data FROM events WHERE id > :last "
                "AND type_name IN ('user', 'bot') ORDER BY id LIMIT 500"), {"last": self._last_event}).all()
        found = []
        for event_id, sender, kind, data in rows:
            self._last_event = max(self._last_event, event_id)
            body = json.loads(data) if isinstance(data, str) else (data or {})
            agent = (body.get("metadata") or {}).get("agent") if kind == "bot" else None
            found.append({"type": "message", "conversation": sender,
                          "from": "customer" if kind == "user" else (agent or "bot"), "agent": bool(agent),
                          "text": body.get("text") or "", "at": body.get("timestamp"),
                          "sentiment": (body.get("parse_data") or {}).get("sentiment") if kind == "user" else None})
        return found

    async def poll_once(self, *, first: bool = False) -> None:
        tickets = await asyncio.to_thread(self._read_tickets)
        if not first and tickets != self._tickets:
            self.publish({"type": "queue"})
            for ticket_id in sorted(set(tickets) - set(self._tickets)):
                status, _assignee, priority, conversation, reason = tickets[ticket_id]
                if self.on_new_ticket is not None:
                    await _call(self.on_new_ticket, {"id": ticket_id, "priority": priority,
                                                      "conversation_id": conversation, "reason": reason})
        self._tickets = tickets
        try:
            for event in await asyncio.to_thread(self._read_events):
                self.publish(event)
        except sa.exc.SQLAlchemyError as exc:  # no tracker store yet (Rasa creates the table on start)
            log.debug("tracker store not readable yet: %r", exc)

    async def run(self) -> None:
        first = True
        while True:
            try:
                await self.poll_once(first=first)
                first = False
            except Exception:  # keep serving the consoles; say why
                log.exception("live feed poll failed")
            await asyncio.sleep(self.interval)


async def _call(callback: Callable[[dict], object], ticket: dict) -> None:
    try:
        result = callback(ticket)
        if asyncio.iscoroutine(result):
            await result
    except Exception:
        log.exception("alert for ticket %s failed", ticket.get("id"))


async def stream(request: web.Request) -> web.StreamResponse:
    """``GET /live``: the event stream of an open console; it also keeps the agent 'seen'."""
    feed = request.app[FEED]
    user = request["user"]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    queue = feed.subscribe()
    database_url = request.app[DATABASE_URL]
    token = request.cookies.get(COOKIE)
    clock = asyncio.get_running_loop().time

    async def alive() -> bool:
        return await asyncio.to_thread(sessions.session_for, token, UnitOfWork(database_url)) is not None

    try:
        await asyncio.to_thread(presence.seen, user.id, UnitOfWork(database_url))
        await response.write(b": connected\n\n")
        beat = checked = clock()
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
                # A stream outlives no logout, expiry or disabled account, however busy it is.
                if clock() - checked >= SESSION_CHECK_SECONDS:
                    if not await alive():
                        break
                    checked = clock()
                await response.write(f"data: {json.dumps(event, default=str)}\n\n".encode())
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
            if clock() - beat >= HEARTBEAT_SECONDS:
                if not await alive():
                    break
                await asyncio.to_thread(presence.seen, user.id, UnitOfWork(database_url))
                beat = checked = clock()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.unsubscribe(queue)
    return response


FEED = web.AppKey("feed", Feed)
