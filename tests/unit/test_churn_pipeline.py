"""The churn pipeline over plain tables: leak screen, both models side by side, the choice, reasons."""

import numpy as np
import pandas as pd
import pytest

from crm_store.scoring import churn
from crm_store.scoring.churn import (
    BOOSTING,
    LOGISTIC,
    ModelScore,
    build_pipeline,
    choose_model,
    cross_validate,
    detect_columns,
    find_leaks,
    to_binary,
    top_reasons,
)


def _table(rows=400, seed=3):
    """Churn follows recency (a straight line): logistic regression's home ground."""
    rng = np.random.default_rng(seed)
    recency = rng.integers(1, 400, rows)
    country = rng.choice(["UK", "FR", "DE"], rows)
    churned = (recency + rng.normal(0, 60, rows) > 200).astype(int)
    return pd.DataFrame({"customer": range(rows), "recency": recency, "country": country,
                         "orders": rng.integers(1, 30, rows), "churned": churned})


def _interaction_table(rows=1200, seed=5):
    """Churn when exactly one of two things holds (an XOR): no straight line separates it."""
    rng = np.random.default_rng(seed)
    discount = rng.uniform(-1, 1, rows)
    delay = rng.uniform(-1, 1, rows)
    noise = rng.uniform(-1, 1, rows)
    churned = ((discount > 0) ^ (delay > 0)).astype(int)
    flipped = rng.random(rows) < 0.1
    return pd.DataFrame({"discount": discount, "delay": delay, "noise": noise,
                         "churned": np.where(flipped, 1 - churned, churned)})


def _score(model, roc_auc, brier):
    return ModelScore(model, roc_auc, 0.01, 0.5, brier, 0.7, (roc_auc,), "sigmoid")


def test_columns_are_detected_and_the_id_left_out():
    columns = detect_columns(_table(), "churned", "customer")
    assert columns.numeric == ["recency", "orders"] and columns.categorical == ["country"]


def test_both_models_are_reported_side_by_side_with_every_figure():
    evaluation = cross_validate(_table(), "churned", "customer", folds=5)
    report = evaluation.to_dict()
    assert set(report["models"]) == {LOGISTIC, BOOSTING}
    for figures in report["models"].values():
        assert figures["roc_auc"] > 0.8 and 0 < figures["brier"] < 0.25 and 0 < figures["pr_auc"] <= 1
        assert len(figures["fold_roc_auc"]) == 5 and figures["calibration"].startswith("sigmoid")
    assert report["chosen_model"] in (LOGISTIC, BOOSTING) and report["choice_reason"]
    assert report["roc_auc"] == report["models"][report["chosen_model"]]["roc_auc"]
    assert report["rows"] == 400 and report["positives"] > 0 and report["folds"] == 5
    assert report["warnings"] == [] and report["leaky_columns"] == []


def test_gradient_boosting_is_chosen_when_churn_follows_an_interaction():
    evaluation = cross_validate(_interaction_table(), "churned", folds=5)
    assert evaluation.score(BOOSTING).roc_auc > 0.85 > 0.65 > evaluation.score(LOGISTIC).roc_auc
    assert evaluation.choice.model == BOOSTING
    assert "higher mean CV ROC AUC" in evaluation.choice.reason


def test_logistic_regression_is_chosen_when_it_is_as_good():
    evaluation = cross_validate(_table(rows=800), "churned", "customer", folds=5)
    assert evaluation.score(LOGISTIC).roc_auc >= evaluation.score(BOOSTING).roc_auc - churn.AUC_TIE
    assert evaluation.choice.model == LOGISTIC


def test_the_choice_follows_the_higher_auc_then_the_lower_brier_then_the_simpler_model():
    assert choose_model((_score(LOGISTIC, 0.70, 0.20), _score(BOOSTING, 0.75, 0.22))).model == BOOSTING
    assert choose_model((_score(LOGISTIC, 0.75, 0.20), _score(BOOSTING, 0.70, 0.18))).model == LOGISTIC
    tie_on_auc = choose_model((_score(LOGISTIC, 0.750, 0.21), _score(BOOSTING, 0.752, 0.19)))
    assert tie_on_auc.model == BOOSTING and "lower Brier" in tie_on_auc.reason
    assert choose_model((_score(LOGISTIC, 0.750, 0.2100), _score(BOOSTING, 0.752, 0.2095))).model == LOGISTIC


def test_a_column_copying_the_label_is_named_and_left_out_instead_of_an_auc_of_one():
    table = _table().assign(status=lambda t: np.where(t.churned == 1, "closed", "open"),
                            days_to_renewal=lambda t: np.where(t.churned == 1, 0, 30) + t.orders % 3)
    evaluation = cross_validate(table, "churned", "customer", folds=5)
    assert [leak.column for leak in evaluation.leaks] == ["status", "days_to_renewal"]
    assert all(leak.kind == "predicts_label" and "ROC AUC 1.000" in leak.detail for leak in evaluation.leaks)
    assert "status" not in evaluation.columns.all and "days_to_renewal" not in evaluation.columns.all
    assert evaluation.scores == cross_validate(_table(), "churned", "customer", folds=5).scores
    warnings = evaluation.warnings()
    assert len(warnings) == 2 and "'status'" in warnings[0] and "left out of the models" in warnings[0]


