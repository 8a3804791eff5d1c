"""Automatic escalation after a request is answered: tickets, retention offer, once per conversation."""

from sqlalchemy import func, select

from actions import orders as order_actions
from crm_store import models
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import make_tracker, run, slot_sets, texts
from tests.integration.shop import order_ref

ANA = 1


def said(text, intent, score):
    return {"event": "user", "text": text, "parse_data": {
        "intent": {"name": intent}, "entities": [],
        "sentiment": {"label": "negative" if score < 0 else "neutral", "score": score}}}


def _escalations(url) -> list[models.Ticket]:
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(select(models.Ticket.priority, models.Ticket.summary)
                                   .where(models.Ticket.reason == "escalated")).all()
    return rows


async def test_a_furious_message_is_answered_and_escalated_once(crm, agents_live):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events = [said("where is my order", "track_order", 0.0),
              said("WHERE IS MY ORDER, third time i ask!!!", "track_order", -0.85)]
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order", events=events)
    result, messages = await run(order_actions.ActionTrackOrder(), tracker)
    assert "on its way" in texts(messages) and "asked a colleague" in texts(messages)
    assert "you're number 1 in the queue" in texts(messages)
    assert {"event": "pause"} in [{"event": e["event"]} for e in result]  # the bot steps back
    ticket_id = slot_sets(result)["escalated_ticket"]
    assert [p for p, _ in _escalations(crm)] == ["high"]
    assert "very negative message" in _escalations(crm)[0][1]

    again = make_tracker(slots={"customer_id": ANA, "order_ref": ref, "escalated_ticket": ticket_id},
                         intent="track_order", events=events)
    _, messages = await run(order_actions.ActionTrackOrder(), again)
    assert "asked a colleague" not in texts(messages) and len(_escalations(crm)) == 1


async def test_a_calm_conversation_is_not_escalated(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order",
                           events=[said("hi, where is my parcel?", "track_order", 0.0)])
    result, messages = await run(order_actions.ActionTrackOrder(), tracker)
    assert "colleague" not in texts(messages) and "escalated_ticket" not in slot_sets(result)
    assert _escalations(crm) == []


async def test_an_at_risk_customer_who_cancels_gets_a_retention_offer_and_a_person(crm, agents_live):
    with UnitOfWork(crm) as uow:
        uow.session.get(models.Customer, ANA).churn_score = 0.9
        uow.commit()
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="cancel_order",
                           events=[said("cancel it", "cancel_order", 0.0)])
    result, messages = await run(order_actions.ActionCancelOrder(), tracker)
    assert slot_sets(result)["next_step"] == "cancel_form"  # the customer can still cancel
    assert "10% off your next order" in texts(messages) and "asked a colleague" in texts(messages)
    with UnitOfWork(crm) as uow:
        count = uow.session.execute(select(func.count()).select_from(models.Ticket)
                                    .where(models.Ticket.reason == "escalated")).scalar_one()
    assert count == 1


async def test_when_no_agent_is_live_the_customer_gets_a_follow_up_and_the_bot_keeps_helping(crm, agents_offline):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events = [said("this is a joke, third time i ask!!!", "track_order", -0.9)]
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order", events=events)
    result, messages = await run(order_actions.ActionTrackOrder(), tracker)
    assert "isn't in the chat right now" in texts(messages) and "e-mail you" in texts(messages)
    assert "pause" not in [e["event"] for e in result]
    assert len(_escalations(crm)) == 1


async def test_within_support_hours_with_nobody_available_the_customer_gets_a_follow_up(crm, agents_busy):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events = [said("this is a joke, third time i ask!!!", "track_order", -0.9)]
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order", events=events)
    result, messages = await run(order_actions.ActionTrackOrder(), tracker)
    assert "colleagues are busy" in texts(messages) and "e-mail you" in texts(messages)
    assert "pause" not in [e["event"] for e in result]


