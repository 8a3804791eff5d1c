"""Sentiment scorer vs plain VADER, leaving one public review set out, and on our complaint set.

    python benchmarks/sentiment_reviews.py                # print the tables
    python benchmarks/sentiment_reviews.py --write-model  # also (re)build bot/nlu/sentiment_model.json

Review sets: UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015, CC BY 4.0), amazon / yelp /
imdb, 1,000 sentences each, labelled positive or negative by people; read from
``../shared/data/review_sentiment`` beside the checkout. For each held-out set the learned layer is
trained, and its regularisation chosen by inner cross-validation, on the other two sets only; the
lexicon layer and plain VADER are not trained at all. A neutral prediction counts as wrong.

The learned layer is adopted (``--write-model`` writes its file, trained on all three sets) only if
it beats the lexicon layer on macro-F1 *and* negative recall on every held-out set; otherwise the
file is removed and the assistant uses the lexicon layer.

The complaint set (``benchmarks/data/complaints_heldout.csv``, 150 customer messages written for
this benchmark, labelled negative / neutral / positive) is never used to tune or train anything.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

from bot.nlu import sentiment_scorer
from caredesk.sentiment_eval import Figures, HeldOut, figures, leave_one_set_out, read_set, train_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "review_sentiment"
COMPLAINTS = ROOT / "benchmarks" / "data" / "complaints_heldout.csv"
SETS = ("amazon", "yelp", "imdb")


def _row(name: str, scorer: str, result: Figures) -> str:
    return (f"| {name} | {scorer} | {result.accuracy:.3f} | {result.macro_f1:.3f} | "
            f"{result.negative_recall:.3f} | {result.ms_per_message:.3f} |")


def print_protocol(legs: list[HeldOut]) -> None:
    print("Leave one review set out (learned layer trained on the other two sets only)\n")
    print("| held out (trained on) | scorer | accuracy | macro-F1 | negative recall | ms / message |")
    print("| --- | --- | --- | --- | --- | --- |")
    for leg in legs:
        name = f"{leg.name} ({' + '.join(leg.trained_on)}, C={leg.c:g})"
        print(_row(name, "plain VADER", leg.plain_vader))
        print(_row(name, "lexicon layer", leg.lexicon))
        print(_row(name, "learned layer", leg.learned))
    verdict = "wins" if all(leg.learned_wins for leg in legs) else "does not win"
    lost = [leg.name for leg in legs if not leg.learned_wins]
    print(f"\nThe learned layer {verdict} the protocol" + (f" (not better on both figures on: {', '.join(lost)})."
                                                          if lost else " (better macro-F1 and negative recall on all "
                                                                       "three held-out sets)."))


def print_complaints(shipped: str) -> None:
    data = read_set(COMPLAINTS)
    print(f"\nComplaint set: {len(data.texts)} customer messages written for this benchmark "
          f"({data.labels.count('negative')} negative, {data.labels.count('neutral')} neutral, "
          f"{data.labels.count('positive')} positive); nothing was tuned on it\n")
    print("| set | scorer | accuracy | macro-F1 | negative recall | ms / message |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(_row("complaints", "plain VADER", figures(sentiment_scorer.plain_vader, data)))
    print(_row("complaints", f"ours as shipped ({shipped})", figures(sentiment_scorer.score, data)))


def write_model(legs: list[HeldOut], sets: list) -> None:
    target = sentiment_scorer.MODEL_FILE
    if all(leg.learned_wins for leg in legs):
        model, c = train_model(sets)
        target.write_text(json.dumps(model.to_json(), indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote {target} (trained on {', '.join(model.trained_on)}, C={c:g}, {len(model.terms)} terms)")
    elif target.exists():
        target.unlink()
        print(f"\nremoved {target}: the assistant uses the lexicon layer")
    sentiment_scorer.shipped_model.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-model", action="store_true", help="rebuild the shipped model file if it wins")
    args = parser.parse_args(argv)
    paths = [DATA / f"{name}.csv" for name in SETS]
    if not all(path.exists() for path in paths):
        print(f"no review data in {DATA} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    sets = [read_set(path) for path in paths]
    legs = leave_one_set_out(sets)
    print_protocol(legs)
    if args.write_model:
        write_model(legs, sets)
    shipped = "learned layer" if sentiment_scorer.shipped_model() is not None else "lexicon layer"
    print_complaints(shipped)
    print("\nComplaint set, each layer (for reference; the learned one trained on all three review sets):")
    model, _ = train_model(sets)
    data = read_set(COMPLAINTS)
    print(_row("complaints", "lexicon layer", figures(sentiment_scorer.lexicon_score, data)))
    print(_row("complaints", "learned layer",
               figures(functools.partial(sentiment_scorer.learned_score, model=model), data)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
