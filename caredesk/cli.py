"""The ``caredesk`` operator command.

    caredesk run                      prepare everything and start the assistant
    caredesk db upgrade | current     schema migrations
    caredesk seed [--customers N] [--seed S] [--as-of YYYY-MM-DD] [--if-empty]
    caredesk train [--force]          train the Rasa model if its inputs changed
    caredesk sentiment evaluate --csv FILE [--text-col text] [--label-col label]
    caredesk churn train | score | evaluate --csv FILE --label COL [--id COL] [--folds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from caredesk.settings import SettingsError, get_settings


def _cmd_db(args: argparse.Namespace) -> int:
    from crm_store import migrate

    settings = get_settings()
    if args.action == "upgrade":
        migrate.upgrade(settings.database_url)
        print(f"Database is at revision {migrate.current_revision(settings.database_url)}.")
    else:
        current = migrate.current_revision(settings.database_url)
        head = migrate.head_revision(settings.database_url)
        print(f"current: {current or '(empty)'}  head: {head}")
    return 0


def seed_with_progress(url: str, customers: int, seed: int, as_of: datetime | None) -> None:
    from tqdm import tqdm

    from crm_store.seed import seed_shop

    started = time.perf_counter()
    with tqdm(total=customers, unit="customer", desc="Seeding the demo shop") as bar:
        stats = seed_shop(url, customers=customers, seed=seed, as_of=as_of, on_progress=bar.update)
    elapsed = time.perf_counter() - started
    print(f"Seeded {stats.customers:,} customers, {stats.products:,} products, "
          f"{stats.orders:,} orders, {stats.order_lines:,} order lines, {stats.shipments:,} shipments, "
          f"{stats.returns:,} returns, {stats.refunds:,} refunds, {stats.tickets:,} tickets, "
          f"{stats.feedback:,} feedback in {elapsed:.1f} s.")


def _cmd_seed(args: argparse.Namespace) -> int:
    from crm_store import migrate
    from crm_store.seed import is_empty

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    if not is_empty(settings.database_url):
        if args.if_empty:
            print("The CRM already has customers; not seeding.")
            return 0
        print("The CRM already has customers. Seed an empty database "
              "(delete var/crm.db, or point DATABASE_URL elsewhere).", file=sys.stderr)
        return 2
    as_of = datetime.strptime(args.as_of, "%Y-%m-%d") if args.as_of else None
    seed_with_progress(settings.database_url, args.customers, args.seed, as_of)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from caredesk.training import train

    settings = get_settings()
    train(settings.project_dir, settings.models_dir, force=args.force)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from caredesk import runner
    from caredesk.training import train
    from crm_store import migrate
    from crm_store.seed import is_empty

    settings = get_settings()
    print(f"CareDesk ({settings.environment}) in {settings.project_dir}", flush=True)
    migrate.upgrade(settings.database_url)
    if is_empty(settings.database_url):
        seed_with_progress(settings.database_url, args.customers, 7, None)
    train(settings.project_dir, settings.models_dir)
    print("Starting the action server and the Rasa server ...", flush=True)
    try:
        started = runner.start_all(settings)
    except runner.StartupFailed as exc:
        print(f"Could not start CareDesk: {exc}", file=sys.stderr)
        return 1
    print(runner.banner(settings, started), flush=True)
    return runner.serve_forever(settings, started)


def _cmd_sentiment_evaluate(args: argparse.Namespace) -> int:
    import json

    from caredesk.sentiment_eval import evaluate_csv

    try:
        report = evaluate_csv(args.csv, args.text_col, args.label_col)
    except (OSError, ValueError) as exc:
        print(f"Cannot evaluate {args.csv}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


def _cmd_churn(args: argparse.Namespace) -> int:
    import json

    settings = get_settings()
    as_of = datetime.strptime(args.as_of, "%Y-%m-%d") if getattr(args, "as_of", None) else None
    if args.churn_command == "evaluate":
        import pandas as pd

        from crm_store.scoring.churn import cross_validate

        try:
            frame = pd.read_csv(args.csv)
            report = cross_validate(frame, args.label, args.id, args.folds)
        except (OSError, ValueError) as exc:
            print(f"Cannot evaluate {args.csv}: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(report, indent=2))
        return 0
    from crm_store.services import churn

    if args.churn_command == "train":
        print(json.dumps(churn.train_model(settings.database_url, settings.models_dir, as_of), indent=2))
        return 0
    try:
        count = churn.score_customers(settings.database_url, settings.models_dir, as_of)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Scored {count:,} customers.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caredesk", description="CareDesk operator command.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="prepare the database and model, start every process")
    run.add_argument("--customers", type=int, default=200, help="demo shop size if the CRM is empty")
    run.set_defaults(func=_cmd_run)

    db = sub.add_parser("db", help="database schema migrations")
    db.add_argument("action", choices=("upgrade", "current"))
    db.set_defaults(func=_cmd_db)

    seed = sub.add_parser("seed", help="fill an empty CRM with a deterministic demo shop")
    seed.add_argument("--customers", type=int, default=200)
    seed.add_argument("--seed", type=int, default=7)
    seed.add_argument("--as-of", help="the shop's 'today' (YYYY-MM-DD); default today")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if customers exist")
    seed.set_defaults(func=_cmd_seed)

    sentiment = sub.add_parser("sentiment", help="the sentiment scorer")
    sentiment_sub = sentiment.add_subparsers(dest="sentiment_command", required=True)
    evaluate = sentiment_sub.add_parser("evaluate", help="accuracy, macro-F1, per-class figures on a CSV")
    evaluate.add_argument("--csv", required=True)
    evaluate.add_argument("--text-col", default="text")
    evaluate.add_argument("--label-col", default="label")
    evaluate.set_defaults(func=_cmd_sentiment_evaluate)

    churn = sub.add_parser("churn", help="churn risk model")
    churn_sub = churn.add_subparsers(dest="churn_command", required=True)
    churn_train = churn_sub.add_parser("train", help="train on the CRM's history (time-based hold-out)")
    churn_train.add_argument("--as-of", help="the CRM's 'today' (YYYY-MM-DD); default today")
    churn_score = churn_sub.add_parser("score", help="write every customer's churn score and reasons")
    churn_score.add_argument("--as-of", help="the CRM's 'today' (YYYY-MM-DD); default today")
    churn_eval = churn_sub.add_parser("evaluate", help="cross-validate the pipeline on any customer table")
    churn_eval.add_argument("--csv", required=True)
    churn_eval.add_argument("--label", required=True)
    churn_eval.add_argument("--id")
    churn_eval.add_argument("--folds", type=int, default=5)
    for parser_ in (churn_train, churn_score, churn_eval):
        parser_.set_defaults(func=_cmd_churn)

    train = sub.add_parser("train", help="train the Rasa model when its inputs changed")
    train.add_argument("--force", action="store_true")
    train.set_defaults(func=_cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
