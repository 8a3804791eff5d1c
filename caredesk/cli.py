"""The ``caredesk`` operator command.

    caredesk run [--demo]             prepare everything and start the assistant (--demo: demo
                                      shop data in an empty CRM and the shop's demo login)
    caredesk run --production         the same on PostgreSQL, Redis and RabbitMQ, with two or more
                                      Rasa and action servers behind nginx and the report consumer
    caredesk rollout MODEL            a new model to each production Rasa server in turn
    caredesk production prepare       check PostgreSQL/Redis/RabbitMQ, migrate, create the tracker
                                      store, write var/endpoints.yml, credentials.yml, nginx/nginx.conf
                                      (what systemd or a container runs before the servers: deploy/)
    caredesk db upgrade | current     schema migrations
    caredesk seed [--customers N] [--seed S] [--as-of YYYY-MM-DD] [--if-empty] [--conversations N]
                                      (N conversations of history; default scales with customers, 0: none)
    caredesk train [--force]          train the Rasa model if its inputs changed
    caredesk sentiment evaluate --csv FILE [--text-col text] [--label-col label]
    caredesk churn train [--model auto|logistic_regression|gradient_boosting] | score
    caredesk churn evaluate --csv FILE --label COL [--id COL] [--folds 5] [--keep-leaky]
    caredesk customer forget ID [--yes]            erase a customer's personal data and conversations
    caredesk customer forget-requests [--all] [--reject REQUEST]
    caredesk users add NAME --role agent|admin [--password-stdin] | list | disable NAME | token NAME
    caredesk report rebuild                        derive the report tables from the stored conversations
    caredesk report summary [--since D] [--until D]
    caredesk report --since D --until D --out FILE [--with-personal-data]   self-contained HTML report
    caredesk nlu review [--since D] [--threshold 0.5] [--out review.csv]   misunderstood messages to annotate
    caredesk nlu learn FILE                        add the annotated ones to data/nlu/learned/
    caredesk recommend train [--as-of YYYY-MM-DD]  build the recommender from the orders (models/recommender.joblib)
    caredesk recommend evaluate --interactions FILE --user-col C --item-col C [--time-col C]
                                [--split time|random] [--seed S] [--k 10] [--holdout-days N] [--no-tune]
    caredesk segments [--as-of YYYY-MM-DD] [--json]  RFM segments: each one's size and profile
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime

from common.settings import SettingsError, get_settings


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


def seed_history_with_progress(settings, conversations: int | None, seed: int, as_of: datetime | None) -> None:
    """Conversation history for the freshly seeded shop (None: as many as the shop's size suggests)."""
    from tqdm import tqdm

    from caredesk.history_seed import seed_history

    if conversations == 0:
        return
    started = time.perf_counter()
    with tqdm(unit="conversation", desc="Seeding conversation history") as bar:
        def total(count: int) -> None:
            bar.total = count
            bar.refresh()

        stats = seed_history(settings.database_url, settings.tracker_store_url, conversations, seed=seed,
                             as_of=as_of, project_dir=settings.project_dir, on_progress=bar.update, on_total=total)
    if stats.skipped:
        print(f"No conversation history seeded: {stats.skipped}.")
        return
    print(f"Seeded {stats.conversations:,} conversations ({stats.sessions:,} sessions, {stats.user_messages:,} "
          f"customer messages, {stats.events:,} events): {stats.escalations:,} escalations "
          f"({stats.live_handovers:,} to a live agent, {stats.agent_replies:,} agent replies), "
          f"{stats.tickets:,} tickets, {stats.feedback:,} CSAT ratings, {stats.recontacts:,} re-contacts "
          f"in {time.perf_counter() - started:.1f} s.")
    rebuild_reports_with_progress(settings)


def rebuild_reports_with_progress(settings) -> None:
    """Derive the admins' report tables from the tracker store (after seeding history, or on demand)."""
    from tqdm import tqdm

    from caredesk.reports import rebuild

    with tqdm(unit="event", unit_scale=True, desc="Building the report tables") as bar:
        def total(count: int) -> None:
            bar.total = count
            bar.refresh()

        stats = rebuild(settings, on_progress=bar.update, on_total=total)
    print(f"Built {stats.episodes:,} episodes ({stats.negative_messages:,} negative messages) from "
          f"{stats.conversations:,} conversations, {stats.events_read:,} events, in {stats.seconds:.1f} s.")


def seed_history_apart(settings, conversations: int | None, seed: int, as_of: datetime | None) -> None:
    """The same, in a child process: seeding the history imports Rasa, which the long-running
    runner otherwise never loads (it trains and serves in child processes too)."""
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(
        target=seed_history_with_progress, args=(settings, conversations, seed, as_of))
    child.start()
    child.join()


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
    seed_history_with_progress(settings, args.conversations, args.seed, as_of)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from caredesk.training import train

    settings = get_settings()
    train(settings.project_dir, settings.models_dir, force=args.force)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from caredesk import production, runner
    from caredesk.training import train
    from crm_store import migrate
    from crm_store.seed import is_empty

    # Databases, logs and generated files hold customers' data: readable by this user only
    # (the processes started below inherit the mask).
    os.umask(0o077)
    if args.production:
        if args.demo:
            print("--demo is for development; production mode serves the CRM's own data.", file=sys.stderr)
            return 2
        production.apply_defaults()  # before the settings are read
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings.var_dir.chmod(0o700)  # an older install's files stay behind a closed folder
    if args.demo and settings.is_production:
        print("--demo seeds made-up customers and lets anyone log in at the shop as any of them: "
              "never in production (CAREDESK_ENV=production).", file=sys.stderr)
        return 2
    print(f"CareDesk ({settings.environment}{', production mode' if args.production else ''}) in "
          f"{settings.project_dir}", flush=True)
    if args.production:
        try:
            production.check_infrastructure(settings)
        except production.InfrastructureMissing as exc:
            print(f"Cannot start production mode: {exc}", file=sys.stderr)
            return 1
    migrate.upgrade(settings.database_url)
    seeded = False
    if is_empty(settings.database_url):
        if args.demo:
            seed_with_progress(settings.database_url, args.customers, 7, None)
            seed_history_apart(settings, args.conversations, 7, None)
            seeded = True
        else:
            print("The CRM is empty: not seeding it. For a demo shop with made-up customers run "
                  "`caredesk run --demo` (what `make run` does); for your shop, load its data.", flush=True)
    train(settings.project_dir, settings.models_dir)
    train_recommender(settings, again=seeded)
    try:
        if args.production:
            print(f"Starting {len(settings.action_backend_ports)} action servers, "
                  f"{len(settings.rasa_backend_ports)} Rasa servers, nginx, the report consumer, "
                  "the console and the shop ...", flush=True)
            started = production.start(settings)
        else:
            print("Starting the action server and the Rasa server ...", flush=True)
            started = runner.start_all(settings, demo=args.demo)
    except (runner.StartupFailed, production.InfrastructureMissing) as exc:
        print(f"Could not start CareDesk: {exc}", file=sys.stderr)
        return 1
    print(production.banner(settings) if args.production else runner.banner(settings, started), flush=True)
    if args.demo:
        _first_demo_admin(settings)
    return runner.serve_forever(settings, started)


def _cmd_production_prepare(args: argparse.Namespace) -> int:
    import shutil

    from caredesk import production, runner
    from crm_store import migrate

    os.umask(0o077)
    production.apply_defaults()
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        production.check_infrastructure(settings, nginx=False)
        migrate.upgrade(settings.database_url)
        production.prepare_tracker_store(settings)
        written = [runner.write_endpoints(settings), runner.write_credentials(settings)]
        if shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"):  # else nginx runs elsewhere
            written.append(production.write_nginx(settings))
    except production.InfrastructureMissing as exc:
        print(f"Cannot prepare production mode: {exc}", file=sys.stderr)
        return 1
    print("Migrated the CRM, created the tracker store; wrote " + ", ".join(map(str, written)))
    return 0


def _cmd_rollout(args: argparse.Namespace) -> int:
    import subprocess
    from pathlib import Path

    from caredesk import production

    production.apply_defaults()
    settings = get_settings()
    model = Path(args.model)
    if not model.is_file():
        print(f"No model at {model}", file=sys.stderr)
        return 2
    try:
        production.roll_out(settings, model)
    except (OSError, subprocess.SubprocessError, production.InfrastructureMissing) as exc:
        print(f"The rollout stopped: {exc}", file=sys.stderr)
        return 1
    print(f"Every Rasa server serves {model.name}.")
    return 0


def train_recommender(settings, again: bool = False) -> None:
    """The chat's recommendations need a model: build it from the CRM's orders when there is none,
    or ``again`` (a freshly seeded shop: a stored model knows other customers). A shop with no
    orders yet keeps the chat's fallback, the CRM's best sellers, until `caredesk recommend train`."""
    from crm_store.services import recommend

    if (settings.models_dir / recommend.MODEL_FILE).exists() and not again:
        return
    print("Building the recommender from the CRM's orders ...", flush=True)
    try:
        report = recommend.train_model(settings.database_url, settings.models_dir)
    except ValueError as exc:
        print(f"No recommender yet ({exc}); the chat suggests best sellers meanwhile.", flush=True)
        return
    print(f"Built the recommender from {report['order_lines']:,} order lines.", flush=True)


def _first_demo_admin(settings) -> None:
    """A demo needs someone who can log in to the console: with no console users at all, make an
    admin with a generated password, shown here once (never stored in clear)."""
    from crm_store.services import users
    from crm_store.unit_of_work import UnitOfWork

    if users.list_users(UnitOfWork(settings.database_url)):
        return
    made = users.add_user("admin", "admin", UnitOfWork(settings.database_url), actor="caredesk run --demo")
    print(f"Console log-in for this demo: admin / {made.password} (shown once; "
          "`caredesk users add NAME --role agent` adds agents)", flush=True)


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
            evaluation = cross_validate(frame, args.label, args.id, args.folds, args.keep_leaky)
        except (OSError, ValueError) as exc:
            print(f"Cannot evaluate {args.csv}: {exc}", file=sys.stderr)
            return 2
        for warning in evaluation.warnings():  # also in the JSON; here so a person sees them
            print(f"warning: {warning}", file=sys.stderr)
        print(json.dumps(evaluation.to_dict(), indent=2))
        return 0
    from crm_store.services import churn

    if args.churn_command == "train":
        models = churn.MODELS if args.model == "auto" else (args.model,)
        print(json.dumps(churn.train_model(settings.database_url, settings.models_dir, as_of, models=models),
                         indent=2))
        return 0
    try:
        count = churn.score_customers(settings.database_url, settings.models_dir, as_of)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Scored {count:,} customers.")
    return 0


def _operator() -> str:
    """Who runs this command, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _print_forget_report(report, heading: str) -> None:
    print(heading)
    for line in report.lines():
        print(line)
    if report.open_orders:
        print(f"Warning: {len(report.open_orders)} order(s) still under way ({', '.join(report.open_orders)}): "
              "their delivery address is erased too, so ship or cancel them first.")


def _cmd_customer_forget(args: argparse.Namespace) -> int:
    from crm_store import errors, migrate
    from crm_store.services import privacy
    from crm_store.unit_of_work import UnitOfWork

    settings = get_settings()
    migrate.upgrade(settings.database_url)

    def forget(dry_run: bool):
        return privacy.forget_customer(args.customer_id, UnitOfWork(settings.database_url),
                                       tracker_store_url=settings.tracker_store_url, actor=_operator(),
                                       dry_run=dry_run)

    try:
        if not args.yes:
            preview = forget(dry_run=True)
            _print_forget_report(preview, f"Forgetting customer {args.customer_id} would erase:"
                                 + (" (already forgotten)" if preview.already_forgotten else ""))
            if not sys.stdin.isatty():
                print("Nothing erased: there is no terminal to confirm on. Run again with --yes to erase.",
                      file=sys.stderr)
                return 2
            answer = input(f"Type the customer id ({args.customer_id}) to erase this for good: ").strip()
            if answer != str(args.customer_id):
                print("Nothing erased.")
                return 1
        report = forget(dry_run=False)
    except errors.CustomerNotFound:
        print(f"There is no customer {args.customer_id}.", file=sys.stderr)
        return 2
    except errors.TrackerLogBusy as exc:
        print(f"Customer {args.customer_id} is not forgotten yet: {exc}", file=sys.stderr)
        return 3
    _print_forget_report(report, f"Forgot customer {args.customer_id}:")
    print("Conversations still being typed in are re-saved by Rasa at the end of their turn; "
          "run it again if the customer was chatting.")
    return 0


def _cmd_customer_requests(args: argparse.Namespace) -> int:
    from crm_store import errors, migrate
    from crm_store.services import privacy
    from crm_store.unit_of_work import UnitOfWork

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    uow = UnitOfWork(settings.database_url)
    if args.reject is not None:
        try:
            rejected = privacy.reject_forget_request(args.reject, uow, actor=_operator())
        except errors.InvalidInput as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"Forget request {rejected.id} (customer {rejected.customer_id}) rejected.")
        return 0
    found = privacy.list_forget_requests(uow, status=None if args.all else "pending")
    if not found:
        print("No forget requests." if args.all else "No pending forget requests.")
        return 0
    print(f"{'request':>7}  {'customer':>8}  {'requested (UTC)':<19}  {'status':<8}  channel")
    for r in found:
        print(f"{r.id:>7}  {r.customer_id:>8}  {r.requested_at:%Y-%m-%d %H:%M:%S}  {r.status:<8}  {r.channel or '-'}")
    if not args.all:
        print("Erase with: caredesk customer forget CUSTOMER_ID --yes   "
              "(or reject: caredesk customer forget-requests --reject REQUEST)")
    return 0


def _cmd_users(args: argparse.Namespace) -> int:
    from crm_store import errors, migrate
    from crm_store.services import users
    from crm_store.unit_of_work import UnitOfWork

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    uow = UnitOfWork(settings.database_url)
    try:
        if args.users_command == "add":
            password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
            made = users.add_user(args.name, args.role, uow, password=password, actor=_operator())
            print(f"Added {made.user.role} {made.user.username}.")
            if password is None:
                print(f"Password (shown once): {made.password}")
            print(f"Personal API token (shown once): {made.token}")
        elif args.users_command == "list":
            print(f"{'user':<24}  {'role':<6}  {'status':<8}  {'token since':<16}  created")
            for u in users.list_users(uow):
                since = f"{u.token_created_at:%Y-%m-%d %H:%M}" if u.has_token and u.token_created_at else "-"
                print(f"{u.username:<24}  {u.role:<6}  {'disabled' if u.disabled else 'active':<8}  "
                      f"{since:<16}  {u.created_at:%Y-%m-%d}")
        elif args.users_command == "disable":
            users.disable_user(args.name, uow, actor=_operator())
            print(f"Disabled {args.name}: their password and token no longer work.")
        else:
            token = users.issue_token(args.name, uow, actor=_operator())
            print(f"New personal API token for {args.name} (shown once; the old one no longer works): {token}")
    except (errors.InvalidInput, users.UserNotFound) as exc:
        message = f"There is no user {args.name!r}." if isinstance(exc, users.UserNotFound) else str(exc)
        print(message, file=sys.stderr)
        return 2
    return 0


def _day(value: str):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crm_store import migrate

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    if args.since and args.until and args.since > args.until:
        print("--since is after --until.", file=sys.stderr)
        return 2
    if args.report_command == "rebuild":
        rebuild_reports_with_progress(settings)
        return 0
    if args.report_command is None and args.out:
        from caredesk.report_html import write_report  # helper module of the HTML report

        out = Path(args.out)
        write_report(settings, since=args.since, until=args.until, out=out,
                     with_personal_data=args.with_personal_data)
        print(f"Wrote {out}.")
        return 0
    from caredesk.reports import segment_lines, summary_lines
    from crm_store.services import reports, segments
    from crm_store.unit_of_work import UnitOfWork

    episodes = reports.load_episodes(UnitOfWork(settings.database_url), since=args.since, until=args.until)
    for line in summary_lines(episodes, reports.last_build(UnitOfWork(settings.database_url))):
        print(line)
    for line in segment_lines(segments.load_summary(settings.models_dir / segments.SUMMARY_FILE)):
        print(line)
    return 0


def _report_parser(sub) -> None:
    report = sub.add_parser("report", help="the admins' reports: rebuild the tables, a summary, an HTML file",
                            description="With --out: write a self-contained HTML report of the period. "
                                        "Without a command or --out: print the summary.")
    report.add_argument("--since", type=_day, help="first day (YYYY-MM-DD, UTC)")
    report.add_argument("--until", type=_day, help="last day, included (YYYY-MM-DD, UTC)")
    report.add_argument("--out", help="write the HTML report to this file")
    report.add_argument("--with-personal-data", action="store_true",
                        help="name at-risk customers in the HTML report (otherwise ids only)")
    report_sub = report.add_subparsers(dest="report_command")
    report_sub.add_parser("rebuild", help="derive the episode tables from the stored conversations")
    summary = report_sub.add_parser("summary", help="headline figures of a period")
    # SUPPRESS: a date given before the command (report --since D summary) is not reset to None.
    summary.add_argument("--since", type=_day, default=argparse.SUPPRESS, help="first day (YYYY-MM-DD, UTC)")
    summary.add_argument("--until", type=_day, default=argparse.SUPPRESS, help="last day, included (YYYY-MM-DD, UTC)")
    report.set_defaults(func=_cmd_report)


def _cmd_nlu(args: argparse.Namespace) -> int:
    """Learning from conversations (bot/nlu/learning.py): review what the model missed, learn it."""
    from pathlib import Path

    from tqdm import tqdm

    from bot.nlu import learning as nlu_learning

    settings = get_settings()
    if args.nlu_command == "learn":
        try:
            result = nlu_learning.learn_file(Path(args.file), settings.project_dir)
        except (OSError, nlu_learning.AnnotationError) as exc:
            print(f"Cannot learn from {args.file}: {exc}", file=sys.stderr)
            return 2
        for line in nlu_learning.summary(result):
            print(line)
        return 0
    if not 0 <= args.threshold <= 1:
        print("--threshold is a confidence between 0 and 1.", file=sys.stderr)
        return 2
    with tqdm(unit="message", unit_scale=True, desc="Reading the stored customer messages") as bar:
        def total(count: int) -> None:
            bar.total = count
            bar.refresh()

        missed = nlu_learning.read_missed(settings.tracker_store_url, threshold=args.threshold, since=args.since,
                                          on_progress=bar.update, on_total=total)
    rows = nlu_learning.review_rows(missed)
    out = Path(args.out)
    nlu_learning.write_review(rows, out)
    print(f"Wrote {out}: {len(rows):,} distinct texts of {len(missed):,} missed messages in "
          f"{len({row.group for row in rows}):,} groups. Fill the intent column, then `caredesk nlu learn {out}`.")
    return 0


def _nlu_parser(sub) -> None:
    nlu = sub.add_parser("nlu", help="learn from conversations: review missed messages, learn annotated ones")
    nlu_sub = nlu.add_subparsers(dest="nlu_command", required=True)
    review = nlu_sub.add_parser("review", help="write the stored messages the model missed to a CSV to annotate")
    review.add_argument("--since", type=_day, help="first day (YYYY-MM-DD, UTC)")
    review.add_argument("--threshold", type=float, default=0.5,
                        help="keep messages whose intent scored below this, besides fallbacks (default 0.5)")
    review.add_argument("--out", default="review.csv", help="the CSV to write (default review.csv)")
    learn = nlu_sub.add_parser("learn", help="add an annotated review CSV's texts to data/nlu/learned/")
    learn.add_argument("file")
    nlu.set_defaults(func=_cmd_nlu)


def _cmd_recommend(args: argparse.Namespace) -> int:
    """Recommendations (crm_store/services/recommend.py; protocol in crm_store/scoring/recommend_eval.py)."""
    import json

    from tqdm import tqdm

    if args.recommend_command == "evaluate":
        from crm_store.scoring import recommend_eval

        try:
            if args.split == "time" and not args.time_col:
                raise recommend_eval.InteractionsError("a time split needs a time column (--time-col)")
            frame = recommend_eval.read_interactions(args.interactions, args.user_col, args.item_col, args.time_col)
            with tqdm(unit="trial", desc="Choosing parameters on a validation split", disable=args.no_tune) as bar:
                report = recommend_eval.evaluate(frame, args.split, k=args.k, seed=args.seed,
                                                 holdout_days=args.holdout_days, tune_params=not args.no_tune,
                                                 on_trial=lambda setting, score: bar.update())
        except (OSError, ValueError) as exc:
            print(f"Cannot evaluate {args.interactions}: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(report, indent=2, default=str))
        return 0
    from crm_store import migrate
    from crm_store.services import recommend

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    as_of = datetime.strptime(args.as_of, "%Y-%m-%d") if args.as_of else None
    started = time.perf_counter()
    with tqdm(total=len(recommend.STAGES), unit="step", desc="Building the recommender") as bar:
        def step(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update()

        try:
            report = recommend.train_model(settings.database_url, settings.models_dir, as_of, on_step=step)
        except ValueError as exc:
            bar.close()
            print(f"Cannot build the recommender: {exc}", file=sys.stderr)
            return 2
        bar.update(bar.total - bar.n)
    print(f"Built the recommender from {report['order_lines']:,} order lines of {report['customers']:,} customers "
          f"over {report['products']:,} products in {time.perf_counter() - started:.1f} s: {report['path']}")
    return 0


def _cmd_segments(args: argparse.Namespace) -> int:
    import json

    from crm_store import migrate
    from crm_store.services import segments

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    as_of = datetime.strptime(args.as_of, "%Y-%m-%d") if args.as_of else None
    try:
        found = segments.segment_customers(settings.database_url, as_of)
    except ValueError as exc:
        print(f"Cannot segment the customers: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(found.to_dict(), indent=2, default=float))
        return 0
    tried = ", ".join(f"k={k}: {v:.3f}" for k, v in found.silhouettes.items())
    print(f"{found.k} segments (k-means over log recency, frequency and spend; k chosen by the highest mean "
          f"silhouette: {tried})")
    print(f"{'segment':>7}  {'customers':>9}  {'share':>5}  {'recency (d)':>11}  {'orders':>6}  {'spend':>10}  profile")
    for number, row in found.profiles.iterrows():
        print(f"{number:>7}  {row.customers:>9,}  {row.share:>5.0%}  {row.median_recency_days:>11.0f}  "
              f"{row.median_orders:>6.1f}  {row.median_spend:>10,.2f}  {row.profile}")
    return 0


def _recommend_parser(sub) -> None:
    recommend = sub.add_parser("recommend", help="product recommendations: build from the CRM, evaluate on a table")
    recommend_sub = recommend.add_subparsers(dest="recommend_command", required=True)
    train = recommend_sub.add_parser("train", help="build the model from the CRM's orders and store it")
    train.add_argument("--as-of", help="the CRM's 'today' (YYYY-MM-DD); default today")
    evaluate = recommend_sub.add_parser(
        "evaluate", help="precision, recall, NDCG at k and coverage of our model, popularity and item-kNN")
    evaluate.add_argument("--interactions", required=True, help="a CSV (or .csv.gz), one row per interaction")
    evaluate.add_argument("--user-col", required=True)
    evaluate.add_argument("--item-col", required=True)
    evaluate.add_argument("--time-col", help="needed for --split time")
    evaluate.add_argument("--split", choices=("time", "random"), default="time")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--k", type=int, default=10)
    evaluate.add_argument("--holdout-days", type=float,
                          help="time split: hold out the last N days (default: the last 20%% of interactions)")
    evaluate.add_argument("--no-tune", action="store_true", help="skip choosing parameters on a validation split")
    recommend.set_defaults(func=_cmd_recommend)
    segments = sub.add_parser("segments", help="customer segments (k-means over recency, frequency, spend)")
    segments.add_argument("--as-of", help="the CRM's 'today' (YYYY-MM-DD); default today")
    segments.add_argument("--json", action="store_true", help="print JSON instead of a table")
    segments.set_defaults(func=_cmd_segments)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caredesk", description="CareDesk operator command.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="prepare the database and model, start every process")
    run.add_argument("--demo", action="store_true",
                     help="seed an empty CRM with a demo shop and switch the shop's demo login on "
                          "(development only)")
    run.add_argument("--customers", type=int, default=200, help="demo shop size (with --demo)")
    run.add_argument("--conversations", type=int, default=None,
                     help="conversation history seeded with the demo shop (default scales with customers; 0: none)")
    run.add_argument("--production", action="store_true",
                     help="PostgreSQL, Redis, RabbitMQ, several Rasa and action servers behind nginx, "
                          "and the report consumer (addresses from DATABASE_URL, REDIS_URL, RABBITMQ_URL)")
    run.set_defaults(func=_cmd_run)

    prepare = sub.add_parser("production", help="production mode's preparation without starting anything")
    prepare.add_argument("action", choices=("prepare",))
    prepare.set_defaults(func=_cmd_production_prepare)

    rollout = sub.add_parser("rollout", help="load a new model into each production Rasa server in turn")
    rollout.add_argument("model", help="the trained model (.tar.gz)")
    rollout.set_defaults(func=_cmd_rollout)

    db = sub.add_parser("db", help="database schema migrations")
    db.add_argument("action", choices=("upgrade", "current"))
    db.set_defaults(func=_cmd_db)

    seed = sub.add_parser("seed", help="fill an empty CRM with a deterministic demo shop")
    seed.add_argument("--customers", type=int, default=200)
    seed.add_argument("--seed", type=int, default=7)
    seed.add_argument("--as-of", help="the shop's 'today' (YYYY-MM-DD); default today")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if customers exist")
    seed.add_argument("--conversations", type=int, default=None,
                      help="conversations of history in the tracker store (default: about ten per "
                           "customer-year, at most 20,000; 0: none)")
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
    churn_train.add_argument("--model", choices=["auto", "logistic_regression", "gradient_boosting"], default="auto",
                             help="auto (default): whichever cross-validates better on the training cutoff")
    churn_score = churn_sub.add_parser("score", help="write every customer's churn score and reasons")
    churn_score.add_argument("--as-of", help="the CRM's 'today' (YYYY-MM-DD); default today")
    churn_eval = churn_sub.add_parser("evaluate", help="cross-validate logistic regression and gradient boosting "
                                      "on any customer table, choose one, warn about leaky columns")
    churn_eval.add_argument("--csv", required=True)
    churn_eval.add_argument("--label", required=True)
    churn_eval.add_argument("--id")
    churn_eval.add_argument("--folds", type=int, default=5)
    churn_eval.add_argument("--keep-leaky", action="store_true",
                            help="keep columns flagged as leaking the label in the models (still warned about)")
    for parser_ in (churn_train, churn_score, churn_eval):
        parser_.set_defaults(func=_cmd_churn)

    train = sub.add_parser("train", help="train the Rasa model when its inputs changed")
    train.add_argument("--force", action="store_true")
    train.set_defaults(func=_cmd_train)

    customer = sub.add_parser("customer", help="customers' personal data")
    customer_sub = customer.add_subparsers(dest="customer_command", required=True)
    forget = customer_sub.add_parser("forget", help="erase a customer's personal data and conversations")
    forget.add_argument("customer_id", type=int)
    forget.add_argument("--yes", action="store_true", help="erase without asking (shows what it erased)")
    forget.set_defaults(func=_cmd_customer_forget)
    requests = customer_sub.add_parser("forget-requests", help="customers who asked to be forgotten")
    requests.add_argument("--all", action="store_true", help="done and rejected ones too")
    requests.add_argument("--reject", type=int, metavar="REQUEST", help="close a pending request unerased")
    requests.set_defaults(func=_cmd_customer_requests)

    users = sub.add_parser("users", help="agents and admins of the support desk")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    users_add = users_sub.add_parser("add", help="a new user; prints their personal API token once")
    users_add.add_argument("name")
    users_add.add_argument("--role", choices=("agent", "admin", "analyst"), required=True)
    users_add.add_argument("--password-stdin", action="store_true",
                           help="read the password from the first line of stdin (else one is generated)")
    users_sub.add_parser("list", help="every user, their role and whether they are enabled")
    users_disable = users_sub.add_parser("disable", help="end a user's access (password and token)")
    users_disable.add_argument("name")
    users_token = users_sub.add_parser("token", help="a new personal API token; the old one stops working")
    users_token.add_argument("name")
    users.set_defaults(func=_cmd_users)
    _report_parser(sub)
    _nlu_parser(sub)
    _recommend_parser(sub)
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
