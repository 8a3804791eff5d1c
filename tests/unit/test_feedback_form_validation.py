"""The feedback form's validators when the hand-back clears its slots before the form starts.

Rasa SDK validates every slot set since the customer's last message, so the hand-back's
``SlotSet("csat", None)`` and ``SlotSet("feedback_comment", None)`` reach the validators. Found by
the hand-over e2e test: the comment was taken as given (empty) and never asked, and the customer
was told their score was invalid before giving one.
"""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.support import ValidateFeedbackForm


def test_a_cleared_score_is_not_an_invalid_score():
    dispatcher = CollectingDispatcher()
    assert ValidateFeedbackForm().validate_csat(None, dispatcher, None, {}) == {"csat": None}
    assert dispatcher.messages == []


def test_a_cleared_comment_is_still_to_be_asked():
    assert ValidateFeedbackForm().validate_feedback_comment(None, CollectingDispatcher(), None, {}) == {
        "feedback_comment": None}


def test_real_answers_are_still_judged():
    dispatcher = CollectingDispatcher()
    form = ValidateFeedbackForm()
    assert form.validate_csat("4", dispatcher, None, {}) == {"csat": "4"}
    assert form.validate_csat("banana", dispatcher, None, {}) == {"csat": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_csat_invalid"]
    assert form.validate_feedback_comment("no", dispatcher, None, {}) == {"feedback_comment": "-"}
    said = form.validate_feedback_comment("fast and kind", dispatcher, None, {})
    assert said == {"feedback_comment": "fast and kind"}
