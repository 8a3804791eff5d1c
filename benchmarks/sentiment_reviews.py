"""Sentiment scorer vs plain VADER, leaving one public review set out, and on our complaint set.

    python benchmarks/sentiment_reviews.py                # print the tables
    python benchmarks/sentiment_reviews.py --write-model  # also (re)build bot/nlu/sentiment_model.json
    python benchmarks/sentiment_reviews.py --choose-c domain  # C by inner leave-one-set-out (a variant)

Review sets: UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015, CC BY 4.0), amazon / yelp /
imdb, 1,000 sentences each, labelled positive or negative by people; read from
``../shared/data/review_sentiment`` beside the checkout. For each held-out set the learned layer is
trained, and its regularisation chosen by inner cross-validation, on the other two sets only; the
lexicon layer and plain VADER are not trained at all. A neutral prediction counts as wrong.

The learned layer is adopted (``--write-model`` writes its file, trained on all three sets) only if
it beats the lexicon layer on macro-F1 *and* negative recall on every held-out set; otherwise the
file is removed and the assistant uses the lexicon layer.

Plain requests: the request examples of the assistant's own training data (``data/nlu/requests.yml``,
written by this project; intents that carry a complaint left out) show how often each layer would
call a plain request negative, or very negative (at or below the escalation rule's threshold).

The complaint set (``benchmarks/data/complaints_heldout.csv``, 150 customer messages written for
this benchmark, labelled negative / neutral / positive) is never used to tune or train anything.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.nlu import sentiment_scorer
from caredesk.sentiment_eval import Figures, HeldOut, figures, leave_one_set_out, read_set, train_model
from crm_store.scoring.escalation import EscalationRules

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "review_sentiment"
COMPLAINTS = ROOT / "benchmarks" / "data" / "complaints_heldout.csv"
SETS = ("amazon", "yelp", "imdb")
REQUESTS = ROOT / "data" / "nlu" / "requests.yml"
NOT_PLAIN = {"complaint", "review", "payment_issue", "registration_problems"}  # requests that carry a complaint


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


def plain_requests() -> list[str]:
    document = yaml.safe_load(REQUESTS.read_text(encoding="utf-8"))
    return [line[2:].strip() for block in document["nlu"]
            if block.get("intent") and block["intent"] not in NOT_PLAIN
            for line in block["examples"].splitlines() if line.startswith("- ")]


def print_requests(scorers: dict[str, Callable[[str], sentiment_scorer.Sentiment]]) -> None:
    texts = plain_requests()
    very = EscalationRules().very_negative_at
    print(f"\nPlain requests ({len(texts)} examples of data/nlu/requests.yml): how often a layer reads a request as "
          f"negative, and as very negative (score <= {very}, which escalates on its own)\n")
    print("| scorer | negative | very negative |")
    print("| --- | --- | --- |")
    for name, scorer in scorers.items():
        results = [scorer(text) for text in texts]
        negative = sum(r.label == "negative" for r in results) / len(results)
        print(f"| {name} | {negative:.1%} | {sum(r.score <= very for r in results) / len(results):.1%} |")


def write_model(legs: list[HeldOut], sets: list, choose_c: str) -> None:
    target = sentiment_scorer.MODEL_FILE
    if all(leg.learned_wins for leg in legs):
        model, c = train_model(sets, choose_c=choose_c)
        target.write_text(json.dumps(model.to_json(), indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote {target} (trained on {', '.join(model.trained_on)}, C={c:g}, {len(model.terms)} terms)")
    elif target.exists():
        target.unlink()
        print(f"\nremoved {target}: the assistant uses the lexicon layer")
    sentiment_scorer.shipped_model.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-model", action="store_true", help="rebuild the shipped model file if it wins")
    parser.add_argument("--choose-c", choices=("pooled", "domain"), default="pooled",
                        help="how the learned layer's C is chosen on its training sets (default: pooled 5-fold CV)")
    args = parser.parse_args(argv)
    paths = [DATA / f"{name}.csv" for name in SETS]
    if not all(path.exists() for path in paths):
        print(f"no review data in {DATA} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    sets = [read_set(path) for path in paths]
    legs = leave_one_set_out(sets, args.choose_c)
    print_protocol(legs)
    if args.write_model:
        write_model(legs, sets, args.choose_c)
    shipped = "learned layer" if sentiment_scorer.shipped_model() is not None else "lexicon layer"
    print_complaints(shipped)
    model, c = train_model(sets, choose_c=args.choose_c)
    learned = functools.partial(sentiment_scorer.learned_score, model=model)
    print(f"\nComplaint set, each layer (the learned one trained on all three review sets, C={c:g}):\n")
    data = read_set(COMPLAINTS)
    print(_row("complaints", "lexicon layer", figures(sentiment_scorer.lexicon_score, data)))
    print(_row("complaints", "learned layer", figures(learned, data)))
    print_requests({"plain VADER": sentiment_scorer.plain_vader, "lexicon layer": sentiment_scorer.lexicon_score,
                    "learned layer": learned})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
