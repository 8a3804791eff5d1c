"""Latency of the CRM service calls the assistant makes on every order question.

    python benchmarks/crm_services.py [--customers 2000] [--calls 1000] [--postgres]

Seeds a fresh shop into a temporary SQLite file (and, with --postgres, a temporary PostgreSQL
database), then times order_status, list_orders and verify_by_order for random customers and
prints percentiles in milliseconds. Measured, not asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text

from crm_store import models
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import identity, orders
from crm_store.unit_of_work import UnitOfWork

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": statistics.fmean(ordered)}


def measure(url: str, calls: int) -> dict[str, dict[str, float]]:
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(
            select(models.Order.customer_id, models.Order.reference, models.Customer.email)
            .join(models.Customer, models.Customer.id == models.Order.customer_id)
        ).all()
    rng = random.Random(1)
    timings: dict[str, list[float]] = {"order_status": [], "list_orders": [], "verify_by_order": []}
    for i in range(calls):
        customer_id, ref, email = rng.choice(rows)
        for name, call, call_args in (
            ("order_status", orders.order_status, (customer_id, ref)),
            ("list_orders", orders.list_orders, (customer_id,)),
            ("verify_by_order", lambda r, e, uow, i=i: identity.verify_by_order(r, e, uow, conversation=f"bench-{i}"),
             (ref, email)),
        ):
            started = time.perf_counter()
            call(*call_args, UnitOfWork(url))
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: percentiles(samples) for name, samples in timings.items()}


def report(backend: str, results: dict[str, dict[str, float]]) -> None:
    for name, p in results.items():
        print(f"| {backend} | {name} | {p['p50']:.2f} | {p['p95']:.2f} | {p['p99']:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    print(f"CRM service latency, {args.customers} customers, {args.calls} calls each (ms)")
    print("| backend | call | p50 | p95 | p99 |\n| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        seed_shop(url, customers=args.customers)
        report("SQLite", measure(url, args.calls))
    if args.postgres:
        name = f"caredesk_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"CREATE DATABASE {name}"))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        try:
            upgrade(url)
            seed_shop(url, customers=args.customers)
            report("PostgreSQL", measure(url, args.calls))
        finally:
            from crm_store.db import session_factory

            session_factory(url).kw["bind"].dispose()
            with admin.connect() as c:
                c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
