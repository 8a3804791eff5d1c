"""Policy answers from the shop's configuration, tickets for problems, and handing over to a person."""

from __future__ import annotations

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import EventType, SlotSet

from actions import feedback as rating
from actions import replies
from actions.escalation import conversation_summary, hand_over
from actions.focus import focus_on_order, order_meant
from actions.identity import current_customer
from actions.policy_answers import message_policy_replies
from actions.store import uow
from actions.turns import next_step, request_action
from crm_store import errors
from crm_store.dto import format_money
from crm_store.policy import ShopPolicy, load_policy
from crm_store.services import feedback, orders, tickets

ISSUE_PRIORITY = {"complaint": "high", "payment_issue": "high"}


def policy_reply(intent: str, policy: ShopPolicy) -> replies.Reply:
    """The answer to a policy question, with its values from the policy file (pure)."""
    if intent == "check_refund_policy":
        return replies.reply(
            "utter_refund_policy_free_label" if policy.free_return_label else "utter_refund_policy",
            return_days=policy.return_window_days, refund_days=policy.refund_processing_days)
    if intent == "delivery_options":
        lines = []
        for o in policy.delivery_options:
            price = "free" if o.price_cents == 0 else format_money(o.price_cents, policy.currency)
            free = (f", free from {format_money(o.free_from_cents, policy.currency)}"
                    if o.free_from_cents else "")
            lines.append(f"• {o.label}: {o.days_min}-{o.days_max} working days, {price}{free}")
        return replies.reply("utter_delivery_options", options="\n".join(lines))
    if intent == "delivery_period":
        periods = ", ".join(f"{o.label.lower()} {o.days_min}-{o.days_max}" for o in policy.delivery_options)
        return replies.reply("utter_delivery_period", periods=periods)
    if intent == "check_payment_methods":
        methods = "; ".join(m.label for m in policy.payment_methods if m.available)
        notes = " ".join(m.note for m in policy.payment_methods if not m.available and m.note)
        if notes:
            return replies.reply("utter_payment_methods_with_notes", methods=methods, notes=notes)
        return replies.reply("utter_payment_methods", methods=methods)
    if intent == "check_cancellation_fee":
        fees = policy.cancellation_fee_cents
        free_while = " or ".join(s for s, fee in fees.items() if fee == 0)
        paid = ", ".join(f"{format_money(fee, policy.currency)} once it's {s}" for s, fee in fees.items() if fee)
        if paid:
            return replies.reply("utter_cancellation_fees_paid", free_while=free_while, fees=paid)
        return replies.reply("utter_cancellation_fees", free_while=free_while)
    if intent == "contact_customer_service":
        return replies.reply("utter_contact_details", hours=policy.support_hours, email=policy.support_email,
                             reply_hours=policy.first_reply_hours)
    raise KeyError(intent)


class ActionPolicyAnswer(Action):
    def name(self) -> str:
        return "action_policy_answer"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        customer_id, _ = current_customer(tracker)
        reference = order_meant(tracker, customer_id)
        if intent == "delivery_period" and customer_id is not None and reference:
            return order_arrival(dispatcher, customer_id, reference)
        if intent == "check_cancellation_fee" and customer_id is not None and reference:
            try:
                fee = orders.cancellation_fee(customer_id, reference, uow())
                dispatcher.utter_message(response="utter_cancellation_fee_for_order", reference=reference,
                                         fee=format_money(fee))
                return []
            except errors.CareDeskError as exc:
                dispatcher.utter_message(**replies.error_reply(exc, reference))
                return []
        message = tracker.latest_message
        answers = message_policy_replies(intent, load_policy(), message.get("text", ""), message.get("entities"))
        if answers:  # where we ship, warranty, vouchers (actions/policy_answers.py)
            for said in answers:
                dispatcher.utter_message(**said)
            return []
        try:
            dispatcher.utter_message(**policy_reply(intent, load_policy()))
        except KeyError:
            dispatcher.utter_message(response="utter_default")
        return []


def order_arrival(dispatcher, customer_id: int, reference: str) -> list[EventType]:
    """"When will it arrive?" about one order: its own expected date, not the shop's delivery times."""
    try:
        status = orders.order_status(customer_id, reference, uow())
    except errors.CareDeskError as exc:
        dispatcher.utter_message(**replies.error_reply(exc, reference))
        return [SlotSet("order_ref", None)]
    policy = load_policy()
    try:
        option = policy.delivery_option(status.delivery_option)
        days_min, days_max, label = option.days_min, option.days_max, option.label
    except KeyError:  # an option the shop no longer offers: its slowest current one
        slowest = max(policy.delivery_options, key=lambda o: o.days_max)
        days_min, days_max, label = slowest.days_min, slowest.days_max, slowest.label
    dispatcher.utter_message(**replies.order_eta(status, days_min, days_max, label))
    return [focus_on_order(status.reference)]


