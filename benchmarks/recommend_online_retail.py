"""Recommendations on data nobody here wrote: UCI Online Retail (Chen et al. 2012, CC BY 4.0).

    python benchmarks/recommend_online_retail.py [--k 10] [--no-tune]

Cleaning: lines without a CustomerID are dropped; cancellations (InvoiceNo starting with C) and
lines with a quantity or unit price of zero or less are not purchases; stock codes that are not
products (postage, bank charges, manual entries, Amazon fees, samples, ...: codes not starting
with five digits) are dropped. What is left are purchases (customer, stock code, invoice time);
descriptions become the products' content text.

Protocol (crm_store/scoring/recommend_eval.py): time split, the last 90 days of the data held out
(the churn benchmark's horizon); hyperparameters chosen on the 90 days before that cutoff, trained
on what came before them; evaluated customers bought before the cutoff and bought at least one
product after it that they had never bought before; those new products are the relevant ones.
Every model (ours, popularity, item-kNN) ranks all products seen in training except the customer's
own. Then serving latency: ``recommend()`` for every evaluated customer, one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from crm_store.scoring import recommend, recommend_eval

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail" / "transactions.csv.gz"
HOLDOUT_DAYS = 90


def purchases(path: Path) -> tuple[pd.DataFrame, list[recommend.ProductInfo]]:
    lines = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str},
                        parse_dates=["InvoiceDate"])
    lines = lines.dropna(subset=["CustomerID"])
    bought = lines[~lines.InvoiceNo.str.startswith("C") & (lines.Quantity > 0) & (lines.UnitPrice > 0)
                   & lines.StockCode.str.match(r"^\d{5}")]
    table = pd.DataFrame({"customer": bought.CustomerID.to_numpy(), "item": bought.StockCode.to_numpy(),
                          "at": bought.InvoiceDate.to_numpy()})
    names = bought.groupby("StockCode").Description.agg(lambda d: d.dropna().mode().iat[0] if d.notna().any() else "")
    products = [recommend.ProductInfo(key=code, name=str(name).strip().title()) for code, name in names.items()]
    return table, products


def latency(model: recommend.Model, split: recommend_eval.Split) -> dict:
    # As the CRM service reads it: each product the customer bought, with the last time.
    last = split.train.groupby(["customer", "item"])["at"].max().reset_index()
    histories = {c: [recommend.Purchase(i, a.to_pydatetime()) for i, a in zip(g["item"], g["at"], strict=True)]
                 for c, g in last.groupby("customer")}
    customers = sorted(set(split.test["customer"]) & set(histories))
    timings, cpu = [], []
    for customer in customers:
        started, started_cpu = time.perf_counter(), time.thread_time()
        recommend.recommend(model, histories[customer], 10)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    started = time.perf_counter()
    recommend.recommend(model, [], 10)
    cold = (time.perf_counter() - started) * 1000
    return {"customers": len(timings), "p50_ms": round(float(np.percentile(timings, 50)), 3),
            "p95_ms": round(float(np.percentile(timings, 95)), 3), "max_ms": round(max(timings), 3),
            # CPU time of the call: what it costs without other processes taking the cores
            "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
            "cpu_p95_ms": round(float(np.percentile(cpu, 95)), 3),
            "load_average": round(os.getloadavg()[0], 2), "new_customer_ms": round(cold, 3),
            "distinct_products_median": int(np.median([len(histories[c]) for c in customers]))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--no-tune", action="store_true", help="use the default parameters as they are")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"Online Retail data not found at {DATA}", file=sys.stderr)
        return 2
    table, products = purchases(DATA)
    started = time.perf_counter()
    report = recommend_eval.evaluate(
        table, "time", k=args.k, holdout_days=HOLDOUT_DAYS, products=products, tune_params=not args.no_tune,
        on_trial=lambda setting, p: print(f"  validation {setting}: P@{args.k} {p:.4f}", file=sys.stderr))
    report["seconds"] = round(time.perf_counter() - started, 1)
    outer = recommend_eval.split_by_time(table, HOLDOUT_DAYS)
    fit_started = time.perf_counter()
    params = recommend.Params(**report["params"])
    model = recommend.fit(outer.train, products, params)
    report["fit_seconds"] = round(time.perf_counter() - fit_started, 1)
    report["serving"] = latency(model, outer)
    report["source"] = "UCI Online Retail (Chen et al. 2012), CC BY 4.0"
    print(json.dumps(report, indent=2, default=str))
    k = args.k
    print(f"\n| model | P@{k} | R@{k} | NDCG@{k} | coverage |\n|---|---|---|---|---|")
    for name, m in report["models"].items():
        print(f"| {name} | {m[f'precision@{k}']:.4f} | {m[f'recall@{k}']:.4f} | {m[f'ndcg@{k}']:.4f} "
              f"| {m['coverage']:.3f} |")
    s = report["serving"]
    print(f"\nserving one customer: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms (CPU time p50 {s['cpu_p50_ms']} ms, "
          f"p95 {s['cpu_p95_ms']} ms; {s['customers']} customers, load average {s['load_average']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
