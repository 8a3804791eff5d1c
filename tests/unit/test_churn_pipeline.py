import numpy as np
import pandas as pd
import pytest

from crm_store.scoring.churn import cross_validate, detect_columns, to_binary


def _table(rows=400, seed=3):
    rng = np.random.default_rng(seed)
    recency = rng.integers(1, 400, rows)
    country = rng.choice(["UK", "FR", "DE"], rows)
    churned = (recency + rng.normal(0, 60, rows) > 200).astype(int)
    return pd.DataFrame({"customer": range(rows), "recency": recency, "country": country,
                         "orders": rng.integers(1, 30, rows), "churned": churned})


def test_columns_are_detected_and_the_id_left_out():
    columns = detect_columns(_table(), "churned", "customer")
    assert columns.numeric == ["recency", "orders"] and columns.categorical == ["country"]


def test_cross_validation_reports_every_figure():
    report = cross_validate(_table(), "churned", "customer", folds=5)
    assert report["roc_auc"] > 0.8 and 0 < report["brier"] < 0.25
    assert report["rows"] == 400 and report["positives"] > 0 and report["folds"] == 5


@pytest.mark.parametrize("values,expected", [([1, 0], [1, 0]), (["yes", "no"], [1, 0]), ([True, False], [1, 0])])
def test_labels_may_be_numbers_words_or_booleans(values, expected):
    assert list(to_binary(pd.Series(values))) == expected


def test_bad_tables_are_clear_errors():
    with pytest.raises(ValueError, match="label column"):
        cross_validate(_table(), "missing")
    with pytest.raises(ValueError, match="one class"):
        cross_validate(_table().assign(churned=1), "churned", "customer")
