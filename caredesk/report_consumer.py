"""The report consumer of production mode: reads the event broker's queue and keeps the admins'
report tables up to date while conversations go on.

    python -m caredesk.report_consumer

Rasa publishes each new event of a conversation (a redacted copy, ``bot/tracker_store.py``) to
RabbitMQ's ``rasa-exchange`` fanout exchange, bound to our queue, and only *then* writes the events
to the tracker store. So the consumer collects the conversations the events name and, once the
tracker store holds the latest event announced for a conversation (matched by timestamp), derives
that conversation's episodes again from its whole stored history (``caredesk.reports.refresh``:
the derivation ``caredesk report rebuild`` runs for every conversation) and puts them in place of
its old rows. Messages are acknowledged only after that commit: a consumer that dies leaves them
queued and the next one does the work again, which is harmless (each refresh replaces, never adds).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import column, func, select, table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from common.settings import Settings, SettingsError, get_settings

logger = logging.getLogger("caredesk.report_consumer")

EXCHANGE = "rasa-exchange"  # Rasa's pika broker's default (rasa.core.brokers.pika.RABBITMQ_EXCHANGE)
PREFETCH = 2_000  # unacknowledged messages held while their conversations wait to be refreshed
TICK_S = 0.5
MAX_WAIT_S = 30.0  # a turn announced but never stored (its Rasa server died) is refreshed anyway
READY_FILE = "report_consumer.ready"
RETRY_PAUSE_S = 2.0  # after a failed refresh
# A conversation whose refresh fails on its own this many times (not for a database that is away)
# is given up: its messages are acknowledged, `caredesk report rebuild` derives it again.
MAX_FAILURES = 5
STORED = table("events", column("sender_id"), column("timestamp"))  # Rasa's SQL tracker store


@dataclass
class Pending:
    """The messages of one conversation not yet reflected in the report tables."""

    latest: float = 0.0  # timestamp of the newest announced event
    since: float = field(default_factory=time.monotonic)
    messages: list = field(default_factory=list)  # (message, announced timestamp, monotonic time taken)


def announced(body: bytes) -> tuple[str, float] | None:
    """The conversation and timestamp a broker message announces; None for anything else."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("sender_id"), str):
        return None
    stamp = event.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp):
        stamp = 0.0  # no usable time: refreshed as soon as anything of it is stored
    return event["sender_id"], float(stamp)


def stored_up_to(engine: Engine, conversation_ids: list[str]) -> dict[str, float]:
    """The newest stored event's timestamp of each conversation (absent: nothing stored yet)."""
    query = (select(STORED.c.sender_id, func.max(STORED.c.timestamp))
             .where(STORED.c.sender_id.in_(conversation_ids)).group_by(STORED.c.sender_id))
    with engine.connect() as connection:
        return {sender: float(latest or 0) for sender, latest in connection.execute(query)}


