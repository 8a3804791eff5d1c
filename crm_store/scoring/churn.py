"""Churn risk: a calibrated scikit-learn pipeline over plain customer tables, and its reasons.

Pure: takes and returns pandas frames and plain values; the CRM queries live in
:mod:`crm_store.services.churn`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

# How each CRM feature reads as a reason, given its value.
REASON_TEXT = {
    "recency_days": "no order for {value:.0f} days",
    "frequency": "{value:.0f} orders in all",
    "orders_last_90d": "{value:.0f} orders in the last 90 days",
    "monetary_cents": "lifetime spend €{value_eur:.0f}",
    "tenure_days": "customer for {value:.0f} days",
    "returns": "{value:.0f} returns",
    "cancellations": "{value:.0f} cancelled orders",
    "complaints": "{value:.0f} complaints",
    "tickets": "{value:.0f} support tickets",
    "negative_conversations": "{value:.0f} negative conversations",
    "avg_csat": "average satisfaction {value:.1f}/5",
    "low_csat": "{value:.0f} low satisfaction scores",
}


@dataclass(frozen=True)
class Columns:
    numeric: list[str]
    categorical: list[str]


def detect_columns(frame: pd.DataFrame, label: str, id_column: str | None = None) -> Columns:
    """Numeric and categorical feature columns of a table (the label and id left out)."""
    features = [c for c in frame.columns if c not in (label, id_column)]
    numeric = [c for c in features
               if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    categorical = [c for c in features if c not in numeric]
    if not features:
        raise ValueError("the table has no feature columns")
    return Columns(numeric, categorical)


def build_pipeline(columns: Columns, calibration_folds: int = 3) -> Pipeline:
    """Impute, scale / one-hot, logistic regression, isotonic-free (sigmoid) calibration."""
    transformers = []
    if columns.numeric:
        transformers.append(("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                                              ("scale", StandardScaler())]), columns.numeric))
    if columns.categorical:
        transformers.append(("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                              ("onehot", OneHotEncoder(handle_unknown="ignore"))]),
                             columns.categorical))
    model = CalibratedClassifierCV(LogisticRegression(max_iter=2000, class_weight="balanced"),
                                   method="sigmoid", cv=calibration_folds)
    return Pipeline([("features", ColumnTransformer(transformers)), ("model", model)])


def metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    labels = np.asarray(labels).astype(int)
    return {
        "roc_auc": round(float(roc_auc_score(labels, probabilities)), 4),
        "pr_auc": round(float(average_precision_score(labels, probabilities)), 4),
        "brier": round(float(brier_score_loss(labels, probabilities)), 4),
        "accuracy": round(float(accuracy_score(labels, probabilities >= 0.5)), 4),
        "rows": int(len(labels)),
        "positives": int(labels.sum()),
    }


def to_binary(values: pd.Series) -> np.ndarray:
    """A label column as 0/1: numbers, booleans, or yes/no, true/false, churned/active words."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values.astype(int).to_numpy()
    words = values.astype(str).str.strip().str.lower()
    positive = words.isin(["1", "yes", "true", "churn", "churned", "y"])
    negative = words.isin(["0", "no", "false", "active", "retained", "stayed", "n"])
    if not (positive | negative).all():
        raise ValueError("the label column must hold 0/1, true/false or yes/no")
    return positive.astype(int).to_numpy()


def cross_validate(frame: pd.DataFrame, label: str, id_column: str | None = None, folds: int = 5) -> dict:
    """Out-of-fold probabilities from the same pipeline; ROC AUC, PR AUC, Brier, accuracy."""
    if label not in frame.columns:
        raise ValueError(f"no label column {label!r}")
    if id_column and id_column not in frame.columns:
        raise ValueError(f"no id column {id_column!r}")
    y = to_binary(frame[label])
    if len(set(y)) < 2:
        raise ValueError("the label has only one class")
    columns = detect_columns(frame, label, id_column)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    probabilities = cross_val_predict(build_pipeline(columns), frame[columns.numeric + columns.categorical], y,
                                      cv=splitter, method="predict_proba")[:, 1]
    return {**metrics(y, probabilities), "folds": folds, "numeric_columns": columns.numeric,
            "categorical_columns": columns.categorical}


def top_reasons(pipeline: Pipeline, frame: pd.DataFrame, limit: int = 3) -> list[list[str]]:
    """For each row, the features pushing its churn risk up most (coefficient × scaled value)."""
    features: ColumnTransformer = pipeline.named_steps["features"]
    model: CalibratedClassifierCV = pipeline.named_steps["model"]
    coefficients = np.mean([c.base_estimator.coef_[0] for c in model.calibrated_classifiers_], axis=0)
    transformed = features.transform(frame)
    transformed = transformed.toarray() if hasattr(transformed, "toarray") else np.asarray(transformed)
    names = list(features.get_feature_names_out())
    reasons = []
    for row_index, row in enumerate(transformed):
        contributions = coefficients * row
        order = np.argsort(contributions)[::-1]
        row_reasons = []
        for i in order[:limit]:
            if contributions[i] <= 0:
                break
            column = names[i].split("__", 1)[-1]
            row_reasons.append(_reason(column, frame.iloc[row_index]))
        reasons.append(row_reasons)
    return reasons


def _reason(column: str, row: pd.Series) -> str:
    template = REASON_TEXT.get(column)
    if template is None or column not in row:
        return column.replace("_", " ")
    value = float(row[column]) if pd.notna(row[column]) else 0.0
    return template.format(value=value, value_eur=value / 100)
