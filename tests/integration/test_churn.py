"""Churn model trained on a seeded shop's own history (SQLite)."""

import json
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from crm_store import models
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import churn
from crm_store.unit_of_work import UnitOfWork
from tests.conftest import AS_OF


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('churn') / 'crm.db'}"
    upgrade(url)
    seed_shop(url, customers=600, seed=11, as_of=AS_OF)
    return url


def test_features_use_only_history_before_the_cutoff(shop):
    with UnitOfWork(shop) as uow:
        frames = churn._frames(uow)
    cutoff = AS_OF - timedelta(days=200)
    table = churn.features_at(frames, cutoff)
    orders = frames["orders"]
    assert table["frequency"].sum() == (orders.placed_at < cutoff).sum()
    assert (table["recency_days"] >= 0).all()
    labels = churn.labels_at(frames, cutoff, table.index)
    assert set(labels.unique()) == {0, 1}


def test_rfm_segments_are_a_feature_computed_from_the_cutoff_alone(shop):
    with UnitOfWork(shop) as uow:
        frames = churn._frames(uow)
    cutoff = AS_OF - timedelta(days=200)
    table = churn.features_at(frames, cutoff)
    assert table["rfm_segment"].notna().all() and table["rfm_segment"].nunique() >= 2
    # Orders placed after the cutoff (here: a copy of every later order, doubled) change nothing.
    orders = frames["orders"]
    later = orders[orders.placed_at >= cutoff]
    busier = {**frames, "orders": pd.concat([orders, later], ignore_index=True)}
    assert churn.features_at(busier, cutoff)["rfm_segment"].equals(table["rfm_segment"])
    # The most valuable segment (rfm1) orders more often than the least valuable, as of the cutoff.
    by_segment = table.groupby("rfm_segment").frequency.median()
    assert by_segment["rfm1"] > by_segment[by_segment.index.max()]


def test_training_beats_chance_on_the_later_hold_out_and_saves_the_model(shop, tmp_path):
    report = churn.train_model(shop, tmp_path, as_of=AS_OF)
    assert report["holdout"]["roc_auc"] > 0.7
    assert (tmp_path / "churn.joblib").exists()
    assert json.loads((tmp_path / "churn.metrics.json").read_text())["holdout"] == report["holdout"]


def test_scoring_writes_a_score_and_reasons_to_every_customer_who_ordered(shop, tmp_path):
    churn.train_model(shop, tmp_path, as_of=AS_OF)
    scored = churn.score_customers(shop, tmp_path, as_of=AS_OF)
    with UnitOfWork(shop) as uow:
        rows = uow.session.execute(select(models.Customer.churn_score, models.Customer.churn_reasons)
                                   .where(models.Customer.churn_score.is_not(None))).all()
    assert len(rows) == scored > 500
    assert all(0.0 <= score <= 1.0 for score, _ in rows)
    risky = max(rows, key=lambda r: r[0])
    assert risky[1] and isinstance(risky[1][0], str)


def test_scoring_without_a_model_says_what_to_do(shop, tmp_path):
    with pytest.raises(FileNotFoundError, match="caredesk churn train"):
        churn.score_customers(shop, tmp_path / "empty")


def test_training_chooses_by_cross_validation_and_records_the_winner(shop, tmp_path):
    report = churn.train_model(shop, tmp_path, as_of=AS_OF)
    stored = json.loads((tmp_path / "churn.metrics.json").read_text())
    assert stored["model"] in ("logistic_regression", "gradient_boosting") and stored["choice_reason"]
    cv = stored["cross_validation"]
    assert set(cv) == set(report["holdout_by_model"]) == {"logistic_regression", "gradient_boosting"}
    winner = max(cv, key=lambda m: cv[m]["roc_auc"])
    if abs(cv["logistic_regression"]["roc_auc"] - cv["gradient_boosting"]["roc_auc"]) >= 0.005:
        assert stored["model"] == winner
    assert stored["holdout"] == stored["holdout_by_model"][stored["model"]]


def test_a_boosted_model_scores_every_customer_with_reasons(shop, tmp_path):
    report = churn.train_model(shop, tmp_path, as_of=AS_OF, models=("gradient_boosting",))
    assert report["model"] == "gradient_boosting" and report["holdout"]["roc_auc"] > 0.65
    scored = churn.score_customers(shop, tmp_path, as_of=AS_OF)
    with UnitOfWork(shop) as uow:
        rows = uow.session.execute(select(models.Customer.churn_score, models.Customer.churn_reasons)
                                   .where(models.Customer.churn_score.is_not(None))).all()
    assert len(rows) == scored
    risky = sorted(rows, key=lambda r: r[0], reverse=True)[:20]
    assert all(reasons and all(isinstance(r, str) for r in reasons) for _, reasons in risky)
