"""Order conversations: status, cancellation (confirm first), changes and address changes."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.focus import ORDER_SLOT, focus_on_order, order_meant
from actions.identity import current_customer, require_customer
from actions.store import uow
from actions.turns import next_step, request_action
from actions.values import slot_text
from crm_store import errors
from crm_store.dto import AddressInfo
from crm_store.services import orders, tickets
from crm_store.services.orders import normalise_reference

ORDER_CHOICES = 5


def pick_order(dispatcher: CollectingDispatcher, customer_id: int, intent: str, statuses=None) -> None:
    """Ask which order, with the customer's recent orders as buttons."""
    recent = orders.list_orders(customer_id, uow(), limit=10)
    if statuses:
        recent = [o for o in recent if o.status in statuses]
    if not recent:
        dispatcher.utter_message(response="utter_no_matching_orders")
        return
    dispatcher.utter_message(response="utter_which_order",
                             buttons=replies.order_buttons(recent[:ORDER_CHOICES], intent))


def customer_and_order(dispatcher, tracker, action_name: str, intent: str):
    """(customer id, order reference, events) for a request about one order: the one the customer
    named, else the order in focus ("when will it arrive" after a tracked order).

    The id is None when this turn is already answered: verification was started, or the
    customer's orders were offered as buttons because no order was named or in focus.
    """
    customer_id, events = require_customer(dispatcher, tracker, action_name)
    if customer_id is None:
        return None, None, events
    reference = order_meant(tracker, customer_id)
    if not reference:
        pick_order(dispatcher, customer_id, intent)
        return None, None, events
    return customer_id, reference, events


def refuse(dispatcher, error: errors.CareDeskError, reference: str | None) -> list[EventType]:
    """Say why not, and forget the order so the next request asks again."""
    dispatcher.utter_message(**replies.error_reply(error, reference))
    return [SlotSet("order_ref", None)]


def named_order(customer_id: int | None, reference: str | None) -> tuple[int, str]:
    """The verified customer and the order a form's last steps act on. The form checked both when
    it filled its slots, but a proof can expire and a slot be cleared meanwhile: then refuse as the
    services would (no usable reference; an order that is not this caller's)."""
    if not reference:
        raise errors.InvalidInput("that does not look like an order reference")
    if customer_id is None:
        raise errors.NotOrderOwner(reference)
    return customer_id, reference


class ActionTrackOrder(Action):
    def name(self) -> str:
        return "action_track_order"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, reference, events = customer_and_order(dispatcher, tracker, self.name(), "track_order")
        if customer_id is None:
            return events
        try:
            status = orders.order_status(customer_id, reference, uow())
        except errors.CareDeskError as exc:
            return events + refuse(dispatcher, exc, reference)
        for said in replies.order_status(status):
            dispatcher.utter_message(**said)
        return events + [focus_on_order(status.reference)]


class ActionOtherOrder(Action):
    """"And the other one?": the customer's other open order comes into focus and is shown as
    tracking shows it; with several, the customer picks one."""

    def name(self) -> str:
        return "action_other_order"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = require_customer(dispatcher, tracker, self.name())
        if customer_id is None:
            return events
        current = _normalised(order_meant(tracker, customer_id))
        others = [o for o in orders.list_orders(customer_id, uow(), limit=10)
                  if o.status in orders.OPEN_STATUSES and o.reference != current]
        if not others:
            dispatcher.utter_message(response="utter_no_other_open_order")
            return events
        if len(others) > 1:
            dispatcher.utter_message(response="utter_which_other_order",
                                     buttons=replies.order_buttons(others[:ORDER_CHOICES], "track_order"))
            return events
        status = orders.order_status(customer_id, others[0].reference, uow())
        for said in replies.order_status(status):
            dispatcher.utter_message(**said)
        return events + [SlotSet("order_ref", status.reference), focus_on_order(status.reference)]


def _normalised(reference: str | None) -> str | None:
    try:
        return normalise_reference(reference) if reference else None
    except errors.InvalidInput:
        return None


class ActionCancelOrder(Action):
    """Entry to cancelling: verify, then the cancel form asks which order and confirms."""

    def name(self) -> str:
        return "action_cancel_order"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = require_customer(dispatcher, tracker, self.name())
        if customer_id is None:
            return events
        start, checked = precheck_order(dispatcher, tracker, lambda cid, ref: orders.cancellation_fee(cid, ref, uow()))
        if not start:
            return events + checked
        return events + checked + [SlotSet("confirmed", None), next_step("cancel_form")]


class ActionAskOrderRef(Action):
    """Which order? (for the cancel, return and address forms)."""

    def name(self) -> str:
        return "action_ask_order_ref"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = current_customer(tracker)
        form = (tracker.active_loop or {}).get("name")
        statuses = {"cancel_form": orders.cancellable_statuses(),
                    "address_form": orders.address_change_statuses(),
                    "return_form": ("delivered",), "claim_form": ("delivered", "shipped")}.get(form or "")
        if customer_id is not None:
            recent = [o for o in orders.list_orders(customer_id, uow(), limit=10)
                      if not statuses or o.status in statuses][:ORDER_CHOICES]
            if recent:
                dispatcher.utter_message(response="utter_which_order_pick",
                                         buttons=replies.order_buttons(recent, "inform"))
                return events
        dispatcher.utter_message(response="utter_which_order_type")
        return events


