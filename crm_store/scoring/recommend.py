"""Product recommendations from purchase history: pure, tested without a database.

The model is one item-to-item weight matrix ``W`` (row: an item the customer bought, column: an
item to suggest) that blends three well-known parts, each scaled to a comparable size:

* EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): a closed-form ridge regression of
  every item on all others over the customer x item purchase matrix;
* item-kNN: cosine similarity of items' buyer sets, each item keeping its ``neighbours`` nearest;
* content: TF-IDF cosine of product name, category and description, so a product nobody has
  bought yet is still suggested beside similar ones, and ``similar_items`` works for it.

Beside ``W``, user-kNN (optional, ``user_weight``): what the ``user_neighbours`` customers whose
bought sets are most like the customer's (cosine) bought, weighted by that similarity, blended into
the history part.

A customer's score for every item is their purchase vector (each purchase weighted by
``exp(-age / decay_days)``, recent tastes first) times ``W``, scaled to at most 1, plus
``trend_weight`` times the item's recent popularity (log of buyers in the last ``trend_days``).
A customer with no history gets the recent popularity alone. Rules applied when serving: nothing
the customer bought or returned, nothing out of stock, at most ``max_per_category`` per category,
and every suggestion carries a structured :class:`Reason` (the chat renders its words).

Serving one customer is a sparse row sum over their purchases and a partial sort: about half a
millisecond at the median for 3,400 products (``benchmarks/recommend_online_retail.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp  # type: ignore[import-untyped]

# EASE inverts an items x items matrix; above this many items only item-kNN and content are used.
EASE_MAX_ITEMS = 12_000
# Only this many largest weights per bought item are kept in W (memory and serving time).
KEEP_PER_ROW = 256
# "Because you bought X" only when the purchase history gives at least this much of the score (the
# best item's history part is 1) and more than popularity does; otherwise the pick is a popular one.
HISTORY_FOR_REASON = 0.15
TIE_BREAK = 1e-3
# User-kNN scores this many customer-to-customer similarities at once (32 MB of float64).
NEIGHBOUR_CELLS = 4_000_000
# A customer with fewer distinct kept purchases than this says little by them: what their segment
# (RFM, crm_store.scoring.segments) buys lately weighs in beside the shop's trend.
LITTLE_HISTORY = 3


@dataclass(frozen=True)
class Params:
    """Hyperparameters. The defaults are where the search starts: ``caredesk recommend train`` and
    ``evaluate`` choose each on a validation split cut from the training period
    (:func:`crm_store.scoring.recommend_eval.tune`)."""

    ease_lambda: float = 300.0
    neighbours: int = 50
    knn_share: float = 0.75  # 0: EASE only, 1: item-kNN only
    # Asymmetric cosine (Aiolli 2013): c_ij / (n_i^a n_j^(1-a)); 0.5 is the plain cosine, lower values
    # penalise the popularity of the suggested item j more.
    knn_alpha: float = 0.2
    content_weight: float = 0.1
    decay_days: float | None = 60.0  # None: every purchase counts the same
    trend_weight: float = 0.8
    trend_days: int = 14
    # Newness: a product first sold within about ``new_days`` that is selling now gets
    # ``new_weight * exp(-days since its first sale / new_days) * trend`` (new ranges, seasonal lines).
    new_weight: float = 0.8
    new_days: float = 30.0
    # User-kNN's share of the history part (0: item-to-item only) and how many neighbours it asks.
    user_weight: float = 0.0
    user_neighbours: int = 100
    max_per_category: int = 3


@dataclass(frozen=True)
class ProductInfo:
    """What the recommender knows of a product besides who bought it."""

    key: int | str
    name: str = ""
    category: str | None = None
    text: str = ""  # description, brand, ... for content similarity
    price_cents: int | None = None


@dataclass(frozen=True)
class Purchase:
    """One thing one customer bought (or returned) at a time."""

    item: int | str
    at: datetime | None = None
    returned: bool = False


@dataclass(frozen=True)
class Reason:
    """Why a product is suggested. ``kind``: ``bought`` (because you bought ``product_name``),
    ``similar`` (similar to ``product_name``, for "more like this"), ``popular`` (popular in
    ``category``, or in the shop when it is None, over the last ``window_days``) or ``pick`` (from
    the ``category`` range: nobody bought it lately, so it is not called popular)."""

    kind: str
    product_key: int | str | None = None
    product_name: str | None = None
    category: str | None = None
    window_days: int | None = None

    @property
    def text(self) -> str:
        """Plain English, for the command line and logs (the chat words live in domain.yml)."""
        if self.kind == "bought":
            return f"because you bought {self.product_name}"
        if self.kind == "similar":
            return f"similar to {self.product_name}"
        if self.kind == "pick":
            return f"from our {self.category.title()} range" if self.category else "from our range"
        period = {7: " this week", 30: " this month", None: ""}.get(self.window_days,
                                                                   f" in the last {self.window_days} days")
        return f"popular in {self.category.title()}{period}" if self.category else f"popular{period}"


@dataclass(frozen=True)
class Suggestion:
    key: int | str
    name: str
    category: str | None
    score: float
    reason: Reason


@dataclass
class Model:
    """A fitted recommender: plain arrays, picklable, no database handles."""

    params: Params
    keys: np.ndarray  # item keys, in matrix order
    names: np.ndarray
    categories: np.ndarray  # str or None per item
    prices: np.ndarray  # float cents, NaN when unknown
    weights: sp.csr_matrix  # items x items, float32
    trend: np.ndarray  # recent popularity in [0, 1]
    boost: np.ndarray  # what is added to a customer's history scores: trend and newness, weighted
    popular_recent: np.ndarray  # buyers per item over the last 7 days
    reason_window_days: int | None  # the trend's window; None: no purchase times, all-time popularity
    fitted_at: datetime | None
    index: dict = field(default_factory=dict)
    columns: sp.csc_matrix | None = None  # the same weights by column, for reasons
    segment_trend: dict = field(default_factory=dict)  # segment -> recent popularity among its customers
    customer_segments: dict = field(default_factory=dict)  # customer -> segment when fitted
    buyers: sp.csr_matrix | None = None  # customers x items, 1 where bought: user-kNN's neighbours
    buyer_norms: np.ndarray | None = None  # each customer's bought-set norm
    buyers_by_item: sp.csr_matrix | None = None  # the same, items x customers (who bought each item)

    def __setstate__(self, state: dict) -> None:
        state.setdefault("segment_trend", {})
        state.setdefault("customer_segments", {})
        state.setdefault("buyers", None)
        state.setdefault("buyer_norms", None)
        state.setdefault("buyers_by_item", None)
        # A model stored before the newness boost existed: its boost was the weighted trend alone.
        if "boost" not in state:
            weight = state["params"].trend_weight or TIE_BREAK
            state["boost"] = (weight * state["trend"]).astype(np.float32)
        self.__dict__.update(state)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {key: i for i, key in enumerate(self.keys.tolist())}
        if self.columns is None:
            self.columns = self.weights.tocsc()
        if self.buyers is not None and self.buyers_by_item is None:
            self.buyers_by_item = self.buyers.T.tocsr()

    @property
    def size(self) -> int:
        return len(self.keys)


# ----------------------------------------------------------------------------------------------- fit


def purchase_matrix(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int,
                    values: np.ndarray | None = None) -> sp.csr_matrix:
    """Customers x items, one entry per distinct pair (the largest value when pairs repeat)."""
    values = np.ones(len(users), dtype=np.float64) if values is None else values.astype(np.float64)
    frame = pd.DataFrame({"u": users, "i": items, "v": values}).groupby(["u", "i"], sort=False).v.max()
    u, i = frame.index.get_level_values(0).to_numpy(), frame.index.get_level_values(1).to_numpy()
    return sp.csr_matrix((frame.to_numpy(), (u, i)), shape=(n_users, n_items))


def ease_weights(bought: sp.csr_matrix, lam: float) -> np.ndarray:
    """EASE's closed form: B = I - P / diag(P) with P = (X'X + lam I)^-1, zero diagonal."""
    gram = (bought.T @ bought).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights


def knn_weights(bought: sp.csr_matrix, neighbours: int, alpha: float = 0.5) -> sp.csr_matrix:
    """Cosine similarity of items' buyer sets, asymmetric when ``alpha`` is not 0.5 (row: the item
    bought, divided by its norm to the power 2 alpha; column: the item suggested, to the power
    2 (1 - alpha)); each target item (column) keeps its nearest."""
    norms = np.sqrt(np.asarray(bought.multiply(bought).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    overlap = (bought.T @ bought).tocsc()
    similar = sp.diags(norms ** (-2 * alpha)) @ overlap @ sp.diags(norms ** (-2 * (1 - alpha)))
    return _top_per_column(sp.csc_matrix(similar), neighbours)


def content_weights(texts: Sequence[str], neighbours: int) -> sp.csr_matrix:
    """TF-IDF cosine of the products' texts, each keeping its nearest ``neighbours``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(t.strip() for t in texts):
        return sp.csr_matrix((len(texts), len(texts)))
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=1, ngram_range=(1, 1)).fit_transform(texts)
    return _top_per_column((tfidf @ tfidf.T).tocsc(), neighbours)


