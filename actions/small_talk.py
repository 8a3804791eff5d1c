"""Turns that answer no request - small talk, out-of-scope messages and misunderstandings - still go
through the escalation check first: "you are useless, third time I'm asking" is a hand-over, not
"I'm a virtual assistant"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.escalation import check_turn
from actions.feedback import offer_csat, start_rating, typed_score
from crm_store.policy import load_policy

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
# Thanks or goodbye after a resolved request: the moment to ask for a rating (actions/feedback.py).
ASKS_FOR_RATING = {"thank_you", "goodbye"}
# Understood, but not a request the assistant can serve: misunderstandings are not over.
KEEPS_FALLBACK_COUNT = {"out_of_scope"}

# After a misunderstanding: how many guessed requests are offered, and what each button is titled
# (utter_intent_label_<intent> in domain.yml, so a shop words them without touching Python).
CLARIFY_OPTIONS = 3
LABEL_PREFIX = "utter_intent_label_"
# Never offered as a guess: not requests, or (a person) always offered anyway.
NOT_GUESSED = {*REPLIES, "nlu_fallback", "inform", "contact_human_agent", "EXTERNAL_agent_resolved"}
# Offered after the guesses: a person (the hand-over), and "none of these" - out_of_scope, which keeps
# the run of misunderstandings going and says what the assistant can do.
ALWAYS_OFFERED = ("contact_human_agent", "out_of_scope")
# Offered when the NLU has no guess at all: what customers ask for most, so nobody is left with a
# bare "please rephrase".
MENU = ("track_order", "get_refund", "check_payment_methods")
# Small talk that needs no answer from the customer's side: a lone yes or no with nothing asked.
LONE_ANSWERS = {"affirm", "deny"}


def intent_labels(domain: dict[str, Any]) -> dict[str, str]:
    """Each intent's button title, from its utter_intent_label_<intent> response (first variation)."""
    labels = {}
    for name, variations in (domain.get("responses") or {}).items():
        if name.startswith(LABEL_PREFIX) and variations and variations[0].get("text"):
            labels[name[len(LABEL_PREFIX):]] = str(variations[0]["text"])
    return labels


def likely_requests(ranking: list[dict], labels: dict[str, str], floor: float) -> list[str]:
    """The likeliest requests in the NLU's intent ranking, best first: requests only (no small talk,
    no fallback), with a label to show, scoring at least ``floor``."""
    guesses = [r["name"] for r in ranking
               if r.get("name") not in NOT_GUESSED and r.get("name") in labels
               and float(r.get("confidence") or 0.0) >= floor]
    return guesses[:CLARIFY_OPTIONS]


def clarify_buttons(guesses: list[str], labels: dict[str, str]) -> list[dict]:
    """A button per guess, then a person and "something else"; payloads are /<intent> as elsewhere."""
    return [{"title": labels[name], "payload": f"/{name}"}
            for name in [*guesses, *ALWAYS_OFFERED] if name in labels]


def person_button(labels: dict[str, str]) -> list[dict]:
    return clarify_buttons([], {k: v for k, v in labels.items() if k == "contact_human_agent"})


class ActionSmallTalk(Action):
    """Check the escalation rules, then answer the small talk unless a person takes over."""

    def name(self) -> str:
        return "action_small_talk"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        score = typed_score(tracker)
        if score is not None:  # a typed "4" after the rating question: the NLU calls it out of scope
            return start_rating(score)
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        handed_over, events = check_turn(dispatcher, tracker)
        if handed_over:
            return events
        if intent in LONE_ANSWERS and reads_like_a_request(tracker.latest_message, domain):
            # "COD" read as a yes: a keyword, not an answer (nothing was asked). Ask what was meant.
            clarify(dispatcher, tracker.latest_message.get("intent_ranking") or [], domain, misses=1)
            return events
        dispatcher.utter_message(response=REPLIES.get(intent, "utter_default"))
        if tracker.get_slot("fallback_count") and intent not in KEEPS_FALLBACK_COUNT:
            events.append(SlotSet("fallback_count", 0))  # understood: misunderstandings start over
        if intent in ASKS_FOR_RATING:  # after a resolved request: how did we do? (once)
            events += offer_csat(dispatcher, tracker)
        return events


class ActionFallback(Action):
    """The assistant did not understand: this miss counts towards the escalation rules (and insults
    the NLU could not place still count); unless a person takes over, offer the likeliest requests.

    A bare keyword ("refund") is clarified with buttons rather than met with "please rephrase": the
    NLU's best guesses, a person and "something else". The miss before the one that hands over says
    so and asks whether to get a colleague. Only when no guess reaches the policy's floor is the
    customer asked to say it another way."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        score = typed_score(tracker)
        if score is not None:  # "five!" after the rating question: understood after all
            return start_rating(score)
        misses = int(tracker.get_slot("fallback_count") or 0) + 1
        handed_over, events = check_turn(dispatcher, tracker, fallbacks=misses)
        if handed_over:
            return events
        clarify(dispatcher, tracker.latest_message.get("intent_ranking") or [], domain, misses)
        return events + [SlotSet("fallback_count", misses)]


def clarify(dispatcher, ranking: list[dict], domain: dict[str, Any], misses: int) -> None:
    """Ask what the customer meant: guesses as buttons if any, a person offered from the miss before
    the one the escalation rules hand over at."""
    policy = load_policy()
    labels = intent_labels(domain)
    guesses = likely_requests(ranking, labels, policy.clarify_floor)
    last_before_person = misses >= policy.escalation.fallbacks_at - 1
    if guesses:
        response = "utter_rephrase_again" if last_before_person else "utter_rephrase"
        dispatcher.utter_message(response=response, buttons=clarify_buttons(guesses, labels))
    elif last_before_person:
        dispatcher.utter_message(response="utter_rephrase_again_person", buttons=person_button(labels))
    else:
        dispatcher.utter_message(response="utter_rephrase_menu", buttons=clarify_buttons(list(MENU), labels))


def reads_like_a_request(message: dict[str, Any], domain: dict[str, Any]) -> bool:
    """A lone yes or no whose intent ranking has a request at or above the policy's clarify floor:
    short keywords ("COD") can land on affirm by their letters, a real "ok" leaves no such runner-up."""
    ranking = message.get("intent_ranking") or []
    return bool(likely_requests(ranking, intent_labels(domain), load_policy().clarify_floor))
