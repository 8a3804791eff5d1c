"""Customer segments: k-means over recency, frequency and spend (RFM). Pure: frames in, frames out.

Each feature is log-scaled (spend and counts are heavy-tailed) and standardised, so no single one
dominates the distances. The number of segments is the k in 2..8 with the highest mean silhouette
(how much closer each customer is to their own segment than to the next one; computed on a seeded
sample of at most 10,000 customers). Segments are numbered by value: 1 is the most recent,
frequent and high-spending on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ("recency_days", "frequency", "spend")
K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 10_000


@dataclass(frozen=True)
class Segmentation:
    labels: pd.Series  # customer id -> segment number (1 = most valuable)
    k: int
    silhouettes: dict[int, float]  # k -> mean silhouette, the criterion
    profiles: pd.DataFrame  # per segment: size, share and median recency, frequency, spend

    def to_dict(self) -> dict:
        return {"k": self.k, "criterion": "highest mean silhouette over k = 2..8",
                "silhouettes": {str(k): round(v, 4) for k, v in self.silhouettes.items()},
                "segments": self.profiles.reset_index().to_dict(orient="records")}


def _scaled(rfm: pd.DataFrame) -> np.ndarray:
    values = np.log1p(rfm[list(FEATURES)].clip(lower=0).to_numpy(dtype=float))
    spread = values.std(axis=0)
    spread[spread == 0] = 1.0
    return (values - values.mean(axis=0)) / spread


def segment(rfm: pd.DataFrame, k_range: range = K_RANGE, seed: int = 0) -> Segmentation:
    """Segments of customers given one row per customer (index: id) with ``recency_days``,
    ``frequency`` (orders) and ``spend``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    missing = [f for f in FEATURES if f not in rfm.columns]
    if missing:
        raise ValueError(f"missing RFM columns: {', '.join(missing)}")
    if len(rfm) < 3:
        raise ValueError(f"too few customers with orders to segment ({len(rfm)})")
    x = _scaled(rfm)
    distinct = len(np.unique(x.round(6), axis=0))
    candidates = [k for k in k_range if 2 <= k < min(len(x), distinct + 1)]
    if not candidates:
        raise ValueError(f"too few distinct customers to segment ({distinct})")
    sample = min(len(x), SILHOUETTE_SAMPLE)
    silhouettes: dict[int, float] = {}
    fitted = {}
    for k in candidates:
        model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
        fitted[k] = model.labels_
        silhouettes[k] = float(silhouette_score(x, model.labels_, sample_size=sample, random_state=seed))
    best = max(silhouettes, key=lambda k: (round(silhouettes[k], 4), -k))  # a tie goes to fewer segments
    labels = _numbered_by_value(pd.Series(fitted[best], index=rfm.index), x)
    return Segmentation(labels, best, silhouettes, profiles(rfm, labels))


def _numbered_by_value(raw: pd.Series, x: np.ndarray) -> pd.Series:
    # value: recent (low recency), frequent, high spend, in standardised units
    value = pd.Series(-x[:, 0] + x[:, 1] + x[:, 2], index=raw.index).groupby(raw).mean()
    order = {cluster: n for n, cluster in enumerate(value.sort_values(ascending=False).index, start=1)}
    return raw.map(order).rename("segment")


def profiles(rfm: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    grouped = rfm.assign(segment=labels).groupby("segment")
    table = pd.DataFrame({
        "customers": grouped.size(),
        "share": (grouped.size() / len(rfm)).round(3),
        "median_recency_days": grouped.recency_days.median().round(0),
        "median_orders": grouped.frequency.median().round(1),
        "median_spend": grouped.spend.median().round(2),
    })
    table["profile"] = [describe(row, rfm) for _, row in table.iterrows()]
    return table


def describe(row: pd.Series, rfm: pd.DataFrame) -> str:
    """Plain words against the whole base: 'recent, frequent, high spend'."""
    recency = "recent" if row.median_recency_days <= rfm.recency_days.median() else "lapsing"
    frequency = "frequent" if row.median_orders > rfm.frequency.median() else "infrequent"
    spend = "high spend" if row.median_spend > rfm.spend.median() else "low spend"
    return f"{recency}, {frequency}, {spend}"