async def test_a_conversation_escalated_twice_keeps_one_ticket(crm, agents_live):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events = [said("WHERE IS MY ORDER, third time i ask!!!", "track_order", -0.85)]
    tracker = make_tracker(slots={"customer_id": ANA, "order_ref": ref}, intent="track_order", events=events)
    first, _ = await run(order_actions.ActionTrackOrder(), tracker)
    from actions.support import ActionHandoff

    handoff = make_tracker(slots={"customer_id": ANA}, intent="contact_human_agent", events=events)
    second, messages = await run(ActionHandoff(), handoff)
    assert slot_sets(second)["escalated_ticket"] == slot_sets(first)["escalated_ticket"]
    with UnitOfWork(crm) as uow:
        assert uow.session.execute(select(func.count()).select_from(models.Ticket).where(
            models.Ticket.conversation_id == "test-conversation")).scalar_one() == 1


async def test_the_hand_back_says_the_assistant_is_back_and_clears_the_escalation():
    from actions.support import ActionHandBack

    result, messages = await run(ActionHandBack(), make_tracker(intent="EXTERNAL_agent_resolved",
                                                                slots={"escalated_ticket": "7"}))
    assert "back with the CareDesk assistant" in texts(messages)
    assert slot_sets(result)["escalated_ticket"] is None


# Every turn, not only requests: small talk, misunderstandings and out-of-scope messages
# (actions/small_talk.py) go through the same escalation use case first.

INSULT = "you are useless, third time I'm asking"


def _small_talk(intent, text, score, *, slots=None, earlier=(), active_loop=None):
    events = [*earlier, said(text, intent, score)]
    return make_tracker(slots=slots, text=text, intent=intent, events=events, active_loop=active_loop)


def _tickets(url) -> list[tuple[str, str]]:
    """This conversation's tickets: (reason, summary)."""
    with UnitOfWork(url) as uow:
        return [(row.reason, row.summary) for row in uow.session.execute(
            select(models.Ticket.reason, models.Ticket.summary)
            .where(models.Ticket.conversation_id == "test-conversation")).all()]


async def test_an_insult_with_no_request_is_handed_to_a_person_instead_of_a_canned_answer(crm, agents_live):
    from actions.small_talk import ActionSmallTalk

    result, messages = await run(ActionSmallTalk(), _small_talk("bot_challenge", INSULT, -0.45))
    assert "asked a colleague" in texts(messages) and "number 1 in the queue" in texts(messages)
    assert "virtual assistant" not in texts(messages)
    assert "pause" in [e["event"] for e in result] and slot_sets(result)["escalated_ticket"]
    [(reason, summary)] = _tickets(crm)
    assert reason == "escalated" and "insult" in summary and "asked again" in summary and INSULT in summary


async def test_an_insult_out_of_hours_gets_a_ticket_and_an_e_mail_follow_up(crm, agents_offline):
    from actions.small_talk import ActionSmallTalk

    result, messages = await run(ActionSmallTalk(), _small_talk("out_of_scope", "this is a waste of time", -0.3))
    assert "isn't in the chat right now" in texts(messages) and "pause" not in [e["event"] for e in result]
    assert "not something I can help with" not in texts(messages) and len(_tickets(crm)) == 1


async def test_mildly_negative_small_talk_gets_its_usual_answer_and_no_ticket(crm, agents_live):
    from actions.small_talk import ActionSmallTalk

    _, greeted = await run(ActionSmallTalk(), _small_talk("greet", "hello, kinda annoyed today", -0.32))
    _, thanked = await run(ActionSmallTalk(), _small_talk("thank_you", "ok thanks, not ideal but fine", -0.2))
    assert "I'm the CareDesk assistant" in texts(greeted) and "You're welcome" in texts(thanked)
    assert _tickets(crm) == []


async def test_small_talk_that_was_understood_ends_a_run_of_misunderstandings(crm):
    from actions.small_talk import ActionSmallTalk

    result, _ = await run(ActionSmallTalk(), _small_talk("greet", "hi", 0.0, slots={"fallback_count": 2}))
    assert slot_sets(result)["fallback_count"] == 0
    kept, _ = await run(ActionSmallTalk(), _small_talk("out_of_scope", "weather?", 0.0, slots={"fallback_count": 2}))
    assert "fallback_count" not in slot_sets(kept)


