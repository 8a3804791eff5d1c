"""Rasa's REST channel, plus a word to the customer when a turn ends in silence because an action
failed (the action server or the CRM went away). Same URL: POST /webhooks/rest/webhook.

credentials.yml: ``bot.channels.rest.RestChannel:`` in place of ``rest:``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot.channels.conversations import NO_REPLY, owes_a_reply, remember_app


class RestChannel(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self):
        self._app = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def handle(message: UserMessage) -> None:
            await on_new_message(message)
            output = message.output_channel
            if isinstance(output, CollectingOutputChannel) and await owes_a_reply(
                    self._app, message.sender_id, len(output.messages)):
                await output.send_text_message(message.sender_id, NO_REPLY)

        webhook = super().blueprint(handle)

        remember_app(webhook, lambda app: setattr(self, "_app", app))
        return webhook
