"""Turns that answer no request - small talk, out-of-scope messages and misunderstandings - still go
through the escalation check first: "you are useless, third time I'm asking" is a hand-over, not
"I'm a virtual assistant"."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.escalation import check_turn
from actions.session import ActionRephrase

# The reply to each small-talk intent when nobody needs to take over (the words are in domain.yml).
REPLIES = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank_you": "utter_you_are_welcome",
    "bot_challenge": "utter_iamabot",
    "out_of_scope": "utter_out_of_scope",
    "affirm": "utter_ok",
    "deny": "utter_ok",
}
# Understood, but not a request the assistant can serve: misunderstandings are not over.
KEEPS_FALLBACK_COUNT = {"out_of_scope"}


class ActionSmallTalk(Action):
    """Check the escalation rules, then answer the small talk unless a person takes over."""

    def name(self) -> str:
        return "action_small_talk"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        handed_over, events = check_turn(dispatcher, tracker)
        if handed_over:
            return events
        dispatcher.utter_message(response=REPLIES.get(intent, "utter_default"))
        if tracker.get_slot("fallback_count") and intent not in KEEPS_FALLBACK_COUNT:
            events.append(SlotSet("fallback_count", 0))  # understood: misunderstandings start over
        return events


class ActionFallback(Action):
    """The assistant did not understand: this miss counts towards the escalation rules (and insults
    the NLU could not place still count); unless a person takes over, offer the likeliest requests."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        misses = int(tracker.get_slot("fallback_count") or 0) + 1
        handed_over, events = check_turn(dispatcher, tracker, fallbacks=misses)
        if handed_over:
            return events
        return events + await ActionRephrase().run(dispatcher, tracker, domain)
