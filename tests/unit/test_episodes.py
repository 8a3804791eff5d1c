"""Conversation episodes derived from stored Rasa events (hand-built, as the tracker store keeps them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_store.scoring.episodes import (
    FeedbackFacts,
    SupportHours,
    TicketFacts,
    derive,
    mark_recontacts,
    split_sessions,
    support_seconds,
)

HOURS = SupportHours(days=(0, 1, 2, 3, 4), from_hour=9, until_hour=18, timezone="Europe/Berlin")
# 2026-01-12 is a Monday; Berlin is UTC+1 in winter, so support runs 08:00-17:00 UTC.
MONDAY = datetime(2026, 1, 12, 9, 0)


def _ts(when: datetime) -> float:
    return when.replace(tzinfo=timezone.utc).timestamp()


class Chat:
    """Events of one conversation with a clock (naive UTC)."""

    def __init__(self, start: datetime, channel: str = "caredesk_web", cid: int | None = None):
        self.t, self.channel, self.cid = start, channel, cid
        self.events: list[dict] = []

    def _add(self, event: dict, after: float) -> dict:
        self.t += timedelta(seconds=after)
        event["timestamp"] = _ts(self.t)
        self.events.append(event)
        return event

    def session(self, after: float = 0) -> Chat:
        self._add({"event": "action", "name": "action_session_start"}, after)
        self._add({"event": "session_started"}, 0.01)
        self._add({"event": "action", "name": "action_listen"}, 0.01)
        return self

    def user(self, text: str, intent: str, sentiment: tuple[str, float] | None = ("neutral", 0.0),
             after: float = 10) -> Chat:
        metadata = {"identity": {"cid": self.cid}} if self.cid is not None else {}
        parse: dict = {"intent": {"name": intent, "confidence": 0.9}, "text": text, "metadata": metadata}
        if sentiment is not None:
            parse["sentiment"] = {"label": sentiment[0], "score": sentiment[1]}
        self._add({"event": "user", "text": text, "parse_data": parse, "input_channel": self.channel,
                   "metadata": metadata}, after)
        return self

    def bot(self, text: str = "ok", response: str | None = "utter_ok", agent: str | None = None,
            after: float = 1) -> Chat:
        metadata = {"agent": agent} if agent else {"utter_action": response} if response else {}
        self._add({"event": "bot", "text": text, "metadata": metadata}, after)
        return self

    def slot(self, name: str, value, after: float = 0.01) -> Chat:
        self._add({"event": "slot", "name": name, "value": value}, after)
        return self

    def mark(self, kind: str, after: float = 0.01) -> Chat:
        self._add({"event": kind}, after)
        return self

    def wait(self, **delta) -> Chat:
        self.t += timedelta(**delta)
        return self


def _derive(chat: Chat, conversation: str = "web:1", tickets=(), feedback=()):
    return derive(conversation, chat.events, list(tickets), list(feedback), HOURS)


def test_sessions_split_at_each_session_start_and_only_those_with_a_customer_message_count():
    chat = Chat(MONDAY).session().user("hi", "greet").bot()
    chat.wait(hours=2).session()  # opened the chat, said nothing
    chat.wait(hours=3).session().user("where is my order", "track_order").bot()
    episodes, _ = _derive(chat)
    assert [e.number for e in episodes] == [1, 3]
    assert len(split_sessions(chat.events)) == 3
    assert episodes[1].started_at == MONDAY + timedelta(hours=5, seconds=11.04)
    assert episodes[1].ended_at == episodes[1].started_at + timedelta(seconds=11.02)
    assert [e.user_messages for e in episodes] == [1, 1]


def test_events_stored_before_any_session_start_form_the_first_session():
    chat = Chat(MONDAY).user("hi", "greet")
    chat.wait(hours=2).session().user("invoice please", "check_invoice")
    assert [e.number for e in _derive(chat)[0]] == [1, 2]


def test_the_metadata_slot_rasa_stores_just_before_a_session_start_belongs_to_that_session():
    """With message metadata Rasa 3.6 sets ``session_started_metadata`` before it runs
    action_session_start (MessageProcessor._update_tracker_session), so that slot is stored just
    before the session start (seen in a live tracker store). It must not form a session of its own
    (a live conversation's first episode was numbered 2) nor stretch the previous session to the
    next one's start (every session followed by another, days later, was a 24 h re-contact)."""
    chat = Chat(MONDAY).slot("session_started_metadata", {"client": "ip:x"}).session().user("hi", "greet").bot()
    chat.wait(days=3).slot("session_started_metadata", {"client": "ip:x"})
    chat.session().user("where is my order", "track_order").bot()
    episodes = mark_recontacts(_derive(chat)[0])
    assert [e.number for e in episodes] == [1, 2]
    assert [len(s) for s in split_sessions(chat.events)] == [6, 6]
    assert episodes[0].ended_at < MONDAY + timedelta(minutes=1)
    assert episodes[1].started_at == MONDAY + timedelta(days=3, seconds=11.04)
    assert not episodes[0].recontact_24h and episodes[0].contained


@pytest.mark.parametrize(("input_channel", "channel"), [
    ("caredesk_web", "web"), ("caredesk_telegram", "telegram"), ("rest", "rest"), ("caredesk_rest", "rest"),
    ("socketio", "other"), (None, "other")])
def test_the_channel_comes_from_the_customer_messages_input_channel(input_channel, channel):
    chat = Chat(MONDAY, channel=input_channel).session().user("hi", "greet")
    assert _derive(chat)[0][0].channel == channel


def test_intents_are_distinct_in_order_and_the_topic_is_the_first_request():
    chat = Chat(MONDAY).session().user("hi", "greet").user("??", "nlu_fallback").user("track CD-1", "track_order")
    chat.user("thanks", "thank_you").user("and my invoice", "check_invoice").user("track again", "track_order")
    episode = _derive(chat)[0][0]
    assert episode.intents == ("greet", "nlu_fallback", "track_order", "thank_you", "check_invoice")
    assert episode.topic_intent == "track_order"
    assert _derive(Chat(MONDAY).session().user("hi", "greet").user("bye", "goodbye"))[0][0].topic_intent is None


def test_sentiment_start_end_and_minimum_and_each_negative_message_kept_with_its_text():
    chat = Chat(MONDAY, channel="caredesk_telegram").session().user("/track_order", "track_order", sentiment=None)
    chat.user("my parcel is late again", "complaint", ("negative", -0.6))
    chat.user("this is awful", "complaint", ("negative", -0.8))
    chat.user("ok thanks", "thank_you", ("positive", 0.4))
    episodes, negatives = _derive(chat, "tg:5")
    episode = episodes[0]
    assert (episode.sentiment_start, episode.sentiment_end, episode.sentiment_min) == (-0.6, 0.4, -0.8)
    assert episode.negative_messages == 2 and episode.user_messages == 4
    assert [(n.text, n.intent, n.score, n.channel, n.number) for n in negatives] == [
        ("my parcel is late again", "complaint", -0.6, "telegram", 1), ("this is awful", "complaint", -0.8,
                                                                        "telegram", 1)]
    assert negatives[0].at == MONDAY + timedelta(seconds=20.02)


def test_no_sentiment_at_all_leaves_the_scores_empty():
    episode = _derive(Chat(MONDAY).session().user("/greet", "greet", sentiment=None))[0][0]
    assert episode.sentiment_start is episode.sentiment_end is episode.sentiment_min is None


def test_a_message_the_console_triggered_is_not_a_customer_message():
    chat = Chat(MONDAY).session().user("hi", "greet").user("EXTERNAL: EXTERNAL_agent_resolved",
                                                           "EXTERNAL_agent_resolved")
    episode = _derive(chat)[0][0]
    assert episode.user_messages == 1 and episode.intents == ("greet",)


def test_the_customer_comes_from_the_identity_else_from_the_ticket():
    assert _derive(Chat(MONDAY, cid=42).session().user("hi", "greet"))[0][0].customer_id == 42
    chat = Chat(MONDAY).session().user("person please", "contact_human_agent").slot("escalated_ticket", "7")
    ticket = TicketFacts(7, MONDAY + timedelta(seconds=11), "human_requested", "amira", customer_id=9)
    assert _derive(chat, tickets=[ticket])[0][0].customer_id == 9
    assert _derive(Chat(MONDAY).session().user("hi", "greet"))[0][0].customer_id is None


def test_a_live_hand_over_is_escalated_answered_by_the_agent_and_timed_in_support_hours():
    start = MONDAY + timedelta(hours=1)  # 10:00 UTC, 11:00 in Berlin
    chat = Chat(start, cid=3).session().user("I want a person", "contact_human_agent", ("negative", -0.5))
    chat.bot("handed over", "utter_handed_over_live").slot("escalated_ticket", "31").mark("pause")
    created = chat.t
    chat.bot("Hi, I'm here", agent="chen", after=180).user("thanks", "thank_you", ("positive", 0.5))
    chat.bot("bye", agent="chen").mark("resume", after=30).slot("escalated_ticket", None)
    chat.bot("utter_ask_csat", "utter_ask_csat")
    ticket = TicketFacts(31, created, "human_requested", "chen", first_response_at=None,
                         closed_at=created + timedelta(minutes=10), customer_id=3)
    episode = _derive(chat, tickets=[ticket])[0][0]
    assert episode.escalated and episode.live_handover and episode.ticket_id == 31
    assert episode.escalation_reason == "human_requested" and episode.agent == "chen"
    assert episode.first_response_seconds == pytest.approx(180, abs=0.1)  # the agent's first chat message
    assert episode.resolution_seconds == pytest.approx(600)
    assert episode.resolved_by == "agent" and not episode.contained and episode.csat_asked


def test_a_ticket_opened_on_friday_evening_is_timed_in_working_hours_only():
    friday_evening = datetime(2026, 1, 16, 16, 30)  # 17:30 in Berlin, half an hour before closing
    chat = Chat(friday_evening).session().user("this is a disgrace", "complaint", ("negative", -0.9))
    chat.bot("by e-mail", "utter_handed_over_by_email")
    ticket = TicketFacts(8, friday_evening + timedelta(seconds=12), "complaint", "dorota",
                         first_response_at=datetime(2026, 1, 19, 8, 10),  # Monday 09:10 in Berlin
                         closed_at=datetime(2026, 1, 20, 9, 0))  # Tuesday 10:00 in Berlin
    episode = _derive(chat, tickets=[ticket])[0][0]
    assert episode.escalated and not episode.live_handover and episode.agent == "dorota"
    assert episode.first_response_seconds == pytest.approx(30 * 60 - 12 + 10 * 60)
    assert episode.resolution_seconds == pytest.approx(30 * 60 - 12 + 9 * 3600 + 3600)


def test_a_ticket_opened_at_night_waits_for_the_morning():
    night = datetime(2026, 1, 13, 22, 0)  # Tuesday 23:00 in Berlin
    ticket = TicketFacts(9, night, "escalated", "emeka", first_response_at=datetime(2026, 1, 14, 8, 5))
    episode = _derive(Chat(night).session().user("??", "track_order"), tickets=[ticket])[0][0]
    assert episode.first_response_seconds == pytest.approx(300)
    assert episode.resolution_seconds is None and episode.resolved_by == "open" and not episode.contained


def test_support_seconds_follow_the_time_zone_across_summer_time_and_skip_weekends():
    # Monday 30 March 2026 (summer time since Sunday): 09:00-18:00 in Berlin is 07:00-16:00 UTC.
    assert support_seconds(datetime(2026, 3, 30, 6, 0), datetime(2026, 3, 30, 8, 0), HOURS) == 3600
    week = support_seconds(datetime(2026, 1, 11, 23, 0), datetime(2026, 1, 18, 23, 0), HOURS)
    assert week == 5 * 9 * 3600
    assert support_seconds(datetime(2026, 1, 17, 10), datetime(2026, 1, 18, 20), HOURS) == 0  # a weekend
    assert support_seconds(MONDAY, MONDAY - timedelta(hours=1), HOURS) == 0


def test_a_ticket_is_found_by_time_when_no_slot_names_it_and_only_in_its_own_session():
    chat = Chat(MONDAY).session().user("complaint about my order", "complaint")
    chat.wait(hours=3).session().user("hello again", "greet")
    late = TicketFacts(5, MONDAY + timedelta(hours=3, minutes=1), "complaint", "amira",
                       closed_at=MONDAY + timedelta(hours=4))
    first, second = _derive(chat, tickets=[late])[0]
    assert not first.escalated and first.resolved_by == "bot"
    assert second.escalated and second.ticket_id == 5 and second.resolved_by == "agent"


def test_the_rating_given_in_the_session_is_its_csat():
    chat = Chat(MONDAY).session().user("track", "track_order").bot("how did I do?", "utter_ask_csat")
    chat.user("5", "inform")
    rated = FeedbackFacts(5, chat.t + timedelta(seconds=30))
    older = FeedbackFacts(2, MONDAY - timedelta(days=3))
    episode = _derive(chat, feedback=[older, rated])[0][0]
    assert episode.csat == 5 and episode.csat_asked
    unrated = _derive(Chat(MONDAY).session().user("track", "track_order"), feedback=[older])[0][0]
    assert unrated.csat is None and not unrated.csat_asked


def _episode(conversation: str, start: datetime, cid: int | None = None, minutes: float = 5):
    chat = Chat(start, cid=cid).session().user("where is it", "track_order").wait(minutes=minutes).bot()
    return _derive(chat, conversation)[0][0]


def test_coming_back_within_a_day_is_a_recontact_and_not_contained():
    first = _episode("web:a", MONDAY, cid=1)
    again = _episode("tg:1", MONDAY + timedelta(hours=20), cid=1)  # another channel, same customer
    marked = mark_recontacts([first, again])
    assert marked[0].recontact_24h and not marked[0].contained
    assert not marked[1].recontact_24h and marked[1].contained


def test_coming_back_after_more_than_a_day_is_not_a_recontact():
    first = _episode("web:a", MONDAY, cid=1)
    later = _episode("web:b", MONDAY + timedelta(hours=24, minutes=10), cid=1)
    assert [e.recontact_24h for e in mark_recontacts([first, later])] == [False, False]
    assert all(e.contained for e in mark_recontacts([first, later]))


def test_an_anonymous_visitor_is_recognised_by_the_conversation_only():
    chat = Chat(MONDAY).session().user("where is it", "track_order").wait(hours=5).session().user("hi", "greet")
    episodes, _ = _derive(chat, "web:anon")
    stranger = _episode("web:other", MONDAY + timedelta(hours=1))
    marked = mark_recontacts([stranger, *episodes])
    assert [e.recontact_24h for e in marked] == [False, True, False]
    assert [e.contained for e in marked] == [True, False, True]


def test_an_escalated_episode_is_never_contained():
    chat = Chat(MONDAY).session().user("person", "contact_human_agent").slot("escalated_ticket", "4")
    ticket = TicketFacts(4, MONDAY + timedelta(seconds=11), "human_requested", "amira",
                         closed_at=MONDAY + timedelta(hours=1))
    episode = mark_recontacts(_derive(chat, tickets=[ticket])[0])[0]
    assert episode.resolved_by == "agent" and not episode.recontact_24h and not episode.contained


def test_support_hours_come_from_the_shop_policy():
    from crm_store.policy import load_policy

    policy = load_policy()
    hours = SupportHours.from_policy(policy)
    assert (hours.days, hours.from_hour, hours.until_hour, hours.timezone) == (
        policy.live_days, policy.live_from_hour, policy.live_until_hour, policy.timezone)


def test_an_automatic_escalation_is_reported_by_the_rule_that_fired():
    chat = Chat(MONDAY).session().user("WHERE IS MY PARCEL", "track_order", ("negative", -0.9))
    automatic = TicketFacts(12, MONDAY + timedelta(seconds=5), "escalated", rules=("very negative message", "insult"))
    assert _derive(chat, tickets=[automatic])[0][0].escalation_reason == "very negative message"
    asked = TicketFacts(12, MONDAY + timedelta(seconds=5), "human_requested", rules=("very negative message",))
    assert _derive(chat, tickets=[asked])[0][0].escalation_reason == "human_requested"
    unexplained = TicketFacts(12, MONDAY + timedelta(seconds=5), "escalated")
    assert _derive(chat, tickets=[unexplained])[0][0].escalation_reason == "escalated"
