"""Classification metrics for the evaluate commands: plain Python, no scikit-learn needed."""

from __future__ import annotations

from collections.abc import Sequence


def classification_report(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1 over ``labels``."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    per_class = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                            "support": sum(1 for g in gold if g == label)}
    present = [label for label in labels if per_class[label]["support"] > 0]
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold) if gold else 0.0
    macro_f1 = sum(per_class[label]["f1"] for label in present) / len(present) if present else 0.0
    return {"n": len(gold), "accuracy": round(accuracy, 4), "macro_f1": round(macro_f1, 4),
            "per_class": per_class}