def _top_per_column(similar: sp.csc_matrix, keep: int) -> sp.csr_matrix:
    similar = (similar - sp.diags(similar.diagonal())).tocsc()
    similar.eliminate_zeros()
    rows, cols, vals = [], [], []
    for j in range(similar.shape[1]):
        start, end = similar.indptr[j], similar.indptr[j + 1]
        col_rows, col_vals = similar.indices[start:end], similar.data[start:end]
        if len(col_vals) > keep:
            top = np.argpartition(-col_vals, keep)[:keep]
            col_rows, col_vals = col_rows[top], col_vals[top]
        rows.append(col_rows)
        cols.append(np.full(len(col_rows), j))
        vals.append(col_vals)
    if not rows:
        return sp.csr_matrix(similar.shape)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=similar.shape)


def _top_per_row(dense_or_sparse, keep: int) -> sp.csr_matrix:
    matrix = sp.csr_matrix(dense_or_sparse)
    matrix.data[matrix.data < 0] = 0  # a negative weight only ever lowers a score: not kept
    matrix.eliminate_zeros()
    return _top_per_column(matrix.T.tocsc(), keep).T.tocsr()


def _scale(matrix) -> float:
    """A typical size of a row's largest weight, to blend parts measured in different units."""
    row_max = np.asarray(sp.csr_matrix(matrix).max(axis=1).todense()).ravel()
    row_max = row_max[row_max > 0]
    return float(np.median(row_max)) if len(row_max) else 1.0


