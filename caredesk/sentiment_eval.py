"""Evaluate the sentiment scorer, and plain VADER beside it, on a labelled CSV."""

from __future__ import annotations

import csv
import time

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
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or text_col not in rows[0] or label_col not in rows[0]:
        raise ValueError(f"needs the columns {text_col!r} and {label_col!r}")
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
