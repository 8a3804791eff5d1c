"""The shop's web chat widget as a Rasa input channel: socket.io with a verified identity.

credentials (written by `caredesk run`):

    bot.channels.web.WebChatChannel:
      allowed_origins: ["http://127.0.0.1:8000"]   # the shop pages that may open a socket
      redis_url: redis://127.0.0.1:6379/0          # at scale: several Rasa servers share the sockets

Protocol (the event names of Rasa's own socket.io channel, so Rasa-aware widgets still work):

- ``session_request`` ``{"session_id": <kept by the page or null>, "customData": {"identity_token": ...}}``
  -> ``session_confirm`` with the session id, then ``history`` with the conversation so far.
- ``user_uttered`` ``{"message": "...", "customData": {"display": "button title"}}`` -> ``typing``
  ``{"on": true}``, the bot's ``bot_uttered`` messages, ``typing`` ``{"on": false}``.
- ``error`` ``{"code": ..., "message": ...}`` for anything refused (too long, too fast, malformed);
  ``no_reply`` when a turn ended without a word because an action failed (the action server or the
  CRM went away) and the message is kept in the conversation; ``not_taken`` when the message is not
  in the tracker store (the tracker or lock store was away): the customer should send it again.

Identity: the shop signs a short-lived ``chat-identity`` token naming the logged-in CRM customer
(``common.identity_token``). This channel verifies it once per socket; a valid one makes the channel
put its own assertion (customer id, signed for this conversation) in every message's metadata; the
token itself is never passed on or stored. A forged, expired or missing token makes an anonymous
visitor who must verify in chat. Metadata sent by the browser is never passed on.

Sessions: the page keeps a 128-bit random **session key** (``session_confirm`` hands it over; the
widget keeps a guest's in sessionStorage, so it dies with the tab). The conversation id is a keyed
hash of it (``web:<32 hex>``), so ids seen in logs, the tracker store or the agent console cannot
reopen anything. A conversation that holds a verified customer is reopened only with a token for the
same customer, or (verified in chat) by the key holder while the chat proof lasts; otherwise a new
session starts.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, response
from sanic.request import Request
from socketio import AsyncRedisManager, AsyncServer

from bot.channels.conversations import client_pseudonym, remember_app, tracker_of, unanswered
from bot.channels.limits import rate_limiter
from common import identity_token
from common.settings import Settings, get_settings

log = logging.getLogger(__name__)
CHANNEL = "caredesk_web"
MAX_MESSAGE = 2000
MAX_DISPLAY = 200
HISTORY_LIMIT = 200
REDIS_CHANNEL = "caredesk_webchat"
CLIENT_RATE_LIMIT = 120  # messages a minute from one address, whatever the sockets
SESSION_KEY = re.compile(r"^[0-9a-f]{32}$")
PREFIX = "web:"


def conversation_id(session_key: str, settings: Settings) -> str:
    """The tracker's id for a web session: a keyed hash of the key only the browser holds."""
    return PREFIX + identity_token.keyed_hash(session_key, settings.secret_key, "web-session")


def owner_of(events: Iterable[dict], conversation: str, settings: Settings,
             now: float | None = None) -> tuple[int | None, bool]:
    """(customer, by_chat_proof): who a stored conversation belongs to, and whether only an in-chat
    verification (still valid) says so."""
    owner, proof = None, None
    for event in events:
        if event.get("event") == "user":
            identity = (event.get("metadata") or {}).get("identity")
            if isinstance(identity, dict) and isinstance(identity.get("cid"), int):
                owner = identity["cid"]
        elif event.get("event") == "slot" and event.get("name") == "verified":
            proof = event.get("value")
    if owner is not None:
        return owner, False
    if proof:
        proven = identity_token.proven_customer(proof, conversation, settings.signing_keys, now=now)
        if proven is None and isinstance(proof, str) and proof.split(".")[0].isdigit():
            return int(proof.split(".")[0]), False  # expired: treat as owned, so it is not reopened
        return proven, proven is not None
    return None, False


def card_elements_to_cards(elements: Iterable[dict]) -> list[dict]:
    """Product cards for the widget from Rasa's generic-template elements (title, subtitle, url, buttons)."""
    cards = []
    for element in elements or []:
        if not isinstance(element, dict) or not element.get("title"):
            continue
        cards.append({
            "title": str(element["title"]),
            "subtitle": str(element.get("subtitle") or ""),
            "url": str(element.get("url") or element.get("default_action", {}).get("url") or ""),
            "buttons": [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in element.get("buttons") or [] if isinstance(b, dict)],
        })
        if element.get("link_title"):  # the link's words ("Add to basket"); the widget's default otherwise
            cards[-1]["link_title"] = str(element["link_title"])
    return cards