def test_a_column_filled_in_only_for_churned_customers_is_a_leak():
    table = _table().assign(closed_on=lambda t: np.where(t.churned == 1, t.recency * 2.5, np.nan))
    leaks = find_leaks(table, table.churned.to_numpy(), detect_columns(table, "churned", "customer"))
    assert [(leak.column, leak.kind) for leak in leaks] == [("closed_on", "predicts_label")]


@pytest.mark.parametrize("column,values", [
    ("row", lambda n, rng: np.arange(n)),                              # a running integer
    ("ref", lambda n, rng: [f"C{i:05d}" for i in rng.permutation(n)]),  # unique text on every row
    ("line", lambda n, rng: rng.permutation(n) + 1),                   # row numbers, shuffled
    ("customer_id", lambda n, rng: rng.integers(0, 10 * n, n)),        # named like an id, mostly distinct
    ("AccountID", lambda n, rng: rng.integers(0, 10 * n, n)),
])
def test_an_id_like_column_is_named_and_left_out(column, values):
    table = _table().drop(columns="customer")
    table[column] = values(len(table), np.random.default_rng(0))
    evaluation = cross_validate(table, "churned", folds=3)
    assert [(leak.column, leak.kind) for leak in evaluation.leaks] == [(column, "id_like")]
    assert column not in evaluation.columns.all
    assert f"{column!r}" in evaluation.warnings()[0] and "identifies the row" in evaluation.warnings()[0]


def test_ordinary_columns_are_not_mistaken_for_ids_or_leaks():
    rng = np.random.default_rng(2)
    table = _table().drop(columns="customer").assign(spend=rng.gamma(2, 50, 400),   # differs on every row
                                                     plan_id=rng.choice([1, 2, 3], 400),  # a category
                                                     paid=rng.integers(0, 2, 400))
    assert find_leaks(table, table.churned.to_numpy(), detect_columns(table, "churned")) == ()


def test_keep_leaky_keeps_the_columns_in_the_models_and_says_so():
    table = _table().assign(status=lambda t: np.where(t.churned == 1, "closed", "open"))
    evaluation = cross_validate(table, "churned", "customer", folds=3, keep_leaky=True)
    assert "status" in evaluation.columns.categorical and evaluation.leaks_kept
    assert evaluation.score(LOGISTIC).roc_auc > 0.99
    assert "kept in the models" in evaluation.warnings()[0] and evaluation.to_dict()["leaky_columns_kept"]


def test_a_table_of_nothing_but_leaks_is_a_clear_error():
    table = _table()[["customer", "churned"]].assign(copy=lambda t: t.churned)
    with pytest.raises(ValueError, match="no feature column is left.*copy"):
        cross_validate(table, "churned", "customer")


@pytest.mark.parametrize("model", [LOGISTIC, BOOSTING])
def test_reasons_name_the_features_that_raise_the_risk_for_either_model(model):
    table = _table(rows=600)
    columns = detect_columns(table, "churned", "customer")
    with churn.one_thread():
        pipeline = build_pipeline(columns, model).fit(table[columns.all], table.churned)
    assert churn.model_name(pipeline) == model
    reasons = top_reasons(pipeline, table[columns.all])
    riskiest = int(np.argmax(pipeline.predict_proba(table[columns.all])[:, 1]))
    assert len(reasons) == 600 and "recency" in reasons[riskiest]
    assert all(len(r) <= 3 for r in reasons)


def test_boosting_reasons_over_crm_features_read_as_sentences():
    rng = np.random.default_rng(4)
    table = pd.DataFrame({"recency_days": rng.integers(1, 400, 500), "complaints": rng.integers(0, 4, 500),
                          "segment": rng.choice(["new", "vip"], 500)})
    churned = ((table.recency_days > 250) | (table.complaints >= 3)).astype(int)
    columns = churn.Columns(["recency_days", "complaints"], ["segment"])
    with churn.one_thread():
        pipeline = build_pipeline(columns, BOOSTING).fit(table, churned)
    row = table.index[(table.recency_days > 300) & (table.complaints == 3)][0]
    reasons = top_reasons(pipeline, table)[row]
    assert f"no order for {table.recency_days[row]} days" in reasons and "3 complaints" in reasons


def test_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model"):
        build_pipeline(churn.Columns(["a"], []), "random_forest")


@pytest.mark.parametrize("values,expected", [([1, 0], [1, 0]), (["yes", "no"], [1, 0]), ([True, False], [1, 0])])
def test_labels_may_be_numbers_words_or_booleans(values, expected):
    assert list(to_binary(pd.Series(values))) == expected


def test_bad_tables_are_clear_errors():
    with pytest.raises(ValueError, match="label column"):
        cross_validate(_table(), "missing")
    with pytest.raises(ValueError, match="one class"):
        cross_validate(_table().assign(churned=1), "churned", "customer")
