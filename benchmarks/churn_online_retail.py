"""Churn on data nobody here wrote: UCI Online Retail (Chen et al. 2012, CC BY 4.0).

    python benchmarks/churn_online_retail.py [--folds 5]

Builds one row per customer from the transactions before the last 90 days of the data
(recency, frequency, spend, tenure, cancellations, basket size, distinct products, country) and
labels them churned if they bought nothing in those last 90 days; then cross-validates both
models exactly as `caredesk churn evaluate` does (logistic regression and gradient boosting on the
same folds, the choice and why), and prints its JSON. A recency-only score is printed beside it as
the baseline. Last, the leak screen on the same table with one column added that is recorded after
the cutoff (the customer's invoices in the label window), which an unscreened model would read as an
almost perfect predictor.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from crm_store.scoring.churn import cross_validate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail" / "transactions.csv.gz"
HORIZON_DAYS = 90


def customer_table(path: Path) -> pd.DataFrame:
    lines = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str}, parse_dates=["InvoiceDate"])
    lines = lines.dropna(subset=["CustomerID"])
    cutoff = lines.InvoiceDate.max() - pd.Timedelta(days=HORIZON_DAYS)
    before = lines[lines.InvoiceDate < cutoff]
    after = lines[(lines.InvoiceDate >= cutoff) & ~lines.InvoiceNo.str.startswith("C")]
    cancelled = before.InvoiceNo.str.startswith("C")
    bought = before[~cancelled]
    by = bought.groupby("CustomerID")
    table = pd.DataFrame({
        "recency_days": (cutoff - by.InvoiceDate.max()).dt.days,
        "tenure_days": (cutoff - by.InvoiceDate.min()).dt.days,
        "frequency": by.InvoiceNo.nunique(),
        "spend": (bought.Quantity * bought.UnitPrice).groupby(bought.CustomerID).sum(),
        "distinct_products": by.StockCode.nunique(),
        "items_per_invoice": by.Quantity.sum() / by.InvoiceNo.nunique(),
        "country": by.Country.first(),
    })
    table["cancellations"] = before[cancelled].groupby("CustomerID").InvoiceNo.nunique()
    table["cancellations"] = table["cancellations"].fillna(0)
    table["churned"] = (~table.index.isin(after.CustomerID.unique())).astype(int)
    table["invoices_in_window"] = after.groupby("CustomerID").InvoiceNo.nunique().reindex(table.index).fillna(0)
    return table.reset_index().rename(columns={"CustomerID": "customer_id"})


def evaluate_csv(table: pd.DataFrame, folds: int, keep_leaky: bool = False) -> dict:
    """Through a CSV, exactly as `caredesk churn evaluate` reads it."""
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "customers.csv"
        table.to_csv(csv_path, index=False)
        return cross_validate(pd.read_csv(csv_path), "churned", "customer_id", folds, keep_leaky).to_dict()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if not DATA.exists():
        print(f"Online Retail data not found at {DATA}", file=sys.stderr)
        return 2
    table = customer_table(DATA)
    report = evaluate_csv(table.drop(columns="invoices_in_window"), args.folds)
    report["baseline_recency_only_roc_auc"] = round(float(roc_auc_score(table.churned, table.recency_days)), 4)
    screened = evaluate_csv(table, args.folds)
    kept = evaluate_csv(table, args.folds, keep_leaky=True)
    report["leak_check"] = {"added_column": "invoices_in_window", "warnings": screened["warnings"],
                            "screened": {m: s["roc_auc"] for m, s in screened["models"].items()},
                            "kept_with_keep_leaky": {m: s["roc_auc"] for m, s in kept["models"].items()}}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
