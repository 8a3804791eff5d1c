"""Sentiment scorer vs plain VADER on public review sentences (UCI Sentiment Labelled Sentences,
Kotzias et al. 2015, CC BY 4.0): accuracy, negative recall and time per message.

    python benchmarks/sentiment_reviews.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from caredesk.sentiment_eval import evaluate_csv

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "review_sentiment"


def main() -> int:
    files = sorted(DATA.glob("*.csv"))
    if not files:
        print(f"no review data in {DATA}", file=sys.stderr)
        return 2
    print("| set | scorer | accuracy | macro-F1 | negative recall | ms / message |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in files:
        report = evaluate_csv(str(path))
        for name in ("plain_vader", "caredesk"):
            r = report[name]
            print(f"| {path.stem} | {name} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | "
                  f"{r['per_class']['negative']['recall']:.3f} | {r['ms_per_message']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
