"""The REST and callback channels, in namespaces no other channel can reach.

credentials.yml: ``bot.channels.rest.RestChannel:`` in place of ``rest:``; `caredesk run` opens
``bot.channels.rest.CallbackChannel`` in place of ``callback:`` when CAREDESK_CALLBACK_URL is set.

``POST /webhooks/rest/webhook`` ``{"sender": "...", "message": "..."}``; the sender is an id (ASCII
letters, digits and ``-._~:@!$&'()*,;=``, at most 128). Anyone can name a sender,
so what a caller may do depends on what it proves:

- **Public** (no credential): the conversation is ``rest:<sender>``. General answers only: order and
  account requests are told to use the website chat or Telegram, and nobody is verified here, since
  anyone who guesses the sender would share the conversation.
- **Trusted integration** (``Authorization: Bearer <key>``, a key from REST_API_KEYS; in development
  ``var/rest_api_key``): the conversation is ``api:<sender>``; the integration keeps its senders
  apart and may vouch for its logged-in customer with ``metadata.identity_token`` (a
  ``chat-identity`` token), or let the customer verify in chat.

Either way the body's ``metadata`` and ``input_channel`` are never taken as they come, messages are
at most 2,000 characters, each conversation and each client address gets at most 20 messages a
minute, and a turn that ends in silence because an action failed is answered with a word to the
customer. Errors are JSON ``{"error": code, "message": text}`` with 400 / 401 / 413 / 429, and 503
``not_taken`` when the message could not be saved (the tracker store or the lock store was away):
send it again.

The callback channel (``POST /webhooks/callback/webhook``, replies posted to the configured URL)
is for integrations only: it needs the same key and its conversations are ``cb:<sender>``.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.callback import CallbackInput, CallbackOutput
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.conversations import client_pseudonym, remember_app, unanswered
from bot.channels.limits import rate_limiter
from common import identity_token
from common.settings import Settings, get_settings

log = logging.getLogger(__name__)
MAX_MESSAGE = 2000
MAX_SENDER = 128
# An id, not free text: the characters a URL path keeps as they are, so the agent console reaches the
# conversation through Rasa's HTTP API (Rasa does not decode %-escapes in a conversation id: "José"
# was stored as one conversation and read as another, "Jos%C3%A9").
SENDER = re.compile(r"[A-Za-z0-9._~:@!$&'()*,;=-]+")  # not "+": the console's HTTP client keeps it escaped
PUBLIC, TRUSTED, CALLBACK = "rest:", "api:", "cb:"
# Per client address: a busy integration sends for many customers, so only the public side is capped.
CLIENT_RATE_LIMIT = 60


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def as_response(self):
        return response.json({"error": self.code, "message": self.message}, status=self.status)


def trusted_caller(request: Request, settings: Settings) -> bool:
    """True when the request carries one of the configured integration keys."""
    supplied = request.headers.get("Authorization", "")
    if not supplied.startswith("Bearer "):
        return False
    # Sanic keeps undecodable header bytes as surrogate escapes: compare the bytes as sent.
    supplied = supplied[len("Bearer "):].strip().encode(errors="surrogateescape")
    return any(hmac.compare_digest(supplied, key.encode()) for key in settings.rest_api_keys)


def client_address(request: Request) -> str | None:
    """The client's address: behind a proxy configured for Sanic (SANIC_PROXIES_COUNT or
    SANIC_REAL_IP_HEADER) the forwarded one, else the socket's peer."""
    return request.remote_addr or request.ip or None


def read_message(request: Request) -> tuple[str, str]:
    """(sender, text) from a request body, or Refused with what is wrong with it."""
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - Sanic raises its own error for invalid JSON
        body = None
    if not isinstance(body, dict):
        raise Refused(400, "bad_request", 'Send a JSON object: {"sender": "...", "message": "..."}.')
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or len(sender.strip()) > MAX_SENDER or not SENDER.fullmatch(sender.strip()):
        raise Refused(400, "bad_sender", f"'sender' must be an id of 1 to {MAX_SENDER} letters, digits or "
                                         "- . _ ~ : @ ! $ & ' ( ) * , ; = (no spaces).")
    if not isinstance(text, str) or not text.strip():
        raise Refused(400, "bad_message", "'message' must be some text.")
    if len(text) > MAX_MESSAGE:
        raise Refused(413, "too_long", f"That message is too long: please keep it under {MAX_MESSAGE} characters.")
    return sender.strip(), text.strip()


