"""What every request action does at the end of its turn: say what comes next, reset the
misunderstanding count, and check the escalation rules."""

from __future__ import annotations

import functools
import logging

from rasa_sdk.events import EventType, SlotSet

from actions.escalation import escalate_if_needed
from actions.feedback import start_rating, typed_score
from crm_store.errors import StoreUnavailable

log = logging.getLogger(__name__)


def next_step(step: str | None) -> EventType:
    """Tell the rules what follows this action: 'verify', a form's name, or None (done)."""
    return SlotSet("next_step", step)


def request_action(run):
    """For the actions that answer a request: every run says what comes next (None if nothing),
    and the escalation rules are checked once the customer has the answer."""

    @functools.wraps(run)
    async def wrapper(self, dispatcher, tracker, domain):
        score = typed_score(tracker)
        if score is not None:  # "4 stars" right after the rating question reads as a request to the NLU
            return start_rating(score)
        try:
            events = await run(self, dispatcher, tracker, domain)
        except StoreUnavailable:
            log.exception("%s: the CRM is unreachable", self.name())
            dispatcher.utter_message(response="utter_error_store_unavailable")
            return [next_step(None)]
        if not any(e.get("event") == "slot" and e.get("name") == "next_step" for e in events):
            events.append(next_step(None))
        if tracker.get_slot("fallback_count"):
            events.append(SlotSet("fallback_count", 0))  # understood: misunderstandings start over
        return events + escalate_if_needed(dispatcher, tracker)

    return wrapper