def fit(purchases: pd.DataFrame, products: Sequence[ProductInfo] = (), params: Params = Params(),
        now: datetime | None = None, on_step=None, segments: Mapping | None = None) -> Model:
    """Fit on a purchase table with columns ``customer``, ``item`` and optionally ``at``.

    Args:
        purchases: one row per bought line; returned or cancelled ones already left out.
        products: the catalogue (names, categories, texts); items only in ``purchases`` are
            added without them. Products nobody bought are still recommendable (content, trend).
        now: the model's "today" for the trend and the decay (default: the last purchase).
        on_step: called with a short label after each stage (for a progress bar).
        segments: customer -> segment (as of ``now``); each segment's recent popularity is kept for
            its customers with little history.
    """
    step = on_step or (lambda label: None)
    catalogue = {p.key: p for p in products}
    for key in pd.unique(purchases["item"]):
        catalogue.setdefault(key, ProductInfo(key=key, name=str(key)))
    if not catalogue:
        raise ValueError("no products and no purchases: nothing to recommend")
    keys = np.array(list(catalogue), dtype=object)
    index = {key: i for i, key in enumerate(keys.tolist())}
    users, user_codes = np.unique(purchases["customer"].to_numpy(), return_inverse=True)
    item_codes = purchases["item"].map(index).to_numpy()
    bought = purchase_matrix(user_codes, item_codes, len(users), len(keys))
    step("purchase matrix")

    parts = []
    if params.knn_share < 1 and len(keys) <= EASE_MAX_ITEMS:
        ease = ease_weights(bought, params.ease_lambda)
        parts.append(((1 - params.knn_share), _top_per_row(ease, KEEP_PER_ROW)))
        del ease
        step("EASE")
    knn_share = params.knn_share if parts else 1.0
    if knn_share > 0:
        parts.append((knn_share, knn_weights(bought, params.neighbours, params.knn_alpha)))
        step("item-kNN")
    info = [catalogue[k] for k in keys.tolist()]
    if params.content_weight > 0:
        texts = [" ".join(filter(None, (p.name, p.category or "", p.text))) for p in info]
        parts.append((params.content_weight, content_weights(texts, 20)))
        step("content")
    weights = sp.csr_matrix((len(keys), len(keys)), dtype=np.float32)
    for share, part in parts:
        weights = weights + part * (share / _scale(part))
    weights = _top_per_row(weights, KEEP_PER_ROW).astype(np.float32)

    has_time = "at" in purchases.columns and purchases["at"].notna().any()
    now = now or (pd.Timestamp(purchases["at"].max()).to_pydatetime() if has_time else None)
    trend = _buyers_since(purchases, index, now, params.trend_days) if has_time else None
    if trend is None:  # no times: all-time popularity stands in for the trend
        trend = np.asarray(bought.sum(axis=0)).ravel()
    week = _buyers_since(purchases, index, now, 7) if has_time else None
    recent = np.zeros(len(keys)) if week is None else week
    trend_score = np.log1p(trend)
    trend_score = trend_score / trend_score.max() if trend_score.max() > 0 else trend_score
    boost = (params.trend_weight or TIE_BREAK) * trend_score
    if has_time and params.new_weight > 0:
        boost = boost + params.new_weight * _newness(purchases, index, now, params.new_days) * trend_score
    segment_trend = _segment_trend(purchases, index, now, params.trend_days, segments) if segments else {}
    step("popularity")
    buyers = sp.csr_matrix((bought > 0).astype(np.float32)) if params.user_weight > 0 else None
    return Model(params=params, keys=keys, names=np.array([p.name for p in info], dtype=object),
                 categories=np.array([p.category for p in info], dtype=object),
                 prices=np.array([np.nan if p.price_cents is None else p.price_cents for p in info], dtype=float),
                 weights=weights, trend=trend_score.astype(np.float32),
                 boost=boost.astype(np.float32), popular_recent=recent.astype(np.float32),
                 reason_window_days=params.trend_days if has_time else None, fitted_at=now, index=index,
                 segment_trend=segment_trend, customer_segments=dict(segments or {}), buyers=buyers,
                 buyer_norms=None if buyers is None else np.sqrt(np.asarray(buyers.sum(axis=1)).ravel()))


