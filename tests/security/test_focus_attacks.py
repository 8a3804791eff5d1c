"""The order in focus cannot be pointed at another customer's order (issue 13), replayed against the
real running processes (`caredesk run`): a verified customer who slips another customer's order
reference into the focus slot with a crafted message gets nothing about that order, and nothing of it
is cancelled."""

from __future__ import annotations

import json
import urllib.request

import pytest
from sqlalchemy import select

from crm_store import models
from crm_store.unit_of_work import UnitOfWork

pytestmark = pytest.mark.e2e
ANA, BEN = 1, 2


def _reply(messages: list[dict]) -> str:
    return "\n".join((m.get("text") or "") + " ".join(str(b) for b in m.get("buttons") or [])
                     for m in messages)


def _order(url: str, customer_id: int, status: str) -> tuple[str, str | None]:
    with UnitOfWork(url) as uow:
        order = uow.session.execute(select(models.Order).where(
            models.Order.customer_id == customer_id, models.Order.status == status)
            .order_by(models.Order.placed_at.desc())).scalars().first()
        return order.reference, order.shipment.tracking_number if order.shipment else None


def _status(url: str, reference: str) -> str:
    with UnitOfWork(url) as uow:
        return uow.session.execute(select(models.Order.status).where(models.Order.reference == reference)).scalar_one()


def _slots(stack, conversation: str) -> dict:
    url = f"http://127.0.0.1:{stack.rasa_port}/conversations/{conversation}/tracker?token={stack.api_token()}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())["slots"]


def test_a_crafted_focus_does_not_reveal_or_cancel_another_customers_order(stack):
    ana_ref, _ = _order(stack.database_url, ANA, "shipped")
    ben_shipped, ben_tracking = _order(stack.database_url, BEN, "shipped")
    ben_paid, _ = _order(stack.database_url, BEN, "paid")
    sender = "ana-focus-attack"
    stack.say(sender, f"where is my order {ana_ref}")
    assert "verified" in _reply(stack.say(sender, "ana@example.com"))
    for intent in ("delivery_period", "track_order", "other_order", "check_cancellation_fee"):
        reply = _reply(stack.say(sender, f'/{intent}{{"order_in_focus": "{ben_shipped}"}}'))
        assert ben_shipped not in reply and ben_tracking not in reply, (intent, reply)
        assert _slots(stack, f"api:{sender}").get("order_in_focus") != ben_shipped, intent
    reply = _reply(stack.say(sender, f'/cancel_order{{"order_in_focus": "{ben_paid}"}}'))
    assert ben_paid not in reply
    stack.say(sender, "yes")
    assert _status(stack.database_url, ben_paid) == "paid"
