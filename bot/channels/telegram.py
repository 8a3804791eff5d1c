"""Telegram as a Rasa input channel, built on python-telegram-bot 22 in webhook mode.

credentials (written by `caredesk run` when TELEGRAM_BOT_TOKEN is set):

    bot.channels.telegram.TelegramChannel:
      token: <bot token>
      secret_token: <the secret Telegram sends in X-Telegram-Bot-Api-Secret-Token>
      api_base_url: https://api.telegram.org      # a local fake in tests

Webhook: POST /webhooks/caredesk_telegram/webhook. A wrong or missing secret gets 403 and is not
processed; an update this channel does not understand is logged and acknowledged (200), never
raised. A message whose turn ended without a word gets "your message is saved" when the tracker
store holds it, and "please send it again" when it does not (the tracker or lock store was away):
Telegram does not deliver an acknowledged update twice.

Conversations: a private chat is ``tg:<chat id>``, a group ``tg-group:<chat id>``; no other
channel can name either. Linked Telegram users (``/start CODE`` with a one-time code from the
shop's web page) are identified, in private chats only, by the channel's assertion in the message
metadata (customer id signed for this conversation; no bearer token is passed on or stored). In a
group nobody is identified: every member would share what the bot says, so order and account
questions are answered with a request to continue in private. ``/unlink`` also ends an in-chat
verification of that chat at once.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import SlotSet
from sanic import Blueprint, response
from sanic.request import Request
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.channels.conversations import client_pseudonym, remember_app, unanswered
from bot.channels.limits import rate_limiter
from common import identity_token
from common.settings import get_settings
from crm_store import errors
from crm_store.services import identity
from crm_store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
CHANNEL = "telegram"
MAX_MESSAGE = 4096
MAX_CALLBACK_DATA = 64  # bytes Telegram keeps for a button
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PRIVATE, GROUP = "tg:", "tg-group:"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", None}


def conversation_for(chat_id: int | str, chat_type: str | None) -> str:
    """The conversation id of a chat: private chats and groups live in separate namespaces."""
    return f"{PRIVATE if chat_type in (None, 'private') else GROUP}{chat_id}"


def chat_of(conversation: str) -> str:
    """The Telegram chat id to send to for a conversation id (or a bare chat id)."""
    for prefix in (GROUP, PRIVATE):
        if conversation.startswith(prefix):
            return conversation[len(prefix):]
    return conversation


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Telegram takes 4,096 characters a message: split at line or word breaks where possible."""
    chunks, rest = [], text or ""
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n ")
    return chunks + ([rest] if rest or not chunks else [])