class ReportConsumer:
    def __init__(self, settings: Settings):
        from caredesk.reports import _tracker_engine

        self.settings = settings
        self.engine = _tracker_engine(settings.tracker_store_url)
        self.pending: dict[str, Pending] = {}
        self.failures: dict[str, int] = {}
        self.refreshed = 0

    def take(self, message) -> None:
        what = announced(message.body)
        if what is None:
            logger.warning("ignored a broker message that names no conversation")
            asyncio.ensure_future(message.ack())
            return
        sender, stamp = what
        pending = self.pending.setdefault(sender, Pending())
        pending.latest = max(pending.latest, stamp)
        pending.messages.append((message, stamp, time.monotonic()))

    def due(self) -> list[str]:
        """The conversations whose announced events are all stored (or waited for too long)."""
        if not self.pending:
            return []
        senders = list(self.pending)
        stored = stored_up_to(self.engine, senders)
        now = time.monotonic()
        return [s for s in senders
                if stored.get(s, -1.0) >= self.pending[s].latest - 1e-6 or now - self.pending[s].since > MAX_WAIT_S]

    async def _refresh(self, senders: list[str]) -> Exception | None:
        """Refresh these conversations and acknowledge their messages; the error if that failed.

        Only the messages taken before the refresh are acknowledged: while it runs (in a thread) the
        loop keeps taking messages, and a turn announced meanwhile may be stored after the refresh
        read the events. Such messages stay pending, so the conversation is refreshed again once
        they are stored (it may be its last turn: nothing else would refresh it)."""
        from caredesk import reports

        taken = {s: len(self.pending[s].messages) for s in senders}
        events = sum(taken.values())
        try:
            await asyncio.to_thread(reports.refresh, self.settings, senders, events, engine=self.engine)
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            return exc
        await self._ack(senders, taken)
        self.refreshed += len(senders)
        logger.info("report rows refreshed for %d conversation(s) (%d events)", len(senders), events)
        return None

    async def _ack(self, senders: list[str], taken: dict[str, int] | None = None) -> None:
        """Acknowledge these conversations' messages: all of them, or the first ``taken[sender]``
        (the later ones stay pending, waited for from when they were taken)."""
        done = []
        for sender in senders:
            self.failures.pop(sender, None)
            messages = self.pending.pop(sender).messages
            count = len(messages) if taken is None else taken[sender]
            done += messages[:count]
            if messages[count:]:
                rest = messages[count:]
                self.pending[sender] = Pending(latest=max(stamp for _, stamp, _ in rest),
                                               since=min(at for _, _, at in rest), messages=rest)
        for message, _, _ in done:
            await message.ack()

    async def flush(self) -> None:
        try:
            ready = await asyncio.to_thread(self.due)
        except Exception as exc:  # noqa: BLE001 - a database that is away: keep the messages, try again
            logger.warning("could not read the tracker store (%s); trying again", _described(exc))
            await asyncio.sleep(RETRY_PAUSE_S)
            return
        if not ready:
            return
        error = await self._refresh(ready)
        if error is None:
            return
        # One conversation may be what fails: refresh each alone, so the others do not wait for it.
        errors = {ready[0]: error} if len(ready) == 1 else {s: await self._refresh([s]) for s in ready}
        given_up = []
        for sender, error in errors.items():
            if error is None or isinstance(error, OperationalError):  # refreshed; the database is away
                continue
            self.failures[sender] = self.failures.get(sender, 0) + 1
            if self.failures[sender] >= MAX_FAILURES:
                given_up.append(sender)
        failed = [e for e in errors.values() if e is not None]
        if failed:
            logger.warning("could not refresh the report rows of %d conversation(s) (%s); trying again",
                           len(failed), _described(failed[0]))
        if given_up:
            await self._ack(given_up)
            logger.error("gave up refreshing %d conversation(s) after %d failures each: "
                         "`caredesk report rebuild` derives every conversation again", len(given_up), MAX_FAILURES)
        if failed:
            await asyncio.sleep(RETRY_PAUSE_S)


def _described(exc: BaseException) -> str:
    """The error's type and the first line of the driver's message, redacted: never SQLAlchemy's
    statement parameters (conversation ids)."""
    from crm_store.privacy import redact

    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {redact(lines[0] if lines else '')[:200]}"


async def consume(settings: Settings, stop: asyncio.Event, ready_file: Path | None = None) -> None:
    import aio_pika

    connection = await aio_pika.connect_robust(settings.rabbitmq_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        # Declared as Rasa declares them, so whichever starts first makes them.
        exchange = await channel.declare_exchange(EXCHANGE, type=aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(settings.rabbitmq_queue, durable=True)
        await queue.bind(exchange, "")
        consumer = ReportConsumer(settings)
        await queue.consume(consumer.take)
        logger.info("reading queue %r", settings.rabbitmq_queue)
        if ready_file is not None:
            ready_file.write_text(str(time.time()), encoding="utf-8")
        try:
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), TICK_S)
                await consumer.flush()
        finally:
            consumer.engine.dispose()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"Settings: {exc}", file=sys.stderr)
        return 2
    if not settings.rabbitmq_url:
        print("The report consumer reads the event broker: set RABBITMQ_URL.", file=sys.stderr)
        return 2
    ready_file = settings.var_dir / READY_FILE
    ready_file.unlink(missing_ok=True)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await consume(settings, stop, ready_file)

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"RabbitMQ at {settings.rabbitmq_url.rsplit('@', 1)[-1]} is not reachable: {exc}", file=sys.stderr)
        return 1
    finally:
        ready_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
