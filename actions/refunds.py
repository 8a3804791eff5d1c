"""Returns, refunds and invoices."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import EventType, SlotSet

from actions import replies
from actions.focus import focus_on_order, order_meant
from actions.identity import current_customer, require_customer
from actions.orders import (
    RefusedOrderEndsForm,
    _owned_order_slot,
    customer_and_order,
    named_order,
    precheck_order,
    refuse,
)
from actions.store import uow
from actions.turns import next_step, request_action
from actions.values import slot_text
from crm_store import errors
from crm_store.dto import format_money
from crm_store.policy import load_policy
from crm_store.services import invoices, orders, returns
from crm_store.services.orders import normalise_reference


class ActionStartReturn(Action):
    """'I want a refund': a cancelled order already has one; a delivered one can be returned."""

    def name(self) -> str:
        return "action_start_return"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = require_customer(dispatcher, tracker, self.name())
        if customer_id is None:
            return events
        reference = order_meant(tracker, customer_id)
        if reference:
            try:
                status = orders.order_status(customer_id, reference, uow())
            except errors.CareDeskError as exc:
                return events + refuse(dispatcher, exc, reference)
            if status.status in ("cancelled", "returned"):
                info = returns.refund_status(customer_id, reference, uow())
                dispatcher.utter_message(**replies.refund(info, reference))
                return events + [focus_on_order(status.reference)]
        start, checked = precheck_order(dispatcher, tracker, lambda cid, ref: returns.return_deadline(cid, ref, uow()))
        if not start:
            return events + checked
        return events + checked + [SlotSet("return_reason", None), next_step("return_form")]


class ValidateReturnForm(RefusedOrderEndsForm, FormValidationAction):
    def name(self) -> str:
        return "validate_return_form"

    def validate_order_ref(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return _owned_order_slot(dispatcher, tracker, value,
                                 lambda cid, ref: returns.return_deadline(cid, ref, uow()))

    def validate_return_reason(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        text = str(value or "").strip()
        if not text:
            return {"return_reason": None}
        return {"return_reason": text[:200]}


class ActionSubmitReturn(Action):
    def name(self) -> str:
        return "action_submit_return"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = current_customer(tracker)
        reference = slot_text(tracker, "order_ref")
        reset = [SlotSet("return_reason", None), SlotSet("form_outcome", None), SlotSet("order_ref", None)]
        if tracker.get_slot("form_outcome") == "refused":
            return events + reset
        try:
            info = returns.start_return(*named_order(customer_id, reference), tracker.get_slot("return_reason"), uow(),
                                        actor=f"chat:{tracker.sender_id}")
            status = orders.order_status(*named_order(customer_id, reference), uow())
        except errors.CareDeskError as exc:
            dispatcher.utter_message(**replies.error_reply(exc, reference))
            return events + reset
        policy = load_policy()
        dispatcher.utter_message(
            response="utter_return_opened_free_label" if policy.free_return_label else "utter_return_opened",
            reference=reference, return_by=replies.day(info.return_by),
            amount=format_money(status.total_cents, status.currency), refund_days=policy.refund_processing_days)
        return events + reset


class ActionTrackRefund(Action):
    def name(self) -> str:
        return "action_track_refund"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, reference, events = customer_and_order(dispatcher, tracker, self.name(), "track_refund")
        if customer_id is None:
            return events
        try:
            info = returns.refund_status(customer_id, reference, uow())
            ret = returns.return_status(customer_id, reference, uow()) if info is None else None
        except errors.CareDeskError as exc:
            return events + refuse(dispatcher, exc, reference)
        if ret is not None and ret.status == "requested":
            dispatcher.utter_message(response="utter_return_awaited", reference=reference)
        else:
            dispatcher.utter_message(**replies.refund(info, reference))
        return events + [focus_on_order(normalise_reference(reference))]


class ActionInvoice(Action):
    def name(self) -> str:
        return "action_invoice"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        intent = intent if intent.endswith("invoice") else "check_invoice"
        customer_id, reference, events = customer_and_order(dispatcher, tracker, self.name(), intent)
        if customer_id is None:
            return events
        try:
            info = invoices.get_invoice(customer_id, reference, uow())
        except errors.InvoiceNotIssued:
            dispatcher.utter_message(response="utter_no_invoice_yet", reference=reference)
            return events + [focus_on_order(normalise_reference(reference))]
        except errors.CareDeskError as exc:
            return events + refuse(dispatcher, exc, reference)
        dispatcher.utter_message(**replies.invoice(info))
        return events + [focus_on_order(info.order_reference)]
