"""The assistant's order answers follow the shop's policy file, not statuses written into the code."""

import pytest
import yaml

from actions import orders as order_actions
from crm_store.policy import DEFAULT_POLICY_FILE, load_policy
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import make_tracker, run, slot_sets, texts
from tests.integration.shop import order_ref

ANA = 1


@pytest.fixture
def other_policy(crm, monkeypatch, tmp_path):
    """A shop that lets shipped orders be cancelled but addresses change only while an order is placed."""
    raw = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    raw["cancellation"]["fee_cents"]["shipped"] = 900
    raw["address_change"]["allowed_statuses"] = ["placed"]
    path = tmp_path / "other-policy.yml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CAREDESK_POLICY_FILE", str(path))
    load_policy.cache_clear()
    yield crm
    load_policy.cache_clear()


async def _track(ref):
    _, messages = await run(order_actions.ActionTrackOrder(),
                            make_tracker(slots={"order_ref": ref, "customer_id": ANA}, intent="track_order"))
    return texts(messages)


async def test_with_the_bundled_policy_a_shipped_order_is_not_cancellable(crm):
    load_policy.cache_clear()
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    assert "still cancel" not in await _track(ref)
    events, messages = await run(order_actions.ActionCancelOrder(),
                                 make_tracker(slots={"order_ref": ref, "customer_id": ANA}, intent="cancel_order"))
    assert slot_sets(events)["next_step"] is None


async def test_a_policy_that_allows_cancelling_shipped_orders_offers_the_cancellation(other_policy):
    ref = order_ref(UnitOfWork(other_policy), ANA, "shipped")
    assert "You can still cancel it." in await _track(ref)
    events, messages = await run(order_actions.ActionCancelOrder(),
                                 make_tracker(slots={"order_ref": ref, "customer_id": ANA}, intent="cancel_order"))
    assert slot_sets(events)["next_step"] == "cancel_form"
    assert "can't be cancelled" not in texts(messages)


async def test_a_policy_that_limits_address_changes_no_longer_offers_one_for_a_paid_order(other_policy):
    ref = order_ref(UnitOfWork(other_policy), ANA, "paid")
    reply = await _track(ref)
    assert "You can still cancel it." in reply and "change the address" not in reply
    assert order_actions.orders.can_change_address("placed")
    assert not order_actions.orders.can_change_address("paid")
