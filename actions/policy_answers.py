"""Answers from the shop's policy that depend on the message: where we ship ("do u ship to india"),
warranty and vouchers. Pure: policy and message in, replies out (the words are domain responses)."""

from __future__ import annotations

from actions import replies
from actions.countries import asks_about_abroad, country_in, country_name
from crm_store.policy import ShopPolicy


def delivery_summary(policy: ShopPolicy) -> str:
    """'standard delivery 3-5 working days, express delivery 1-2, ...' for one-line answers."""
    return ", ".join(f"{o.label.lower()} {o.days_min}-{o.days_max}" for o in policy.delivery_options)


def countries_list(policy: ShopPolicy) -> str:
    names = sorted(policy.shipping_countries.values())
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def shipping_reply(policy: ShopPolicy, text: str, entities: list[dict] | None) -> list[replies.Reply] | None:
    """Whether we ship to the country the message names, or where we ship if it asks about abroad;
    None when the message asks neither (then the delivery options answer it)."""
    code = country_in(text, entities)
    if code and policy.shipping_countries:
        if policy.ships_to(code):
            return [replies.reply("utter_ship_to_country", country=policy.shipping_countries[code],
                                  days=delivery_summary(policy))]
        return [replies.reply("utter_no_shipping_to_country", country=country_name(code),
                              countries=countries_list(policy))]
    if asks_about_abroad(text) and policy.shipping_countries:
        return [replies.reply("utter_shipping_countries", countries=countries_list(policy))]
    return None


def warranty_reply(policy: ShopPolicy) -> list[replies.Reply]:
    said = [replies.reply("utter_warranty", years=policy.warranty_years, email=policy.support_email,
                          report_days=policy.claim_report_days)]
    longer = ", ".join(f"{category} {years} years" for category, years in policy.manufacturer_warranty_years.items()
                       if years > policy.warranty_years)
    if longer:
        said.append(replies.reply("utter_warranty_manufacturer", longer=longer))
    return said


def voucher_reply(policy: ShopPolicy) -> list[replies.Reply]:
    said = [replies.reply("utter_vouchers", per_order=policy.vouchers_per_order, gift_years=policy.gift_voucher_years)]
    if not policy.vouchers_combine_with_sale:
        said.append(replies.reply("utter_vouchers_not_on_sale"))
    if policy.newsletter_welcome_percent:
        said.append(replies.reply("utter_vouchers_newsletter", percent=policy.newsletter_welcome_percent))
    return said


def message_policy_replies(intent: str, policy: ShopPolicy, text: str,
                           entities: list[dict] | None) -> list[replies.Reply] | None:
    """The replies for these intents, or None for the other policy questions."""
    if intent == "delivery_options":
        return shipping_reply(policy, text, entities)
    if intent == "check_warranty":
        return warranty_reply(policy)
    if intent == "ask_voucher":
        return voucher_reply(policy)
    return None