def widget_message(message: dict) -> dict | None:
    """What the widget shows for one bot message (a Rasa response dict or a bot event's data)."""
    text = message.get("text") or ""
    buttons = message.get("quick_replies") or message.get("buttons") or []
    cards = card_elements_to_cards(message.get("elements") or [])
    if cards and "\n" in text:
        # Text-only channels list the products in the text; the widget shows cards instead.
        text = text.split("\n", 1)[0]
    shown: dict[str, Any] = {"text": text}
    if buttons:
        shown["quick_replies"] = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                                  for b in buttons if isinstance(b, dict)]
    if cards:
        shown["cards"] = cards
    if message.get("image"):
        shown["image"] = str(message["image"])
    if not text and len(shown) == 1:
        return None
    return shown


def history_of(events: Iterable[dict], limit: int = HISTORY_LIMIT) -> list[dict]:
    """The transcript a returning page shows, from tracker events (as dicts), oldest first."""
    shown = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            metadata = event.get("metadata") or {}
            text = metadata.get("display") or event.get("text") or ""
            if text:
                shown.append({"from": "customer", "text": text})
        elif kind == "bot":
            message = widget_message({"text": event.get("text"), **(event.get("data") or {})})
            if message is not None:
                agent = (event.get("metadata") or {}).get("agent")
                shown.append({"from": "agent" if agent else "bot", **({"agent": agent} if agent else {}), **message})
    return shown[-limit:]


@dataclass
class Visitor:
    """What the channel knows about one open socket (no token: only what it proved)."""

    conversation: str
    customer_id: int | None
    client: str | None


