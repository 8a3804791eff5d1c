"""Recommendations from the CRM: build the model from the order history, store it, serve it.

The model is one file, ``<models dir>/recommender.joblib`` (beside ``churn.joblib``; git-ignored),
read once per process and again only when the file changes. Serving reads the customer's own order
lines and the out-of-stock products at request time, so what they bought a minute ago, a return and
an empty shelf count at once, without retraining.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import DateTime, false, func, literal, null, select, union_all

from crm_store import models
from crm_store.scoring import recommend, recommend_eval
from crm_store.scoring.segments import Segmentation
from crm_store.services import segments
from crm_store.services._common import utcnow
from crm_store.unit_of_work import UnitOfWork

MODEL_FILE = "recommender.joblib"
# Orders that put a product in the customer's hands (a cancelled order never did).
KEPT_STATUSES = ("placed", "paid", "packed", "shipped", "delivered")
STAGES = ("read orders", "segments", "choose parameters", "purchase matrix", "EASE", "item-kNN", "content",
          "popularity", "save")
# Parameters are chosen on the last TUNING_DAYS of the history (trained on what came before them).
TUNING_DAYS = 90
# The chat promises suggestions from the customer's own taste: popularity and newness may lift and
# break ties but not outweigh the history, so the CRM searches smaller weights for them than the
# offline benchmark does (on a seeded shop, precision alone drifts towards the best sellers).
CRM_BASE = recommend.Params(knn_alpha=0.5, trend_weight=0.2, trend_days=30, new_weight=0.0)
CRM_GRID = recommend_eval.GRID | {"trend_days": (14, 30), "trend_weight": (0.0, 0.1, 0.2, 0.4),
                                  "new_weight": (0.0, 0.2)}


@dataclass(frozen=True)
class ProductSuggestion:
    """A product to suggest and why (``reason_kind``: bought | similar | popular | pick)."""

    sku: str
    name: str
    category: str
    price_cents: int
    stock: int
    reason_kind: str
    reason_product: str | None  # the product bought (bought) or looked at (similar)
    reason_category: str | None  # the category it is popular in (popular)
    reason_window_days: int | None
    reason_text: str  # plain English for logs and the command line; the chat words live in domain.yml


def _purchases(uow: UnitOfWork, as_of: datetime | None) -> pd.DataFrame:
    statement = (select(models.Order.customer_id, models.OrderLine.product_id, models.Order.placed_at)
                 .join(models.OrderLine, models.OrderLine.order_id == models.Order.id)
                 .where(models.Order.status.in_(KEPT_STATUSES)))
    if as_of is not None:
        statement = statement.where(models.Order.placed_at < as_of)
    rows = uow.session.execute(statement).all()
    return pd.DataFrame(rows, columns=["customer", "item", "at"])


def _catalogue(uow: UnitOfWork) -> list[recommend.ProductInfo]:
    rows = uow.session.execute(select(models.Product.id, models.Product.name, models.Product.category,
                                      models.Product.description, models.Product.price_cents,
                                      models.Product.attributes)).all()
    return [recommend.ProductInfo(key=pid, name=name, category=category, price_cents=price,
                                  text=" ".join([description or "", *map(str, (attributes or {}).values())]))
            for pid, name, category, description, price, attributes in rows]


def choose_params(purchases: pd.DataFrame, products: list[recommend.ProductInfo],
                  base: recommend.Params) -> tuple[recommend.Params, dict]:
    """The parameters that rank the last ``TUNING_DAYS`` of purchases best (precision@10) when
    trained on what came before them; ``base`` when there is too little history to tell."""
    try:
        split = recommend_eval.split_by_time(purchases, holdout_days=TUNING_DAYS)
        params, trials = recommend_eval.tune(split, 10, base, products, grid=CRM_GRID)
    except recommend_eval.InteractionsError as exc:
        return base, {"skipped": str(exc)}
    best = max(trial["precision@10"] for trial in trials)
    return params, {"validation": split.description, "precision@10": best, "trials": len(trials)}


def train_model(url: str, model_dir: Path, as_of: datetime | None = None,
                params: recommend.Params | None = None, on_step: Callable[[str], None] | None = None,
                tune: bool = True) -> dict:
    """Fit on every kept order line (placed before ``as_of``, default now) and store the model.
    Unless ``tune`` is off, the parameters are first chosen on the history's last 90 days."""
    import joblib

    step = on_step or (lambda label: None)
    as_of = as_of or utcnow()
    with UnitOfWork(url) as uow:
        purchases = _purchases(uow, as_of)
        products = _catalogue(uow)
    step("read orders")
    segmentation = _segments(url, as_of, model_dir)
    step("segments")
    params = params or CRM_BASE
    tuning: dict = {"skipped": "not asked"}
    if tune:
        params, tuning = choose_params(purchases, products, params)
    step("choose parameters")
    model = recommend.fit(purchases, products, params, now=as_of, on_step=step,
                          segments=None if segmentation is None else segmentation.labels.to_dict())
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / MODEL_FILE
    joblib.dump(model, path)
    step("save")
    return {"path": str(path), "trained_at": as_of.isoformat(), "products": model.size,
            "customers": int(purchases["customer"].nunique()), "order_lines": len(purchases),
            "weights": int(model.weights.nnz), "tuning": tuning,
            "segments": 0 if segmentation is None else segmentation.k,
            "params": {name: getattr(params, name) for name in recommend_eval.GRID}}


