import pytest

from crm_store import errors
from crm_store.dto import format_money
from crm_store.policy import load_policy
from crm_store.seed import REFERENCE_ALPHABET, order_reference
from crm_store.services._common import normalise_reference


def test_order_references_are_unique_short_and_unambiguous():
    refs = [order_reference(i) for i in range(1, 200_001)]
    assert len(set(refs)) == len(refs)
    assert all(len(r) == 9 and r.startswith("CD-") and set(r[3:]) <= set(REFERENCE_ALPHABET) for r in refs)
    # Neighbouring orders do not get neighbouring references (nothing to guess from).
    assert sum(a != b for a, b in zip(order_reference(1), order_reference(2), strict=True)) >= 3


@pytest.mark.parametrize("raw", ["cd-abc234", " #CD-ABC234 ", "CD - ABC234"])
def test_references_are_normalised(raw):
    assert normalise_reference(raw) == "CD-ABC234"


@pytest.mark.parametrize("raw", ["", "   ", "CD-ABC234; DROP", "a" * 40, "<b>"])
def test_impossible_references_are_invalid(raw):
    with pytest.raises(errors.InvalidInput):
        normalise_reference(raw)


def test_the_bundled_policy_is_consistent_with_the_shop():
    from crm_store.models import ORDER_STATUSES
    from crm_store.seed import CARRIERS

    policy = load_policy()
    assert policy.return_window_days > 0 and policy.delivery_options and policy.payment_methods
    assert set(policy.cancellable_statuses) <= set(ORDER_STATUSES)
    assert set(policy.address_change_statuses) <= set(ORDER_STATUSES)
    assert not {"shipped", "delivered"} & set(policy.cancellable_statuses)  # what has left cannot be cancelled
    for carrier in CARRIERS:  # every carrier the shop uses gets a tracking link with the parcel's number
        assert policy.tracking_url(carrier, "TN-123") and "TN-123" in policy.tracking_url(carrier, "TN-123")


def test_a_broken_policy_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "policy.yml"
    bad.write_text("shop_name: x\n")
    with pytest.raises(ValueError, match="invalid shop policy"):
        load_policy(str(bad))


def test_money_is_formatted_with_its_symbol():
    assert format_money(123456, "EUR") == "€1,234.56"
    assert format_money(5, "CHF") == "0.05 CHF"
