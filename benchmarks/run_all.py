"""Run every benchmark in turn and print its figures (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ["crm_services.py", "--postgres"],
    ["nlu_bitext.py", "--split", "test"],
    ["sentiment_reviews.py"],
    ["churn_online_retail.py"],
    ["churn_crm.py"],
    ["recommend_online_retail.py"],
    ["chat_latency.py"],
    ["throughput.py"],  # CareDesk against a stock `rasa init` assistant, 20 conversations at once
    ["adversarial_parse.py"],
    ["growth.py"],  # seeding, churn, recommender and segments for 10k / 30k / 100k customers
]


def main() -> int:
    failed = 0
    for script, *args in BENCHMARKS:
        print(f"\n== {script} {' '.join(args)}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / script), *args], cwd=HERE.parent).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