def client_metadata(request: Request, conversation: str, settings: Settings, trusted: bool) -> dict:
    """The only metadata a REST message carries: a pseudonym of the client address, and for a
    trusted integration that vouches for its customer, the channel's assertion."""
    metadata: dict[str, Any] = {}
    client = client_pseudonym("ip", client_address(request), settings.secret_key)
    if client:
        metadata["client"] = client
    if trusted:
        body_metadata = request.json.get("metadata")
        token = body_metadata.get("identity_token") if isinstance(body_metadata, dict) else None
        customer_id = identity_token.verify(token, settings.signing_keys, identity_token.CHAT_IDENTITY)
        if customer_id is not None:
            metadata["identity"] = identity_token.assert_identity(conversation, customer_id, settings.signing_keys)
    return metadata


class RestChannel(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self):
        self._app = None
        self.conversations = rate_limiter("rest", limit=get_settings().rest_rate_limit)
        self.clients = rate_limiter("rest-clients", limit=CLIENT_RATE_LIMIT)

    def admit(self, request: Request) -> tuple[str, str, dict]:
        """(conversation id, text, metadata) of an acceptable request, or Refused."""
        settings = get_settings()
        trusted = trusted_caller(request, settings)
        if request.headers.get("Authorization") and not trusted:
            raise Refused(401, "unauthorized", "That API key is not valid.")
        sender, text = read_message(request)
        conversation = (TRUSTED if trusted else PUBLIC) + sender
        if not trusted and not self.clients.allow(client_address(request) or "unknown"):
            raise Refused(429, "too_fast", "Too many messages from this address: please wait a moment.")
        if not self.conversations.allow(conversation):
            raise Refused(429, "too_fast", "You're sending messages very fast: please wait a moment.")
        return conversation, text, client_metadata(request, conversation, settings, trusted)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("caredesk_rest_webhook", __name__)
        remember_app(webhook, lambda app: setattr(self, "_app", app))

        @webhook.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            try:
                conversation, text, metadata = self.admit(request)
            except Refused as refused:
                log.info("rest message refused: %s", refused.code)
                return refused.as_response()
            output = CollectingOutputChannel()
            message = UserMessage(text, output, conversation, input_channel=self.name(), metadata=metadata)
            failed = False
            try:
                await on_new_message(message)
            except Exception:  # noqa: BLE001 - logged without the customer's words
                log.exception("rest message could not be handled (conversation %s)", conversation[:12])
                failed = True
            said = await unanswered(self._app, conversation, message.message_id, len(output.messages), failed)
            if said is not None and said.code == "not_taken":
                # The message is not in the tracker store (the tracker or lock store was away): send it again.
                return Refused(503, said.code, said.text).as_response()
            if said is not None:
                await output.send_text_message(conversation, said.text)
            return response.json(output.messages)

        return webhook


class CallbackOutputForIntegration(CallbackOutput):
    """Posts replies to the integration under the sender it used (without our namespace)."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await super().send_response(recipient_id.removeprefix(CALLBACK), message)


class CallbackChannel(CallbackInput):
    """Rasa's callback channel for integrations only: the same key as trusted REST callers."""

    @classmethod
    def name(cls) -> str:
        return "callback"

    def get_output_channel(self) -> CollectingOutputChannel:
        return CallbackOutputForIntegration(self.callback_endpoint)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("caredesk_callback_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            settings = get_settings()
            if not trusted_caller(request, settings):
                return Refused(401, "unauthorized", "The callback channel needs an integration key.").as_response()
            try:
                sender, text = read_message(request)
            except Refused as refused:
                return refused.as_response()
            conversation = CALLBACK + sender
            await on_new_message(UserMessage(text, self.get_output_channel(), conversation,
                                             input_channel=self.name(),
                                             metadata=client_metadata(request, conversation, settings, True)))
            return response.text("success")

        return webhook
