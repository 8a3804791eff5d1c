"""Many conversations at once over REST through nginx, and what the tracker store kept of them.

Each conversation sends twenty different messages (a rotation of :data:`MESSAGES`, so no text
repeats within one conversation and the stored order can be checked text by text), one after the
other, each after the reply to the one before, as people do. Every turn is recorded: its HTTP
status, the replies, the time it took, or the error the client saw."""

from __future__ import annotations

import asyncio
import json
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, text

from tests.actions_support import load_domain

# The channels' "your message is saved" (bot/channels/conversations.py), as domain.yml words it.
NO_REPLY = load_domain()["responses"]["utter_no_reply"][0]["text"]

# Small talk and general questions: answers that need no CRM data.
MESSAGES = (
    "hi", "what payment methods do you accept", "how long does shipping take", "thanks",
    "do you ship internationally", "what is your return policy", "hello there", "thank you so much",
    "how are you", "are you a bot", "what are your opening hours", "good morning", "can I pay with paypal",
    "how much is shipping", "who are you", "great, thanks", "what can you do", "do you have a warranty",
    "ok", "cool",
)
CLIENT_TIMEOUT_S = 180  # above nginx's proxy_read_timeout (120 s): nginx answers first, or it is a hang


@dataclass
class Turn:
    number: int
    text: str
    status: int | None = None  # None: no HTTP answer (connection refused or reset, or a timeout)
    replies: list = field(default_factory=list)
    body: str = ""
    error: str = ""
    seconds: float = 0.0
    sent_at: float = 0.0

    @property
    def answered(self) -> bool:
        """A real answer from the assistant."""
        return self.status == 200 and bool(self.replies) and not self.saved_only

    @property
    def saved_only(self) -> bool:
        """The channel's word that the message is saved but could not be answered just now."""
        return self.status == 200 and any(reply.get("text") == NO_REPLY for reply in self.replies)

    @property
    def hung(self) -> bool:
        return self.error.startswith("TimeoutError")


@dataclass
class Conversation:
    sender: str
    turns: list[Turn] = field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        return f"api:{self.sender}"


class Load:
    """``conversations`` conversations of ``turns`` turns each, sent from a thread of their own
    (:meth:`start`) or in this one (:meth:`run`)."""

    def __init__(self, url: str, key: str, prefix: str, conversations: int, turns: int = 20,
                 think_s: tuple[float, float] = (0.0, 0.0), retry_wait_s: float = 0.0):
        self.url, self.key, self.prefix = url, key, prefix
        self.think_s, self.retry_wait_s = think_s, retry_wait_s
        self.conversations = [Conversation(f"{prefix}-{n}") for n in range(conversations)]
        self.turns = turns
        self.done = 0
        self.started_at = self.finished_at = 0.0
        self._thread: threading.Thread | None = None

    def texts(self, number: int) -> list[str]:
        rotation = number % len(MESSAGES)
        rotated = MESSAGES[rotation:] + MESSAGES[:rotation]
        return list(rotated[:self.turns])

    async def _converse(self, session: aiohttp.ClientSession, number: int) -> None:
        conversation = self.conversations[number]
        rng = random.Random(number)
        await asyncio.sleep(rng.uniform(0, 2))  # people do not all start on the same millisecond
        for turn_number, message in enumerate(self.texts(number), 1):
            turn = Turn(turn_number, message, sent_at=time.monotonic())
            try:
                async with session.post(self.url, json={"sender": conversation.sender, "message": message},
                                        headers={"Authorization": f"Bearer {self.key}"}) as response:
                    turn.status = response.status
                    turn.body = await response.text()
                    if response.status == 200:
                        turn.replies = json.loads(turn.body)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                turn.error = f"{type(exc).__name__}: {exc}"
            turn.seconds = time.monotonic() - turn.sent_at
            conversation.turns.append(turn)
            self.done += 1
            await asyncio.sleep(rng.uniform(*self.think_s) + (0 if turn.answered else self.retry_wait_s))

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
        connector = aiohttp.TCPConnector(limit=0)
        self.started_at = time.monotonic()
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            await asyncio.gather(*(self._converse(session, n) for n in range(len(self.conversations))))
        self.finished_at = time.monotonic()

    def run(self) -> Load:
        asyncio.run(self._run())
        return self

    def start(self) -> Load:
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def wait_for(self, done: int, timeout_s: float = 600) -> None:
        deadline = time.monotonic() + timeout_s
        while self.done < done:
            assert time.monotonic() < deadline, f"only {self.done} of {done} messages answered in {timeout_s} s"
            assert self._thread is None or self._thread.is_alive(), "the load stopped"
            time.sleep(0.2)

    def join(self, timeout_s: float = 1800) -> Load:
        assert self._thread is not None
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), f"the load did not finish in {timeout_s} s"
        return self

    # ---- figures ---------------------------------------------------------------------------------

    def all_turns(self) -> list[Turn]:
        return [turn for conversation in self.conversations for turn in conversation.turns]

    def figures(self) -> str:
        turns = self.all_turns()
        seconds = [turn.seconds for turn in turns if turn.answered]
        wall = self.finished_at - self.started_at
        cuts = statistics.quantiles(seconds, n=100) if len(seconds) >= 2 else [0.0] * 99
        outcomes = outcome_counts(turns)
        return (f"{len(self.conversations)} conversations x {self.turns} turns: {len(turns)} messages in {wall:.0f} s, "
                f"{len(turns) / wall:.1f} messages/s; latency of answered turns p50 {cuts[49]:.2f} s, "
                f"p95 {cuts[94]:.2f} s, max {max(seconds, default=0):.2f} s; outcomes {outcomes}")


def outcome_counts(turns: list[Turn]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for turn in turns:
        if turn.answered:
            kind = "answered"
        elif turn.saved_only:
            kind = "'your message is saved'"
        elif turn.status is not None:
            kind = f"HTTP {turn.status}" + (" (empty)" if turn.status == 200 else "")
        else:
            kind = turn.error.split(":")[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


# ---- what was stored -----------------------------------------------------------------------------


@dataclass
class Stored:
    user_texts: list[str] = field(default_factory=list)
    bot_events: int = 0


def stored_conversations(database_url: str, prefix: str) -> dict[str, Stored]:
    """Each conversation's user messages (in the order stored) and number of bot messages, from
    the tracker store's ``events`` table."""
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT sender_id, type_name, data FROM events WHERE sender_id LIKE :prefix "
                "AND type_name IN ('user', 'bot') ORDER BY id"), {"prefix": f"api:{prefix}-%"}).all()
    finally:
        engine.dispose()
    stored: dict[str, Stored] = {}
    for sender, kind, data in rows:
        entry = stored.setdefault(sender, Stored())
        if kind == "user":
            entry.user_texts.append(json.loads(data).get("text"))
        else:
            entry.bot_events += 1
    return stored


LOCK_TROUBLE = re.compile(r"LockError|Could not acquire lock|Error while acquiring lock|lock.{0,40}expired",
                          re.IGNORECASE)


class LogMark:
    """Where the Rasa servers' logs ended, to read what they wrote after."""

    def __init__(self, var_dir: Path):
        self.logs = sorted((var_dir / "logs").glob("rasa-*.log"))
        self.sizes = {path: path.stat().st_size for path in self.logs}

    def lines_since(self) -> list[str]:
        lines = []
        for path in self.logs:
            with path.open("rb") as log:
                log.seek(self.sizes[path])
                lines += log.read().decode(errors="replace").splitlines()
        return lines

    def lock_trouble(self) -> list[str]:
        return [line for line in self.lines_since() if LOCK_TROUBLE.search(line)]
