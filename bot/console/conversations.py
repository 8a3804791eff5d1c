"""What the console and the agent API do to a conversation: the same use cases for both.

Each operation checks ownership in the CRM first (crm_store.services.handover), then tells Rasa:
a claimed conversation is paused so the bot stays silent; an agent's message goes out through
the customer's own channel; resolving resumes the bot, which says it is back and asks for a
rating (the ``EXTERNAL_agent_resolved`` rule runs ``action_hand_back`` and the feedback form).
"""

from __future__ import annotations

import asyncio

from bot.console.rasa_client import RasaClient
from crm_store.errors import NotOwner, TicketNotFound
from crm_store.services import handover
from crm_store.unit_of_work import UnitOfWork

RESOLVED_INTENT = "EXTERNAL_agent_resolved"


def transcript(tracker: dict) -> list[dict]:
    """Customer, bot and agent messages of a Rasa tracker, oldest first, with each customer
    message's sentiment; internal events are left out."""
    messages = []
    for event in tracker.get("events", []):
        kind = event.get("event")
        if kind == "user":
            sentiment = (event.get("parse_data") or {}).get("sentiment") or {}
            messages.append({"from": "customer", "text": event.get("text") or "", "at": event.get("timestamp"),
                             "sentiment": sentiment or None})
        elif kind == "bot":
            agent = (event.get("metadata") or {}).get("agent")
            messages.append({"from": agent or "bot", "agent": bool(agent), "text": event.get("text") or "",
                             "at": event.get("timestamp"), "sentiment": None})
    return messages


async def claim(rasa: RasaClient, database_url: str, conversation_id: str, user: str) -> handover.Ownership:
    owned = await asyncio.to_thread(handover.claim, conversation_id, user, UnitOfWork(database_url))
    await rasa.append(conversation_id, [{"event": "pause"}])
    return owned


async def transfer(database_url: str, conversation_id: str, to_user: str, user: str, role: str) -> handover.Ownership:
    return await asyncio.to_thread(handover.transfer, conversation_id, to_user, user, role, UnitOfWork(database_url))


async def reply(rasa: RasaClient, database_url: str, conversation_id: str, text: str, user: str, role: str) -> None:
    """The agent's message, signed with their user name, delivered in the customer's channel."""
    owned = await asyncio.to_thread(handover.record_reply, conversation_id, user, role, UnitOfWork(database_url))
    events: list[dict] = [{"event": "pause"}] if owned.state == "agent" else []
    events.append({"event": "bot", "text": text, "metadata": {"agent": user}})
    await rasa.append(conversation_id, events, deliver=True)


async def resolve(rasa: RasaClient, database_url: str, conversation_id: str, user: str, role: str) -> None:
    """Hand back to the bot: Rasa first (a failure there leaves the ticket as it was), then the
    ticket closes; the bot says it is back and asks for a rating in the customer's channel."""
    current = await asyncio.to_thread(handover.owner, conversation_id, UnitOfWork(database_url))
    if current.state == "bot":  # nothing to hand back: tell Rasa nothing (it would store a new conversation)
        raise TicketNotFound(f"no open hand-over for conversation {conversation_id}")
    if current.state == "agent" and current.assignee != user and role != "admin":
        raise NotOwner(f"{current.assignee} owns this conversation")
    await rasa.append(conversation_id, [
        {"event": "resume"},
        {"event": "slot", "name": "escalated_ticket", "value": None},
        {"event": "action", "name": "action_listen"},
    ])
    await asyncio.to_thread(handover.resolve, conversation_id, user, role, UnitOfWork(database_url))
    await rasa.trigger_intent(conversation_id, RESOLVED_INTENT)