class ActionAskConfirmed(Action):
    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        form = (tracker.active_loop or {}).get("name")
        buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
        if form == "delete_account_form":
            dispatcher.utter_message(response="utter_confirm_delete_account", buttons=buttons)
            return []
        customer_id, _ = current_customer(tracker)
        reference = slot_text(tracker, "order_ref")
        try:
            status = orders.order_status(*named_order(customer_id, reference), uow())
            fee = orders.cancellation_fee(*named_order(customer_id, reference), uow())
        except errors.CareDeskError as exc:  # the form checked the order; it may have changed since
            return refuse(dispatcher, exc, reference)
        dispatcher.utter_message(buttons=buttons, **replies.cancel_question(status, fee))
        return []


def _owned_order_slot(dispatcher, tracker, value, check) -> dict[str, Any]:
    """Validate an order reference slot: well-formed, the customer's own, and ``check`` passes.
    The customer's own order comes into focus, even when ``check`` refuses it."""
    customer_id, _ = current_customer(tracker)
    try:
        reference = normalise_reference(str(value))
        check(customer_id, reference)
    except errors.CareDeskError as exc:
        dispatcher.utter_message(**replies.error_reply(exc, str(value)))
        if isinstance(exc, (errors.NotCancellable, errors.NotReturnable, errors.AddressNotChangeable)):
            return {"order_ref": reference, "form_outcome": "refused", ORDER_SLOT: reference}
        return {"order_ref": None}
    return {"order_ref": reference, ORDER_SLOT: reference}


def precheck_order(dispatcher, tracker, check) -> tuple[bool, list[EventType]]:
    """Before a form starts: is an order already named (or in focus: "cancel it"), and may this be
    done to it?

    Returns (start the form?, events). A refused order is answered here, so a form never starts
    only to end at once; an unknown one is cleared so the form asks again.
    """
    reference = order_meant(tracker, current_customer(tracker)[0])
    if not reference:
        return True, []
    result = _owned_order_slot(dispatcher, tracker, reference, check)
    focus = [focus_on_order(result[ORDER_SLOT])] if result.get(ORDER_SLOT) else []
    if result.get("form_outcome") == "refused":
        return False, [SlotSet("order_ref", None), *focus]
    return True, [SlotSet("order_ref", result["order_ref"]), *focus]


class RefusedOrderEndsForm:
    """Mixin for forms whose first question is the order: a refused order ends the form.
    (A mixin, not an Action subclass, so the SDK does not try to register it as an action.)"""

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        if tracker.get_slot("form_outcome") == "refused":
            return []
        return domain_slots