def _segments(url: str, as_of: datetime, model_dir: Path) -> Segmentation | None:
    """The RFM segments as of ``as_of`` (their popularity serves customers with little history),
    also written to ``segments.json`` for the reports; None when there are too few customers."""
    try:
        found = segments.segment_customers(url, as_of)
    except ValueError:
        return None
    segments.save_summary(found, as_of, model_dir / segments.SUMMARY_FILE)
    return found


_cache: dict[Path, tuple[float, recommend.Model]] = {}
_cache_lock = threading.Lock()


def load_model(model_dir: Path) -> recommend.Model:
    """The stored model, read once and again only when the file changed."""
    import joblib

    path = model_dir / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"no recommender model at {path}; run 'caredesk recommend train' first")
    modified = path.stat().st_mtime
    with _cache_lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != modified:
            cached = (modified, joblib.load(path))
            _cache[path] = cached
    return cached[1]


def _history_statement(customer_id: int):
    # Correlated, so each of the customer's orders is looked up by the returns' order_id index
    # (an IN over every return in the shop cost ~10 ms per call at 100,000 customers).
    returned = (select(models.Return.id).where(models.Return.order_id == models.Order.id,
                                               models.Return.status != "rejected").exists())
    return (select(models.OrderLine.product_id, models.Order.placed_at, models.Order.status, returned)
            .join(models.Order, models.Order.id == models.OrderLine.order_id)
            .where(models.Order.customer_id == customer_id))


def _to_purchases(rows) -> list[recommend.Purchase]:
    return [recommend.Purchase(product, placed_at, returned=bool(was_returned) or status in ("cancelled", "returned"))
            for product, placed_at, status, was_returned in rows]


def customer_history(customer_id: int | None, uow: UnitOfWork) -> list[recommend.Purchase]:
    """Every product the customer ordered, with its last time; returned and cancelled ones flagged
    (never suggested again, and not counted as a taste)."""
    if customer_id is None:
        return []
    return _to_purchases(uow.session.execute(_history_statement(customer_id)).all())


OUT_OF_STOCK = "out of stock"


def history_and_unavailable(customer_id: int | None, uow: UnitOfWork) -> tuple[list[recommend.Purchase], set[int]]:
    """The customer's history and the out-of-stock products, both as of now, in one query."""
    empty = (select(models.Product.id, null().cast(DateTime), literal(OUT_OF_STOCK), false())
             .where(models.Product.stock <= 0))
    statement = empty if customer_id is None else union_all(_history_statement(customer_id), empty)
    rows = uow.session.connection().execute(statement).all()
    unavailable = {row[0] for row in rows if row[2] == OUT_OF_STOCK}
    return _to_purchases(row for row in rows if row[2] != OUT_OF_STOCK), unavailable


# The catalogue's names, categories and prices change rarely: each process keeps them this long.
# Stock is never taken from it: what is out of stock is read with every request.
CATALOGUE_TTL_SECONDS = 60.0
_catalogue_cache: dict[str, tuple[float, dict]] = {}


def _catalogue_rows(uow: UnitOfWork, *, fresh: bool = False) -> dict:
    """Product id -> (sku, name, category, price_cents, stock when read), cached per database."""
    key = str(uow.session.get_bind().url)
    cached = _catalogue_cache.get(key)
    if fresh or cached is None or time.monotonic() - cached[0] > CATALOGUE_TTL_SECONDS:
        product = models.Product
        rows = uow.session.connection().execute(select(product.id, product.sku, product.name, product.category,
                                                       product.price_cents, product.stock)).all()
        cached = (time.monotonic(), {row[0]: tuple(row[1:]) for row in rows})
        _catalogue_cache[key] = cached
    return cached[1]


def _to_suggestions(uow: UnitOfWork, picks: list[recommend.Suggestion]) -> list[ProductSuggestion]:
    """The picks with their catalogue rows (already known to be in stock now)."""
    rows = _catalogue_rows(uow)
    if any(s.key not in rows or rows[s.key][4] <= 0 for s in picks):  # new or restocked since cached
        rows = _catalogue_rows(uow, fresh=True)
    found = []
    for s in picks:
        row = rows.get(s.key)
        if row is None:  # removed from the catalogue since training
            continue
        sku, name, category, price_cents, stock = row
        found.append(ProductSuggestion(
            sku=sku, name=name, category=category, price_cents=price_cents, stock=max(stock, 1),
            reason_kind=s.reason.kind, reason_product=s.reason.product_name, reason_category=s.reason.category,
            reason_window_days=s.reason.window_days, reason_text=s.reason.text))
    return found


