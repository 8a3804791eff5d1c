"""The evaluate commands read any CSV and print JSON; bad input is a clear error (exit 2)."""

import json

import numpy as np
import pandas as pd

from caredesk.cli import main


def test_sentiment_evaluate_prints_both_scorers(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    path = tmp_path / "s.csv"
    path.write_text("message,mood\nthanks so much this was great,positive\nwhere is my order,neutral\n"
                    "still not arrived this is ridiculous,negative\n")
    assert main(["sentiment", "evaluate", "--csv", str(path), "--text-col", "message", "--label-col", "mood"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["labels"] == ["negative", "neutral", "positive"]
    assert report["caredesk"]["accuracy"] == 1.0 and "plain_vader" in report
    assert set(report["caredesk"]["per_class"]["negative"]) == {"precision", "recall", "f1", "support"}


def test_sentiment_evaluate_refuses_unknown_labels(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,happy\n")
    assert main(["sentiment", "evaluate", "--csv", str(path)]) == 2
    assert "labels must be" in capsys.readouterr().err


def test_churn_evaluate_prints_the_cross_validated_figures(tmp_path, capsys):
    rng = np.random.default_rng(1)
    recency = rng.integers(1, 365, 300)
    frame = pd.DataFrame({"id": range(300), "recency": recency, "plan": rng.choice(["a", "b"], 300),
                          "left": np.where(recency + rng.normal(0, 50, 300) > 180, "yes", "no")})
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    assert main(["churn", "evaluate", "--csv", str(path), "--label", "left", "--id", "id", "--folds", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"roc_auc", "pr_auc", "brier", "accuracy", "rows", "positives"} <= set(report)
    assert report["rows"] == 300 and report["roc_auc"] > 0.8


def test_churn_evaluate_names_a_missing_column(tmp_path, capsys):
    path = tmp_path / "c.csv"
    path.write_text("a,b\n1,2\n")
    assert main(["churn", "evaluate", "--csv", str(path), "--label", "churned"]) == 2
    assert "no label column 'churned'" in capsys.readouterr().err
