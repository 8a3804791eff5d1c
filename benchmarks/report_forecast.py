"""Staffing forecast and complaint topics on a seeded history: measured, not asserted.

Seeds a shop and a year of conversations (caredesk.history_seed) into temporary SQLite databases,
counts escalations per day (from the report's episodes when the report tables can be rebuilt,
else from the tickets opened in a conversation), back-tests the forecast against the naive
same-weekday baseline, prints the next 14 days, and groups the seeded negative messages into
complaint topics.

    python benchmarks/report_forecast.py [--customers 300] [--seed 7] [--as-of 2026-06-01] [--folds 8]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from caredesk.history_seed import seed_history
from crm_store.migrate import upgrade
from crm_store.scoring import forecast, report_metrics
from crm_store.scoring.episodes import NegativeMessage
from crm_store.scoring.topics import topics
from crm_store.seed import seed_shop

PROJECT = Path(__file__).resolve().parents[1]


def _seed(folder: Path, customers: int, seed: int, as_of: datetime) -> tuple[str, str]:
    crm, tracker = f"sqlite:///{folder / 'crm.db'}", f"sqlite:///{folder / 'tracker.db'}"
    upgrade(crm)
    seed_shop(crm, customers=customers, seed=seed, as_of=as_of)
    stats = seed_history(crm, tracker, None, seed=seed, as_of=as_of, project_dir=PROJECT)
    print(f"seeded {customers} customers: {stats.conversations} conversations, {stats.escalations} escalations, "
          f"{stats.user_messages} customer messages")
    return crm, tracker


def _from_episodes(crm: str, tracker: str) -> tuple[dict[date, int], list[NegativeMessage], str] | None:
    """Escalations per day and negative messages from the rebuilt report tables (None if not available)."""
    try:
        from caredesk.reports import rebuild
        from crm_store.services.reports import load_episodes, load_negative_messages
        from crm_store.unit_of_work import UnitOfWork
    except ImportError:
        return None
    started = time.perf_counter()
    stats = rebuild(SimpleNamespace(database_url=crm, tracker_store_url=tracker))
    print(f"rebuilt the report tables: {stats.episodes} episodes, {stats.negative_messages} negative messages "
          f"in {time.perf_counter() - started:.1f} s")
    uow = UnitOfWork(crm)
    episodes = load_episodes(uow)
    started = time.perf_counter()
    headline = report_metrics.overview(episodes)
    print(f"overview of {len(episodes)} episodes in {(time.perf_counter() - started) * 1000:.0f} ms:")
    print(json.dumps(headline.as_dict(), indent=1))
    per_day = Counter(episode.started_at.date() for episode in episodes if episode.escalated)
    return dict(per_day), load_negative_messages(uow), "episodes (escalated, by day started)"


def _from_crm(crm: str, tracker: str) -> tuple[dict[date, int], list[NegativeMessage], str]:
    """Escalations per day from the tickets table, negative messages straight from the tracker events."""
    with sqlite3.connect(crm.removeprefix("sqlite:///")) as connection:
        created = [row[0] for row in connection.execute(
            "SELECT created_at FROM tickets WHERE conversation_id IS NOT NULL")]
    per_day = Counter(datetime.fromisoformat(value).date() for value in created)
    negatives = []
    with sqlite3.connect(tracker.removeprefix("sqlite:///")) as connection:
        for sender_id, data in connection.execute("SELECT sender_id, data FROM events WHERE type_name = 'user'"):
            event = json.loads(data)
            sentiment = (event.get("parse_data") or {}).get("sentiment") or {}
            if sentiment.get("label") == "negative":
                at = datetime.fromtimestamp(event["timestamp"], timezone.utc).replace(tzinfo=None)
                intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
                negatives.append(NegativeMessage(sender_id, 0, at, event["text"], intent, sentiment["score"],
                                                 event.get("input_channel") or "other"))
    return dict(per_day), negatives, "tickets opened in a conversation, by day created"


def _print_forecast(per_day: dict[date, int], as_of: datetime, folds: int) -> None:
    until = as_of.date() - timedelta(days=1)  # the history ends the day before as_of; quiet last days are zeros
    first, values = forecast.daily_counts(per_day, until=until)
    print(f"\nescalations per day: {len(values)} days from {first}, mean {values.mean():.2f}, "
          f"max {values.max():.0f}, days without any {int((values == 0).sum())}")
    result = forecast.backtest(per_day, horizon=14, folds=folds, until=until)
    print(f"back-test, {result.folds} rolling windows of {result.horizon} days ({result.model.days} days forecast):")
    print(f"  {'':8} {'MAE':>7} {'MAPE':>7} {'sMAPE':>7} {'WAPE':>7}")
    for name, errors in (("model", result.model), ("naive", result.naive)):
        print(f"  {name:8} {errors.mae:7.3f} {_pct(errors.mape):>7} {_pct(errors.smape):>7} {_pct(errors.wape):>7}")
    print(f"  model beats naive same-weekday: {result.model_beats_naive} "
          f"(MAE {100 * (1 - result.model.mae / result.naive.mae):+.0f}% better)" if result.naive.mae else "")
    print("next 14 days (expected, 80% interval):")
    for day in forecast.forecast(per_day, days=14, folds=folds, until=until):
        print(f"  {day.day} {day.day.strftime('%a')}  {day.expected:6.2f}  [{day.low:.1f} .. {day.high:.1f}]")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _print_topics(negatives: list[NegativeMessage]) -> None:
    started = time.perf_counter()
    found = topics(negatives)
    print(f"\ncomplaint topics: {len(negatives)} negative messages ({len({m.text for m in negatives})} distinct) "
          f"-> {len(found)} topics in {time.perf_counter() - started:.1f} s (spaCy load included)")
    for topic in found:
        intents = ", ".join(f"{name} {n}" for name, n in topic.intents[:3])
        print(f"  #{topic.id} {topic.size:5d} ({100 * topic.share:4.1f}%)  {', '.join(topic.terms)}")
        print(f"       intents: {intents}")
        for example in topic.examples:
            print(f"       - {example.text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-01")
    parser.add_argument("--folds", type=int, default=8)
    parser.add_argument("--source", choices=("auto", "crm"), default="auto",
                        help="auto: the report's episodes when available; crm: tickets and tracker events")
    args = parser.parse_args()
    as_of = datetime.strptime(args.as_of, "%Y-%m-%d")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        crm, tracker = _seed(Path(tmp), args.customers, args.seed, as_of)
        print(f"seeding took {time.perf_counter() - started:.0f} s")
        found = _from_episodes(crm, tracker) if args.source == "auto" else None
        per_day, negatives, source = found or _from_crm(crm, tracker)
        print(f"escalations from: {source}")
        _print_forecast(per_day, as_of, args.folds)
        _print_topics(negatives)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
