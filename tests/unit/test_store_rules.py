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


def test_the_bundled_policy_is_complete():
    policy = load_policy()
    assert policy.return_window_days == 30
    assert policy.cancellable_statuses == ("placed", "paid", "packed")
    assert {o.key for o in policy.delivery_options} == {"standard", "express", "pickup"}
    assert not next(m for m in policy.payment_methods if m.key == "cash_on_delivery").available
    assert policy.tracking_url("DHL", "123").endswith("123")


def test_a_broken_policy_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "policy.yml"
    bad.write_text("shop_name: x\n")
    with pytest.raises(ValueError, match="invalid shop policy"):
        load_policy(str(bad))


def test_money_is_formatted_with_its_symbol():
    assert format_money(123456, "EUR") == "€1,234.56"
    assert format_money(5, "CHF") == "0.05 CHF"
