"""Account conversations: contact details, newsletter, deletion requests."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import EventType, SlotSet

from actions import replies
from actions.identity import current_customer, require_customer
from actions.store import uow
from actions.turns import next_step, request_action
from crm_store import errors
from crm_store.services import accounts

# Linear time on any text (the same pattern as data/nlu/entities.yml; see crm_store/privacy.py).
EMAIL_RE = re.compile(r"(?<![A-Za-z0-9])(?<![A-Za-z0-9][._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}"
                      r"@[A-Za-z0-9.\-]{1,255}\.[A-Za-z]{2,63}\b")
PHONE_RE = re.compile(r"\+?[0-9][0-9 ()\-]{5,19}")
UNSUBSCRIBE_RE = re.compile(r"\b(un-?sub\w*|stop|no more|opt.?out|cancel|don'?t want|remove me|off)\b", re.I)
SUBSCRIBE_RE = re.compile(r"\b(subscribe|sign me up|sign up|join|add me|want|receive|on)\b", re.I)


def parse_contact(text: str) -> dict[str, str]:
    """The e-mail or phone number in a message, as update_contact's keyword arguments."""
    if match := EMAIL_RE.search(text or ""):
        return {"email": match.group(0)}
    if match := PHONE_RE.search(text or ""):
        return {"phone": match.group(0).strip()}
    return {}


class ActionEditAccount(Action):
    def name(self) -> str:
        return "action_edit_account"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = require_customer(dispatcher, tracker, self.name())
        if customer_id is None:
            return events
        info = accounts.get_account(customer_id, uow())
        email = replies.mask_email(info.email)
        if info.phone:
            dispatcher.utter_message(response="utter_account_contact_with_phone", email=email,
                                     phone_end=info.phone[-3:])
        else:
            dispatcher.utter_message(response="utter_account_contact", email=email)
        return events + [*CONTACT_FORM_RESET, next_step("contact_form")]


# What the contact form leaves behind, cleared before it starts and after it ends.
CONTACT_FORM_RESET = [SlotSet("new_contact", None), SlotSet("confirmed", None), SlotSet("change_preview", None),
                      SlotSet("form_outcome", None)]


class ValidateContactForm(FormValidationAction):
    """The new e-mail or phone is checked and held in the CRM (not in the conversation, whose stored
    copy keeps no personal data); the form then asks the customer to confirm the masked value."""

    def name(self) -> str:
        return "validate_contact_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        if tracker.get_slot("form_outcome") == "refused":
            return []
        return domain_slots

    def validate_new_contact(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        change = parse_contact(str(value))
        if not change:
            dispatcher.utter_message(response="utter_no_contact_found")
            return {"new_contact": None}
        customer_id, _ = current_customer(tracker)
        if customer_id is None:  # the proof expired meanwhile: the submit action verifies again
            return {"new_contact": str(value), "form_outcome": "refused"}
        try:
            held = accounts.propose_contact_change(customer_id, uow(), conversation=tracker.sender_id,
                                                   email=change.get("email"), phone=change.get("phone"))
        except errors.CareDeskError as exc:
            dispatcher.utter_message(**replies.error_reply(exc))
            return {"new_contact": None}
        return {"new_contact": str(value), "change_preview": held.preview}


class ActionSubmitContact(Action):
    def name(self) -> str:
        return "action_submit_contact"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if tracker.get_slot("form_outcome") != "refused" and not tracker.get_slot("confirmed"):
            customer_id, events = current_customer(tracker)
            if customer_id is not None:
                accounts.discard_contact_change(customer_id, uow(), conversation=tracker.sender_id)
            dispatcher.utter_message(response="utter_contact_kept")
            return events + CONTACT_FORM_RESET
        # The proof may have expired while the customer typed or decided: verify again, then start over.
        customer_id, events = require_customer(dispatcher, tracker, "action_edit_account")
        if customer_id is None:
            return events + CONTACT_FORM_RESET
        try:
            accounts.confirm_contact_change(customer_id, uow(), conversation=tracker.sender_id,
                                            actor=f"chat:{tracker.sender_id}")
        except errors.NothingToConfirm:
            dispatcher.utter_message(response="utter_contact_change_expired")
            return events + CONTACT_FORM_RESET
        except errors.CareDeskError as exc:
            dispatcher.utter_message(**replies.error_reply(exc))
            return events + CONTACT_FORM_RESET
        changed = tracker.get_slot("change_preview")
        if changed:
            dispatcher.utter_message(response="utter_contact_changed", changed=changed)
        else:
            dispatcher.utter_message(response="utter_contact_details_changed")
        return events + CONTACT_FORM_RESET


class ActionNewsletter(Action):
    def name(self) -> str:
        return "action_newsletter"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = require_customer(dispatcher, tracker, self.name())
        if customer_id is None:
            return events
        choice = tracker.get_slot("newsletter_choice")
        text = tracker.latest_message.get("text") or ""
        if choice is None and not text.startswith("/"):
            if UNSUBSCRIBE_RE.search(text):
                choice = "off"
            elif SUBSCRIBE_RE.search(text):
                choice = "on"
        if choice not in ("on", "off"):
            dispatcher.utter_message(response="utter_newsletter_question", buttons=[
                {"title": "Subscribe", "payload": '/newsletter_subscription{"newsletter_choice": "on"}'},
                {"title": "Unsubscribe", "payload": '/newsletter_subscription{"newsletter_choice": "off"}'},
            ])
            return events
        info = accounts.set_newsletter(customer_id, choice == "on", uow(), actor=f"chat:{tracker.sender_id}")
        dispatcher.utter_message(
            response="utter_newsletter_subscribed" if info.newsletter_opt_in else "utter_newsletter_unsubscribed")
        return events + [SlotSet("newsletter_choice", None)]


class ActionDeleteAccount(Action):
    def name(self) -> str:
        return "action_delete_account"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = require_customer(dispatcher, tracker, self.name())
        if customer_id is None:
            return events
        return events + [SlotSet("confirmed", None), next_step("delete_account_form")]


class ActionSubmitDeleteAccount(Action):
    def name(self) -> str:
        return "action_submit_delete_account"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if not tracker.get_slot("confirmed"):
            dispatcher.utter_message(response="utter_account_kept")
            return [SlotSet("confirmed", None)]
        # The proof may have expired while the customer was deciding: verify again, then ask again.
        customer_id, events = require_customer(dispatcher, tracker, "action_delete_account")
        events.append(SlotSet("confirmed", None))
        if customer_id is None:
            return events
        ticket = accounts.request_account_deletion(
            customer_id, uow(), conversation_id=tracker.sender_id, channel=tracker.get_latest_input_channel(),
            actor=f"chat:{tracker.sender_id}")
        dispatcher.utter_message(response="utter_deletion_requested", ticket=ticket.id)
        return events