def _segment_trend(purchases: pd.DataFrame, index: dict, now: datetime | None, days: int,
                   segments: Mapping) -> dict:
    """Per segment, log buyers per item over the last ``days`` (all time without times), in [0, 1]."""
    table = purchases.assign(segment=purchases["customer"].map(segments)).dropna(subset=["segment"])
    if now is not None and "at" in table.columns and table["at"].notna().any():
        table = table[pd.to_datetime(table["at"]) >= pd.Timestamp(now) - pd.Timedelta(days=days)]
    found = {}
    for segment, group in table.groupby("segment"):
        counts = np.zeros(len(index))
        buyers = group.groupby("item")["customer"].nunique()
        counts[buyers.index.map(index).to_numpy()] = buyers.to_numpy()
        score = np.log1p(counts)
        if score.max() > 0:
            found[segment] = (score / score.max()).astype(np.float32)
    return found


def _newness(purchases: pd.DataFrame, index: dict, now: datetime | None, days: float) -> np.ndarray:
    """exp(-days since the product's first sale / ``days``); 0 for a product never sold."""
    newness = np.zeros(len(index))
    first = pd.to_datetime(purchases["at"]).groupby(purchases["item"]).min()
    age = (pd.Timestamp(now) - first).dt.total_seconds().to_numpy() / 86400
    newness[first.index.map(index).to_numpy()] = np.exp(-np.maximum(age, 0.0) / days)
    return newness


