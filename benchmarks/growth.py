"""How the CRM's batch work grows with the shop: seeding, churn training and scoring, building the
recommender and the segments for 10,000 / 30,000 / 100,000 customers, each size in a fresh database.

Each step is the operator's own command (`caredesk seed | churn train | churn score | recommend
train | segments`) run as a subprocess against that database, timed from start to exit, so the
figures include start-up and the database work, as an operator would see them. The table ends with
the growth from the smallest size to each larger one: CPU-time ratio against the customer ratio
(wall time on a shared machine depends on what else runs; CPU time much less).

    .venv/bin/python benchmarks/growth.py                        # SQLite files in a temporary folder
    .venv/bin/python benchmarks/growth.py --postgres             # a fresh PostgreSQL database per size
    .venv/bin/python benchmarks/growth.py --sizes 2000 5000      # a quick look
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CAREDESK = [sys.executable, "-m", "caredesk.cli"]
AS_OF = "2026-06-01"  # a fixed 'today', so every size sees the same calendar
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
STEPS = [  # (label, arguments after `caredesk`)
    ("seed", ["seed", "--customers", "{n}", "--as-of", AS_OF, "--conversations", "0"]),
    ("churn train", ["churn", "train", "--as-of", AS_OF]),
    ("churn score", ["churn", "score", "--as-of", AS_OF]),
    ("recommend train", ["recommend", "train", "--as-of", AS_OF]),
    ("segments", ["segments", "--as-of", AS_OF]),
]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(arguments: list[str], env: dict, log: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one `caredesk` command (CPU: the command's process and its children,
    the figure that holds on a shared machine)."""
    started, cpu = time.perf_counter(), _children_cpu()
    with log.open("ab") as out:
        out.write(f"\n$ caredesk {' '.join(arguments)}\n".encode())
        out.flush()
        result = subprocess.run([*CAREDESK, *arguments], cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"`caredesk {' '.join(arguments)}` failed (exit {result.returncode}); see {log}")
    return elapsed, _children_cpu() - cpu


def _postgres_database() -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text

    name = f"caredesk_growth_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"postgresql://postgres@127.0.0.1:5432/{name}", drop


def measure(size: int, folder: Path, logs: Path, postgres: bool) -> dict[str, tuple[float, float]]:
    var = folder / f"var-{size}"
    var.mkdir()
    drop: Callable[[], None] | None = None
    if postgres:
        url, drop = _postgres_database()
    else:
        url = f"sqlite:///{var / 'crm.db'}"
    env = {**os.environ, "DATABASE_URL": url, "CAREDESK_VAR_DIR": str(var),
           "TRACKER_STORE_URL": f"sqlite:///{var / 'tracker.db'}", "CAREDESK_MODELS_DIR": str(var / "models")}
    log = logs / f"growth-{size}.log"
    log.write_bytes(b"")
    try:
        _run(["db", "upgrade"], env, log)
        times = {}
        for label, arguments in STEPS:
            times[label] = _run([a.format(n=size) for a in arguments], env, log)
            wall, cpu = times[label]
            print(f"  {size:>7,} customers  {label:<16} {wall:8.1f} s wall {cpu:8.1f} s CPU", flush=True)
        return times
    finally:
        if drop is not None:
            drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database per size")
    parser.add_argument("--logs", type=Path, default=PROJECT / "var" / "bench",
                        help="where each size's command output goes (default: %(default)s)")
    args = parser.parse_args(argv)
    args.logs.mkdir(parents=True, exist_ok=True)
    sizes = sorted(args.sizes)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"Growth of the batch work on {backend} ({os.cpu_count()} cores), 'today' = {AS_OF}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="caredesk-growth-") as temporary:
        for size in sizes:
            results[size] = measure(size, Path(temporary), args.logs, args.postgres)
    labels = [label for label, _ in STEPS]
    print(f"\nEach cell: CPU seconds (wall seconds); load average at the end {os.getloadavg()[0]:.1f}")
    print("| customers | " + " | ".join(labels) + " | total |")
    print("|---:|" + "---:|" * (len(labels) + 1))
    for size in sizes:
        row = [results[size][label] for label in labels]
        cells = [f"{cpu:.1f} s ({wall:.0f} s)" for wall, cpu in row]
        total_wall, total_cpu = sum(w for w, _ in row), sum(c for _, c in row)
        print(f"| {size:,} | " + " | ".join(cells) + f" | {total_cpu:.1f} s ({total_wall:.0f} s) |")
    base = sizes[0]
    for size in sizes[1:]:
        ratio = size / base
        growth = ", ".join(f"{label} x{results[size][label][1] / results[base][label][1]:.2f}" for label in labels)
        print(f"CPU time, {size:,} against {base:,} customers (x{ratio:.1f}): {growth}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
