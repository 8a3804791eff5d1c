"""One owner per conversation: escalation, the queue, claim, transfer, reply, resolve, presence,
notes, profile and canned replies against the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crm_store import errors, models
from crm_store.scoring.escalation import EscalationRules
from crm_store.services import escalation, handover, presence, sessions, users
from tests.integration.shop import order_ref

RULES = EscalationRules()
NOW = datetime(2026, 6, 1, 10, 0)


def _angry(conversation_id: str, customer_id: int | None = 1, **extra) -> escalation.Conversation:
    values = dict(conversation_id=conversation_id, customer_id=customer_id, channel="web", intent="complaint",
                  sentiments=(-0.2, -0.8), intents=("order_status", "complaint"),
                  messages=(("where is it", "neutral"), ("this is a disgrace", "negative")))
    return escalation.Conversation(**{**values, **extra})


def _escalate(uow_factory, chat, now=NOW):
    return escalation.escalate(chat, uow_factory(), reason="escalated", why="automatic escalation", rules=RULES,
                               now=now)


@pytest.fixture
def agent(uow_factory):
    return users.add_user("maria", "agent", uow_factory(), password="correct horse battery").user


def test_escalating_twice_keeps_one_queue_entry(uow_factory):
    first = _escalate(uow_factory, _angry("web:twice"))
    second = _escalate(uow_factory, _angry("web:twice"), now=NOW + timedelta(minutes=1))
    assert (second.ticket_id, second.already_open, first.already_open) == (first.ticket_id, True, False)
    assert [e.ticket.id for e in handover.queue(uow_factory(), now=NOW)] == [first.ticket_id]


def test_the_hand_over_card_holds_what_the_agent_needs(uow_factory):
    result = _escalate(uow_factory, _angry("web:card", failed_turns=("asdf qwer",), orders=("CD-ABC234",)))
    card = handover.latest_ticket("web:card", uow_factory()).card
    assert card["why"] == "automatic escalation" and card["reasons"] == list(result.reasons)
    assert card["intents"] == ["order_status", "complaint"] and card["failed_turns"] == ["asdf qwer"]
    assert card["orders"] == ["CD-ABC234"] and card["last_sentiment"] == -0.8
    assert card["lifetime_value_cents"] > 0 and "churn_score" in card


def test_nobody_available_means_no_live_hand_over(uow_factory, agent):
    result = _escalate(uow_factory, _angry("web:nobody"))
    assert result.escalate and not result.live and result.queue_position is None


def test_an_available_agent_makes_the_hand_over_live_with_a_queue_position(uow_factory, agent):
    presence.set_available(agent.id, True, uow_factory(), actor="maria", now=NOW)
    first = _escalate(uow_factory, _angry("web:live-1", customer_id=1))
    second = _escalate(uow_factory, _angry("web:live-2", customer_id=2))
    assert (first.live, first.queue_position, second.live, second.queue_position) == (True, 1, True, 2)


def test_an_agent_seen_too_long_ago_is_not_available(uow_factory, agent):
    presence.set_available(agent.id, True, uow_factory(), actor="maria", now=NOW - timedelta(minutes=10))
    assert presence.available_agents(uow_factory(), now=NOW) == []
    presence.seen(agent.id, uow_factory(), now=NOW)
    assert presence.available_agents(uow_factory(), now=NOW) == ["maria"]


def test_a_disabled_agent_is_not_available(uow_factory, agent):
    presence.set_available(agent.id, True, uow_factory(), actor="maria", now=NOW)
    users.disable_user("maria", uow_factory())
    assert presence.available_agents(uow_factory(), now=NOW) == []


def test_claim_reply_and_resolve_move_the_conversation_back_to_the_bot(uow_factory, agent):
    _escalate(uow_factory, _angry("web:life"))
    assert handover.owner("web:life", uow_factory()).state == "waiting"
    assert handover.claim("web:life", "maria", uow_factory(), now=NOW).state == "agent"
    handover.record_reply("web:life", "maria", "agent", uow_factory(), now=NOW + timedelta(minutes=2))
    ticket = handover.resolve("web:life", "maria", "agent", uow_factory(), now=NOW + timedelta(minutes=9))
    assert (ticket.status, ticket.claimed_at, ticket.first_response_at) == (
        "closed", NOW, NOW + timedelta(minutes=2))
    assert handover.owner("web:life", uow_factory()).state == "bot"
    with uow_factory() as uow:
        done = uow.session.execute(select(models.AuditLog.actor, models.AuditLog.action).where(
            models.AuditLog.entity == "ticket", models.AuditLog.entity_id == ticket.id)).all()
    assert [tuple(row) for row in done] == [("assistant", "open"), ("maria", "claim"), ("maria", "reply"),
                                            ("maria", "resolve")]


def test_after_resolution_a_new_escalation_opens_a_new_ticket(uow_factory, agent):
    first = _escalate(uow_factory, _angry("web:again"))
    handover.resolve("web:again", "maria", "agent", uow_factory())
    second = _escalate(uow_factory, _angry("web:again"))
    assert second.ticket_id != first.ticket_id and not second.already_open


def test_another_agent_cannot_claim_reply_or_resolve_but_an_admin_can(uow_factory, agent):
    users.add_user("lars", "agent", uow_factory(), password="another good password")
    _escalate(uow_factory, _angry("web:owned"))
    handover.claim("web:owned", "maria", uow_factory())
    with pytest.raises(errors.AlreadyClaimed):
        handover.claim("web:owned", "lars", uow_factory())
    with pytest.raises(errors.NotOwner):
        handover.record_reply("web:owned", "lars", "agent", uow_factory())
    with pytest.raises(errors.NotOwner):
        handover.resolve("web:owned", "lars", "agent", uow_factory())
    assert handover.resolve("web:owned", "boss", "admin", uow_factory()).status == "closed"


def test_transfer_passes_the_conversation_to_an_enabled_agent_only(uow_factory, agent):
    users.add_user("lars", "agent", uow_factory(), password="another good password")
    users.add_user("gone", "agent", uow_factory(), password="another good password")
    users.disable_user("gone", uow_factory())
    _escalate(uow_factory, _angry("web:pass"))
    handover.claim("web:pass", "maria", uow_factory())
    with pytest.raises(errors.InvalidInput):
        handover.transfer("web:pass", "gone", "maria", "agent", uow_factory())
    assert handover.transfer("web:pass", "lars", "maria", "agent", uow_factory()).assignee == "lars"
    with pytest.raises(errors.NotOwner):
        handover.transfer("web:pass", "maria", "maria", "agent", uow_factory())


def test_the_queue_puts_an_angry_valuable_customer_before_an_older_calm_question(uow_factory):
    calm = escalation.Conversation(conversation_id="web:calm", customer_id=3, channel="web", intent="order_status",
                                   sentiments=(0.1,), asked_for_person=True)
    escalation.escalate(calm, uow_factory(), reason="human_requested", why="asked", rules=RULES,
                        now=NOW - timedelta(minutes=3))
    angry = _escalate(uow_factory, _angry("web:furious", customer_id=1, sentiments=(-0.9, -0.95)))
    entries = handover.queue(uow_factory(), now=NOW)
    assert [e.ticket.conversation_id for e in entries] == ["web:furious", "web:calm"]
    assert entries[0].ticket.id == angry.ticket_id and entries[0].risk > entries[1].risk
    assert entries[1].due_in_seconds == 120  # five-minute target, three minutes gone


def test_notes_are_kept_for_colleagues(uow_factory, agent):
    handover.add_note("web:n", "  Customer prefers e-mail  ", "maria", uow_factory())
    found = handover.notes("web:n", uow_factory())
    assert [(n.author, n.text) for n in found] == [("maria", "Customer prefers e-mail")]
    with pytest.raises(errors.InvalidInput):
        handover.add_note("web:n", " ", "maria", uow_factory())


def test_the_profile_shows_orders_tickets_and_past_ratings(uow_factory):
    _escalate(uow_factory, _angry("web:profile", customer_id=1))
    found = handover.profile(1, uow_factory())
    assert found.account.customer_id == 1 and found.orders and found.tickets[0].conversation_id == "web:profile"
    assert handover.profile(10**9, uow_factory()).account is None


def test_canned_replies_fill_crm_fields_of_the_customers_own_order(uow_factory):
    with uow_factory() as uow:
        shipped = order_ref(uow, 1, "shipped")
        other = order_ref(uow, 2, "shipped")
    text = handover.fill_canned("{order.reference} via {order.carrier}: {order.tracking_url}", 1, shipped,
                                uow_factory())
    assert text.startswith(shipped) and "http" in text and "[" not in text
    assert handover.fill_canned("{order.reference}", 1, other, uow_factory()) == "[order.reference]"
    assert handover.fill_canned("{shop.support_email}", None, None, uow_factory()) == "support@caredesk.example"


def test_console_sessions_end_on_logout_and_refuse_wrong_passwords(uow_factory, agent):
    assert sessions.log_in("maria", "wrong password", uow_factory()) is None
    login = sessions.log_in("maria", "correct horse battery", uow_factory())
    found = sessions.session_for(login.token, uow_factory())
    assert found.user.username == "maria" and found.csrf_token == login.session.csrf_token
    sessions.log_out(login.token, uow_factory())
    assert sessions.session_for(login.token, uow_factory()) is None


def test_a_disabled_users_session_ends_at_once(uow_factory, agent):
    login = sessions.log_in("maria", "correct horse battery", uow_factory())
    users.disable_user("maria", uow_factory())
    assert sessions.session_for(login.token, uow_factory()) is None
