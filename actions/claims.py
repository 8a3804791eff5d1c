"""After delivery: an exchange for another size or colour, a damaged / wrong / missing item, a parcel
marked delivered that never came. Verify, pick the order, say what is wanted or what happened, and
the CRM opens a ticket for the team (crm_store/services/claims.py)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import EventType, SlotSet

from actions import replies
from actions.focus import order_meant
from actions.identity import current_customer, require_customer
from actions.orders import RefusedOrderEndsForm, named_order
from actions.store import uow
from actions.turns import next_step, request_action
from actions.values import entity_texts, slot_text
from crm_store import errors
from crm_store.policy import load_policy
from crm_store.services import claims, orders
from crm_store.services.orders import normalise_reference

CLAIM_INTENTS = {"exchange_item": "exchange", "report_item_problem": "damaged", "report_not_received": "not_received"}
PROBLEM_WORDS = [  # the first that matches names the problem; none: damaged
    ("missing_item", re.compile(r"\b(missing|not in the (box|parcel|package)|only got|half|empty|"
                                r"forgot|left out|one less|parts? not)\b", re.IGNORECASE)),
    ("wrong_item", re.compile(r"\b(wrong|different|not what i ordered|someone else|instead of|mixed up|"
                              r"got (a )?(red|blue|black|white|green)|"
                              r"ordered\b.{0,40}\b(got|received|came|sent))\b", re.IGNORECASE)),
]
SIZE = re.compile(r"\b((size|sz)\s*\w{1,4}|x{0,3}[sl]|xs|m|medium|large|small|extra large|\d{2}(\.5)?|"
                  r"(a |one )?(size )?(bigger|smaller|larger)( size| one)?|one size (up|down))\b", re.IGNORECASE)
COLOUR = re.compile(r"\b(black|white|blue|navy|green|grey|gray|red|pink|yellow|brown|beige|purple|orange|"
                    r"(another|other|different|darker|lighter) colou?r)\b", re.IGNORECASE)
EXCHANGE_VERBS = re.compile(r"\b(for|in|to|into|with|instead|want|need|get)\b", re.IGNORECASE)
CLAIM_RESET = [SlotSet("claim_details", None), SlotSet("form_outcome", None), SlotSet("order_ref", None),
               SlotSet("claim_kind", None), SlotSet("confirmed", None)]


def claim_kind(intent: str, text: str) -> str:
    """'exchange', 'not_received', or which item problem the message describes."""
    kind = CLAIM_INTENTS.get(intent, "damaged")
    if kind != "damaged":
        return kind
    for name, words in PROBLEM_WORDS:
        if words.search(text or ""):
            return name
    return kind


def wanted_variant(text: str, entities: list[dict] | None) -> str | None:
    """What an exchange should bring instead: the size and colour named ('size 43', 'blue'), or None."""
    named = entity_texts(entities, "size") + entity_texts(entities, "colour")
    if named:
        return ", ".join(named)
    text = text or ""
    # Only what follows the request words counts ('exchange my blue hoodie for a red one': red).
    after = EXCHANGE_VERBS.split(text, maxsplit=1)[-1] if EXCHANGE_VERBS.search(text) else text
    found = [m.group(0) for m in (SIZE.search(after), COLOUR.search(after)) if m]
    return ", ".join(found) if found else None


def first_details(kind: str, text: str, entities: list[dict] | None) -> str | None:
    """What the first message already says, so the form does not ask again."""
    if kind == "exchange":
        return wanted_variant(text, entities)
    if kind == "not_received" or len((text or "").split()) >= 5:
        return " ".join((text or "").split())[:500] or None
    return None


class ActionStartClaim(Action):
    """Entry to an exchange or a delivery claim: verify, check the named order, start the form."""

    def name(self) -> str:
        return "action_start_claim"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name") or ""
        if intent in CLAIM_INTENTS:
            kind = claim_kind(intent, message.get("text", ""))
            details = first_details(kind, message.get("text", ""), message.get("entities"))
        else:  # resumed after verification: the request was remembered before it started
            kind, details = tracker.get_slot("claim_kind") or "damaged", tracker.get_slot("claim_details")
        remembered = [SlotSet("claim_kind", kind), SlotSet("claim_details", details)]
        customer_id, events = require_customer(dispatcher, tracker, self.name())
        if customer_id is None:
            return remembered + events
        reference = order_meant(tracker, customer_id)  # the order named, else the one in focus
        if reference:
            checked = check_order(dispatcher, customer_id, reference, kind)
            if checked.get("form_outcome") == "refused":
                return remembered + events + CLAIM_RESET
            remembered.append(SlotSet("order_ref", checked["order_ref"]))
        return remembered + events + [SlotSet("form_outcome", None), SlotSet("confirmed", None),
                                      next_step("claim_form")]


def check_order(dispatcher, customer_id: int | None, value: Any, kind: str) -> dict[str, Any]:
    """Validate the order for a claim: the customer's own, and the claim allowed on it now."""
    try:
        reference = normalise_reference(str(value))
        claims.check_claim(*named_order(customer_id, reference), kind, uow())
    except errors.NotClaimable as refused:
        say_refused(dispatcher, customer_id, reference, kind, refused)
        return {"order_ref": reference, "form_outcome": "refused"}
    except errors.CareDeskError as exc:
        dispatcher.utter_message(**replies.error_reply(exc, str(value)))
        return {"order_ref": None}
    return {"order_ref": reference}


