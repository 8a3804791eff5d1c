"""Evaluate the sentiment scorer, and plain VADER beside it, on a labelled CSV."""

from __future__ import annotations

import csv
import functools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.nlu import sentiment_scorer
from caredesk.evaluation import classification_report

LABELS = ("negative", "neutral", "positive")


def _timed(scorer, texts: list[str]) -> tuple[list[str], float]:
    started = time.perf_counter()
    labels = [scorer(text).label for text in texts]
    return labels, (time.perf_counter() - started) * 1000 / max(len(texts), 1)


def evaluate_csv(path: str, text_col: str = "text", label_col: str = "label") -> dict:
    """Accuracy, macro-F1 and per-class figures for our scorer and plain VADER.

    Labels are negative / neutral / positive; a file without neutral rows is scored as binary,
    where a neutral prediction counts as wrong. Raises ValueError on a malformed file.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except csv.Error as exc:  # a NUL byte, a field past the csv module's limit
        raise ValueError(f"not a readable CSV table: {exc}") from None
    if not rows or text_col not in rows[0] or label_col not in rows[0]:
        raise ValueError(f"needs the columns {text_col!r} and {label_col!r}")
    short = [number for number, row in enumerate(rows, 2) if row[text_col] is None or row[label_col] is None]
    if short:
        raise ValueError(f"row {short[0]} has no {text_col!r} or {label_col!r} value (a short row)")
    gold = [row[label_col].strip().lower() for row in rows]
    unknown = sorted(set(gold) - set(LABELS))
    if unknown:
        raise ValueError(f"labels must be negative, neutral or positive; found {unknown}")
    labels = list(LABELS) if "neutral" in gold else ["negative", "positive"]
    texts = [row[text_col] for row in rows]
    sentiment_scorer.score("warm up")  # load the lexicon outside the timing
    ours, ours_ms = _timed(sentiment_scorer.score, texts)
    plain, plain_ms = _timed(sentiment_scorer.plain_vader, texts)
    return {
        "file": str(path), "rows": len(rows), "labels": labels,
        "caredesk": {**classification_report(gold, ours, labels), "ms_per_message": round(ours_ms, 4)},
        "plain_vader": {**classification_report(gold, plain, labels), "ms_per_message": round(plain_ms, 4)},
    }


# --- The learned layer: training and the leave-one-set-out protocol --------------------------------

C_GRID = (0.1, 0.3, 1.0, 3.0)
MIN_DOCUMENTS = 2  # a term must occur in this many training messages to get a weight


@dataclass(frozen=True)
class ReviewSet:
    name: str
    texts: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Figures:
    """One scorer on one labelled set."""

    accuracy: float
    macro_f1: float
    negative_recall: float
    ms_per_message: float


@dataclass(frozen=True)
class HeldOut:
    """One leg of the protocol: models trained on ``trained_on``, measured on ``name``."""

    name: str
    trained_on: tuple[str, ...]
    c: float
    plain_vader: Figures
    lexicon: Figures
    learned: Figures

    @property
    def learned_wins(self) -> bool:
        return (self.learned.macro_f1 > self.lexicon.macro_f1
                and self.learned.negative_recall > self.lexicon.negative_recall)


def read_set(path: str | Path) -> ReviewSet:
    """A ``text,label`` CSV (labels negative / neutral / positive)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = tuple(row["label"].strip().lower() for row in rows)
    unknown = sorted(set(labels) - set(LABELS))
    if unknown:
        raise ValueError(f"{path}: labels must be negative, neutral or positive; found {unknown}")
    return ReviewSet(Path(path).stem, tuple(row["text"] for row in rows), labels)


def _matrix(evidence: Sequence[sentiment_scorer.Evidence], vocabulary: dict[str, int]):
    from scipy import sparse  # type: ignore[import-untyped]

    width = len(sentiment_scorer.DENSE_FEATURES)
    rows, cols, values = [], [], []
    for i, item in enumerate(evidence):
        for j, value in enumerate(item.dense()):
            rows.append(i)
            cols.append(j)
            values.append(value)
        for term in set(item.terms):
            if term in vocabulary:
                rows.append(i)
                cols.append(width + vocabulary[term])
                values.append(1.0)
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(evidence), width + len(vocabulary)))


