from datetime import date, datetime

import pytest

from actions import replies
from actions.account import parse_contact
from actions.orders import parse_address
from actions.products import search_terms
from actions.support import parse_csat, policy_reply
from crm_store import dto, errors
from crm_store.policy import load_policy
from tests.actions_support import rendered, texts


def _status(**changes):
    base = dict(reference="CD-ABC234", status="shipped", placed_at=datetime(2026, 6, 1), total_cents=5990,
                currency="EUR", delivery_option="standard", payment_method="card",
                lines=(dto.LineItem("EL-0001", "Nordlys Wireless Headphones (black)", 1, 5990),),
                carrier="DHL", tracking_number="DH123", tracking_url="https://dhl.example/DH123",
                eta=date(2026, 6, 5))
    return dto.OrderStatus(**{**base, **changes})


def test_a_shipped_order_reads_with_carrier_tracking_and_eta():
    text = texts(replies.order_status(_status()))
    assert "on its way" in text and "DHL" in text and "DH123" in text and "Fri 05 Jun 2026" in text


def test_an_unshipped_order_says_it_can_still_be_cancelled():
    assert "can still cancel" in texts(replies.order_status(_status(status="paid", carrier=None)))


@pytest.mark.parametrize("email,masked", [("ana.lopez@example.com", "a***z@example.com"),
                                          ("al@example.com", "a***@example.com")])
def test_emails_are_masked(email, masked):
    assert replies.mask_email(email) == masked


def test_unknown_and_foreign_orders_get_the_same_answer():
    assert rendered(replies.error_reply(errors.OrderNotFound("x"), "CD-1")) == rendered(replies.error_reply(
        errors.NotOrderOwner("x"), "CD-1"))


def test_addresses_are_parsed_from_one_line():
    address = parse_address("5 Elm Avenue, Flat 2, 3511 AB Utrecht, nl")
    assert (address.line1, address.line2, address.postcode, address.city, address.country) == (
        "5 Elm Avenue", "Flat 2", "3511 AB", "Utrecht", "NL")


@pytest.mark.parametrize("bad", ["", "Utrecht", "5 Elm Avenue, Utrecht, NL"])
def test_unreadable_addresses_are_refused(bad):
    with pytest.raises(errors.InvalidInput):
        parse_address(bad)


def test_contact_details_are_found_in_a_sentence():
    assert parse_contact("my new mail is ana@web.de thanks") == {"email": "ana@web.de"}
    assert parse_contact("call me on +49 170 1234567") == {"phone": "+49 170 1234567"}
    assert parse_contact("no idea") == {}


@pytest.mark.parametrize("text,score", [("5", 5), ("1", 1), ("great!", 5), ("ok", 3), ("7", None), ("x", None)])
def test_csat_is_read_from_numbers_and_words(text, score):
    assert parse_csat(text) == score


def test_policy_answers_come_from_the_policy_file():
    policy = load_policy()
    assert f"{policy.return_window_days} days" in rendered(policy_reply("check_refund_policy", policy))
    assert "Express delivery: 1-2 working days" in rendered(policy_reply("delivery_options", policy))
    assert "€2.50" in rendered(policy_reply("check_cancellation_fee", policy))
    with pytest.raises(KeyError):
        policy_reply("greet", policy)


def test_search_terms_prefer_catalogue_entities():
    assert search_terms("do you have wireless headphones", []) == ("wireless headphones", None)
    assert search_terms("x", [{"entity": "product", "value": "kettle"},
                              {"entity": "product_category", "value": "garden"}]) == ("kettle", "garden")


def test_product_cards_link_to_the_shop_and_say_whether_it_is_in_stock():
    kettle = dto.ProductInfo(sku="HK-1", name="Kettle", category="home", price_cents=3000, stock=0, description="")
    assert replies.product_cards([kettle]) == [
        {"title": "Kettle", "subtitle": "€30.00 · out of stock", "url": "/products/HK-1"}]


def test_a_lock_out_says_how_long_it_really_lasts():
    from datetime import timedelta

    from actions.session import wait_text

    assert wait_text(None) == "15 minutes"
    assert wait_text(timedelta(minutes=30)) == "30 minutes"
    assert wait_text(timedelta(seconds=20)) == "1 minute"
    assert wait_text(timedelta(hours=4)) == "4 hours"
