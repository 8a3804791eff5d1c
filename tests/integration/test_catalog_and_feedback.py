import pytest

from crm_store import errors, models
from crm_store.services import catalog, feedback
from tests.integration.shop import count


def test_search_matches_every_word_and_puts_in_stock_first(uow_factory):
    found = catalog.search_products(uow_factory(), query="wireless headphones", limit=10)
    assert found and all("headphones" in p.name.lower() for p in found)
    stocks = [p.stock > 0 for p in found]
    assert stocks == sorted(stocks, reverse=True)


def test_search_by_category(uow_factory):
    found = catalog.search_products(uow_factory(), category="Garden", limit=50)
    assert found and {p.category for p in found} == {"garden"}
    assert "garden" in catalog.categories(uow_factory())


def test_the_limit_caps_the_results(uow_factory):
    assert count(uow_factory(), models.Product) > 7
    assert len(catalog.search_products(uow_factory(), limit=7)) == 7


@pytest.mark.parametrize("query", ["%%", "__", "%_%", "%%%%%", "_____"])
def test_like_wildcards_in_a_search_word_are_literal(uow_factory, query):
    """Unescaped, these words would be LIKE patterns matching every product; no product has them."""
    assert count(uow_factory(), models.Product) > 0
    assert catalog.search_products(uow_factory(), query=query, limit=1000) == []


@pytest.mark.parametrize("query", ["be_rd", "be%rd", "b%d"])
def test_a_word_with_a_wildcard_matches_only_literally(uow_factory, query):
    """As a LIKE pattern each of these would match "Beard Oil"; taken literally no product has it."""
    assert catalog.search_products(uow_factory(), query="beard", limit=1000)
    assert catalog.search_products(uow_factory(), query=query, limit=1000) == []


@pytest.mark.parametrize("query", ["' OR 1=1 --", "x" * 5000, "'; DELETE FROM products; --"])
def test_search_input_is_data_not_sql(uow_factory, query):
    before = count(uow_factory(), models.Product)
    assert catalog.search_products(uow_factory(), query=query, limit=1000) == []
    assert count(uow_factory(), models.Product) == before


def test_an_injection_attempt_matches_nothing(uow_factory):
    assert catalog.search_products(uow_factory(), query="' OR 1=1 --") == []


def test_feedback_is_stored(uow_factory):
    row = feedback.record_feedback(uow_factory(), customer_id=1, csat=5, comment=" Great help ",
                                   conversation_id="c-1", channel="web")
    assert row.csat == 5 and row.comment == "Great help"


@pytest.mark.parametrize("csat", [0, 6, -1])
def test_csat_must_be_one_to_five(uow_factory, csat):
    with pytest.raises(errors.InvalidInput):
        feedback.record_feedback(uow_factory(), customer_id=1, csat=csat)


def test_empty_feedback_is_refused(uow_factory):
    with pytest.raises(errors.InvalidInput):
        feedback.record_feedback(uow_factory(), customer_id=1, comment="   ")