def recommend_for_customer(customer_id: int | None, uow: UnitOfWork, model_dir: Path, *, k: int = 5,
                           category: str | None = None, max_price_cents: int | None = None,
                           now: datetime | None = None) -> list[ProductSuggestion]:
    """Products for a customer (None: a guest gets what is popular), best first, each with a reason."""
    model = load_model(model_dir)
    with uow:
        history, unavailable = history_and_unavailable(customer_id, uow)
        picks = recommend.recommend(model, history, k, unavailable=unavailable, category=category,
                                    max_price_cents=max_price_cents, now=now or utcnow(),
                                    segment=model.customer_segments.get(customer_id))
        return _to_suggestions(uow, picks)


def similar_to(sku: str, customer_id: int | None, uow: UnitOfWork, model_dir: Path, *, k: int = 5,
               max_price_cents: int | None = None) -> list[ProductSuggestion]:
    """"More like this" for the product ``sku``, minus what the customer already has."""
    model = load_model(model_dir)
    with uow:
        product_id = uow.session.execute(select(models.Product.id).where(models.Product.sku == sku)).scalar()
        history, unavailable = history_and_unavailable(customer_id, uow)
        return _to_suggestions(uow, recommend.similar_items(
            model, product_id, k, history=history, unavailable=unavailable, max_price_cents=max_price_cents))


# Without a trained model (a fresh install before `caredesk recommend train`), the chat still gets
# sensible suggestions: what sold most over the last POPULAR_DAYS, with the same serving rules.
POPULAR_DAYS = 30


def popular_products(customer_id: int | None, uow: UnitOfWork, *, k: int = 5, category: str | None = None,
                     max_price_cents: int | None = None, exclude_sku: str | None = None,
                     now: datetime | None = None) -> list[ProductSuggestion]:
    """The best sellers of the last ``POPULAR_DAYS`` (then of all time), in stock, within the
    category and price, minus what the customer already has; reason ``popular``."""
    since = (now or utcnow()) - pd.Timedelta(days=POPULAR_DAYS)
    with uow:
        owned = {p.item for p in customer_history(customer_id, uow)}
        sold = func.count(models.OrderLine.id).filter(models.Order.placed_at >= since)
        statement = (select(models.Product, sold.label("recent"), func.count(models.OrderLine.id).label("ever"))
                     .outerjoin(models.OrderLine, models.OrderLine.product_id == models.Product.id)
                     .outerjoin(models.Order, (models.Order.id == models.OrderLine.order_id)
                                & models.Order.status.in_(KEPT_STATUSES))
                     .where(models.Product.stock > 0)
                     .group_by(models.Product.id)
                     .order_by(sold.desc(), func.count(models.OrderLine.id).desc(), models.Product.id))
        if category:
            statement = statement.where(func.lower(models.Product.category) == category.lower())
        if max_price_cents is not None:
            statement = statement.where(models.Product.price_cents <= max_price_cents)
        found = []
        for product, _recent, _ever in uow.session.execute(statement):
            if product.id in owned or product.sku == exclude_sku:
                continue
            found.append(ProductSuggestion(
                sku=product.sku, name=product.name, category=product.category, price_cents=product.price_cents,
                stock=product.stock, reason_kind="popular", reason_product=None, reason_category=product.category,
                reason_window_days=POPULAR_DAYS,
                reason_text=f"popular in {product.category.title()} in the last {POPULAR_DAYS} days"))
            if len(found) == k:
                break
        return found


def suggest(customer_id: int | None, uow: UnitOfWork, model_dir: Path, *, k: int = 5, category: str | None = None,
            max_price_cents: int | None = None, like_sku: str | None = None) -> list[ProductSuggestion]:
    """What the chat shows: "more like ``like_sku``" or the customer's recommendations from the
    model; the best sellers from the CRM when no model has been trained yet."""
    try:
        if like_sku:
            return similar_to(like_sku, customer_id, uow, model_dir, k=k, max_price_cents=max_price_cents)
        return recommend_for_customer(customer_id, uow, model_dir, k=k, category=category,
                                      max_price_cents=max_price_cents)
    except FileNotFoundError:
        if like_sku:
            with uow:
                category = category or uow.session.execute(
                    select(models.Product.category).where(models.Product.sku == like_sku)).scalar()
        return popular_products(customer_id, uow, k=k, category=category, max_price_cents=max_price_cents,
                                exclude_sku=like_sku)


def last_bought_sku(customer_id: int, uow: UnitOfWork) -> str | None:
    """The product of the customer's latest kept order (not returned), for "like last time"."""
    with uow:
        history = [p for p in customer_history(customer_id, uow) if not p.returned]
        if not history:
            return None
        latest = max(history, key=lambda p: p.at or datetime.min)
        return uow.session.execute(select(models.Product.sku).where(models.Product.id == latest.item)).scalar()