class WebChatOutput(OutputChannel):
    """Sends to every socket of a session (several tabs, or a reconnect after an agent's message)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def __init__(self, sio: AsyncServer):
        self.sio = sio
        self.sent = 0

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        shown = widget_message(message)
        if shown is None:
            return
        self.sent += 1
        if message.get("agent"):
            shown.update({"from": "agent", "agent": message["agent"]})
        await self.sio.emit("bot_uttered", shown, room=recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class WebChatChannel(InputChannel):
    """socket.io for the shop's chat widget, with the shop's signed identity token."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebChatChannel:
        credentials = credentials or {}
        return cls(allowed_origins=list(credentials.get("allowed_origins") or []),
                   socketio_path=credentials.get("socketio_path", "/socket.io"),
                   redis_url=credentials.get("redis_url"))

    def __init__(self, allowed_origins: list[str], socketio_path: str = "/socket.io",
                 redis_url: str | None = None):
        self.allowed_origins = allowed_origins
        self.socketio_path = socketio_path
        self.redis_url = redis_url
        self.sio: AsyncServer | None = None
        self.visitors: dict[str, Visitor] = {}
        self.limiter = rate_limiter("web")
        self.clients = rate_limiter("web-clients", limit=CLIENT_RATE_LIMIT)
        self._app = None

    def get_output_channel(self) -> OutputChannel | None:
        """Used by Rasa's API to deliver messages added later (an agent's answer during a handoff)."""
        return WebChatOutput(self.sio) if self.sio is not None else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Only the shop's own pages may open a socket; an empty list would switch the check off.
        # With several Rasa servers, a message for a session (an agent's answer arriving at any
        # server) is published through Redis and sent by the server that holds the socket.
        manager = AsyncRedisManager(self.redis_url, channel=REDIS_CHANNEL) if self.redis_url else None
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.allowed_origins or ["null-origin"],
                          client_manager=manager)
        self.sio = sio
        channel = self
        webchat = SocketBlueprint(sio, self.socketio_path, "caredesk_web_webhook", __name__)

        remember_app(webchat, lambda app: setattr(channel, "_app", app))

        @webchat.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        addresses: dict[str, str | None] = {}

        @sio.on("connect")
        async def connect(sid: str, environ: dict, _auth: Any = None) -> bool:
            request = environ.get("sanic.request")
            # remote_addr is the client behind a configured proxy (SANIC_PROXIES_COUNT / REAL_IP_HEADER)
            addresses[sid] = (getattr(request, "remote_addr", None) or getattr(request, "ip", None)
                              or environ.get("REMOTE_ADDR"))
            return True

        @sio.on("disconnect")
        async def disconnect(sid: str) -> None:
            channel.visitors.pop(sid, None)
            addresses.pop(sid, None)

        @sio.on("session_request")
        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            custom = data.get("customData") if isinstance(data.get("customData"), dict) else {}
            settings = get_settings()
            customer_id = identity_token.verify(custom.get("identity_token"), settings.signing_keys,
                                                identity_token.CHAT_IDENTITY)
            session_key, events = await channel._reopen(data.get("session_id"), customer_id, settings)
            conversation = conversation_id(session_key, settings)
            for room in sio.rooms(sid):
                if room != sid:
                    await sio.leave_room(sid, room)
            await sio.enter_room(sid, conversation)
            channel.visitors[sid] = Visitor(conversation, customer_id,
                                           client_pseudonym("ip", addresses.get(sid), settings.secret_key))
            await sio.emit("session_confirm", session_key, room=sid)
            await sio.emit("history", {"messages": history_of(events),
                                       "verified": customer_id is not None}, room=sid)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Any) -> None:
            visitor = channel.visitors.get(sid)
            if visitor is None:
                await _refuse(sid, "no_session", "Please reconnect: the chat session was not started.")
                return
            text = data.get("message") if isinstance(data, dict) else None
            if not isinstance(text, str) or not text.strip():
                await _refuse(sid, "bad_message", "A message must be some text.")
                return
            if len(text) > MAX_MESSAGE:
                await _refuse(sid, "too_long", f"That message is too long: please keep it under "
                                               f"{MAX_MESSAGE} characters.")
                return
            # Per conversation, per socket (a new session_request must not buy a fresh allowance)
            # and per client address.
            if not (channel.limiter.allow(visitor.conversation) and channel.limiter.allow(f"socket:{sid}")
                    and channel.clients.allow(visitor.client or sid)):
                await _refuse(sid, "too_fast", "You're sending messages very fast: please wait a moment.")
                return
            await sio.emit("typing", {"on": True}, room=visitor.conversation)
            output = WebChatOutput(sio)
            message = UserMessage(text.strip(), output, visitor.conversation, input_channel=CHANNEL,
                                  metadata=channel._metadata(visitor, data, get_settings().signing_keys))
            failed = False
            try:
                await on_new_message(message)
            except Exception:  # noqa: BLE001 - one failed turn must not close the socket
                log.exception("web chat message could not be handled (session %s)", visitor.conversation[:8])
                failed = True
            try:
                said = await unanswered(channel._app, visitor.conversation, message.message_id, output.sent, failed)
                if said is not None:
                    await _refuse(sid, said.code, said.text)
            finally:
                await sio.emit("typing", {"on": False}, room=visitor.conversation)

        async def _refuse(sid: str, code: str, message: str) -> None:
            log.info("web chat %s refused: %s", sid, code)
            await sio.emit("error", {"code": code, "message": message}, room=sid)

        return webchat

    @staticmethod
    def _metadata(visitor: Visitor, data: dict, keys: tuple[str, ...]) -> dict:
        metadata: dict[str, Any] = {}
        custom = data.get("customData") if isinstance(data.get("customData"), dict) else {}
        display = custom.get("display")
        if isinstance(display, str) and display.strip():
            metadata["display"] = display.strip()[:MAX_DISPLAY]
        if visitor.client:
            metadata["client"] = visitor.client
        if visitor.customer_id is not None:
            metadata["identity"] = identity_token.assert_identity(visitor.conversation, visitor.customer_id, keys)
        return metadata

    async def _reopen(self, requested: Any, customer_id: int | None, settings: Settings) -> tuple[str, list[dict]]:
        """The session key to continue and its events, or a fresh key and no events.

        A verified conversation reopens only for a token naming the same customer, or, verified in
        chat, for the key holder while the proof lasts: a shared computer's next visitor, or a
        customer who logged out, starts afresh."""
        if isinstance(requested, str) and SESSION_KEY.match(requested):
            conversation = conversation_id(requested, settings)
            tracker = await tracker_of(self._app, conversation)
            if tracker is None:
                return requested, []
            events = [event.as_dict() for event in tracker.events]
            owner, by_chat_proof = owner_of(events, conversation, settings)
            if owner is None or owner == customer_id or (customer_id is None and by_chat_proof):
                return requested, events
            log.info("web chat session %s belongs to a verified customer the request does not prove; "
                     "starting a new one", conversation[:12])
        return uuid.uuid4().hex, []
