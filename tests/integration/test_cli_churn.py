"""`caredesk churn evaluate` on a CSV: both models, the choice, and the leak warning; `churn train --model`."""

import json

import numpy as np
import pandas as pd
import pytest

from caredesk.cli import main
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from tests.conftest import AS_OF


def _customers_csv(tmp_path, **extra) -> str:
    rng = np.random.default_rng(1)
    recency = rng.integers(1, 365, 300)
    frame = pd.DataFrame({"customer": [f"C{i:04d}" for i in range(300)], "recency": recency,
                          "plan": rng.choice(["a", "b"], 300),
                          "left": np.where(recency + rng.normal(0, 50, 300) > 180, "yes", "no")})
    for name, make in extra.items():
        frame[name] = make(frame)
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_evaluate_prints_both_models_and_the_choice(tmp_path, capsys):
    assert main(["churn", "evaluate", "--csv", _customers_csv(tmp_path), "--label", "left", "--folds", "3"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert set(report["models"]) == {"logistic_regression", "gradient_boosting"}
    for figures in report["models"].values():
        assert {"roc_auc", "pr_auc", "brier"} <= set(figures) and figures["roc_auc"] > 0.8
    assert report["chosen_model"] in report["models"] and report["choice_reason"]
    # The text customer reference is unique per row: named, left out, and said so on stderr.
    assert [c["column"] for c in report["leaky_columns"]] == ["customer"]
    assert "warning: column 'customer'" in captured.err and "left out of the models" in captured.err


def test_evaluate_warns_about_a_label_copy_instead_of_reporting_an_auc_of_one(tmp_path, capsys):
    path = _customers_csv(tmp_path, account_closed=lambda f: (f.left == "yes").astype(int))
    assert main(["churn", "evaluate", "--csv", path, "--label", "left", "--id", "customer", "--folds", "3"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["leaky_columns"] == [{"column": "account_closed", "kind": "predicts_label",
                                        "detail": "alone gives ROC AUC 1.000"}]
    assert "account_closed" not in report["numeric_columns"]
    assert all(figures["roc_auc"] < 0.99 for figures in report["models"].values())
    assert "warning: column 'account_closed' looks like a leak" in captured.err


def test_keep_leaky_keeps_the_column_and_says_the_figures_cannot_be_trusted(tmp_path, capsys):
    path = _customers_csv(tmp_path, account_closed=lambda f: (f.left == "yes").astype(int))
    assert main(["churn", "evaluate", "--csv", path, "--label", "left", "--id", "customer", "--folds", "3",
                 "--keep-leaky"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["leaky_columns_kept"] and "account_closed" in report["numeric_columns"]
    assert report["roc_auc"] > 0.99 and "not to be trusted" in captured.err


@pytest.fixture(scope="module")
def shop_settings(tmp_path_factory):
    var = tmp_path_factory.mktemp("churn_cli")
    url = f"sqlite:///{var / 'crm.db'}"
    upgrade(url)
    seed_shop(url, customers=400, seed=5, as_of=AS_OF)
    return var, url


@pytest.mark.parametrize("model", ["gradient_boosting", "auto"])
def test_train_records_the_model_and_score_works_for_it(shop_settings, model, monkeypatch, capsys):
    var, url = shop_settings
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(var))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CAREDESK_MODELS_DIR", str(var / model))
    from common.settings import get_settings
    get_settings.cache_clear()
    try:
        assert main(["churn", "train", "--as-of", AS_OF.strftime("%Y-%m-%d"), "--model", model]) == 0
        report = json.loads(capsys.readouterr().out)
        assert main(["churn", "score", "--as-of", AS_OF.strftime("%Y-%m-%d")]) == 0
        assert "Scored" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    stored = json.loads((var / model / "churn.metrics.json").read_text())
    assert stored["model"] == report["model"] and stored["choice_reason"]
    assert set(stored["cross_validation"]) == ({"gradient_boosting"} if model != "auto"
                                               else {"logistic_regression", "gradient_boosting"})
    if model != "auto":
        assert stored["model"] == model
