"""Throughput under concurrent conversations: CareDesk against a stock `rasa init` assistant, in one run.

    python benchmarks/throughput.py [--concurrency 1,20] [--lengths 20,60] [--models-dir DIR]
    python benchmarks/throughput.py --concurrency 1,20,100 --lengths 20,60,200   # the issue's full grid

Starts CareDesk (`caredesk run`: the embedded default, Rasa's SQL tracker store on SQLite, the
action server) on free ports, then a stock assistant (`rasa init --no-prompt` in a temporary folder,
trained there, its endpoints.yml pointing Rasa's SQL tracker store at a SQLite file) and drives each
over REST, one after the other, with N conversations at once, in step: each round every conversation
sends its next message (the same four messages in turn) and the round ends with the last reply, up
to the longest length. Figures are taken over the last ``--window`` rounds before each length:
messages per second, latency percentiles and the CPU time per message of the assistant's own
processes in that window (robust to other load on a shared machine, unlike messages per second), start-up
time, RSS memory per process after the load, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml

from caredesk.harness import free_port, start_stack, stop_stack

MESSAGES = ("hi", "what is your return policy", "do you ship to canada", "thanks")
SECRET = "benchmark-secret-0123456789abcdefghijkl"


@dataclass
class Turn:
    conversation: int
    number: int  # 1-based
    started: float
    seconds: float
    ok: bool


@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str]
    startup_s: float
    pids: list[int] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _turn(session: aiohttp.ClientSession, target: Target, sender: str, index: int, number: int) -> Turn:
    text = MESSAGES[(number - 1) % len(MESSAGES)]
    started = time.perf_counter()
    async with session.post(target.url, json={"sender": sender, "message": text}, headers=target.headers) as response:
        body = await response.json(content_type=None)
        ok = response.status == 200 and isinstance(body, list) and bool(body)
    return Turn(index, number, started, time.perf_counter() - started, ok)


async def drive(target: Target, concurrency: int, turns: int, run_id: str,
                cpu_after: dict[int, float] | None = None) -> list[Turn]:
    """``concurrency`` conversations in step: each round, every conversation sends its next message
    at once and the round ends with the last reply, so all conversations have the same length.
    ``cpu_after`` gets the assistant's CPU seconds at the end of each round (0: before the first)."""
    out: list[Turn] = []
    if cpu_after is not None:
        cpu_after[0] = cpu_seconds(target.pids)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        for number in range(1, turns + 1):
            out += await asyncio.gather(*(_turn(session, target, f"bench-{run_id}-{i}", i, number)
                                          for i in range(concurrency)))
            if cpu_after is not None:
                cpu_after[number] = cpu_seconds(target.pids)
    return out


def window_figures(turns: list[Turn], length: int, window: int, cpu_after: dict[int, float]) -> dict[str, float]:
    """Throughput, latency and CPU time per message over the rounds (length - window, length]."""
    chosen = [t for t in turns if length - window < t.number <= length]
    span = max(t.started + t.seconds for t in chosen) - min(t.started for t in chosen)
    ms = [t.seconds * 1000 for t in chosen]
    cpu_ms = 1000 * (cpu_after[length] - cpu_after[length - window]) / len(chosen)
    return {"rate": len(chosen) / span, "p50": statistics.median(ms), "p95": percentile(ms, 0.95),
            "p99": percentile(ms, 0.99), "failed": sum(not t.ok for t in chosen), "cpu_ms": cpu_ms}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time these processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_by_process(pids: list[int]) -> list[tuple[str, float]]:
    """(short command line, RSS in MB) of each process still alive, largest first."""
    rows = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        words = [w.decode(errors="replace") for w in command if w]
        label = " ".join(Path(words[0]).name.split() + [w for w in words[1:4] if not w.startswith("--auth")])
        rows.append((label[:60], kb / 1024))
    return sorted(rows, key=lambda row: -row[1])


def _wait_http(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.25)


