"""Asking for a rating once, and what a rating is stored with.

After a resolved request (the customer thanks or says goodbye) or an agent's hand-back, the
assistant asks once per conversation how happy the customer is, with one-tap buttons (``/review``
carrying the score, so the feedback form only asks for an optional comment). Never twice, and
never while a hand-over the customer has not seen resolved is open (the ``escalated_ticket`` slot).
"""

from __future__ import annotations

import json
import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from actions import digest
from actions.values import entity_texts

ASKED_SLOT = "csat_asked"
OFFER = "utter_offer_csat"
# A rating typed instead of tapped: "4", "5!", "4 stars", "4/5", "four out of five", "I'd give it a 4".
TYPED_SCORE = re.compile(
    r"(?:(?:i|we)(?:'d| would)? (?:give|rate) (?:it|you|this|that|the service)? ?(?:an? )?)?"
    r"(?P<score>[1-5]|one|two|three|four|five)"
    r"(?: ?/ ?5| out of (?:5|five)| ?stars?| ?points?)?[ !.]*")
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}
SCORES = ("1", "2", "3", "4", "5")
def csat_buttons() -> list[dict[str, str]]:
    """The rating question's one-tap buttons (utter_offer_csat in domain.yml holds the same)."""
    return [{"title": score, "payload": "/review" + json.dumps({"csat": score})} for score in SCORES]


def something_resolved(tracker: Tracker) -> bool:
    return digest.of(tracker)["resolved"]


def may_ask(tracker: Tracker, hand_back: bool = False) -> bool:
    """Once per conversation, after something was resolved (``hand_back``: an agent just resolved
    it), never while a hand-over is open."""
    if tracker.get_slot(ASKED_SLOT):
        return False
    return hand_back or (not tracker.get_slot("escalated_ticket") and something_resolved(tracker))


def offer_csat(dispatcher, tracker: Tracker, hand_back: bool = False) -> list[EventType]:
    """Ask for the rating (one-tap buttons) if it may be asked now; the events that remember it."""
    if not may_ask(tracker, hand_back):
        return []
    dispatcher.utter_message(response="utter_offer_csat")  # its buttons: csat_buttons(), in domain.yml
    return [SlotSet(ASKED_SLOT, True)]


def tapped_score(entities: list[dict] | None) -> str | None:
    """The score a rating button carries (``/review{"csat": "4"}``), if it is one of 1-5."""
    score = next(iter(entity_texts(entities, "csat")), None)
    return score if score in SCORES else None


def just_offered(tracker: Tracker) -> bool:
    """The rating question was the assistant's last message before the customer's latest one."""
    answered = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if answered:
                return False
            answered = True
        elif event.get("event") == "bot" and answered:
            return (event.get("metadata") or {}).get("utter_action") == OFFER
    return False


def typed_score(tracker: Tracker) -> str | None:
    """The score of a rating typed in answer to the rating question (the NLU reads a lone "4" as
    anything from out-of-scope to a product request: only the question just asked makes it a score)."""
    if not tracker.get_slot(ASKED_SLOT) or tracker.active_loop.get("name") or not just_offered(tracker):
        return None
    text = " ".join(str(tracker.latest_message.get("text") or "").lower().replace("’", "'").split())
    found = TYPED_SCORE.fullmatch(text)
    return NUMBER_WORDS.get(found["score"], found["score"]) if found else None


def start_rating(score: str) -> list[EventType]:
    """What a tapped rating does (action_feedback and the rules), for a typed one: the score is
    kept and the feedback form runs next, asking only for the optional comment."""
    return [SlotSet("csat", score), SlotSet("feedback_comment", None), SlotSet(ASKED_SLOT, True),
            SlotSet("next_step", "feedback_form"), SlotSet("fallback_count", 0), FollowupAction("feedback_form")]


def rated_request(tracker: Tracker) -> str | None:
    """The last request the customer made before rating: what the rating is about."""
    return digest.of(tracker)["request"]


def resolved_by(tracker: Tracker) -> str:
    """'agent' when a colleague took part in the conversation (a hand-over or an agent's message), else 'bot'."""
    return "agent" if digest.of(tracker)["agent"] else "bot"


def comment_sentiment(tracker: Tracker) -> float | None:
    """The sentiment score of the comment (the message that answered the comment question)."""
    sentiment = tracker.latest_message.get("sentiment") or {}
    score = sentiment.get("score") if isinstance(sentiment, dict) else None
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None