def _vocabulary(evidence: Sequence[sentiment_scorer.Evidence]) -> dict[str, int]:
    documents: Counter[str] = Counter()
    for item in evidence:
        documents.update(set(item.terms))
    kept = sorted(term for term, count in documents.items() if count >= MIN_DOCUMENTS)
    return {term: i for i, term in enumerate(kept)}


def _fit(evidence, positive, c: float):
    from sklearn.linear_model import LogisticRegression

    vocabulary = _vocabulary(evidence)
    model = LogisticRegression(C=c, max_iter=2000, solver="liblinear")
    model.fit(_matrix(evidence, vocabulary), positive)
    return model, vocabulary


def _choose_c(evidence, positive) -> float:
    """The regularisation strength with the best 5-fold accuracy on the training rows only."""
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(evidence, positive))
    best, best_accuracy = C_GRID[0], -1.0
    for c in C_GRID:
        correct = 0
        for train, test in folds:
            model, vocabulary = _fit([evidence[i] for i in train], [positive[i] for i in train], c)
            predicted = model.predict(_matrix([evidence[i] for i in test], vocabulary))
            correct += sum(int(p == positive[i]) for p, i in zip(predicted, test, strict=True))
        if correct > best_accuracy:
            best, best_accuracy = c, correct
    return best


def train_model(sets: Sequence[ReviewSet], c: float | None = None,
                choose_c: str = "pooled") -> tuple[sentiment_scorer.LinearModel, float]:
    """Fit the learned layer on binary-labelled sets (neutral rows are left out).

    Without ``c`` the regularisation is chosen on ``sets`` only: ``"pooled"`` by 5-fold accuracy over
    all their rows; ``"domain"`` by leaving each of them out in turn (macro-F1 of the layer as used),
    which asks for what the protocol measures, transfer to an unseen set.
    """
    if c is None:
        c = _choose_c_by_domain(sets) if choose_c == "domain" and len(sets) > 1 else None
    texts = [t for s in sets for t, label in zip(s.texts, s.labels, strict=True) if label != "neutral"]
    positive = [int(label == "positive") for s in sets for label in s.labels if label != "neutral"]
    evidence = [sentiment_scorer.read(text) for text in texts]
    c = c if c is not None else _choose_c(evidence, positive)
    model, vocabulary = _fit(evidence, positive, c)
    width = len(sentiment_scorer.DENSE_FEATURES)
    weights = model.coef_[0]
    terms = {term: round(float(weights[width + i]), 4) for term, i in vocabulary.items()
             if abs(weights[width + i]) >= 5e-4}
    linear = sentiment_scorer.LinearModel(
        round(float(model.intercept_[0]), 4), tuple(round(float(w), 4) for w in weights[:width]), terms,
        tuple(s.name for s in sets))
    return linear, c


def _choose_c_by_domain(sets: Sequence[ReviewSet]) -> float:
    """The C whose models, each trained without one of ``sets``, score the best mean macro-F1 on it."""
    best, best_f1 = C_GRID[0], -1.0
    for c in C_GRID:
        total = 0.0
        for held in sets:
            model, _ = train_model([s for s in sets if s.name != held.name], c)
            total += figures(functools.partial(sentiment_scorer.learned_score, model=model), held).macro_f1
        if total > best_f1:
            best, best_f1 = c, total
    return best


def figures(scorer: Callable[[str], sentiment_scorer.Sentiment], data: ReviewSet) -> Figures:
    """Accuracy, macro-F1 and negative recall (a neutral prediction on a binary set is wrong), and speed."""
    labels = list(LABELS) if "neutral" in data.labels else ["negative", "positive"]
    scorer("warm up")
    predicted, ms = _timed(scorer, list(data.texts))
    report = classification_report(list(data.labels), predicted, labels)
    return Figures(report["accuracy"], report["macro_f1"], report["per_class"]["negative"]["recall"], round(ms, 4))


def leave_one_set_out(sets: Sequence[ReviewSet], choose_c: str = "pooled") -> list[HeldOut]:
    """For each set: train (and choose C) on the others only, measure all three scorers on it."""
    legs = []
    for held in sets:
        others = [s for s in sets if s.name != held.name]
        model, c = train_model(others, choose_c=choose_c)
        legs.append(HeldOut(
            held.name, tuple(s.name for s in others), c,
            figures(sentiment_scorer.plain_vader, held),
            figures(sentiment_scorer.lexicon_score, held),
            figures(functools.partial(sentiment_scorer.learned_score, model=model), held)))
    return legs
