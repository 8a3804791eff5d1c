"""Intent accuracy on data nobody here wrote: the Bitext customer-support test split.

    python benchmarks/nlu_bitext.py [--config config.yml] [--split test] [--model PATH] [--json FILE]

Trains an NLU model on data/nlu (our own sentences) unless --model is given, parses every
sentence of the chosen Bitext split, and prints accuracy and macro-F1 overall, per category and
per language-variation tag, plus how many of our held-out out-of-scope messages were rejected
(classified out_of_scope or sent to the fallback) and accuracy on our held-out messy phrasings.

"accuracy" is the classifier's top intent; "answered" also counts a fallback (the bot asks to
rephrase) as wrong, which is what a customer sees.

Bitext data: CDLA-Sharing-1.0, https://github.com/bitext/customer-support-intent-detection-training-dataset
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BITEXT = ROOT.parent / "shared" / "data" / "bitext_customer_support" / "utterances.csv"
HELDOUT = Path(__file__).resolve().parent / "data"
TAGS = {"B": "basic", "C": "coordinated", "E": "expanded abbreviations", "I": "interrogative",
        "K": "keyword only", "L": "colloquial", "M": "morphological variation", "N": "negation",
        "P": "politeness", "Q": "colloquial/offensive", "W": "offensive", "Z": "typos/noise"}


def train_nlu(config: str, out: Path) -> Path:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--config", config, "--nlu", "data/nlu",
                    "--out", str(out), "--fixed-model-name", "bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"})
    print(f"trained NLU with {config} in {time.perf_counter() - started:.0f} s", flush=True)
    return out / "bench.tar.gz"


def f1_scores(pairs: list[tuple[str, str]]) -> float:
    labels = {gold for gold, _ in pairs}
    scores = []
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def summarise(pairs: list[tuple[str, str, str]]) -> dict:
    """pairs: (gold, top intent, answered intent)."""
    n = len(pairs)
    return {"n": n,
            "accuracy": round(sum(g == p for g, p, _ in pairs) / n, 4) if n else None,
            "answered": round(sum(g == a for g, _, a in pairs) / n, 4) if n else None,
            "macro_f1": round(f1_scores([(g, p) for g, p, _ in pairs]), 4) if n else None}


async def parse_all(model: Path, texts: list[str]) -> list[tuple[str, str]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    results = []
    for text in texts:
        parsed = await agent.parse_message(text)
        answered = parsed["intent"]["name"]
        ranking = [r["name"] for r in parsed.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
        top = ranking[0] if ranking else answered
        results.append((top, answered))
    return results


def read_csv(path: Path, split: str | None = None) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if split is None or r.get("split") == split]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--model", help="an already trained model; skips training")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if not BITEXT.exists():
        print(f"Bitext data not found at {BITEXT} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)
    rows = read_csv(BITEXT, args.split)
    heldout = read_csv(HELDOUT / "heldout_messy.csv")
    oos = [line.strip() for line in (HELDOUT / "heldout_out_of_scope.txt").read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else train_nlu(args.config, Path(tmp))
        started = time.perf_counter()
        texts = [r["text"] for r in rows] + [r["text"] for r in heldout] + oos
        predictions = asyncio.run(parse_all(model, texts))
        per_message_ms = (time.perf_counter() - started) * 1000 / len(texts)
    bitext_pred, rest = predictions[:len(rows)], predictions[len(rows):]
    messy_pred, oos_pred = rest[:len(heldout)], rest[len(heldout):]

    triples = [(r["label"], top, ans) for r, (top, ans) in zip(rows, bitext_pred, strict=True)]
    by_category, by_tag, by_intent = defaultdict(list), defaultdict(list), defaultdict(list)
    for r, triple in zip(rows, triples, strict=True):
        by_category[r["category"]].append(triple)
        by_intent[r["label"]].append(triple)
        for tag in r["tags"]:
            by_tag[f"{tag} ({TAGS.get(tag, '?')})"].append(triple)
    report = {
        "config": args.config, "split": args.split,
        "bitext": summarise(triples),
        "per_category": {k: summarise(v) for k, v in sorted(by_category.items())},
        "per_tag": {k: summarise(v) for k, v in sorted(by_tag.items())},
        "per_intent": {k: summarise(v) for k, v in sorted(by_intent.items())},
        "heldout_messy": summarise([(r["intent"], t, a) for r, (t, a) in zip(heldout, messy_pred, strict=True)]),
        "out_of_scope_rejected": round(sum(a in ("out_of_scope", "nlu_fallback") for _, a in oos_pred)
                                       / len(oos_pred), 4),
        "out_of_scope_n": len(oos_pred),
        "parse_ms_per_message": round(per_message_ms, 2),
    }
    misses = [(r["label"], top, r["text"]) for r, (top, _) in zip(rows, bitext_pred, strict=True)
              if top != r["label"]]
    print(json.dumps(report, indent=2))
    print(f"\n{len(misses)} misses on Bitext {args.split}; first 40 (gold -> predicted: text):")
    for gold, top, text in misses[:40]:
        print(f"  {gold} -> {top}: {text}")
    messy_misses = [(r["intent"], t, r["text"]) for r, (t, _) in zip(heldout, messy_pred, strict=True)
                    if t != r["intent"]]
    print(f"\n{len(messy_misses)} misses on our held-out messy phrasings:")
    for gold, top, text in messy_misses:
        print(f"  {gold} -> {top}: {text}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
