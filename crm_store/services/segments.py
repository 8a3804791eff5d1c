"""Customer segments from the CRM's orders (RFM k-means, :mod:`crm_store.scoring.segments`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import case, func, select

from crm_store import models
from crm_store.scoring import segments
from crm_store.services._common import utcnow
from crm_store.unit_of_work import UnitOfWork

# A cancelled order is neither a visit that counts nor money spent.
COUNTED_STATUSES = ("placed", "paid", "packed", "shipped", "delivered", "returned")
# Written beside the recommender by `caredesk recommend train` (the segments it was built with).
SUMMARY_FILE = "segments.json"


def rfm_table(uow: UnitOfWork, as_of: datetime | None = None) -> pd.DataFrame:
    """One row per customer who ordered before ``as_of``: days since the last order, orders, spend
    in euros (returned orders count as orders, not as spend)."""
    as_of = as_of or utcnow()
    order = models.Order
    kept_spend = func.sum(case((order.status == "returned", 0), else_=order.total_cents))
    with uow:
        rows = uow.session.execute(
            select(order.customer_id, func.max(order.placed_at), func.count(order.id), kept_spend)
            .where(order.status.in_(COUNTED_STATUSES), order.placed_at < as_of)
            .group_by(order.customer_id)).all()
    table = pd.DataFrame(rows, columns=["customer_id", "last_order", "frequency", "spend_cents"])
    table["recency_days"] = (pd.Timestamp(as_of) - pd.to_datetime(table.last_order)).dt.days
    table["spend"] = table.spend_cents.astype(float) / 100
    return table.set_index("customer_id")[["recency_days", "frequency", "spend"]]


def segment_customers(url: str, as_of: datetime | None = None, seed: int = 0) -> segments.Segmentation:
    return segments.segment(rfm_table(UnitOfWork(url), as_of), seed=seed)


def save_summary(found: segments.Segmentation, as_of: datetime, path: Path) -> None:
    """The segments' sizes and profiles as of ``as_of``, as JSON (``caredesk report summary`` reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"as_of": as_of.isoformat(), **found.to_dict()}, default=_plain, indent=2),
                    encoding="utf-8")


def load_summary(path: Path) -> dict | None:
    """What :func:`save_summary` wrote, or None when nothing was saved."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)