async def test_a_second_miss_offers_a_person_and_the_third_in_a_row_hands_over(crm, agents_live):
    from actions.small_talk import ActionFallback

    ranking = [{"name": "track_order", "confidence": 0.3}]
    second = make_tracker(slots={"fallback_count": 1}, text="bla", intent="nlu_fallback", ranking=ranking,
                          events=[said("bla", "nlu_fallback", 0.0)])
    result, messages = await run(ActionFallback(), second)
    assert "shall I get a colleague" in texts(messages) and slot_sets(result)["fallback_count"] == 2
    assert any(b["payload"] == "/contact_human_agent" for b in messages[0]["buttons"]) and _tickets(crm) == []

    third = make_tracker(slots={"fallback_count": 2}, text="hmm about my thing", intent="nlu_fallback",
                         ranking=ranking, events=[said("hmm about my thing", "nlu_fallback", 0.0)])
    result, messages = await run(ActionFallback(), third)
    assert "asked a colleague" in texts(messages) and "not sure" not in texts(messages)
    assert slot_sets(result)["fallback_count"] == 0 and "pause" in [e["event"] for e in result]
    [(reason, summary)] = _tickets(crm)
    assert "repeated misunderstandings" in summary


async def test_an_insult_the_nlu_could_not_place_still_hands_over(crm, agents_live):
    from actions.small_talk import ActionFallback

    result, messages = await run(ActionFallback(), _small_talk("nlu_fallback", "what a useless bot", -0.49))
    assert "asked a colleague" in texts(messages) and "insult" in _tickets(crm)[0][1]


async def test_an_insult_mid_form_with_an_agent_live_ends_the_form_so_the_person_has_a_clean_slate(crm, agents_live):
    from actions.small_talk import ActionSmallTalk

    tracker = _small_talk("bot_challenge", INSULT, -0.45, slots={"requested_slot": "order_ref"},
                          active_loop="verify_form")
    result, messages = await run(ActionSmallTalk(), tracker)
    assert {"event": "active_loop", "name": None} in [{"event": e["event"], "name": e.get("name")} for e in result]
    assert slot_sets(result)["requested_slot"] is None and "pause" in [e["event"] for e in result]


async def test_an_insult_mid_form_out_of_hours_leaves_the_form_to_go_on(crm, agents_offline):
    from actions.small_talk import ActionSmallTalk

    tracker = _small_talk("bot_challenge", INSULT, -0.45, slots={"requested_slot": "order_ref"},
                          active_loop="verify_form")
    result, messages = await run(ActionSmallTalk(), tracker)
    assert "e-mail you" in texts(messages)
    assert "active_loop" not in [e["event"] for e in result]  # the rule asks for the order again


async def test_a_mildly_negative_question_mid_form_does_not_interrupt_it(crm, agents_live):
    from actions.small_talk import ActionSmallTalk

    tracker = _small_talk("bot_challenge", "am i talking to a bot? this is taking a while", -0.25,
                          slots={"requested_slot": "order_ref"}, active_loop="verify_form")
    result, messages = await run(ActionSmallTalk(), tracker)
    assert "virtual assistant" in texts(messages) and result == [] and _tickets(crm) == []


async def test_an_open_hand_over_is_not_escalated_again(crm, agents_offline):
    from actions.small_talk import ActionSmallTalk

    first, _ = await run(ActionSmallTalk(), _small_talk("bot_challenge", INSULT, -0.45))
    ticket = slot_sets(first)["escalated_ticket"]
    again, messages = await run(ActionSmallTalk(), _small_talk("bot_challenge", "still useless", -0.5,
                                                               slots={"escalated_ticket": ticket}))
    assert "virtual assistant" in texts(messages) and "escalated_ticket" not in slot_sets(again)
    # Even without the slot (another channel, a lost slot), the conversation keeps its one ticket.
    third, _ = await run(ActionSmallTalk(), _small_talk("bot_challenge", "useless", -0.5))
    assert slot_sets(third)["escalated_ticket"] == ticket and len(_tickets(crm)) == 1


async def test_when_the_crm_is_unreachable_small_talk_is_still_answered(monkeypatch, tmp_path):
    from actions.small_talk import ActionSmallTalk
    from common.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/caredesk")
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result, messages = await run(ActionSmallTalk(), _small_talk("bot_challenge", INSULT, -0.45))
    finally:
        get_settings.cache_clear()
    assert "virtual assistant" in texts(messages) and result == []