def _buyers_since(purchases: pd.DataFrame, index: dict, now: datetime | None, days: int) -> np.ndarray | None:
    if now is None:
        return None
    recent = purchases[pd.to_datetime(purchases["at"]) >= pd.Timestamp(now) - pd.Timedelta(days=days)]
    counts = np.zeros(len(index), dtype=np.float64)
    buyers = recent.groupby("item")["customer"].nunique()
    codes = buyers.index.map(index).to_numpy()
    counts[codes] = buyers.to_numpy()
    return counts


# ----------------------------------------------------------------------------------------- serving


def history_weights(model: Model, history: Sequence[Purchase], now: datetime | None = None) -> dict[int, float]:
    """Item position -> weight of the customer's kept purchases (returns are not tastes)."""
    now = now or model.fitted_at
    kept = [(model.index.get(p.item), p.at) for p in history if not p.returned]
    kept = [(position, at) for position, at in kept if position is not None]
    if not kept:
        return {}
    positions = np.fromiter((position for position, _ in kept), dtype=np.int64, count=len(kept))
    values = np.ones(len(kept))
    decay = model.params.decay_days
    if decay and now is not None:
        ages = np.array([0.0 if at is None else (now - at).total_seconds() for _, at in kept]) / 86400
        values = np.exp(-np.maximum(ages, 0.0) / decay)
    best = np.zeros(model.size)
    np.maximum.at(best, positions, values)
    unique = np.unique(positions)
    return dict(zip(unique.tolist(), best[unique].tolist(), strict=True))


def _gather(matrix: sp.csr_matrix, rows: np.ndarray, row_weights: np.ndarray) -> np.ndarray:
    """``row_weights @ matrix[rows]`` as a dense vector, straight from the CSR arrays (a sparse
    product costs more in scipy's bookkeeping than in arithmetic at this size)."""
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = ends - starts
    if lengths.sum() > matrix.nnz // 8:  # a long history: one pass over the whole matrix is cheaper
        vector = np.zeros(matrix.shape[0])
        vector[rows] = row_weights
        return np.asarray(matrix.T @ vector).ravel()
    if lengths.sum() == 0:
        return np.zeros(matrix.shape[1])
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    return np.bincount(matrix.indices[offsets], weights=matrix.data[offsets] * np.repeat(row_weights, lengths),
                       minlength=matrix.shape[1])


