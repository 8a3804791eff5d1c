"""Churn risk: two calibrated scikit-learn pipelines over plain customer tables, chosen by
cross-validation, a screen for columns that leak the label, and per-customer reasons.

Pure: takes and returns pandas frames and plain values; the CRM queries live in
:mod:`crm_store.services.churn`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs; pinned with sklearn

LOGISTIC = "logistic_regression"
BOOSTING = "gradient_boosting"
MODELS = (LOGISTIC, BOOSTING)
# Why each model is calibrated the way it is (printed with the figures).
CALIBRATION = {
    LOGISTIC: ("sigmoid", "Platt scaling undoes the balanced class weights' shift; a logistic model's scores "
                          "are already sigmoid-shaped, so two parameters suffice"),
    BOOSTING: ("sigmoid", "each calibration fold holds a few hundred to a few thousand customers; isotonic "
                          "regression's free-form steps overfit that little data (sklearn advises it well above "
                          "1,000 rows per fold), and measured it changed Brier by under 0.002 (Online Retail, "
                          "the seeded shop)"),
}
# Mean CV ROC AUCs closer than this are a tie; the lower Brier score then decides, and if that is a
# tie too, logistic regression (the simpler model, with reasons read straight off its coefficients).
AUC_TIE = 0.005
BRIER_TIE = 0.001
# A column that alone separates churned from stayed this well is almost certainly recorded after the fact.
LEAK_AUC = 0.98
# Names that read like an identifier: "id", "customer_id", "id-card", "uuid", "order number", "CustomerID".
ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|guid|key|number)$|^id[_\s.-]", re.IGNORECASE)
CAMEL_ID_NAME = re.compile(r"[a-z](Id|ID|Uuid|UUID)$")
# HistGradientBoosting treats at most this many categories natively (max_bins - 1 for missing).
MAX_CATEGORIES = 254

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

    @property
    def all(self) -> list[str]:
        return self.numeric + self.categorical


@dataclass(frozen=True)
class Leak:
    """A column that should not reach a model: it copies the label or identifies the row."""

    column: str
    kind: str     # "predicts_label" | "id_like"
    detail: str   # e.g. "alone gives ROC AUC 1.000", "unique per row"

    def warning(self) -> str:
        return f"column {self.column!r} looks like a leak ({LEAK_KINDS[self.kind]}: {self.detail})"


LEAK_KINDS = {"predicts_label": "predicts the label by itself", "id_like": "identifies the row"}


@dataclass(frozen=True)
class ModelScore:
    """One model's cross-validated figures: means over the folds (ROC AUC also per fold)."""

    model: str
    roc_auc: float
    roc_auc_std: float
    pr_auc: float
    brier: float
    accuracy: float
    fold_roc_auc: tuple[float, ...]
    calibration: str

    def to_dict(self) -> dict:
        return {"roc_auc": self.roc_auc, "roc_auc_std": self.roc_auc_std, "pr_auc": self.pr_auc,
                "brier": self.brier, "accuracy": self.accuracy, "fold_roc_auc": list(self.fold_roc_auc),
                "calibration": self.calibration}


@dataclass(frozen=True)
class Choice:
    model: str
    reason: str


@dataclass(frozen=True)
class Evaluation:
    """``caredesk churn evaluate``'s answer: both models side by side, the choice, and the leaks."""

    rows: int
    positives: int
    folds: int
    columns: Columns
    scores: tuple[ModelScore, ...]
    choice: Choice
    leaks: tuple[Leak, ...] = ()
    leaks_kept: bool = False
    notes: tuple[str, ...] = field(default=())

    def score(self, model: str) -> ModelScore:
        return next(s for s in self.scores if s.model == model)

    def warnings(self) -> list[str]:
        fate = ("kept in the models (--keep-leaky): the figures below are not to be trusted" if self.leaks_kept
                else "left out of the models")
        return [f"{leak.warning()}; {fate}" for leak in self.leaks] + list(self.notes)

    def to_dict(self) -> dict:
        chosen = self.score(self.choice.model)
        return {
            # The chosen model's figures at the top, as before there were two models.
            "roc_auc": chosen.roc_auc, "pr_auc": chosen.pr_auc, "brier": chosen.brier, "accuracy": chosen.accuracy,
            "rows": self.rows, "positives": self.positives, "folds": self.folds,
            "chosen_model": self.choice.model, "choice_reason": self.choice.reason,
            "models": {s.model: s.to_dict() for s in self.scores},
            "warnings": self.warnings(),
            "leaky_columns": [{"column": leak.column, "kind": leak.kind, "detail": leak.detail} for leak in self.leaks],
            "leaky_columns_kept": self.leaks_kept,
            "numeric_columns": self.columns.numeric, "categorical_columns": self.columns.categorical,
        }


