"""Verification in chat, resuming the request after it, stopping forms, and fallback."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import PROOF_SLOT, chat_proof_for, client_of, current_customer
from actions.store import uow
from actions.turns import next_step, request_action
from actions.values import slot_text
from crm_store import errors
from crm_store.services import identity
from crm_store.services.orders import normalise_reference

FORM_SLOTS = ("confirmed", "return_reason", "new_address", "new_contact", "issue_details", "csat",
              "feedback_comment", "form_outcome", "pending_action")


def wait_text(retry_after) -> str:
    """How long a lock-out lasts, as a customer reads it ("15 minutes", "2 hours")."""
    minutes = max(1, round(retry_after.total_seconds() / 60)) if retry_after is not None else 15
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{round(minutes / 60)} hours"


class ValidateVerifyForm(FormValidationAction):
    """Order reference + the e-mail on that order prove who the customer is."""

    def name(self) -> str:
        return "validate_verify_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        customer_id, _ = current_customer(tracker)
        if customer_id is not None or tracker.get_slot("form_outcome") == "locked":
            return []
        return domain_slots

    def validate_order_ref(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        try:
            return {"order_ref": normalise_reference(str(value))}
        except errors.InvalidInput:
            dispatcher.utter_message(response="utter_not_a_reference")
            return {"order_ref": None}

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> dict[str, Any]:
        reference = slot_text(tracker, "order_ref") or ""
        try:
            customer_id = identity.verify_by_order(reference, str(value), uow(), conversation=tracker.sender_id,
                                                   client=client_of(tracker))
        except errors.TooManyAttempts as locked:
            dispatcher.utter_message(response="utter_verification_paused", wait=wait_text(locked.retry_after))
            return {"email": None, "order_ref": None, "form_outcome": "locked"}
        except errors.VerificationFailed:
            dispatcher.utter_message(response="utter_verification_failed")
            return {"email": None, "order_ref": None}
        dispatcher.utter_message(response="utter_verified")
        # The e-mail has done its job; it is not kept in the conversation. What is kept is a proof
        # bound to this conversation that expires (actions.identity).
        return {"email": None, PROOF_SLOT: chat_proof_for(tracker, customer_id)}


def _action_named(name: str) -> type[Action] | None:
    """The custom action class called ``name`` among those the SDK loaded."""
    stack = list(Action.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("actions.") and "name" in cls.__dict__:
            try:
                if cls().name() == name:
                    return cls
            except Exception:  # noqa: BLE001 - a class that cannot be built is not the one
                continue
    return None


class ActionAfterVerification(Action):
    def name(self) -> str:
        return "action_after_verification"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = current_customer(tracker)
        pending = tracker.get_slot("pending_action")
        events += [SlotSet("pending_action", None), SlotSet("form_outcome", None)]
        if customer_id is None:
            if tracker.get_slot("form_outcome") != "locked":
                dispatcher.utter_message(response="utter_not_verified")
            return events
        resumed = _action_named(pending) if pending else None
        if resumed is not None:
            # Run the request here rather than as a follow-up, so the rule that ended with this
            # action also ends the turn (a follow-up would leave the policies nothing to predict).
            events += await resumed().run(dispatcher, tracker, domain)
        return events


class ActionStopForm(Action):
    """The customer said stop or no in the middle of a form: drop it and everything it collected."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(response="utter_stopped")
        return ([ActiveLoop(None), SlotSet("requested_slot", None), next_step(None)]
                + [SlotSet(s, None) for s in FORM_SLOTS])
