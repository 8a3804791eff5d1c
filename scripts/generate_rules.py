"""Write data/rules_requests.yml: which action answers each request, what follows it, how forms end,
and how questions, 'stop' and 'human' are handled while a form waits for an answer.

    python scripts/generate_rules.py

Each request's action sets the slot ``next_step`` ('verify', a form, or nothing) and the rules
branch on it, so every turn is predicted by the rules (and testable with `rasa test`).
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STEP_FORMS = {"verify": "verify_form", "cancel_form": "cancel_form", "return_form": "return_form",
              "address_form": "address_form", "contact_form": "contact_form",
              "delete_account_form": "delete_account_form", "issue_form": "issue_form",
              "feedback_form": "feedback_form", "claim_form": "claim_form"}
# intent -> (action, the next steps that action can choose; None = answered)
REQUESTS = {
    "track_order": ("action_track_order", ["verify", None]),
    "inform": ("action_track_order", ["verify", None]),
    "other_order": ("action_other_order", ["verify", None]),
    "cancel_order": ("action_cancel_order", ["verify", "cancel_form", None]),
    "change_order": ("action_change_order", ["verify", None]),
    "get_refund": ("action_start_return", ["verify", "return_form", None]),
    "track_refund": ("action_track_refund", ["verify", None]),
    "change_shipping_address": ("action_change_address", ["verify", "address_form", None]),
    "check_invoice": ("action_invoice", ["verify", None]),
    "get_invoice": ("action_invoice", ["verify", None]),
    "edit_account": ("action_edit_account", ["verify", "contact_form"]),
    "delete_account": ("action_delete_account", ["verify", "delete_account_form"]),
    "newsletter_subscription": ("action_newsletter", ["verify", None]),
    "complaint": ("action_open_issue", ["issue_form"]),
    "payment_issue": ("action_open_issue", ["issue_form"]),
    "review": ("action_feedback", ["feedback_form"]),
    "recommend_products": ("action_recommend", [None]),  # actions/recommend.py
    # After delivery: exchanges and delivery claims (actions/claims.py)
    **{intent: ("action_start_claim", ["verify", "claim_form", None])
       for intent in ("exchange_item", "report_item_problem", "report_not_received")},
}
DIRECT = {
    "place_order": "action_product_search",
    "product_info": "action_product_search", "contact_human_agent": "action_handoff",
    **{intent: "action_policy_answer" for intent in (
        "check_refund_policy", "delivery_options", "delivery_period", "check_payment_methods",
        "check_cancellation_fee", "contact_customer_service", "check_warranty", "ask_voucher")},
}
HOW_TO = ["create_account", "recover_password", "registration_problems", "switch_account", "set_up_shipping_address"]
AFTER_VERIFICATION = [None, "cancel_form", "return_form", "address_form", "contact_form", "delete_account_form",
                      "claim_form"]
SUBMITS = {"verify_form": "action_after_verification", "cancel_form": "action_submit_cancel",
           "return_form": "action_submit_return", "address_form": "action_submit_address",
           "contact_form": "action_submit_contact", "delete_account_form": "action_submit_delete_account",
           "issue_form": "action_submit_issue", "feedback_form": "action_submit_feedback",
           "claim_form": "action_submit_claim"}
INTERRUPTIONS = ["check_payment_methods", "delivery_options", "delivery_period", "check_refund_policy",
                 "check_cancellation_fee", "contact_customer_service"]
# Forms whose question can be interrupted (their answers are entities or yes/no, not free text).
INTERRUPTIBLE = {"verify_form": ["order_ref", "email"], "cancel_form": ["order_ref"],
                 "return_form": ["order_ref"], "address_form": ["order_ref"], "claim_form": ["order_ref"]}


def then(step: str | None) -> list[dict]:
    steps = [{"slot_was_set": [{"next_step": step}]}]
    if step is not None:
        form = STEP_FORMS[step]
        steps += [{"action": form}, {"active_loop": form}]
    return steps


def build() -> list[dict]:
    rules = []
    for intent, (action, outcomes) in REQUESTS.items():
        for step in outcomes:
            rules.append({"rule": f"{intent} then {step or 'done'}",
                          "steps": [{"intent": intent}, {"action": action}, *then(step)]})
    for intent, action in DIRECT.items():
        rules.append({"rule": intent, "steps": [{"intent": intent}, {"action": action}]})
    for intent in HOW_TO:
        rules.append({"rule": intent, "steps": [{"intent": intent}, {"action": f"utter_{intent}"}]})
    for form, submit in SUBMITS.items():
        ending = [{"action": form}, {"active_loop": None}, {"slot_was_set": [{"requested_slot": None}]},
                  {"action": submit}]
        if form == "verify_form":
            for step in AFTER_VERIFICATION:
                rules.append({"rule": f"verified, then {step or 'done'}", "condition": [{"active_loop": form}],
                              "steps": ending + then(step)})
        else:
            rules.append({"rule": f"submit {form}", "condition": [{"active_loop": form}], "steps": ending})
    for form, slots in INTERRUPTIBLE.items():
        for slot in slots:
            condition = [{"active_loop": form}, {"slot_was_set": [{"requested_slot": slot}]}]
            resume = [{"action": form}, {"active_loop": form}]
            for intent in INTERRUPTIONS:
                rules.append({"rule": f"{intent} while {form} asks for {slot}", "condition": condition,
                              "steps": [{"intent": intent}, {"action": "action_policy_answer"}, *resume]})
            rules.append({"rule": f"bot challenge while {form} asks for {slot}", "condition": condition,
                          "steps": [{"intent": "bot_challenge"}, {"action": "action_small_talk"}, *resume]})
            # Out of scope or not understood (an insult often is): checked for escalation, then the
            # question again (a live hand-over pauses the bot, so the form does not go on then).
            rules.append({"rule": f"out of scope while {form} asks for {slot}", "condition": condition,
                          "steps": [{"intent": "out_of_scope"}, {"action": "action_small_talk"}, *resume]})
            rules.append({"rule": f"not understood while {form} asks for {slot}", "condition": condition,
                          "steps": [{"intent": "nlu_fallback"}, {"action": "action_fallback"}, *resume]})
            rules.append({"rule": f"stop {form} at {slot}", "condition": condition,
                          "steps": [{"intent": "deny"}, {"action": "action_stop_form"}, {"active_loop": None}]})
            rules.append({"rule": f"human during {form} at {slot}", "condition": condition,
                          "steps": [{"intent": "contact_human_agent"}, {"action": "action_stop_form"},
                                    {"active_loop": None}, {"action": "action_handoff"}]})
    return rules


def main() -> int:
    rules = build()
    header = "# Generated by scripts/generate_rules.py: edit that file, not this one.\n"
    body = yaml.safe_dump({"version": "3.1", "rules": rules}, sort_keys=False, width=120)
    (ROOT / "data" / "rules_requests.yml").write_text(header + body, encoding="utf-8")
    print(f"wrote {len(rules)} rules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
