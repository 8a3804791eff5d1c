"""The recommender's rules, on a small made-up shop (no database): no repeats, nothing out of stock,
cold start for new customers and new products, diversity across categories, and a reason each."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from crm_store.scoring import recommend
from crm_store.scoring.recommend import ProductInfo, Purchase

NOW = datetime(2026, 6, 1)
CATEGORIES = {"garden": ["Hose", "Shears", "Planter", "Seed Kit", "Gloves", "Rake"],
              "kitchen": ["Kettle", "Grinder", "Pan", "Knife", "Mugs", "Jars"],
              "books": ["Cookbook", "Novel", "Atlas", "Poems", "Science", "History"]}


def _catalogue() -> list[ProductInfo]:
    products, key = [], 1
    for category, kinds in CATEGORIES.items():
        for kind in kinds:
            products.append(ProductInfo(key=key, name=f"{kind}", category=category, price_cents=1000 + 500 * key,
                                        text=f"{kind.lower()} for the {category}"))
            key += 1
    # A new product nobody has bought yet, described like the garden hose.
    products.append(ProductInfo(key=99, name="Garden Hose Reel", category="garden", price_cents=2500,
                                text="hose reel for the garden"))
    return products


def _purchases(seed: int = 3) -> pd.DataFrame:
    """Customers who each love one category and buy a few things from it, now and then another."""
    rng = np.random.default_rng(seed)
    keys = {c: [p.key for p in _catalogue() if p.category == c and p.key != 99] for c in CATEGORIES}
    rows = []
    for customer in range(300):
        favourite = list(CATEGORIES)[customer % 3]
        for item in rng.choice(keys[favourite], size=3, replace=False):
            rows.append((customer, int(item), NOW - timedelta(days=int(rng.integers(1, 200)))))
        if rng.random() < 0.2:
            other = list(CATEGORIES)[(customer + 1) % 3]
            rows.append((customer, int(rng.choice(keys[other])), NOW - timedelta(days=int(rng.integers(1, 200)))))
    return pd.DataFrame(rows, columns=["customer", "item", "at"])


@pytest.fixture(scope="module")
def model() -> recommend.Model:
    return recommend.fit(_purchases(), _catalogue(), recommend.Params(), now=NOW)


def _gardener() -> list[Purchase]:
    return [Purchase(1, NOW - timedelta(days=3)), Purchase(2, NOW - timedelta(days=10))]


def test_never_suggests_what_the_customer_bought_or_returned(model):
    history = [*_gardener(), Purchase(3, NOW - timedelta(days=1), returned=True)]
    keys = {s.key for s in recommend.recommend(model, history, k=15)}
    assert keys and not keys & {1, 2, 3}


def test_a_returned_product_is_not_taken_as_a_taste(model):
    only_returned = [Purchase(1, NOW - timedelta(days=1), returned=True)]
    assert recommend.history_weights(model, only_returned) == {}
    assert all(s.reason.kind == "popular" for s in recommend.recommend(model, only_returned, k=5))


def test_never_suggests_an_out_of_stock_product(model):
    first = recommend.recommend(model, _gardener(), k=5)
    unavailable = {s.key for s in first[:3]}
    again = recommend.recommend(model, _gardener(), k=10, unavailable=unavailable)
    assert not {s.key for s in again} & unavailable


def test_a_gardener_gets_garden_products_because_of_what_they_bought(model):
    top = recommend.recommend(model, _gardener(), k=3)
    assert [s.category for s in top] == ["garden"] * 3
    assert all(s.reason.kind == "bought" and s.reason.product_name in ("Hose", "Shears") for s in top)
    assert top[0].reason.text.startswith("because you bought ")


def test_suggestions_are_spread_across_categories(model):
    top = recommend.recommend(model, _gardener(), k=9)
    per_category = pd.Series([s.category for s in top]).value_counts()
    assert per_category.max() <= model.params.max_per_category
    assert len(per_category) == 3


def test_asking_for_one_category_and_a_price_limit_lifts_the_spread(model):
    top = recommend.recommend(model, _gardener(), k=4, category="Kitchen", max_price_cents=5000)
    assert top and all(s.category == "kitchen" for s in top)
    prices = {p.key: p.price_cents for p in _catalogue()}
    assert all(prices[s.key] <= 5000 for s in top)


def test_a_new_customer_gets_popular_products_from_several_categories_with_that_reason(model):
    top = recommend.recommend(model, [], k=6)
    assert len(top) == 6 and len({s.category for s in top}) == 3
    assert all(s.reason.kind == "popular" and s.reason.category == s.category for s in top)
    assert top[0].reason.text.startswith(f"popular in {top[0].category.title()} ")


def test_a_new_product_nobody_bought_is_found_by_its_description(model):
    similar = recommend.similar_items(model, 1, k=10)  # more like the hose
    assert 99 in [s.key for s in similar]
    assert all(s.reason.kind in ("similar", "popular") for s in similar)
    assert similar[0].reason.text == "similar to Hose"


def test_more_like_this_leaves_out_the_product_itself_and_what_the_customer_has(model):
    similar = recommend.similar_items(model, 1, k=10, history=[Purchase(2, NOW)])
    assert not {s.key for s in similar} & {1, 2}


def test_an_unknown_product_or_customer_history_falls_back_to_popular(model):
    assert recommend.similar_items(model, 12345, k=3)[0].reason.kind == "popular"
    assert recommend.recommend(model, [Purchase(12345, NOW)], k=3)[0].reason.kind == "popular"


def test_recent_purchases_weigh_more_than_old_ones(model):
    recent_kitchen = [Purchase(1, NOW - timedelta(days=400)), Purchase(7, NOW - timedelta(days=1))]
    assert recommend.recommend(model, recent_kitchen, k=1)[0].category == "kitchen"


def test_every_suggestion_has_a_reason_and_at_most_k(model):
    top = recommend.recommend(model, _gardener(), k=5)
    assert len(top) == 5 and all(s.reason.text for s in top)


def test_serving_one_customer_is_fast(model):
    import time

    started = time.perf_counter()
    for _ in range(100):
        recommend.recommend(model, _gardener(), k=10)
    assert (time.perf_counter() - started) / 100 < 0.005


def test_a_shop_with_no_sales_yet_offers_its_range_without_calling_it_popular():
    empty = pd.DataFrame(columns=["customer", "item", "at"])
    model = recommend.fit(empty, _catalogue(), now=NOW)
    top = recommend.recommend(model, [], k=3)
    assert len(top) == 3 and {s.reason.kind for s in top} == {"pick"}
    assert top[0].reason.text == f"from our {top[0].category.title()} range"
    assert recommend.similar_items(model, 1, k=1)[0].key == 99  # the hose reel, by its description


def test_no_products_and_no_purchases_is_refused():
    with pytest.raises(ValueError, match="nothing to recommend"):
        recommend.fit(pd.DataFrame(columns=["customer", "item", "at"]), [])


def test_asymmetric_cosine_at_one_half_is_the_plain_cosine_and_lower_favours_the_rarer_item():
    bought = recommend.purchase_matrix(np.array([0, 0, 1, 1, 2, 2, 3]), np.array([0, 1, 0, 2, 0, 2, 2]), 4, 3)
    plain = recommend.knn_weights(bought, 5, alpha=0.5).toarray()
    overlap = (bought.T @ bought).toarray()
    norms = np.sqrt(np.diag(overlap))
    expected = overlap / np.outer(norms, norms)
    np.fill_diagonal(expected, 0)
    assert np.allclose(plain, expected)
    # Item 0 was bought with item 1 (1 buyer) and item 2 (3 buyers), once each.
    asymmetric = recommend.knn_weights(bought, 5, alpha=0.1).toarray()
    assert asymmetric[0, 1] / asymmetric[0, 2] > plain[0, 1] / plain[0, 2]


def test_a_new_product_selling_now_is_lifted_above_an_old_one_selling_as_well():
    rows = [(c, 1, NOW - timedelta(days=300 - c)) for c in range(20)]  # the old one, sold for a year
    rows += [(c, 1, NOW - timedelta(days=3)) for c in range(20, 30)]
    rows += [(c, 2, NOW - timedelta(days=3)) for c in range(30, 40)]  # the new one, first sold 3 days ago
    purchases = pd.DataFrame(rows, columns=["customer", "item", "at"])
    products = [ProductInfo(1, "Old"), ProductInfo(2, "New")]
    plain = recommend.fit(purchases, products, recommend.Params(new_weight=0.0, content_weight=0), now=NOW)
    lifted = recommend.fit(purchases, products, recommend.Params(new_weight=0.8, content_weight=0), now=NOW)
    assert plain.boost[0] == pytest.approx(plain.boost[1])
    assert lifted.boost[1] > lifted.boost[0]


def test_a_customer_with_little_history_gets_what_their_segment_buys_and_a_guest_the_shop_trend():
    rows = [(c, 1, NOW - timedelta(days=2)) for c in range(30)]  # segment 1 buys the hose
    rows += [(c, 7, NOW - timedelta(days=2)) for c in range(30, 50)]  # segment 2 buys the kettle
    purchases = pd.DataFrame(rows, columns=["customer", "item", "at"])
    segments = {c: 1 if c < 30 else 2 for c in range(50)}
    model = recommend.fit(purchases, _catalogue(), recommend.Params(), now=NOW, segments=segments)
    assert recommend.recommend(model, [], k=1)[0].key == 1
    assert recommend.recommend(model, [], k=1, segment=2)[0].key == 7
    assert model.customer_segments[40] == 2
    # Without segments at fit time the segment is ignored.
    plain = recommend.fit(purchases, _catalogue(), recommend.Params(), now=NOW)
    assert recommend.recommend(plain, [], k=1, segment=2)[0].key == 1


def test_user_knn_suggests_what_customers_with_the_same_basket_bought():
    rows = [(c, item, NOW - timedelta(days=5)) for c in range(10) for item in (1, 2, 3)]  # hose, shears, planter
    rows += [(c, item, NOW - timedelta(days=5)) for c in range(10, 40) for item in (1, 7)]  # hose and kettle
    purchases = pd.DataFrame(rows, columns=["customer", "item", "at"])
    params = recommend.Params(content_weight=0, trend_weight=0, new_weight=0, user_weight=1.0, user_neighbours=10)
    model = recommend.fit(purchases, _catalogue(), params, now=NOW)
    history = [Purchase(1, NOW - timedelta(days=1)), Purchase(2, NOW - timedelta(days=1))]
    assert recommend.recommend(model, history, k=1)[0].key == 3  # the ten closest customers bought the planter
    neighbours = recommend._neighbour_row(model, np.array([model.index[1], model.index[2]]))
    assert neighbours[model.index[1]] == neighbours[model.index[2]] == 0  # nothing the customer has
    assert neighbours[model.index[7]] == 0  # only the ten nearest were asked
    # Without user-kNN nothing of it is kept in the model.
    assert recommend.fit(purchases, _catalogue(), recommend.Params(), now=NOW).buyers is None


def test_serving_one_customer_with_user_knn_scores_as_the_offline_evaluation_does(monkeypatch):
    from crm_store.scoring import recommend_eval

    monkeypatch.setattr(recommend, "NEIGHBOUR_CELLS", 1000)  # the evaluation's batches in chunks of a few rows
    purchases = _purchases()
    later = pd.DataFrame([(c, 1 + (c * 7) % 18, NOW + timedelta(days=3)) for c in range(0, 300, 7)],
                         columns=["customer", "item", "at"])
    split = recommend_eval.Split(purchases, later, "test")
    truth = recommend_eval.truth(split)
    model = recommend.fit(purchases, _catalogue(), recommend.Params(user_weight=0.4, user_neighbours=15), now=NOW)
    rows = np.array(sorted(truth.relevant))
    batch = recommend_eval.model_scorer(model, split, truth)(rows)
    columns = np.array([model.index[k] for k in truth.keys.tolist()])
    for row, scored in zip(rows, batch, strict=True):
        own = purchases[purchases.customer == truth.users[row]]
        history = [Purchase(int(i), a.to_pydatetime()) for i, a in zip(own["item"], own["at"], strict=True)]
        served = recommend.scores(model, recommend.history_weights(model, history))
        assert np.allclose(served[columns], scored, atol=1e-6)
