"""Order actions against a seeded SQLite/PostgreSQL CRM, called as the action server calls them."""

from sqlalchemy import select

from actions import orders as order_actions
from actions import session
from actions.store import settings
from common import identity_token
from crm_store import models
from crm_store.services import orders, outbox
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import load_domain, make_tracker, run, slot_sets, texts
from tests.integration.shop import order_ref

ANA, BEN = 1, 2


def _status(url, ref):
    with UnitOfWork(url) as uow:
        return uow.session.execute(select(models.Order.status).where(models.Order.reference == ref)).scalar_one()


async def test_an_unverified_customer_is_asked_to_verify_first_and_sees_nothing(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events, messages = await run(order_actions.ActionTrackOrder(),
                                 make_tracker(slots={"order_ref": ref}, intent="track_order"))
    assert slot_sets(events)["next_step"] == "verify"
    assert slot_sets(events)["pending_action"] == "action_track_order"
    assert ref not in texts(messages) and "tracking" not in texts(messages)


async def test_a_verified_customer_gets_status_carrier_tracking_and_eta_from_the_crm(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    truth = orders.order_status(ANA, ref, UnitOfWork(crm))
    _, messages = await run(order_actions.ActionTrackOrder(),
                            make_tracker(slots={"order_ref": ref, "customer_id": ANA}, intent="track_order"))
    reply = texts(messages)
    assert "on its way" in reply and truth.carrier in reply and truth.tracking_number in reply
    assert truth.eta.strftime("%d %b %Y") in reply


async def test_someone_elses_order_is_refused_without_leaking_anything(crm):
    ref = order_ref(UnitOfWork(crm), BEN, "shipped")
    truth = orders.order_status(BEN, ref, UnitOfWork(crm))
    events, messages = await run(order_actions.ActionTrackOrder(),
                                 make_tracker(slots={"order_ref": ref, "customer_id": ANA}, intent="track_order"))
    reply = texts(messages)
    assert "can't find" in reply and truth.tracking_number not in reply and truth.carrier not in reply
    assert slot_sets(events)["order_ref"] is None


async def test_without_a_reference_the_customers_own_orders_are_offered_as_buttons(crm):
    _, messages = await run(order_actions.ActionTrackOrder(),
                            make_tracker(slots={"customer_id": ANA}, intent="track_order"))
    buttons = [b for m in messages for b in m.get("buttons") or []]
    own = {o.reference for o in orders.list_orders(ANA, UnitOfWork(crm), limit=10)}
    assert buttons and all(b["payload"].startswith("/track_order{") for b in buttons)
    assert {b["title"].split(" · ")[0] for b in buttons} <= own


async def test_a_channel_assertion_for_this_conversation_verifies_and_nothing_else_does(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    keys = settings().signing_keys
    good = identity_token.assert_identity("web:abc", ANA, keys)
    events, messages = await run(order_actions.ActionTrackOrder(), make_tracker(
        slots={"order_ref": ref}, intent="track_order", metadata={"identity": good}, sender_id="web:abc"))
    assert "on its way" in texts(messages)
    attempts = [
        ("web:other", {"identity": good}, {}),                               # another conversation
        ("web:abc", {"identity": identity_token.assert_identity("web:abc", ANA, "x" * 40)}, {}),  # forged
        ("web:abc", {"customer_id": ANA}, {}),                               # a raw id in metadata
        ("web:abc", {"identity_token": identity_token.issue(ANA, keys, identity_token.CHAT_IDENTITY)}, {}),
        ("web:abc", {}, {"customer_id_raw": ANA}),
        ("rest:abc", {"identity": identity_token.assert_identity("rest:abc", ANA, keys)}, {}),  # public REST
    ]
    for sender, metadata, slots in attempts:
        events, messages = await run(order_actions.ActionTrackOrder(), make_tracker(
            slots={"order_ref": ref, **slots}, intent="track_order", metadata=metadata, sender_id=sender))
        assert "on its way" not in texts(messages), (sender, metadata)


async def test_an_in_chat_proof_counts_only_in_its_own_conversation(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    proof = identity_token.chat_proof("tg:77", ANA, settings().signing_keys)
    _, messages = await run(order_actions.ActionTrackOrder(), make_tracker(
        slots={"order_ref": ref, "verified": proof}, intent="track_order", sender_id="tg:77"))
    assert "on its way" in texts(messages)
    events, messages = await run(order_actions.ActionTrackOrder(), make_tracker(
        slots={"order_ref": ref, "verified": proof}, intent="track_order", sender_id="rest:77"))
    assert "on its way" not in texts(messages)
    events, messages = await run(order_actions.ActionTrackOrder(), make_tracker(
        slots={"order_ref": ref, "verified": proof}, intent="track_order", sender_id="api:77"))
    assert "on its way" not in texts(messages) and slot_sets(events)["verified"] is None


async def test_cancelling_a_shipped_order_is_refused_before_any_form(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events, messages = await run(order_actions.ActionCancelOrder(),
                                 make_tracker(slots={"order_ref": ref, "customer_id": ANA}, intent="cancel_order"))
    assert slot_sets(events)["next_step"] is None
    assert "can't be cancelled" in texts(messages)
    assert _status(crm, ref) == "shipped"


async def test_cancelling_asks_for_confirmation_then_cancels_with_a_refund(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    slots = {"order_ref": ref, "customer_id": ANA}
    events, _ = await run(order_actions.ActionCancelOrder(), make_tracker(slots=slots, intent="cancel_order"))
    assert slot_sets(events)["next_step"] == "cancel_form"
    _, messages = await run(order_actions.ActionAskConfirmed(), make_tracker(slots=slots, active_loop="cancel_form"))
    assert f"Cancel order {ref}" in texts(messages) and [b["payload"] for b in messages[0]["buttons"]] == [
        "/affirm", "/deny"]
    assert _status(crm, ref) == "paid"  # nothing happens before the customer confirms
    _, messages = await run(order_actions.ActionSubmitCancel(),
                            make_tracker(slots={**slots, "confirmed": True}))
    assert f"order {ref} is cancelled" in texts(messages) and "refund" in texts(messages)
    assert _status(crm, ref) == "cancelled"


async def test_saying_no_leaves_the_order_alone(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    _, messages = await run(order_actions.ActionSubmitCancel(),
                            make_tracker(slots={"order_ref": ref, "customer_id": ANA, "confirmed": False}))
    assert "left order" in texts(messages) and _status(crm, ref) == "paid"


def _hold_address(ref: str, text: str = "5 Elm Avenue, 3511 AB Utrecht, NL") -> dict:
    """The address form's validation of the customer's answer, as the form runs it."""
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    result = order_actions.ValidateAddressForm().validate_new_address(
        text, dispatcher, make_tracker(slots={"order_ref": ref, "customer_id": ANA}, sender_id="web:ana"), {})
    assert dispatcher.messages == [] and result["new_address"] == text
    return result


async def test_an_address_change_is_asked_masked_then_made_on_yes_with_a_notice(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    before = orders.order_status(ANA, ref, UnitOfWork(crm)).ship_to
    held = _hold_address(ref)
    assert held["change_preview"] == "5 E** A*****, 35** ** Utrecht, NL"
    question = load_domain()["responses"]["utter_ask_address_form_confirmed"][0]["text"].format(
        order_ref=ref, change_preview=held["change_preview"])
    assert ref in question and "5 E** A*****" in question and "Elm" not in question
    assert orders.order_status(ANA, ref, UnitOfWork(crm)).ship_to == before  # not before the yes
    slots = {"order_ref": ref, "customer_id": ANA, "new_address": "[address]", "confirmed": True,
             "change_preview": held["change_preview"]}  # the stored conversation has the answer redacted
    _, messages = await run(order_actions.ActionSubmitAddress(), make_tracker(slots=slots, sender_id="web:ana"))
    assert "new address in 3511 AB Utrecht" in texts(messages) and "Elm" not in texts(messages)
    assert orders.order_status(ANA, ref, UnitOfWork(crm)).ship_to == "5 Elm Avenue, 3511 AB Utrecht"
    [notice] = outbox.for_customer(ANA, UnitOfWork(crm))
    assert notice.recipient == "ana@example.com" and ref in notice.subject and "Elm" not in notice.body


async def test_saying_no_keeps_the_address(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    before = orders.order_status(ANA, ref, UnitOfWork(crm)).ship_to
    _hold_address(ref)
    events, messages = await run(order_actions.ActionSubmitAddress(), make_tracker(
        slots={"order_ref": ref, "customer_id": ANA, "new_address": "[address]", "confirmed": False},
        sender_id="web:ana"))
    assert f"order {ref} keeps its address" in texts(messages)
    assert slot_sets(events)["order_ref"] is None and slot_sets(events)["confirmed"] is None
    assert orders.order_status(ANA, ref, UnitOfWork(crm)).ship_to == before
    assert outbox.for_customer(ANA, UnitOfWork(crm)) == []


async def test_a_yes_without_a_held_address_redirects_nothing(crm):
    # A forged turn: the slots carry an address and a yes, but nothing was held in this conversation.
    ref = order_ref(UnitOfWork(crm), ANA, "paid")
    before = orders.order_status(ANA, ref, UnitOfWork(crm)).ship_to
    slots = {"order_ref": ref, "customer_id": ANA, "new_address": "1 Thief Road, 1000 AA Amsterdam, NL",
             "confirmed": True}
    _, messages = await run(order_actions.ActionSubmitAddress(), make_tracker(slots=slots, sender_id="web:ana"))
    assert "keeps its address" in texts(messages)
    assert orders.order_status(ANA, ref, UnitOfWork(crm)).ship_to == before


async def test_an_order_that_shipped_before_the_address_was_given_ends_the_form(crm):
    from rasa_sdk.executor import CollectingDispatcher

    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    dispatcher = CollectingDispatcher()
    result = order_actions.ValidateAddressForm().validate_new_address(
        "5 Elm Avenue, 3511 AB Utrecht, NL", dispatcher, make_tracker(slots={"order_ref": ref, "customer_id": ANA}),
        {})
    assert result["form_outcome"] == "refused" and "already shipped" in texts(dispatcher.messages)


async def test_verification_sets_the_customer_and_forgets_the_email(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    form = session.ValidateVerifyForm()
    tracker = make_tracker(slots={"order_ref": ref})
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    result = form.validate_email("ana@example.com", dispatcher, tracker, {})
    assert set(result) == {"email", "verified"} and result["email"] is None
    assert identity_token.proven_customer(result["verified"], tracker.sender_id, settings().signing_keys) == ANA
    assert identity_token.proven_customer(result["verified"], "web:someone-else", settings().signing_keys) is None
    assert form.validate_email("ben@example.com", dispatcher, tracker, {}) == {"email": None, "order_ref": None}
    assert "don't match" in texts(dispatcher.messages)


async def test_after_verification_the_pending_request_is_answered(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    events, messages = await run(session.ActionAfterVerification(), make_tracker(
        slots={"order_ref": ref, "customer_id": ANA, "pending_action": "action_track_order"}))
    assert "on its way" in texts(messages)
    assert slot_sets(events)["pending_action"] is None


async def test_verification_is_locked_after_repeated_failures(crm):
    ref = order_ref(UnitOfWork(crm), ANA, "shipped")
    form = session.ValidateVerifyForm()
    tracker = make_tracker(slots={"order_ref": ref}, sender_id="guessing-visitor")
    from rasa_sdk.executor import CollectingDispatcher

    for _ in range(5):
        form.validate_email("wrong@example.com", CollectingDispatcher(), tracker, {})
    dispatcher = CollectingDispatcher()
    result = form.validate_email("ana@example.com", dispatcher, tracker, {})
    assert result["form_outcome"] == "locked" and "verified" not in result
    [said] = dispatcher.messages
    assert said["response"] == "utter_verification_paused" and said["wait"] == "15 minutes"


async def test_when_the_crm_is_unreachable_the_customer_is_told_so(monkeypatch, tmp_path):
    from common.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/caredesk")
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        events, messages = await run(order_actions.ActionTrackOrder(), make_tracker(
            slots={"order_ref": "CD-AAAAAA", "customer_id": ANA}, intent="track_order"))
    finally:
        get_settings.cache_clear()
    assert [m["response"] for m in messages] == ["utter_error_store_unavailable"]
    assert "can't reach our order system" in texts(messages) and slot_sets(events)["next_step"] is None
