"""The real Rasa and action servers over REST: verified customers see their own orders only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from caredesk.harness import kill_action_server, start_stack, stop_stack, wait_for_action_server
from crm_store import models
from crm_store.services import orders
from crm_store.unit_of_work import UnitOfWork

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("assistant"))
    yield running
    stop_stack(running)


def _reply(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def _shipped_order(url: str, customer_id: int) -> str:
    with UnitOfWork(url) as uow:
        return uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == customer_id, models.Order.status == "shipped")
            .order_by(models.Order.placed_at.desc())).scalars().first()


def test_a_verified_customer_gets_the_status_carrier_and_eta_the_database_holds(stack):
    ref = _shipped_order(stack.database_url, 1)
    truth = orders.order_status(1, ref, UnitOfWork(stack.database_url))
    first = _reply(stack.say("ana-rest", f"where is my order {ref}"))
    assert "e-mail" in first and truth.carrier not in first  # nothing shown before verification
    answer = _reply(stack.say("ana-rest", "ana@example.com"))
    assert "verified" in answer
    assert "on its way" in answer and truth.carrier in answer and truth.tracking_number in answer
    assert truth.eta.strftime("%d %b %Y") in answer


def test_after_tracking_an_order_when_will_it_arrive_answers_that_orders_date(stack):
    ref = _shipped_order(stack.database_url, 1)
    truth = orders.order_status(1, ref, UnitOfWork(stack.database_url))
    stack.say("ana-focus-rest", f"where is my order {ref}")
    assert "on its way" in _reply(stack.say("ana-focus-rest", "ana@example.com"))
    answer = _reply(stack.say("ana-focus-rest", "ok so when will it arrive"))
    assert ref in answer and truth.eta.strftime("%d %b %Y") in answer
    assert "working days" not in answer  # not the shop's general delivery times


def test_another_customer_asking_about_that_order_is_refused(stack):
    ref = _shipped_order(stack.database_url, 1)
    truth = orders.order_status(1, ref, UnitOfWork(stack.database_url))
    # Ben verifies with his own order, then asks about Ana's.
    ben_ref = _shipped_order(stack.database_url, 2)
    stack.say("ben-rest", f"track {ben_ref}")
    assert "verified" in _reply(stack.say("ben-rest", "ben@example.com"))
    refused = _reply(stack.say("ben-rest", f"and where is order {ref}?"))
    assert "can't find" in refused
    assert truth.tracking_number not in refused and truth.carrier not in refused


def test_verifying_with_someone_elses_order_fails(stack):
    ref = _shipped_order(stack.database_url, 1)
    stack.say("mallory-rest", f"status of {ref}")
    answer = _reply(stack.say("mallory-rest", "ben@example.com"))
    assert "don't match" in answer and "on its way" not in answer


def test_a_raw_customer_id_in_metadata_is_not_trusted(stack):
    ref = _shipped_order(stack.database_url, 1)
    answer = _reply(stack.say("forger-rest", f"where is {ref}", metadata={"customer_id": 1,
                                                                          "identity_token": "1.forged"}))
    assert "on its way" not in answer and "e-mail" in answer


def test_oversized_and_malformed_messages_get_a_clear_error_and_break_nothing(stack):
    import json
    import urllib.error
    import urllib.request

    huge = "where is my order " + "x" * 20000
    with pytest.raises(urllib.error.HTTPError) as too_long:
        stack.say("big-rest", huge)
    assert too_long.value.code == 413 and "too long" in json.loads(too_long.value.read())["message"]
    request = urllib.request.Request(stack.rest_url, data=b"{not json", method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 400 and json.loads(error.value.read())["error"] == "bad_request"
    assert _reply(stack.say("after-bad-rest", "hello"))  # the server still answers


def test_when_the_action_server_goes_away_the_reply_says_so_and_it_comes_back(stack):
    ref = _shipped_order(stack.database_url, 1)
    kill_action_server(stack)
    reply = _reply(stack.say("gone-rest", f"where is my order {ref}"))
    assert "your message is saved" in reply
    wait_for_action_server(stack)  # `caredesk run` starts it again
    assert "e-mail" in _reply(stack.say("gone-rest", f"where is my order {ref}"))


def test_a_rating_typed_instead_of_tapped_is_understood_and_stored(stack):
    ref = _shipped_order(stack.database_url, 1)
    stack.say("ana-rates-rest", f"where is my order {ref}")
    assert "on its way" in _reply(stack.say("ana-rates-rest", "ana@example.com"))
    assert "How happy are you" in _reply(stack.say("ana-rates-rest", "thanks"))
    assert "Anything you'd like to add" in _reply(stack.say("ana-rates-rest", "4"))  # the NLU alone: out of scope
    assert "Thank you for your feedback" in _reply(stack.say("ana-rates-rest", "no"))
    with UnitOfWork(stack.database_url) as uow:
        stored = uow.session.execute(select(models.Feedback.csat, models.Feedback.comment, models.Feedback.intent)
                                     .where(models.Feedback.conversation_id == "api:ana-rates-rest")).all()
    assert stored == [(4, None, "track_order")]
