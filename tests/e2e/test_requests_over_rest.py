"""Requests beyond Bitext's taxonomy over REST, with the real Rasa and action servers (issue 13):
"do u ship to india" says whether we ship there, and an exchange for a bigger size opens a ticket."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from caredesk.harness import start_stack, stop_stack
from crm_store import models
from crm_store.unit_of_work import UnitOfWork

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("requests"))
    yield running
    stop_stack(running)


def _reply(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def _recent_delivery(url: str, customer_id: int) -> str:
    """One of the customer's delivered orders, moved to three days ago (inside every window)."""
    with UnitOfWork(url) as uow:
        order = uow.session.execute(select(models.Order).where(
            models.Order.customer_id == customer_id, models.Order.status == "delivered")
            .order_by(models.Order.placed_at.desc())).scalars().first()
        order.shipment.delivered_at = datetime.utcnow() - timedelta(days=3)
        uow.commit()
        return order.reference


def test_do_u_ship_to_india_says_whether_we_ship_there(stack):
    answer = _reply(stack.say_public("anyone-ships", "do u ship to india"))
    assert "don't deliver to India" in answer and "working days" not in answer
    assert "Yes, we deliver to France" in _reply(stack.say_public("anyone-ships", "do you ship to france?"))


def test_an_exchange_for_a_bigger_size_is_verified_confirmed_and_opens_a_ticket(stack):
    ref = _recent_delivery(stack.database_url, 1)
    first = _reply(stack.say("ana-exchange", "i want to exchange my shoes for a bigger size"))
    assert "order" in first and "ticket" not in first  # verification first
    stack.say("ana-exchange", ref)
    asked = _reply(stack.say("ana-exchange", "ana@example.com"))
    assert f"exchange order {ref}" in asked and "bigger size" in asked
    done = _reply(stack.say("ana-exchange", "yes"))
    with UnitOfWork(stack.database_url) as uow:
        ticket = uow.session.execute(select(models.Ticket.id).where(
            models.Ticket.reason == "exchange", models.Ticket.customer_id == 1)).scalar_one()
    assert f"ticket #{ticket}" in done and "return label" in done