def neighbour_scores(model: Model, profiles: sp.csr_matrix) -> np.ndarray:
    """User-kNN for each row of ``profiles`` (customers x items, nonzero where bought): the items the
    ``user_neighbours`` most similar customers (cosine of bought sets) bought, weighted by similarity,
    nothing for what the row already has, scaled to at most 1. The customer's own stored row (the
    very same set) is not their neighbour."""
    if model.buyers is None or model.buyer_norms is None or model.buyers_by_item is None:
        return np.zeros(profiles.shape)
    profiles = sp.csr_matrix(profiles > 0, dtype=np.float64)
    # Similarities are dense (rows x every customer): a few rows at a time keeps memory bounded.
    step = max(1, NEIGHBOUR_CELLS // max(model.buyers.shape[0], 1))
    if profiles.shape[0] > step:
        return np.vstack([neighbour_scores(model, profiles[start:start + step])
                          for start in range(0, profiles.shape[0], step)])
    norms = np.sqrt(np.asarray(profiles.sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    similar = (profiles @ model.buyers_by_item).toarray() / norms[:, None] / np.maximum(model.buyer_norms, 1.0)[None, :]
    similar[similar >= 1 - 1e-6] = 0.0
    keep = model.params.user_neighbours
    if keep < similar.shape[1]:
        threshold = -np.partition(-similar, keep - 1, axis=1)[:, keep - 1:keep]
        similar[similar < threshold] = 0.0
    found = (sp.csr_matrix(similar) @ model.buyers).toarray().astype(np.float64)
    found[profiles.nonzero()] = 0.0
    top = found.max(axis=1, keepdims=True)
    return np.divide(found, top, out=np.zeros_like(found), where=top > 0)


def _neighbour_row(model: Model, rows: np.ndarray) -> np.ndarray:
    """:func:`neighbour_scores` for one customer who bought the items at ``rows``, straight from the
    CSR arrays (serving: scipy's bookkeeping would cost more than the arithmetic)."""
    assert model.buyers is not None and model.buyers_by_item is not None and model.buyer_norms is not None
    rows = np.unique(rows)
    similar = _gather(model.buyers_by_item, rows, np.ones(len(rows)))
    similar = similar / np.sqrt(max(len(rows), 1)) / np.maximum(model.buyer_norms, 1.0)
    similar[similar >= 1 - 1e-6] = 0.0
    keep = model.params.user_neighbours
    if keep < len(similar):
        similar[similar < -np.partition(-similar, keep - 1)[keep - 1]] = 0.0
    neighbours = np.flatnonzero(similar)
    found = _gather(model.buyers, neighbours, similar[neighbours]) if len(neighbours) else np.zeros(model.size)
    found[rows] = 0.0
    top = found.max()
    return found / top if top > 0 else found


def blend_neighbours(model: Model, from_history: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """The history part (rows scaled to at most 1) with user-kNN's scores (``neighbours``, from
    :func:`neighbour_scores`) blended in at ``user_weight``."""
    share = model.params.user_weight
    blended = (1 - share) * from_history + share * neighbours
    top = blended.max(axis=1, keepdims=True)
    return np.divide(blended, top, out=np.zeros_like(blended), where=top > 0)


def scores(model: Model, weights: dict[int, float], segment=None) -> np.ndarray:
    """Every item's score for a customer whose purchases weigh ``weights``; a customer of
    ``segment`` with little history also gets what their segment buys lately."""
    trend = model.trend.astype(np.float64)
    peers = model.segment_trend.get(segment) if len(weights) < LITTLE_HISTORY else None
    if peers is not None:
        trend = (trend + peers.astype(np.float64)) / 2
    if weights:
        rows = np.fromiter(weights, dtype=np.int64, count=len(weights))
        from_history = _gather(model.weights, rows, np.fromiter(weights.values(), dtype=np.float64))
        top = from_history.max()
        if top > 0:  # popularity breaks ties even when its weight is 0
            boost = model.boost.astype(np.float64)
            if peers is not None:
                boost = boost + model.params.trend_weight * peers
            from_history = from_history / top
            if model.params.user_weight > 0 and model.buyers is not None:
                from_history = blend_neighbours(model, from_history[None, :], _neighbour_row(model, rows)[None, :])[0]
            return from_history + boost
    return trend  # nothing to go on: what is popular now (among the customer's segment too)


def recommend(model: Model, history: Sequence[Purchase] = (), k: int = 10, *,
              unavailable: Collection = (), category: str | None = None, max_price_cents: int | None = None,
              now: datetime | None = None, segment=None) -> list[Suggestion]:
    """Up to ``k`` products for one customer, best first.

    Never one the customer bought or returned (anything in ``history``), nor one in ``unavailable``
    (out of stock, withdrawn); only ``category`` and at most ``max_price_cents`` when given; at
    most ``max_per_category`` per category otherwise, unless too few others are left. ``segment``:
    the customer's RFM segment, which weighs in when their history is short.
    """
    weights = history_weights(model, history, now)
    score = scores(model, weights, segment)
    allowed = _allowed(model, [p.item for p in history], unavailable, category, max_price_cents)
    picks = _diverse_top(model, score, allowed, k, enforce=category is None)
    return [Suggestion(model.keys[i], str(model.names[i]), model.categories[i], float(score[i]), reason)
            for i, reason in zip(picks, _reasons(model, picks, score, weights), strict=True)]


def similar_items(model: Model, item, k: int = 10, *, history: Sequence[Purchase] = (),
                  unavailable: Collection = (), category: str | None = None,
                  max_price_cents: int | None = None) -> list[Suggestion]:
    """"More like this": products bought with or described like ``item``, minus the customer's own
    and unavailable ones; popular ones when the item is unknown."""
    position = model.index.get(item)
    if position is None:
        return recommend(model, history, k, unavailable=unavailable, category=category,
                         max_price_cents=max_price_cents)
    row = np.asarray(model.weights[position].todense()).ravel().astype(np.float64)
    score = row / row.max() if row.max() > 0 else row
    score = score + 0.01 * model.trend  # ties (and a product with no neighbours) go to popular ones
    allowed = _allowed(model, [item, *(p.item for p in history)], unavailable, category, max_price_cents)
    picks = _diverse_top(model, score, allowed, k, enforce=False)
    reason = Reason("similar", product_key=item, product_name=str(model.names[position]))
    return [Suggestion(model.keys[i], str(model.names[i]), model.categories[i], float(score[i]),
                       reason if row[i] > 0 else _popular_reason(model, i)) for i in picks]


def _allowed(model: Model, owned: Iterable, unavailable: Collection, category: str | None,
             max_price_cents: int | None) -> np.ndarray:
    allowed = np.ones(model.size, dtype=bool)
    for key in (*owned, *unavailable):
        position = model.index.get(key)
        if position is not None:
            allowed[position] = False
    if category is not None:
        allowed &= np.array([c is not None and c.lower() == category.lower() for c in model.categories])
    if max_price_cents is not None:
        allowed &= ~np.isnan(model.prices) & (model.prices <= max_price_cents)
    return allowed


def _diverse_top(model: Model, score: np.ndarray, allowed: np.ndarray, k: int, enforce: bool) -> list[int]:
    candidates = np.flatnonzero(allowed)
    if len(candidates) == 0 or k <= 0:
        return []
    pool = min(len(candidates), max(k * 8, 64))
    best = candidates[np.argpartition(-score[candidates], pool - 1)[:pool]]
    best = best[np.argsort(-score[best], kind="stable")]
    cap = model.params.max_per_category
    picks: list[int] = []
    skipped: list[int] = []
    per_category: dict[str, int] = {}
    for i in best.tolist():
        category = model.categories[i]
        if enforce and category is not None and per_category.get(category, 0) >= cap:
            skipped.append(i)
            continue
        picks.append(i)
        if category is not None:
            per_category[category] = per_category.get(category, 0) + 1
        if len(picks) == k:
            return picks
    return picks + skipped[: k - len(picks)]  # too few categories left: fill with the best others


def _reasons(model: Model, picks: list[int], score: np.ndarray, weights: dict[int, float]) -> list[Reason]:
    """"Because you bought" the purchase that adds most to a pick's score, unless the pick is
    there mostly for its popularity."""
    reasons = [_popular_reason(model, i) for i in picks]
    if not weights or not picks:
        return reasons
    columns = model.columns
    assert columns is not None
    history = np.zeros(model.size)
    history[np.fromiter(weights, dtype=np.int64)] = np.fromiter(weights.values(), dtype=np.float64)
    for n, i in enumerate(picks):
        start, end = columns.indptr[i], columns.indptr[i + 1]
        bought, contribution = columns.indices[start:end], columns.data[start:end] * history[columns.indices[start:end]]
        trend_part = float(model.boost[i])
        history_part = score[i] - trend_part
        if len(contribution) and contribution.max() > 0 and history_part >= max(HISTORY_FOR_REASON, trend_part):
            because = int(bought[int(contribution.argmax())])
            reasons[n] = Reason("bought", product_key=model.keys[because], product_name=str(model.names[because]))
    return reasons


def _popular_reason(model: Model, i: int) -> Reason:
    if model.popular_recent[i] > 0:
        return Reason("popular", category=model.categories[i], window_days=7)
    if model.trend[i] > 0:
        return Reason("popular", category=model.categories[i], window_days=model.reason_window_days)
    return Reason("pick", category=model.categories[i])  # nobody bought it lately: not called popular

