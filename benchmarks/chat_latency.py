"""Turn latency of the running assistant: the web chat channel (socket.io over WebSocket, as the
widget uses it) against Rasa's REST channel as the baseline, in the same run on the same stack.

    python benchmarks/chat_latency.py [--rounds 40]

Starts `caredesk run` on free ports with its own CRM, then sends the same customer messages over
both channels, alternating, so machine noise falls on both alike. A turn is timed from sending
the message to the last reply (REST: the HTTP response; web: the channel's ``typing`` off event).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from caredesk.harness import post_json, start_stack, stop_stack
from caredesk.webchat_client import WebChat
from common import identity_token
from crm_store import models
from crm_store.unit_of_work import UnitOfWork

SECRET = "benchmark-secret-0123456789abcdefghijkl"


def _messages(database_url: str) -> list[str]:
    with UnitOfWork(database_url) as uow:
        ref = uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == 1, models.Order.status == "shipped")).scalars().first()
    return ["hi", f"wer is my order {ref}??", "can u recommend something", "whats ur return policy",
            "thx bye"]


def _summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return (f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {pick(0.95):.0f} | {pick(0.99):.0f} "
            f"| {len(ms) / sum(seconds):.1f} |")


async def _run(stack, rounds: int) -> tuple[list[float], list[float]]:
    token = identity_token.issue(1, SECRET, identity_token.CHAT_IDENTITY)
    messages = _messages(stack.database_url)
    rest, web = [], []
    rasa = f"http://127.0.0.1:{stack.rasa_port}"
    async with WebChat(rasa.replace("http://", "ws://"), stack.shop_url) as chat:
        for round_no in range(rounds):
            await chat.session(token)  # a fresh conversation each round, like a new visitor
            sender = f"bench-rest-{round_no}"
            for text in messages:
                started = time.perf_counter()
                await asyncio.to_thread(post_json, stack.rest_url,
                                        {"sender": sender, "message": text,
                                         "metadata": {"identity_token": token}}, 60,
                                        {"Authorization": f"Bearer {stack.rest_key()}"})
                rest.append(time.perf_counter() - started)
                web.append(await chat.turn(text))
            print(f"\rround {round_no + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rest, web


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="conversations per channel (5 turns each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        stack = start_stack(Path(folder), extra_env={"CAREDESK_SECRET_KEY": SECRET})
        try:
            asyncio.run(_run(stack, 1))  # warm-up: first turns load lazily cached parts
            rest, web = asyncio.run(_run(stack, args.rounds))
        finally:
            stop_stack(stack)
    print("| channel | turns | p50 ms | p95 ms | p99 ms | turns/s (one client) |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(_summary("REST (baseline)", rest))
    print(_summary("web chat (socket.io)", web))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
