"""How long the admins' report tables take to build and to read, on seeded conversation history.

    python benchmarks/report_build.py [10000 100000] [--customers N] [--keep DIR]

For each number of conversations: seeds a shop (customers scale with the conversations, about
ten conversations per customer-year, unless --customers) and its history into temporary SQLite
files, then times ``caredesk report rebuild`` (stream events, derive, mark re-contacts, replace the
tables), ``replace_all`` alone, and ``load_episodes`` for every row and for the last 30 days
(best of three), then the admins' report as the console serves it (``build_report``: figures, tables,
topics, forecast): the first build with no filter (the console does this at start-up and after each
rebuild), the same again (served from the cache, as every later page load is), and a first build for
a filter nobody opened before (the last 30 days). --keep DIR keeps (and reuses) the seeded databases
under DIR. Measured, not asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from caredesk.history_seed import seed_history
from caredesk.reports import rebuild
from crm_store.db import session_factory
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import reports
from crm_store.unit_of_work import UnitOfWork

AS_OF = datetime(2026, 6, 1)
PROJECT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class _Settings:
    database_url: str
    tracker_store_url: str


def _seed(folder: Path, conversations: int, customers: int) -> tuple[_Settings, float]:
    crm, tracker = folder / "crm.db", folder / "tracker.db"
    settings = _Settings(f"sqlite:///{crm}", f"sqlite:///{tracker}")
    if crm.exists() and tracker.exists():
        return settings, 0.0
    started = time.perf_counter()
    upgrade(settings.database_url)
    seed_shop(settings.database_url, customers=customers, seed=7, as_of=AS_OF)
    seed_history(settings.database_url, settings.tracker_store_url, conversations, seed=7, as_of=AS_OF,
                 project_dir=PROJECT)
    return settings, time.perf_counter() - started


def _best(call, repeat: int = 3) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = len(call())
        times.append(time.perf_counter() - started)
    return min(times), size


def measure(conversations: int, customers: int, folder: Path) -> dict[str, float | int]:
    folder.mkdir(parents=True, exist_ok=True)
    settings, seeded = _seed(folder, conversations, customers)
    started = time.perf_counter()
    stats = rebuild(settings)
    rebuilt = time.perf_counter() - started
    uow = lambda: UnitOfWork(settings.database_url)  # noqa: E731
    episodes = reports.load_episodes(uow())
    negatives = reports.load_negative_messages(uow())
    started = time.perf_counter()
    reports.replace_all(episodes, negatives, uow(), built_at=stats.built_at, events_read=stats.events_read)
    replaced = time.perf_counter() - started
    month_start = date(2026, 5, 2)
    load_all, rows = _best(lambda: reports.load_episodes(uow()))
    load_month, month_rows = _best(lambda: reports.load_episodes(uow(), since=month_start, until=date(2026, 5, 31)))
    load_negative, negative_rows = _best(lambda: reports.load_negative_messages(uow()))
    report_first, report_cached, report_30d = _report_times(settings.database_url, month_start)
    session_factory(settings.database_url).kw["bind"].dispose()
    return {"conversations": stats.conversations, "customers": customers, "events": stats.events_read,
            "episodes": rows, "seed_s": seeded, "rebuild_s": rebuilt, "replace_s": replaced, "load_all_s": load_all,
            "month_rows": month_rows, "load_30d_s": load_month, "negatives": negative_rows,
            "load_neg_s": load_negative, "report_s": report_first, "cached_s": report_cached,
            "report_30d_s": report_30d}


def _report_times(database_url: str, month_start: date) -> tuple[float, float, float]:
    from bot.console.report_data import Filters, build_report, clear_caches

    clear_caches()
    times = []
    for filters in (Filters(), Filters(), Filters(since=month_start, until=date(2026, 5, 31))):
        started = time.perf_counter()
        build_report(database_url, filters, personal=True)
        times.append(time.perf_counter() - started)
    return times[0], times[1], times[2]


def print_table(results: list[dict[str, float | int]]) -> None:
    columns = ("conversations", "customers", "events", "episodes", "seed_s", "rebuild_s", "replace_s",
               "load_all_s", "month_rows", "load_30d_s", "negatives", "load_neg_s", "report_s", "cached_s",
               "report_30d_s")
    print("  ".join(f"{name:>13}" for name in columns))
    for row in results:
        print("  ".join(f"{row[name]:>13.3f}" if isinstance(row[name], float) else f"{row[name]:>13,}"
                        for name in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000], help="conversations to seed")
    parser.add_argument("--customers", type=int, help="shop size (default: conversations / 8)")
    parser.add_argument("--keep", type=Path, help="keep and reuse the seeded databases here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="caredesk-report-bench-") as scratch:
        base = args.keep or Path(scratch)
        for size in args.sizes:
            customers = args.customers or max(20, size // 8)
            results.append(measure(size, customers, base / f"history-{size}"))
            print_table(results[-1:])
    print()
    print(f"SQLite, seeded history as of {AS_OF:%Y-%m-%d} (the last 30 days: {AS_OF.date() - timedelta(days=30)} on); "
          "seconds; load times best of three.")
    print_table(results)


if __name__ == "__main__":
    main()