def say_refused(dispatcher, customer_id, reference: str, kind: str, refused: errors.NotClaimable) -> None:
    """Why not, and what the order is doing instead (its status when it has not arrived yet)."""
    policy = load_policy()
    if refused.why in ("on_its_way", "not_shipped") and customer_id is not None:
        for said in replies.order_status(orders.order_status(customer_id, reference, uow())):
            dispatcher.utter_message(**said)
    response = f"utter_claim_refused_{refused.why}"
    if refused.why == "not_shipped" and kind == "exchange":
        response = "utter_claim_refused_not_shipped_exchange"
    dispatcher.utter_message(response=response, reference=reference, problem=str(refused),
                             late_after=policy.claim_late_after_days)


class ActionAskClaimDetails(Action):
    """The claim form's question: what size or colour instead, or what happened."""

    def name(self) -> str:
        return "action_ask_claim_form_claim_details"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        kind = tracker.get_slot("claim_kind") or "damaged"
        dispatcher.utter_message(response=f"utter_ask_claim_details_{kind}")
        return []


class ActionAskClaimConfirmed(Action):
    """Confirm before anything is opened: the order, its items and what the claim is."""

    def name(self) -> str:
        return "action_ask_claim_form_confirmed"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        kind = tracker.get_slot("claim_kind") or "damaged"
        customer_id, _ = current_customer(tracker)
        reference = slot_text(tracker, "order_ref")
        try:
            status = orders.order_status(*named_order(customer_id, reference), uow())
        except errors.CareDeskError as exc:  # the form checked the order; the proof may have expired since
            dispatcher.utter_message(**replies.error_reply(exc, reference))
            return [SlotSet("order_ref", None)]
        dispatcher.utter_message(
            response=f"utter_confirm_claim_{kind}", reference=status.reference, items=replies.order_items(status),
            wanted=tracker.get_slot("claim_details") or "another size or colour",
            buttons=[{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}])
        return []


class ValidateClaimForm(RefusedOrderEndsForm, FormValidationAction):
    def name(self) -> str:
        return "validate_claim_form"

    def validate_order_ref(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        customer_id, _ = current_customer(tracker)
        return check_order(dispatcher, customer_id, value, tracker.get_slot("claim_kind") or "damaged")

    def validate_claim_details(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        text = " ".join(str(value or "").split())
        return {"claim_details": text[:500] or None}


class ActionSubmitClaim(Action):
    def name(self) -> str:
        return "action_submit_claim"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if tracker.get_slot("form_outcome") == "refused":  # the reason was given when it was refused
            return CLAIM_RESET
        customer_id, events = require_customer(dispatcher, tracker, "action_start_claim")
        if customer_id is None:  # the proof expired while the form ran: verify, then start again
            return events
        kind = tracker.get_slot("claim_kind") or "damaged"
        reference = slot_text(tracker, "order_ref")
        if not tracker.get_slot("confirmed"):
            dispatcher.utter_message(response="utter_claim_kept", reference=reference)
            return events + CLAIM_RESET
        try:
            claim = claims.open_claim(*named_order(customer_id, reference), kind,
                                      tracker.get_slot("claim_details") or "", uow(),
                                      conversation_id=tracker.sender_id, channel=tracker.get_latest_input_channel(),
                                      actor=f"chat:{tracker.sender_id}")
        except errors.NotClaimable as refused:
            say_refused(dispatcher, customer_id, reference or "", kind, refused)
            return events + CLAIM_RESET
        except errors.CareDeskError as exc:
            dispatcher.utter_message(**replies.error_reply(exc, reference))
            return events + CLAIM_RESET
        dispatcher.utter_message(**claim_reply(claim, tracker.get_slot("claim_details")))
        return events + CLAIM_RESET


def claim_reply(claim, wanted: str | None) -> replies.Reply:
    """What the customer is told once the claim is opened (or was already open)."""
    policy = load_policy()
    if claim.already_open:
        return replies.reply("utter_claim_already_open", reference=claim.order_reference, ticket=claim.ticket_id)
    response = f"utter_claim_opened_{claim.kind}"
    if claim.kind == "exchange" and not policy.exchange_free:
        response = "utter_claim_opened_exchange_paid"
    return replies.reply(
        response, reference=claim.order_reference, ticket=claim.ticket_id,
        wanted=wanted or "the other size or colour", send_back_by=replies.day(claim.send_back_by),
        reply_hours=policy.first_reply_hours, days=policy.claim_investigation_days)
