"""The recommender on the CRM's own history: seed a shop (or use one), build the model as
`caredesk recommend train` does (parameters chosen on the last 90 days), time the build, then time
the service call that serves one customer (reading their orders and the out-of-stock products from
the database, ranking, reading the suggested products) for verified customers and for guests.

    python benchmarks/recommend_crm.py [--customers 2000] [--seed 7] [--as-of 2026-06-15] [--calls 500]
    python benchmarks/recommend_crm.py --database-url sqlite:////path/crm.db --as-of 2026-06-01
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import recommend
from crm_store.unit_of_work import UnitOfWork


def _percentiles(timings: list[float]) -> dict:
    return {f"p{q}_ms": round(float(np.percentile(timings, q)), 2) for q in (50, 95, 99)}


def measure(url: str, model_dir: Path, as_of: datetime, calls: int, customers: int) -> dict:
    started = time.perf_counter()
    report = recommend.train_model(url, model_dir, as_of)
    report["build_seconds"] = round(time.perf_counter() - started, 1)
    recommend.load_model(model_dir)  # what a serving process does once
    rng = random.Random(1)
    served: dict[str, list[float]] = {"customer": [], "guest": []}
    cpu: dict[str, list[float]] = {"customer": [], "guest": []}
    for n in range(calls):
        who = None if n % 5 == 4 else rng.randint(1, customers)
        started, started_cpu = time.perf_counter(), time.thread_time()
        recommend.recommend_for_customer(who, UnitOfWork(url), model_dir, k=5, now=as_of)
        kind = "guest" if who is None else "customer"
        served[kind].append((time.perf_counter() - started) * 1000)
        cpu[kind].append((time.thread_time() - started_cpu) * 1000)
    # CPU time beside wall time: on a shared machine the wall time mostly measures the other processes.
    report["serving"] = {kind: _percentiles(t) | {"calls": len(t), "cpu": _percentiles(cpu[kind])}
                         for kind, t in served.items()}
    report["load_average"] = round(os.getloadavg()[0], 2)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-15")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--database-url", help="an already seeded CRM instead of a fresh one")
    args = parser.parse_args()
    as_of = datetime.strptime(args.as_of, "%Y-%m-%d")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'crm.db'}"
            upgrade(url)
            seed_shop(url, customers=args.customers, seed=args.seed, as_of=as_of)
        print(json.dumps(measure(url, Path(tmp), as_of, args.calls, args.customers), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
