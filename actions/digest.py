"""A conversation's digest: what the actions read of the whole conversation, kept in a slot.

The escalation rules need the sentiment of every customer message (a trend), what was asked and
which orders came up; the rating needs to know whether anything was resolved, whether an agent
took part and what the last request was. Reading that from every event of the session on every
action call made a turn cost more the longer the conversation. The action server now brings the
digest up to date from the events it does not cover yet and returns it as a slot with every action
(``caredesk/action_server.py``), and the Rasa server sends only those events plus the last
``RECENT_MESSAGES`` customer messages (``bot/rasa_patches.py``).

The digest is a left fold over the session's events (a ``session_started`` event starts it
anew): folding the events after the one it was stored with gives what folding every event from
the start gives. It covers the events the action that stored it was given, that is every event
before that action's own ``action`` event; so the events it does not cover start there. With no
digest (a new conversation, a restart) every event is folded, as every event is then sent. The
actions Rasa runs within a form store none (``caredesk/action_server.py``, run_within_a_form).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rasa_sdk.events import SlotSet

from actions.values import entity_texts
from common.conversation import DIGEST_SLOT

log = logging.getLogger(__name__)

# Actions that answer or complete a request: after one of them there is something to rate.
RESOLVING = {"action_track_order", "action_other_order", "action_track_refund", "action_invoice",
             "action_newsletter", "action_policy_answer", "action_product_search", "action_recommend",
             "action_hand_back", "action_submit_cancel", "action_submit_return", "action_submit_address",
             "action_submit_contact", "action_submit_delete_account", "action_submit_claim"}
# Intents that are not the request a rating is about.
NOT_A_REQUEST = {"greet", "goodbye", "thank_you", "affirm", "deny", "bot_challenge", "out_of_scope", "inform",
                 "nlu_fallback", "review", "EXTERNAL_agent_resolved"}
# Intents that are not "what was asked about" in the hand-over summary.
NOT_ASKED = ("inform", "nlu_fallback")
# Order references kept (the latest): a customer can name many in one message, and the digest is
# stored again with almost every turn.
KEPT_ORDERS = 20
# Events after which the tracker's slots start empty: no digest is stored with them.
RESETS = ("restart", "session_started", "reset_slots")

EMPTY: dict[str, Any] = {
    "scored": 0,  # customer messages with a sentiment score
    "trend": None,  # exponentially weighted mean of the scores, unrounded (the policy's trend_alpha)
    "alpha": None,  # the weight it was folded with
    "latest": None,  # the latest score
    "intents": [],  # what was asked about, in order, without repeats
    "orders": [],  # order references mentioned, in order, without repeats (the last KEPT_ORDERS)
    "resolved": False,  # an action answered or completed a request
    "agent": False,  # a colleague took part (a hand-over, an agent's message, an agent resolved it)
    "request": None,  # the last request's intent
}


def _is_digest(event: dict) -> bool:
    return event.get("event") == "slot" and event.get("name") == DIGEST_SLOT


def _a_colleague_took_part(event: dict) -> bool:
    """A hand-over was opened (its ticket slot) or an agent wrote (the console marks the message)."""
    if event.get("event") == "slot":
        return event.get("name") == "escalated_ticket" and bool(event.get("value"))
    return event.get("event") == "bot" and bool((event.get("metadata") or {}).get("agent"))


def fold(digest: dict[str, Any], events: Sequence[dict], alpha: float) -> dict[str, Any]:
    """``digest`` brought up to date with ``events`` (oldest first); ``digest`` is not changed."""
    new = {**EMPTY, **digest, "intents": list(digest.get("intents") or []), "orders": list(digest.get("orders") or [])}
    for event in events:
        kind = event.get("event")
        if kind == "user":
            parse = event.get("parse_data") or {}
            intent = (parse.get("intent") or {}).get("name")
            sentiment = parse.get("sentiment")
            if sentiment and "score" in sentiment:
                score = float(sentiment["score"])
                new["trend"] = score if new["trend"] is None else alpha * score + (1 - alpha) * new["trend"]
                new["scored"] += 1
                new["latest"] = score
            if intent and intent not in new["intents"] and intent not in NOT_ASKED:
                new["intents"].append(intent)
            for reference in entity_texts(parse.get("entities"), "order_ref"):
                if reference not in new["orders"]:
                    new["orders"] = [*new["orders"], reference][-KEPT_ORDERS:]
            if intent and intent not in NOT_A_REQUEST:
                new["request"] = intent
            if intent == "EXTERNAL_agent_resolved":
                new["agent"] = True
        elif kind == "session_started":
            # a new session starts a new digest: the next turns read only this session from the
            # tracker store, as the actions did before (the first turn still has the last one)
            new = {**EMPTY, "intents": [], "orders": []}
        elif kind == "action" and event.get("name") in RESOLVING:
            new["resolved"] = True
        elif _a_colleague_took_part(event):
            new["agent"] = True
    new["alpha"] = alpha
    return new


def uncovered(tracker) -> tuple[dict[str, Any], list[dict]]:
    """The digest stored last and the events it does not cover (every event if there is none)."""
    events = tracker.events
    if not isinstance(tracker.get_slot(DIGEST_SLOT), dict):
        return dict(EMPTY), list(events)
    for index in range(len(events) - 1, -1, -1):
        if _is_digest(events[index]):
            start = index
            while start > 0 and events[start].get("event") != "action":
                start -= 1  # back to the action that stored it: the digest covers what came before
            stored = events[index].get("value")
            return (stored if isinstance(stored, dict) else dict(EMPTY),
                    [e for e in events[start:] if not _is_digest(e)])
    log.warning("%s: a digest without the event that stored it; the events given are read whole", tracker.sender_id)
    return dict(EMPTY), list(events)


def of(tracker, alpha: float | None = None) -> dict[str, Any]:
    """The conversation's digest up to the action now running (``alpha``: the policy's trend weight)."""
    if alpha is None:
        from crm_store.policy import load_policy

        alpha = load_policy().escalation.trend_alpha
    made = getattr(tracker, "_digest_made", None)  # an action reads it several times (escalation, rating)
    if made is None or made[0] != alpha:
        made = (alpha, fold(*uncovered(tracker), alpha))
        tracker._digest_made = made
    return made[1]


def stored_with(tracker, returned: Sequence[dict], alpha: float | None = None) -> list[dict]:
    """The event that stores the digest, to be returned with an action's events: none when it has
    not changed or when the action resets the slots (a restart, a new session)."""
    if any(event.get("event") in RESETS for event in returned):
        return []
    digest = of(tracker, alpha)
    if digest == tracker.get_slot(DIGEST_SLOT):
        return []
    return [SlotSet(DIGEST_SLOT, digest)]
