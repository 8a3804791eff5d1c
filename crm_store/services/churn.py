"""Churn risk from the CRM's own history: features at a cutoff, a time-based label, training
(logistic regression or gradient boosting, whichever cross-validates better), and writing every
customer's score and top reasons.

Label: a customer churned at a cutoff if they placed no order in the 90 days after it. Training
uses the cutoff 180 days before "today" and is checked on the cutoff 90 days before it (a
time-based hold-out: the model never sees the period it is checked on); the saved model is then
refitted on the most recent labelled cutoff.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, update

from crm_store import models
from crm_store.scoring import churn, segments
from crm_store.services._common import utcnow
from crm_store.unit_of_work import UnitOfWork

HORIZON = timedelta(days=90)
MODELS = churn.MODELS  # the candidate models, for callers of this service
FEATURES = ["recency_days", "frequency", "orders_last_90d", "monetary_cents", "tenure_days", "returns",
            "cancellations", "complaints", "tickets", "negative_conversations", "low_csat", "avg_csat", "segment",
            "rfm_segment"]
CATEGORICAL = ["segment", "rfm_segment"]
# Conversations the assistant had to hand over because the customer was upset or asked for a person.
NEGATIVE_CONVERSATION_TICKETS = ("escalated", "human_requested")


def _frames(uow: UnitOfWork) -> dict[str, pd.DataFrame]:
    def read(statement) -> pd.DataFrame:
        # pandas' read_sql wants SQLAlchemy 2; build the frame from the rows instead.
        result = uow.session.execute(statement)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
        for column in frame.columns:
            if column.endswith("_at"):
                frame[column] = pd.to_datetime(frame[column])
        return frame

    return {
        "customers": read(select(models.Customer.id, models.Customer.created_at, models.Customer.segment)),
        "orders": read(select(models.Order.customer_id, models.Order.placed_at, models.Order.total_cents,
                              models.Order.status)),
        "returns": read(select(models.Order.customer_id, models.Return.requested_at)
                        .join(models.Order, models.Order.id == models.Return.order_id)),
        "tickets": read(select(models.Ticket.customer_id, models.Ticket.reason, models.Ticket.created_at)),
        "feedback": read(select(models.Feedback.customer_id, models.Feedback.csat, models.Feedback.created_at)),
    }


def features_at(frames: dict[str, pd.DataFrame], cutoff: datetime) -> pd.DataFrame:
    """One row per customer who had ordered before ``cutoff``, with the features as of then."""
    orders = frames["orders"]
    before = orders[orders.placed_at < cutoff]
    customers = frames["customers"].set_index("id")
    table = pd.DataFrame(index=before.customer_id.unique())
    kept = before[before.status != "cancelled"]
    table["frequency"] = before.groupby("customer_id").size()
    table["orders_last_90d"] = before[before.placed_at >= cutoff - HORIZON].groupby("customer_id").size()
    table["monetary_cents"] = kept.groupby("customer_id").total_cents.sum()
    table["recency_days"] = (cutoff - before.groupby("customer_id").placed_at.max()).dt.days
    table["cancellations"] = before[before.status == "cancelled"].groupby("customer_id").size()
    table["tenure_days"] = (cutoff - customers.created_at.reindex(table.index)).dt.days
    returns = frames["returns"]
    table["returns"] = returns[returns.requested_at < cutoff].groupby("customer_id").size()
    tickets = frames["tickets"][frames["tickets"].created_at < cutoff]
    table["tickets"] = tickets.groupby("customer_id").size()
    table["complaints"] = tickets[tickets.reason == "complaint"].groupby("customer_id").size()
    table["negative_conversations"] = (tickets[tickets.reason.isin(NEGATIVE_CONVERSATION_TICKETS)]
                                       .groupby("customer_id").size())
    feedback = frames["feedback"][frames["feedback"].created_at < cutoff]
    table["low_csat"] = feedback[feedback.csat <= 2].groupby("customer_id").size()
    table["avg_csat"] = feedback.groupby("customer_id").csat.mean()
    counts = ["frequency", "orders_last_90d", "monetary_cents", "cancellations", "returns", "tickets",
              "complaints", "negative_conversations", "low_csat"]
    table[counts] = table[counts].fillna(0)
    table["segment"] = customers.segment.reindex(table.index)
    table["rfm_segment"] = rfm_segments_at(table)
    table.index.name = "customer_id"
    return table[FEATURES]


def rfm_segments_at(table: pd.DataFrame) -> pd.Series:
    """The RFM segment (:mod:`crm_store.scoring.segments`) of each customer from the features as of
    the cutoff alone, so no later order leaks in; as text (a category, numbered by value); missing
    when there are too few customers to segment."""
    rfm = pd.DataFrame({"recency_days": table.recency_days, "frequency": table.frequency,
                        "spend": table.monetary_cents / 100}, index=table.index)
    try:
        labels = segments.segment(rfm).labels
    except ValueError:
        return pd.Series(None, index=table.index, dtype=object)
    return labels.map(lambda n: f"rfm{n}").astype(object)


def labels_at(frames: dict[str, pd.DataFrame], cutoff: datetime, customer_ids) -> pd.Series:
    """1 if the customer placed no order in the 90 days after ``cutoff``."""
    orders = frames["orders"]
    active = set(orders[(orders.placed_at >= cutoff) & (orders.placed_at < cutoff + HORIZON)].customer_id)
    return pd.Series([0 if c in active else 1 for c in customer_ids], index=customer_ids, name="churned")


def train_model(url: str, model_dir: Path, as_of: datetime | None = None, folds: int = 5,
                models: tuple[str, ...] = MODELS) -> dict:
    """Choose the model by cross-validation on the training cutoff, check both on the later cutoff,
    refit the chosen one on it, and save model and metrics (which model won, and why) under ``model_dir``.

    The choice sees only the training cutoff, so the hold-out figures stay an honest check of it.
    ``models`` narrows the candidates (one name forces that model).
    """
    import joblib

    as_of = as_of or utcnow()
    with UnitOfWork(url) as uow:
        frames = _frames(uow)
    train_cutoff, check_cutoff = as_of - 2 * HORIZON, as_of - HORIZON
    train_x = features_at(frames, train_cutoff)
    train_y = labels_at(frames, train_cutoff, train_x.index)
    check_x = features_at(frames, check_cutoff)
    check_y = labels_at(frames, check_cutoff, check_x.index)
    if train_y.nunique() < 2 or check_y.nunique() < 2:
        raise ValueError("not enough history to learn churn: need customers who stayed and who left")
    columns = churn.Columns(numeric=[f for f in FEATURES if f not in CATEGORICAL], categorical=CATEGORICAL)
    scores = churn.compare_models(train_x, train_y.to_numpy(), columns, folds, models)
    choice = churn.choose_model(scores)
    with churn.one_thread():
        held_out = {model: churn.metrics(check_y.to_numpy(), churn.build_pipeline(columns, model)
                                         .fit(train_x, train_y).predict_proba(check_x)[:, 1])
                    for model in models}
        final = churn.build_pipeline(columns, choice.model).fit(check_x, check_y)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(final, model_dir / "churn.joblib")
    report = {"trained_at": as_of.isoformat(), "model": choice.model, "choice_reason": choice.reason,
              "train_cutoff": train_cutoff.date().isoformat(), "holdout_cutoff": check_cutoff.date().isoformat(),
              "horizon_days": HORIZON.days, "train_rows": int(len(train_x)),
              "cross_validation": {s.model: s.to_dict() for s in scores},
              "holdout": held_out[choice.model], "holdout_by_model": held_out}
    (model_dir / "churn.metrics.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def score_customers(url: str, model_dir: Path, as_of: datetime | None = None, batch: int = 5000) -> int:
    """Write churn_score, churn_scored_at and churn_reasons for every customer who has ordered."""
    import joblib

    as_of = as_of or utcnow()
    path = model_dir / "churn.joblib"
    if not path.exists():
        raise FileNotFoundError(f"no churn model at {path}; run 'caredesk churn train' first")
    pipeline = joblib.load(path)
    with UnitOfWork(url) as uow:
        table = features_at(_frames(uow), as_of)
        with churn.one_thread():
            scores = pipeline.predict_proba(table)[:, 1]
        reasons = churn.top_reasons(pipeline, table)
        customers = models.Customer.__table__
        statement = (update(customers).where(customers.c.id == bindparam("cid"))
                     .values(churn_score=bindparam("score"), churn_scored_at=bindparam("at"),
                             churn_reasons=bindparam("reasons")))
        rows = [{"cid": int(cid), "score": round(float(s), 4), "at": as_of, "reasons": r}
                for cid, s, r in zip(table.index, np.asarray(scores), reasons, strict=True)]
        for start in range(0, len(rows), batch):
            uow.session.connection().execute(statement, rows[start:start + batch])
        uow.commit()
    return len(rows)
