"""Churn model on the CRM's own history: seed a shop, train with the time-based hold-out, print it
(both models' cross-validated figures at the training cutoff, which one was chosen and why, and
both models on the later hold-out cutoff).

    python benchmarks/churn_crm.py [--customers 3000] [--seed 7] [--as-of 2026-06-15]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import datetime
from pathlib import Path

from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import churn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-15")
    args = parser.parse_args()
    as_of = datetime.strptime(args.as_of, "%Y-%m-%d")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'crm.db'}"
        upgrade(url)
        seed_shop(url, customers=args.customers, seed=args.seed, as_of=as_of)
        print(json.dumps(churn.train_model(url, Path(tmp), as_of=as_of), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
