"""Asking for a rating and storing it (actions/feedback.py, actions/support.py) against a seeded CRM:
asked once after a resolved request, never twice, never with an open hand-over; one-tap scores;
stored with conversation, channel, intent, who resolved it and the comment's sentiment; a low score
or an angry comment opens a follow-up ticket."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from actions.feedback import csat_buttons
from actions.orders import ActionTrackOrder
from actions.recommend import ActionRecommend
from actions.small_talk import ActionFallback, ActionSmallTalk
from actions.support import ActionFeedback, ActionHandBack, ActionSubmitFeedback
from crm_store import models
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import load_domain, make_tracker, run, slot_sets, texts

RESOLVED = [{"event": "user", "text": "where is my order", "parse_data": {"intent": {"name": "track_order"}}},
            {"event": "action", "name": "action_track_order"},
            {"event": "user", "text": "thanks", "parse_data": {"intent": {"name": "thank_you"}}}]
HANDED_OVER = [*RESOLVED[:2], {"event": "slot", "name": "escalated_ticket", "value": "9"}, RESOLVED[2]]


def _thanks(slots=None, events=RESOLVED):
    return make_tracker(text="thanks", intent="thank_you", slots=slots, events=list(events))


async def test_thanks_after_a_resolved_request_asks_for_a_rating_with_one_tap_buttons(crm):
    events, messages = await run(ActionSmallTalk(), _thanks())
    assert [m["response"] for m in messages] == ["utter_you_are_welcome", "utter_offer_csat"]
    buttons = load_domain()["responses"]["utter_offer_csat"][0]["buttons"]
    assert buttons == csat_buttons()
    assert [b["title"] for b in buttons] == ["1", "2", "3", "4", "5"]
    assert buttons[3]["payload"] == '/review{"csat": "4"}'
    assert slot_sets(events)["csat_asked"] is True


@pytest.mark.parametrize("slots, events", [
    ({"csat_asked": True}, RESOLVED),
    ({"escalated_ticket": "9"}, HANDED_OVER),
    ({}, [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}}]),
], ids=["asked already", "hand-over not resolved", "nothing resolved"])
async def test_no_rating_question_twice_with_an_open_hand_over_or_with_nothing_done(crm, slots, events):
    events_out, messages = await run(ActionSmallTalk(), _thanks(slots, events))
    assert [m["response"] for m in messages] == ["utter_you_are_welcome"]
    assert "csat_asked" not in slot_sets(events_out)


async def test_a_hand_back_asks_with_the_form_unless_the_rating_was_asked_already(crm):
    events, _ = await run(ActionHandBack(), make_tracker(intent="EXTERNAL_agent_resolved",
                                                         slots={"escalated_ticket": "7"}))
    assert slot_sets(events)["next_step"] == "feedback_form" and slot_sets(events)["csat_asked"] is True
    events, messages = await run(ActionHandBack(), make_tracker(
        intent="EXTERNAL_agent_resolved", slots={"escalated_ticket": "7", "csat_asked": True}))
    assert slot_sets(events)["next_step"] is None and "back with the CareDesk assistant" in texts(messages)


async def test_a_tapped_score_is_kept_so_the_form_only_asks_for_a_comment(crm):
    events, _ = await run(ActionFeedback(), make_tracker(
        text='/review{"csat": "4"}', intent="review", entities=[{"entity": "csat", "value": "4"}]))
    assert slot_sets(events)["csat"] == "4" and slot_sets(events)["next_step"] == "feedback_form"
    events, _ = await run(ActionFeedback(), make_tracker(
        text='/review{"csat": "9"}', intent="review", entities=[{"entity": "csat", "value": "9"}]))
    assert slot_sets(events)["csat"] is None


def _submit(csat: str, comment: str, sentiment: float | None, events=RESOLVED, sender="rating-conversation"):
    tracker = make_tracker(text=comment, intent="inform", events=[*events, {"event": "user", "text": comment}],
                           slots={"csat": csat, "feedback_comment": comment, "customer_id": 2}, sender_id=sender)
    if sentiment is not None:
        tracker.latest_message["sentiment"] = {"label": "negative" if sentiment < 0 else "positive",
                                               "score": sentiment}
    return tracker


def _stored(url: str, sender: str = "rating-conversation") -> models.Feedback:
    with UnitOfWork(url) as uow:
        row = uow.session.execute(select(models.Feedback).where(models.Feedback.conversation_id == sender)).scalar_one()
        uow.session.expunge(row)
        return row


async def test_a_rating_is_stored_with_its_request_resolver_channel_and_the_comments_sentiment(crm):
    _, messages = await run(ActionSubmitFeedback(), _submit("4", "quick and friendly", 0.6))
    row = _stored(crm)
    assert (row.csat, row.comment, row.intent, row.resolved_by, row.customer_id) == (
        4, "quick and friendly", "track_order", "bot", 2)
    assert row.sentiment == pytest.approx(0.6) and row.ticket_id is None
    assert [m["response"] for m in messages] == ["utter_feedback_thanks"]


async def test_after_a_hand_over_the_rating_is_the_agents(crm):
    await run(ActionSubmitFeedback(), _submit("5", "-", None, events=HANDED_OVER))
    row = _stored(crm)
    assert row.resolved_by == "agent" and row.comment is None and row.sentiment is None


@pytest.mark.parametrize("csat, comment, sentiment, follow_up", [
    ("2", "-", None, True),
    ("1", "slow", -0.3, True),
    ("5", "you lost my parcel and nobody cares, this is outrageous", -0.8, True),
    ("4", "a bit slow", -0.2, False),
    ("3", "-", None, False),
], ids=["score 2", "score 1", "angry comment", "mild comment", "score 3"])
async def test_a_low_score_or_an_angry_comment_opens_a_follow_up_ticket(crm, csat, comment, sentiment, follow_up):
    _, messages = await run(ActionSubmitFeedback(), _submit(csat, comment, sentiment))
    row = _stored(crm)
    assert (row.ticket_id is not None) == follow_up
    if follow_up:
        with UnitOfWork(crm) as uow:
            ticket = uow.session.get(models.Ticket, row.ticket_id)
            assert (ticket.reason, ticket.priority, ticket.conversation_id) == (
                "feedback_follow_up", "high", "rating-conversation")
        assert messages[-1]["response"] == "utter_feedback_follow_up" and messages[-1]["ticket"] == row.ticket_id
    else:
        assert [m["response"] for m in messages] == ["utter_feedback_thanks"]


def test_the_rating_buttons_are_review_payloads_rasa_can_parse():
    for button in csat_buttons():
        intent, values = button["payload"][1:].split("{", 1)
        assert intent == "review" and json.loads("{" + values) == {"csat": button["title"]}


def _typed(text: str, intent: str, offered: bool = True, ranking=None):
    """The customer types ``text`` (read by the NLU as ``intent``) after thanks and the rating question."""
    said = [*RESOLVED,
            {"event": "bot", "text": "You're welcome!", "metadata": {"utter_action": "utter_you_are_welcome"}},
            {"event": "bot", "text": "How happy are you with our service, from 1 (not at all) to 5 (very)?",
             "metadata": {"utter_action": "utter_offer_csat"}},
            {"event": "action", "name": "action_listen"}]
    if not offered:  # something else was said after the question
        said += [{"event": "user", "text": "do you sell kettles", "parse_data": {"intent": {"name": "product_info"}}},
                 {"event": "bot", "text": "We do.", "metadata": {"utter_action": "utter_product_found"}}]
    said.append({"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}})
    return make_tracker(text=text, intent=intent, slots={"csat_asked": True}, events=said, ranking=ranking)


@pytest.mark.parametrize("action, text, intent, score", [
    (ActionSmallTalk(), "4", "out_of_scope", "4"),  # how the NLU reads a lone digit
    (ActionSmallTalk(), "I'd give it a 4", "out_of_scope", "4"),
    (ActionFallback(), "5!", "nlu_fallback", "5"),
    (ActionFallback(), "four", "nlu_fallback", "4"),
    (ActionFallback(), "2/5", "nlu_fallback", "2"),
    (ActionRecommend(), "4 stars", "recommend_products", "4"),  # a request action: request_action catches it
    (ActionTrackOrder(), "1", "inform", "1"),
])
async def test_a_rating_typed_after_the_question_starts_the_feedback_form_with_that_score(crm, action, text, intent,
                                                                                           score):
    events, messages = await run(action, _typed(text, intent))
    assert messages == []  # the form asks for the comment next
    assert slot_sets(events)["csat"] == score and slot_sets(events)["next_step"] == "feedback_form"
    assert {"event": "followup", "name": "feedback_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]


@pytest.mark.parametrize("text, offered", [("4", False), ("42", True), ("4 kettles", True), ("0", True)])
async def test_a_number_that_is_not_an_answer_to_the_question_is_not_a_rating(crm, text, offered):
    events, messages = await run(ActionSmallTalk(), _typed(text, "out_of_scope", offered=offered))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]
    assert "csat" not in slot_sets(events)