class ActionHandoff(Action):
    """The customer asks for a person: a prioritised ticket with a summary, and the hand-over."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = current_customer(tracker)
        return events + hand_over(dispatcher, tracker, customer_id, reason="human_requested",
                                  why="customer asked for a person")


class ActionHandBack(Action):
    """An agent resolved the conversation (the console triggers ``EXTERNAL_agent_resolved``): the
    assistant says it is back; the rules then ask for a rating with the feedback form, unless the
    rating was already asked in this conversation (``next_step``)."""

    def name(self) -> str:
        return "action_hand_back"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(response="utter_back_to_bot")
        events: list[EventType] = [SlotSet("escalated_ticket", None), SlotSet("fallback_count", 0)]
        if not rating.may_ask(tracker, hand_back=True):
            return events + [next_step(None)]
        return events + [SlotSet(rating.ASKED_SLOT, True), SlotSet("csat", None), SlotSet("feedback_comment", None),
                         next_step("feedback_form")]


class ActionOpenIssue(Action):
    """A complaint or payment problem: ask what happened, then open a ticket."""

    def name(self) -> str:
        return "action_open_issue"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or "complaint"
        return [SlotSet("issue_kind", intent), SlotSet("issue_details", None), next_step("issue_form")]


class ActionSubmitIssue(Action):
    def name(self) -> str:
        return "action_submit_issue"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = current_customer(tracker)
        kind = tracker.get_slot("issue_kind") or "complaint"
        details = (tracker.get_slot("issue_details") or "").strip()
        ticket = tickets.create_ticket(
            uow(), customer_id=customer_id, reason=kind, priority=ISSUE_PRIORITY.get(kind, "normal"),
            summary=f"{details}\n\n{conversation_summary(tracker, kind, customer_id)}",
            conversation_id=tracker.sender_id, channel=tracker.get_latest_input_channel())
        policy = load_policy()
        dispatcher.utter_message(response="utter_issue_submitted", ticket=ticket.id,
                                 reply_hours=policy.first_reply_hours)
        return events + [SlotSet("issue_details", None), SlotSet("issue_kind", None)]


class ActionFeedback(Action):
    def name(self) -> str:
        return "action_feedback"

    @request_action
    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        # A rating button carries its score: the form then only asks for the optional comment.
        score = rating.tapped_score(tracker.latest_message.get("entities"))
        return [SlotSet("csat", score), SlotSet("feedback_comment", None), SlotSet(rating.ASKED_SLOT, True),
                next_step("feedback_form")]


WORD_SCORES = {"terrible": 1, "awful": 1, "bad": 2, "poor": 2, "ok": 3, "okay": 3, "fine": 3, "good": 4,
               "great": 5, "excellent": 5, "perfect": 5, "amazing": 5}
NO_COMMENT = {"no", "nope", "nothing", "no thanks", "n", "-", "nah", "all good"}


def parse_csat(text: str) -> int | None:
    cleaned = (text or "").strip().lower().rstrip("!.")
    if cleaned.isdigit() and 1 <= int(cleaned) <= 5:
        return int(cleaned)
    return WORD_SCORES.get(cleaned)


class ValidateFeedbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_feedback_form"

    # A slot cleared before the form starts (the hand-back clears csat and feedback_comment) is
    # validated too: nothing said is nothing to judge, not an invalid score or an empty comment.
    def validate_csat(self, value, dispatcher, tracker, domain) -> dict:
        if value is None:
            return {"csat": None}
        score = parse_csat(str(value))
        if score is None:
            dispatcher.utter_message(response="utter_csat_invalid")
            return {"csat": None}
        return {"csat": str(score)}

    def validate_feedback_comment(self, value, dispatcher, tracker, domain) -> dict:
        if value is None:
            return {"feedback_comment": None}
        text = str(value).strip()
        return {"feedback_comment": "-" if text.lower() in NO_COMMENT else text[:2000]}


class ActionSubmitFeedback(Action):
    def name(self) -> str:
        return "action_submit_feedback"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        customer_id, events = current_customer(tracker)
        comment = tracker.get_slot("feedback_comment")
        stored = feedback.record_feedback(
            uow(), customer_id=customer_id, csat=int(tracker.get_slot("csat")),
            comment=None if comment == "-" else comment, conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel(), intent=rating.rated_request(tracker),
            resolved_by=rating.resolved_by(tracker), sentiment=rating.comment_sentiment(tracker))
        dispatcher.utter_message(response="utter_feedback_thanks")
        if stored.ticket_id is not None:
            dispatcher.utter_message(response="utter_feedback_follow_up", ticket=stored.ticket_id,
                                     reply_hours=load_policy().first_reply_hours)
        return events + [SlotSet("csat", None), SlotSet("feedback_comment", None)]