def detect_columns(frame: pd.DataFrame, label: str, id_column: str | None = None) -> Columns:
    """Numeric and categorical feature columns of a table (the label and id left out)."""
    features = [c for c in frame.columns if c not in (label, id_column)]
    numeric = [c for c in features
               if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    categorical = [c for c in features if c not in numeric]
    if not features:
        raise ValueError("the table has no feature columns")
    return Columns(numeric, categorical)


def build_pipeline(columns: Columns, model: str = LOGISTIC, calibration_folds: int = 3) -> Pipeline:
    """The features step and a calibrated model: ``logistic_regression`` or ``gradient_boosting``."""
    if model == LOGISTIC:
        return _logistic_pipeline(columns, calibration_folds)
    if model == BOOSTING:
        return _boosting_pipeline(columns, calibration_folds)
    raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")


def _logistic_pipeline(columns: Columns, calibration_folds: int) -> Pipeline:
    """Impute, scale / one-hot, balanced logistic regression, sigmoid calibration."""
    transformers = []
    if columns.numeric:
        transformers.append(("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                                              ("scale", StandardScaler())]), columns.numeric))
    if columns.categorical:
        transformers.append(("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                              ("onehot", OneHotEncoder(handle_unknown="ignore"))]),
                             columns.categorical))
    model = CalibratedClassifierCV(LogisticRegression(max_iter=2000, class_weight="balanced"),
                                   method=CALIBRATION[LOGISTIC][0], cv=calibration_folds)
    return Pipeline([("features", ColumnTransformer(transformers)), ("model", model)])


def _boosting_pipeline(columns: Columns, calibration_folds: int) -> Pipeline:
    """Numbers as they are (missing values are a branch of their own), categories as codes that the
    booster splits natively; settings fixed beforehand (small steps, early stopping), not tuned per table."""
    transformers: list[tuple] = []
    if columns.numeric:
        transformers.append(("num", "passthrough", columns.numeric))
    if columns.categorical:
        transformers.append(("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
                             columns.categorical))
    categorical = list(range(len(columns.numeric), len(columns.all))) or None
    booster = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=300, max_leaf_nodes=15,
                                             min_samples_leaf=20, l2_regularization=1.0,
                                             categorical_features=categorical, early_stopping=True,
                                             validation_fraction=0.15, n_iter_no_change=20, random_state=7)
    model = CalibratedClassifierCV(booster, method=CALIBRATION[BOOSTING][0], cv=calibration_folds)
    return Pipeline([("features", ColumnTransformer(transformers)), ("model", model)])


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the booster on one OpenMP thread. On customer tables (thousands of rows) thread start-up
    and spin-waiting cost more than they save: one fit took 0.27 s on one thread and 6.3 s on the
    default threads of a busy two-CPU machine."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


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


# --- leak screen -----------------------------------------------------------------------------------

def find_leaks(frame: pd.DataFrame, y: np.ndarray, columns: Columns) -> tuple[Leak, ...]:
    """Columns that identify the row (unique per row, a running integer, named like an id) or that
    alone predict the label almost perfectly (ROC AUC >= 0.98 either way), in table order."""
    leaks = []
    features = set(columns.all)
    for column in [c for c in frame.columns if c in features]:
        leak = _id_like(frame[column], column) or _predicts_label(frame[column], y, column,
                                                                  column in columns.categorical)
        if leak:
            leaks.append(leak)
    return tuple(leaks)


def _id_like(values: pd.Series, column: str) -> Leak | None:
    present = values.dropna()
    # A name alone is not enough: "plan_id" with three values is a category, not the row's identity.
    named_like_id = ID_NAME.search(column.strip()) or CAMEL_ID_NAME.search(column.strip())
    if named_like_id and present.nunique() >= len(values) / 2:
        return Leak(column, "id_like", "named like an identifier, with a value for every other row or more")
    if len(present) < 3 or present.nunique() < len(values):
        return None
    if not pd.api.types.is_numeric_dtype(values):
        return Leak(column, "id_like", "a different value on every row")
    if not np.allclose(present, np.round(present)):
        return None  # a measurement (spend, a ratio) may well differ on every row
    if present.is_monotonic_increasing or present.is_monotonic_decreasing:
        return Leak(column, "id_like", "a different whole number on every row, in running order")
    if present.max() - present.min() + 1 == len(values):
        return Leak(column, "id_like", "the numbers 1..n (row numbers), shuffled")
    return None


def _predicts_label(values: pd.Series, y: np.ndarray, column: str, categorical: bool) -> Leak | None:
    auc = _single_column_auc(values, y, categorical)
    if auc is None or max(auc, 1 - auc) < LEAK_AUC:
        return None
    direction = "" if auc >= 0.5 else " (reversed)"
    return Leak(column, "predicts_label", f"alone gives ROC AUC {max(auc, 1 - auc):.3f}{direction}")


def _single_column_auc(values: pd.Series, y: np.ndarray, categorical: bool) -> float | None:
    """The best ROC AUC of the column alone: its numbers (missing values ranked lowest or highest,
    so a column filled in only for churned customers counts), or for categories their churn rate
    learned on the other folds (so a rare category cannot look perfect by itself)."""
    if categorical:
        return float(roc_auc_score(y, _out_of_fold_rates(values, y)))
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    if numbers.isna().all():
        return None
    candidates = [roc_auc_score(y, numbers.fillna(numbers.min() - 1)),
                  roc_auc_score(y, numbers.fillna(numbers.max() + 1))]
    return float(max(candidates, key=lambda a: abs(a - 0.5)))


def _out_of_fold_rates(values: pd.Series, y: np.ndarray, folds: int = 5) -> np.ndarray:
    keys = values.astype(str).fillna("(missing)").to_numpy()
    rates = np.full(len(y), float(np.mean(y)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=7).split(keys, y):
        learned = pd.Series(y[train]).groupby(keys[train]).mean()
        rates[test] = pd.Series(keys[test]).map(learned).fillna(float(np.mean(y[train]))).to_numpy()
    return rates


# --- model comparison --------------------------------------------------------------------------------

def compare_models(x: pd.DataFrame, y: np.ndarray, columns: Columns, folds: int = 5,
                   models: tuple[str, ...] = MODELS) -> tuple[ModelScore, ...]:
    """Each model fitted and scored on the same stratified folds."""
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=7).split(x, y))
    with one_thread():
        return tuple(_score_model(x, y, columns, model, splits) for model in models)


def _score_model(x: pd.DataFrame, y: np.ndarray, columns: Columns, model: str, splits: list) -> ModelScore:
    per_fold = []
    for train, test in splits:
        pipeline = build_pipeline(columns, model).fit(x.iloc[train], y[train])
        per_fold.append(metrics(y[test], pipeline.predict_proba(x.iloc[test])[:, 1]))
    aucs = tuple(f["roc_auc"] for f in per_fold)

    def mean(key: str) -> float:
        return round(float(np.mean([f[key] for f in per_fold])), 4)

    method, why = CALIBRATION[model]
    return ModelScore(model, mean("roc_auc"), round(float(np.std(aucs)), 4), mean("pr_auc"), mean("brier"),
                      mean("accuracy"), aucs, f"{method}: {why}")


def choose_model(scores: tuple[ModelScore, ...]) -> Choice:
    """Higher mean CV ROC AUC wins; within AUC_TIE the lower Brier; within BRIER_TIE logistic regression."""
    if len(scores) == 1:
        return Choice(scores[0].model, "the only model asked for")
    ranked = sorted(scores, key=lambda s: -s.roc_auc)
    best, other = ranked[0], ranked[1]
    gap = best.roc_auc - other.roc_auc
    if gap >= AUC_TIE:
        return Choice(best.model, f"higher mean CV ROC AUC ({best.roc_auc:.3f} vs {other.roc_auc:.3f})")
    by_brier = sorted(scores, key=lambda s: s.brier)
    if by_brier[1].brier - by_brier[0].brier >= BRIER_TIE:
        return Choice(by_brier[0].model, f"ROC AUC tied within {AUC_TIE} ({gap:.3f} apart); lower Brier "
                                         f"({by_brier[0].brier:.3f} vs {by_brier[1].brier:.3f})")
    return Choice(LOGISTIC, f"ROC AUC and Brier tied ({gap:.3f} and {by_brier[1].brier - by_brier[0].brier:.4f} "
                            "apart); the simpler model")


def cross_validate(frame: pd.DataFrame, label: str, id_column: str | None = None, folds: int = 5,
                   keep_leaky: bool = False) -> Evaluation:
    """Screen the columns for leaks, then cross-validate both models on the same folds and choose."""
    if label not in frame.columns:
        raise ValueError(f"no label column {label!r}")
    if id_column and id_column not in frame.columns:
        raise ValueError(f"no id column {id_column!r}")
    y = to_binary(frame[label])
    if len(set(y)) < 2:
        raise ValueError("the label has only one class")
    columns = detect_columns(frame, label, id_column)
    leaks = find_leaks(frame, y, columns)
    used = columns if keep_leaky else _without(columns, {leak.column for leak in leaks})
    used, notes = _without_wide_categories(frame, used)
    if not used.all:
        raise ValueError("no feature column is left once the leaky columns are left out "
                         f"({', '.join(leak.column for leak in leaks)}); --keep-leaky keeps them")
    scores = compare_models(frame[used.all], y, used, folds)
    return Evaluation(int(len(y)), int(y.sum()), folds, used, scores, choose_model(scores), leaks,
                      keep_leaky and bool(leaks), notes)


def _without(columns: Columns, dropped: set[str]) -> Columns:
    return Columns([c for c in columns.numeric if c not in dropped],
                   [c for c in columns.categorical if c not in dropped])


def _without_wide_categories(frame: pd.DataFrame, columns: Columns) -> tuple[Columns, tuple[str, ...]]:
    """Categorical columns with more values than the booster can split on are left out (and said so)."""
    wide = {c for c in columns.categorical if frame[c].nunique() > MAX_CATEGORIES}
    notes = tuple(f"column {c!r} has more than {MAX_CATEGORIES} categories; left out of the models"
                  for c in sorted(wide))
    return _without(columns, wide), notes


# --- reasons -----------------------------------------------------------------------------------------

def model_name(pipeline: Pipeline) -> str:
    """Which of the two models a fitted pipeline holds."""
    calibrated: CalibratedClassifierCV = pipeline.named_steps["model"]
    inner = calibrated.calibrated_classifiers_[0].base_estimator
    return LOGISTIC if isinstance(inner, LogisticRegression) else BOOSTING


def top_reasons(pipeline: Pipeline, frame: pd.DataFrame, limit: int = 3) -> list[list[str]]:
    """For each row, the features pushing its churn risk up most: coefficient × scaled value for
    logistic regression, and for gradient boosting how far the score falls when that one feature is
    set to the population's median (most common value for categories)."""
    if model_name(pipeline) == LOGISTIC:
        return _coefficient_reasons(pipeline, frame, limit)
    with one_thread():
        return _median_swap_reasons(pipeline, frame, limit)


def _coefficient_reasons(pipeline: Pipeline, frame: pd.DataFrame, limit: int) -> list[list[str]]:
    features: ColumnTransformer = pipeline.named_steps["features"]
    model: CalibratedClassifierCV = pipeline.named_steps["model"]
    coefficients = np.mean([c.base_estimator.coef_[0] for c in model.calibrated_classifiers_], axis=0)
    transformed = features.transform(frame)
    transformed = transformed.toarray() if hasattr(transformed, "toarray") else np.asarray(transformed)
    names = [name.split("__", 1)[-1] for name in features.get_feature_names_out()]
    return _reasons_from(coefficients * transformed, names, frame, limit, threshold=0.0)


# A feature must move the probability by at least this much to count as a reason.
MIN_SCORE_SHIFT = 0.01


def _median_swap_reasons(pipeline: Pipeline, frame: pd.DataFrame, limit: int) -> list[list[str]]:
    """A feature's push is the mean of two swaps against the typical customer (medians, most common
    categories): how far the score falls when only it is set to typical, and how far a typical
    customer's score rises when only it takes the row's value. Removal alone misses two reasons that
    each suffice (a long silence *and* three complaints); addition alone misses two that count only
    together; the mean is the Shapley value for two features. Two predictions over the table per
    feature (26 for the CRM), so it stays fast."""
    features: ColumnTransformer = pipeline.named_steps["features"]
    columns = [c for name, _, cols in features.transformers_ if name != "remainder" for c in cols]
    typical = {column: _typical(frame[column]) for column in columns}
    typical_frame = frame[columns].assign(**typical)
    base = pipeline.predict_proba(frame)[:, 1]
    baseline = pipeline.predict_proba(typical_frame.iloc[:1])[0, 1]
    shifts = np.zeros((len(frame), len(columns)))
    for j, column in enumerate(columns):
        removed = base - pipeline.predict_proba(frame.assign(**{column: typical[column]}))[:, 1]
        added = pipeline.predict_proba(typical_frame.assign(**{column: frame[column]}))[:, 1] - baseline
        shifts[:, j] = (removed + added) / 2
    return _reasons_from(shifts, columns, frame, limit, threshold=MIN_SCORE_SHIFT)


def _typical(values: pd.Series):
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.median()
    mode = values.mode()
    return mode.iloc[0] if len(mode) else np.nan


def _reasons_from(contributions: np.ndarray, names: list[str], frame: pd.DataFrame, limit: int,
                  threshold: float) -> list[list[str]]:
    reasons = []
    for row_index, row in enumerate(contributions):
        order = np.argsort(row)[::-1][:limit]
        reasons.append([_reason(names[i], frame.iloc[row_index]) for i in order if row[i] > threshold])
    return reasons


def _reason(column: str, row: pd.Series) -> str:
    template = REASON_TEXT.get(column)
    if template is None or column not in row:
        if column in row and pd.notna(row[column]) and not isinstance(row[column], (int, float, np.number)):
            return f"{column.replace('_', ' ')} {row[column]}"
        return column.replace("_", " ")
    value = float(row[column]) if pd.notna(row[column]) else 0.0
    return template.format(value=value, value_eur=value / 100)