class ValidateCancelForm(RefusedOrderEndsForm, FormValidationAction):
    def name(self) -> str:
        return "validate_cancel_form"

    def validate_order_ref(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        return _owned_order_slot(dispatcher, tracker, value,
                                 lambda cid, ref: orders.cancellation_fee(cid, ref, uow()))


class ActionSubmitCancel(Action):
    def name(self) -> str:
        return "action_submit_cancel"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = current_customer(tracker)
        reference = slot_text(tracker, "order_ref")
        reset = [SlotSet("confirmed", None), SlotSet("form_outcome", None), SlotSet("order_ref", None)]
        if tracker.get_slot("form_outcome") == "refused":
            return events + reset + [SlotSet("order_ref", None)]
        if not tracker.get_slot("confirmed"):
            dispatcher.utter_message(response="utter_cancel_kept", reference=reference)
            return events + reset
        try:
            result = orders.cancel_order(*named_order(customer_id, reference), uow(), actor=f"chat:{tracker.sender_id}")
        except errors.CareDeskError as exc:
            dispatcher.utter_message(**replies.error_reply(exc, reference))
            return events + reset
        dispatcher.utter_message(**replies.cancelled(result))
        return events + reset


class ActionChangeOrder(Action):
    """Items can't be edited once ordered; an unshipped order can be changed by the team."""

    def name(self) -> str:
        return "action_change_order"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, reference, events = customer_and_order(dispatcher, tracker, self.name(), "change_order")
        if customer_id is None:
            return events
        try:
            status = orders.order_status(customer_id, reference, uow())
        except errors.CareDeskError as exc:
            return events + refuse(dispatcher, exc, reference)
        events.append(focus_on_order(status.reference))
        if not orders.can_cancel(status.status):
            dispatcher.utter_message(response="utter_change_order_shipped", reference=reference)
            return events
        ticket = tickets.create_ticket(
            uow(), customer_id=customer_id, reason="change_order", priority="normal",
            summary=f"Customer wants to change order {reference}: \"{tracker.latest_message.get('text', '')}\"",
            conversation_id=tracker.sender_id, channel=tracker.get_latest_input_channel())
        dispatcher.utter_message(response="utter_change_order_requested", reference=reference, ticket=ticket.id)
        return events


def _address_changeable(customer_id: int, reference: str) -> None:
    if not orders.can_change_address(orders.order_status(customer_id, reference, uow()).status):
        raise errors.AddressNotChangeable(reference)


class ActionChangeAddress(Action):
    def name(self) -> str:
        return "action_change_address"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = require_customer(dispatcher, tracker, self.name())
        if customer_id is None:
            return events
        start, checked = precheck_order(dispatcher, tracker, _address_changeable)
        if not start:
            return events + checked
        return events + checked + [*ADDRESS_FORM_START, next_step("address_form")]


# What the address form leaves behind: cleared before it starts, and with the order after it ends.
ADDRESS_FORM_START = [SlotSet("new_address", None), SlotSet("confirmed", None), SlotSet("change_preview", None),
                      SlotSet("form_outcome", None)]
ADDRESS_FORM_RESET = [*ADDRESS_FORM_START, SlotSet("order_ref", None)]


class UnreadableAddress(errors.InvalidInput):
    """``parse_address`` could not read the address; ``response`` tells the customer what is missing."""

    def __init__(self, message: str, response: str):
        super().__init__(message)
        self.response = response


def parse_address(text: str) -> AddressInfo:
    """'5 Elm Avenue, 3511 AB Utrecht, NL' -> AddressInfo; raises UnreadableAddress if it can't."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if len(parts) < 3:
        raise UnreadableAddress("fewer than three comma-separated parts", "utter_address_unreadable_parts")
    street, place, country = parts[0], parts[-2], parts[-1].upper()
    postcode, _, city = place.rpartition(" ")
    if not postcode or not any(ch.isdigit() for ch in postcode):
        raise UnreadableAddress("no postcode before the city", "utter_address_unreadable_postcode")
    line2 = ", ".join(parts[1:-2]) or None
    return AddressInfo(line1=street, line2=line2, city=city, postcode=postcode, country=country)


class ValidateAddressForm(RefusedOrderEndsForm, FormValidationAction):
    def name(self) -> str:
        return "validate_address_form"

    def validate_order_ref(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return _owned_order_slot(dispatcher, tracker, value, _address_changeable)

    def validate_new_address(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        """Read the address and hold it in the CRM (the stored conversation keeps no addresses);
        the form then asks the customer to confirm it, masked."""
        try:
            address = parse_address(str(value))
        except UnreadableAddress as exc:
            dispatcher.utter_message(response=exc.response)
            return {"new_address": None}
        customer_id, _ = current_customer(tracker)
        reference = slot_text(tracker, "order_ref")
        if customer_id is None:  # the proof expired meanwhile: the submit action verifies again
            return {"new_address": str(value), "form_outcome": "refused"}
        try:
            held = orders.propose_address_change(*named_order(customer_id, reference), address, uow(),
                                                 conversation=tracker.sender_id)
        except errors.InvalidInput as exc:
            dispatcher.utter_message(response="utter_address_unusable", problem=str(exc))
            return {"new_address": None}
        except errors.CareDeskError as exc:  # the order shipped meanwhile, or the store is down
            dispatcher.utter_message(**replies.error_reply(exc, reference))
            return {"new_address": str(value), "form_outcome": "refused"}
        return {"new_address": str(value), "change_preview": held.preview}


class ActionSubmitAddress(Action):
    def name(self) -> str:
        return "action_submit_address"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        reference = slot_text(tracker, "order_ref")
        customer_id, events = current_customer(tracker)
        outcome = tracker.get_slot("form_outcome")
        if outcome == "refused" and customer_id is not None:  # the reason was given when it was refused
            return events + ADDRESS_FORM_RESET
        if outcome != "refused" and not tracker.get_slot("confirmed"):
            if customer_id is not None:
                orders.discard_address_change(customer_id, uow(), conversation=tracker.sender_id)
            dispatcher.utter_message(response="utter_address_kept", reference=reference)
            return events + ADDRESS_FORM_RESET
        # The proof may have expired while the customer typed or decided: verify again, then start over.
        customer_id, events = require_customer(dispatcher, tracker, "action_change_address")
        if customer_id is None:
            return events + ADDRESS_FORM_RESET
        try:
            status = orders.confirm_address_change(*named_order(customer_id, reference), uow(),
                                                   conversation=tracker.sender_id,
                                                   actor=f"chat:{tracker.sender_id}")
        except errors.NothingToConfirm:
            dispatcher.utter_message(response="utter_address_change_expired", reference=reference)
            return events + ADDRESS_FORM_RESET
        except errors.CareDeskError as exc:
            dispatcher.utter_message(**replies.error_reply(exc, reference))
            return events + ADDRESS_FORM_RESET
        # The street is not repeated: the customer just typed it, and the reply is stored.
        town = status.ship_to.rsplit(", ", 1)[-1]
        dispatcher.utter_message(response="utter_address_changed", reference=reference, town=town)
        return events + ADDRESS_FORM_RESET
