"""RFM segmentation: the number of segments by silhouette, numbered by value, profiled in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_store.scoring import segments


def _three_groups(n: int = 150, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    loyal = pd.DataFrame({"recency_days": rng.integers(1, 15, n), "frequency": rng.integers(20, 40, n),
                          "spend": rng.uniform(2000, 4000, n)})
    casual = pd.DataFrame({"recency_days": rng.integers(60, 120, n), "frequency": rng.integers(3, 6, n),
                           "spend": rng.uniform(150, 300, n)})
    gone = pd.DataFrame({"recency_days": rng.integers(400, 700, n), "frequency": 1,
                         "spend": rng.uniform(10, 40, n)})
    table = pd.concat([loyal, casual, gone], ignore_index=True)
    table.index = pd.Index(range(1000, 1000 + len(table)), name="customer_id")
    return table


@pytest.fixture(scope="module")
def found() -> segments.Segmentation:
    return segments.segment(_three_groups())


def test_three_clear_groups_give_three_segments_chosen_by_silhouette(found):
    assert found.k == 3
    assert max(found.silhouettes, key=lambda k: found.silhouettes[k]) == 3
    assert set(found.silhouettes) == set(range(2, 9))


def test_segments_are_numbered_by_value_and_profiled(found):
    assert found.labels.loc[1000] == 1  # a loyal customer
    assert found.labels.loc[1000 + 2 * 150] == 3  # a lapsed one
    profiles = found.profiles
    assert profiles.customers.tolist() == [150, 150, 150]
    assert profiles.loc[1, "profile"] == "recent, frequent, high spend"
    assert profiles.loc[3, "profile"] == "lapsing, infrequent, low spend"
    assert profiles.share.sum() == pytest.approx(1.0, abs=0.01)


def test_the_same_customers_give_the_same_segments(found):
    again = segments.segment(_three_groups(), k_range=range(3, 4))
    assert (again.labels == found.labels).all()


def test_too_few_distinct_customers_are_refused_with_a_reason():
    same = pd.DataFrame({"recency_days": [5, 5, 5], "frequency": [2, 2, 2], "spend": [10.0, 10.0, 10.0]})
    with pytest.raises(ValueError, match="too few distinct customers"):
        segments.segment(same)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="spend"):
        segments.segment(pd.DataFrame({"recency_days": [1, 2], "frequency": [1, 2]}))


def test_json_report_states_the_criterion(found):
    report = found.to_dict()
    assert report["criterion"].startswith("highest mean silhouette") and len(report["segments"]) == 3
