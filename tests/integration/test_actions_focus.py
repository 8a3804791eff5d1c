"""Follow-ups about the order or products in focus ("when will it arrive", "cancel it", "and the
other one?", "is it in stock"), against a seeded CRM, called as the action server calls them."""

from sqlalchemy import select, update

from actions import orders as order_actions
from actions import products as product_actions
from actions import support
from actions.focus import ORDER_SLOT, PRODUCT_SLOT
from crm_store import models
from crm_store.dto import format_money
from crm_store.services import catalog, orders
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import make_tracker, run, slot_sets, texts
from tests.integration.shop import order_ref

ANA, BEN = 1, 2


def _open_orders(url: str, customer_id: int) -> list[str]:
    return [o.reference for o in orders.list_orders(customer_id, UnitOfWork(url), limit=10)
            if o.status in orders.OPEN_STATUSES]


def _set_status(url: str, references: list[str], status: str) -> None:
    with UnitOfWork(url) as uow:
        uow.session.execute(update(models.Order).where(models.Order.reference.in_(references)).values(status=status))
        uow.commit()


def _status(url: str, ref: str) -> str:
    with UnitOfWork(url) as uow:
        return uow.session.execute(select(models.Order.status).where(models.Order.reference == ref)).scalar_one()


async def test_tracking_an_order_puts_it_in_focus(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events, _ = await run(order_actions.ActionTrackOrder(),
                          make_tracker(slots={"order_ref": ref.lower(), "customer_id": ANA}, intent="track_order"))
    assert slot_sets(events)[ORDER_SLOT] == ref


async def test_when_will_it_arrive_answers_the_focused_orders_expected_date(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    truth = orders.order_status(ANA, ref, UnitOfWork(crm))
    _, messages = await run(support.ActionPolicyAnswer(), make_tracker(
        slots={ORDER_SLOT: ref, "customer_id": ANA}, intent="delivery_period", text="ok so when will it arrive"))
    reply = texts(messages)
    assert ref in reply and truth.eta.strftime("%d %b %Y") in reply and truth.carrier in reply
    assert "working days" not in reply  # not the shop's generic delivery times


async def test_when_will_it_arrive_for_an_order_not_shipped_yet_gives_its_delivery_options_time(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    truth = orders.order_status(ANA, ref, UnitOfWork(crm))
    _, messages = await run(support.ActionPolicyAnswer(), make_tracker(
        slots={ORDER_SLOT: ref, "customer_id": ANA}, intent="delivery_period"))
    reply = texts(messages)
    assert ref in reply and "hasn't shipped yet" in reply and "working days" in reply
    assert truth.delivery_option.replace("_", " ") in reply.lower() or "delivery" in reply.lower()


async def test_without_an_order_in_focus_delivery_times_stay_general(crm):
    _, messages = await run(support.ActionPolicyAnswer(), make_tracker(
        slots={"customer_id": ANA}, intent="delivery_period"))
    assert "Orders ship within a working day" in texts(messages)


async def test_cancel_it_cancels_the_focused_order_after_confirmation(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    events, messages = await run(order_actions.ActionCancelOrder(), make_tracker(
        slots={ORDER_SLOT: ref, "customer_id": ANA}, intent="cancel_order", text="cancel it"))
    assert slot_sets(events)["next_step"] == "cancel_form" and slot_sets(events)["order_ref"] == ref
    slots = {"order_ref": ref, ORDER_SLOT: ref, "customer_id": ANA}
    _, messages = await run(order_actions.ActionAskConfirmed(), make_tracker(slots=slots, active_loop="cancel_form"))
    assert f"Cancel order {ref}" in texts(messages)
    assert _status(crm, ref) == "paid"  # nothing before the yes
    await run(order_actions.ActionSubmitCancel(), make_tracker(slots={**slots, "confirmed": True}))
    assert _status(crm, ref) == "cancelled"


async def test_cancel_it_about_a_shipped_order_in_focus_is_refused_before_any_form(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events, messages = await run(order_actions.ActionCancelOrder(), make_tracker(
        slots={ORDER_SLOT: ref, "customer_id": ANA}, intent="cancel_order"))
    assert slot_sets(events)["next_step"] is None and "can't be cancelled" in texts(messages)


async def test_a_reference_the_customer_typed_wins_over_the_focus(crm):
    shipped = order_ref(UnitOfWork(crm), ANA, "shipped")
    paid = order_ref(UnitOfWork(crm), ANA, "paid")
    events, messages = await run(order_actions.ActionTrackOrder(), make_tracker(
        slots={"order_ref": paid, ORDER_SLOT: shipped, "customer_id": ANA}, intent="track_order"))
    assert paid in texts(messages) and shipped not in texts(messages)
    assert slot_sets(events)[ORDER_SLOT] == paid


async def test_the_other_one_moves_focus_to_the_only_other_open_order(crm):
    first, second, *rest = _open_orders(crm, ANA) + [None, None]
    assert first and second, "the seeded customer needs two open orders"
    _set_status(crm, [r for r in rest if r], "delivered")
    events, messages = await run(order_actions.ActionOtherOrder(), make_tracker(
        slots={ORDER_SLOT: first, "customer_id": ANA}, intent="other_order", text="and the other one?"))
    assert f"Order {second}" in texts(messages) and first not in texts(messages)
    assert slot_sets(events)[ORDER_SLOT] == second and slot_sets(events)["order_ref"] == second


async def test_the_other_one_with_several_open_orders_asks_which_with_buttons(crm):
    open_refs = _open_orders(crm, ANA)
    if len(open_refs) < 3:  # make a third open order
        delivered = order_ref(UnitOfWork(crm), ANA, "delivered")
        _set_status(crm, [delivered], "paid")
        open_refs = _open_orders(crm, ANA)
    events, messages = await run(order_actions.ActionOtherOrder(), make_tracker(
        slots={ORDER_SLOT: open_refs[0], "customer_id": ANA}, intent="other_order"))
    buttons = [b for m in messages for b in m.get("buttons") or []]
    offered = {b["title"].split(" · ")[0] for b in buttons}
    assert offered == set(open_refs[1:6]) and open_refs[0] not in offered
    assert all(b["payload"].startswith("/track_order{") for b in buttons)
    assert ORDER_SLOT not in slot_sets(events)


async def test_the_other_one_when_there_is_none_says_so(crm):
    first, *rest = _open_orders(crm, ANA)
    _set_status(crm, rest, "delivered")
    _, messages = await run(order_actions.ActionOtherOrder(), make_tracker(
        slots={ORDER_SLOT: first, "customer_id": ANA}, intent="other_order"))
    assert "can't find another open order" in texts(messages)


async def test_is_it_in_stock_answers_about_the_one_product_shown(crm):
    product = catalog.search_products(UnitOfWork(crm), query="", limit=1)[0]
    events, messages = await run(product_actions.ActionProductSearch(), make_tracker(
        slots={PRODUCT_SLOT: [product.sku]}, intent="product_info", text="is it in stock"))
    reply = texts(messages)
    assert product.name in reply and format_money(product.price_cents) in reply
    assert ("in stock" if product.stock > 0 else "sold out") in reply


async def test_how_much_is_it_after_several_products_asks_which_with_buttons(crm):
    shown = catalog.search_products(UnitOfWork(crm), query="", limit=3)
    _, messages = await run(product_actions.ActionProductSearch(), make_tracker(
        slots={PRODUCT_SLOT: [p.sku for p in shown]}, intent="product_info", text="how much is it"))
    buttons = [b for m in messages for b in m.get("buttons") or []]
    assert [b["title"] for b in buttons] == [p.name for p in shown]
    assert all(b["payload"].startswith("/product_info{") for b in buttons)


async def test_a_search_puts_the_products_shown_in_focus(crm):
    product = catalog.search_products(UnitOfWork(crm), query="", limit=1)[0]
    events, _ = await run(product_actions.ActionProductSearch(), make_tracker(
        intent="product_info", text=f"tell me about the {product.name}"))
    assert product.sku in slot_sets(events)[PRODUCT_SLOT]


# Focus never crosses customers: an order in focus that is not the verified customer's own (left by
# another customer verified earlier in this conversation, or slipped into the tracker) is ignored as
# if there were none, and nothing about it is shown, not even its reference.

async def _ben_in_anas_focus(crm, action, intent: str, **slots):
    ref = order_ref(UnitOfWork(crm), BEN, "paid")
    truth = orders.order_status(BEN, ref, UnitOfWork(crm))
    events, messages = await run(action, make_tracker(
        slots={ORDER_SLOT: ref, "customer_id": ANA, **slots}, intent=intent, text="and when will it arrive"))
    return ref, truth, events, texts(messages)


async def test_another_customers_order_in_focus_is_not_answered_for_delivery_time(crm):
    ref, truth, events, reply = await _ben_in_anas_focus(crm, support.ActionPolicyAnswer(), "delivery_period")
    assert ref not in reply and "Orders ship within a working day" in reply  # the general answer
    assert ORDER_SLOT not in slot_sets(events)


async def test_another_customers_order_in_focus_is_not_tracked(crm):
    ref, truth, events, reply = await _ben_in_anas_focus(crm, order_actions.ActionTrackOrder(), "track_order")
    assert ref not in reply and "Which order" in reply  # Ana's own orders are offered instead
    assert slot_sets(events).get(ORDER_SLOT) in (None,)


async def test_another_customers_order_in_focus_is_not_cancelled(crm):
    ref, truth, events, reply = await _ben_in_anas_focus(crm, order_actions.ActionCancelOrder(), "cancel_order")
    assert ref not in reply and slot_sets(events).get("order_ref") is None
    assert slot_sets(events)["next_step"] == "cancel_form"  # the form asks which of Ana's orders
    _, messages = await run(order_actions.ActionAskOrderRef(), make_tracker(
        slots={ORDER_SLOT: ref, "customer_id": ANA}, active_loop="cancel_form"))
    assert ref not in texts(messages)
    assert _status(crm, ref) == "paid"


async def test_another_customers_order_in_focus_is_not_the_other_one_either(crm):
    ref, truth, events, reply = await _ben_in_anas_focus(crm, order_actions.ActionOtherOrder(), "other_order")
    assert ref not in reply
    shown = slot_sets(events).get(ORDER_SLOT)
    assert shown is None or shown in _open_orders(crm, ANA)


async def test_an_unverified_conversation_with_an_order_in_focus_is_asked_to_verify(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    for action, intent in [(support.ActionPolicyAnswer(), "delivery_period"),
                           (order_actions.ActionTrackOrder(), "track_order")]:
        _, messages = await run(action, make_tracker(slots={ORDER_SLOT: ref}, intent=intent))
        assert ref not in texts(messages), intent