def prepare_stock(folder: Path) -> None:
    """`rasa init --no-prompt` (it trains the model) unless ``folder`` already holds one."""
    if not list((folder / "models").glob("*.tar.gz")):
        folder.mkdir(parents=True, exist_ok=True)
        rasa = Path(sys.executable).with_name("rasa")
        print(f"rasa init in {folder} (trains the stock model) ...", file=sys.stderr, flush=True)
        subprocess.run([str(rasa), "init", "--no-prompt", "--init-dir", str(folder)], cwd=folder, check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    endpoints = {"tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(folder / "tracker.db")}}
    (folder / "endpoints.yml").write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    (folder / "tracker.db").unlink(missing_ok=True)


def start_stock(folder: Path) -> tuple[subprocess.Popen, Target]:
    port = free_port()
    rasa = Path(sys.executable).with_name("rasa")
    started = time.perf_counter()
    process = subprocess.Popen([str(rasa), "run", "--model", "models", "--endpoints", "endpoints.yml",
                                "--credentials", "credentials.yml", "--port", str(port)], cwd=folder,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait_http(f"{base}/webhooks/rest/", process, 300)
    target = Target("stock rasa init", f"{base}/webhooks/rest/webhook", {}, time.perf_counter() - started)
    return process, target


def wait_idle(pids: list[int], below: float = 0.05, timeout: float = 90.0) -> float:
    """Wait until these processes together use less than ``below`` of a core over a second (work
    they start with -- the console building its reports, a model loading lazily -- is not load);
    the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_seconds(pids)
        time.sleep(1.0)
        if cpu_seconds(pids) - before < below:
            break
    return time.monotonic() - started


def measure(target: Target, concurrency: list[int], lengths: list[int], window: int) -> dict:
    asyncio.run(drive(target, 2, len(MESSAGES), "warm"))  # first turns load lazily cached parts
    waited = wait_idle(target.pids)
    print(f"{target.name}: idle after {waited:.0f} s", file=sys.stderr, flush=True)
    results = {}
    for n in concurrency:
        print(f"{target.name}: {n} conversations x {max(lengths)} turns ...", file=sys.stderr, flush=True)
        started, cpu = time.perf_counter(), cpu_seconds(target.pids)
        cpu_after: dict[int, float] = {}
        turns = asyncio.run(drive(target, n, max(lengths), f"n{n}", cpu_after))
        elapsed = time.perf_counter() - started
        results[n] = {length: window_figures(turns, length, min(window, length), cpu_after) for length in lengths}
        results[n]["overall"] = len(turns) / elapsed
        results[n]["cpu_ms"] = 1000 * (cpu_seconds(target.pids) - cpu) / len(turns)
    results["rss"] = rss_by_process(target.pids)
    return results


def report(ours: Target, stock: Target, mine: dict, theirs: dict, concurrency: list[int], lengths: list[int],
           window: int) -> None:
    print(f"\nLoad average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores); window: last {window} turns before each length")
    print("\n| conversations | turns | CareDesk msg/s | stock msg/s | ratio | CareDesk p50/p95/p99 ms "
          "| stock p50/p95/p99 ms | CPU ms a message, CareDesk / stock (ratio) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in concurrency:
        for length in lengths:
            a, b = mine[n][length], theirs[n][length]
            failed = f" ({a['failed']:.0f}/{b['failed']:.0f} failed)" if a["failed"] or b["failed"] else ""
            print(f"| {n} | {length} | {a['rate']:.1f} | {b['rate']:.1f} | {a['rate'] / b['rate']:.2f}{failed} "
                  f"| {a['p50']:.0f} / {a['p95']:.0f} / {a['p99']:.0f} | {b['p50']:.0f} / {b['p95']:.0f} / "
                  f"{b['p99']:.0f} | {a['cpu_ms']:.0f} / {b['cpu_ms']:.0f} ({b['cpu_ms'] / a['cpu_ms']:.2f}) |")
        first, last = mine[n][lengths[0]], mine[n][lengths[-1]]
        print(f"| {n} | all | {mine[n]['overall']:.1f} | {theirs[n]['overall']:.1f} | "
              f"{mine[n]['overall'] / theirs[n]['overall']:.2f} | CareDesk {lengths[-1]} vs {lengths[0]} turns: "
              f"{last['rate'] / first['rate'] - 1:+.0%} msg/s, {last['cpu_ms'] / first['cpu_ms'] - 1:+.0%} CPU "
              f"a message | | {mine[n]['cpu_ms']:.0f} / {theirs[n]['cpu_ms']:.0f} |")
    print(f"\nStart-up: CareDesk {ours.startup_s:.1f} s (`caredesk run` until every process answers, the "
          f"demo CRM seeded on the way), stock {stock.startup_s:.1f} s (`rasa run` until REST answers); "
          f"ratio {ours.startup_s / stock.startup_s:.2f}")
    print("\n| process | RSS MB after the load |\n| --- | --- |")
    for label, mb in mine["rss"] + theirs["rss"]:
        print(f"| {label} | {mb:.0f} |")
    rasa_ours = max((mb for label, mb in mine["rss"] if "rasa_launcher" in label), default=0.0)
    rasa_stock = max((mb for _, mb in theirs["rss"]), default=0.0)
    total_ours = sum(mb for _, mb in mine["rss"])
    print(f"\nRasa server RSS: CareDesk {rasa_ours:.0f} MB, stock {rasa_stock:.0f} MB; all CareDesk processes "
          f"{total_ours:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,20",
                        help="conversations at once, comma-separated (1 gives the single-client latency)")
    parser.add_argument("--lengths", default="20,60", help="conversation lengths in turns, comma-separated")
    parser.add_argument("--window", type=int, default=10, help="turns before each length that are measured")
    parser.add_argument("--models-dir", type=Path, help="CareDesk's models folder (default: the project's)")
    parser.add_argument("--stock-dir", type=Path, help="keep the stock assistant here (trained once, reused)")
    parser.add_argument("--only", choices=["ours", "stock"], help="drive one assistant only (profiling)")
    args = parser.parse_args()
    concurrency = [int(x) for x in args.concurrency.split(",")]
    lengths = sorted(int(x) for x in args.lengths.split(","))
    with tempfile.TemporaryDirectory() as folder:
        results: dict[str, dict] = {}
        targets: dict[str, Target] = {}
        if args.only != "stock":
            env = {"CAREDESK_SECRET_KEY": SECRET, "CAREDESK_REST_RATE_LIMIT": "100000"}
            if args.models_dir:
                env["CAREDESK_MODELS_DIR"] = str(args.models_dir.resolve())
            started = time.perf_counter()
            stack = start_stack(Path(folder) / "var", extra_env=env)
            ours = Target("CareDesk", stack.rest_url, {"Authorization": f"Bearer {stack.rest_key()}"},
                          time.perf_counter() - started, descendants(stack.process.pid))
            for pid in ours.pids:  # for a profiler: py-spy record --pid <the rasa_launcher's>
                print(pid, *rss_by_process([pid]), file=sys.stderr)
            try:
                results["ours"] = measure(ours, concurrency, lengths, args.window)
            finally:
                stop_stack(stack)
            targets["ours"] = ours
        if args.only != "ours":
            stock_dir = args.stock_dir or Path(folder) / "stock"
            prepare_stock(stock_dir)
            process, stock = start_stock(stock_dir)
            stock.pids = descendants(process.pid)
            try:
                results["stock"] = measure(stock, concurrency, lengths, args.window)
            finally:
                process.terminate()
                process.wait(60)
            targets["stock"] = stock
            if args.stock_dir is None:
                shutil.rmtree(stock_dir, ignore_errors=True)
    if args.only:
        print(results)
        return 0
    report(targets["ours"], targets["stock"], results["ours"], results["stock"], concurrency, lengths, args.window)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
