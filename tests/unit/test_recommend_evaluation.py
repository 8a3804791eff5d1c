"""The offline evaluation protocol: metrics on a case worked by hand, splits, and bad tables."""

from __future__ import annotations

import gzip
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from crm_store.scoring import recommend_eval
from crm_store.scoring.recommend_eval import InteractionsError


def _truth() -> recommend_eval.Truth:
    train = pd.DataFrame({"customer": ["a", "a", "b"], "item": ["x", "y", "x"]})
    test = pd.DataFrame({"customer": ["a", "a", "b", "b"], "item": ["z", "x", "y", "w"]})
    return recommend_eval.truth(recommend_eval.Split(train, test, "by hand"))


def test_relevant_items_are_the_new_ones_only():
    t = _truth()
    a, b = (list(t.users).index(u) for u in ("a", "b"))
    assert t.relevant[a] == {-1}  # z was never seen in training: relevant, but nobody can recommend it
    assert t.relevant[b] == {list(t.keys).index("y"), -1}


def test_precision_recall_and_ndcg_by_hand():
    t = _truth()
    y = list(t.keys).index("y")

    def scorer(rows):  # b's only recommendable item is y, ranked first
        score = np.zeros((len(rows), len(t.keys)))
        score[:, y] = 1.0
        return score

    m = recommend_eval.measure(scorer, t, k=1)
    # a: 0 hits of 1 relevant; b: y is a hit, 1 of its 2 relevant items
    assert m["precision@1"] == 0.5 and m["recall@1"] == 0.25 and m["ndcg@1"] == 0.5


def _write(tmp_path, text: str | bytes, name: str = "t.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def test_missing_columns_are_named_with_the_ones_present(tmp_path):
    path = _write(tmp_path, "user,product\n1,2\n")
    with pytest.raises(InteractionsError, match=r"no column 'item'; the file has: user, product"):
        recommend_eval.read_interactions(path, "user", "item")


def test_non_utf8_and_empty_files_say_so(tmp_path):
    with pytest.raises(InteractionsError, match="not UTF-8"):
        recommend_eval.read_interactions(_write(tmp_path, b"user,item\n\xff\xfe,1\n"), "user", "item")
    with pytest.raises(InteractionsError, match="empty"):
        recommend_eval.read_interactions(_write(tmp_path, ""), "user", "item")
    with pytest.raises(InteractionsError, match="no rows"):
        recommend_eval.read_interactions(_write(tmp_path, "user,item\n"), "user", "item")


def test_bad_times_are_refused(tmp_path):
    path = _write(tmp_path, "user,item,when\n1,2,yesterday\n")
    with pytest.raises(InteractionsError, match="'when' are not dates"):
        recommend_eval.read_interactions(path, "user", "item", "when")


def test_gzipped_csv_is_read(tmp_path):
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("user,item\n1,2\n")
    assert len(recommend_eval.read_interactions(str(path), "user", "item")) == 1


def test_time_split_needs_a_time_column_and_a_random_split_is_seeded():
    frame = pd.DataFrame({"customer": np.repeat(np.arange(50), 10), "item": np.tile(np.arange(10), 50)})
    with pytest.raises(InteractionsError, match="time column"):
        recommend_eval.split_by_time(frame)
    first = recommend_eval.split_at_random(frame, seed=4)
    assert first.test.equals(recommend_eval.split_at_random(frame, seed=4).test)
    assert not first.test.equals(recommend_eval.split_at_random(frame, seed=5).test)


def test_further_tuning_rounds_begin_with_the_first_and_stop_where_no_single_change_helps():
    from crm_store.scoring import recommend
    from tests.unit.test_recommend_rules import _catalogue, _purchases

    split = recommend_eval.split_by_time(_purchases(seed=5), holdout_fraction=0.3)
    t = recommend_eval.truth(split)
    grid = {"neighbours": (2, 5, 10), "knn_alpha": (0.5, 0.2), "content_weight": (0.0, 0.3), "trend_weight": (0.0, 0.4)}
    products = _catalogue()

    def score(params):
        model = recommend_eval.fit_model(split, params, products)
        return recommend_eval.measure(recommend_eval.model_scorer(model, split, t), t, 3)["precision@3"]

    one, first = recommend_eval.tune(split, 3, recommend.Params(), products, grid=grid, rounds=1)
    more, trials = recommend_eval.tune(split, 3, recommend.Params(), products, grid=grid, rounds=4)
    assert trials[:len(first)] == first  # the first round is the single-round search
    assert score(more) >= score(one)
    assert score(more) == max(trial["precision@3"] for trial in trials)
    # Where the rounds stopped, changing any one setting of the grid does not do better.
    for name, values in grid.items():
        for value in values:
            assert score(replace(more, **{name: value})) <= score(more)