def card_keyboards(elements: list, shop_url: str) -> list[tuple[str, list[list[dict[str, str]]]]]:
    """(text, keyboard rows) for each card that has buttons: its buttons on one row, and its link
    on a second when the shop has a public address (Telegram refuses links to this machine)."""
    public = shop_url.startswith(("http://", "https://")) and urlsplit(shop_url).hostname not in LOCAL_HOSTS
    shown = []
    for card in elements:
        if not isinstance(card, dict) or not card.get("title") or not card.get("buttons"):
            continue
        rows = [[{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                 for b in card["buttons"] if isinstance(b, dict)]]
        if public and str(card.get("url") or "").startswith("/"):
            rows.append([{"title": str(card.get("link_title") or "View product"),
                          "url": shop_url.rstrip("/") + str(card["url"])}])
        shown.append(("\n".join(filter(None, [str(card["title"]), str(card.get("subtitle") or "")])), rows))
    return shown


class ButtonPayloads:
    """Telegram keeps 64 bytes of callback data; longer payloads travel as a short key."""

    def __init__(self):
        self._by_key: dict[str, str] = {}

    def pack(self, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_DATA:
            return payload
        key = f"k:{abs(hash(payload)) % 10**12}"
        self._by_key[key] = payload
        return key

    def unpack(self, data: str) -> str:
        return self._by_key.get(data, data)


class TelegramOutput(OutputChannel):
    @classmethod
    def name(cls) -> str:
        return "caredesk_telegram"

    def __init__(self, bot: Bot, payloads: ButtonPayloads, ready: Callable[[], Awaitable[Bot]] | None = None):
        self.bot, self.payloads, self._ready = bot, payloads, ready
        self.sent = 0

    async def _send(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        bot = await self._ready() if self._ready is not None else self.bot
        await bot.send_message(chat_id=chat_of(recipient_id), text=text, **kwargs)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.sent += 1
        for chunk in split_text(text):
            await self._send(recipient_id, chunk)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict], **kwargs: Any) -> None:
        keyboard = [[InlineKeyboardButton(b["title"][:64], callback_data=self.payloads.pack(b["payload"]))]
                    for b in buttons]
        self.sent += 1
        chunks = split_text(text)
        for chunk in chunks[:-1]:
            await self._send(recipient_id, chunk)
        await self._send(recipient_id, chunks[-1], reply_markup=InlineKeyboardMarkup(keyboard))

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Cards with buttons (suggestions) come as one message each with an inline keyboard, so
        the text keeps only its first line (the list of products is what the cards show)."""
        text = message.get("text") or ""
        if card_keyboards(message.get("elements") or [], "") and "\n" in text:
            message = {**message, "text": text.split("\n", 1)[0]}
        await super().send_response(recipient_id, message)

    async def send_elements(self, recipient_id: str, elements, **kwargs: Any) -> None:
        """Cards with buttons as messages with inline keyboards; plain product cards are for the web
        widget (the message's text already lists those items here)."""
        for text, rows in card_keyboards(elements or [], get_settings().shop_url):
            keyboard = [[InlineKeyboardButton(b["title"][:64], url=b["url"]) if "url" in b else
                         InlineKeyboardButton(b["title"][:64], callback_data=self.payloads.pack(b["payload"]))
                         for b in row] for row in rows]
            self.sent += 1
            await self._send(recipient_id, text[:MAX_MESSAGE], reply_markup=InlineKeyboardMarkup(keyboard))


class TelegramChannel(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "caredesk_telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramChannel:
        credentials = credentials or {}
        if not credentials.get("token") or not credentials.get("secret_token"):
            raise ValueError("the Telegram channel needs a token and a secret_token")
        return cls(credentials["token"], credentials["secret_token"],
                   credentials.get("api_base_url") or "https://api.telegram.org")

    def __init__(self, token: str, secret_token: str, api_base_url: str):
        base = api_base_url.rstrip("/")
        self.bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
        self.secret_token = secret_token
        self.limiter = rate_limiter("telegram")
        self.payloads = ButtonPayloads()
        self._ready = False
        self._app = None

    async def _bot(self) -> Bot:
        if not self._ready:
            await self.bot.initialize()
            self._ready = True
        return self.bot

    def get_output_channel(self) -> OutputChannel | None:
        """Used by Rasa's API to deliver messages added later (an agent's answer, the assistant's
        hand-back), when no update from the customer is in hand."""
        return TelegramOutput(self.bot, self.payloads, ready=self._bot)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("caredesk_telegram_webhook", __name__)

        remember_app(webhook, lambda app: setattr(self, "_app", app))

        @webhook.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            supplied = request.headers.get(SECRET_HEADER, "")
            # Sanic keeps undecodable header bytes as surrogate escapes: compare the bytes as sent.
            if not hmac.compare_digest(supplied.encode(errors="surrogateescape"), self.secret_token.encode()):
                log.warning("telegram update rejected: wrong secret token")
                return response.json({"error": "forbidden"}, status=403)
            try:
                await self._handle(request, on_new_message)
            except Exception:  # noqa: BLE001 - an update must never take the channel down
                log.exception("telegram update could not be handled; acknowledged and dropped")
            return response.json({"ok": True})

        return webhook

    async def _handle(self, request: Request, on_new_message) -> None:
        bot = await self._bot()
        try:
            update = Update.de_json(json.loads(request.body or b"null"), bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("telegram update ignored: not an update")
            return
        if update is None:
            log.warning("telegram update ignored: empty body")
            return
        text, chat, user_id = None, None, None
        if update.callback_query is not None:
            query = update.callback_query
            await bot.answer_callback_query(query.id)
            text = self.payloads.unpack(query.data or "")
            chat = query.message.chat if query.message else None
            user_id = query.from_user.id
        else:
            message = update.message or update.edited_message
            if message is None or not message.text:
                log.info("telegram update %s ignored: no text", update.update_id)
                return
            text, chat = message.text, message.chat
            user_id = message.from_user.id if message.from_user else None
        chat_id = chat.id if chat is not None else user_id
        conversation = conversation_for(chat_id, chat.type if chat is not None else None)
        private = conversation.startswith(PRIVATE)
        if not self.limiter.allow(conversation):
            log.warning("telegram chat %s is over the rate limit; message dropped", conversation)
            return
        if len(text) > MAX_MESSAGE:
            text = text[:MAX_MESSAGE]
        output = TelegramOutput(bot, self.payloads)
        if text.startswith("/start") or text.startswith("/unlink"):
            await self._command(text, conversation, str(user_id), private, output, on_new_message)
            return
        message = UserMessage(text, output, conversation, input_channel=self.name(),
                              metadata=await self._metadata(conversation, user_id, private))
        failed = False
        try:
            await on_new_message(message)
        except Exception:  # noqa: BLE001 - the customer hears what became of the message, below
            log.exception("telegram message could not be handled")
            failed = True
        said = await unanswered(self._app, conversation, message.message_id, output.sent, failed)
        if said is not None:
            await output.send_text_message(conversation, said.text)

    async def _metadata(self, conversation: str, user_id: int | None, private: bool) -> dict:
        """What the channel vouches for: the chat type, a pseudonym of the user for lock-outs, and in a
        private chat with a linked account, the customer (signed for this conversation)."""
        settings = get_settings()
        metadata: dict[str, Any] = {"chat_type": "private" if private else "group"}
        if user_id is None:
            return metadata
        metadata["client"] = client_pseudonym("tg", str(user_id), settings.secret_key)
        if private:
            customer_id = await asyncio.to_thread(
                identity.customer_for_identity, CHANNEL, str(user_id), UnitOfWork(settings.database_url))
            if customer_id is not None:
                metadata["identity"] = identity_token.assert_identity(conversation, customer_id, settings.signing_keys)
        return metadata

    async def _command(self, text: str, conversation: str, user_id: str, private: bool, output: TelegramOutput,
                       on_new_message) -> None:
        settings = get_settings()
        uow = UnitOfWork(settings.database_url)
        command, _, argument = text.partition(" ")
        if (command.startswith("/unlink") or argument.strip()) and not private:
            await output.send_text_message(conversation, "Please send that to me in a private chat.")
            return
        if command.startswith("/unlink"):
            done = await asyncio.to_thread(identity.unlink_identity, CHANNEL, user_id, uow)
            await self._forget_verification(conversation)
            await output.send_text_message(conversation, "Your Telegram is no longer linked to your shop account."
                                           if done else "Your Telegram was not linked to a shop account.")
            return
        if argument.strip():
            try:
                await asyncio.to_thread(identity.redeem_link_code, argument.strip(), CHANNEL, user_id, uow)
                await output.send_text_message(conversation, "Your Telegram is now linked to your shop account. "
                                                             "Ask me about your orders any time.")
                return
            except errors.VerificationFailed:
                await output.send_text_message(conversation, "That link has expired or was already used. You "
                                                             "can still ask me anything; for order details I'll "
                                                             "check it's you first.")
                return
        user = int(user_id) if user_id.isdigit() else None
        await on_new_message(UserMessage("/greet", output, conversation, input_channel=self.name(),
                                         metadata=await self._metadata(conversation, user, private)))

    async def _forget_verification(self, conversation: str) -> None:
        """End an in-chat verification of this chat now, not when the session expires."""
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None:
            return
        async with agent.lock_store.lock(conversation):
            tracker = await agent.tracker_store.retrieve(conversation)
            if tracker is not None and tracker.get_slot("verified") is not None:
                tracker.update(SlotSet("verified", None))
                await agent.tracker_store.save(tracker)
