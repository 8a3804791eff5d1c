"""Reading exchanges, item problems and countries out of customer messages (pure, no CRM)."""

import pytest

from actions.claims import claim_kind, first_details, wanted_variant
from actions.countries import asks_about_abroad, country_in
from actions.policy_answers import message_policy_replies
from crm_store.policy import load_policy


@pytest.mark.parametrize("text, kind", [
    ("the lamp arrived smashed", "damaged"),
    ("it doesnt turn on", "damaged"),
    ("you sent the wrong colour", "wrong_item"),
    ("i ordered a scarf and got a belt", "wrong_item"),
    ("one mug is missing", "missing_item"),
    ("the box was empty", "missing_item"),
])
def test_an_item_problem_is_told_apart_by_its_words(text, kind):
    assert claim_kind("report_item_problem", text) == kind


def test_exchange_and_not_received_are_their_intents():
    assert claim_kind("exchange_item", "wrong size") == "exchange"
    assert claim_kind("report_not_received", "missing parcel") == "not_received"


@pytest.mark.parametrize("text, wanted", [
    ("i want to exchange my shoes for a bigger size", "a bigger size"),
    ("swap the jeans for size 32", "size 32"),
    ("exchange my red hoodie for a blue one", "blue"),
    ("can i get it in XL", "XL"),
    ("exchange for a medium in black", "medium, black"),
])
def test_what_an_exchange_should_bring_comes_from_after_the_request_words(text, wanted):
    assert wanted_variant(text, []) == wanted


def test_size_and_colour_entities_win_over_the_words():
    entities = [{"entity": "size", "value": "L"}, {"entity": "colour", "value": "green"}]
    assert wanted_variant("exchange this for something else", entities) == "L, green"
    assert wanted_variant("can i exchange this", []) is None


def test_the_first_message_is_kept_as_details_only_when_it_says_something():
    assert first_details("damaged", "broken", []) is None
    assert first_details("damaged", "the glass jug of the kettle is cracked", []) == (
        "the glass jug of the kettle is cracked")
    assert first_details("not_received", "lost", []) == "lost"


@pytest.mark.parametrize("text, code", [
    ("do u ship to india", "IN"), ("Do you deliver to the USA?", "US"), ("shipping to uk?", "GB"),
    ("can i order from dubai", "AE"), ("ship to South Africa", "ZA"), ("deliver to the US", "US"),
    ("can you ship it to us", None), ("deliveries to Liverpool", None), ("do you do express", None),
])
def test_a_country_is_found_by_its_name_or_a_short_form(text, code):
    assert country_in(text) == code


def test_asking_about_abroad_without_a_country():
    assert asks_about_abroad("which countries do you ship to")
    assert asks_about_abroad("do you ship internationally?")
    assert not asks_about_abroad("how much is shipping")


def test_shipping_answers_say_yes_or_no_for_the_country_and_list_where_we_ship():
    policy = load_policy()
    (no,) = message_policy_replies("delivery_options", policy, "do u ship to india", [])
    assert no["response"] == "utter_no_shipping_to_country" and no["country"] == "India"
    assert "Germany" in no["countries"] and no["countries"].count(" and ") == 1
    (yes,) = message_policy_replies("delivery_options", policy, "ship to austria?", [])
    assert yes["response"] == "utter_ship_to_country" and yes["country"] == "Austria"
    assert message_policy_replies("delivery_options", policy, "express delivery?", []) is None
    assert message_policy_replies("check_refund_policy", policy, "return policy", []) is None
