"""Urgent escalations announced in the agents' Telegram chat (``AGENT_ALERT_CHAT_ID``), through the
same configurable Bot API address as the Telegram channel, with the priority, the reason and a
link to the conversation in the console. Without a bot token or a chat, nothing is sent."""

from __future__ import annotations

import logging
from urllib.parse import quote

from telegram import Bot
from telegram.error import TelegramError

log = logging.getLogger("caredesk.console.alerts")
ALERT_PRIORITIES = ("urgent",)


class TelegramAlerts:
    def __init__(self, token: str, chat_id: str, api_url: str, console_url: str):
        base = api_url.rstrip("/")
        self.bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
        self.chat_id, self.console_url = chat_id, console_url.rstrip("/")

    def text(self, ticket: dict) -> str:
        link = f"{self.console_url}/conversations/{quote(str(ticket['conversation_id']), safe='')}"
        return (f"{ticket['priority'].upper()} escalation #{ticket['id']} ({ticket['reason']}): "
                f"a customer is waiting for a person. Open it: {link}")

    async def __call__(self, ticket: dict) -> None:
        if ticket.get("priority") not in ALERT_PRIORITIES or not ticket.get("conversation_id"):
            return
        try:
            await self.bot.send_message(chat_id=self.chat_id, text=self.text(ticket))
        except TelegramError as exc:  # the console keeps working; the queue still shows it
            log.warning("could not alert the agents' chat about ticket %s: %r", ticket["id"], exc)
